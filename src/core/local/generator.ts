// A decoder language model on onnxruntime-node: KV-cache decoding of n chains in one batch after a
// single prefill, with stop strings, EOS, seeded sampling and cancellation between steps.
// Runs inside a worker thread (see worker.ts): session.run blocks the thread it runs on.
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import type * as Ort from 'onnxruntime-node';
import { checkModelInputs, ModelFolderError, readModelFolder, type ModelFolder } from './modelFolder';
import { Sampler, seededRandom, type SamplingParameters } from './sampler';

export type ExecutionProviderSetting = 'auto' | 'cuda' | 'cpu';

export interface LoadOptions {
  executionProvider: ExecutionProviderSetting;
  deviceId?: number;
  /** Intra-op threads; 0 lets onnxruntime choose. */
  threads?: number;
}

export interface LoadedInfo {
  name: string;
  provider: 'cuda' | 'cpu';
  /** Why CUDA was not used, when `auto` fell back to the CPU. */
  fallbackReason?: string;
  input: 'chat' | 'text';
  maxPositions: number;
  loadMs: number;
}

export interface GenerateRequest {
  promptIds: number[];
  n: number;
  firstSample: number;
  maxNewTokens: number;
  sampling: SamplingParameters;
  /** Chain i uses seed + i; without a seed each request draws a fresh one. */
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
  completionTokens: number;
  latencyMs: number;
}

/** Per-step numbers for the benchmark and the tests (next-token logits of each row). */
export interface StepTrace {
  onLogits?: (step: number, rows: { sample: number; logits: Float32Array }[]) => void;
}

type KvCache = Record<string, Ort.Tensor>;

interface PrefixEntry {
  ids: number[];
  cache: KvCache;
  lastLogits: Float32Array;
  used: number;
}

const PREFIX_CACHE_ENTRIES = 4;

