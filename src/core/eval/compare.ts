import type { Comparison } from '../../shared/protocol';
import type { RunResult } from './results';

/** What got better or worse since the previous run of the same prompt: per variant and per cell. */
export function compareRuns(previous: RunResult, current: RunResult): Comparison {
  const before = new Map(previous.variants.map((variant) => [variant.name, variant.majorityVote.value]));
  const beforeCells = new Map(previous.cells.filter((cell) => cell.chains.length > 0).map((cell) => [`${cell.variant}\u0000${cell.caseId}`, cell.majorityPass]));
  return {
    previousRunId: previous.runId,
    previousStartedAt: previous.startedAt,
    variants: current.variants.filter((variant) => before.has(variant.name)).map((variant) => ({ name: variant.name, before: before.get(variant.name) ?? 0, after: variant.majorityVote.value })),
    changes: current.cells
      .filter((cell) => cell.chains.length > 0)
      .flatMap((cell) => {
        const was = beforeCells.get(`${cell.variant}\u0000${cell.caseId}`);
        return was === undefined || was === cell.majorityPass ? [] : [{ variant: cell.variant, caseId: cell.caseId, before: was, after: cell.majorityPass }];
      }),
  };
}
