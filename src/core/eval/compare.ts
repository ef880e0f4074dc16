// "Did this run get better than that one?": two runs of one prompt compared like with like. Only the
// cases and variants both runs have a verdict for are compared, paired case by case (each case's majority
// vote in both runs), with the exact McNemar test and a paired bootstrap (paired.ts); what the runs do
// not share (cases, variants, model, seed, samples, the prompt file) is reported, never folded in.
// Pure: no vscode, no I/O.
import { cellKey } from './keys';
import { ALPHA, comparePair, holm, PAIRED_METHOD, pairSeed } from './paired';
import type { RunResult } from './results';
import type { RunHeader, VerdictsRecord } from './store';

/** A cell whose majority vote went from right to wrong (regressed) or back (fixed), against the compared run. */
export interface CellChange {
  variant: string;
  caseId: string;
  before: boolean;
  after: boolean;
}

/** One variant over the cases both runs have a verdict for (docs/results-schema.md). */
export interface VariantComparison {
  name: string;
  /** Majority-vote accuracy over the shared cases, before → after. */
  before: number;
  after: number;
  /** Shared cases: a verdict in both runs. */
  cases: number;
  /** Shared cases wrong before and right now, and right before and wrong now. */
  fixed: number;
  regressed: number;
  /** 95% paired-bootstrap interval of after − before. */
  low: number;
  high: number;
  /** Exact McNemar test on `fixed` vs `regressed`; `pAdjusted` Holm-adjusted over the variants compared. */
  pValue: number;
  pAdjusted: number;
  /** pAdjusted < ALPHA: only then is the difference shown as better or worse. */
  significant: boolean;
  method: typeof PAIRED_METHOD;
  /** Too few shared cases to resolve a difference this size (paired.ts). */
  warning?: string;
}

/** The current run against an earlier run of the same prompt. */
export interface Comparison {
  previousRunId: string;
  previousStartedAt: string;
  /** `backend:model` of the earlier run. */
  previousModel: string;
  /** True: the earlier run's verdicts as scored when it ran (stored in its file); false: re-scored by today's rules. */
  previousScoredAsRun: boolean;
  variants: VariantComparison[];
  /** Cases with a verdict in one run only (left out of every number above). */
  casesOnlyBefore: number;
  casesOnlyAfter: number;
  variantsOnlyBefore: string[];
  variantsOnlyAfter: string[];
  /** What else differs, in words ("seed 1 → 2", "the prompt file changed"); empty when the runs ran alike. */
  differences: string[];
  /** Every shared cell whose verdict flipped. */
  changes: CellChange[];
}

/** One side of a comparison: what ran, and each cell's majority verdict (cells without a chain have none). */
export interface ComparedSide {
  runId: string;
  startedAt: string;
  backend: { id: string; model: string };
  samples: number;
  seed?: number;
  promptHash?: string;
  variants: readonly string[];
  /** Verdicts by variant, then case id. */
  verdicts: ReadonlyMap<string, ReadonlyMap<string, boolean>>;
}

type HeaderFacts = Partial<Pick<RunHeader, 'seed' | 'promptHash'>>;

/** A scored result as a side (its seed and prompt hash come from its run header). */
export function sideOfResult(result: RunResult, header: HeaderFacts = {}): ComparedSide {
  const verdicts = new Map<string, Map<string, boolean>>();
  for (const cell of result.cells) {
    if (cell.chains.length === 0) continue;
    const ofVariant = verdicts.get(cell.variant) ?? new Map<string, boolean>();
    ofVariant.set(cell.caseId, cell.majorityPass);
    verdicts.set(cell.variant, ofVariant);
  }
  return {
    runId: result.runId,
    startedAt: result.startedAt,
    backend: result.backend,
    samples: result.samples,
    ...(header.seed !== undefined ? { seed: header.seed } : {}),
    ...(header.promptHash !== undefined ? { promptHash: header.promptHash } : {}),
    variants: result.variants.map((variant) => variant.name),
    verdicts,
  };
}

/** The verdicts a run file stores of itself (as scored when it ran) as a side. */
export function sideOfVerdicts(header: RunHeader, record: VerdictsRecord): ComparedSide {
  const verdicts = new Map<string, Map<string, boolean>>();
  for (const [variant, marks] of Object.entries(record.pass)) {
    const ofVariant = new Map<string, boolean>();
    header.cases.forEach((caseId, i) => {
      const mark = marks[i];
      if (mark === '1' || mark === '0') ofVariant.set(caseId, mark === '1');
    });
    verdicts.set(variant, ofVariant);
  }
  return {
    runId: header.id,
    startedAt: header.startedAt,
    backend: header.backend,
    samples: header.samples,
    ...(header.seed !== undefined ? { seed: header.seed } : {}),
    promptHash: header.promptHash,
    variants: header.variants,
    verdicts,
  };
}

const casesOf = (side: ComparedSide): Set<string> => new Set([...side.verdicts.values()].flatMap((ofVariant) => [...ofVariant.keys()]));

