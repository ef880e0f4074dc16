// Self-consistency statistics. Answers are normalized keys; `undefined` is a chain without an answer.

export interface VoteCount {
  answer: string;
  count: number;
  /** Index of the first chain that gave this answer. */
  firstIndex: number;
}

export interface VoteResult {
  /** The most frequent answer; ties go to the answer that appeared first. Undefined when no chain answered. */
  majority?: string;
  /** Sorted by count (descending), then first appearance. */
  counts: VoteCount[];
  /** Chains agreeing with the majority / all chains (invalid ones included); 0 without a majority. */
  agreement: number;
  /** Shannon entropy in bits of the answers over all chains, invalid chains counted as one category. */
  entropy: number;
  valid: number;
  total: number;
}

/** Majority vote with a deterministic tie rule: highest count, then earliest first appearance. Invalid chains never win. */
export function vote(answers: readonly (string | undefined)[]): VoteResult {
  const byAnswer = new Map<string, VoteCount>();
  let invalid = 0;
  answers.forEach((answer, index) => {
    if (answer === undefined) {
      invalid++;
      return;
    }
    const entry = byAnswer.get(answer);
    if (entry) entry.count++;
    else byAnswer.set(answer, { answer, count: 1, firstIndex: index });
  });
  const counts = [...byAnswer.values()].sort((a, b) => b.count - a.count || a.firstIndex - b.firstIndex);
  const total = answers.length;
  const majority = counts[0];
  let entropy = 0;
  for (const count of [...counts.map((c) => c.count), invalid]) {
    if (count === 0) continue;
    const p = count / total;
    entropy -= p * Math.log2(p);
  }
  return {
    ...(majority ? { majority: majority.answer } : {}),
    counts,
    agreement: majority && total > 0 ? majority.count / total : 0,
    entropy: entropy === 0 ? 0 : entropy,
    valid: total - invalid,
    total,
  };
}

/** Binomial coefficients as doubles (exact up to 2^53, then rounded: fine for probabilities). */
function binomialRow(n: number): number[] {
  const row = [1];
  for (let k = 1; k <= n; k++) row.push(((row[k - 1] as number) * (n - k + 1)) / k);
  return row;
}

/**
 * maj@k: the probability that the majority vote of k chains drawn without replacement from these n is
 * correct — the exact mean over all C(n, k) subsets, not the first k chains (an unbiased estimator of
 * majority-vote accuracy with k samples).
 *
 * Within a subset, a tie between t answers that includes a correct one counts 1/t: the expectation under
 * random tie-breaking, since a subset has no natural order of its own. (`vote` over all chains breaks ties
 * by first appearance instead, so at k = n the two differ only on ties.) Invalid chains take places in
 * the subset but never win.
 *
 * Computed per correct answer c and its count x in the subset with a generating-function DP over the
 * other answers, tracking how many of them tie with c at x.
 */
export function majAtK(answers: readonly (string | undefined)[], isCorrect: (answer: string) => boolean, k: number): number {
  const n = answers.length;
  if (k < 1 || k > n) return Number.NaN;
  const counts = new Map<string, number>();
  let invalid = 0;
  for (const answer of answers) {
    if (answer === undefined) invalid++;
    else counts.set(answer, (counts.get(answer) ?? 0) + 1);
  }
  const classes = [...counts.entries()];
  const binomials = new Map<number, number[]>();
  const choose = (m: number, j: number): number => {
    if (j < 0 || j > m) return 0;
    let row = binomials.get(m);
    if (!row) {
      row = binomialRow(m);
      binomials.set(m, row);
    }
    return row[j] as number;
  };

  let favourable = 0;
  for (const [answer, mc] of classes) {
    if (!isCorrect(answer)) continue;
    for (let x = 1; x <= Math.min(mc, k); x++) {
      const rest = k - x;
      // dp[t][d]: ways to pick d chains from the classes seen so far with exactly t of them tied at x.
      let dp: number[][] = [Array.from({ length: rest + 1 }, (_, d) => (d === 0 ? 1 : 0))];
      for (const [other, md] of classes) {
        if (other === answer) continue;
        const next: number[][] = Array.from({ length: dp.length + 1 }, () => new Array<number>(rest + 1).fill(0));
        dp.forEach((row, t) => {
          const same = next[t] as number[];
          const tied = next[t + 1] as number[];
          row.forEach((ways, d) => {
            if (ways === 0) return;
            // Fewer than x of this answer: it cannot beat or tie c.
            for (let j = 0; j < x && d + j <= rest; j++) same[d + j] = (same[d + j] ?? 0) + ways * choose(md, j);
            if (d + x <= rest) tied[d + x] = (tied[d + x] ?? 0) + ways * choose(md, x);
          });
        });
        while (next.length > 1 && (next[next.length - 1] as number[]).every((value) => value === 0)) next.pop();
        dp = next;
      }
      let weighted = 0;
      dp.forEach((row, t) => {
        // The invalid chains fill the remaining places.
        for (let d = 0; d <= rest; d++) weighted += ((row[d] as number) * choose(invalid, rest - d)) / (t + 1);
      });
      favourable += choose(mc, x) * weighted;
    }
  }
  return favourable / choose(n, k);
}

/** maj@k for k = 1…n. */
export function majAtKCurve(answers: readonly (string | undefined)[], isCorrect: (answer: string) => boolean): number[] {
  return Array.from({ length: answers.length }, (_, i) => majAtK(answers, isCorrect, i + 1));
}

/** 95% Wilson score interval of a proportion (z = 1.96); [0, 1] without trials. */
export function wilson(successes: number, trials: number, z = 1.959964): { low: number; high: number } {
  if (trials === 0) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
