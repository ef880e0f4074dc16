// "Is variant A really better than B?": paired comparisons of the variants of one run, on the cases both
// answered. Each case gives one verdict per variant (its majority vote), so a pair of variants is a 2×2
// table of cases; only the discordant cases (one variant right, the other wrong) tell them apart.
// Pure: no vscode, no I/O; the same numbers for the same run (the bootstrap is seeded from the run's seed).
import { chainSeed, seededRandom } from '../random';
import { casesPaired, minimumDetectableEffectPaired } from './power';

export const PAIRED_METHOD = 'mcnemar-exact+paired-bootstrap';

/** Resamples of the paired bootstrap. */
export const BOOTSTRAP_RESAMPLES = 2000;

/** A variant compared with another on the cases both have a majority verdict for (docs/results-schema.md). */
export interface PairComparison {
  a: string;
  b: string;
  /** Majority-vote accuracy of `a` minus that of `b`, over the paired cases (−1…1). */
  difference: number;
  /** 95% paired-bootstrap percentile interval of `difference`. */
  low: number;
  high: number;
  /** Exact McNemar test: two-sided binomial test of the discordant cases at ½. */
  pValue: number;
  /** `pValue` Holm-adjusted over the pairs of the run. */
  pAdjusted: number;
  method: typeof PAIRED_METHOD;
  /** Paired cases only `a` got right, and only `b` got right. */
  aOnly: number;
  bOnly: number;
  /** Cases with a majority verdict from both variants (at least one chain each). */
  cases: number;
  /** The smallest difference these cases detect (two-sided α = 0.05, power 0.8) at the observed discordance. */
  minimumDetectableEffect: number;
  /** When |difference| is under `minimumDetectableEffect`: how many cases would resolve it. */
  warning?: string;
}

/** What a comparison reads of a cell: its verdict, and whether it has one (at least one chain). */
export interface PairedCell {
  variant: string;
  caseId: string;
  majorityPass: boolean;
  chains: readonly unknown[];
}

/** A p-value as the CLI and the panel print it: `<0.001`, else 2 significant decimals (3 under 0.01). */
export function formatP(p: number): string {
  return p < 0.001 ? '<0.001' : String(Number(p.toFixed(p < 0.01 ? 3 : 2)));
}

/** Significance level the panel and the CLI mark a Holm-adjusted p-value against. */
export const ALPHA = 0.05;

/**
 * Exact (binomial) McNemar test, two-sided: p = min(1, 2·P(X ≤ min(b, c))), X ~ Bin(b + c, ½); 1 when
 * b + c = 0. This is R's `binom.test(b, b + c)$p.value` (symmetric at ½) and `exact2x2::mcnemar.exact`.
 * Summed in log space, so thousands of discordant cases neither overflow nor underflow to a wrong 0.
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // log P(X = i) = log C(n, i) − n·log 2, built from log P(X = 0) by the ratio (n − i)/(i + 1).
  let logTerm = -n * Math.LN2;
  let logSum = logTerm;
  for (let i = 0; i < k; i++) {
    logTerm += Math.log((n - i) / (i + 1));
    // log(e^s + e^t) without overflow.
    const top = Math.max(logSum, logTerm);
    logSum = top + Math.log(Math.exp(logSum - top) + Math.exp(logTerm - top));
  }
  return Math.min(1, 2 * Math.exp(logSum));
}

/**
 * Holm's step-down adjustment: sorted ascending, p₍ᵢ₎ becomes max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎).
 * Controls the family-wise error rate over the m tests; returned in the input's order.
 */
export function holm(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p || x.i - y.i);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

/**
 * Paired bootstrap of the accuracy difference: `cases` cases, `aOnly` of them +1 (only a right), `bOnly` −1,
 * the rest 0; resampled with replacement `resamples` times. The 95% percentile interval: the 2.5% and
 * 97.5% order statistics (with 2,000 resamples, the 51st and the 1,950th smallest).
 */
export function pairedBootstrap(
  aOnly: number,
  bOnly: number,
  cases: number,
  seed: number,
  resamples = BOOTSTRAP_RESAMPLES,
): { low: number; high: number } {
  if (cases === 0) return { low: 0, high: 0 };
  // O(cases × resamples): ~0.2 s a pair at 5,000 cases. The interval depends on these numbers only, so a result
  // summarized again (a live run's final result, then its export) reuses it.
  const key = `${aOnly},${bOnly},${cases},${seed},${resamples}`;
  const known = bootstrapMemo.get(key);
  if (known) return { ...known };
  const random = seededRandom(seed);
  const differences = new Float64Array(resamples);
  const discordant = aOnly + bOnly;
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    // Drawing case ⌊u·n⌋: cases 0…aOnly−1 are a's, the next bOnly b's.
    for (let i = 0; i < cases; i++) {
      const u = random() * cases;
      if (u < aOnly) sum++;
      else if (u < discordant) sum--;
    }
    differences[r] = sum / cases;
  }
  differences.sort();
  const low = differences[Math.floor(0.025 * resamples)] as number;
  const high = differences[Math.ceil(0.975 * resamples) - 1] as number;
  if (bootstrapMemo.size >= 256) bootstrapMemo.delete(bootstrapMemo.keys().next().value as string);
  bootstrapMemo.set(key, { low, high });
  return { low, high };
}

