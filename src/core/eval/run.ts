import { BackendError, type Adjustment, type Backend, type Completion, type CompletionRequest, type Usage } from '../backend';
import { batchRequestId, isBatchBackend } from '../backends/batch';
import { isReasoningModel, sentSampling } from '../backends/parameters';
import type { LoadedPrompt } from '../prompt/load';
import { renderVariant, type RenderedPrompt } from '../prompt/render';
import type { Case, PromptDocument, Sampling, StopRule, Variant } from '../prompt/types';
import { apiSeed, chainSeed, freshRunSeed } from '../random';
import type { ShapeOutput } from '../shapes/types';
import * as path from 'node:path';
import { loadCustomScorer, type LoadedCustomScorer } from './score';
import { isShape, nodeKey, runShapeChain } from './shapeChain';
import { completionKey, type CompletionCache } from './cache';
import { JUDGE_ANSWER_INSTRUCTION, JUDGE_DEFAULT_MAX_TOKENS, JUDGE_SYSTEM_PROMPT, judgeChain, judgeSpecFor } from './judge';
import { cellKey, keyOfSample, sampleKey, type CellKey, type SampleKey } from './keys';
import { nextRound } from './adaptive';
import { voteKey, type Prices } from './results';
import { shardCases, type Shard } from './shard';
import { CostMeter, spentBefore, type Reservation } from './budget';
import { worstCaseCost, costOf } from '../prices';
import { countChatTokens, countTokens, encodingForModel } from '../tokens';
import {
  describeSkipped,
  hashText,
  newRunId,
  RunFile,
  RUN_FILE_SCHEMA,
  type AdjustmentRecord,
  type CompletionRecord,
  type EndRecord,
  type NodeRecord,
  type ParsedRunFile,
  type RunHeader,
} from './store';

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
  /** Requests are held back by the provider's rate limits for this long yet (ms); absent when none is. */
  pacedMs?: number;
  /** When the longest-held request may go (epoch ms), with `pacedMs`. */
  pacedUntil?: number;
}

/** Which part of the prompt a new run covers. */
export interface RunSelection {
  /** Variant names to run (default: all). */
  variants?: readonly string[];
  /** Case ids to run (default: all). */
  cases?: readonly string[];
  /** Chains per case (default: the file's `samples`). */
  samples?: number;
  /** The run's seed (default: the file's `seed`, else a fresh one). */
  seed?: number;
  /** Run only this shard of the selected cases (src/core/eval/shard.ts); needs a fixed seed. */
  shard?: Shard;
}

export interface RunOptions extends RunSelection {
  loaded: LoadedPrompt;
  /** The prompt file's text, hashed into the run header. */
  promptText: string;
  backend: Backend;
  /** The judge's backend (`scorer: {type: judge}`, judge detectors); absent: the run's backend. */
  judge?: Backend;
  /** Folder of run files (`.chainscope/runs`). */
  runsDirectory: string;
  concurrency?: number;
  signal?: AbortSignal;
  cache?: CompletionCache;
  /** Continue this run file: only its missing or failed samples are requested. */
  resume?: string;
  /** Resume even when the prompt file is another one, or changed, since the run started. */
  force?: boolean;
  /** Whether the prompt's own code (a tree-of-thought scorer file) may run: the editor passes workspace trust. */
  trusted?: boolean;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Called once the run file exists, with what it holds: a live mirror that grows with every record and
   * adjustment appended (read it, never change it). `resumed` counts the records it already had.
   */
  onStart?: (run: Readonly<ParsedRunFile>, runFile: string, resumed: number) => void;
  onRecord?: (record: CompletionRecord) => void;
  onWarning?: (message: string) => void;
  /** The model's prices: the run counts what it spends in them (`spent` in its end record). */
  prices?: Prices;
  /**
   * A budget in the prices' currency for the whole run, earlier sessions of a resumed run included: no request is
   * sent whose worst case (max_tokens per chain) could take the cost past it. Needs `prices` and max_tokens.
   */
  maxCost?: number;
}

export interface RunOutcome {
  runFile: string;
  /** `budget`: stopped before a request could take the cost past `maxCost`. */
  status: 'completed' | 'cancelled' | 'failed' | 'budget';
  /** Why a failed run stopped (a fatal backend error), or the budget that stopped it. */
  error?: string;
  run: ParsedRunFile;
}

/** A run's own mistake in what it was asked: the presenters show the message, with no stack. */
export class RunSetupError extends Error {
  constructor(
    message: string,
    /** Set when `force` would let the run go on (a resume of a changed prompt file). */
    readonly forcible = false,
  ) {
    super(message);
    this.name = 'RunSetupError';
  }
}

/** One variant on one case, rendered, with the samples it still needs. */
interface Cell {
  variant: Variant;
  testCase: Case;
  rendered: RenderedPrompt;
  /** Samples still to produce, ascending. */
  missing: number[];
}

/** Contiguous samples of one cell: one request with n = samples.length. */
interface CellRequest {
  cell: Cell;
  samples: number[];
}

