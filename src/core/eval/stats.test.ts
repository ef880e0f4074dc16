import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { majAtK, majAtKCurve, vote, wilson } from './stats';

const close = (actual: number, expected: number, digits = 9): void => assert.ok(Math.abs(actual - expected) < 10 ** -digits, `${actual} ≠ ${expected}`);

/** Every k-subset, majority with ties counted 1/t — the definition majAtK must equal. */
function bruteForce(answers: readonly (string | undefined)[], correct: (a: string) => boolean, k: number): number {
  const n = answers.length;
  let total = 0;
  let subsets = 0;
  const pick = (start: number, chosen: number[]): void => {
    if (chosen.length === k) {
      subsets++;
      const counts = new Map<string, number>();
      for (const i of chosen) {
        const answer = answers[i];
        if (answer !== undefined) counts.set(answer, (counts.get(answer) ?? 0) + 1);
      }
      const best = Math.max(0, ...counts.values());
      const tied = [...counts.entries()].filter(([, c]) => c === best && best > 0).map(([a]) => a);
      if (tied.length > 0) total += tied.filter(correct).length / tied.length;
      return;
    }
    for (let i = start; i < n; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return total / subsets;
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
    // Chains W W R R R. First-k: maj@1 = 0 (W), maj@3 = 0 (W W R).
    // All subsets: k=1: 3/5. k=2: RR 3 subsets win, RW 6 ties count 1/2, WW 1 loses → (3 + 3)/10.
    // k=3: at least two R: C(3,2)·C(2,1) + C(3,3) = 7 of 10. k=5: R R R beats W W.
    const chains = ['W', 'W', 'R', 'R', 'R'];
    close(majAtK(chains, right, 1), 0.6);
    close(majAtK(chains, right, 2), 0.6);
    close(majAtK(chains, right, 3), 0.7);
    close(majAtK(chains, right, 5), 1);
    // k=4 drops one chain: a W (2 ways) leaves R winning; an R (3 ways) leaves a tie worth ½ → 3.5/5.
    assert.deepEqual(majAtKCurve(chains, right).map((v) => Number(v.toFixed(6))), [0.6, 0.6, 0.7, 0.7, 1]);
  });

  it('counts invalid chains as places that never win', () => {
    // {u,R} → R, {u,W} → W, {R,W} → tie ½: (1 + 0 + ½) / 3.
    close(majAtK([undefined, 'R', 'W'], right, 2), 0.5);
    close(majAtK([undefined, 'R', 'W'], right, 1), 1 / 3);
    close(majAtK([undefined, undefined], right, 1), 0);
  });

  it('equals maj@1 = share of correct chains, and maj@n = the vote of all chains when nothing ties', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.constantFrom('R', 'A', 'B'), { nil: undefined }), { minLength: 1, maxLength: 12 }), (chains) => {
        close(majAtK(chains, right, 1), chains.filter((c) => c === 'R').length / chains.length);
        const voted = vote(chains);
        const top = voted.counts[0]?.count ?? 0;
        const tied = voted.counts.filter((c) => c.count === top).length;
        if (tied === 1) close(majAtK(chains, right, chains.length), voted.majority === 'R' ? 1 : 0);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('matches brute-force enumeration of every subset', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.constantFrom('R', 'S', 'A', 'B', 'C'), { nil: undefined }), { minLength: 1, maxLength: 11 }),
        fc.integer({ min: 1, max: 11 }),
        (chains, kRaw) => {
          const k = 1 + ((kRaw - 1) % chains.length);
          // Two correct spellings (R and S) exercise several correct answers at once.
          const correct = (a: string): boolean => a === 'R' || a === 'S';
          close(majAtK(chains, correct, k), bruteForce(chains, correct, k));
        },
      ),
      { numRuns: 400, seed: 5 },
    );
  });

  it('is fast enough for 64 chains of 20 distinct answers', () => {
    const chains = Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? 'R' : String(i % 20)));
    const started = Date.now();
    const curve = majAtKCurve(chains, right);
    assert.equal(curve.length, 64);
    assert.ok(curve.every((v) => v >= 0 && v <= 1 + 1e-9));
    assert.ok(Date.now() - started < 5_000);
  });
});

describe('wilson', () => {
  it('gives the 95% score interval', () => {
    const interval = wilson(8, 10);
    assert.equal(interval.low.toFixed(3), '0.490');
    assert.equal(interval.high.toFixed(3), '0.943');
    const zero = wilson(0, 20);
    assert.equal(zero.low, 0);
    assert.equal(zero.high.toFixed(3), '0.161');
    assert.deepEqual(wilson(0, 0), { low: 0, high: 1 });
    const all = wilson(5, 5);
    assert.equal(all.high, 1);
    assert.equal(all.low.toFixed(3), '0.566');
  });
});
