import OpenAI, { AzureOpenAI } from 'openai';
import { apiSeed, chainSeed } from '../random';
import {
  BackendError,
  type Adjustment,
  type Backend,
  type Completion,
  type CompletionOptions,
  type CompletionRequest,
  type EndpointStats,
  type FinishReason,
} from '../backend';
import type { Sampling } from '../prompt/types';
import { redactSecrets, redactUrl } from '../redact';
import { estimatedRequestTokens, RateLimitPacer, readRateLimitHeaders, type PaceTicket } from './pacing';
import { lessonMessage, noLessons, unsupportedParameter, wireParameters, type WireParameters } from './parameters';

export { BackendError };

export interface OpenAIBackendOptions {
  /** `openai`, `azure`, `ollama`, `vllm`, … — names the endpoint in messages and the cache. */
  id: string;
  model: string;
  apiKey: string;
  baseUrl?: string;
  /** Azure OpenAI: resource endpoint, deployment and API version. */
  azure?: { endpoint: string; deployment: string; apiVersion: string };
  /** Chat completions (default) or the legacy text completions endpoint for base models. */
  input?: 'chat' | 'text';
  /** Per-attempt time without a byte from the server before the attempt is abandoned. */
  timeoutMs?: number;
  /** Attempts per request, retries included. */
  maxAttempts?: number;
  maxConcurrency?: number;
  /** Base of the exponential backoff. */
  backoffMs?: number;
  /** Upper bound of one wait, also for `Retry-After`. */
  maxBackoffMs?: number;
  log?: (level: 'info' | 'warn', message: string) => void;
  /** Injected for tests that want no real waiting; defaults to setTimeout. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Waits `ms`, or rejects with 'cancelled' as soon as the signal aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('cancelled'));
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits for `promise`, or rejects as soon as the signal aborts. */
function untilOrAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new Error('cancelled'));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new Error('cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** `Retry-After` in seconds or as an HTTP date, or OpenAI's `retry-after-ms`. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const milliseconds = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(milliseconds)) return Math.max(0, milliseconds);
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * An OpenAI-compatible endpoint through the `openai` SDK: streaming chat completions with `n` chains per
 * request, falling back to one request per chain for servers that ignore `n`; retries with exponential
 * backoff and jitter that honour `Retry-After`; an idle timeout per attempt; cancellation at once.
 */
export class OpenAIBackend implements Backend {
  readonly id: string;
  readonly model: string;
  readonly input: 'chat' | 'text';
  readonly maxConcurrency: number;
  private readonly client: OpenAI;
  private warnedAboutN = false;
  private warnedAboutUsage = false;
  /** Fields the server refused with a 400: one backend is one endpoint and model, so they hold for the rest of the run. */
  private readonly lessons = noLessons();
  /** Waits for the provider's rate-limit window instead of running into 429s (headers read from every answer). */
  private readonly pacer = new RateLimitPacer();
  private readonly counts = { requests: 0, failures: 0, latencyMs: 0, succeeded: 0 };

  constructor(private readonly options: OpenAIBackendOptions) {
    this.id = options.id;
    this.model = options.model;
    this.input = options.input ?? 'chat';
    this.maxConcurrency = options.maxConcurrency ?? 4;
    // Retries live here, not in the SDK, so that stream failures and malformed bodies are retried too.
    this.client = options.azure
      ? new AzureOpenAI({
          apiKey: options.apiKey,
          endpoint: options.azure.endpoint,
          deployment: options.azure.deployment,
          apiVersion: options.azure.apiVersion,
          maxRetries: 0,
          timeout: 10 * 60_000,
          logLevel: 'off',
        })
      : new OpenAI({
          apiKey: options.apiKey,
          ...(options.baseUrl ? sdkBaseUrl(options.baseUrl) : {}),
          maxRetries: 0,
          timeout: 10 * 60_000,
          logLevel: 'off',
        });
  }

  /** Shown in messages and part of the cache key, so never with the credentials a base URL may carry. */
  get endpoint(): string {
    return this.options.azure
      ? `${redactUrl(this.options.azure.endpoint)} (deployment ${this.options.azure.deployment})`
      : redactUrl(this.options.baseUrl ?? this.client.baseURL);
  }

  /** This endpoint's requests (attempts) so far, for the summary's endpoints block. */
  endpointStats(): EndpointStats[] {
    const { requests, failures, latencyMs, succeeded } = this.counts;
    return [
      {
        endpoint: this.endpoint,
        requests,
        failures,
        // Unrounded, so that the counts of one run can be told from the process's (endpointStatsSince).
        ...(succeeded > 0 ? { meanLatencyMs: latencyMs / succeeded } : {}),
        pacedMs: this.pacer.pacedMs,
      },
    ];
  }

