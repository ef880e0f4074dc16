import * as assert from 'node:assert/strict';
import { isSettled, leaderProbability, nextRound, roundEnds, settledAt, STOP_DEFAULTS, type StopRule } from './adaptive';

const adaptive: StopRule = { rule: 'adaptive', ...STOP_DEFAULTS };
const window: StopRule = { rule: 'window', ...STOP_DEFAULTS };

describe('adaptive sampling', () => {
  it('P(p > ½) under Beta(a + 1, b + 1) matches hand-computed values', () => {
    // Beta(5, 1): 1 − 0.5⁵ = 0.96875. Beta(4, 2): 1 − I½(4, 2) = 1 − 6/32 = 0.8125.
    assert.equal(leaderProbability(4, 0), 0.96875);
    assert.equal(leaderProbability(3, 1), 0.8125);
    // Beta(4, 1): 1 − 0.5⁴ = 0.9375, short of 0.95. Beta(8, 2) = P(Bin(9, ½) ≤ 7) = 1 − (9 + 1)/512.
    assert.equal(leaderProbability(3, 0), 0.9375);
    assert.equal(leaderProbability(7, 1), 1 - 10 / 512);
    // A tie: exactly one half, by symmetry.
    assert.ok(Math.abs(leaderProbability(5, 5) - 0.5) < 1e-12);
  });

  it('stops at the thresholds the Beta criterion gives at confidence 0.95', () => {
    assert.equal(isSettled(['4', '4', '4', '4'], adaptive), true, '4 of 4 agree: 0.969');
    assert.equal(isSettled(['4', '4', '4'], adaptive), false, '3 of 3: 0.9375 < 0.95');
    assert.equal(isSettled(['4', '4', '4', '5'], adaptive), false, '3 against 1: 0.8125');
    // 5 against 1: P(Bin(7, ½) ≤ 5) = 1 − (7 + 1)/128 = 0.9375, not yet; 7 against 1: 1 − 10/512 = 0.980.
    assert.equal(leaderProbability(5, 1), 1 - 8 / 128);
    assert.equal(isSettled(['4', '4', '4', '4', '4', '5'], adaptive), false);
    assert.equal(isSettled(['4', '4', '4', '4', '4', '5', '4', '4'], adaptive), true);
  });

  it('counts chains without an answer as disagreement', () => {
    assert.equal(isSettled(['4', '4', '4', '4'], adaptive), true);
    assert.equal(isSettled(['4', '4', '4', '4', undefined, undefined], adaptive), false, '4 against 2: 0.89');
    assert.equal(isSettled([undefined, undefined, undefined, undefined], adaptive), false);
  });

  it('window: the last chains must all give one answer', () => {
    assert.equal(isSettled(['5', '4', '4', '4', '4'], window), true);
    assert.equal(isSettled(['4', '4', '4', '5'], window), false);
    assert.equal(isSettled([undefined, undefined, undefined, undefined], window), false);
  });

  it('looks at the vote at round ends only: min, then batch by batch, up to max', () => {
    assert.deepEqual(roundEnds(adaptive, 16), [4, 6, 8, 10, 12, 14, 16]);
    assert.deepEqual(roundEnds({ ...adaptive, min: 3, batch: 4 }, 10), [3, 7, 10]);
    assert.deepEqual(roundEnds(adaptive, 2), [2]);
    // Unanimous from the start: settled at the first round end.
    assert.equal(settledAt(['7', '7', '7', '7', '7', '7'], adaptive, 16), 4);
    // Split 2–2, then the leader pulls away. 4 against 2 at 6 chains: 1 − (21 + 7 + 1)/128 = 0.773; 6 against
    // 2 at 8: 1 − (36 + 9 + 1)/512 = 0.910; 8 against 2 at 10: 1 − (55 + 11 + 1)/2048 = 0.967, settled.
    const split = ['1', '2', '1', '2', '1', '1', '1', '1', '1', '1', '2', '2'];
    assert.equal(leaderProbability(4, 2), 1 - 29 / 128);
    assert.equal(leaderProbability(6, 2), 1 - 46 / 512);
    assert.equal(leaderProbability(8, 2), 1 - 67 / 2048);
    assert.equal(settledAt(split.slice(0, 8), adaptive, 16), undefined);
    assert.equal(settledAt(split, adaptive, 16), 10, 'settled at the round end of 10 chains, whatever came after');
  });

  it('draws the next round only while the case is open', () => {
    assert.equal(nextRound([], adaptive, 16), 4);
    assert.equal(nextRound(['1', '2', '1', '2'], adaptive, 16), 2);
    assert.equal(nextRound(['7', '7', '7', '7'], adaptive, 16), 0);
    assert.equal(
      nextRound(
        Array.from({ length: 16 }, (_, i) => String(i % 2)),
        adaptive,
        16,
      ),
      0,
      'max reached',
    );
  });
});
