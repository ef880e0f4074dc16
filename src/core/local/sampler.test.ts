import * as assert from 'node:assert/strict';
import { seededRandom } from '../random';
import { Sampler } from './sampler';

/** Token counts of `draws` picks. */
function histogram(vocab: number, draws: number, pick: () => number): number[] {
  const counts = new Array<number>(vocab).fill(0);
  for (let i = 0; i < draws; i++) counts[pick()]! += 1;
  return counts;
}

/** Pearson's chi-square statistic of `counts` against `probabilities`. */
function chiSquare(counts: number[], probabilities: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((sum, count, i) => {
    const expected = total * (probabilities[i] as number);
    return expected > 0 ? sum + (count - expected) ** 2 / expected : sum;
  }, 0);
}

const LOGITS = Float32Array.from([2, 1, 0.5, 0, -1, -3, 1.5, 0.25]);

function softmax(logits: Float32Array, temperature: number): number[] {
  const max = Math.max(...logits);
  const weights = Array.from(logits, (value) => Math.exp((value - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((weight) => weight / total);
}

describe('Sampler', () => {
  // 7 degrees of freedom: chi-square above 24.3 has probability 0.001 under the right distribution.
  const CRITICAL = 24.3;

  it('samples logits at a temperature with the softmax distribution', () => {
    const sampler = new Sampler({ temperature: 0.7, topK: 0, topP: 1 });
    const random = seededRandom(7);
    const counts = histogram(LOGITS.length, 40_000, () => sampler.pick(LOGITS, random));
    assert.ok(chiSquare(counts, softmax(LOGITS, 0.7)) < CRITICAL, String(counts));
    // And it is not the uniform distribution.
    assert.ok(chiSquare(counts, new Array<number>(8).fill(1 / 8)) > 1000);
  });

  it('samples precomputed probabilities with the same distribution, and picks what the logits pick for the same draws', () => {
    const sampler = new Sampler({ temperature: 0.7, topK: 0, topP: 1 });
    assert.equal(sampler.readsProbabilities, true);
    const probabilities = Float32Array.from(softmax(LOGITS, 0.7));
    const random = seededRandom(11);
    const counts = histogram(LOGITS.length, 40_000, () => sampler.pickFromProbabilities(probabilities, random));
    assert.ok(chiSquare(counts, softmax(LOGITS, 0.7)) < CRITICAL, String(counts));
    const [a, b] = [seededRandom(3), seededRandom(3)];
    let same = 0;
    for (let i = 0; i < 2000; i++) same += sampler.pick(LOGITS, a) === sampler.pickFromProbabilities(probabilities, b) ? 1 : 0;
    assert.equal(same, 2000);
  });

  it('never picks a zeroed probability, and renormalizes over the rest', () => {
    const sampler = new Sampler({ temperature: 1, topK: 0, topP: 1 });
    const probabilities = Float32Array.from(softmax(LOGITS, 1));
    probabilities[0] = 0;
    const rest = softmax(LOGITS, 1).map((p, i) => (i === 0 ? 0 : p));
    const total = rest.reduce((x, y) => x + y, 0);
    const random = seededRandom(5);
    const counts = histogram(LOGITS.length, 40_000, () => sampler.pickFromProbabilities(probabilities, random));
    assert.equal(counts[0], 0);
    // 6 degrees of freedom now: 22.5 at 0.001.
    assert.ok(
      chiSquare(
        counts,
        rest.map((p) => p / total),
      ) < 22.5,
      String(counts),
    );
  });

  it('uses probabilities only for whole-vocabulary sampling', () => {
    assert.equal(new Sampler({ temperature: 0, topK: 0, topP: 1 }).readsProbabilities, false);
    assert.equal(new Sampler({ temperature: 1, topK: 40, topP: 1 }).readsProbabilities, false);
    assert.equal(new Sampler({ temperature: 1, topK: 0, topP: 0.9 }).readsProbabilities, false);
  });

  it('is greedy at temperature 0, ties going to the lowest id', () => {
    const sampler = new Sampler({ temperature: 0, topK: 0, topP: 1 });
    assert.equal(
      sampler.pick(Float32Array.from([0, 3, 1, 3]), () => 0.99),
      1,
    );
  });

  it('keeps only the top k, and the nucleus of top p', () => {
    const random = seededRandom(9);
    const topK = new Sampler({ temperature: 1, topK: 2, topP: 1 });
    const kCounts = histogram(LOGITS.length, 5000, () => topK.pick(LOGITS, random));
    assert.deepEqual(
      kCounts.flatMap((count, id) => (count > 0 ? [id] : [])),
      [0, 6],
    );
    // Softmax at T=1: token 0 has 0.39, token 6 0.24, token 1 0.14: a nucleus of 0.55 holds the first two.
    const topP = new Sampler({ temperature: 1, topK: 0, topP: 0.55 });
    const pCounts = histogram(LOGITS.length, 5000, () => topP.pick(LOGITS, random));
    assert.deepEqual(
      pCounts.flatMap((count, id) => (count > 0 ? [id] : [])),
      [0, 6],
    );
  });
});
