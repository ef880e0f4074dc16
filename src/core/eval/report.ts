import type { Comparison } from './compare';
import type { RunResult } from './results';

export const REPORT_SCHEMA = 'chainscope.report/1';

/** The results file (`--json`, Export JSON): every run of an invocation, with comparisons to earlier runs. */
export interface EvalReport {
  schema: typeof REPORT_SCHEMA;
  generatedAt: string;
  runs: RunResult[];
  /** By run id: what changed against the previous run of the same prompt, where there was one. */
  comparisons?: Record<string, Comparison>;
}

export function makeReport(runs: RunResult[], comparisons: ReadonlyMap<string, Comparison> = new Map(), now = new Date()): EvalReport {
  return {
    schema: REPORT_SCHEMA,
    generatedAt: now.toISOString(),
    runs,
    ...(comparisons.size > 0 ? { comparisons: Object.fromEntries(comparisons) } : {}),
  };
}

/** Report mode: the HTML report embeds its report in this element instead of receiving messages. */
export const REPORT_DATA_ELEMENT_ID = 'chainscope-report-data';
