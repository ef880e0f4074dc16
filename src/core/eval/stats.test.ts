import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { majAtK, majAtKCurve, mean, vote, wilson } from './stats';

const close = (actual: number, expected: number, digits = 9): void => assert.ok(Math.abs(actual - expected) < 10 ** -digits, `${actual} ≠ ${expected}`);

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
    assert.deepEqual(result.counts.map((c) => [c.answer, c.count]), [['7', 2], ['5', 2]]);
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
    assert.deepEqual(majAtKCurve(chains, right).map((v) => Number(v.toFixed(9))), [0.6, 0.3, 0.7, 0.4, 1]);
    // Ties follow chain order: with R first, every R–W pair goes to R → (3 + 6)/10 at k=2, and R R W W at k=4 too → 1.
    assert.deepEqual(majAtKCurve(['R', 'R', 'R', 'W', 'W'], right).map((v) => Number(v.toFixed(9))), [0.6, 0.9, 0.7, 1, 1]);
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
      assert.ok(curve.every((v) => v >= 0 && v <= 1), name);
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

describe('mean', () => {
  it('averages, and is NaN without values', () => {
    assert.equal(mean([1, 2, 4, 5]), 3);
    assert.ok(Number.isNaN(mean([])));
  });
});
