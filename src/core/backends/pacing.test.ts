import * as assert from 'node:assert/strict';
import { estimatedRequestTokens, parseResetDuration, RateLimitPacer, readRateLimitHeaders } from './pacing';

describe('rate-limit headers', () => {
  it('reads OpenAI reset times as Go durations, and bare numbers as seconds', () => {
    assert.equal(parseResetDuration('6m0s'), 360_000);
    assert.equal(parseResetDuration('1s'), 1000);
    assert.equal(parseResetDuration('20ms'), 20);
    assert.equal(parseResetDuration('1.5s'), 1500);
    assert.equal(parseResetDuration('1h2m3.5s'), 3_723_500);
    assert.equal(parseResetDuration('2'), 2000);
    assert.equal(parseResetDuration('0s'), 0);
    for (const bad of ['', 'soon', '5x', '1s garbage', '-1s', null, undefined])
      assert.equal(parseResetDuration(bad), undefined, String(bad));
  });

  it('reads the remaining budgets, limits and resets, and nothing from a server that sends none', () => {
    const headers = new Headers({
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-tokens': '6m0s',
    });
    assert.deepEqual(readRateLimitHeaders(headers), {
      limitRequests: 60,
      remainingRequests: 59,
      resetRequestsMs: 1000,
      limitTokens: 150_000,
      remainingTokens: 149_984,
      resetTokensMs: 360_000,
    });
    assert.equal(readRateLimitHeaders(new Headers({ 'content-type': 'application/json' })), undefined);
    // Unreadable values are left out rather than read as 0 (which would stall every request).
    assert.deepEqual(readRateLimitHeaders(new Headers({ 'x-ratelimit-remaining-requests': 'many', 'x-ratelimit-reset-requests': '2s' })), {
      resetRequestsMs: 2000,
    });
  });

  it('estimates a request as its prompt plus max_tokens per chain', () => {
    assert.equal(estimatedRequestTokens({ messages: [{ content: 'abcdefgh' }, { content: 'x' }], n: 4, maxTokens: 100 }), 2 + 1 + 400);
    assert.equal(estimatedRequestTokens({ text: 'abcd', n: 1 }), 1);
  });
});

describe('RateLimitPacer', () => {
  let now = 0;
  const pacer = (): RateLimitPacer => new RateLimitPacer(() => now);
  beforeEach(() => (now = 1_000_000));

  it('never waits without headers', () => {
    const p = pacer();
    for (let i = 0; i < 10; i++) {
      assert.equal(p.delay(1000), 0);
      p.observe(p.take(1000), undefined);
    }
  });

  it('lets the first request go alone until its answer is heard', async () => {
    const p = pacer();
    assert.equal(p.firstAnswer(), undefined);
    const ticket = p.take(1);
    const waiting = p.firstAnswer();
    assert.ok(waiting);
    let released = false;
    void waiting.then(() => (released = true));
    await Promise.resolve();
    assert.equal(released, false);
    p.observe(ticket, undefined);
    await waiting;
    assert.equal(released, true);
    assert.equal(p.firstAnswer(), undefined);
  });

  it('spends the reported request budget, counting requests sent since, then waits for the reset', () => {
    const p = pacer();
    const first = p.take(1);
    // Two more left a second before the reset; one more went out meanwhile.
    const second = p.take(1);
    p.observe(first, { limitRequests: 3, remainingRequests: 2, resetRequestsMs: 1000 });
    assert.equal(p.delay(1), 0);
    const third = p.take(1);
    assert.equal(p.delay(1), 1000);
    now += 400;
    assert.equal(p.delay(1), 600);
    p.observe(second, undefined);
    p.observe(third, undefined);
    now += 600;
    // The window reset: the whole limit is back.
    for (let i = 0; i < 3; i++) {
      assert.equal(p.delay(1), 0);
      p.take(1);
    }
    // Spent again and the new window's end not heard yet: wait a while, then look again.
    assert.ok(p.delay(1) > 0);
  });

  it('counts a request still unanswered at the reset against the new window', () => {
    const p = pacer();
    const first = p.take(1);
    p.observe(first, { limitRequests: 2, remainingRequests: 1, resetRequestsMs: 100 });
    p.take(1); // sent late in the window, not answered before the reset
    assert.equal(p.delay(1), 100);
    now += 100;
    assert.equal(p.delay(1), 0);
    p.take(1);
    // The limit is 2 and one of them may be the late one: no third.
    assert.ok(p.delay(1) > 0);
  });

  it('waits for the token budget when a request would not fit', () => {
    const p = pacer();
    const first = p.take(100);
    p.observe(first, { remainingTokens: 250, resetTokensMs: 6_000, limitTokens: 1000 });
    assert.equal(p.delay(200), 0);
    p.take(200);
    assert.equal(p.delay(100), 6000);
    assert.equal(p.delay(50), 0);
  });

  it('keeps the newest answer: an older request answered late does not undo it', () => {
    const p = pacer();
    const older = p.take(1);
    const newer = p.take(1);
    p.observe(newer, { remainingRequests: 0, resetRequestsMs: 500 });
    p.observe(older, { remainingRequests: 5, resetRequestsMs: 400 });
    assert.equal(p.delay(1), 500);
  });
});
