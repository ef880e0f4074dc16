// The one message protocol between the extension and the results webview. Both sides import it.
import type { Comparison } from '../core/eval/compare';
import type { RunResult } from '../core/eval/results';

export type { CellChange, Comparison } from '../core/eval/compare';
export { REPORT_DATA_ELEMENT_ID, type EvalReport } from '../core/eval/report';

export interface PanelState {
  result: RunResult;
  comparison?: Comparison;
  /** Progress of a run still going. */
  progress?: { done: number; total: number; etaMs?: number };
}

export type ToWebview = { type: 'state'; state: PanelState } | { type: 'progress'; done: number; total: number; etaMs?: number };

export type FromWebview =
  { type: 'ready' } | { type: 'reveal'; file: string; line: number } | { type: 'export'; format: 'csv' | 'json' | 'html' };