/** Sampling parameters of a request, without the prompt. */
type Parameters = Omit<CompletionRequest, 'messages' | 'text' | 'n' | 'firstSample'>;

const ANSWER_STAGE_MAX_TOKENS = 32;

/**
 * Runs variants × cases × samples against a backend with bounded concurrency. Every finished completion
 * is appended to the run file at once, so cancelling or crashing loses nothing and `resume` completes it.
 * A fatal backend error (a rejected key, an unknown model) stops the run at once: every further request
 * would fail the same way.
 */
export async function runEvaluation(options: RunOptions): Promise<RunOutcome> {
  const started = Date.now();
  // `run` mirrors the run file as it grows, so the outcome needs no second read of a possibly large file.
  // A run file that cannot be written (a full disk) stops the run: chains would be paid for and not kept.
  const stop = new AbortController();
  let failure: string | undefined;
  const onWriteError = (error: Error): void => {
    failure ??= `the run file could not be written: ${error.message}`;
    stop.abort();
  };
  checkBudget(options);
  checkShapesOnBatch(options);
  const { runFile, run, previousEnd } = options.resume ? resumeRun(options, onWriteError) : createRun(options, started, onWriteError);
  const { header } = run;
  // A budget covers the whole run: what earlier sessions spent counts against it.
  const meter = options.prices
    ? new CostMeter(options.prices, spentBefore(run.completions, previousEnd, options.prices), options.maxCost)
    : undefined;
  const previous = run.completions.slice();
  // Batch API runs keep their batches in the run file: a resume polls the open ones instead of paying twice.
  if (isBatchBackend(options.backend))
    options.backend.attach({
      previous: run.batches?.slice() ?? [],
      record: (entry) => {
        runFile.append(entry);
        (run.batches ??= []).push(entry);
        return runFile.flush();
      },
    });
  options.onStart?.(run, runFile.path, previous.length);
  const noteAdjustments = adjustmentReporter(options, runFile, run);
  // What the model is known to refuse is left out from the start: said once, before any request.
  const initial = noteAdjustments();
  if (header.samples > 1 && (sentSampling(header.sampling, initial).temperature ?? 1) === 0) {
    options.onWarning?.(
      `samples: ${header.samples} at temperature 0 draws near-identical chains; raise the temperature for self-consistency.`,
    );
  }

  const done = new Set<SampleKey>(previous.filter((record) => !record.error).map(keyOfSample));
  const cells = await planCells(options.loaded, header, done);
  // Adaptive runs: each cell's vote so far (its answers by sample; null where none yet) decides its rounds.
  const answers = new Map<CellKey, (string | undefined | null)[]>();
  const noteAnswer = (entry: CompletionRecord): void => {
    if (!header.stop || entry.error) return;
    const key = cellKey(entry.variant, entry.caseId);
    const list = answers.get(key) ?? Array.from({ length: header.samples }, () => null);
    if (entry.sample < list.length) list[entry.sample] = voteKey(options.loaded.document, entry);
    answers.set(key, list);
  };
  for (const entry of previous) noteAnswer(entry);
  const rounds: CellRequest[] = [];
  for (const cell of cells) {
    const samples = header.stop
      ? nextSamples(answers.get(cellKey(cell.variant.name, cell.testCase.id)), header.stop, header.samples)
      : cell.missing;
    if (samples.length > 0) rounds.push({ cell, samples });
  }
  const parameters = samplingParameters(header.sampling);
  const progress = new ProgressTracker(
    // Adaptive runs: at most every missing chain; cells that settle take theirs off as they do.
    cells.reduce((sum, cell) => sum + cell.missing.length, 0),
    started,
    options.onProgress,
  );
  const record = (entry: CompletionRecord): void => {
    runFile.append(entry);
    run.completions.push(entry);
    noteAnswer(entry);
    progress.count(entry);
    options.onRecord?.(entry);
  };
  progress.report();

  // A fatal error stops new requests through `stop`; requests in flight finish on their own.
  const signal = options.signal ?? new AbortController().signal;
  const runSeed = header.seed ?? header.sampling.seed;
  // Tree of thought's scorer files, loaded on first use and disposed when the run ends.
  const scorers = new Map<string, { scorer: Promise<LoadedCustomScorer>; queue: Promise<unknown> }>();
  const context: ExecutionContext = {
    backend: options.backend,
    document: options.loaded.document,
    judge: options.judge ?? options.backend,
    parameters,
    ...(runSeed !== undefined ? { runSeed } : {}),
    signal,
    cache: options.cache,
    record,
    progress,
    ...(meter ? { meter, onBudgetStop: () => stop.abort() } : {}),
    replay: replayOf(run.nodes),
    recordNode: (node) => {
      runFile.append(node);
      (run.nodes ??= []).push(node);
    },
    rateState: stateRater(options, scorers),
  };
  // The next round of a cell, once its last one is in: none when it settled, failed or was stopped.
  const nextRoundOf = ({ cell, samples }: CellRequest): CellRequest | undefined => {
    const stopRule = header.stop;
    if (!stopRule || signal.aborted) return undefined;
    const list = answers.get(cellKey(cell.variant.name, cell.testCase.id));
    // A failed chain ends the cell's sampling for this run: resume retries it, then goes on.
    if (!list || samples.some((sample) => list[sample] === null)) return undefined;
    const next = nextSamples(list, stopRule, header.samples);
    if (next.length === 0) progress.drop(list.filter((answer) => answer === null).length);
    return next.length > 0 ? { cell, samples: next } : undefined;
  };

  let status: RunOutcome['status'] = 'completed';
  try {
    await runPool(
      rounds,
      Math.max(1, options.concurrency ?? options.backend.maxConcurrency ?? 4),
      AbortSignal.any([signal, stop.signal]),
      async (round) => {
        try {
          await executeRound(round, context);
          noteAdjustments();
          const next = nextRoundOf(round);
          if (next) rounds.push(next);
        } catch (error) {
          if (!isFatal(error)) throw error;
          if (failure === undefined) failure = error.message;
          stop.abort();
        }
      },
    );
    if (failure !== undefined) status = 'failed';
    else if (signal.aborted) status = 'cancelled';
    else if (meter?.stopped) status = 'budget';
  } catch (error) {
    status = signal.aborted ? 'cancelled' : 'failed';
    failure = error instanceof Error ? error.message : String(error);
  }
  for (const entry of scorers.values()) await (await entry.scorer.catch(() => undefined))?.dispose();
  noteAdjustments();
  const { reason: budgetReason, ...costs } = meter?.end() ?? {};
  if (status === 'budget') failure = budgetReason;
  run.end = { type: 'end', status, ...(failure !== undefined ? { error: failure } : {}), ...costs, at: new Date().toISOString() };
  runFile.append(run.end);
  try {
    await runFile.close();
  } catch (error) {
    // Already said through onWriteError when it happened mid-run; the outcome still holds every chain.
    options.onWarning?.(error instanceof Error ? error.message : String(error));
  }
  return { runFile: runFile.path, status, ...(failure !== undefined ? { error: failure } : {}), run };
}

