// Benchmarks of the local backend (not tests): model load, prefill of a 200-token prompt, decoding speed
// at batch 1, and the wall time of n = 1, 4, 8, 16 chains of 128 tokens sampled together, on the embedded
// model and on a ~100 M-parameter random-weight Llama-shaped model built here (scripts/model/make_bench_model.py).
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
  chains: { n: number; wallMs: number; ratio: number; tokensPerSecond: number }[];
}

function benchModelFolder(): string | undefined {
  const folder = path.join(root, 'artifacts', 'bench-models', 'llama-100m');
  if (fs.existsSync(path.join(folder, 'onnx', 'model.onnx'))) return folder;
  console.error('bench: building the ~100 M-parameter random Llama-shaped model (once, ~30 s; needs Debian python3-torch, python3-onnx)…');
  const result = spawnSync('/usr/bin/python3', [path.join(root, 'scripts', 'model', 'make_bench_model.py'), folder], { stdio: ['ignore', 'inherit', 'inherit'] });
  return result.status === 0 ? folder : undefined;
}

async function bench(folder: string, parameters: string): Promise<ModelBench> {
  const loadStarted = performance.now();
  const model = await LocalModel.load(folder, { executionProvider: 'cpu' });
  const loadMs = performance.now() - loadStarted;
  const vocab = model.folder.config.vocabSize;
  // Token ids above the special tokens, deterministic: the content does not change the cost.
  const prompt = (offset: number): number[] => Array.from({ length: PROMPT_TOKENS }, (_, i) => 5 + ((i * 7 + offset) % (vocab - 5)));
  const sampling = { temperature: 1, topK: 0, topP: 1 };

  // Prefill alone (one new token), on a prompt the prefix cache has not seen.
  const prefills: number[] = [];
  for (let i = 0; i < 3; i++) {
    const outcome = await model.generate({ promptIds: prompt(1000 + i), n: 1, firstSample: 0, maxNewTokens: 1, sampling, seed: 1, stop: [] }, () => false, () => undefined);
    prefills.push(outcome.prefillMs);
  }
  const chains: ModelBench['chains'] = [];
  let decodeTokensPerSecond = 0;
  for (const n of BATCHES) {
    const started = performance.now();
    const outcome = await model.generate({ promptIds: prompt(2000 + n), n, firstSample: 0, maxNewTokens: NEW_TOKENS, minNewTokens: NEW_TOKENS, sampling, seed: 1, stop: [] }, () => false, () => undefined);
    const wallMs = performance.now() - started;
    if (n === 1) decodeTokensPerSecond = NEW_TOKENS / ((wallMs - outcome.prefillMs) / 1000);
    chains.push({ n, wallMs, ratio: wallMs / (chains[0]?.wallMs ?? wallMs), tokensPerSecond: (n * NEW_TOKENS) / (wallMs / 1000) });
  }
  await model.dispose();
  return { model: path.basename(folder), parameters, loadMs, prefillMs: prefills.sort((a, b) => a - b)[1] ?? NaN, decodeTokensPerSecond, chains };
}

async function main(): Promise<void> {
  const results: ModelBench[] = [await bench(path.join(root, 'testFixtures', 'models', 'arith-tiny'), '0.85 M')];
  const big = benchModelFolder();
  if (big) results.push(await bench(big, '100 M (random weights)'));
  console.log(`\nLocal backend (onnxruntime-node, CPU, ${os.cpus().length} cores): ${PROMPT_TOKENS}-token prompt, chains of ${NEW_TOKENS} new tokens`);
  for (const result of results) {
    console.log(`  ${result.model} (${result.parameters}): load ${result.loadMs.toFixed(0)} ms · prefill ${result.prefillMs.toFixed(1)} ms · decode ${result.decodeTokensPerSecond.toFixed(1)} tok/s at batch 1`);
    for (const chain of result.chains) console.log(`    n = ${String(chain.n).padStart(2)}: ${(chain.wallMs / 1000).toFixed(2).padStart(6)} s  ×${chain.ratio.toFixed(2)} of one chain  ${chain.tokensPerSecond.toFixed(0).padStart(5)} tok/s`);
  }
  console.log(JSON.stringify({ local: results }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
