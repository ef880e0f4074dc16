import * as assert from 'node:assert/strict';
import type { ExtractorSpec } from '../prompt/types';
import { extractAnswer } from './extract';

function value(completion: string, spec: ExtractorSpec): string | undefined {
  const answer = extractAnswer(completion, spec);
  if (!answer.valid) return undefined;
  // The span must point at the text the value came from.
  assert.ok(answer.span[0] >= 0 && answer.span[1] <= completion.length && answer.span[0] <= answer.span[1], JSON.stringify(answer));
  return answer.value;
}

describe('extractAnswer', () => {
  const number: ExtractorSpec = { type: 'number' };
  const table: [string, ExtractorSpec, string | undefined][] = [
    // numbers, with the answer phrase taking precedence over the last number
    ['12 + 5 = 17. 17 - 3 = 14. The answer is 14.', number, '14'],
    ['The answer is 14 apples, not 12.', number, '14'],
    ['It costs $1,234.50 in total.', number, '1234.5'],
    ['Answer: -3', number, '-3'],
    ['He walked +4 km.', number, '4'],
    ['#### 72', number, '72'],
    ['So each gets 3/4 of a pie.', number, '0.75'],
    ['The answer is 14.0.', number, '14'],
    ['Total: 2,000,000 people', number, '2000000'],
    ['答案是 42。', number, '42'],
    ['First 3, then 5, finally 8', number, '8'],
    ['I cannot tell.', number, undefined],
    ['It costs €3,50.', number, '3.5'], // a decimal comma only next to a currency
    ['It costs 3,50 €.', number, '3.5'],
    ['The answer is 3,5.', number, undefined], // 3.5 or the list 3, 5? Ambiguous, so no answer
    ['Read pages 10-12.', number, '12'], // a range, not minus twelve
    ['- 5 apples', number, '5'], // a bullet, not a sign
    ['The answer is -$5.', number, '-5'],
    ['x = −3', number, '-3'],
    ['共有１２个苹果', number, '12'],
    ['The answer is 50%.', number, '50'],
    ['So $\\boxed{1,234}$ apples, up from 1,000.', number, '1234'],
    ['Answer:\n7 boxes\nCheck: 3 + 4 = 7, then 9', number, '7'],
    // choices
    ['Between (A) and (C), I pick (C).', { type: 'choice' }, 'C'],
    ['The answer is B.', { type: 'choice' }, 'B'],
    ['B) is wrong; D) is right.', { type: 'choice' }, 'D'],
    ['No letter here at all.', { type: 'choice' }, undefined],
    ['The answer is B. Option C is wrong because …', { type: 'choice' }, 'B'], // the stated answer beats later mentions
    ['Answer: **(D)**', { type: 'choice' }, 'D'],
    ['Thinking it over\n**C**\n', { type: 'choice' }, 'C'],
    ['My answer: a cat.', { type: 'choice' }, undefined], // lowercase "a" is an article, not a choice
    ['Ａ）', { type: 'choice' }, 'A'],
    ['It sounds very positive.', { type: 'choice', choices: ['positive', 'very positive'] }, 'very positive'],
    ['The answer is negative; positive words are ironic.', { type: 'choice', choices: ['positive', 'negative'] }, 'negative'],
    ['情感：正面', { type: 'choice', choices: ['正面', '负面'] }, '正面'],
    ['Overall the tone is Positive, not negative... actually positive.', { type: 'choice', choices: ['positive', 'negative'] }, 'positive'],
    ['neutral', { type: 'choice', choices: ['positive', 'negative'] }, undefined],
    // answer phrases
    ['Let me think. The answer is **Paris**.', { type: 'auto' }, 'Paris'],
    ['Step 1 … Therefore, the answer is $\\boxed{12}$.', { type: 'auto' }, '12'],
    ['Answer: 人物:张三', { type: 'auto' }, '人物:张三'],
    ['No phrase, just text.', { type: 'auto' }, 'No phrase, just text.'],
    ['The answer is: 42', { type: 'auto' }, '42'],
    ['Final answer:\n\n  Paris  \nThanks', { type: 'auto' }, 'Paris'],
    ['So x = \\boxed{\\frac{3}{4}}', { type: 'auto' }, '\\frac{3}{4}'],
    ['The answer is 12. Check: \\boxed{12}', { type: 'auto' }, '12'],
    ['#### 1,234', { type: 'auto' }, '1,234'],
    ['答案是：北京。', { type: 'auto' }, '北京'],
    ['Answer:', { type: 'answer' }, undefined],
    ['No phrase, just text.', { type: 'answer' }, undefined],
    ['The answer is 3.5. Then we stop.', { type: 'answer' }, '3.5'],
    // regex: the last match by default, since models recite the examples first
    ['Example: ANSWER=1. Now: ANSWER=2.', { type: 'regex', pattern: 'ANSWER=(\\d+)' }, '2'],
    ['Example: ANSWER=1. Now: ANSWER=2.', { type: 'regex', pattern: 'ANSWER=(\\d+)', match: 'first' }, '1'],
    ['x=5', { type: 'regex', pattern: 'x=\\d' }, 'x=5'],
    ['nothing', { type: 'regex', pattern: '(\\d+)' }, undefined],
    ['Name:  Ada  \n', { type: 'regex', pattern: 'Name:(.*)' }, 'Ada'],
    ['a=1 b=2', { type: 'regex', pattern: '(\\w)=(\\d)', group: 2, match: 'first' }, '1'],
    ['ANSWER: yes', { type: 'regex', pattern: 'answer: (\\w+)', flags: 'i' }, 'yes'],
    ['x', { type: 'regex', pattern: '(' }, undefined], // invalid pattern: a reason, not a crash
    ['x', { type: 'regex', pattern: 'x', group: 3 }, undefined],
    // JSON
    ['Here you go:\n```json\n{"answer": {"value": 42}, "items": ["a", "b"]}\n```', { type: 'json', path: '$.answer.value' }, '42'],
    ['{"items": ["a", "b"]}', { type: 'json', path: '$.items[1]' }, 'b'],
    ['{"a": 1}', { type: 'json', path: '$.b' }, undefined],
    ['not json {', { type: 'json', path: '$' }, undefined],
    ['Step [1]: think.\n```json\n{"a": {"b": [true]}}\n```', { type: 'json', path: '$.a' }, '{"b":[true]}'],
    ['{"x y": [null]}', { type: 'json', path: "$['x y'][0]" }, 'null'],
    ['{"a": {}}', { type: 'json', path: '$.constructor' }, undefined], // own properties only
    ['{"a": 1}', { type: 'json', path: '$.a..b' }, undefined], // not a path: no answer rather than a guess
    ['[1, [2, 3]]', { type: 'json', path: '$[1][0]' }, '2'],
    // lines and text
    ['\n\n  人物:张三,时间:2020年  \nmore text', { type: 'line' }, '人物:张三,时间:2020年'],
    ['   ', { type: 'text' }, undefined],
    ['  a reply \n', { type: 'text' }, 'a reply'],
    ['', { type: 'line' }, undefined],
  ];
  for (const [completion, spec, expected] of table) {
    it(`${spec.type}${spec.pattern ? ` /${spec.pattern}/` : ''}${spec.match ? ` (${spec.match})` : ''}: ${JSON.stringify(completion).slice(0, 60)} → ${expected ?? 'no answer'}`, () => {
      assert.equal(value(completion, spec), expected);
    });
  }

  it('gives a reason when there is no answer, never a guess', () => {
    const answer = extractAnswer('no digits', { type: 'number' });
    assert.deepEqual(answer, { valid: false, reason: 'no number in the completion' });
    const ambiguous = extractAnswer('The answer is 3,5.', { type: 'number' });
    assert.ok(!ambiguous.valid && /ambiguous/.test(ambiguous.reason));
    const badPattern = extractAnswer('x', { type: 'regex', pattern: '(' });
    assert.ok(!badPattern.valid && /invalid pattern/.test(badPattern.reason));
  });

  it('stops a backtracking pattern and calls the chain invalid, instead of hanging', () => {
    const started = performance.now();
    const answer = extractAnswer('a'.repeat(40), { type: 'regex', pattern: '(a+)+b' });
    assert.ok(performance.now() - started < 1000, `took ${Math.round(performance.now() - started)} ms`);
    assert.ok(
      !answer.valid && /^the regex timed out after \d+ ms on this output \(nested quantifiers\?\)$/.test(answer.reason),
      JSON.stringify(answer),
    );
    // The same pattern still extracts where it matches, and a plain one too.
    assert.equal(value('aaab', { type: 'regex', pattern: '(a+)+b' }), 'aaa');
    assert.equal(value('Answer: 42', { type: 'regex', pattern: 'Answer: (\\d+)' }), '42');
  });

  it('points the span at the answer for highlighting', () => {
    const spans: [string, ExtractorSpec, string][] = [
      ['Let me think. The answer is **Paris**.', { type: 'auto' }, 'Paris'],
      ['Therefore, the answer is $\\boxed{12}$.', { type: 'auto' }, '12'],
      ['Name:  Ada  \n', { type: 'regex', pattern: 'Name:(.*)' }, 'Ada'],
      ['It costs $1,234.50 in total.', { type: 'number' }, '$1,234.50'],
      ['Between (A) and (C), I pick (C).', { type: 'choice' }, 'C'],
      ['Say ```json\n{"a": 1}\n```', { type: 'json', path: '$.a' }, '{"a": 1}'],
    ];
    for (const [completion, spec, highlighted] of spans) {
      const answer = extractAnswer(completion, spec);
      assert.ok(answer.valid, completion);
      assert.equal(completion.slice(...answer.span), highlighted);
      assert.equal(answer.span[0], completion.lastIndexOf(highlighted));
    }

    const text = 'So 17 - 3 = 14. The answer is 14.';
    const answer = extractAnswer(text, { type: 'number' });
    assert.ok(answer.valid);
    assert.equal(text.slice(answer.span[0], answer.span[1]), '14');
    assert.equal(answer.span[0], text.lastIndexOf('14'));
  });
});