export class LocalModel {
  private readonly prefixes: PrefixEntry[] = [];
  private uses = 0;

  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    readonly folder: ModelFolder,
    private readonly tokenizer: Tokenizer,
    private readonly template: Template | undefined,
    private readonly feedsPositionIds: boolean,
    readonly info: LoadedInfo,
  ) {}

  /** Loads a model folder. `auto` tries CUDA and falls back to the CPU, saying why (onnxruntime does not). */
  static async load(directory: string, options: LoadOptions): Promise<LocalModel> {
    const started = performance.now();
    const folder = readModelFolder(directory);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- native addon, loaded only inside the worker
    const ort = require('onnxruntime-node') as typeof Ort;
    ort.env.logLevel = 'fatal';
    const sessionOptions = (providers: Ort.InferenceSession.ExecutionProviderConfig[]): Ort.InferenceSession.SessionOptions => ({
      executionProviders: providers,
      graphOptimizationLevel: 'all',
      intraOpNumThreads: options.threads ?? 0,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      logSeverityLevel: 3,
    });
    let session: Ort.InferenceSession;
    let provider: 'cuda' | 'cpu' = 'cpu';
    let fallbackReason: string | undefined;
    if (options.executionProvider === 'cpu') {
      session = await ort.InferenceSession.create(folder.onnxFile, sessionOptions(['cpu']));
    } else {
      try {
        session = await ort.InferenceSession.create(folder.onnxFile, sessionOptions([{ name: 'cuda', deviceId: options.deviceId ?? 0 }, 'cpu']));
        provider = 'cuda';
      } catch (error) {
        const reason = error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error);
        if (options.executionProvider === 'cuda') throw new ModelFolderError(`The CUDA execution provider could not start: ${reason}. Run "Chainscope: Set up CUDA" or use chainscope.local.executionProvider = cpu.`);
        fallbackReason = reason;
        session = await ort.InferenceSession.create(folder.onnxFile, sessionOptions(['cpu']));
      }
    }
    const inputs = checkModelInputs(session.inputNames, session.outputNames, folder.config, folder.onnxFile);
    const tokenizer = new Tokenizer(folder.tokenizer, folder.tokenizerConfig);
    const template = folder.chatTemplate ? new Template(folder.chatTemplate) : undefined;
    const info: LoadedInfo = { name: folder.name, provider, ...(fallbackReason ? { fallbackReason } : {}), input: folder.config.input, maxPositions: folder.config.maxPositions, loadMs: performance.now() - started };
    return new LocalModel(ort, session, folder, tokenizer, template, inputs.positionIds, info);
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }

  /** The model's chat template, as transformers renders it, with the generation prompt. */
  renderChat(messages: readonly { role: string; content: string }[]): string {
    if (!this.template) throw new ModelFolderError(`${this.folder.name} has no chat_template in tokenizer_config.json: use the text form.`);
    const special = (key: string): string | undefined => {
      const value = this.folder.tokenizerConfig[key];
      return typeof value === 'string' ? value : (value as { content?: string } | undefined)?.content;
    };
    return this.template.render({ messages, add_generation_prompt: true, bos_token: special('bos_token') ?? '', eos_token: special('eos_token') ?? '' });
  }

  private int64(values: ArrayLike<number>, dims: number[]): Ort.Tensor {
    return new this.ort.Tensor('int64', BigInt64Array.from(Array.from(values), (value) => BigInt(value)), dims);
  }

  private emptyCache(): KvCache {
    const { layers, kvHeads, headDim } = this.folder.config;
    const cache: KvCache = {};
    for (let layer = 0; layer < layers; layer++) {
      for (const part of ['key', 'value']) cache[`past_key_values.${layer}.${part}`] = new this.ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
    }
    return cache;
  }

  /** One forward pass over `rows` (equal lengths) after `past` positions already in `cache`. */
  private async forward(rows: number[][], cache: KvCache, past: number): Promise<{ logits: Ort.Tensor; cache: KvCache }> {
    const batch = rows.length;
    const length = rows[0]?.length ?? 0;
    const feeds: Record<string, Ort.Tensor> = {
      input_ids: this.int64(rows.flat(), [batch, length]),
      attention_mask: this.int64(new Array<number>(batch * (past + length)).fill(1), [batch, past + length]),
      ...cache,
    };
    if (this.feedsPositionIds) feeds.position_ids = this.int64(rows.flatMap(() => Array.from({ length }, (_, j) => past + j)), [batch, length]);
    const output = await this.session.run(feeds);
    const next: KvCache = {};
    for (const name of Object.keys(cache)) next[name] = output[name.replace('past_key_values', 'present')] as Ort.Tensor;
    return { logits: output.logits as Ort.Tensor, cache: next };
  }

  /** The cache of the first `length` positions of a batch-1 cache. */
  private truncate(cache: KvCache, length: number): KvCache {
    const result: KvCache = {};
    for (const [name, tensor] of Object.entries(cache)) {
      const [, heads = 0, full = 0, dim = 0] = tensor.dims;
      const source = tensor.data as Float32Array;
      const target = new Float32Array(heads * length * dim);
      for (let head = 0; head < heads; head++) target.set(source.subarray(head * full * dim, head * full * dim + length * dim), head * length * dim);
      result[name] = new this.ort.Tensor('float32', target, [1, heads, length, dim]);
    }
    return result;
  }

  /** Keeps the given batch rows of a cache (replicating a batch-1 cache when rows repeat row 0). */
  private selectRows(cache: KvCache, rows: readonly number[]): KvCache {
    const result: KvCache = {};
    for (const [name, tensor] of Object.entries(cache)) {
      const [, heads = 0, length = 0, dim = 0] = tensor.dims;
      const stride = heads * length * dim;
      const source = tensor.data as Float32Array;
      const target = new Float32Array(stride * rows.length);
      rows.forEach((row, i) => target.set(source.subarray(row * stride, (row + 1) * stride), i * stride));
      result[name] = new this.ort.Tensor('float32', target, [rows.length, heads, length, dim]);
    }
    return result;
  }

  /**
   * Prefills the prompt once, reusing the longest cached prefix (few-shot variants share their examples
   * across cases), and returns its cache and the logits of its last position.
   */
  private async prefill(ids: number[]): Promise<{ cache: KvCache; lastLogits: Float32Array; reused: number }> {
    let best: PrefixEntry | undefined;
    let bestLength = 0;
    for (const entry of this.prefixes) {
      let common = 0;
      const limit = Math.min(entry.ids.length, ids.length);
      while (common < limit && entry.ids[common] === ids[common]) common++;
      if (common > bestLength) {
        best = entry;
        bestLength = common;
      }
    }
    const vocab = this.folder.config.vocabSize;
    if (best && bestLength === ids.length && best.ids.length === ids.length) {
      best.used = ++this.uses;
      return { cache: best.cache, lastLogits: best.lastLogits, reused: bestLength };
    }
    // The last prompt token must always be run: its logits pick the first new token.
    const reuse = best ? Math.min(bestLength, ids.length - 1) : 0;
    const start = reuse > 0 && best ? this.truncate(best.cache, reuse) : this.emptyCache();
    const { logits, cache } = await this.forward([ids.slice(reuse)], start, reuse);
    const data = logits.data as Float32Array;
    const rows = ids.length - reuse;
    const lastLogits = Float32Array.from(data.subarray((rows - 1) * vocab, rows * vocab));
    this.remember({ ids: [...ids], cache, lastLogits, used: ++this.uses });
    return { cache, lastLogits, reused: reuse };
  }

  private remember(entry: PrefixEntry): void {
    this.prefixes.push(entry);
    if (this.prefixes.length > PREFIX_CACHE_ENTRIES) {
      const oldest = this.prefixes.reduce((a, b) => (a.used <= b.used ? a : b));
      this.prefixes.splice(this.prefixes.indexOf(oldest), 1);
    }
  }

  /**
   * Samples n chains of one prompt together. Each finished chain is handed to `onChain` at once; rows
   * that finish leave the batch, so they stop costing work. `isCancelled` is checked before every step.
   */
  async generate(request: GenerateRequest, isCancelled: () => boolean, onChain: (chain: GeneratedChain) => void, trace: StepTrace = {}): Promise<{ cancelled: boolean; prefillMs: number; reusedTokens: number }> {
    const started = performance.now();
    const { maxPositions, eosTokenIds, vocabSize } = this.folder.config;
    const promptLength = request.promptIds.length;
    if (promptLength === 0) throw new ModelFolderError('The prompt is empty.');
    if (promptLength + 1 > maxPositions) {
      throw new ModelFolderError(`The prompt is ${promptLength} tokens, longer than ${this.folder.name}'s context of ${maxPositions} positions.`);
    }
    const maxNew = Math.min(request.maxNewTokens, maxPositions - promptLength);
    const { cache: prompt, lastLogits, reused } = await this.prefill(request.promptIds);
    const prefillMs = performance.now() - started;
    if (isCancelled()) return { cancelled: true, prefillMs, reusedTokens: reused };

    const base = request.seed ?? Math.floor(Math.random() * 2 ** 31);
    const sampler = new Sampler(request.sampling);
    const eos = new Set(eosTokenIds);
    interface Row {
      sample: number;
      random: () => number;
      tokens: number[];
      logits: Float32Array;
    }
    let active: Row[] = Array.from({ length: request.n }, (_, i) => ({ sample: request.firstSample + i, random: seededRandom(base + request.firstSample + i), tokens: [], logits: lastLogits }));
    let cache = request.n > 1 ? this.selectRows(prompt, new Array<number>(request.n).fill(0)) : prompt;
    const finish = (row: Row, text: string, reason: GeneratedChain['finishReason']): void => {
      onChain({ sample: row.sample, tokens: row.tokens, text, finishReason: reason, promptTokens: promptLength, completionTokens: row.tokens.length, latencyMs: performance.now() - started });
    };

    for (let step = 0; step < maxNew && active.length > 0; step++) {
      if (isCancelled()) return { cancelled: true, prefillMs, reusedTokens: reused };
      trace.onLogits?.(step, active.map((row) => ({ sample: row.sample, logits: row.logits })));
      const keep: number[] = [];
      const next: Row[] = [];
      const eosAllowed = step >= (request.minNewTokens ?? 0);
      active.forEach((row, index) => {
        if (!eosAllowed && eos.size > 0) {
          // A copy: the first step's logits are shared by every row and kept in the prefix cache.
          row.logits = Float32Array.from(row.logits);
          for (const id of eos) row.logits[id] = -Infinity;
        }
        const token = sampler.pick(row.logits, row.random);
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
      if (keep.length < active.length) cache = this.selectRows(cache, keep);
      active = next;
      const result = await this.forward(active.map((row) => [row.tokens[row.tokens.length - 1] as number]), cache, promptLength + step);
      cache = result.cache;
      const data = result.logits.data as Float32Array;
      active.forEach((row, i) => {
        row.logits = data.subarray(i * vocabSize, (i + 1) * vocabSize);
      });
    }
    return { cancelled: false, prefillMs, reusedTokens: reused };
  }

  async dispose(): Promise<void> {
    this.prefixes.length = 0;
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
