import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend } from '../backend';
import { isBatchBackend } from '../backends/batch';
import { DEFAULT_PRICES, priceFor } from '../prices';
import type { LoadedPrompt } from '../prompt/load';
import type { Diagnostic } from '../prompt/types';
import type { CompletionCache } from './cache';
import { compareRuns, sideOfResult, sideOfVerdicts, type Comparison } from './compare';
import { estimateRun, type RunEstimate } from './estimate';
import type { CellSummary, RunOverview } from './cellSummary';
import { LiveSummary } from './live';
import { scoreWithCustomScorer, summarizeBatches, summarizeRun, type CellResult, type Prices, type RunResult } from './results';
import { shardCases } from './shard';
import { runEvaluation, RunSetupError, type ProgressEvent, type RunSelection } from './run';
import {
  headerOf,
  lastVerdicts,
  latestRunFile,
  RunFile,
  verdictsRecord,
  type CompletionRecord,
  type ParsedRunFile,
  type RunHeader,
} from './store';

/** What a presenter (the CLI, the editor) hears while a session runs. */
export type SessionEvent =
  | { type: 'start'; header: RunHeader; runFile: string; resumed: number }
  | { type: 'progress'; progress: ProgressEvent }
  | { type: 'record'; record: CompletionRecord }
  | { type: 'warning'; message: string }
  | { type: 'result'; outcome: SessionOutcome };

export interface SessionOptions extends RunSelection {
  loaded: LoadedPrompt;
  /** The prompt file's text as evaluated (the editor's buffer may be unsaved). */
  promptText: string;
  backend: Backend;
  /** The judge's backend when it is another model than `backend` (`scorer: {type: judge, model}`). */
  judge?: Backend;
  runsDirectory: string;
  concurrency?: number;
  cache?: CompletionCache;
  /** Continue this run file instead of starting a new run. */
  resume?: string;
  /** Resume even though the prompt file differs from the run's. */
  force?: boolean;
  /** Prices per model on top of the built-in table, in currency per million tokens. */
  priceTable?: Record<string, Prices>;
  /** The run's budget in the prices' currency (CLI `--max-cost`), over the prompt file's `budget`. */
  maxCost?: number;
  /** Whether the prompt's custom scorer (the user's own code) may run: the editor passes workspace trust. */
  trusted: boolean;
  /** Compare the result with the newest earlier run of the same prompt (default: yes, for new runs). */
  compareWithPrevious?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: SessionEvent) => void;
}

export interface SessionOutcome {
  result: RunResult;
  comparison?: Comparison;
  /** The result's overview and chain-less cells, computed where the run ran (a session thread), so a view need not. */
  split?: { overview: RunOverview; cells: CellSummary[] };
}

/** The prompt has errors: nothing was run. The presenters show the diagnostics where they belong. */
export class InvalidPromptError extends Error {
  constructor(
    readonly file: string,
    readonly diagnostics: Diagnostic[],
  ) {
    super(
      `${path.basename(file)} has ${diagnostics.length} error${diagnostics.length === 1 ? '' : 's'}: fix ${diagnostics.length === 1 ? 'it' : 'them'} before evaluating.`,
    );
    this.name = 'InvalidPromptError';
  }
}

/**
 * One evaluation of one prompt on one backend, from selection to scored result: the run file (new or
 * resumed), the records in memory as they arrive (mirroring the file), scoring with the custom scorer,
 * the summary and the comparison with the previous run. The CLI and the editor only present it.
 */
export class EvaluationSession {
  /** The run file's contents as it grows (runEvaluation's mirror), once it exists. */
  private live: Readonly<ParsedRunFile> | undefined;
  /** The summary kept up to date record by record, so live views never re-score the whole run. */
  private summary: LiveSummary | undefined;
  private runFilePath = '';
  readonly prices: Prices | undefined;

  constructor(private readonly options: SessionOptions) {
    EvaluationSession.check(options.loaded);
    this.prices = priceFor(
      options.backend.id,
      options.backend.model,
      { ...DEFAULT_PRICES, ...options.priceTable },
      isBatchBackend(options.backend) ? 'batch' : 'online',
    );
  }

  /** Refuses a prompt with errors: nothing of it is run (a presenter may call this before building a backend). */
  static check(loaded: LoadedPrompt): void {
    const errors = loaded.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
    if (errors.length > 0) throw new InvalidPromptError(loaded.file, errors);
  }

