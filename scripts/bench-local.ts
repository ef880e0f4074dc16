// Benchmarks of the local backend (not tests), on the embedded model and on a ~100 M-parameter
// random-weight Llama-shaped model built here (scripts/model/make_bench_model.py), for each of its fp32,
// 8-bit and 4-bit exports that exists: model load, prefill of a 200-token prompt, the batch-1 decode
// step beside its memory floor (weights read per step / this machine's measured read bandwidth), the
// wall time and peak RSS of n = 1, 4, 8, 16 chains of 128 tokens sampled together, onnxruntime's own
// per-operator profile of one decode step at batch 1 and 8, and the same chains by
// @huggingface/transformers on the same file.
//
//   npx tsx scripts/bench-local.ts [--device cpu|cuda] [--models arith-tiny,llama-100m] [--precisions fp32,q8,q4]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { LocalModel } from '../src/core/local/generator';
import { PRECISION_FILES } from '../src/core/local/modelFolder';
import { readStepWeights, weightReadProbe } from '../src/core/local/onnxGraph';
import { profiledRuns, stepProfile, typicalDecodeRun, type StepProfile, type TraceEvent } from '../src/core/local/profileTrace';

const root = path.resolve(__dirname, '..');
const NEW_TOKENS = 128;
const PROMPT_TOKENS = 200;
const BATCHES = [1, 4, 8, 16];
const PROFILE_BATCHES = [1, 8];
const PRECISIONS = ['fp32', 'q8', 'q4'] as const;
type BenchPrecision = (typeof PRECISIONS)[number];
/** The dtype transformers.js takes for the same file (model.onnx, model_quantized.onnx, model_q4.onnx). */
const TRANSFORMERS_DTYPE: Record<BenchPrecision, string> = { fp32: 'fp32', q8: 'q8', q4: 'q4' };
/** The probe's weights: far above any CPU cache, like a model's. */
const PROBE_ROWS = 8192;
const PROBE_COLS = 16384;

type Device = 'cpu' | 'cuda';

interface Options {
  device: Device;
  models: string[];
  precisions: BenchPrecision[];
}

function parseOptions(argv: string[]): Options {
  const options: Options = { device: 'cpu', models: ['arith-tiny', 'llama-100m'], precisions: [...PRECISIONS] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--device' && (value === 'cpu' || value === 'cuda')) options.device = value;
    else if (flag === '--models' && value) options.models = value.split(',');
    else if (flag === '--precisions' && value) {
      const wanted = value.split(',');
      const unknown = wanted.filter((precision) => !(PRECISIONS as readonly string[]).includes(precision));
      if (unknown.length > 0) throw new Error(`--precisions: unknown ${unknown.join(', ')} (known: ${PRECISIONS.join(', ')})`);
      options.precisions = wanted as BenchPrecision[];
    } else
      throw new Error(
        `bench-local: unknown argument ${flag ?? ''} ${value ?? ''} (--device cpu|cuda, --models a,b, --precisions fp32,q8,q4)`,
      );
    i++;
  }
  return options;
}

/** The process's peak resident set since the last reset (Linux: VmHWM, reset by clear_refs 5); undefined elsewhere. */
const peakRss = {
  /** Resets the peak to the present resident set, and returns that (what earlier work left resident, garbage included). */
  reset(): number | undefined {
    try {
      fs.writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      // Not Linux, or not allowed: readMb() then says n/a.
      return undefined;
    }
    return statusMb('VmRSS');
  },
  readMb(): number | undefined {
    return statusMb('VmHWM');
  },
};

