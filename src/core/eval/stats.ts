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
  /** Sorted by count (descending), then first appearance (ascending). */
  counts: VoteCount[];
  /** Chains that gave the majority answer / all chains (invalid ones included); 0 without a majority. */
  agreement: number;
  /** Shannon entropy in bits of the answers over all chains, invalid chains counted as one category. */
  entropy: number;
  valid: number;
  total: number;
}

/**
 * Majority vote with a deterministic tie rule: highest count, then the answer whose first chain comes
 * earliest. Invalid chains never win, but they count in `agreement` and `entropy`:
 *   agreement = count(majority) / n
 *   entropy   = −Σ_a p_a·log2 p_a over the answers and one "invalid" category, p_a = count(a) / n.
 */
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
    agreement: majority ? majority.count / total : 0,
    // One category gives −1·log2 1 = −0; report a plain 0.
    entropy: entropy === 0 ? 0 : entropy,
    valid: total - invalid,
    total,
  };
}

/** Pascal's triangle up to row n as doubles: exact below 2^53, then correctly rounded sums (all positive). */
function pascal(n: number): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let m = 0; m <= n; m++) {
    const row = new Float64Array(m + 1);
    row[0] = 1;
    row[m] = 1;
    const above = rows[m - 1];
    if (above) for (let j = 1; j < m; j++) row[j] = (above[j - 1] as number) + (above[j] as number);
    rows.push(row);
  }
  return rows;
}

/** Product of two polynomials (coefficient arrays), dropping terms above `maxDegree`. */
function multiply(a: Float64Array, b: Float64Array, maxDegree: number): Float64Array {
  const out = new Float64Array(Math.min(a.length + b.length - 2, maxDegree) + 1);
  for (let i = 0; i < a.length && i <= maxDegree; i++) {
    const ai = a[i] as number;
    if (ai === 0) continue;
    for (let j = 0; j < b.length && i + j <= maxDegree; j++) out[i + j] = (out[i + j] as number) + ai * (b[j] as number);
  }
  return out;
}

/**
 * favourable[k] = how many k-subsets of the chains (k = 0…maxK) have a correct `vote` winner, under
 * vote's own tie rule applied to the subset in chain order.
 *
 * A subset's winner is correct answer c with count x whose first chosen chain is p (c's r-th chain, 0-based)
 * exactly when every other answer d has fewer than x chains in the subset, or exactly x all after p.
 * For fixed (c, x, p) the other answers are independent, so the number of ways to pick j more chains is the
 * z^j coefficient of
 *   C(m_c − r − 1, x − 1) · Π_{d ≠ c} ( Σ_{i<x} C(m_d, i) z^i + C(after_d(p), x) z^x ) · (1 + z)^invalid
 * (m_d: chains of d; after_d(p): chains of d after p). Answers with m_d < x can never reach x, so their factor
 * is (1 + z)^{m_d}: they merge with the invalid chains into one binomial, and only the answers with m_d ≥ x
 * (at most n/x of them) need the product. Summing over p before multiplying by that binomial keeps the whole
 * curve near O(n³) in the worst case. Each (c, x, p) event is disjoint, so the sum counts every subset once.
 */
function favourableSubsets(answers: readonly (string | undefined)[], isCorrect: (answer: string) => boolean, maxK: number): Float64Array {
  const n = answers.length;
  const positions = new Map<string, number[]>();
  let invalid = 0;
  answers.forEach((answer, index) => {
    if (answer === undefined) invalid++;
    else {
      const list = positions.get(answer);
      if (list) list.push(index);
      else positions.set(answer, [index]);
    }
  });
  const choose = pascal(n);
  const binomial = (m: number, j: number): number => (j < 0 || j > m ? 0 : ((choose[m] as Float64Array)[j] as number));
  const classes = [...positions.entries()];
  const favourable = new Float64Array(maxK + 1);

  for (const [answer, own] of classes) {
    if (!isCorrect(answer)) continue;
    const mc = own.length;
    for (let x = 1; x <= Math.min(mc, maxK); x++) {
      const room = maxK - x;
      const rivals = classes.filter(([other, chains]) => other !== answer && chains.length >= x).map(([, chains]) => chains);
      const free = invalid + classes.reduce((sum, [other, chains]) => sum + (other !== answer && chains.length < x ? chains.length : 0), 0);
      const below = rivals.map((chains) => Float64Array.from({ length: x + 1 }, (_, i) => (i < x ? binomial(chains.length, i) : 0)));
      // Chains of each rival before p, advanced as p moves forward through c's chains.
      const passed = rivals.map(() => 0);
      let sum: Float64Array = new Float64Array(room + 1);
      for (let r = 0; r + x <= mc; r++) {
        const p = own[r] as number;
        let product: Float64Array = Float64Array.of(1);
        rivals.forEach((chains, i) => {
          let before = passed[i] as number;
          while (before < chains.length && (chains[before] as number) < p) before++;
          passed[i] = before;
          const factor = below[i] as Float64Array;
          factor[x] = binomial(chains.length - before, x);
          product = multiply(product, factor, room);
        });
        const ways = binomial(mc - r - 1, x - 1);
        product.forEach((value, j) => {
          sum[j] = (sum[j] as number) + ways * value;
        });
      }
      sum = multiply(sum, (choose[free] as Float64Array).subarray(0, room + 1), room);
      sum.forEach((value, j) => {
        favourable[x + j] = (favourable[x + j] as number) + value;
      });
    }
  }
  return favourable;
}

