import type { Backend, Completion, CompletionRequest } from '../backend';
import type { LoadedPrompt } from '../prompt/load';
import { renderVariant, type RenderedPrompt } from '../prompt/render';
import type { Case, Variant } from '../prompt/types';
import { completionKey, type CompletionCache } from './cache';
import { hashText, newRunId, RunFile, RUN_FILE_SCHEMA, type CompletionRecord, type ParsedRunFile, type RunHeader } from './store';

export interface ProgressEvent {
  done: number;
  total: number;
  failed: number;
  cached: number;
  promptTokens: number;
  completionTokens: number;
  elapsedMs: number;
  /** Characters streamed so far by requests still in flight (progress between finished chains). */
  streamedChars: number;
  /** Estimated time left, from the pace so far; undefined before the first completion. */
  etaMs?: number;
}

export interface RunOptions {
  loaded: LoadedPrompt;
  /** The prompt file's text, hashed into the run header. */
  promptText: string;
  backend: Backend;
  /** Folder of run files (`.chainscope/runs`). */
  runsDirectory: string;
  /** Variant names to run (default: all). */
  variants?: readonly string[];
  /** Case ids to run (default: all). */
  cases?: readonly string[];
  /** Chains per case (default: the file's `samples`). */
  samples?: number;
  concurrency?: number;
  signal?: AbortSignal;
  cache?: CompletionCache;
  /** Continue this run file: only its missing or failed samples are requested. */
  resume?: string;
  onProgress?: (event: ProgressEvent) => void;
  /** Called once the run file exists, with its header (for partial results while the run goes on). */
  onStart?: (header: RunHeader, runFile: string, previous: CompletionRecord[]) => void;
  onRecord?: (record: CompletionRecord) => void;
  onWarning?: (message: string) => void;
}

export interface RunOutcome {
  runFile: string;
  status: 'completed' | 'cancelled' | 'failed';
  run: ParsedRunFile;
}

interface Cell {
  variant: Variant;
  kase: Case;
  rendered: RenderedPrompt;
  /** Samples still to produce, ascending. */
  missing: number[];
}

/** Sampling parameters of a request, without the prompt. */
type Parameters = Omit<CompletionRequest, 'messages' | 'text' | 'n' | 'firstSample'>;

const ANSWER_STAGE_MAX_TOKENS = 32;

/**
 * Runs variants × cases × samples against a backend with bounded concurrency. Every finished completion
 * is appended to the run file at once, so cancelling or crashing loses nothing and `resume` completes it.
 */
