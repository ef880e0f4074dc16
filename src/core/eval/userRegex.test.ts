import * as assert from 'node:assert/strict';
import { backtrackingRisk, REGEX_TIME_LIMIT_MS, userRegex } from './userRegex';

describe('userRegex', () => {
  it('compiles a pattern once and matches like RegExp, lookaround and backreferences included', () => {
    const pattern = userRegex('(?<=is )(\\w)\\1', 'gd');
    assert.equal(userRegex('(?<=is )(\\w)\\1', 'gd'), pattern);
    const matches = pattern.matchAll('it is ee, this is oo');
    assert.ok(Array.isArray(matches));
    assert.deepEqual(
      matches.map((match) => [match.index, match[0], match.indices?.[1]]),
      [
        [6, 'ee', [6, 7]],
        [18, 'oo', [18, 19]],
      ],
    );
    assert.equal(userRegex('^\\d+$', 'i').test('2024'), true);
    assert.throws(() => userRegex('(', 'g'), SyntaxError);
  });

  it('stops a catastrophic match near the limit, and remembers it', () => {
    const pattern = userRegex('^(\\w+\\s?)*$', '');
    const text = `${'word'.repeat(12)}!`;
    const started = performance.now();
    assert.deepEqual(pattern.test(text), {
      failed: `the regex timed out after ${REGEX_TIME_LIMIT_MS} ms on this answer (nested quantifiers?)`,
    });
    const took = performance.now() - started;
    assert.ok(took >= REGEX_TIME_LIMIT_MS * 0.9 && took < REGEX_TIME_LIMIT_MS + 500, `took ${Math.round(took)} ms`);
    const again = performance.now();
    assert.ok(typeof pattern.test(text) !== 'boolean');
    assert.ok(performance.now() - again < 20, 'the second time comes from memory');
  });

  it('turns a match that V8 gives up on (backtracking stack overflow) into a failure, not a throw', () => {
    const outcome = userRegex('^(a|b)*$', '').test(`${'ab'.repeat(5_000_000)}c`);
    assert.ok(typeof outcome !== 'boolean');
    assert.match(outcome.failed, /^the regex (failed|timed out)/);
  });
});

describe('backtrackingRisk', () => {
  const table: [string, string | undefined][] = [
    ['(a+)+b', '(a+)+'],
    ['(a*)*', '(a*)*'],
    ['^(\\w+\\s?)*$', '(\\w+\\s?)*'],
    ['(?:x|xy){2,}z', '(?:x|xy){2,}'],
    ['(a|aa)+', '(a|aa)+'],
    ['((ab)+c?)+', '((ab)+c?)+'],
    ['(?<n>\\d+)+', '(?<n>\\d+)+'],
    ['Answer: (\\d+)', undefined],
    ['(a+)?b', undefined],
    ['(a|b)+', undefined],
    ['(a+){3}', undefined],
    ['[(a+)+]', undefined],
    ['\\(a+\\)+', undefined],
    ['(?:yes|no)*', undefined],
    ['\\d+(?:\\.\\d+)?', undefined],
  ];
  for (const [pattern, risky] of table) {
    it(`${pattern} → ${risky ?? 'no warning'}`, () => assert.equal(backtrackingRisk(pattern), risky));
  }
});