/**
 * Records each new adjustment of the backend (a fixed setting of the model, a lesson from a 400) in the run
 * file and says it once: one warning per cause, however many requests it touches. Returns all known so far.
 */
function adjustmentReporter(options: RunOptions, runFile: RunFile, run: ParsedRunFile): () => Adjustment[] {
  const keyOf = (adjustment: Adjustment): string => `${adjustment.parameter} ${adjustment.action}`;
  const recorded = (run.adjustments ??= []);
  // A resumed run already holds its earlier ones: they are said again, not recorded twice.
  const seen = new Set<string>(recorded.map(keyOf));
  const warned = new Set<string>();
  return () => {
    const adjustments = options.backend.adjustments?.(run.header.sampling) ?? [];
    for (const adjustment of adjustments) {
      if (!seen.has(keyOf(adjustment))) {
        seen.add(keyOf(adjustment));
        const record: AdjustmentRecord = { type: 'adjustment', ...adjustment, at: new Date().toISOString() };
        runFile.append(record);
        recorded.push(record);
      }
      if (!warned.has(adjustment.message)) {
        warned.add(adjustment.message);
        options.onWarning?.(adjustment.message);
      }
    }
    return adjustments;
  };
}

/** A budget needs a price to count in and max_tokens to bound each request: refused before anything is sent. */
function checkBudget(options: RunOptions): void {
  const { maxCost } = options;
  if (maxCost === undefined) return;
  if (!Number.isFinite(maxCost) || maxCost <= 0) throw new RunSetupError(`The budget must be an amount above 0, got ${maxCost}.`);
  const model = `${options.backend.id}:${options.backend.model}`;
  if (!options.prices)
    throw new RunSetupError(
      `A budget needs the price of ${model}, which the price table lacks: add it (CLI --prices, setting chainscope.prices).`,
    );
  if (options.loaded.document.sampling.maxTokens === undefined)
    throw new RunSetupError(
      `A budget needs config.max_tokens in ${options.loaded.file}: without it a request's cost has no upper bound, so the run could pass the budget.`,
    );
}

/** A shape's next request depends on its last answers: a batch answered within 24 hours would take a day a step. */
function checkShapesOnBatch(options: RunOptions): void {
  if (!isBatchBackend(options.backend)) return;
  const shapes = options.loaded.document.variants.filter(
    (variant) => isShape(variant) && (!options.variants || options.variants.includes(variant.name)),
  );
  if (shapes.length > 0)
    throw new RunSetupError(
      `${shapes.map((variant) => `'${variant.name}'`).join(', ')} ${shapes.length === 1 ? 'is a reasoning shape' : 'are reasoning shapes'} (${shapes[0]?.kind ?? ''}): each request depends on the answers before it, so they cannot go through a Batch API. Run them without --batch, or leave them out with --variants.`,
    );
}

function isFatal(error: unknown): error is BackendError {
  return error instanceof BackendError && error.fatal;
}