  /** Holds the request back while the rate-limit budget the server last reported would not cover it. */
  private async pace(request: CompletionRequest, options: CompletionOptions): Promise<PaceTicket> {
    const sleep = this.options.sleep ?? abortableSleep;
    const tokens = estimatedRequestTokens(request);
    let held = false;
    const first = this.pacer.firstAnswer();
    if (first) await untilOrAborted(first, options.signal);
    try {
      for (let wait = this.pacer.delay(tokens); wait > 0; wait = this.pacer.delay(tokens)) {
        held = true;
        options.onPaced?.(Date.now() + wait);
        const started = Date.now();
        await sleep(wait, options.signal);
        this.pacer.pacedMs += Date.now() - started;
      }
    } finally {
      if (held) options.onPaced?.(undefined);
    }
    return this.pacer.take(tokens);
  }

  adjustments(sampling: Sampling): Adjustment[] {
    return wireParameters(this.id, this.model, this.input, sampling, this.lessons).adjustments;
  }

  async *complete(request: CompletionRequest, options: CompletionOptions): AsyncIterable<Completion> {
    const started = Date.now();
    const finished = new Set<number>();
    try {
      for await (const completion of this.withRetries(request, options, started)) {
        finished.add(completion.sample);
        yield completion;
      }
    } catch (error) {
      if (options.signal.aborted) return;
      throw error;
    }
    // A server that ignores `n` returns fewer choices: ask again for each missing chain, one at a time.
    const missing: number[] = [];
    for (let sample = request.firstSample; sample < request.firstSample + request.n; sample++)
      if (!finished.has(sample)) missing.push(sample);
    if (missing.length === 0 || options.signal.aborted) return;
    if (!this.warnedAboutN) {
      this.warnedAboutN = true;
      this.options.log?.(
        'warn',
        `${this.id}: the server returned ${request.n - missing.length} of ${request.n} choices (it ignores 'n'); requesting each missing chain separately.`,
      );
    }
    for (const sample of missing) {
      // Each chain asked alone gets its own seed: the engine's per-chain seed, else one derived from the request's.
      const own =
        request.seeds?.[sample - request.firstSample] ?? (request.seed !== undefined ? chainSeed(request.seed, '', '', sample) : undefined);
      const { seeds: _seeds, ...rest } = request;
      const single: CompletionRequest = { ...rest, n: 1, firstSample: sample, ...(own !== undefined ? { seed: apiSeed(own) } : {}) };
      for await (const completion of this.withRetries(single, options, started)) {
        if (completion.sample === sample) yield completion;
      }
    }
  }

  /** One logical request: attempts until success, a permanent error, or the attempts run out. */
  private async *withRetries(request: CompletionRequest, options: CompletionOptions, started: number): AsyncIterable<Completion> {
    const maxAttempts = this.options.maxAttempts ?? 4;
    const sleep = this.options.sleep ?? abortableSleep;
    const delivered = new Set<number>();
    for (let attempt = 1; ; attempt++) {
      const sent = this.wire(request);
      const ticket = await this.pace(request, options);
      this.counts.requests++;
      const attemptStarted = Date.now();
      try {
        for await (const completion of this.attempt(request, sent, options, started, ticket)) {
          // A fallback or retried request never delivers a chain twice.
          if (delivered.has(completion.sample)) continue;
          delivered.add(completion.sample);
          yield completion;
        }
        this.counts.succeeded++;
        this.counts.latencyMs += Date.now() - attemptStarted;
        return;
      } catch (cause) {
        // Heard before anything else, so requests waiting for the first answer are never left waiting.
        const headers = cause instanceof OpenAI.APIError ? (cause as ApiError).headers : undefined;
        this.pacer.observe(ticket, headers ? readRateLimitHeaders(headers) : undefined);
        if (options.signal.aborted) throw cause;
        this.counts.failures++;
        // A field the server refuses is left out (or renamed) and the request sent again at once; the lesson
        // holds for every later request, so a refused setting costs one 400 per run, not one per chain.
        if (this.learn(cause, request, sent)) {
          attempt--;
          continue;
        }
        const error = this.describe(cause);
        if (!error.retryable || attempt >= maxAttempts) {
          throw new BackendError(
            attempt > 1 ? `${error.message} (after ${attempt} attempts)` : error.message,
            error.status,
            // Still says whether another endpoint might answer it (replicas.ts), with the server's Retry-After.
            error.retryable,
            error.retryAfterMs,
            error.fatal,
          );
        }
        const backoff = Math.min(this.options.maxBackoffMs ?? 30_000, (this.options.backoffMs ?? 500) * 2 ** (attempt - 1));
        // Full jitter spreads retries of parallel requests; Retry-After, when given, is a floor.
        const wait = Math.min(this.options.maxBackoffMs ?? 30_000, Math.max(error.retryAfterMs ?? 0, Math.random() * backoff));
        this.options.log?.(
          'info',
          `${this.id}: ${error.message}; retrying in ${Math.round(wait)} ms (attempt ${attempt + 1} of ${maxAttempts})`,
        );
        await sleep(wait, options.signal);
      }
    }
  }