  /** The budget the run goes under: the one given, else the prompt file's `budget`. */
  get maxCost(): number | undefined {
    return this.options.maxCost ?? this.options.loaded.document.budget;
  }

  /** What the run will send, before it starts (new runs). */
  estimate(): Promise<RunEstimate> {
    const { loaded, backend } = this.options;
    return estimateRun(loaded, {
      input: backend.input,
      model: backend.model,
      ...(this.options.samples ? { samples: this.options.samples } : {}),
      ...(this.options.variants ? { variants: this.options.variants } : {}),
      ...(this.casesToRun() ? { cases: this.casesToRun() } : {}),
      ...(this.prices ? { prices: this.prices } : {}),
      ...(this.maxCost !== undefined ? { budget: this.maxCost } : {}),
    });
  }

  /** The cases a new run will hold: the selection, or a shard's part of it. */
  private casesToRun(): readonly string[] | undefined {
    const { shard, cases, loaded } = this.options;
    if (!shard) return cases;
    const selected = loaded.cases.map((testCase) => testCase.id).filter((id) => !cases || cases.includes(id));
    return shardCases(selected, shard).cases;
  }

  /** The records so far, previous ones of a resumed run included: the same as the run file holds. */
  get records(): readonly CompletionRecord[] {
    return this.live?.completions ?? [];
  }

  /**
   * The headline numbers of what has finished so far (custom scores come at the end): O(variants × samples),
   * whatever the run's size. Undefined before the run file exists.
   */
  overview(): RunOverview | undefined {
    const summary = this.synced();
    return summary && { ...summary.overview(), runFile: this.runFilePath };
  }

  /** The cells changed since the last call, without their chains. */
  changedCells(limit?: number): CellSummary[] {
    return this.summary?.changedCells(limit) ?? [];
  }

  /** Every cell without its chains (a view that loads afresh). */
  allCells(): CellSummary[] {
    return this.summary?.allCells() ?? [];
  }

  /** One cell with its chains (shared with the live summary: do not change it). */
  cell(variant: string, caseId: string): CellResult | undefined {
    return this.summary?.cell(variant, caseId);
  }

  /**
   * The whole result so far, cells included. Nothing is re-scored, but it holds every cell and chain:
   * live views of big runs should use `overview` and `changedCells`.
   */
  snapshot(): RunResult | undefined {
    const summary = this.synced();
    return summary && { ...summary.result(), runFile: this.runFilePath };
  }

  /** The live summary with the run's end and adjustments as the run file's mirror has them now. */
  private synced(): LiveSummary | undefined {
    if (!this.summary || !this.live) return undefined;
    this.summary.setEnd(this.live.end);
    this.summary.setAdjustments(this.live.adjustments);
    return this.summary;
  }