/** A run file opened for appending, with what it holds so far. */
interface OpenedRun {
  runFile: RunFile;
  run: ParsedRunFile;
  /** A resumed run's last end: what its earlier sessions spent. */
  previousEnd?: EndRecord;
}

/** Opens a new run file with the header of what is selected. */
function createRun(options: RunOptions, started: number, onWriteError: (error: Error) => void): OpenedRun {
  const { loaded, backend } = options;
  const document = loaded.document;
  const variants = select(
    'variant',
    document.variants.map((variant) => variant.name),
    options.variants,
  );
  const selected = select(
    'case',
    loaded.cases.map((testCase) => testCase.id),
    options.cases,
  );
  const seed = options.seed ?? document.sampling.seed;
  // Every shard must draw each chain as the unsharded run would: from one seed they all know.
  if (options.shard && seed === undefined)
    throw new RunSetupError(
      `A sharded run needs a fixed seed shared by every shard: set 'seed:' in the prompt's config or pass the same --seed N to each shard.`,
    );
  const sharded = options.shard ? shardCases(selected, options.shard) : undefined;
  const cases = sharded ? sharded.cases : selected;
  const header: RunHeader = {
    type: 'run',
    schema: RUN_FILE_SCHEMA,
    id: newRunId(document.name ?? 'prompt'),
    promptFile: loaded.file,
    promptHash: hashText(options.promptText),
    ...(document.name ? { promptName: document.name } : {}),
    backend: { id: backend.id, model: backend.model, input: backend.input, endpoint: backend.endpoint },
    sampling: document.sampling,
    seed: seed ?? freshRunSeed(),
    samples: options.samples ?? document.samples,
    ...(document.stop ? { stop: document.stop } : {}),
    variants,
    cases,
    startedAt: new Date(started).toISOString(),
    ...(sharded ? { shard: sharded.info } : {}),
    ...(isBatchBackend(backend) ? { batch: true } : {}),
    ...(options.judge && options.judge !== backend ? { judgeModel: `${options.judge.id}:${options.judge.model}` } : {}),
  };
  return {
    runFile: RunFile.create(options.runsDirectory, header, onWriteError),
    run: { header, completions: [], adjustments: [], skipped: [] },
  };
}

/** The chosen names in the prompt's order; a name the prompt lacks is an error, never an empty run. */
function select(kind: 'variant' | 'case', available: readonly string[], chosen: readonly string[] | undefined): string[] {
  if (!chosen) return [...available];
  const unknown = chosen.filter((name) => !available.includes(name));
  if (unknown.length > 0) {
    const list = available.length > 20 ? `${available.slice(0, 20).join(', ')}, …` : available.join(', ');
    throw new RunSetupError(
      `No ${kind} named ${unknown.map((name) => `'${name}'`).join(', ')} in this prompt (it has: ${list || 'none'}).`,
    );
  }
  return available.filter((name) => chosen.includes(name));
}

/** Re-opens a run file to complete it: checks it belongs to this prompt and backend, repairs a torn end. */
function resumeRun(options: RunOptions, onWriteError: (error: Error) => void): OpenedRun {
  const runFile = RunFile.open(options.resume ?? '', onWriteError);
  const existing = runFile.read();
  const { header } = existing;
  const { backend, loaded } = options;
  if (header.backend.id !== backend.id || header.backend.model !== backend.model) {
    throw new RunSetupError(
      `This run used ${header.backend.id}:${header.backend.model}; resume it with the same backend and model (got ${backend.id}:${backend.model}).`,
    );
  }
  if (!options.force) {
    if (header.promptFile !== loaded.file) {
      throw new RunSetupError(
        `This run is of ${header.promptFile}, not ${loaded.file}: its chains were sampled from another prompt. Resume with that file, or force it.`,
        true,
      );
    }
    if (header.promptHash !== hashText(options.promptText)) {
      throw new RunSetupError(
        `${loaded.file} changed since this run started: new chains would come from another prompt than the finished ones. Start a new run, or force the resume.`,
        true,
      );
    }
  } else if (header.promptFile !== loaded.file || header.promptHash !== hashText(options.promptText)) {
    options.onWarning?.(
      `Resuming with a prompt file that differs from the run's (forced): earlier and new chains come from different prompts.`,
    );
  }
  if (runFile.repair()) options.onWarning?.(`The run file ended in a torn line (a crash mid-write); it was closed off before appending.`);
  if (existing.skipped.length > 0)
    options.onWarning?.(`${runFile.path}: ${describeSkipped(existing.skipped)}; their samples are requested again.`);
  // What the file ended with before is superseded by this run's own end.
  const { end, ...run } = existing;
  return { runFile, run, ...(end ? { previousEnd: end } : {}) };
}

