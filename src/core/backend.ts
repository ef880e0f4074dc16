import type { ChatMessage } from './prompt/render';
import type { Sampling } from './prompt/types';

/**
 * One request to a model: a chat (`messages`) or a plain-text prompt (`text`), sampled `n` times.
 * Backends implement this for OpenAI-compatible APIs and for local ONNX models.
 */
export interface CompletionRequest extends Sampling {
  messages?: ChatMessage[];
  text?: string;
  n: number;
  /** Index of the first sample this request produces: sample i of a case is always the same sample. */
  firstSample: number;
  /** One seed per chain, sample firstSample + i: backends that seed chains one by one use these (`seed` is the request's). */
  seeds?: number[];
  /** The request's stable name in its run (variant, case, samples): a batch backend maps its results back by it. */
  requestId?: string;
  /** Structured output: the answer should match this JSON schema (OpenAI's `response_format`); backends without it ignore it. */
  responseFormat?: { name: string; schema: Record<string, unknown> };
}

/** A setting that was not sent as the prompt file asked, and why. */
export interface Adjustment {
  /** The request field as the server names it: `temperature`, `top_p`, `max_tokens`, `seed`, `stop`, `reasoning_effort`, `n`. */
  parameter: string;
  /** The setting in the prompt file's `Sampling` it comes from, when it comes from one. */
  setting?: keyof Sampling;
  /** The value the file asked for. */
  value?: unknown;
  /** `omitted`: not sent; `renamed`: sent under `sentAs`. */
  action: 'omitted' | 'renamed';
  sentAs?: string;
  /** `model`: a known fixed setting of the model, left out from the start; `rejected`: the server refused it (400) once. */
  reason: 'model' | 'rejected';
  /** One line for people; adjustments made for one cause share it, so it is shown once. */
  message: string;
}

export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error' | 'filtered';

export interface Usage {
  promptTokens: number;
  /** Everything the model generated and bills as output, reasoning included. */
  completionTokens: number;
  /** Of `completionTokens`, the hidden reasoning of reasoning models, when the server reports it. */
  reasoningTokens?: number;
  /** Of `promptTokens`, those the provider served from its prompt cache (billed at the cached-input price), when reported. */
  cachedTokens?: number;
}

export interface Completion {
  /** Sample index within the case (firstSample + position in the request). */
  sample: number;
  text: string;
  /** The model's reasoning sent apart from its answer (`reasoning_content` of vLLM, DeepSeek), when it sent any. */
  reasoning?: string;
  finishReason: FinishReason;
  usage: Usage;
  /** Wall time from sending the request to this completion being finished. */
  latencyMs: number;
  /** Set when this completion failed for good; `text` is then empty. */
  error?: string;
}

export interface CompletionOptions {
  signal: AbortSignal;
  /** Streamed text as it is generated, for progress; optional for backends. */
  onDelta?: (sample: number, text: string) => void;
  /** The request is held back by the provider's rate limits until this time (epoch ms); undefined once it goes. */
  onPaced?: (untilMs: number | undefined) => void;
}

/** One endpoint's requests in this process: attempts, retries included. */
export interface EndpointStats {
  /** The base URL without credentials. */
  endpoint: string;
  requests: number;
  /** Attempts that failed (errors, 429s, timeouts), whether or not a retry then succeeded. */
  failures: number;
  /** Of the attempts that succeeded, from sending to the last byte. */
  meanLatencyMs?: number;
  /** Time requests were held back by the rate-limit headers, summed over requests. */
  pacedMs: number;
  /** Replicas: times it was taken out for a cool-down after failing. */
  cooldowns?: number;
}

export interface Backend {
  /** `openai`, `azure`, `local`, …: part of the cache key. */
  readonly id: string;
  readonly model: string;
  /** Where requests go (a base URL, with any credentials removed, or a model folder): part of the cache key. */
  readonly endpoint: string;
  /** Whether the model takes chat messages or plain text (base models). */
  readonly input: 'chat' | 'text';
  /** Produces the request's n completions, each as soon as it is finished. */
  complete(request: CompletionRequest, options: CompletionOptions): AsyncIterable<Completion>;
  /**
   * What requests with these settings are sent without or under another name, and why: a reasoning model's
   * fixed temperature, a field the server refused with a 400 earlier in the run. Backends that send every
   * setting as asked need not implement it.
   */
  adjustments?(sampling: Sampling): Adjustment[];
  /** Per-endpoint counts (remote backends): one entry, or one per replica. */
  endpointStats?(): EndpointStats[];
  /** Requests this backend can have in flight at once. */
  readonly maxConcurrency?: number;
  dispose?(): Promise<void>;
}

/**
 * A request that failed for good. `fatal` errors (a rejected key, an unknown model, an unreadable local
 * model) would fail every request the same way, so a run stops at the first one.
 */
export class BackendError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly retryable = false,
    readonly retryAfterMs?: number,
    readonly fatal = false,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}
