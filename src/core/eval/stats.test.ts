import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { clusteredMean, majAtK, majAtKCurve, mean, vote, wilson, type Cluster } from './stats';

const close = (actual: number, expected: number, digits = 9): void =>
  assert.ok(Math.abs(actual - expected) < 10 ** -digits, `${actual} ≠ ${expected}`);

/** The definition majAtK must equal: the vote of every k-subset, taken in chain order. */
function bruteForce(answers: readonly (string | undefined)[], correct: (a: string) => boolean, k: number): number {
  let wins = 0;
  let subsets = 0;
  const pick = (start: number, chosen: (string | undefined)[]): void => {
    if (chosen.length === k) {
      subsets++;
      const { majority } = vote(chosen);
      if (majority !== undefined && correct(majority)) wins++;
      return;
    }
    for (let i = start; i < answers.length; i++) pick(i + 1, [...chosen, answers[i]]);
  };
  pick(0, []);
  return wins / subsets;
}

describe('vote', () => {
  it('takes the most frequent answer, ties to the first seen, and never an invalid chain', () => {
    const result = vote(['7', '5', '5', undefined, '7', undefined, undefined]);
    assert.equal(result.majority, '7'); // 7 and 5 tie at 2; 7 came first
    assert.deepEqual(
      result.counts.map((c) => [c.answer, c.count]),
      [
        ['7', 2],
        ['5', 2],
      ],
    );
    close(result.agreement, 2 / 7);
    assert.equal(result.valid, 4);
    // Categories 2/7, 2/7, 3/7 (invalid): H = −Σ p log2 p.
    close(result.entropy, -(2 * (2 / 7) * Math.log2(2 / 7) + (3 / 7) * Math.log2(3 / 7)));
  });

  it('has zero entropy and full agreement when all chains agree, and no majority without answers', () => {
    const unanimous = vote(['4', '4', '4']);
    assert.equal(unanimous.entropy, 0);
    assert.equal(unanimous.agreement, 1);
    const none = vote([undefined, undefined]);
    assert.equal(none.majority, undefined);
    assert.equal(none.agreement, 0);
    assert.equal(none.entropy, 0);
  });
});

describe('majAtK', () => {
  const right = (answer: string): boolean => answer === 'R';

  it('averages over all k-subsets, where the first k chains would say otherwise (hand-computed)', () => {
    // Chains W W R R R. The first k chains say maj@1 = 0 (W) and maj@3 = 0 (W W R). Over all subsets:
    // k=1: 3 of 5 chains are R → 3/5.
    // k=2: RR (C(3,2) = 3) wins; RW (3·2 = 6) ties 1–1 and W shows first in every such pair; WW (1) loses → 3/10.
    // k=3: at least two R: C(3,2)·C(2,1) + C(3,3) = 7 of C(5,3) = 10 → 7/10 (three chains of two answers never tie).
    // k=4: leaving out a W (2 ways) gives R R R W → R; leaving out an R (3 ways) ties W W R R, W first → 2/5.
    // k=5: R R R beats W W → 1.
    const chains = ['W', 'W', 'R', 'R', 'R'];
    close(majAtK(chains, right, 1), 0.6);
    close(majAtK(chains, right, 3), 0.7);
    assert.deepEqual(
      majAtKCurve(chains, right).map((v) => Number(v.toFixed(9))),
      [0.6, 0.3, 0.7, 0.4, 1],
    );
    // Ties follow chain order: with R first, every R–W pair goes to R → (3 + 6)/10 at k=2, and R R W W at k=4 too → 1.
    assert.deepEqual(
      majAtKCurve(['R', 'R', 'R', 'W', 'W'], right).map((v) => Number(v.toFixed(9))),
      [0.6, 0.9, 0.7, 1, 1],
    );
  });

  it('counts invalid chains as places that never win', () => {
    // {u,R} → R, {u,W} → W, {R,W} → tie, R shows first → (1 + 0 + 1) / 3.
    close(majAtK([undefined, 'R', 'W'], right, 2), 2 / 3);
    close(majAtK([undefined, 'R', 'W'], right, 1), 1 / 3);
    close(majAtK([undefined, undefined], right, 1), 0);
    close(majAtK([undefined, undefined, 'R'], right, 1), 1 / 3);
    // Only {u,u} of the three pairs lacks the R.
    close(majAtK([undefined, undefined, 'R'], right, 2), 2 / 3);
  });

  it('rejects k outside 1…n, and has an empty curve without chains', () => {
    assert.throws(() => majAtK(['R'], right, 0), RangeError);
    assert.throws(() => majAtK(['R'], right, 2), RangeError);
    assert.throws(() => majAtK(['R', 'W'], right, 1.5), RangeError);
    assert.deepEqual(majAtKCurve([], right), []);
  });

  it('equals maj@1 = share of correct chains, and maj@n = the vote of all chains, ties included', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.constantFrom('R', 'A', 'B'), { nil: undefined }), { minLength: 1, maxLength: 40 }), (chains) => {
        const curve = majAtKCurve(chains, right);
        close(curve[0] ?? Number.NaN, chains.filter((c) => c === 'R').length / chains.length);
        close(curve.at(-1) ?? Number.NaN, vote(chains).majority === 'R' ? 1 : 0);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('matches brute-force enumeration of every subset', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.constantFrom('R', 'S', 'A', 'B', 'C'), { nil: undefined }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 12 }),
        (chains, kRaw) => {
          const k = 1 + ((kRaw - 1) % chains.length);
          // Two correct spellings (R and S) exercise several correct answers at once.
          const correct = (a: string): boolean => a === 'R' || a === 'S';
          close(majAtK(chains, correct, k), bruteForce(chains, correct, k));
          close(majAtKCurve(chains, correct)[k - 1] ?? Number.NaN, bruteForce(chains, correct, k));
        },
      ),
      { numRuns: 500, seed: 5 },
    );
  });

  it('stays a probability and is fast for 256 chains', () => {
    const shapes: [string, (i: number) => string | undefined][] = [
      ['two even camps', (i) => (i % 2 ? 'R' : 'W')],
      ['a long tail', (i) => (i % 3 === 0 ? 'R' : i % 17 === 0 ? undefined : String(i % 30))],
      ['three camps', (i) => ['R', 'A', 'B'][i % 3]],
      ['unanimous', () => 'R'],
    ];
    for (const [name, shape] of shapes) {
      const chains = Array.from({ length: 256 }, (_, i) => shape(i));
      const started = performance.now();
      const curve = majAtKCurve(chains, right);
      const elapsed = performance.now() - started;
      assert.equal(curve.length, 256);
      assert.ok(
        curve.every((v) => v >= 0 && v <= 1),
        name,
      );
      close(curve.at(-1) ?? Number.NaN, vote(chains).majority === 'R' ? 1 : 0);
      assert.ok(elapsed < 2_000, `${name}: ${elapsed.toFixed(0)} ms`);
    }
  });
});