/** Renders every cell of the run that still misses samples. */
async function planCells(loaded: LoadedPrompt, header: RunHeader, done: ReadonlySet<SampleKey>): Promise<Cell[]> {
  const document = loaded.document;
  const variantsByName = new Map(document.variants.map((variant) => [variant.name, variant]));
  const casesById = new Map(loaded.cases.map((testCase) => [testCase.id, testCase]));
  const cells: Cell[] = [];
  // Thousands of cases render for a while: the host's event loop keeps turning meanwhile.
  const yielder = new Yielder();
  for (const variantName of header.variants) {
    const variant = variantsByName.get(variantName);
    if (!variant) throw new RunSetupError(`Variant '${variantName}' of this run is no longer in the prompt file.`);
    for (const caseId of header.cases) {
      const testCase = casesById.get(caseId);
      if (!testCase) throw new RunSetupError(`Case '${caseId}' of this run is no longer in the prompt file.`);
      const missing: number[] = [];
      for (let sample = 0; sample < header.samples; sample++) if (!done.has(sampleKey(variantName, caseId, sample))) missing.push(sample);
      if (missing.length > 0)
        cells.push({ variant, testCase, rendered: await renderVariant(document, variant, testCase.input, testCase.attack?.spec), missing });
      await yielder.maybeYield();
    }
  }
  return cells;
}

function samplingParameters(sampling: Sampling): Parameters {
  const parameters: Parameters = {};
  for (const [name, value] of Object.entries(sampling) as [keyof Sampling, unknown][]) {
    if (value !== undefined) (parameters as Record<string, unknown>)[name] = value;
  }
  return parameters;
}

/** Counts finished chains and tokens, and reports progress (streamed text in between, at most 5 times a second). */
class ProgressTracker {
  private readonly state: ProgressEvent;
  private readonly streaming = new Map<string, number>();
  private lastStreamReport = 0;
  /** Requests held back by rate limits, with when each may go. */
  private readonly held = new Map<object, number>();

  constructor(
    total: number,
    private readonly started: number,
    private readonly onProgress?: (event: ProgressEvent) => void,
  ) {
    this.state = { done: 0, total, failed: 0, cached: 0, promptTokens: 0, completionTokens: 0, elapsedMs: 0, streamedChars: 0 };
  }

  count(entry: CompletionRecord): void {
    this.state.done++;
    if (entry.error) this.state.failed++;
    if (entry.cached) this.state.cached++;
    this.state.promptTokens += entry.usage.promptTokens;
    this.state.completionTokens += entry.usage.completionTokens;
    this.streaming.delete(keyOfSample(entry));
    this.report();
  }

  streamed(key: SampleKey, text: string): void {
    this.streaming.set(key, text.length);
    const now = Date.now();
    if (now - this.lastStreamReport < 200) return;
    this.lastStreamReport = now;
    this.state.streamedChars = [...this.streaming.values()].reduce((sum, length) => sum + length, 0);
    this.report();
  }

  /** A request held back by the rate limits until `untilMs`, or released (undefined). */
  paced(request: object, untilMs: number | undefined): void {
    if (untilMs === undefined) this.held.delete(request);
    else this.held.set(request, untilMs);
    this.report();
  }

  /** Chains that will not be drawn after all (a case whose vote settled early). */
  drop(count: number): void {
    if (count <= 0) return;
    this.state.total -= count;
    this.report();
  }

  report(): void {
    const state = this.state;
    state.elapsedMs = Date.now() - this.started;
    const fresh = state.done - state.cached;
    if (fresh > 0) state.etaMs = (state.elapsedMs / fresh) * (state.total - state.done);
    const until = this.held.size > 0 ? Math.max(...this.held.values()) : undefined;
    const pacing = until !== undefined ? { pacedMs: Math.max(0, until - Date.now()), pacedUntil: until } : {};
    this.onProgress?.({ ...state, ...pacing });
  }
}

interface ExecutionContext {
  backend: Backend;
  document: PromptDocument;
  /** Asks the judge about chains whose case has one (judgeSpecFor). */
  judge: Backend;
  parameters: Parameters;
  /** Seeds every chain (absent only when resuming a first-release run file without a seed). */
  runSeed?: number;
  signal: AbortSignal;
  cache: CompletionCache | undefined;
  record: (entry: CompletionRecord) => void;
  progress: ProgressTracker;
  /** Counts what requests cost and, with a budget, refuses those that could pass it. */
  meter?: CostMeter;
  /** The budget refused a request: no more are started. */
  onBudgetStop?: () => void;
  /** Reasoning shapes: requests answered in earlier sessions, by chain (nodeKey) and request id. */
  replay: ReadonlyMap<string, ReadonlyMap<string, ShapeOutput[]>>;
  /** Appends a shape's answered request to the run file. */
  recordNode: (node: NodeRecord) => void;
  /** Tree of thought's scorer evaluator: the scorer file's rating of a partial state. */
  rateState?: (file: string, state: string, caseId: string) => Promise<number>;
}

function promptOf(backend: Backend, rendered: RenderedPrompt): Pick<CompletionRequest, 'messages' | 'text'> {
  return backend.input === 'chat' ? { messages: rendered.messages } : { text: rendered.text };
}

/** Each chain's own seed, or undefined for runs without one. */
function seedOf(context: ExecutionContext, cell: Cell, sample: number): number | undefined {
  return context.runSeed === undefined ? undefined : chainSeed(context.runSeed, cell.variant.name, cell.testCase.id, sample);
}

