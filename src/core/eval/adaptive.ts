// Adaptive sampling: a case's chains are drawn in rounds, and sampling stops once its vote is settled.
//
// `adaptive` is the Beta stopping criterion of Adaptive-Consistency (Aggarwal et al., 2023, "Let's Sample
// Step by Step"): with a chains for the leading answer and b for the runner-up, the leader's share p of the
// answer distribution has the posterior Beta(a + 1, b + 1) under a uniform prior; sampling stops once
// P(p > ½) reaches `confidence`. Chains without an answer count as disagreement: they are added to b.
// `window` is Early-Stopping Self-Consistency (Li et al., 2024): stop once the last `window` chains all give
// the same answer. Both are checked at round ends only (`min` chains, then `batch` more each round), so
// whether and where a case stopped follows from its chains alone: a resumed run decides the same way.

import type { StopRule } from '../prompt/types';

export type { StopRule } from '../prompt/types';

export const STOP_DEFAULTS = { min: 4, batch: 2, confidence: 0.95, window: 4 } as const;

/**
 * P(p > ½) for p ~ Beta(a + 1, b + 1): for whole a and b it is P(Y ≤ a) with Y ~ Binomial(a + b + 1, ½)
 * (the Beta–binomial identity I_x(α, β) = P(Bin(α + β − 1, x) ≥ α)).
 */
export function leaderProbability(a: number, b: number): number {
  const n = a + b + 1;
  let term = Math.pow(0.5, n); // P(Y = 0)
  let sum = term;
  for (let k = 1; k <= a; k++) {
    term *= (n - k + 1) / k;
    sum += term;
  }
  return Math.min(1, sum);
}

/** The chain counts at which a case's vote is looked at: min, min + batch, …, max. */
export function roundEnds(rule: StopRule, max: number): number[] {
  const ends: number[] = [];
  for (let end = Math.min(rule.min, max); end < max; end += rule.batch) ends.push(end);
  ends.push(max);
  return [...new Set(ends)];
}

/** Whether chains with these vote keys (in sample order; undefined = no answer) settle the case. */
export function isSettled(keys: readonly (string | undefined)[], rule: StopRule): boolean {
  if (rule.rule === 'window') {
    if (keys.length < rule.window) return false;
    const last = keys.slice(keys.length - rule.window);
    return last[0] !== undefined && last.every((key) => key === last[0]);
  }
  const counts = new Map<string, number>();
  let invalid = 0;
  for (const key of keys) {
    if (key === undefined) invalid++;
    else counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const sorted = [...counts.values()].sort((x, y) => y - x);
  const leader = sorted[0] ?? 0;
  if (leader === 0) return false;
  return leaderProbability(leader, (sorted[1] ?? 0) + invalid) >= rule.confidence;
}

/**
 * Where a case stopped: the first round end, within its chains, at which they settle it; undefined when
 * they do not (yet). Chains must be the samples 0…n−1 in order.
 */
export function settledAt(keys: readonly (string | undefined)[], rule: StopRule, max: number): number | undefined {
  for (const end of roundEnds(rule, max)) {
    if (end > keys.length) return undefined;
    if (end < max && isSettled(keys.slice(0, end), rule)) return end;
  }
  return undefined;
}

/** How many more chains a case draws next: none once settled or at max, else up to the next round end. */
export function nextRound(keys: readonly (string | undefined)[], rule: StopRule, max: number): number {
  if (keys.length >= max || settledAt(keys, rule, max) !== undefined) return 0;
  const next = roundEnds(rule, max).find((end) => end > keys.length) ?? max;
  return next - keys.length;
}