  async run(): Promise<SessionOutcome> {
    const { loaded, backend } = this.options;
    const emit = (event: SessionEvent): void => this.options.onEvent?.(event);
    // Refused before any request: chains that could not be scored would be paid for in vain.
    if (loaded.document.scorer.type === 'custom' && !this.options.trusted) {
      throw new RunSetupError(
        `${path.basename(loaded.file)} is scored by its custom scorer file, which runs code from this workspace: trust the workspace to evaluate it.`,
      );
    }
    // A shard holds part of the run: the merged run is the one to compare.
    const previousRun =
      this.options.resume || this.options.shard || this.options.compareWithPrevious === false
        ? undefined
        : latestRunFile(this.options.runsDirectory, loaded.file);
    const outcome = await runEvaluation({
      loaded,
      promptText: this.options.promptText,
      backend,
      ...(this.options.judge ? { judge: this.options.judge } : {}),
      runsDirectory: this.options.runsDirectory,
      trusted: this.options.trusted,
      ...(this.options.variants ? { variants: this.options.variants } : {}),
      ...(this.options.cases ? { cases: this.options.cases } : {}),
      ...(this.options.samples ? { samples: this.options.samples } : {}),
      ...(this.options.seed !== undefined ? { seed: this.options.seed } : {}),
      ...(this.options.shard ? { shard: this.options.shard } : {}),
      ...(this.options.concurrency ? { concurrency: this.options.concurrency } : {}),
      ...(this.options.cache ? { cache: this.options.cache } : {}),
      ...(this.options.resume ? { resume: this.options.resume } : {}),
      ...(this.options.force ? { force: true } : {}),
      ...(this.options.signal ? { signal: this.options.signal } : {}),
      ...(this.prices ? { prices: this.prices } : {}),
      ...(this.maxCost !== undefined ? { maxCost: this.maxCost } : {}),
      onStart: (run, runFile, resumed) => {
        this.live = run;
        this.summary = LiveSummary.fromRun(loaded.document, loaded.cases, run, this.prices);
        this.runFilePath = runFile;
        emit({ type: 'start', header: run.header, runFile, resumed });
        const { baseline } = loaded.document;
        if (baseline !== undefined && !run.header.variants.includes(baseline))
          emit({
            type: 'warning',
            message: `the baseline '${baseline}' is not among this run's variants (${run.header.variants.join(', ')}): every pair of them is compared instead.`,
          });
      },
      onRecord: (record) => {
        this.summary?.add(record);
        emit({ type: 'record', record });
      },
      onProgress: (progress) => emit({ type: 'progress', progress }),
      onWarning: (message) => emit({ type: 'warning', message }),
    });

    // Custom scorers run the user's code: the CLI runs them like the prompt itself; the editor only when trusted.
    const customScores = await scoreWithCustomScorer(
      loaded.document,
      loaded.cases,
      outcome.run,
      path.dirname(loaded.file),
      this.options.trusted,
    );
    // The live summary has scored every chain already; only a custom scorer's scores need a pass over them.
    const summary = outcome.run === this.live ? this.synced() : undefined;
    const result =
      summary && loaded.document.scorer.type !== 'custom'
        ? summary.result()
        : summarizeRun(loaded.document, loaded.cases, outcome.run, this.prices, customScores);
    result.runFile = outcome.runFile;
    const batches = summarizeBatches(outcome.run.batches);
    if (batches) result.batches = batches;
    try {
      // What this run scored, kept with it: a later comparison must not re-score it by later rules.
      fs.appendFileSync(outcome.runFile, `${JSON.stringify(verdictsRecord(outcome.run.header, result, result.cells))}\n`);
    } catch (error) {
      emit({
        type: 'warning',
        message: `the run's verdicts could not be stored: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
    const comparison = previousRun ? await this.compare(previousRun, result, outcome.run.header, emit) : undefined;
    const sessionOutcome: SessionOutcome = { result, ...(comparison ? { comparison } : {}) };
    emit({ type: 'result', outcome: sessionOutcome });
    return sessionOutcome;
  }

  private async compare(
    previousFile: string,
    result: RunResult,
    header: RunHeader,
    emit: (event: SessionEvent) => void,
  ): Promise<Comparison | undefined> {
    if (!fs.existsSync(previousFile)) return undefined;
    try {
      return await compareWithRunFile(previousFile, result, header, { ...this.options, prices: this.prices });
    } catch (error) {
      emit({
        type: 'warning',
        message: `the previous run (${path.basename(previousFile)}) is not comparable: ${error instanceof Error ? error.message : String(error)}`,
      });
      return undefined;
    }
  }
}

/**
 * `result` (whose run header is `header`) against the run of `previousFile`: by the verdicts that run stored
 * when it was scored, else (files written before they were stored) by re-scoring its chains with today's rules,
 * which the comparison then says.
 */
export async function compareWithRunFile(
  previousFile: string,
  result: RunResult,
  header: Partial<Pick<RunHeader, 'seed' | 'promptHash'>>,
  context: { loaded: LoadedPrompt; trusted: boolean; prices?: Prices | undefined },
): Promise<Comparison> {
  const current = sideOfResult(result, header);
  // The stored verdicts from the file's first and last lines: a big run's chains are not parsed.
  const storedHeader = headerOf(previousFile);
  const stored = storedHeader && lastVerdicts(previousFile, 1 << 24);
  if (storedHeader && stored) return compareRuns(sideOfVerdicts(storedHeader, stored), current);
  const run = RunFile.open(previousFile).read();
  const { loaded } = context;
  const customScores = await scoreWithCustomScorer(loaded.document, loaded.cases, run, path.dirname(loaded.file), context.trusted);
  const previous = summarizeRun(loaded.document, loaded.cases, run, context.prices, customScores);
  return compareRuns(sideOfResult(previous, run.header), current, { scoredAsRun: false });
}
