import { inputPreview } from './caseInput';
import type { CellResult, RunResult } from './results';

/**
 * A cell of the matrix without its chains: what a live view needs to draw a row, a few hundred bytes
 * whatever the chains hold. The chains themselves are fetched when the cell is opened.
 */
export interface CellSummary {
  variant: string;
  caseId: string;
  caseName?: string;
  /** The case's position in the run: rows of the matrix follow it. */
  row: number;
  /** The case's inputs on one line, at most INPUT_PREVIEW_LENGTH characters (the whole inputs come with the cell); absent when it has none. */
  inputPreview?: string;
  expected?: unknown;
  location: { file: string; line: number };
  /** Chains present: finished and failed ones. */
  chains: number;
  /** Chains whose answer passes. */
  passing: number;
  majority?: string;
  majorityPass: boolean;
  agreement: number;
  entropy: number;
  invalid: number;
  errors: number;
  missing: number;
  /** The first failed chain's error, for a tooltip. */
  firstError?: string;
  /** Against the compared run: right then and wrong now (regressed), or the reverse (fixed). */
  change?: 'fixed' | 'regressed';
  /** An attacked case: its attack (CellResult.attack), so the drawer names it before the chains arrive. */
  attack?: CellResult['attack'];
  /** A defended variant's defence (CellResult.defence). */
  defence?: string;
}

/** A run's result without its cells: the headline numbers, sent whole. */
export type RunOverview = Omit<RunResult, 'cells'>;

/** `preview`: the case's inputPreview, when the caller keeps it per case (it is the same for every variant). */
export function summarizeCellBrief(cell: CellResult, row: number, preview = inputPreview(cell.input ?? {})): CellSummary {
  const firstError = cell.chains.find((chain) => chain.error !== undefined)?.error;
  return {
    variant: cell.variant,
    caseId: cell.caseId,
    ...(cell.caseName !== undefined ? { caseName: cell.caseName } : {}),
    row,
    ...(preview ? { inputPreview: preview } : {}),
    ...(cell.expected !== undefined ? { expected: cell.expected } : {}),
    location: cell.location,
    chains: cell.chains.length,
    passing: cell.chains.filter((chain) => chain.pass).length,
    ...(cell.majority !== undefined ? { majority: cell.majority } : {}),
    majorityPass: cell.majorityPass,
    agreement: cell.agreement,
    entropy: cell.entropy,
    invalid: cell.invalid,
    errors: cell.errors,
    missing: cell.missing,
    ...(firstError !== undefined ? { firstError } : {}),
    ...(cell.attack !== undefined ? { attack: cell.attack } : {}),
    ...(cell.defence !== undefined ? { defence: cell.defence } : {}),
  };
}

/** The overview and the brief cells of a whole result (the HTML report, a run read back from its file). */
export function splitResult(result: RunResult): { overview: RunOverview; cells: CellSummary[] } {
  const { cells, ...overview } = result;
  const rows = new Map<string, { row: number; preview: string }>();
  for (const cell of cells) if (!rows.has(cell.caseId)) rows.set(cell.caseId, { row: rows.size, preview: inputPreview(cell.input ?? {}) });
  return {
    overview,
    cells: cells.map((cell) => {
      const { row, preview } = rows.get(cell.caseId) as { row: number; preview: string };
      return summarizeCellBrief(cell, row, preview);
    }),
  };
}
