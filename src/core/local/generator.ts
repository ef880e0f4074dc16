// A decoder language model on onnxruntime-node: KV-cache decoding of n chains in one batch after a
// single prefill, with stop strings, EOS, seeded sampling and cancellation between steps.
// Runs inside a worker thread (see worker.ts): session.run blocks the thread it runs on.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { GrowingCache } from './kvCache';
import { checkModelInputs, ModelFolderError, readModelFolder, type ModelFolder, type ModelPrecision } from './modelFolder';
import { exposeCacheUpdates, type SamplingHead } from './onnxGraph';
import { DEFAULT_PREFIX_CACHE_BYTES, PrefixCache } from './prefixCache';
import { chainSeed, freshRunSeed, seededRandom } from '../random';
import { Sampler, type SamplingParameters } from './sampler';
import { LocalTokenizer, type ModelPrompt } from './tokenizer';

export type ExecutionProviderSetting = 'auto' | 'cuda' | 'cpu';

export interface LoadOptions {
  executionProvider: ExecutionProviderSetting;
  deviceId?: number;
  /** Intra-op threads; 0 lets onnxruntime choose. */
  threads?: number;
  /** Which export of the model to load (model.onnx, model_quantized.onnx, model_q4.onnx…); default `auto`. */
  precision?: ModelPrecision;
  /** Read the whole `present.*` cache at every step even where the new positions can be read alone (tests compare the two). */
  readWholeCache?: boolean;
  /** Record onnxruntime's own profile (per-operator kernel times) from load on; `endProfiling()` stops it and says where it is. */
  profile?: boolean;
  /** Bytes of prefilled prompts kept for reuse by later prompts that share their start (default 64 MiB); false keeps none. */
  prefixCache?: false | number;
}

export interface LoadedInfo {
  name: string;
  provider: 'cuda' | 'cpu';
  /** The weights' precision of the export that was loaded. */
  precision: ModelFolder['precision'];
  /** Why CUDA was not used, when `auto` fell back to the CPU. */
  fallbackReason?: string;
  input: 'chat' | 'text';
  maxPositions: number;
  loadMs: number;
  /** How each step's cache comes back: only its new positions (kept in our buffers), or the whole `present.*` outputs. */
  cacheReads: 'new-positions' | 'present';
  /** Where full-vocabulary sampling gets its probabilities: a softmax added to the graph, or logits exponentiated in JavaScript. */
  sampling: 'graph-softmax' | 'javascript';
}

export interface GenerateRequest {
  promptIds: number[];
  n: number;
  firstSample: number;
  maxNewTokens: number;
  sampling: SamplingParameters;
  /** One seed per chain (the engine derives them per variant, case and sample); each chain its own stream. */
  seeds?: number[];
  /** Without `seeds`: chain i's stream is derived from (seed, firstSample + i); without either, a fresh seed. */
  seed?: number;
  stop: string[];
  /** End-of-sequence is not allowed before this many tokens (as transformers' min_new_tokens); benchmarks use it. */
  minNewTokens?: number;
}

export interface GeneratedChain {
  sample: number;
  tokens: number[];
  text: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  /** Of `promptTokens`, those whose cache came from an earlier prompt's prefill rather than being computed. */
  cachedTokens: number;
  completionTokens: number;
  latencyMs: number;
}

/** Per-step numbers for the benchmark and the tests (next-token logits of each row). */
export interface StepTrace {
  onLogits?: (step: number, rows: { sample: number; logits: Float32Array }[]) => void;
}

/**
 * Empty cache slots added at a time while decoding: the whole cache moves once every this many steps
 * instead of at every step, for at most this many masked positions more in each step's attention.
 */
const DECODING_SLACK = 16;

