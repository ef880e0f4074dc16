import * as assert from 'node:assert/strict';
import type { ExtractorSpec } from '../prompt/types';
import { extractAnswer } from './extract';
import { normalizeAnswer, parseNumber } from './normalize';

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
    // choices
    ['Between (A) and (C), I pick (C).', { type: 'choice' }, 'C'],
    ['The answer is B.', { type: 'choice' }, 'B'],
    ['B) is wrong; D) is right.', { type: 'choice' }, 'D'],
    ['No letter here at all.', { type: 'choice' }, undefined],
    ['Overall the tone is Positive, not negative... actually positive.', { type: 'choice', choices: ['positive', 'negative'] }, 'positive'],
    ['neutral', { type: 'choice', choices: ['positive', 'negative'] }, undefined],
    // answer phrases
    ['Let me think. The answer is **Paris**.', { type: 'auto' }, 'Paris'],
    ['Step 1 … Therefore, the answer is $\\boxed{12}$.', { type: 'auto' }, '12'],
    ['Answer: 人物:张三', { type: 'auto' }, '人物:张三'],
    ['No phrase, just text.', { type: 'auto' }, 'No phrase, just text.'],
    ['No phrase, just text.', { type: 'answer' }, undefined],
    ['The answer is 3.5. Then we stop.', { type: 'answer' }, '3.5'],
    // regex: the last match by default, since models recite the examples first
    ['Example: ANSWER=1. Now: ANSWER=2.', { type: 'regex', pattern: 'ANSWER=(\\d+)' }, '2'],
    ['Example: ANSWER=1. Now: ANSWER=2.', { type: 'regex', pattern: 'ANSWER=(\\d+)', match: 'first' }, '1'],
    ['x=5', { type: 'regex', pattern: 'x=\\d' }, 'x=5'],
    ['nothing', { type: 'regex', pattern: '(\\d+)' }, undefined],
    // JSON
    ['Here you go:\n```json\n{"answer": {"value": 42}, "items": ["a", "b"]}\n```', { type: 'json', path: '$.answer.value' }, '42'],
    ['{"items": ["a", "b"]}', { type: 'json', path: '$.items[1]' }, 'b'],
    ['{"a": 1}', { type: 'json', path: '$.b' }, undefined],
    ['not json {', { type: 'json', path: '$' }, undefined],
    // lines and text
    ['\n\n  人物:张三,时间:2020年  \nmore text', { type: 'line' }, '人物:张三,时间:2020年'],
    ['   ', { type: 'text' }, undefined],
  ];
  for (const [completion, spec, expected] of table) {
    it(`${spec.type}${spec.pattern ? ` /${spec.pattern}/` : ''}${spec.match ? ` (${spec.match})` : ''}: ${JSON.stringify(completion).slice(0, 60)} → ${expected ?? 'no answer'}`, () => {
      assert.equal(value(completion, spec), expected);
    });
  }

  it('gives a reason when there is no answer, never a guess', () => {
    const answer = extractAnswer('no digits', { type: 'number' });
    assert.deepEqual(answer, { valid: false, reason: 'no number in the completion' });
  });

  it('points the span at the answer for highlighting', () => {
    const text = 'So 17 - 3 = 14. The answer is 14.';
    const answer = extractAnswer(text, { type: 'number' });
    assert.ok(answer.valid);
    assert.equal(text.slice(answer.span[0], answer.span[1]), '14');
    assert.equal(answer.span[0], text.lastIndexOf('14'));
  });
});

describe('normalizeAnswer and parseNumber', () => {
  it('makes spellings of one answer equal', () => {
    assert.equal(normalizeAnswer(' Paris. '), 'paris');
    assert.equal(normalizeAnswer('１４'), '14');
    assert.equal(normalizeAnswer('14.0'), '14');
    assert.equal(normalizeAnswer('1,000'), '1000');
    assert.equal(normalizeAnswer('人物：张三，时间：2020年'), '人物:张三,时间:2020年');
    assert.equal(normalizeAnswer('Paris', { caseSensitive: true }), 'Paris');
  });

  it('parses numbers as written', () => {
    assert.equal(parseNumber('$1,200'), 1200);
    assert.equal(parseNumber('12 km'), 12);
    assert.equal(parseNumber('-0.5'), -0.5);
    assert.equal(parseNumber('3/4'), 0.75);
    assert.equal(parseNumber('1/0'), undefined);
    assert.equal(parseNumber('12a'), undefined);
    assert.equal(parseNumber('1,23'), undefined);
  });
});
