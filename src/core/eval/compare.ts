import { cellKey, type CellKey } from './keys';
import type { RunResult } from './results';

/** A cell whose majority vote went from right to wrong or back, against the previous run. */
export interface CellChange {
  variant: string;
  caseId: string;
  before: boolean;
  after: boolean;
}

/** What got better or worse against the previous run of the same prompt. */
export interface Comparison {
  previousRunId: string;
  previousStartedAt: string;
  /** Majority-vote accuracy per variant, before → after. */
  variants: { name: string; before: number; after: number }[];
  changes: CellChange[];
}

/** What got better or worse since the previous run of the same prompt: per variant and per cell. */
export function compareRuns(previous: RunResult, current: RunResult): Comparison {
  const before = new Map(previous.variants.map((variant) => [variant.name, variant.majorityVote.value]));
  const beforeCells = new Map<CellKey, boolean>(
    previous.cells.filter((cell) => cell.chains.length > 0).map((cell) => [cellKey(cell.variant, cell.caseId), cell.majorityPass]),
  );
  return {
    previousRunId: previous.runId,
    previousStartedAt: previous.startedAt,
    variants: current.variants
      .filter((variant) => before.has(variant.name))
      .map((variant) => ({ name: variant.name, before: before.get(variant.name) ?? 0, after: variant.majorityVote.value })),
    changes: current.cells
      .filter((cell) => cell.chains.length > 0)
      .flatMap((cell) => {
        const was = beforeCells.get(cellKey(cell.variant, cell.caseId));
        return was === undefined || was === cell.majorityPass
          ? []
          : [{ variant: cell.variant, caseId: cell.caseId, before: was, after: cell.majorityPass }];
      }),
  };
}