function cacheKeyOf(context: ExecutionContext, cell: Cell, sample: number): string {
  // The chain's own seed is what determines it; greedy decoding (temperature 0) does not depend on any.
  // Keyed by what is sent: a setting the model refuses is not part of what made the chain.
  const { seed: _, ...parameters } = sentSampling(context.parameters, context.backend.adjustments?.(context.parameters) ?? []);
  const seed = parameters.temperature === 0 ? undefined : seedOf(context, cell, sample);
  return completionKey(
    context.backend,
    { ...parameters, ...(seed !== undefined ? { seed } : {}), ...promptOf(context.backend, cell.rendered) },
    sample,
  );
}

/**
 * One round of a cell: its cached samples are replayed, the rest requested (one request of n per
 * contiguous run of samples). Without adaptive sampling a cell has one round: all its missing samples.
 */
async function executeRound({ cell, samples }: CellRequest, context: ExecutionContext): Promise<void> {
  if (isShape(cell.variant)) {
    // A shape's chains are independent searches: they run side by side, each making its own requests.
    await Promise.all(samples.map((sample) => executeShapeChain(cell, sample, context)));
    return;
  }
  const uncached: number[] = [];
  for (const sample of samples) {
    // Two-stage chains are never cached: the answer stage would have to be cached with them.
    const hit = needsAnswerStage(cell.variant) ? undefined : context.cache?.get(cacheKeyOf(context, cell, sample));
    if (hit && !context.signal.aborted) {
      const replayed: CompletionRecord = {
        type: 'completion',
        variant: cell.variant.name,
        caseId: cell.testCase.id,
        sample,
        text: hit.text,
        ...(hit.reasoning !== undefined ? { reasoning: hit.reasoning } : {}),
        finishReason: hit.finishReason,
        usage: hit.usage,
        latencyMs: 0,
        cached: true,
      };
      // A replayed chain is judged again: the judge may be another model, or have another rubric, than when it was cached.
      context.record(await withJudge(cell, replayed, context));
    } else {
      uncached.push(sample);
    }
  }
  for (const run of contiguousRuns(uncached)) {
    if (context.signal.aborted) return;
    await executeRequest({ cell, samples: run }, context);
  }
}

/** One chain of a reasoning shape: its requests replayed, cached or sent; recorded (and judged) once it has its answer. */
async function executeShapeChain(cell: Cell, sample: number, context: ExecutionContext): Promise<void> {
  if (context.signal.aborted) return;
  const scorerFile = cell.variant.shape?.scorerFile;
  const entry = await runShapeChain({
    backend: context.backend,
    parameters: context.parameters,
    document: context.document,
    variant: cell.variant,
    testCase: cell.testCase,
    rendered: cell.rendered,
    sample,
    ...(context.runSeed !== undefined ? { runSeed: context.runSeed } : {}),
    signal: context.signal,
    ...(context.cache ? { cache: context.cache } : {}),
    replay: context.replay.get(nodeKey(cell.variant.name, cell.testCase.id, sample)) ?? new Map(),
    onNode: context.recordNode,
    ...(context.meter ? { charge: (usage: Usage) => context.meter?.charge(usage) } : {}),
    ...(scorerFile && context.rateState
      ? {
          rateState: (state: string) =>
            (context.rateState as NonNullable<ExecutionContext['rateState']>)(scorerFile, state, cell.testCase.id),
        }
      : {}),
  });
  if (context.signal.aborted && entry.error !== undefined) return;
  context.record(await withJudge(cell, entry, context));
}

/** A resumed run's shape requests by chain, the last answer of each request winning (a retry after a failure). */
function replayOf(nodes: readonly NodeRecord[] | undefined): Map<string, Map<string, ShapeOutput[]>> {
  const byChain = new Map<string, Map<string, ShapeOutput[]>>();
  for (const node of nodes ?? []) {
    const key = nodeKey(node.variant, node.caseId, node.sample);
    const requests = byChain.get(key) ?? new Map<string, ShapeOutput[]>();
    requests.set(node.request, node.outputs);
    byChain.set(key, requests);
  }
  return byChain;
}

/** Tree of thought's scorer evaluator: the scorer file (relative to the prompt) loaded once per run, as the custom scorer is. */
function stateRater(
  options: RunOptions,
  scorers: Map<string, { scorer: Promise<LoadedCustomScorer>; queue: Promise<unknown> }>,
): (file: string, state: string, caseId: string) => Promise<number> {
  return (file, state, caseId) => {
    const resolved = path.resolve(path.dirname(options.loaded.file), file);
    let entry = scorers.get(resolved);
    if (!entry) {
      entry = { scorer: loadCustomScorer(resolved, options.trusted ?? false, options.loaded.document.threshold), queue: Promise.resolve() };
      scorers.set(resolved, entry);
    }
    // The scorer's thread takes one chain at a time: chains searching side by side queue for it.
    const loaded = entry.scorer;
    const rating = entry.queue.then(async () => (await (await loaded)(state, undefined, { completion: state, caseId })).score);
    entry.queue = rating.catch(() => undefined);
    return rating;
  };
}

