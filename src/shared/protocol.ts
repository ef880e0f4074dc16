// The one message protocol between the extension and the results webview. Both sides import it.
// Messages stay small whatever the run's size: the overview is O(variants), cells travel in batches of
// at most MAX_CELLS_PER_MESSAGE chain-less summaries, and a cell's chains only when it is opened.
import type { Comparison } from '../core/eval/compare';
import type { CellResult } from '../core/eval/results';
import type { CellSummary, RunOverview } from '../core/eval/cellSummary';
import type { CellPrompt } from '../core/prompt/render';

export type { CellChange, Comparison } from '../core/eval/compare';
export type { CellSummary, RunOverview } from '../core/eval/cellSummary';
export type { CellPrompt, ChatMessage } from '../core/prompt/render';
export { REPORT_DATA_ELEMENT_ID, type EvalReport } from '../core/eval/report';

export const MAX_CELLS_PER_MESSAGE = 1000;
/** While a run is live the extension says something at least this often; silence for STALE_AFTER_MS means it is gone. */
export const HEARTBEAT_MS = 1000;
export const STALE_AFTER_MS = 5000;

export interface RunProgress {
  done: number;
  total: number;
  failed: number;
  etaMs?: number;
  /** Requests are held back by the provider's rate limits until then (epoch ms). */
  pacedUntil?: number;
}

/** A comparison as the panel gets it: the flipped cells travel marked on their cell summaries (CellSummary.change), not here. */
export type PanelComparison = Omit<Comparison, 'changes'>;

/** An earlier run of the same prompt, as the run picker lists it (read from its file's first and last lines). */
export interface RunChoice {
  id: string;
  startedAt: string;
  model: string;
  cases: number;
  samples: number;
  /** Majority-vote accuracy per variant when the run stored it. */
  accuracy?: { variant: string; value: number }[];
}

/** Earlier runs the picker lists at most: the newest. */
export const MAX_RUN_CHOICES = 20;

export interface PanelRun {
  overview: RunOverview;
  comparison?: PanelComparison;
  /** Whether a session of this extension host is producing the run now (false: finished, or interrupted). */
  live: boolean;
  /** How many cells the run has: the `cells` batches that follow add up to it. */
  cellCount: number;
  progress?: RunProgress;
}

export type ToWebview =
  /** A run to show (a new run, its final result, or the one restored): replaces the overview; cells follow. */
  | { type: 'run'; run: PanelRun }
  /** Cells added or changed since the last batch. */
  | { type: 'cells'; runId: string; cells: CellSummary[] }
  /** Progress of a live run; also the heartbeat. */
  | { type: 'progress'; runId: string; progress: RunProgress }
  /** The whole cell, chains included, that the webview asked for. */
  | { type: 'cell'; runId: string; cell: CellResult }
  /** The rendered prompt of a cell the webview asked for (Show prompt): one cell's, never sent unasked. */
  | { type: 'prompt'; runId: string; variant: string; caseId: string; prompt: CellPrompt }
  /** The session producing the run stopped without a result (an error in the extension). */
  | { type: 'lost'; runId: string; reason: string }
  /** Earlier runs of the same prompt for the run picker, newest first (at most MAX_RUN_CHOICES). */
  | { type: 'runs'; runId: string; runs: RunChoice[] };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'reveal'; file: string; line: number }
  | { type: 'export'; format: 'csv' | 'json' | 'html' }
  | { type: 'openCell'; runId: string; variant: string; caseId: string }
  /** The reader opened "Show prompt" in the drawer: answered with a `prompt` message. */
  | { type: 'showPrompt'; runId: string; variant: string; caseId: string }
  /** The user pressed Cancel on a live run: finished chains are kept, as with the notification's Cancel. */
  | { type: 'cancel'; runId: string }
  /** The run picker: compare the run shown with the earlier run `previousRunId` (the run and its cells come again). */
  | { type: 'compareWith'; runId: string; previousRunId: string };

/** What the webview keeps in its saved state: small, whatever the run's size; the run is re-read from its file. */
export interface SavedPanelState {
  runId?: string;
  runFile?: string;
  selected?: { variant: string; caseId: string };
  sort?: string;
  filter?: string;
  search?: string;
  /** Columns the user hid: keys such as `table:entropy`, `matrix:expected`, `matrix:variant:<name>` (capped in number and length). */
  hidden?: string[];
}

/** At most this many hidden columns are kept, each key at most MAX_HIDDEN_KEY characters: the saved state stays small. */
export const MAX_HIDDEN_COLUMNS = 40;
export const MAX_HIDDEN_KEY = 120;
