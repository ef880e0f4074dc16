// Benchmarks of the local backend (not tests): model load, prefill of a 200-token prompt, decoding speed
// at batch 1, and the wall time of n = 1, 4, 8, 16 chains of 128 tokens sampled together, on the embedded
// model and on a ~100 M-parameter random-weight Llama-shaped model built here (scripts/model/make_bench_model.py),
// side by side with the same work done by @huggingface/transformers on the same files.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalModel } from '../src/core/local/generator';

const root = path.resolve(__dirname, '..');
const NEW_TOKENS = 128;
const PROMPT_TOKENS = 200;
const BATCHES = [1, 4, 8, 16];

interface ModelBench {
  model: string;
  parameters: string;
  loadMs: number;
  prefillMs: number;
  decodeTokensPerSecond: number;
  /** How our decoding reads each step's cache (see LoadedInfo.cacheReads). */
  cacheReads: string;
  chains: { n: number; wallMs: number; ratio: number; tokensPerSecond: number }[];
  /** The same chains reading the whole present.* cache at every step, as before new positions were read alone. */
  wholeCache?: { loadMs: number; chains: { n: number; wallMs: number; ratio: number }[] };
  /** The same work by @huggingface/transformers (transformers.js) on the same files. */
  transformersJs?: { loadMs: number; chains: { n: number; wallMs: number }[] };
}

/**
 * transformers.js `generate` on the same model folder and prompt: n chains of 128 sampled tokens over the
 * full vocabulary (top_k 0, as ours). Its sampling path ignores num_return_sequences, so n chains are n
 * rows of the same prompt — which is also how a user of it gets n chains.
 */