/** The samples of a cell's next round under its stop rule, from its answers by sample (null: not there yet). */
function nextSamples(answers: readonly (string | undefined | null)[] | undefined, rule: StopRule, max: number): number[] {
  const list = answers ?? Array.from({ length: max }, () => null);
  // The vote is read on the unbroken run of chains from sample 0, as settledAt defines it.
  let prefix = 0;
  while (prefix < max && list[prefix] !== null) prefix++;
  const more = nextRound(list.slice(0, prefix) as (string | undefined)[], rule, max);
  const samples: number[] = [];
  for (let sample = prefix; sample < prefix + more; sample++) if (list[sample] === null) samples.push(sample);
  return samples;
}

function failedRecord(cell: Cell, sample: number, error: string): CompletionRecord {
  return {
    type: 'completion',
    variant: cell.variant.name,
    caseId: cell.testCase.id,
    sample,
    text: '',
    finishReason: 'error',
    usage: { promptTokens: 0, completionTokens: 0 },
    latencyMs: 0,
    error,
  };
}

/**
 * Sends one request of n chains and records each as it finishes. A request that fails for good records
 * its unfinished samples as failed and the run goes on; a fatal error is rethrown to stop the run.
 */
async function executeRequest({ cell, samples }: CellRequest, context: ExecutionContext): Promise<void> {
  const { backend, parameters, signal } = context;
  const seeds = context.runSeed === undefined ? undefined : samples.map((sample) => seedOf(context, cell, sample) as number);
  const request: CompletionRequest = {
    ...parameters,
    ...promptOf(backend, cell.rendered),
    n: samples.length,
    firstSample: samples[0] ?? 0,
    // The request's seed (APIs take one per request) is its first chain's; backends that seed chains one by one use `seeds`.
    ...(seeds ? { seed: apiSeed(seeds[0] as number), seeds } : {}),
    requestId: batchRequestId(cell.variant.name, cell.testCase.id, samples),
  };
  const reservation = reserveRequest(cell, samples.length, context);
  if (reservation === null) return;
  const share = reservation ? reservation.left / samples.length : 0;
  const pending = new Set(samples);
  // Chains are recorded once judged; the stream goes on meanwhile (an unread stream would hit its idle timeout).
  const judging: Promise<void>[] = [];
  try {
    const onDelta = (sample: number, text: string): void =>
      context.progress.streamed(sampleKey(cell.variant.name, cell.testCase.id, sample), text);
    const onPaced = (untilMs: number | undefined): void => context.progress.paced(request, untilMs);
    for await (const completion of backend.complete(request, { signal, onDelta, onPaced })) {
      if (!pending.delete(completion.sample)) continue;
      context.meter?.charge(completion.usage);
      if (signal.aborted && completion.finishReason === 'cancelled') continue;
      const answerText = completion.error
        ? undefined
        : await answerStage(backend, cell, completion, request, signal, (usage) => context.meter?.charge(usage));
      const entry: CompletionRecord = {
        type: 'completion',
        variant: cell.variant.name,
        caseId: cell.testCase.id,
        ...completion,
        ...(answerText !== undefined ? { answerText } : {}),
      };
      // A chain's share of the booking covers its verdicts too: released once they are charged.
      const finish = (finished: CompletionRecord): void => {
        if (reservation) context.meter?.release(reservation, share);
        context.record(finished);
      };
      if (judgeSpecFor(context.document, cell.testCase) && !completion.error && completion.finishReason !== 'cancelled')
        judging.push(withJudge(cell, entry, context).then(finish));
      else finish(entry);
      if (!completion.error && completion.finishReason !== 'cancelled' && !needsAnswerStage(cell.variant)) {
        context.cache?.put({
          key: cacheKeyOf(context, cell, completion.sample),
          text: completion.text,
          ...(completion.reasoning !== undefined ? { reasoning: completion.reasoning } : {}),
          finishReason: completion.finishReason,
          usage: completion.usage,
        });
      }
    }
  } catch (error) {
    if (signal.aborted) return;
    if (isFatal(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    for (const sample of pending) context.record(failedRecord(cell, sample, message));
    return;
  } finally {
    await Promise.all(judging);
    if (reservation) context.meter?.release(reservation);
  }
  if (signal.aborted) return;
  for (const sample of pending) context.record(failedRecord(cell, sample, `the backend returned no completion for sample ${sample}`));
}

/**
 * The chain with the judge's verdicts when its case has a judge and it did not fail. A failing judge request is an
 * invalid verdict, never a failed chain. The judge's tokens are charged when it is the run's own backend.
 */
async function withJudge(cell: Cell, entry: CompletionRecord, context: ExecutionContext): Promise<CompletionRecord> {
  const spec = judgeSpecFor(context.document, cell.testCase);
  if (!spec || entry.error || entry.finishReason === 'cancelled') return entry;
  const subject = {
    input: cell.testCase.input,
    ...(cell.testCase.expected !== undefined ? { expected: cell.testCase.expected } : {}),
    output: entry.answerText !== undefined ? `${entry.text}\n${entry.answerText}` : entry.text,
  };
  const verdicts = await judgeChain(context.judge, spec, subject, { signal: context.signal });
  if (context.judge === context.backend) for (const verdict of verdicts) context.meter?.charge(verdict);
  return { ...entry, judge: verdicts };
}

/**
 * Books the worst case of a cell's request of n chains (with its answer stages): undefined without a meter,
 * null when the budget refuses it (the run then stops starting requests).
 */
function reserveRequest(cell: Cell, n: number, context: ExecutionContext): Reservation | undefined | null {
  const { meter, backend, parameters } = context;
  if (!meter || meter.maxCost === undefined) return undefined;
  // checkBudget made sure every request has a max_tokens.
  const maxTokens = parameters.maxTokens ?? 0;
  const promptTokens = promptTokensOf(cell, backend);
  let worst = worstCaseCost(promptTokens, n, maxTokens, meter.prices);
  if (needsAnswerStage(cell.variant)) {
    // The second stage sends the prompt, the whole chain and the answer prompt, for each chain.
    const answerTokens = backend.id !== 'local' && isReasoningModel(backend.model) ? maxTokens : ANSWER_STAGE_MAX_TOKENS;
    const stagePrompt = promptTokens + maxTokens + countTokens(cell.variant.answerPrompt ?? '', encodingForModel(backend.model)) + 8;
    worst += n * costOf({ promptTokens: stagePrompt, completionTokens: answerTokens }, meter.prices);
  }
  const judge = judgeSpecFor(context.document, cell.testCase);
  if (judge && context.judge === backend) {
    // Each chain's verdicts: the rubric with the case's input and the whole chain, answered within the judge's limit.
    const judgePrompt =
      promptTokens +
      maxTokens +
      countTokens(`${JUDGE_SYSTEM_PROMPT}${judge.rubric}${JUDGE_ANSWER_INSTRUCTION}`, encodingForModel(backend.model)) +
      16;
    const judgeAnswer = judge.maxTokens ?? JUDGE_DEFAULT_MAX_TOKENS;
    worst += n * judge.repeats * costOf({ promptTokens: judgePrompt, completionTokens: judgeAnswer }, meter.prices);
  }
  const reservation = meter.reserve(worst);
  if (reservation) return reservation;
  context.onBudgetStop?.();
  return null;
}

/** The prompt tokens of a cell's request, counted once per cell. */
const promptTokenCounts = new WeakMap<Cell, number>();
function promptTokensOf(cell: Cell, backend: Backend): number {
  let count = promptTokenCounts.get(cell);
  if (count === undefined) {
    const encoding = encodingForModel(backend.model);
    count = backend.input === 'chat' ? countChatTokens(cell.rendered.messages, encoding) : countTokens(cell.rendered.text, encoding);
    promptTokenCounts.set(cell, count);
  }
  return count;
}

function needsAnswerStage(variant: Variant): boolean {
  return variant.kind === 'zero-shot-cot' && !!variant.answerPrompt;
}

/** Zero-shot CoT's second prompt (Kojima et al.): the chain, then "Therefore, the answer is", answered greedily. */
async function answerStage(
  backend: Backend,
  cell: Cell,
  completion: Completion,
  parameters: CompletionRequest,
  signal: AbortSignal,
  charge?: (usage: Completion['usage']) => void,
): Promise<string | undefined> {
  const answerPrompt = cell.variant.answerPrompt;
  if (!needsAnswerStage(cell.variant) || !answerPrompt || signal.aborted) return undefined;
  const chain = completion.text.trim();
  const request: CompletionRequest = {
    ...(backend.input === 'chat'
      ? {
          messages: [
            ...cell.rendered.messages,
            { role: 'assistant' as const, content: chain },
            { role: 'user' as const, content: answerPrompt },
          ],
        }
      : { text: `${cell.rendered.text} ${chain}\n${answerPrompt}` }),
    n: 1,
    firstSample: completion.sample,
    temperature: 0,
    // A reasoning model's limit bounds its hidden reasoning too: 32 tokens would leave no answer.
    ...(backend.id !== 'local' && isReasoningModel(backend.model) ? {} : { maxTokens: ANSWER_STAGE_MAX_TOKENS }),
    ...(parameters.stop ? { stop: parameters.stop } : {}),
  };
  for await (const answer of backend.complete(request, { signal })) {
    charge?.(answer.usage);
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

async function runPool<T>(items: readonly T[], concurrency: number, signal: AbortSignal, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const yielder = new Yielder();
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal.aborted) {
      const item = items[next++] as T;
      await work(item);
      // A fast server answers faster than records are processed: let timers and I/O (the editor's typing) run.
      await yielder.maybeYield();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Gives the event loop a turn (setImmediate) once YIELD_EVERY_MS of work went by without one. */
const YIELD_EVERY_MS = 8;

class Yielder {
  private last = performance.now();

  async maybeYield(): Promise<void> {
    if (performance.now() - this.last < YIELD_EVERY_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.last = performance.now();
  }
}
