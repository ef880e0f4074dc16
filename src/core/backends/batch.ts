import OpenAI, { AzureOpenAI, toFile } from 'openai';
import {
  BackendError,
  type Adjustment,
  type Backend,
  type Completion,
  type CompletionOptions,
  type CompletionRequest,
  type FinishReason,
} from '../backend';
import type { Sampling } from '../prompt/types';
import { redactSecrets } from '../redact';
import type { BatchRecord } from '../eval/store';
import { abortableSleep, OpenAIBackend, sdkBaseUrl, type OpenAIBackendOptions } from './openai';
import { noLessons, wireParameters } from './parameters';

/** OpenAI's limits per batch input file (Azure takes more requests per file, as many bytes). */
export const BATCH_LIMITS = { maxRequests: 50_000, maxBytes: 200_000_000 };

export interface BatchSettings {
  /** First wait between polls; it grows by half each poll up to `maxPollMs`. */
  pollMs?: number;
  maxPollMs?: number;
  /** Requests and bytes per input file; a run over them goes as several batches. */
  maxRequests?: number;
  maxBytes?: number;
  /** Requests that arrive within this long of each other go in one batch. */
  gatherMs?: number;
  /** How long a cancel waits for the batch to settle, to keep what it finished. */
  cancelWaitMs?: number;
}

export interface BatchBackendOptions extends OpenAIBackendOptions {
  batch?: BatchSettings;
}

/** Where a batch backend keeps its batches: the run file (submitted at once, finished once handed on). */
export interface BatchJournal {
  previous: readonly BatchRecord[];
  /** Resolves once the record is in the file (a batch's ids must survive a crash right after it is created). */
  record(record: BatchRecord): Promise<void> | void;
}

/** What became of one request in a batch. */
type Outcome =
  { kind: 'ok'; body: ResponseBody } | { kind: 'failed'; message: string; retry: boolean } | { kind: 'missing' } | { kind: 'cancelled' };

interface ResponseBody {
  choices?: {
    index: number;
    message?: { content?: string | null; reasoning_content?: string | null; reasoning?: string | null };
    text?: string;
    finish_reason?: string | null;
  }[];
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    completion_tokens_details?: { reasoning_tokens?: number };
    prompt_tokens_details?: { cached_tokens?: number };
  };
}

interface Queued {
  customId: string;
  line: string;
  signal: AbortSignal;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}

/** An ended batch's outcomes by custom id, and why it failed as a whole, when it did. */
interface Collected {
  outcomes: Map<string, Outcome>;
  failure?: string;
}

function newStats(): {
  batches: string[];
  resumed: string[];
  requests: number;
  failedInBatch: number;
  retriedOnline: number;
  followUps: number;
} {
  return { batches: [], resumed: [], requests: 0, failedInBatch: 0, retriedOnline: 0, followUps: 0 };
}

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

export function isBatchBackend(backend: Backend): backend is BatchBackend {
  return backend instanceof BatchBackend;
}

/**
 * An OpenAI or Azure OpenAI model through the Batch API: the run's requests are gathered into JSONL input
 * files (uploaded through the Files API, purpose `batch`), sent as batches with the 24 h window, polled
 * with a growing interval, and their answers handed to the engine as completions, which records them as
 * usual. Requests that fail inside a batch are retried online. Batches of a resumed run are polled, not
 * sent again; a cancelled run cancels its batches and keeps what they finished.
 */