describe('wilson', () => {
  // Reference values: Wilson (1927) score interval at z = 1.959964, as in R's prop.test(correct = FALSE).
  const table: [number, number, string, string][] = [
    [8, 10, '0.490', '0.943'],
    [0, 20, '0.000', '0.161'],
    [5, 5, '0.566', '1.000'],
    [1, 2, '0.095', '0.905'],
    [50, 100, '0.404', '0.596'],
  ];
  for (const [successes, trials, low, high] of table) {
    it(`${successes}/${trials} → [${low}, ${high}]`, () => {
      const interval = wilson(successes, trials);
      assert.equal(interval.low.toFixed(3), low);
      assert.equal(interval.high.toFixed(3), high);
    });
  }

  it('is [0, 1] without trials and exact at the ends', () => {
    assert.deepEqual(wilson(0, 0), { low: 0, high: 1 });
    assert.equal(wilson(0, 7).low, 0);
    assert.equal(wilson(7, 7).high, 1);
  });
});

describe('clusteredMean', () => {
  const z = 1.959964;
  /** Wilson's interval of proportion p at a possibly fractional n, by its closed formula. */
  const wilsonAt = (p: number, n: number): [number, number] => {
    const centre = p + (z * z) / (2 * n);
    const half = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
    const denominator = 1 + (z * z) / n;
    return [(centre - half) / denominator, (centre + half) / denominator];
  };
  const near = (actual: number | null, expected: number, what: string): void =>
    assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);
  const cases = (...pairs: [number, number][]): Cluster[] => pairs.map(([sum, count]) => ({ sum, count }));

  it('gives 4/4, 2/4, 0/4 twice the binomial standard error, and a Wilson interval at n_eff = 3 cases (hand-computed)', () => {
    const estimate = clusteredMean(cases([4, 4], [2, 4], [0, 4]));
    // p̂ = 6/12 = 0.5; SE² = 3/2 · ((4−2)² + (2−2)² + (0−2)²) / 12² = 3/2 · 8/144 = 1/12.
    near(estimate.value, 0.5, 'value');
    near(estimate.se, Math.sqrt(1 / 12), 'se'); // ≈ 0.2887, vs the binomial √(0.25/12) ≈ 0.1443 over chains
    near((estimate.se ?? 0) / Math.sqrt(0.25 / 12), 2, 'ratio to binomial');
    // n_eff = p̂(1 − p̂)/SE² = 0.25 · 12 = 3: no more information than three cases.
    near(estimate.effectiveTrials, 3, 'effectiveTrials');
    assert.equal(estimate.cases, 3);
    const [low, high] = wilsonAt(0.5, 3); // ≈ [0.125, 0.875]
    near(estimate.low, low, 'low');
    near(estimate.high, high, 'high');
    const naive = wilson(6, 12); // ≈ [0.254, 0.746]
    assert.ok(estimate.high - estimate.low > naive.high - naive.low + 0.2);
  });

  it('handles unequal chain counts (a cancelled run) with the ratio estimator (hand-computed)', () => {
    // 3/3, 0/2, 2/2, 1/3, 0/2: p̂ = 6/12 = 0.5; residuals y − p̂n: 1.5, −1, 1, −0.5, −1; Σ² = 5.5.
    const estimate = clusteredMean(cases([3, 3], [0, 2], [2, 2], [1, 3], [0, 2]));
    near(estimate.value, 0.5, 'value');
    near(estimate.se, Math.sqrt(((5 / 4) * 5.5) / 144), 'se'); // SE² = 5/4 · 5.5/144 ≈ 0.0477
    near(estimate.effectiveTrials, 0.25 / (((5 / 4) * 5.5) / 144), 'effectiveTrials'); // 36/6.875 ≈ 5.24, inside [5, 12]
    const [low, high] = wilsonAt(0.5, 36 / 6.875);
    near(estimate.low, low, 'low');
    near(estimate.high, high, 'high');
  });

  it('keeps n_eff within [cases, chains]: equal case means give SE = 0 and the binomial interval over chains', () => {
    // 2/4 three times: no spread between cases, so nothing wider than the chains themselves justify.
    const equal = clusteredMean(cases([2, 4], [2, 4], [2, 4]));
    near(equal.se, 0, 'se');
    assert.equal(equal.effectiveTrials, 12);
    assert.deepEqual([equal.low, equal.high], [wilson(6, 12).low, wilson(6, 12).high]);
    // 3/4, 1/2, 2/2: p̂ = 6/8; residuals 0, −0.5, 0.5; SE² = 3/2 · 0.5/64; n_eff = 0.1875/SE² = 16 → the 8 chains.
    const under = clusteredMean(cases([3, 4], [1, 2], [2, 2]));
    near(under.se, Math.sqrt((1.5 * 0.5) / 64), 'se');
    assert.equal(under.effectiveTrials, 8);
    // 4/4, 0/2, 1/2: p̂ = 5/8; Σ² = 1.5² + 1.25² + 0.25² = 3.875; n_eff = 0.234375 / (1.5 · 3.875/64) ≈ 2.58 → 3 cases.
    const over = clusteredMean(cases([4, 4], [0, 2], [1, 2]));
    near(over.se, Math.sqrt((1.5 * 3.875) / 64), 'se');
    assert.equal(over.effectiveTrials, 3);
  });

  it('falls back to n = cases at 0% or 100%, to Wilson at n = 1 for one case, and to [0, 1] for none', () => {
    const all = clusteredMean(cases([4, 4], [4, 4], [4, 4]));
    assert.deepEqual([all.value, all.se, all.effectiveTrials, all.low, all.high], [1, 0, 3, wilson(3, 3).low, 1]);
    const none = clusteredMean(cases([0, 4], [0, 4]));
    assert.deepEqual([none.effectiveTrials, none.low, none.high], [2, 0, wilson(0, 2).high]);
    // One case: no spread between cases to measure, so no SE, and an interval that speaks of this case only.
    const one = clusteredMean(cases([3, 4]));
    assert.equal(one.se, null);
    assert.equal(one.effectiveTrials, 1);
    const [low, high] = wilsonAt(0.75, 1);
    near(one.low, low, 'low');
    near(one.high, high, 'high');
    assert.deepEqual(clusteredMean(cases([0, 0])), { value: 0, se: null, low: 0, high: 1, cases: 0, effectiveTrials: 0 });
  });

  it('takes a ceiling for per-case values (maj@k: each case one unit, its chains the ceiling)', () => {
    // Per-case values 1, 0.5, 0: mean 0.5; SE² = 3/2 · (0.25 + 0 + 0.25)/9 = 1/12; n_eff = 3 either way.
    const values = cases([1, 1], [0.5, 1], [0, 1]);
    near(clusteredMean(values, 12).se, Math.sqrt(1 / 12), 'se');
    // 0.9, 0.8, 0.85, 0.75: spread small, so n_eff is above the 4 cases but held at the 40 chains.
    const tight = clusteredMean(cases([0.9, 1], [0.8, 1], [0.85, 1], [0.75, 1]), 40);
    assert.equal(clusteredMean(cases([0.9, 1], [0.8, 1], [0.85, 1], [0.75, 1])).effectiveTrials, 4); // no ceiling: the cases
    assert.ok(tight.effectiveTrials > 4 && tight.effectiveTrials <= 40, String(tight.effectiveTrials));
  });

  it('always holds its value, stays in [0, 1], keeps n_eff in [cases, chains] and is never narrower than the naive interval', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.integer({ min: 1, max: 8 }).chain((n) => fc.tuple(fc.integer({ min: 0, max: n }), fc.constant(n))),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        (pairs) => {
          const estimate = clusteredMean(cases(...pairs));
          const successes = pairs.reduce((sum, [y]) => sum + y, 0);
          const trials = pairs.reduce((sum, [, n]) => sum + n, 0);
          assert.ok(estimate.low <= estimate.value && estimate.value <= estimate.high);
          assert.ok(estimate.low >= 0 && estimate.high <= 1);
          assert.ok(estimate.effectiveTrials >= pairs.length && estimate.effectiveTrials <= trials);
          const naive = wilson(successes, trials);
          assert.ok(estimate.high - estimate.low >= naive.high - naive.low - 1e-12);
        },
      ),
      { seed: 19, numRuns: 300 },
    );
  });

  describe('coverage of the true accuracy (seeded simulation)', () => {
    /** mulberry32: a small seeded generator, so every run simulates the same data. */
    const generator =
      (seed: number): (() => number) =>
      () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    const runs = 400;
    const caseCount = 40;
    const chains = 5;
    /** Simulates `runs` evaluations whose cases draw their own accuracy; returns coverage and mean width of both intervals. */
    type Coverage = Record<'clustered' | 'naive' | 'widthRatio', number>;
    function simulate(seed: number, caseAccuracy: (random: () => number) => number, truth: number): Coverage {
      const random = generator(seed);
      let clustered = 0;
      let naive = 0;
      let widths = 0;
      for (let run = 0; run < runs; run++) {
        const clusters = Array.from({ length: caseCount }, () => {
          const p = caseAccuracy(random);
          let sum = 0;
          for (let chain = 0; chain < chains; chain++) if (random() < p) sum++;
          return { sum, count: chains };
        });
        const estimate = clusteredMean(clusters);
        const binomial = wilson(
          clusters.reduce((sum, c) => sum + c.sum, 0),
          caseCount * chains,
        );
        if (estimate.low <= truth && truth <= estimate.high) clustered++;
        if (binomial.low <= truth && truth <= binomial.high) naive++;
        widths += (estimate.high - estimate.low) / (binomial.high - binomial.low);
      }
      return { clustered: clustered / runs, naive: naive / runs, widthRatio: widths / runs };
    }

    it('covers about 95% when chains are independent and cases alike, as the binomial interval does', () => {
      const result = simulate(1, () => 0.7, 0.7);
      assert.ok(result.clustered >= 0.91 && result.clustered <= 0.99, `clustered ${result.clustered}`);
      assert.ok(result.naive >= 0.91, `naive ${result.naive}`);
      assert.ok(result.widthRatio < 1.15, `width ratio ${result.widthRatio}`); // no needless widening
    });

    it('covers about 95% when cases are all-or-nothing, where the binomial interval over chains does not', () => {
      // Each case is always right (p = 1) or always wrong (p = 0), 70% of them right: 5 chains say what 1 does.
      const result = simulate(2, (random) => (random() < 0.7 ? 1 : 0), 0.7);
      assert.ok(result.clustered >= 0.91, `clustered ${result.clustered}`);
      assert.ok(result.naive < 0.75, `naive ${result.naive}`);
      assert.ok(result.widthRatio > 2, `width ratio ${result.widthRatio}`); // about √5
    });

    it('covers about 95% with case difficulty spread in between (p uniform on [0.4, 1])', () => {
      const result = simulate(3, (random) => 0.4 + 0.6 * random(), 0.7);
      assert.ok(result.clustered >= 0.91 && result.clustered <= 0.99, `clustered ${result.clustered}`);
      assert.ok(result.naive < result.clustered, `naive ${result.naive} vs clustered ${result.clustered}`);
    });
  });
});

describe('mean', () => {
  it('averages, and is NaN without values', () => {
    assert.equal(mean([1, 2, 4, 5]), 3);
    assert.ok(Number.isNaN(mean([])));
  });
});