/** What got better or worse since `previous`, over what both runs share, and what they do not share. */
export function compareRuns(previous: ComparedSide, current: ComparedSide, options: { scoredAsRun?: boolean } = {}): Comparison {
  const shared = current.variants.filter((name) => previous.variants.includes(name));
  const changes: CellChange[] = [];
  const counts = shared.map((name) => {
    let cases = 0;
    let passedBefore = 0;
    let passedAfter = 0;
    let fixed = 0;
    let regressed = 0;
    const earlier = previous.verdicts.get(name);
    for (const [caseId, after] of current.verdicts.get(name) ?? []) {
      const before = earlier?.get(caseId);
      if (before === undefined) continue;
      cases++;
      if (before) passedBefore++;
      if (after) passedAfter++;
      if (before !== after) {
        changes.push({ variant: name, caseId, before, after });
        if (after) fixed++;
        else regressed++;
      }
    }
    return { name, cases, passedBefore, passedAfter, fixed, regressed };
  });
  const compared = counts.filter((count) => count.cases > 0);
  const pairs = compared.map((count) =>
    comparePair(count.name, count.name, count.fixed, count.regressed, count.cases, pairSeed(current.seed, count.name, previous.runId)),
  );
  const adjusted = holm(pairs.map((pair) => pair.pValue));
  const variants = compared.map((count, i): VariantComparison => {
    const pair = pairs[i] as (typeof pairs)[number];
    const pAdjusted = adjusted[i] as number;
    return {
      name: count.name,
      before: count.passedBefore / count.cases,
      after: count.passedAfter / count.cases,
      cases: count.cases,
      fixed: count.fixed,
      regressed: count.regressed,
      low: pair.low,
      high: pair.high,
      pValue: pair.pValue,
      pAdjusted,
      significant: pAdjusted < ALPHA,
      method: PAIRED_METHOD,
      ...(pair.warning ? { warning: pair.warning } : {}),
    };
  });
  const before = casesOf(previous);
  const after = casesOf(current);
  const differences: string[] = [];
  const model = (side: ComparedSide): string => `${side.backend.id}:${side.backend.model}`;
  if (model(previous) !== model(current)) differences.push(`model ${model(previous)} → ${model(current)}`);
  if (previous.seed !== current.seed) differences.push(`seed ${previous.seed ?? 'unknown'} → ${current.seed ?? 'unknown'}`);
  if (previous.samples !== current.samples) differences.push(`samples ${previous.samples} → ${current.samples}`);
  if (previous.promptHash !== undefined && current.promptHash !== undefined && previous.promptHash !== current.promptHash)
    differences.push('the prompt file changed');
  if (options.scoredAsRun === false) differences.push("the earlier run is re-scored by today's rules");
  return {
    previousRunId: previous.runId,
    previousStartedAt: previous.startedAt,
    previousModel: model(previous),
    previousScoredAsRun: options.scoredAsRun ?? true,
    variants,
    casesOnlyBefore: [...before].filter((caseId) => !after.has(caseId)).length,
    casesOnlyAfter: [...after].filter((caseId) => !before.has(caseId)).length,
    variantsOnlyBefore: previous.variants.filter((name) => !current.variants.includes(name)),
    variantsOnlyAfter: current.variants.filter((name) => !previous.variants.includes(name)),
    differences,
    changes,
  };
}

/** "+75.0 pt", for the CLI and the views. */
export function formatDelta(variant: Pick<VariantComparison, 'before' | 'after'>): string {
  const delta = (variant.after - variant.before) * 100;
  return `${delta >= 0 ? '+' : '−'}${Math.abs(delta).toFixed(1)} pt`;
}

/** The delta's significance in words, for a tooltip or a table: the interval and both p-values. */
export function describeSignificance(variant: VariantComparison): string {
  const pt = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(1)}`;
  const verdict = variant.significant ? 'significant' : 'not significant';
  return (
    `${variant.cases} shared cases: ${variant.fixed} fixed, ${variant.regressed} regressed; 95% paired interval [${pt(variant.low)}, ${pt(variant.high)}] pt; ` +
    `McNemar p = ${variant.pValue.toPrecision(2)}${variant.pAdjusted !== variant.pValue ? ` (Holm ${variant.pAdjusted.toPrecision(2)})` : ''}: ${verdict}` +
    (variant.warning ? `; ${variant.warning}` : '')
  );
}

/** Everything the two runs do not share, in words, for the CLI and the views; empty when they ran alike. */
export function comparisonDifferences(comparison: Comparison): string[] {
  const cases = (count: number): string => `${count} case${count === 1 ? '' : 's'}`;
  return [
    ...(comparison.casesOnlyBefore > 0 ? [`${cases(comparison.casesOnlyBefore)} only in the earlier run`] : []),
    ...(comparison.casesOnlyAfter > 0 ? [`${cases(comparison.casesOnlyAfter)} only in this run`] : []),
    ...(comparison.variantsOnlyBefore.length > 0 ? [`only in the earlier run: ${comparison.variantsOnlyBefore.join(', ')}`] : []),
    ...(comparison.variantsOnlyAfter.length > 0 ? [`only in this run: ${comparison.variantsOnlyAfter.join(', ')}`] : []),
    ...comparison.differences,
  ];
}

/** Cells marked `fixed` or `regressed` by the comparison's changes, the others unmarked (a new array). */
export function markChanges<T extends { variant: string; caseId: string; change?: 'fixed' | 'regressed' }>(
  cells: readonly T[],
  comparison: Pick<Comparison, 'changes'> | undefined,
): T[] {
  const changed = new Map((comparison?.changes ?? []).map((change) => [cellKey(change.variant, change.caseId), change.after]));
  return cells.map((cell) => {
    const after = changed.get(cellKey(cell.variant, cell.caseId));
    if (after === undefined) {
      if (cell.change === undefined) return cell;
      const { change: _dropped, ...rest } = cell;
      return rest as T;
    }
    return { ...cell, change: after ? 'fixed' : 'regressed' };
  });
}