export class BatchBackend implements Backend {
  readonly id: string;
  readonly model: string;
  readonly input: 'chat' | 'text';
  /** The engine hands every request over at once: the batch is the unit of concurrency. */
  readonly maxConcurrency = Number.MAX_SAFE_INTEGER;
  private readonly online: OpenAIBackend;
  private readonly client: OpenAI;
  private readonly settings: Required<BatchSettings>;
  private journal: BatchJournal = { previous: [], record: () => undefined };
  private queue: Queued[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Outcomes of the resumed run's batches, by custom id, once they are polled. */
  private inherited: Promise<Map<string, Outcome>> | undefined;
  private onlineSlots: number;
  private readonly waiting: (() => void)[] = [];
  private stats = newStats();

  constructor(private readonly options: BatchBackendOptions) {
    this.online = new OpenAIBackend(options);
    this.id = this.online.id;
    this.model = this.online.model;
    this.input = this.online.input;
    this.onlineSlots = this.online.maxConcurrency;
    const batch = options.batch ?? {};
    const pollMs = batch.pollMs ?? 10_000;
    this.settings = {
      pollMs,
      maxPollMs: Math.max(pollMs, batch.maxPollMs ?? 300_000),
      maxRequests: batch.maxRequests ?? BATCH_LIMITS.maxRequests,
      maxBytes: batch.maxBytes ?? BATCH_LIMITS.maxBytes,
      gatherMs: batch.gatherMs ?? 100,
      cancelWaitMs: batch.cancelWaitMs ?? 60_000,
    };
    const common = { apiKey: options.apiKey, maxRetries: Math.max(0, (options.maxAttempts ?? 4) - 1), logLevel: 'off' as const };
    // No deployment on this client: the SDK would put `/batches` under `/deployments/…`, and Azure serves
    // batches and files at `/openai/batches` and `/openai/files`; the deployment goes in each line's `model`.
    this.client = options.azure
      ? new AzureOpenAI({ ...common, endpoint: options.azure.endpoint, apiVersion: options.azure.apiVersion })
      : new OpenAI({ ...common, ...(options.baseUrl ? sdkBaseUrl(options.baseUrl) : {}) });
  }

  get endpoint(): string {
    return this.online.endpoint;
  }

  adjustments(sampling: Sampling): Adjustment[] {
    return this.online.adjustments(sampling);
  }

  /** Connects the backend to the run file: what earlier sessions of the run submitted, and where to note new batches. */
  attach(journal: BatchJournal): void {
    // One backend may serve several runs in turn (the CLI's prompts): each has its own batches.
    this.journal = journal;
    this.inherited = undefined;
    this.stats = newStats();
  }

  /** Lines for the run's summary: the batches, and what was retried online. */
  summary(): string[] {
    const { batches, resumed, requests, failedInBatch, retriedOnline, followUps } = this.stats;
    if (batches.length === 0 && resumed.length === 0) return [];
    const ids = [...resumed.map((id) => `${id} (resumed)`), ...batches];
    const lines = [
      `batch: ${ids.length} batch${ids.length === 1 ? '' : 'es'} (${ids.join(', ')}), ${requests} requests at the batch price`,
    ];
    if (failedInBatch > 0)
      lines.push(`batch: ${failedInBatch} request${failedInBatch === 1 ? '' : 's'} failed inside a batch; ${retriedOnline} retried online`);
    if (followUps > 0)
      lines.push(
        `batch: ${followUps} request${followUps === 1 ? '' : 's'} a batch did not answer (expired or cancelled) went in a follow-up batch`,
      );
    return lines;
  }

  async *complete(request: CompletionRequest, options: CompletionOptions): AsyncIterable<Completion> {
    // Requests without a name in the run (a zero-shot CoT's answer step) are small and go online.
    if (!request.requestId) {
      yield* this.onlineComplete(request, options);
      return;
    }
    const started = Date.now();
    let outcome = await this.enqueue(request, request.requestId, options.signal);
    // A batch that ended without answering it (expired, cancelled elsewhere): once more as a batch, then online.
    if (outcome.kind === 'missing' && !options.signal.aborted) {
      this.stats.followUps++;
      outcome = await this.enqueue(request, request.requestId, options.signal);
    }
    const delivered = new Set<number>();
    if (outcome.kind === 'ok') {
      for (const completion of this.completions(request, outcome.body, started)) {
        delivered.add(completion.sample);
        yield completion;
      }
      if (delivered.size >= request.n) return;
    }
    if (outcome.kind === 'cancelled' || options.signal.aborted) return;
    if (outcome.kind === 'failed' && !outcome.retry) throw new BackendError(outcome.message);
    // Said once per batch (report); a request answered with fewer chains than asked, or twice unanswered, here.
    if (outcome.kind !== 'failed')
      this.log(
        'info',
        `${request.requestId}: ${outcome.kind === 'ok' ? `the batch returned ${delivered.size} of ${request.n} chains` : 'not answered by the follow-up batch either'}; retrying online`,
      );
    this.stats.failedInBatch++;
    this.stats.retriedOnline++;
    for await (const completion of this.onlineComplete(request, options)) if (!delivered.has(completion.sample)) yield completion;
  }

  async dispose(): Promise<void> {
    clearTimeout(this.timer);
    return Promise.resolve();
  }

  /** A write failure stops the run through the run file's own error; the batch goes on meanwhile. */
  private async note(record: BatchRecord): Promise<void> {
    try {
      await this.journal.record(record);
    } catch {
      // Said by the run file.
    }
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.options.log?.(level, `${this.id}: ${redactSecrets(message)}`);
  }

  /** Online requests, at most the online backend's concurrency at once. */
  private async *onlineComplete(request: CompletionRequest, options: CompletionOptions): AsyncIterable<Completion> {
    while (this.onlineSlots <= 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.onlineSlots--;
    try {
      yield* this.online.complete(request, options);
    } finally {
      this.onlineSlots++;
      this.waiting.shift()?.();
    }
  }

  private enqueue(request: CompletionRequest, customId: string, signal: AbortSignal): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      this.queue.push({ customId, line: this.line(request, customId), signal, resolve, reject });
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        const items = this.queue;
        this.queue = [];
        this.flush(items).catch((error: unknown) => {
          for (const item of items) item.reject(error);
        });
      }, this.settings.gatherMs);
    });
  }

  /** One line of the input file: the body an online request would send, less streaming. */
  private line(request: CompletionRequest, customId: string): string {
    const { messages, text, firstSample: _first, seeds: _seeds, requestId: _id, ...settings } = request;
    const body = {
      // Azure takes the deployment as the model of each line.
      model: this.options.azure?.deployment ?? this.model,
      ...wireParameters(this.id, this.model, this.input, settings, noLessons()).body,
      ...(this.input === 'chat' ? { messages: messages ?? [{ role: 'user', content: text ?? '' }] } : { prompt: text ?? '' }),
    };
    return JSON.stringify({ custom_id: customId, method: 'POST', url: this.endpointPath(), body });
  }

  private endpointPath(): string {
    const path = this.input === 'chat' ? '/chat/completions' : '/completions';
    return this.options.azure ? path : `/v1${path}`;
  }

  /** Sends what was gathered: first what the resumed run's batches answered, the rest as new batches within the limits. */
  private async flush(items: Queued[]): Promise<void> {
    const signal = items[0]?.signal;
    if (!signal) return;
    const inherited = await (this.inherited ??= this.pollInherited(signal));
    const fresh: Queued[] = [];
    for (const item of items) {
      const known = inherited.get(item.customId);
      inherited.delete(item.customId);
      if (known) item.resolve(known);
      else fresh.push(item);
    }
    if (signal.aborted) {
      for (const item of fresh) item.resolve({ kind: 'cancelled' });
      return;
    }
    const chunks: Queued[][] = [];
    let chunk: Queued[] = [];
    let bytes = 0;
    for (const item of fresh) {
      const size = Buffer.byteLength(item.line) + 1;
      if (size > this.settings.maxBytes) {
        item.resolve({
          kind: 'failed',
          message: `the request is larger than a batch file may be (${this.settings.maxBytes} bytes)`,
          retry: false,
        });
        continue;
      }
      if (chunk.length >= this.settings.maxRequests || bytes + size > this.settings.maxBytes) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(item);
      bytes += size;
    }
    if (chunk.length > 0) chunks.push(chunk);
    if (chunks.length > 1)
      this.log(
        'info',
        `${fresh.length} requests go as ${chunks.length} batches (at most ${this.settings.maxRequests} requests and ${this.settings.maxBytes} bytes each)`,
      );
    await Promise.all(
      chunks.map((part) =>
        this.send(part, signal).catch((error: unknown) => {
          const failure = this.describe(error);
          for (const item of part) item.reject(failure);
        }),
      ),
    );
  }

  /** Polls the batches an earlier session of this run submitted and did not finish: their answers are not paid for twice. */
  private async pollInherited(signal: AbortSignal): Promise<Map<string, Outcome>> {
    const finished = new Set(this.journal.previous.filter((record) => record.event === 'finished').map((record) => record.batchId));
    const open = this.journal.previous.filter((record) => record.event === 'submitted' && !finished.has(record.batchId));
    const outcomes = new Map<string, Outcome>();
    for (const record of open) {
      this.log('info', `batch ${record.batchId} of this run is still open: polling it instead of submitting its requests again`);
      this.stats.resumed.push(record.batchId);
      this.stats.requests += record.requests ?? 0;
      try {
        const collected = await this.pollBatch(record.batchId, signal);
        this.report(record.batchId, undefined, collected.outcomes, signal);
        for (const [id, outcome] of collected.outcomes) outcomes.set(id, outcome);
      } catch (error) {
        const failure = this.describe(error);
        if (failure.fatal) throw failure;
        this.log('warn', `batch ${record.batchId} could not be read (${failure.message}); its requests are submitted again`);
      }
    }
    return outcomes;
  }

  private async send(items: Queued[], signal: AbortSignal): Promise<void> {
    const content = `${items.map((item) => item.line).join('\n')}\n`;
    const file = await this.client.files.create(
      { file: await toFile(Buffer.from(content), 'chainscope-batch.jsonl', { type: 'application/jsonl' }), purpose: 'batch' },
      { signal },
    );
    // Not cancellable: a batch created while the run is cancelled must be known, to be cancelled in turn.
    const batch = await this.client.batches.create({
      input_file_id: file.id,
      endpoint: this.endpointPath() as OpenAI.Batches.BatchCreateParams['endpoint'],
      completion_window: '24h',
    });
    await this.note({
      type: 'batch',
      event: 'submitted',
      batchId: batch.id,
      inputFileId: file.id,
      requests: items.length,
      bytes: Buffer.byteLength(content),
      at: new Date().toISOString(),
    });
    this.stats.batches.push(batch.id);
    this.stats.requests += items.length;
    this.log('info', `batch ${batch.id}: ${items.length} requests submitted (input file ${file.id}, 24h window); polling for the results`);
    const { outcomes, failure } = await this.pollBatch(batch.id, signal);
    this.report(batch.id, failure === undefined ? items : undefined, outcomes, signal);
    // A batch refused as a whole (a quota, a malformed file) would fail the same way online: its chains fail, resume sends them again.
    const unanswered: Outcome = signal.aborted
      ? { kind: 'cancelled' }
      : failure !== undefined
        ? { kind: 'failed', message: failure, retry: false }
        : { kind: 'missing' };
    for (const item of items) item.resolve(outcomes.get(item.customId) ?? unanswered);
  }

  /** The wait between polls (the options' `sleep` in tests); an abort ends it early, to cancel at once. */
  private async wait(ms: number, signal: AbortSignal): Promise<void> {
    // Ends early on abort: polling then turns to cancelling.
    await (this.options.sleep ?? abortableSleep)(ms, signal).catch(() => undefined);
  }

  /**
   * Says once per batch what of it goes online or in a follow-up batch (a big batch may fail thousands of
   * requests alike). `items`: the requests it was sent with, when those it left unanswered go again.
   */
  private report(batchId: string, items: readonly Queued[] | undefined, outcomes: ReadonlyMap<string, Outcome>, signal: AbortSignal): void {
    if (signal.aborted) return;
    const failed = [...outcomes.values()].filter((outcome) => outcome.kind === 'failed' && outcome.retry);
    const first = failed[0];
    if (first?.kind === 'failed')
      this.log(
        'info',
        `batch ${batchId}: ${failed.length} request${failed.length === 1 ? '' : 's'} failed inside it (${first.message}${failed.length > 1 ? ', …' : ''}); retrying ${failed.length === 1 ? 'it' : 'them'} online`,
      );
    const missing = items?.filter((item) => !outcomes.has(item.customId)).length ?? 0;
    if (missing > 0)
      this.log('info', `batch ${batchId}: ${missing} request${missing === 1 ? '' : 's'} not answered; sending them in a follow-up batch`);
  }

  /** Polls a batch until it ends (a cancelled run cancels it first) and reads its results. */
  private async pollBatch(batchId: string, signal: AbortSignal): Promise<Collected> {
    let wait = this.settings.pollMs;
    let said = '';
    for (;;) {
      if (signal.aborted) return this.cancel(batchId);
      let batch: OpenAI.Batches.Batch | undefined;
      try {
        batch = await this.client.batches.retrieve(batchId);
      } catch (error) {
        const failure = this.describe(error);
        if (failure.fatal) throw failure;
        // A network error or an outage is no reason to give up a batch that runs for hours.
        this.log('warn', `batch ${batchId}: polling failed (${failure.message}); trying again`);
      }
      if (batch) {
        const counts = batch.request_counts;
        const state = `${batch.status}${counts ? `, ${counts.completed + counts.failed}/${counts.total} requests done` : ''}`;
        if (state !== said) this.log('info', `batch ${batchId}: ${state}`);
        said = state;
        if (TERMINAL.has(batch.status)) return this.collect(batch);
      }
      await this.wait(wait, signal);
      wait = Math.min(this.settings.maxPollMs, wait * 1.5);
    }
  }

  /** Cancels a batch and waits a while for it to settle, to keep the answers it has. */
  private async cancel(batchId: string): Promise<Collected> {
    this.log('info', `batch ${batchId}: cancelling it`);
    try {
      await this.client.batches.cancel(batchId);
    } catch (error) {
      this.log('warn', `batch ${batchId}: the cancel failed (${this.describe(error).message})`);
    }
    const deadline = Date.now() + this.settings.cancelWaitMs;
    let wait = this.settings.pollMs;
    let status = 'cancelling';
    for (;;) {
      try {
        const batch = await this.client.batches.retrieve(batchId);
        status = batch.status;
        if (TERMINAL.has(batch.status)) return this.collect(batch);
      } catch {
        // Tried again until the deadline.
      }
      if (Date.now() + wait > deadline) {
        this.log('warn', `batch ${batchId} is still ${status}; resume the run to collect what it finished`);
        return { outcomes: new Map() };
      }
      await this.wait(wait, new AbortController().signal);
      wait = Math.min(this.settings.maxPollMs, wait * 1.5);
    }
  }

  /** Reads an ended batch's output and error files into outcomes by custom id, and notes the batch finished. */
  private async collect(batch: OpenAI.Batches.Batch): Promise<Collected> {
    const outcomes = new Map<string, Outcome>();
    let failure: string | undefined;
    if (batch.status === 'failed') {
      const reasons = batch.errors?.data?.map((error) => error.message).filter(Boolean) ?? [];
      failure = `the batch ${batch.id} failed: ${reasons.join('; ') || 'no reason given'}`;
      this.log('warn', failure);
    }
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const text = await (await this.client.files.content(fileId)).text();
      for (const raw of text.split('\n')) {
        if (raw.trim() === '') continue;
        let line: { custom_id?: string; response?: { status_code?: number; body?: unknown } | null; error?: { message?: string } | null };
        try {
          line = JSON.parse(raw) as typeof line;
        } catch {
          continue; // A torn line is a request not answered: it is retried.
        }
        if (typeof line.custom_id !== 'string') continue;
        const status = line.response?.status_code;
        const body = line.response?.body as (ResponseBody & { error?: { message?: string } }) | undefined;
        if (status === 200 && body && Array.isArray(body.choices)) outcomes.set(line.custom_id, { kind: 'ok', body });
        else
          outcomes.set(line.custom_id, {
            kind: 'failed',
            message: `${status ? `${status}: ` : ''}${body?.error?.message ?? line.error?.message ?? 'no answer'}`,
            retry: true,
          });
      }
    }
    const counts = batch.request_counts;
    await this.note({
      type: 'batch',
      event: 'finished',
      batchId: batch.id,
      status: batch.status,
      ...(batch.output_file_id ? { outputFileId: batch.output_file_id } : {}),
      ...(batch.error_file_id ? { errorFileId: batch.error_file_id } : {}),
      ...(counts ? { completed: counts.completed, failed: counts.failed } : {}),
      at: new Date().toISOString(),
    });
    return { outcomes, ...(failure !== undefined ? { failure } : {}) };
  }

  /** A batch answer as the request's completions: usage is shared over the chains, as online. */
  private completions(request: CompletionRequest, body: ResponseBody, started: number): Completion[] {
    const choices = body.choices ?? [];
    const count = Math.max(1, choices.length);
    const reasoning = body.usage?.completion_tokens_details?.reasoning_tokens;
    const cached = body.usage?.prompt_tokens_details?.cached_tokens;
    return choices
      .filter((choice) => choice.index >= 0 && choice.index < request.n)
      .map((choice) => {
        const finishReason = mapFinishReason(choice.finish_reason ?? 'stop');
        // A batch answers as a whole (no streaming): a reasoning model's thoughts are on the message.
        const thoughts = choice.message?.reasoning_content ?? choice.message?.reasoning ?? undefined;
        return {
          sample: request.firstSample + choice.index,
          text: choice.message?.content ?? choice.text ?? '',
          ...(thoughts ? { reasoning: thoughts } : {}),
          finishReason,
          usage: body.usage
            ? {
                promptTokens: Math.round(body.usage.prompt_tokens / count),
                completionTokens: Math.round(body.usage.completion_tokens / count),
                ...(typeof reasoning === 'number' ? { reasoningTokens: Math.round(reasoning / count) } : {}),
                ...(typeof cached === 'number' ? { cachedTokens: Math.round(cached / count) } : {}),
              }
            : { promptTokens: 0, completionTokens: 0 },
          // The batch's turnaround: the time this chain took to come back.
          latencyMs: Date.now() - started,
          ...(finishReason === 'filtered' ? { error: 'the response was blocked by the content filter' } : {}),
        };
      });
  }

  /** Files and Batches API errors: a rejected key or an unknown resource stops the run, the rest are failures. */
  private describe(error: unknown): BackendError {
    if (error instanceof BackendError) return error;
    if (error instanceof OpenAI.APIError && typeof error.status === 'number') {
      const fatal = error.status === 401 || error.status === 403 || error.status === 404;
      const detail = (error.error as { message?: string } | undefined)?.message ?? error.message;
      return new BackendError(
        redactSecrets(`the Batch API refused (${error.status}) at ${this.endpoint}: ${detail}${hint(error.status, this.id)}`),
        error.status,
        false,
        undefined,
        fatal,
      );
    }
    return new BackendError(
      redactSecrets(`the Batch API failed at ${this.endpoint}: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
}

/** What to do about a refusal that would stop the run. */
function hint(status: number, id: string): string {
  if (status === 401)
    return ` — check the API key (${id === 'azure' ? 'AZURE_OPENAI_API_KEY' : 'OPENAI_API_KEY'}, or "Chainscope: Set API Key")`;
  if (status === 404)
    return ' — does this endpoint serve the Batch API (files and batches)? OpenAI and Azure OpenAI do; run without --batch otherwise';
  return '';
}

function mapFinishReason(reason: string): FinishReason {
  if (reason === 'length') return 'length';
  if (reason === 'content_filter') return 'filtered';
  return 'stop';
}

/** The request's name in the run and its batch custom id: variant, case and samples (and so unique in the run). */
export function batchRequestId(variant: string, caseId: string, samples: readonly number[]): string {
  const first = samples[0] ?? 0;
  const last = samples[samples.length - 1] ?? first;
  return `${encodeURIComponent(variant)}/${encodeURIComponent(caseId)}/${first}-${last}`;
}