function checkedCurve(answers: readonly (string | undefined)[], isCorrect: (answer: string) => boolean, maxK: number): number[] {
  const favourable = favourableSubsets(answers, isCorrect, maxK);
  const row = pascal(answers.length).at(-1) as Float64Array;
  return Array.from({ length: maxK }, (_, i) => Math.min(1, (favourable[i + 1] as number) / (row[i + 1] as number)));
}

/**
 * maj@k: the probability that the majority vote of k chains drawn without replacement from these n is
 * correct — the exact mean over all C(n, k) subsets, not the first k chains. That makes it an unbiased
 * estimator of majority-vote accuracy with k samples.
 *
 *   maj@k = (1 / C(n, k)) · Σ_{S ⊆ chains, |S| = k} [vote(S).majority is correct]
 *
 * vote(S) uses `vote`'s rule on the subset in chain order (ties go to the answer the subset shows first),
 * so maj@n is exactly the correctness of vote over all chains and maj@1 the share of correct chains.
 * Invalid chains take places in a subset but never win; a subset of only invalid chains is wrong.
 * Computed exactly by counting (see favourableSubsets), not by sampling.
 */
export function majAtK(answers: readonly (string | undefined)[], isCorrect: (answer: string) => boolean, k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > answers.length)
    throw new RangeError(`maj@k needs 1 ≤ k ≤ ${answers.length} chains, got k = ${k}`);
  return checkedCurve(answers, isCorrect, k)[k - 1] as number;
}

/** maj@k for k = 1…n (one pass computes them all); empty without chains. */
export function majAtKCurve(answers: readonly (string | undefined)[], isCorrect: (answer: string) => boolean): number[] {
  return checkedCurve(answers, isCorrect, answers.length);
}

/** The normal quantile of a two-sided 95% interval. */
export const Z95 = 1.959964;

/**
 * Wilson score interval of a proportion (default z: 95%), [0, 1] without trials:
 *   centre = (p̂ + z²/2n) / (1 + z²/n),  half = z·√(p̂(1 − p̂)/n + z²/4n²) / (1 + z²/n).
 * Unlike p̂ ± z·√(p̂(1 − p̂)/n) it stays inside [0, 1] and is not empty at 0 or n successes.
 */
export function wilson(successes: number, trials: number, z = Z95): { low: number; high: number } {
  return trials === 0 ? { low: 0, high: 1 } : wilsonAt(successes / trials, trials, z);
}

/** The Wilson interval of proportion p over n trials, n not necessarily whole (an effective sample size). */
function wilsonAt(p: number, n: number, z: number): { low: number; high: number } {
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  // At 0 or n successes the bound is exactly 0 or 1; rounding would leave a hair off it.
  return { low: p <= 0 ? 0 : Math.max(0, centre - half), high: p >= 1 ? 1 : Math.min(1, centre + half) };
}

/** One case's contribution to a clustered mean: the sum of its chains' outcomes (0/1 or a score in [0, 1]) and its chain count. */
export interface Cluster {
  sum: number;
  count: number;
}

/** A mean over clustered observations with its case-level standard error and 95% interval. */
export interface ClusteredEstimate {
  value: number;
  /** Cluster-robust standard error; null with fewer than two cases (no spread between cases to measure). */
  se: number | null;
  low: number;
  high: number;
  /** Cases with at least one observation: the independent units. */
  cases: number;
  /** The sample size whose Wilson interval the estimate uses: p̂(1 − p̂)/SE², kept within [cases, trials]. */
  effectiveTrials: number;
}

/**
 * The mean of observations that come in cases (the chains of one case share its difficulty), with the
 * cluster-robust standard error of the ratio estimator (Miller 2024, "Adding Error Bars to Evals"):
 *   p̂ = Σy_i / Σn_i,   SE² = C/(C − 1) · Σ(y_i − p̂·n_i)² / (Σn_i)²
 * over the C cases with n_i > 0 (y_i: the case's sum). Unequal n_i (a cancelled run) are fine.
 *
 * The interval is Wilson's at the effective sample size n_eff = p̂(1 − p̂)/SE² (N/design effect, Kish):
 * about p̂ ± z·SE with many cases, but inside [0, 1] and not a point at 0% or 100%. n_eff is kept within
 * [C, N] (N = `maxTrials`, default Σn_i) because with chains independent given the case (and equal n_i;
 * roughly otherwise) Var p̂ = Var(p_i)/C + E[p_i(1 − p_i)]/N lies between p(1 − p)/N and p(1 − p)/C; the SE
 * estimate strays outside by chance, most with few cases. Where it says nothing — p̂ at 0 or 1, or fewer than two cases — n_eff is
 * C, the cautious end. With one case the interval is Wilson's with n = 1: it speaks of this case only.
 * `maxTrials` lets a mean of per-case values (maj@k: each case weighs 1) keep the chains as its ceiling.
 */