  /** One HTTP request, streamed; an idle timer aborts it when the server goes quiet. */
  private async *attempt(
    request: CompletionRequest,
    sent: WireParameters,
    options: CompletionOptions,
    started: number,
    ticket?: PaceTicket,
  ): AsyncIterable<Completion> {
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    options.signal.addEventListener('abort', abort, { once: true });
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    let timedOut = false;
    let idle: NodeJS.Timeout | undefined;
    const touch = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
    };
    touch();
    try {
      const texts = new Map<number, string>();
      const reasonings = new Map<number, string>();
      const finishes = new Map<number, FinishReason>();
      let usage: OpenAI.CompletionUsage | undefined;
      const body = {
        model: this.model,
        stream: true as const,
        stream_options: { include_usage: true },
        ...sent,
      };
      // The fields come from the policy table (parameters.ts), so the SDK's per-model types cannot check them.
      const { data: stream, response } =
        this.input === 'chat'
          ? await this.client.chat.completions
              .create(
                {
                  ...body,
                  messages: request.messages ?? [{ role: 'user', content: request.text ?? '' }],
                } as OpenAI.Chat.ChatCompletionCreateParamsStreaming,
                { signal: controller.signal },
              )
              .withResponse()
          : await this.client.completions
              .create({ ...body, prompt: request.text ?? '' } as OpenAI.CompletionCreateParamsStreaming, {
                signal: controller.signal,
              })
              .withResponse();
      if (ticket) this.pacer.observe(ticket, readRateLimitHeaders(response.headers));
      const finished: Completion[] = [];
      for await (const chunk of stream as AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk | OpenAI.Completions.Completion>) {
        touch();
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices ?? []) {
          const delta = 'delta' in choice ? (choice.delta?.content ?? '') : 'text' in choice ? (choice.text ?? '') : '';
          if (delta) {
            texts.set(choice.index, (texts.get(choice.index) ?? '') + delta);
            options.onDelta?.(request.firstSample + choice.index, texts.get(choice.index) ?? '');
          }
          const thought = reasoningDelta(choice);
          if (thought) reasonings.set(choice.index, (reasonings.get(choice.index) ?? '') + thought);
          if (choice.finish_reason) {
            finishes.set(choice.index, mapFinishReason(choice.finish_reason));
            const completion = this.completion(
              request,
              choice.index,
              texts.get(choice.index) ?? '',
              mapFinishReason(choice.finish_reason),
              started,
            );
            const reasoning = reasonings.get(choice.index);
            finished.push(reasoning ? { ...completion, reasoning } : completion);
          }
        }
      }
      // Choices that never sent a finish reason (a stream cut short) are an error of the whole attempt.
      const indices = new Set([...texts.keys(), ...finishes.keys()]);
      for (const index of indices) {
        if (!finishes.has(index))
          throw new BackendError(`the stream ended before chain ${request.firstSample + index} finished`, undefined, true);
      }
      if (!usage && !this.warnedAboutUsage) {
        this.warnedAboutUsage = true;
        this.options.log?.('info', `${this.id}: the server reports no token usage; counts are shown as 0.`);
      }
      // Usage arrives once for the whole request (the prompt billed once): share it out over the chains.
      // Chains are handed on when the stream ends, so a stream cut short is retried whole, never half-counted.
      const count = Math.max(1, finishes.size);
      for (const completion of finished) {
        if (usage) {
          const reasoning = usage.completion_tokens_details?.reasoning_tokens;
          const cached = usage.prompt_tokens_details?.cached_tokens;
          completion.usage = {
            promptTokens: Math.round(usage.prompt_tokens / count),
            completionTokens: Math.round(usage.completion_tokens / count),
            // OpenAI counts reasoning inside completion_tokens already: carried apart, never added twice.
            ...(typeof reasoning === 'number' ? { reasoningTokens: Math.round(reasoning / count) } : {}),
            // Likewise cached prompt tokens are inside prompt_tokens: priced lower, never counted twice.
            ...(typeof cached === 'number' ? { cachedTokens: Math.round(cached / count) } : {}),
          };
        }
        yield completion;
      }
    } catch (error) {
      if (timedOut && !options.signal.aborted)
        throw new BackendError(`no response within ${Math.round(timeoutMs / 1000)} s (request timeout)`, undefined, true);
      throw error;
    } finally {
      clearTimeout(idle);
      options.signal.removeEventListener('abort', abort);
    }
  }

  /** The request's settings under the names this provider and model take, less what they refuse. */
  private wire(request: CompletionRequest): WireParameters {
    const { messages: _messages, text: _text, firstSample: _first, seeds: _seeds, responseFormat, ...settings } = request;
    const body = wireParameters(this.id, this.model, this.input, settings, this.lessons).body;
    // A server that refused structured output once is sent none again: the judge's parser reads plain JSON too.
    if (responseFormat && this.input === 'chat' && !this.lessons.omit.has('response_format'))
      body.response_format = {
        type: 'json_schema',
        json_schema: { name: responseFormat.name, schema: responseFormat.schema, strict: true },
      };
    return body;
  }

  /** Learns from a 400 that names a field the attempt sent; true when the request should be sent again without it. */
  private learn(cause: unknown, request: CompletionRequest, sent: WireParameters): boolean {
    if (!(cause instanceof OpenAI.APIError) || typeof cause.status !== 'number') return false;
    const apiError = cause as ApiError;
    const detail = apiErrorMessage(apiError);
    const body = apiError.error as { param?: string | null; code?: string | null } | undefined;
    const lesson = unsupportedParameter(
      { status: apiError.status ?? 0, param: body?.param ?? null, code: body?.code ?? apiError.code ?? null, message: detail },
      sent,
    );
    if (!lesson) return false;
    // Learned meanwhile from a parallel request: send again as now; refused even so (both limit names): give up.
    if (this.lessons.omit.has(lesson.parameter) || this.lessons.rename.has(lesson.parameter))
      return !(lesson.parameter in this.wire(request));
    const value = sent[lesson.parameter];
    const adjustment: Adjustment = {
      parameter: lesson.parameter,
      ...(SETTING_OF[lesson.parameter] ? { setting: SETTING_OF[lesson.parameter] } : {}),
      value,
      action: lesson.action === 'rename' ? 'renamed' : 'omitted',
      ...(lesson.sentAs ? { sentAs: lesson.sentAs } : {}),
      reason: 'rejected',
      message: redactSecrets(lessonMessage(this.model, this.endpoint, lesson, value, detail)),
    };
    (lesson.action === 'rename' ? this.lessons.rename : this.lessons.omit).set(lesson.parameter, adjustment);
    return true;
  }

  private completion(request: CompletionRequest, index: number, text: string, finishReason: FinishReason, started: number): Completion {
    return {
      sample: request.firstSample + index,
      text,
      finishReason,
      usage: { promptTokens: 0, completionTokens: 0 },
      latencyMs: Date.now() - started,
      ...(finishReason === 'filtered' ? { error: 'the response was blocked by the content filter' } : {}),
    };
  }

  /** Turns SDK and network errors into one clear message and a retry decision, with no URL credentials in it. */
  private describe(cause: unknown): BackendError {
    const error = this.describeUnredacted(cause);
    const message = redactSecrets(error.message);
    return message === error.message ? error : new BackendError(message, error.status, error.retryable, error.retryAfterMs, error.fatal);
  }

  private describeUnredacted(cause: unknown): BackendError {
    if (cause instanceof BackendError) return cause;
    if (cause instanceof OpenAI.APIError && typeof cause.status === 'number') {
      const apiError = cause as ApiError;
      const status: number = apiError.status ?? 0;
      const detail = apiErrorMessage(apiError);
      const after = retryAfterMs(apiError.headers);
      if (status === 401)
        return new BackendError(
          `authentication failed (401): the API key for ${this.endpoint} was rejected — set it with "Chainscope: Set API Key" or the ${this.id === 'azure' ? 'AZURE_OPENAI_API_KEY' : 'OPENAI_API_KEY'} variable`,
          status,
          false,
          undefined,
          true,
        );
      if (status === 403) return new BackendError(`access denied (403) at ${this.endpoint}: ${detail}`, status, false, undefined, true);
      if (status === 404)
        return new BackendError(
          `model or deployment '${this.model}' not found (404) at ${this.endpoint}: ${detail}`,
          status,
          false,
          undefined,
          true,
        );
      if (isContextOverflow(apiError))
        return new BackendError(`the prompt is longer than the model's context window (${status}): ${detail}`, status);
      if (isContentFilter(apiError)) return new BackendError(`blocked by the content filter (${status}): ${detail}`, status);
      if (status === 429) return new BackendError(`rate limited (429): ${detail}`, status, true, after);
      if (status === 408 || status === 409 || status >= 500)
        return new BackendError(`server error (${status}): ${detail}`, status, true, after);
      return new BackendError(`request rejected (${status}): ${detail}`, status);
    }
    if (cause instanceof OpenAI.APIConnectionTimeoutError) return new BackendError('the request timed out', undefined, true);
    if (cause instanceof OpenAI.APIConnectionError)
      return new BackendError(
        `cannot reach ${this.endpoint}: ${cause.cause instanceof Error ? cause.cause.message : cause.message}`,
        undefined,
        true,
      );
    if (cause instanceof SyntaxError) return new BackendError(`the server sent malformed JSON: ${cause.message}`, undefined, true);
    const message = cause instanceof Error ? cause.message : String(cause);
    // Streams that break mid-way surface as plain errors from the body reader.
    return new BackendError(`the connection failed: ${message}`, undefined, true);
  }
}

