// The one message protocol between the extension and the results webview. Both sides import it.
import type { RunResult } from '../core/eval/results';

/** What got better or worse against the previous run of the same prompt. */
export interface CellChange {
  variant: string;
  caseId: string;
  before: boolean;
  after: boolean;
}

export interface Comparison {
  previousRunId: string;
  previousStartedAt: string;
  /** Majority-vote accuracy per variant, before → after. */
  variants: { name: string; before: number; after: number }[];
  changes: CellChange[];
}

export interface PanelState {
  result: RunResult;
  comparison?: Comparison;
  /** Progress of a run still going. */
  progress?: { done: number; total: number; etaMs?: number };
}

export type ToWebview =
  | { type: 'state'; state: PanelState }
  | { type: 'progress'; done: number; total: number; etaMs?: number };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'reveal'; file: string; line: number }
  | { type: 'export'; format: 'csv' | 'json' | 'html' };

/** Report mode: the HTML report embeds its state in this element instead of receiving messages. */
export const REPORT_DATA_ELEMENT_ID = 'chainscope-report-data';