export function clusteredMean(clusters: readonly Cluster[], maxTrials?: number, z = Z95): ClusteredEstimate {
  const sums = emptyClusterSums();
  for (const cluster of clusters) addCluster(sums, cluster);
  return clusteredMeanOfSums(sums, maxTrials, z);
}

/**
 * Running sums of clusters: all `clusteredMean` needs, since Σ(y_i − p̂·n_i)² = Σy² − 2p̂·Σyn + p̂²·Σn².
 * A case enters with `addCluster` and, when it changes, leaves with sign −1 before it enters again (live.ts).
 */
export interface ClusterSums {
  /** Cases with at least one observation. */
  cases: number;
  /** Σy_i */
  sum: number;
  /** Σn_i */
  count: number;
  /** Σy_i² */
  sumSquares: number;
  /** Σy_i·n_i */
  crossProducts: number;
  /** Σn_i² */
  countSquares: number;
}

export function emptyClusterSums(): ClusterSums {
  return { cases: 0, sum: 0, count: 0, sumSquares: 0, crossProducts: 0, countSquares: 0 };
}

/** Adds a case's terms to the sums (sign −1 takes them out again); a case without observations is no case. */
export function addCluster(sums: ClusterSums, cluster: Cluster, sign: 1 | -1 = 1): void {
  if (cluster.count <= 0) return;
  sums.cases += sign;
  if (sums.cases === 0) {
    // Nothing left: drop what float rounding left behind.
    Object.assign(sums, emptyClusterSums());
    return;
  }
  sums.sum += sign * cluster.sum;
  sums.count += sign * cluster.count;
  sums.sumSquares += sign * cluster.sum * cluster.sum;
  sums.crossProducts += sign * cluster.sum * cluster.count;
  sums.countSquares += sign * cluster.count * cluster.count;
}

/** `clusteredMean` from running sums (see there for the estimator). */
export function clusteredMeanOfSums(sums: Readonly<ClusterSums>, maxTrials?: number, z = Z95): ClusteredEstimate {
  const { cases, count: total } = sums;
  if (cases <= 0 || total <= 0) return { value: 0, se: null, low: 0, high: 1, cases: 0, effectiveTrials: 0 };
  const value = Math.min(1, Math.max(0, sums.sum / total));
  const ceiling = Math.max(cases, maxTrials ?? total);
  let se: number | null = null;
  let effectiveTrials = cases;
  if (cases > 1) {
    const squares = squaredDeviations(sums, value);
    se = Math.sqrt(((cases / (cases - 1)) * squares) / (total * total));
    const spread = value * (1 - value);
    // SE = 0 inside (0, 1): equal case means, the limit of the formula is the ceiling.
    if (spread > 0) effectiveTrials = se === 0 ? ceiling : Math.min(ceiling, Math.max(cases, spread / (se * se)));
  }
  return { value, se, ...wilsonAt(value, effectiveTrials, z), cases, effectiveTrials };
}

/**
 * Σ(y_i − p̂·n_i)² from the sums. Whole counts (passing chains) are exact: N²·Σy² − 2YN·Σyn + Y²·Σn² in
 * integers, over N², so equal case means give exactly 0. Fractional sums (scores, maj@k) cancel in
 * floating point: a remainder at the level of rounding is taken as 0, else the SE of equal means would be
 * √(rounding), about 1e-8, and differ between a summary from scratch and one updated record by record.
 */
function squaredDeviations(sums: Readonly<ClusterSums>, value: number): number {
  const { sum, count, sumSquares, crossProducts, countSquares } = sums;
  const whole = [sum, count, sumSquares, crossProducts, countSquares].every(Number.isSafeInteger);
  if (whole && sum >= 0 && sum <= count) {
    const [y, n] = [BigInt(sum), BigInt(count)];
    const scaled = n * n * BigInt(sumSquares) - 2n * y * n * BigInt(crossProducts) + y * y * BigInt(countSquares);
    return Number(scaled) / (count * count);
  }
  const terms = [sumSquares, 2 * value * crossProducts, value * value * countSquares] as const;
  const squares = terms[0] - terms[1] + terms[2];
  // What is left of equal case means is rounding of the terms (and of sums updated many times): it is 0.
  const noise = 1e-10 * (Math.abs(terms[0]) + Math.abs(terms[1]) + Math.abs(terms[2]));
  return squares <= noise ? 0 : squares;
}

/** Arithmetic mean; NaN for no values (there is no mean to show). */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