export async function runEvaluation(options: RunOptions): Promise<RunOutcome> {
  const { loaded, backend } = options;
  const document = loaded.document;
  const started = Date.now();

  let runFile: RunFile;
  let header: RunHeader;
  const done = new Set<string>();
  let previousRecords: CompletionRecord[] = [];
  if (options.resume) {
    runFile = RunFile.open(options.resume);
    const previous = runFile.read();
    header = previous.header;
    if (header.promptHash !== hashText(options.promptText)) {
      options.onWarning?.(`The prompt file changed since this run started; resuming with the current file.`);
    }
    if (header.backend.id !== backend.id || header.backend.model !== backend.model) {
      throw new Error(`This run used ${header.backend.id}:${header.backend.model}; resume it with the same backend and model (got ${backend.id}:${backend.model}).`);
    }
    previousRecords = previous.completions;
    for (const record of previous.completions) if (!record.error) done.add(sampleKey(record.variant, record.case, record.sample));
  } else {
    const samples = options.samples ?? document.samples;
    const variants = document.variants.filter((variant) => !options.variants || options.variants.includes(variant.name));
    const cases = loaded.cases.filter((kase) => !options.cases || options.cases.includes(kase.id));
    header = {
      type: 'run',
      schema: RUN_FILE_SCHEMA,
      id: newRunId(document.name ?? 'prompt'),
      promptFile: loaded.file,
      promptHash: hashText(options.promptText),
      ...(document.name ? { promptName: document.name } : {}),
      backend: { id: backend.id, model: backend.model, input: backend.input },
      sampling: document.sampling,
      samples,
      variants: variants.map((variant) => variant.name),
      cases: cases.map((kase) => kase.id),
      startedAt: new Date(started).toISOString(),
    };
    runFile = RunFile.create(options.runsDirectory, header);
  }

  options.onStart?.(header, runFile.path, previousRecords);

  if (header.samples > 1 && (header.sampling.temperature ?? 1) === 0) {
    options.onWarning?.(`samples: ${header.samples} at temperature 0 draws near-identical chains; raise the temperature for self-consistency.`);
  }

  const variantsByName = new Map(document.variants.map((variant) => [variant.name, variant]));
  const casesById = new Map(loaded.cases.map((kase) => [kase.id, kase]));
  const cells: Cell[] = [];
  for (const variantName of header.variants) {
    const variant = variantsByName.get(variantName);
    if (!variant) throw new Error(`Variant '${variantName}' of this run is no longer in the prompt file.`);
    for (const caseId of header.cases) {
      const kase = casesById.get(caseId);
      if (!kase) throw new Error(`Case '${caseId}' of this run is no longer in the prompt file.`);
      const missing: number[] = [];
      for (let sample = 0; sample < header.samples; sample++) if (!done.has(sampleKey(variantName, caseId, sample))) missing.push(sample);
      if (missing.length > 0) cells.push({ variant, kase, rendered: await renderVariant(document, variant, kase.input), missing });
    }
  }

  const parameters: Parameters = {
    ...(header.sampling.temperature !== undefined ? { temperature: header.sampling.temperature } : {}),
    ...(header.sampling.topP !== undefined ? { topP: header.sampling.topP } : {}),
    ...(header.sampling.topK !== undefined ? { topK: header.sampling.topK } : {}),
    ...(header.sampling.maxTokens !== undefined ? { maxTokens: header.sampling.maxTokens } : {}),
    ...(header.sampling.stop !== undefined ? { stop: header.sampling.stop } : {}),
    ...(header.sampling.seed !== undefined ? { seed: header.sampling.seed } : {}),
  };

  const total = cells.reduce((sum, cell) => sum + cell.missing.length, 0);
  const progress: ProgressEvent = { done: 0, total, failed: 0, cached: 0, promptTokens: 0, completionTokens: 0, elapsedMs: 0, streamedChars: 0 };
  const streaming = new Map<string, number>();
  let lastStreamReport = 0;
  const onDelta = (key: string, text: string): void => {
    streaming.set(key, text.length);
    const now = Date.now();
    if (now - lastStreamReport < 200) return;
    lastStreamReport = now;
    progress.streamedChars = [...streaming.values()].reduce((sum, length) => sum + length, 0);
    report();
  };
  const report = (): void => {
    progress.elapsedMs = Date.now() - started;
    const fresh = progress.done - progress.cached;
    if (fresh > 0) progress.etaMs = (progress.elapsedMs / fresh) * (progress.total - progress.done);
    options.onProgress?.({ ...progress });
  };
  const record = (entry: CompletionRecord): void => {
    runFile.append(entry);
    progress.done++;
    if (entry.error) progress.failed++;
    if (entry.cached) progress.cached++;
    progress.promptTokens += entry.usage.promptTokens;
    progress.completionTokens += entry.usage.completionTokens;
    options.onRecord?.(entry);
    report();
  };
  report();

  const signal = options.signal ?? new AbortController().signal;
  const prompt = (rendered: RenderedPrompt) => (backend.input === 'chat' ? { messages: rendered.messages } : { text: rendered.text });

  // Cached samples are replayed at once, in order, before any request goes out.
  const requests: { cell: Cell; samples: number[] }[] = [];
  for (const cell of cells) {
    const uncached: number[] = [];
    for (const sample of cell.missing) {
      const hit = options.cache?.get(completionKey(backend.id, backend.model, { ...parameters, ...prompt(cell.rendered) }, sample));
      if (hit && !signal.aborted && !needsAnswerStage(cell.variant)) {
        record({ type: 'completion', variant: cell.variant.name, case: cell.kase.id, sample, text: hit.text, finishReason: hit.finishReason, usage: hit.usage, latencyMs: 0, cached: true });
      } else {
        uncached.push(sample);
      }
    }
    for (const run of contiguousRuns(uncached)) requests.push({ cell, samples: run });
  }

  const execute = async ({ cell, samples }: { cell: Cell; samples: number[] }): Promise<void> => {
    const request: CompletionRequest = { ...parameters, ...prompt(cell.rendered), n: samples.length, firstSample: samples[0] ?? 0 };
    const pending = new Set(samples);
    try {
      const requestKey = `${cell.variant.name}\u0000${cell.kase.id}\u0000${request.firstSample}`;
      const streamed = (sample: number, text: string): void => onDelta(`${requestKey}\u0000${sample}`, text);
      for await (const completion of backend.complete(request, { signal, onDelta: streamed })) {
        streaming.delete(`${requestKey}\u0000${completion.sample}`);
        if (!pending.delete(completion.sample)) continue;
        const answerText = completion.error ? undefined : await answerStage(backend, cell, completion, parameters, signal);
        const entry: CompletionRecord = {
          type: 'completion',
          variant: cell.variant.name,
          case: cell.kase.id,
          sample: completion.sample,
          text: completion.text,
          ...(answerText !== undefined ? { answerText } : {}),
          finishReason: completion.finishReason,
          usage: completion.usage,
          latencyMs: completion.latencyMs,
          ...(completion.error ? { error: completion.error } : {}),
        };
        if (signal.aborted && completion.finishReason === 'cancelled') continue;
        record(entry);
        if (!completion.error && completion.finishReason !== 'cancelled' && !needsAnswerStage(cell.variant)) {
          options.cache?.put({ key: completionKey(backend.id, backend.model, { ...parameters, ...prompt(cell.rendered) }, completion.sample), text: completion.text, finishReason: completion.finishReason, usage: completion.usage });
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      // The request failed for good: its unfinished samples show the error; the rest of the run goes on.
      const message = error instanceof Error ? error.message : String(error);
      for (const sample of pending) {
        record({ type: 'completion', variant: cell.variant.name, case: cell.kase.id, sample, text: '', finishReason: 'error', usage: { promptTokens: 0, completionTokens: 0 }, latencyMs: 0, error: message });
      }
      pending.clear();
      return;
    }
    if (pending.size > 0 && !signal.aborted) {
      for (const sample of pending) {
        record({ type: 'completion', variant: cell.variant.name, case: cell.kase.id, sample, text: '', finishReason: 'error', usage: { promptTokens: 0, completionTokens: 0 }, latencyMs: 0, error: `the backend returned no completion for sample ${sample}` });
      }
    }
  };

  const concurrency = Math.max(1, options.concurrency ?? backend.maxConcurrency ?? 4);
  let status: RunOutcome['status'] = 'completed';
  let failure: string | undefined;
  try {
    await runPool(requests, concurrency, execute, signal);
    if (signal.aborted) status = 'cancelled';
  } catch (error) {
    status = signal.aborted ? 'cancelled' : 'failed';
    failure = error instanceof Error ? error.message : String(error);
  }
  runFile.append({ type: 'end', status, ...(failure ? { error: failure } : {}), at: new Date().toISOString() });
  return { runFile: runFile.path, status, run: runFile.read() };
}

function needsAnswerStage(variant: Variant): boolean {
  return variant.kind === 'zero-shot-cot' && !!variant.answerPrompt;
}

/** Zero-shot CoT's second prompt (Kojima et al.): the chain, then "Therefore, the answer is", answered greedily. */
async function answerStage(backend: Backend, cell: Cell, completion: Completion, parameters: Parameters, signal: AbortSignal): Promise<string | undefined> {
  const answerPrompt = cell.variant.answerPrompt;
  if (!needsAnswerStage(cell.variant) || !answerPrompt || signal.aborted) return undefined;
  const chain = completion.text.trim();
  const request: CompletionRequest = {
    ...(backend.input === 'chat'
      ? { messages: [...cell.rendered.messages, { role: 'assistant' as const, content: chain }, { role: 'user' as const, content: answerPrompt }] }
      : { text: `${cell.rendered.text} ${chain}\n${answerPrompt}` }),
    n: 1,
    firstSample: completion.sample,
    temperature: 0,
    maxTokens: ANSWER_STAGE_MAX_TOKENS,
    ...(parameters.stop ? { stop: parameters.stop } : {}),
    ...(parameters.seed !== undefined ? { seed: parameters.seed } : {}),
  };
  for await (const answer of backend.complete(request, { signal })) {
    if (answer.error) return undefined;
    return `${answerPrompt} ${answer.text.trim()}`;
  }
  return undefined;
}

/** Groups ascending sample indices into contiguous runs: one request each, n = the run's length. */
export function contiguousRuns(samples: readonly number[]): number[][] {
  const runs: number[][] = [];
  for (const sample of samples) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === sample - 1) last.push(sample);
    else runs.push([sample]);
  }
  return runs;
}

async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>, signal: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal.aborted) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export function sampleKey(variant: string, caseId: string, sample: number): string {
  return `${variant}\u0000${caseId}\u0000${sample}`;
}