/** Recent bootstrap intervals by their inputs (oldest dropped first). */
const bootstrapMemo = new Map<string, { low: number; high: number }>();

/** The bootstrap's seed for one pair: the run's seed and the two names through splitmix64 (src/core/random.ts). */
export function pairSeed(runSeed: number | undefined, a: string, b: string): number {
  return chainSeed(runSeed ?? 0, 'paired-bootstrap', `${a}\u0000${b}`, 0);
}

const points = (value: number): string => `${Number((Math.abs(value) * 100).toFixed(1))}`;

/** The warning of an underpowered comparison, or undefined when the difference is at least the detectable one. */
export function underpoweredWarning(
  difference: number,
  discordance: number,
  cases: number,
  minimumDetectableEffect: number,
): string | undefined {
  const size = Math.abs(difference);
  if (size >= minimumDetectableEffect) return undefined;
  if (size === 0)
    return `${cases} cases show no difference; the smallest they can resolve is about ${points(minimumDetectableEffect)} points`;
  const needed = casesPaired(size, Math.max(discordance, size));
  return `${cases} cases cannot resolve a difference of ${points(size)} points; about ${needed.toLocaleString('en-US')} cases would`;
}

/** One pair, from its counts; `pAdjusted` is `pValue` until the run's pairs are adjusted together. */
export function comparePair(a: string, b: string, aOnly: number, bOnly: number, cases: number, seed: number): PairComparison {
  const difference = cases === 0 ? 0 : (aOnly - bOnly) / cases;
  const discordance = cases === 0 ? 0 : (aOnly + bOnly) / cases;
  const pValue = mcnemarExact(aOnly, bOnly);
  const minimumDetectableEffect = minimumDetectableEffectPaired(cases, discordance);
  const warning = underpoweredWarning(difference, discordance, cases, minimumDetectableEffect);
  return {
    a,
    b,
    difference,
    ...pairedBootstrap(aOnly, bOnly, cases, seed),
    pValue,
    pAdjusted: pValue,
    method: PAIRED_METHOD,
    aOnly,
    bOnly,
    cases,
    minimumDetectableEffect,
    ...(warning ? { warning } : {}),
  };
}

/** The 2×2 table of two variants' verdicts by case: the cases both have, and those only one got right. */
export function pairedCounts(
  ofA: ReadonlyMap<string, boolean>,
  ofB: ReadonlyMap<string, boolean>,
): { cases: number; aOnly: number; bOnly: number } {
  let cases = 0;
  let aOnly = 0;
  let bOnly = 0;
  for (const [caseId, passA] of ofA) {
    const passB = ofB.get(caseId);
    if (passB === undefined) continue;
    cases++;
    if (passA && !passB) aOnly++;
    else if (passB && !passA) bOnly++;
  }
  return { cases, aOnly, bOnly };
}

/**
 * The pairs of a run: each variant against `baseline` when it is one of the run's variants, otherwise each
 * variant against each one listed before it (a − b, a the later). Pairs without a case both variants have a
 * verdict for are left out. p-values are Holm-adjusted over the pairs returned.
 */
export function compareVariants(
  variants: readonly string[],
  cells: readonly PairedCell[],
  options: { seed?: number; baseline?: string } = {},
): PairComparison[] {
  // Verdicts by variant and case: only cells with a chain have one.
  const verdicts = new Map<string, Map<string, boolean>>(variants.map((variant) => [variant, new Map()]));
  for (const cell of cells) if (cell.chains.length > 0) verdicts.get(cell.variant)?.set(cell.caseId, cell.majorityPass);
  const pairs: [string, string][] = [];
  if (options.baseline !== undefined && variants.includes(options.baseline)) {
    for (const variant of variants) if (variant !== options.baseline) pairs.push([variant, options.baseline]);
  } else {
    for (let j = 1; j < variants.length; j++) for (let i = 0; i < j; i++) pairs.push([variants[j] as string, variants[i] as string]);
  }
  const comparisons: PairComparison[] = [];
  for (const [a, b] of pairs) {
    const { cases, aOnly, bOnly } = pairedCounts(verdicts.get(a) as Map<string, boolean>, verdicts.get(b) as Map<string, boolean>);
    if (cases > 0) comparisons.push(comparePair(a, b, aOnly, bOnly, cases, pairSeed(options.seed, a, b)));
  }
  const adjusted = holm(comparisons.map((comparison) => comparison.pValue));
  return comparisons.map((comparison, i) => ({ ...comparison, pAdjusted: adjusted[i] as number }));
}