/**
 * The SDK's options for a base URL. The SDK appends paths to `baseURL` (a query there would swallow them) and
 * fetch refuses URLs with credentials, so a query becomes `defaultQuery` and `user:password@` Basic auth.
 */
export function sdkBaseUrl(url: string): {
  baseURL: string;
  defaultQuery?: Record<string, string>;
  defaultHeaders?: Record<string, string>;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { baseURL: url };
  }
  if (!parsed.username && !parsed.password && !parsed.search) return { baseURL: url };
  const query = Object.fromEntries(parsed.searchParams);
  const decode = (text: string): string => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const credentials = parsed.username || parsed.password ? `${decode(parsed.username)}:${decode(parsed.password)}` : undefined;
  parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  parsed.hash = '';
  return {
    baseURL: parsed.toString(),
    ...(Object.keys(query).length > 0 ? { defaultQuery: query } : {}),
    // Basic auth replaces the key's Bearer header: one Authorization header per request.
    ...(credentials ? { defaultHeaders: { Authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } } : {}),
  };
}

/** The prompt file's setting behind each wire field that can be refused. */
const SETTING_OF: Record<string, keyof Sampling> = {
  temperature: 'temperature',
  top_p: 'topP',
  max_tokens: 'maxTokens',
  max_completion_tokens: 'maxTokens',
  stop: 'stop',
  seed: 'seed',
  reasoning_effort: 'reasoningEffort',
};