function statusMb(key: string): number | undefined {
  try {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface Bandwidth {
  /** Best of the timed runs: the floor is what the machine can do, not what a busy moment gave. */
  gbPerSecond: number;
  medianGbPerSecond: number;
  bytes: number;
  runs: number;
}

/**
 * This machine's weight read bandwidth, measured by onnxruntime itself with the models' thread settings:
 * one float32 row times a 512 MiB initializer (weightReadProbe), on the bench's device.
 */
async function measureBandwidth(ort: typeof Ort, device: Device): Promise<Bandwidth> {
  const bytes = PROBE_ROWS * PROBE_COLS * 4;
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(weightReadProbe(PROBE_ROWS, PROBE_COLS), {
      executionProviders: device === 'cuda' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 0,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      logSeverityLevel: 3,
    });
  } catch (error) {
    throw new Error(`${device === 'cuda' ? 'CUDA' : 'CPU'} execution provider could not start: ${firstLine(error)}`, { cause: error });
  }
  try {
    const x = new ort.Tensor('float32', new Float32Array(PROBE_ROWS).fill(1), [1, PROBE_ROWS]);
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      const started = performance.now();
      await session.run({ x });
      if (i >= 2) times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const rate = (ms: number): number => bytes / (ms / 1000) / 1e9;
    return {
      gbPerSecond: rate(times[0] as number),
      medianGbPerSecond: rate(times[Math.floor(times.length / 2)] as number),
      bytes,
      runs: times.length,
    };
  } finally {
    await session.release();
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

interface ChainsRow {
  n: number;
  wallMs: number;
  ratio: number;
  tokensPerSecond: number;
  /** Peak resident set of the whole process during these chains, and the resident set before them, MB (undefined: not Linux). */
  peakRssMb?: number;
  rssBeforeMb?: number;
}

interface PrecisionBench {
  precision: BenchPrecision;
  file: string;
  provider: 'cuda' | 'cpu';
  loadMs: number;
  prefillMs: number;
  /** One decode step at batch 1, from the wall time of one chain less its prefill (sampling included). */
  stepMs: number;
  decodeTokensPerSecond: number;
  /** How our decoding reads each step's cache (see LoadedInfo.cacheReads). */
  cacheReads: string;
  /** Where full-vocabulary sampling gets its probabilities (see LoadedInfo.sampling). */
  sampling: string;
  /** Bytes of weights a decode step reads (initializers not looked up by row), and the time to read them at the measured bandwidth. */
  stepWeightBytes: number;
  floorMs: number;
  /** stepMs / floorMs (target ≤ 1.25). */
  stepToFloor: number;
  chains: ChainsRow[];
  /** onnxruntime's profile of one decode step after a 200-token prompt, by batch size. */
  profile: { batch: number; step: StepProfile }[];
  /** The same work by @huggingface/transformers (transformers.js) on the same file. */
  transformersJs?: { dtype: string; loadMs: number; chains: { n: number; wallMs: number; peakRssMb?: number; rssBeforeMb?: number }[] };
  transformersJsError?: string;
}

interface ModelBench {
  model: string;
  parameters: string;
  rows: PrecisionBench[];
  /** Precisions whose export the folder lacks. */
  skipped: { precision: BenchPrecision; reason: string }[];
}

const sampling = { temperature: 1, topK: 0, topP: 1 };

/**
 * transformers.js `generate` on the same model folder, file and prompt: n chains of 128 sampled tokens
 * over the full vocabulary (top_k 0, as ours). Its sampling path ignores num_return_sequences, so n
 * chains are n rows of the same prompt — which is also how a user of it gets n chains.
 */
async function benchTransformersJs(
  folder: string,
  precision: BenchPrecision,
  device: Device,
  prompt: number[],
): Promise<NonNullable<PrecisionBench['transformersJs']>> {
  const { AutoModelForCausalLM, Tensor, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(folder) + path.sep;
  const dtype = TRANSFORMERS_DTYPE[precision];
  const started = performance.now();
  const model = await AutoModelForCausalLM.from_pretrained(path.basename(folder), {
    local_files_only: true,
    dtype: dtype as 'fp32',
    device,
  });
  const loadMs = performance.now() - started;
  const chains: NonNullable<PrecisionBench['transformersJs']>['chains'] = [];
  for (const n of BATCHES) {
    const ids = new BigInt64Array(n * prompt.length);
    for (let row = 0; row < n; row++) prompt.forEach((id, i) => (ids[row * prompt.length + i] = BigInt(id)));
    const input_ids = new Tensor('int64', ids, [n, prompt.length]);
    const attention_mask = new Tensor('int64', new BigInt64Array(n * prompt.length).fill(1n), [n, prompt.length]);
    const rssBeforeMb = peakRss.reset();
    const begin = performance.now();
    await model.generate({ input_ids, attention_mask, max_new_tokens: NEW_TOKENS, min_new_tokens: NEW_TOKENS, do_sample: true, top_k: 0 });
    const wallMs = performance.now() - begin;
    const peakRssMb = peakRss.readMb();
    chains.push({ n, wallMs, ...(peakRssMb !== undefined && rssBeforeMb !== undefined ? { peakRssMb, rssBeforeMb } : {}) });
  }
  await model.dispose();
  return { dtype, loadMs, chains };
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

/** n chains of NEW_TOKENS sampled tokens (end-of-sequence held off), on a prompt the prefix cache has not seen. */
async function timeChains(model: LocalModel, prompt: (offset: number) => number[]): Promise<(ChainsRow & { prefillMs: number })[]> {
  const results: (ChainsRow & { prefillMs: number })[] = [];
  for (const n of BATCHES) {
    const rssBeforeMb = peakRss.reset();
    const started = performance.now();
    const outcome = await model.generate(
      { promptIds: prompt(2000 + n), n, firstSample: 0, maxNewTokens: NEW_TOKENS, minNewTokens: NEW_TOKENS, sampling, seed: 1, stop: [] },
      () => false,
      () => undefined,
    );
    const wallMs = performance.now() - started;
    const peakRssMb = peakRss.readMb();
    results.push({
      n,
      wallMs,
      ratio: wallMs / (results[0]?.wallMs ?? wallMs),
      tokensPerSecond: (n * NEW_TOKENS) / (wallMs / 1000),
      prefillMs: outcome.prefillMs,
      ...(peakRssMb !== undefined && rssBeforeMb !== undefined ? { peakRssMb, rssBeforeMb } : {}),
    });
  }
  return results;
}

/** onnxruntime's profile of a typical decode step at `batch` rows after the prompt, in a session of its own. */
async function profileStep(
  folder: string,
  precision: BenchPrecision,
  device: Device,
  batch: number,
  prompt: number[],
): Promise<StepProfile> {
  const model = await LocalModel.load(folder, { executionProvider: device, precision, profile: true });
  let file: string | undefined;
  try {
    await model.generate(
      { promptIds: prompt, n: batch, firstSample: 0, maxNewTokens: 8, minNewTokens: 8, sampling, seed: 1, stop: [] },
      () => false,
      () => undefined,
    );
  } finally {
    file = model.endProfiling();
    await model.dispose();
  }
  if (!file) throw new Error('onnxruntime wrote no profile');
  try {
    const run = typicalDecodeRun(profiledRuns(JSON.parse(fs.readFileSync(file, 'utf8')) as TraceEvent[]));
    if (!run) throw new Error(`no decode step in ${file}`);
    return stepProfile(run, 8);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

async function benchPrecision(folder: string, precision: BenchPrecision, file: string, device: Device): Promise<PrecisionBench> {
  const loadStarted = performance.now();
  const model = await LocalModel.load(folder, { executionProvider: device, precision });
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
  const { cacheReads, provider, sampling: samplingFrom } = model.info;
  await model.dispose();
  const one = timed[0];
  const stepMs = one ? (one.wallMs - one.prefillMs) / NEW_TOKENS : NaN;
  const weights = readStepWeights(path.join(folder, 'onnx', file));
  const stepWeightBytes = weights?.stepBytes ?? NaN;

  const profile: PrecisionBench['profile'] = [];
  for (const batch of PROFILE_BATCHES)
    profile.push({ batch, step: await profileStep(folder, precision, device, batch, prompt(4000 + batch)) });

  let transformersJs: PrecisionBench['transformersJs'];
  let transformersJsError: string | undefined;
  try {
    transformersJs = await benchTransformersJs(folder, precision, device, prompt(3000));
  } catch (error) {
    transformersJsError = firstLine(error);
  }
  return {
    precision,
    file,
    provider,
    loadMs,
    prefillMs: prefills.sort((a, b) => a - b)[1] ?? NaN,
    stepMs,
    decodeTokensPerSecond: 1000 / stepMs,
    cacheReads,
    sampling: samplingFrom,
    stepWeightBytes,
    // Set once the bandwidth is measured, after every model (its 512 MiB would count in their peak RSS).
    floorMs: NaN,
    stepToFloor: NaN,
    chains: timed.map(({ prefillMs: _prefill, ...row }) => row),
    profile,
    ...(transformersJs ? { transformersJs } : {}),
    ...(transformersJsError ? { transformersJsError } : {}),
  };
}

async function benchModel(folder: string, parameters: string, options: Options): Promise<ModelBench> {
  const result: ModelBench = { model: path.basename(folder), parameters, rows: [], skipped: [] };
  for (const precision of options.precisions) {
    const file = PRECISION_FILES[precision].find((name) => fs.existsSync(path.join(folder, 'onnx', name)));
    if (!file) {
      const reason = `no ${PRECISION_FILES[precision].join(' / ')} in ${path.join(folder, 'onnx')} (scripts/model/quantize.py makes it)`;
      result.skipped.push({ precision, reason });
      console.error(`bench: ${result.model} ${precision}: skipped, ${reason}`);
      continue;
    }
    console.error(`bench: ${result.model} ${precision} (${file}) on ${options.device}…`);
    result.rows.push(await benchPrecision(folder, precision, file, options.device));
  }
  return result;
}

const versusText = (speedup: number): string =>
  speedup >= 1 ? `ours ${speedup.toFixed(1)}× faster` : `ours ${(1 / speedup).toFixed(1)}× slower`;
const seconds = (ms: number): string => (ms / 1000).toFixed(2).padStart(6);
/** The peak, and how far it rose above what was resident before (earlier rows' leftovers and garbage count in the peak). */
const peakText = (row: { peakRssMb?: number; rssBeforeMb?: number }): string =>
  row.peakRssMb === undefined || row.rssBeforeMb === undefined
    ? 'n/a'
    : `${row.peakRssMb.toFixed(0)} MB (+${(row.peakRssMb - row.rssBeforeMb).toFixed(0)})`;

function print(results: ModelBench[], bandwidth: Bandwidth, device: Device): void {
  console.log(
    `\nLocal backend (onnxruntime-node, ${device}, ${os.cpus().length} cores): ${PROMPT_TOKENS}-token prompt, chains of ${NEW_TOKENS} new tokens`,
  );
  console.log(
    `  weight read bandwidth (onnxruntime, one row × ${(bandwidth.bytes / 2 ** 20).toFixed(0)} MiB float32): ${bandwidth.gbPerSecond.toFixed(1)} GB/s best of ${bandwidth.runs}, median ${bandwidth.medianGbPerSecond.toFixed(1)} GB/s`,
  );
  for (const result of results) {
    for (const skipped of result.skipped) console.log(`  ${result.model} ${skipped.precision}: skipped, ${skipped.reason}`);
    for (const row of result.rows) {
      console.log(
        `  ${result.model} (${result.parameters}) ${row.precision} [${row.file}], provider ${row.provider}: load ${row.loadMs.toFixed(0)} ms · prefill ${row.prefillMs.toFixed(1)} ms · cache read as ${row.cacheReads} · sampling from ${row.sampling}`,
      );
      console.log(
        `    batch-1 step ${row.stepMs.toFixed(2)} ms (${row.decodeTokensPerSecond.toFixed(1)} tok/s) · floor ${row.floorMs.toFixed(2)} ms (${(row.stepWeightBytes / 1e6).toFixed(1)} MB of weights a step at ${bandwidth.gbPerSecond.toFixed(1)} GB/s) · ×${row.stepToFloor.toFixed(2)} of the floor (target ≤ 1.25)`,
      );
      if (row.transformersJs)
        console.log(
          `    transformers.js (dtype ${row.transformersJs.dtype}) on the same file: load ${row.transformersJs.loadMs.toFixed(0)} ms`,
        );
      if (row.transformersJsError)
        console.log(`    transformers.js (dtype ${TRANSFORMERS_DTYPE[row.precision]}) failed: ${row.transformersJsError}`);
      for (const chain of row.chains) {
        const theirs = row.transformersJs?.chains.find((c) => c.n === chain.n);
        const versus = theirs
          ? `   transformers.js ${seconds(theirs.wallMs)} s, peak ${peakText(theirs)} (${versusText(theirs.wallMs / chain.wallMs)})`
          : '';
        console.log(
          `    n = ${String(chain.n).padStart(2)}: ${seconds(chain.wallMs)} s  ×${chain.ratio.toFixed(2)} of one chain  ${chain.tokensPerSecond.toFixed(0).padStart(5)} tok/s  peak ${peakText(chain)}${versus}`,
        );
      }
      for (const { batch, step } of row.profile) {
        const ops = step.top.map((entry) => `${entry.op} ${entry.ms.toFixed(2)} ms (${(entry.share * 100).toFixed(0)}%)`).join(', ');
        console.log(
          `    profile, one decode step at batch ${batch}: ${step.wallMs.toFixed(2)} ms, kernels ${step.kernelMs.toFixed(2)} ms, outside kernels ${step.outsideKernelsMs.toFixed(2)} ms [${step.providers.join(', ')}]: ${ops}`,
        );
      }
    }
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- native addon, as the generator loads it
  const ort = require('onnxruntime-node') as typeof Ort;
  ort.env.logLevel = 'fatal';
  const folders: Record<string, () => [string, string] | undefined> = {
    'arith-tiny': () => [path.join(root, 'testFixtures', 'models', 'arith-tiny'), '0.85 M'],
    'llama-100m': () => {
      const big = benchModelFolder();
      return big ? [big, '100 M, random weights'] : undefined;
    },
  };
  const results: ModelBench[] = [];
  for (const name of options.models) {
    const found = folders[name]?.();
    if (!found) {
      console.error(`bench: no model ${name}: skipped`);
      continue;
    }
    results.push(await benchModel(found[0], found[1], options));
  }
  const bandwidth = await measureBandwidth(ort, options.device);
  for (const row of results.flatMap((result) => result.rows)) {
    row.floorMs = (row.stepWeightBytes / (bandwidth.gbPerSecond * 1e9)) * 1000;
    row.stepToFloor = row.stepMs / row.floorMs;
  }
  print(results, bandwidth, options.device);
  console.log(JSON.stringify({ device: options.device, bandwidth, local: results }));
}

main().catch((error: unknown) => {
  // A provider that cannot start is the answer, not a crash: one line saying why.
  console.error(error instanceof Error && /could not start/.test(error.message) ? error.message : error);
  process.exitCode = 1;
});
