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
    // Chinese numerals, with their English counterparts
    ['所以老大要给老二四个苹果。', number, '4'], // 老二 is a name: not 24, not 2
    ['So the eldest gives the second one 4 apples.', number, '4'],
    ['答案是十二。', number, '12'],
    ['The answer is twelve, i.e. 12.', number, '12'],
    ['答案是二十五', number, '25'],
    ['他还剩两本书', number, '2'],
    ['He has 2 books left', number, '2'],
    ['即答案为三分之一', number, '1/3'], // no finite decimal: kept exact
    ['So the answer is 1/3', number, '1/3'],
    ['每人分到四分之三', number, '0.75'], // a finite decimal: as "3/4" → 0.75
    ['答案是一万二千', number, '12000'],
    ['The answer is 12,000', number, '12000'],
    ['答案是一万二', number, '12000'],
    ['共有3千4百人', number, '3400'],
    ['一百零五减去五，答案：一百', number, '100'],
    ['答案是百分之五十', number, '50'], // as "50%" → 50
    ['今天零下三度', number, '-3'],
    ['答案：负三', number, '-3'],
    ['答案为三点五', number, '3.5'],
    ['最终答案：４２', number, '42'],
    ['答案是十二。所以不是13', number, '12'], // the answer phrase beats the last number
    ['先算出13，答案为廿', number, '20'],
    ['答案是１２．５', number, '12.5'],
    ['答案是－５', number, '-5'],
    ['大约 1.5万 人', number, '15000'],
    ['我们一起算，得到一些结果，唯一的问题是一样的；一直如此，统一起来，万一不对', number, undefined],
    ['这点十分重要', number, undefined],
    ['他有三四个苹果', number, undefined], // "three or four": no single number
    ['第一步得8，第二步得9，所以是十', number, '10'],
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
    // choices in Chinese, and letters or English words amid Chinese punctuation
    ['答案：是。', { type: 'choice', choices: ['是', '否'] }, '是'],
    ['The answer: yes.', { type: 'choice', choices: ['yes', 'no'] }, 'yes'],
    ['情感是正面的', { type: 'choice', choices: ['正面', '负面'] }, '正面'],
    ['**负面**', { type: 'choice', choices: ['正面', '负面'] }, '负面'],
    ['**negative**', { type: 'choice', choices: ['positive', 'negative'] }, 'negative'],
    ['是否正确？是的', { type: 'choice', choices: ['是', '否'] }, '是'], // 是否 is "whether", neither choice
    ['是否正确？否', { type: 'choice', choices: ['是', '否'] }, '否'],
    ['否，这个说法是错的', { type: 'choice', choices: ['是', '否'] }, '否'], // standing apart beats the copula 是
    ['No, that is not right.', { type: 'choice', choices: ['yes', 'no'] }, 'no'],
    ['情感是negative的。', { type: 'choice', choices: ['positive', 'negative'] }, 'negative'],
    ['情感：positive。', { type: 'choice', choices: ['positive', 'negative'] }, 'positive'],
    ['It is positively fine', { type: 'choice', choices: ['positive', 'negative'] }, undefined],
    ['答案：（B）', { type: 'choice' }, 'B'],
    ['选B。', { type: 'choice' }, 'B'],
    ['应该选B，因为A不对', { type: 'choice' }, 'B'],
    ['选项A和选项B都不对，正确的是C', { type: 'choice' }, 'C'], // naming an option (选项B) is no choice of it
    ['I choose B, because A is wrong', { type: 'choice' }, undefined], // no form says B is the answer
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
    ['答案是北京。因为它是首都', { type: 'auto' }, '北京'], // 。 ends the answer even without a space after it
    ['最终答案为上海', { type: 'auto' }, '上海'],
    ['The answer is Ｐａｒｉｓ． Then more', { type: 'auto' }, 'Ｐａｒｉｓ'], // a full-width stop ends the sentence too
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
      ['即答案为三分之一', { type: 'number' }, '三分之一'],
      ['共有３千４百人', { type: 'number' }, '３千４百'],
      ['今天零下三度', { type: 'number' }, '零下三'],
      ['情感是正面的', { type: 'choice', choices: ['正面', '负面'] }, '正面'],
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