/**
 * Reasoning streamed apart from the answer: `reasoning_content` (vLLM's reasoning parsers, DeepSeek), or
 * `reasoning` (newer vLLM, OpenRouter). The SDK's types know neither.
 */
function reasoningDelta(choice: object): string | undefined {
  const delta = (choice as { delta?: { reasoning_content?: unknown; reasoning?: unknown } }).delta;
  const value = delta?.reasoning_content ?? delta?.reasoning;
  return typeof value === 'string' ? value : undefined;
}

function mapFinishReason(reason: string): FinishReason {
  if (reason === 'length') return 'length';
  if (reason === 'content_filter') return 'filtered';
  return 'stop';
}

type ApiError = InstanceType<typeof OpenAI.APIError<number | undefined, Headers | undefined, object | undefined>>;

function apiErrorMessage(error: ApiError): string {
  const body = error.error as { message?: string } | undefined;
  return body?.message ?? error.message;
}

function isContextOverflow(error: ApiError): boolean {
  const code = (error.code ?? '').toString();
  return (
    code === 'context_length_exceeded' ||
    /maximum context length|context window|too many tokens|prompt is too long/i.test(apiErrorMessage(error))
  );
}

function isContentFilter(error: ApiError): boolean {
  const code = (error.code ?? '').toString();
  return code === 'content_filter' || /content (management )?polic|content filter/i.test(apiErrorMessage(error));
}