async function benchTransformersJs(folder: string, prompt: number[]): Promise<ModelBench['transformersJs']> {
  const { AutoModelForCausalLM, Tensor, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(folder) + path.sep;
  const started = performance.now();
  const model = await AutoModelForCausalLM.from_pretrained(path.basename(folder), { local_files_only: true, dtype: 'fp32', device: 'cpu' });
  const loadMs = performance.now() - started;
  const chains: { n: number; wallMs: number }[] = [];
  for (const n of BATCHES) {
    const ids = new BigInt64Array(n * prompt.length);
    for (let row = 0; row < n; row++) prompt.forEach((id, i) => (ids[row * prompt.length + i] = BigInt(id)));
    const input_ids = new Tensor('int64', ids, [n, prompt.length]);
    const attention_mask = new Tensor('int64', new BigInt64Array(n * prompt.length).fill(1n), [n, prompt.length]);
    const begin = performance.now();
    await model.generate({ input_ids, attention_mask, max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, do_sample: true, top_k: 0 });
    chains.push({ n, wallMs: performance.now() - begin });
  }
  await model.dispose();
  return { loadMs, chains };
}

function benchModelFolder(): string | undefined {
  const folder = path.join(root, 'artifacts', 'bench-models', 'llama-100m');
  if (fs.existsSync(path.join(folder, 'onnx', 'model.onnx'))) return folder;
  console.error('bench: building the ~100 M-parameter random Llama-shaped model (once, ~30 s; needs Debian python3-torch, python3-onnx)…');
  const result = spawnSync('/usr/bin/python3', [path.join(root, 'scripts', 'model', 'make_bench_model.py'), folder], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return result.status === 0 ? folder : undefined;
}

const sampling = { temperature: 1, topK: 0, topP: 1 };

/** n chains of NEW_TOKENS sampled tokens (end-of-sequence held off), on a prompt the prefix cache has not seen. */
async function timeChains(
  model: LocalModel,
  prompt: (offset: number) => number[],
): Promise<{ n: number; wallMs: number; ratio: number; prefillMs: number }[]> {
  const results: { n: number; wallMs: number; ratio: number; prefillMs: number }[] = [];
  for (const n of BATCHES) {
    const started = performance.now();
    const outcome = await model.generate(
      { promptIds: prompt(2000 + n), n, firstSample: 0, maxNewTokens: NEW_TOKENS, minNewTokens: NEW_TOKENS, sampling, seed: 1, stop: [] },
      () => false,
      () => undefined,
    );
    const wallMs = performance.now() - started;
    results.push({ n, wallMs, ratio: wallMs / (results[0]?.wallMs ?? wallMs), prefillMs: outcome.prefillMs });
  }
  return results;
}

async function bench(folder: string, parameters: string): Promise<ModelBench> {
  const loadStarted = performance.now();
  const model = await LocalModel.load(folder, { executionProvider: 'cpu' });
  const loadMs = performance.now() - loadStarted;
  const vocab = model.folder.config.vocabSize;
  // Token ids above the special tokens, deterministic: the content does not change the cost.
  const prompt = (offset: number): number[] => Array.from({ length: PROMPT_TOKENS }, (_, i) => 5 + ((i * 7 + offset) % (vocab - 5)));

  // Prefill alone (one new token), on a prompt the prefix cache has not seen.
  const prefills: number[] = [];
  for (let i = 0; i < 3; i++) {
    const outcome = await model.generate(
      { promptIds: prompt(1000 + i), n: 1, firstSample: 0, maxNewTokens: 1, sampling, seed: 1, stop: [] },
      () => false,
      () => undefined,
    );
    prefills.push(outcome.prefillMs);
  }
  const timed = await timeChains(model, prompt);
  const one = timed[0];
  const decodeTokensPerSecond = one ? NEW_TOKENS / ((one.wallMs - one.prefillMs) / 1000) : NaN;
  const chains = timed.map(({ n, wallMs, ratio }) => ({ n, wallMs, ratio, tokensPerSecond: (n * NEW_TOKENS) / (wallMs / 1000) }));
  const { cacheReads } = model.info;
  await model.dispose();

  let wholeCache: ModelBench['wholeCache'];
  if (cacheReads === 'new-positions') {
    const whole = await LocalModel.load(folder, { executionProvider: 'cpu', readWholeCache: true });
    wholeCache = {
      loadMs: whole.info.loadMs,
      chains: (await timeChains(whole, prompt)).map(({ n, wallMs, ratio }) => ({ n, wallMs, ratio })),
    };
    await whole.dispose();
  }
  const transformersJs = await benchTransformersJs(folder, prompt(3000));
  return {
    model: path.basename(folder),
    parameters,
    loadMs,
    prefillMs: prefills.sort((a, b) => a - b)[1] ?? NaN,
    decodeTokensPerSecond,
    cacheReads,
    chains,
    ...(wholeCache ? { wholeCache } : {}),
    ...(transformersJs ? { transformersJs } : {}),
  };
}

async function main(): Promise<void> {
  const results: ModelBench[] = [await bench(path.join(root, 'testFixtures', 'models', 'arith-tiny'), '0.85 M')];
  const big = benchModelFolder();
  if (big) results.push(await bench(big, '100 M (random weights)'));
  console.log(
    `\nLocal backend (onnxruntime-node, CPU, ${os.cpus().length} cores): ${PROMPT_TOKENS}-token prompt, chains of ${NEW_TOKENS} new tokens`,
  );
  for (const result of results) {
    console.log(
      `  ${result.model} (${result.parameters}): load ${result.loadMs.toFixed(0)} ms · prefill ${result.prefillMs.toFixed(1)} ms · decode ${result.decodeTokensPerSecond.toFixed(1)} tok/s at batch 1 · cache read as ${result.cacheReads}`,
    );
    if (result.wholeCache) console.log(`    reading the whole present.* cache instead: load ${result.wholeCache.loadMs.toFixed(0)} ms`);
    if (result.transformersJs) console.log(`    transformers.js on the same files: load ${result.transformersJs.loadMs.toFixed(0)} ms`);
    for (const chain of result.chains) {
      const whole = result.wholeCache?.chains.find((c) => c.n === chain.n);
      const wholeText = whole ? `   whole cache ${(whole.wallMs / 1000).toFixed(2).padStart(6)} s ×${whole.ratio.toFixed(2)}` : '';
      const theirs = result.transformersJs?.chains.find((c) => c.n === chain.n);
      const versus = theirs
        ? `   transformers.js ${(theirs.wallMs / 1000).toFixed(2).padStart(6)} s (ours ${(theirs.wallMs / chain.wallMs).toFixed(1)}× faster)`
        : '';
      console.log(
        `    n = ${String(chain.n).padStart(2)}: ${(chain.wallMs / 1000).toFixed(2).padStart(6)} s  ×${chain.ratio.toFixed(2)} of one chain  ${chain.tokensPerSecond.toFixed(0).padStart(5)} tok/s${wholeText}${versus}`,
      );
    }
  }
  console.log(JSON.stringify({ local: results }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