export class LocalModel {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    readonly folder: ModelFolder,
    readonly tokenizer: LocalTokenizer,
    private readonly feedsPositionIds: boolean,
    /** past_key_values.* → the output holding a step's new positions; absent: read `present.*`. */
    private readonly cacheUpdates: ReadonlyMap<string, string> | undefined,
    /** The last position's logits and softmax, added to the graph; absent: read `logits` whole. */
    private readonly head: SamplingHead | undefined,
    readonly info: LoadedInfo,
    private readonly prefixes: PrefixCache,
  ) {
    const { layers } = folder.config;
    this.cacheNames = Array.from({ length: layers }, (_, layer) => [
      `past_key_values.${layer}.key`,
      `past_key_values.${layer}.value`,
    ]).flat();
    this.cacheFetches = cacheUpdates ? this.cacheNames.map((name) => cacheUpdates.get(name) as string) : this.cacheNames.map(presentName);
  }

  private readonly cacheNames: string[];
  private readonly cacheFetches: string[];

  /** Loads a model folder. `auto` tries CUDA and falls back to the CPU, saying why (onnxruntime does not). */
  static async load(directory: string, options: LoadOptions): Promise<LocalModel> {
    const started = performance.now();
    const folder = readModelFolder(directory, options.precision ?? 'auto');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- native addon, loaded only inside the worker
    const ort = require('onnxruntime-node') as typeof Ort;
    ort.env.logLevel = 'fatal';
    // The model with each step's new cache positions as extra outputs, where its graph allows.
    let patched = options.readWholeCache ? undefined : exposeCacheUpdates(folder.onnxFile);
    const profileDirectory = options.profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-profile-')) : undefined;
    const sessionOptions = (providers: Ort.InferenceSession.ExecutionProviderConfig[]): Ort.InferenceSession.SessionOptions => ({
      executionProviders: providers,
      graphOptimizationLevel: 'all',
      intraOpNumThreads: options.threads ?? 0,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      logSeverityLevel: 3,
      ...(profileDirectory ? { enableProfiling: true, profileFilePrefix: path.join(profileDirectory, 'ort') } : {}),
      // A model given as bytes finds its external .onnx_data files beside the original file.
      extra: { session: { model_external_initializers_file_folder_path: path.dirname(folder.onnxFile) } },
    });
    const create = async (providers: Ort.InferenceSession.ExecutionProviderConfig[]): Promise<Ort.InferenceSession> => {
      if (patched) {
        try {
          return await ort.InferenceSession.create(patched.bytes, sessionOptions(providers));
        } catch {
          // The model as shipped is the reference: if it loads where the patched one did not, the extra
          // outputs were the trouble and are dropped; if it fails too (a provider that cannot start),
          // that error is the one to report, and the patch stays for the next provider.
          const session = await ort.InferenceSession.create(folder.onnxFile, sessionOptions(providers));
          patched = undefined;
          return session;
        }
      }
      return ort.InferenceSession.create(folder.onnxFile, sessionOptions(providers));
    };
    let session: Ort.InferenceSession;
    let provider: 'cuda' | 'cpu' = 'cpu';
    let fallbackReason: string | undefined;
    if (options.executionProvider === 'cpu') {
      session = await create(['cpu']);
    } else {
      try {
        session = await create([{ name: 'cuda', deviceId: options.deviceId ?? 0 }, 'cpu']);
        provider = 'cuda';
      } catch (error) {
        const reason = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
        if (options.executionProvider === 'cuda')
          throw new ModelFolderError(
            `The CUDA execution provider could not start: ${reason}. Run "Chainscope: Set up CUDA" or use chainscope.local.executionProvider = cpu.`,
          );
        fallbackReason = reason;
        session = await create(['cpu']);
      }
    }
    const cacheUpdates = patched?.updates;
    const head = patched?.head;
    patched = undefined;
    const inputTypes = new Map(session.inputMetadata.flatMap((input) => (input.isTensor ? [[input.name, input.type] as const] : [])));
    let inputs: ReturnType<typeof checkModelInputs>;
    try {
      // The sampling head's input is ours, not the export's.
      const exported = session.inputNames.filter((name) => name !== head?.inverseTemperature);
      inputs = checkModelInputs(exported, session.outputNames, folder.config, folder.onnxFile, inputTypes);
    } catch (error) {
      await session.release();
      throw error;
    }
    const tokenizer = new LocalTokenizer({
      name: folder.name,
      tokenizer: folder.tokenizer,
      tokenizerConfig: folder.tokenizerConfig,
      ...(folder.chatTemplate ? { chatTemplate: folder.chatTemplate } : {}),
    });
    const info: LoadedInfo = {
      name: folder.name,
      provider,
      precision: folder.precision,
      ...(fallbackReason ? { fallbackReason } : {}),
      input: folder.config.input,
      maxPositions: folder.config.maxPositions,
      loadMs: performance.now() - started,
      cacheReads: cacheUpdates ? 'new-positions' : 'present',
      sampling: head ? 'graph-softmax' : 'javascript',
    };
    const prefixBytes = options.prefixCache === false ? 0 : (options.prefixCache ?? DEFAULT_PREFIX_CACHE_BYTES);
    const prefixes = new PrefixCache(prefixBytes);
    const model = new LocalModel(ort, session, folder, tokenizer, inputs.positionIds, cacheUpdates, head, info, prefixes);
    model.profileDirectory = profileDirectory;
    return model;
  }

  private profileDirectory: string | undefined;

  /** Stops the profile that `profile: true` started and returns its JSON trace file (undefined without one). */
  endProfiling(): string | undefined {
    const directory = this.profileDirectory;
    if (!directory) return undefined;
    this.profileDirectory = undefined;
    this.session.endProfiling();
    // The newest: a session that failed to start (the patched model, say) may have left one too.
    const files = fs
      .readdirSync(directory)
      .filter((name) => name.endsWith('.json'))
      .map((name) => path.join(directory, name))
      .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
    return files[files.length - 1];
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode(ids);
  }

  /** The model's chat template, as transformers renders it, with the generation prompt. */
  renderChat(messages: readonly { role: string; content: string }[]): string {
    return this.tokenizer.renderChat(messages);
  }

  /** The prompt's token ids, as every run's request is encoded. */
  promptIds(prompt: ModelPrompt): number[] {
    return this.tokenizer.promptIds(prompt);
  }

  private onesBuffer = new BigInt64Array(0);

  /** `count` ones, from one buffer grown as needed: the attention mask is all ones at every step. */
  private ones(count: number): BigInt64Array {
    if (this.onesBuffer.length < count) this.onesBuffer = new BigInt64Array(Math.max(count, 2 * this.onesBuffer.length)).fill(1n);
    return this.onesBuffer.subarray(0, count);
  }

  private int64(values: ArrayLike<number>, dims: number[]): Ort.Tensor {
    return new this.ort.Tensor(
      'int64',
      BigInt64Array.from(Array.from(values), (value) => BigInt(value)),
      dims,
    );
  }

  /** A cache for one prompt (no slack: the prefix cache keeps it dense) or for decoding (some slack, see GrowingCache). */
  private newCache(slack = 0): GrowingCache {
    return new GrowingCache(this.cacheNames, this.folder.config.kvHeads, this.folder.config.headDim, slack);
  }

  /**
   * One forward pass over `rows` (equal lengths) after the positions already in `cache`, which then holds
   * theirs too. Returns each row's last position: its logits, or with `inverseTemperature` the softmax
   * of logits × inverseTemperature where the graph computes it ([rows, vocab] either way).
   */
  private async forward(
    rows: number[][],
    cache: GrowingCache,
    inverseTemperature?: number,
  ): Promise<{ values: Float32Array; probabilities: boolean }> {
    const batch = rows.length;
    const length = rows[0]?.length ?? 0;
    // The model sees `slots` past positions, of which the empty ones are masked; positions count only the real ones.
    const past = cache.length;
    const slots = cache.slots;
    const { kvHeads, headDim, vocabSize } = this.folder.config;
    const feeds: Record<string, Ort.Tensor> = {
      input_ids: this.int64(rows.flat(), [batch, length]),
      attention_mask: new this.ort.Tensor('int64', slots === past ? this.ones(batch * (slots + length)) : cache.attentionMask(length), [
        batch,
        slots + length,
      ]),
    };
    if (this.feedsPositionIds)
      feeds.position_ids = this.int64(
        rows.flatMap(() => Array.from({ length }, (_, j) => past + j)),
        [batch, length],
      );
    for (const name of this.cacheNames) feeds[name] = new this.ort.Tensor('float32', cache.view(name), [batch, kvHeads, slots, headDim]);
    const probabilities = !!this.head && inverseTemperature !== undefined;
    if (this.head) feeds[this.head.inverseTemperature] = new this.ort.Tensor('float32', Float32Array.of(inverseTemperature ?? 1), [1]);
    const scores = this.head ? (probabilities ? this.head.probabilities : this.head.lastLogits) : 'logits';
    const output = await this.session.run(feeds, [scores, ...this.cacheFetches]);
    const arrays: Record<string, Float32Array> = {};
    this.cacheNames.forEach((name, i) => {
      arrays[name] = (output[this.cacheFetches[i] as string] as Ort.Tensor).data as Float32Array;
    });
    if (this.cacheUpdates) cache.append(arrays, length);
    else cache.replace(arrays, past + length);
    const values = (output[scores] as Ort.Tensor).data as Float32Array;
    if (this.head || length === 1) return { values, probabilities };
    // The whole logits output: keep each row's last position.
    const last = new Float32Array(batch * vocabSize);
    for (let row = 0; row < batch; row++)
      last.set(values.subarray(((row + 1) * length - 1) * vocabSize, (row + 1) * length * vocabSize), row * vocabSize);
    return { values: last, probabilities: false };
  }

  /**
   * Prefills the prompt once, reusing the longest cached prefix (few-shot variants share their examples
   * across cases), and returns its cache and the logits of its last position.
   */
  private async prefill(
    ids: number[],
  ): Promise<{ cache: Readonly<Record<string, Float32Array>>; lastLogits: Float32Array; reused: number }> {
    const match = this.prefixes.longest(ids);
    const vocab = this.folder.config.vocabSize;
    if (match && match.shared === ids.length && match.entry.ids.length === ids.length)
      return { cache: match.entry.cache, lastLogits: match.entry.lastLogits, reused: ids.length };
    // The last prompt token must always be run: its logits pick the first new token.
    const reuse = match ? Math.min(match.shared, ids.length - 1) : 0;
    const building = this.newCache();
    building.start(match?.entry.cache, match?.entry.ids.length ?? 0, reuse, 1, ids.length);
    const { values } = await this.forward([ids.slice(reuse)], building);
    const lastLogits = values.length === vocab ? values : Float32Array.from(values.subarray(0, vocab));
    const cache = building.take();
    this.prefixes.remember({ ids: [...ids], cache, lastLogits });
    return { cache, lastLogits, reused: reuse };
  }

  /** What the prefix cache holds now: entries and bytes (the bench and tests read it). */
  prefixCacheUse(): { entries: number; bytes: number; budgetBytes: number } {
    return { entries: this.prefixes.size, bytes: this.prefixes.bytes, budgetBytes: this.prefixes.budgetBytes };
  }

  /**
   * Samples n chains of one prompt together. Each finished chain is handed to `onChain` at once; rows
   * that finish leave the batch, so they stop costing work. `isCancelled` is checked before every step.
   */
  async generate(
    request: GenerateRequest,
    isCancelled: () => boolean,
    onChain: (chain: GeneratedChain) => void,
    trace: StepTrace = {},
  ): Promise<{ cancelled: boolean; prefillMs: number; reusedTokens: number }> {
    const started = performance.now();
    const { maxPositions, eosTokenIds, vocabSize } = this.folder.config;
    const promptLength = request.promptIds.length;
    if (promptLength === 0) throw new ModelFolderError('The prompt is empty.');
    if (promptLength + 1 > maxPositions) {
      throw new ModelFolderError(
        `The prompt is ${promptLength} tokens, longer than ${this.folder.name}'s context of ${maxPositions} positions.`,
      );
    }
    const maxNew = Math.min(request.maxNewTokens, maxPositions - promptLength);
    const { cache: prompt, lastLogits, reused } = await this.prefill(request.promptIds);
    const prefillMs = performance.now() - started;
    if (isCancelled()) return { cancelled: true, prefillMs, reusedTokens: reused };

    const base = request.seed ?? freshRunSeed();
    const seedOf = (i: number): number => request.seeds?.[i] ?? chainSeed(base, '', '', request.firstSample + i);
    const sampler = new Sampler(request.sampling);
    const eos = new Set(eosTokenIds);
    interface Row {
      sample: number;
      random: () => number;
      tokens: number[];
      /** Next-token logits, or probabilities where the graph's softmax computed them. */
      scores: Float32Array;
      probabilities: boolean;
    }
    let active: Row[] = Array.from({ length: request.n }, (_, i) => ({
      sample: request.firstSample + i,
      random: seededRandom(seedOf(i)),
      tokens: [],
      scores: lastLogits,
      probabilities: false,
    }));
    // Full-vocabulary sampling reads the graph's softmax, unless a trace wants every step's logits.
    const inverseTemperature = this.head && sampler.readsProbabilities && !trace.onLogits ? 1 / request.sampling.temperature : undefined;
    // The prompt's cache replicated to n rows, with room for every new position when the model's
    // new positions are read alone (else each step's present.* outputs replace it).
    const cache = this.newCache(this.cacheUpdates ? DECODING_SLACK : 0);
    cache.start(prompt, promptLength, promptLength, request.n, this.cacheUpdates ? promptLength + maxNew : promptLength);
    const finish = (row: Row, text: string, reason: GeneratedChain['finishReason']): void => {
      onChain({
        sample: row.sample,
        tokens: row.tokens,
        text,
        finishReason: reason,
        promptTokens: promptLength,
        cachedTokens: reused,
        completionTokens: row.tokens.length,
        latencyMs: performance.now() - started,
      });
    };

    for (let step = 0; step < maxNew && active.length > 0; step++) {
      if (isCancelled()) return { cancelled: true, prefillMs, reusedTokens: reused };
      trace.onLogits?.(
        step,
        active.map((row) => ({ sample: row.sample, logits: row.scores })),
      );
      const keep: number[] = [];
      const next: Row[] = [];
      const excluded = step >= (request.minNewTokens ?? 0) || eos.size === 0 ? undefined : eos;
      active.forEach((row, index) => {
        let token: number;
        if (row.probabilities) {
          // This step's own output, shared with nothing: left-out tokens are zeroed in place.
          if (excluded) for (const id of excluded) row.scores[id] = 0;
          token = sampler.pickFromProbabilities(row.scores, row.random);
        } else {
          if (excluded) {
            // A copy: the first step's logits are shared by every row and kept in the prefix cache.
            row.scores = Float32Array.from(row.scores);
            for (const id of excluded) row.scores[id] = -Infinity;
          }
          token = sampler.pick(row.scores, row.random);
        }
        if (eos.has(token)) {
          finish(row, this.decode(row.tokens), 'stop');
          return;
        }
        row.tokens.push(token);
        // Decoding is only needed to look for stop strings, and once at the end.
        if (request.stop.length > 0) {
          const text = this.decode(row.tokens);
          const stopAt = firstStop(text, request.stop);
          if (stopAt !== undefined) {
            finish(row, text.slice(0, stopAt), 'stop');
            return;
          }
        }
        if (row.tokens.length >= maxNew) {
          finish(row, this.decode(row.tokens), 'length');
          return;
        }
        keep.push(index);
        next.push(row);
      });
      if (next.length === 0) break;
      // Finished rows leave the batch: the next step runs only the chains still going.
      if (keep.length < active.length) cache.keepRows(keep);
      active = next;
      const { values, probabilities } = await this.forward(
        active.map((row) => [row.tokens[row.tokens.length - 1] as number]),
        cache,
        inverseTemperature,
      );
      active.forEach((row, i) => {
        row.scores = values.subarray(i * vocabSize, (i + 1) * vocabSize);
        row.probabilities = probabilities;
      });
    }
    return { cancelled: false, prefillMs, reusedTokens: reused };
  }

  async dispose(): Promise<void> {
    this.prefixes.clear();
    await this.session.release();
  }
}

/** Index of the earliest stop string in `text`, if any. */
function firstStop(text: string, stops: readonly string[]): number | undefined {
  let earliest: number | undefined;
  for (const stop of stops) {
    if (!stop) continue;
    const at = text.indexOf(stop);
    if (at >= 0 && (earliest === undefined || at < earliest)) earliest = at;
  }
  return earliest;
}

function presentName(pastName: string): string {
  return pastName.replace('past_key_values', 'present');
}
