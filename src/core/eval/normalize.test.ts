import * as assert from 'node:assert/strict';
import { canonicalNumber, normalizeAnswer, numberText, parseNumber, toHalfWidth } from './normalize';

describe('normalizeAnswer', () => {
  const table: [string, string, boolean?][] = [
    [' Paris. ', 'paris'],
    ['"Paris."', 'paris'], // decoration nested either way round
    ['**Paris**!', 'paris'],
    ['Hello   World', 'hello world'],
    ['Paris', 'Paris', true],
    ['１４', '14'],
    ['14.0', '14'],
    ['1,000', '1000'],
    ['-0', '0'],
    ['.5', '0.5'],
    ['+4', '4'],
    ['3/4', '0.75'],
    ['人物：张三，时间：2020年。', '人物:张三,时间:2020年'],
    ['答案！', '答案'],
    ['12 km', '12 km'], // units stay: "12 km" and "12 m" are different answers
    ['$5', '$5'],
    ['3 4', '3 4'],
    ['十二', '12'], // one vote with "12"
    ['十二。', '12'],
    ['三分之一', '0.333333333333'],
    ['一万二千', '12000'],
    ['ＡＢＣ', 'abc'], // NFKC: full-width letters
    ['①', '1'], // NFKC: compatibility forms
    ['一些', '一些'],
  ];
  for (const [input, expected, caseSensitive] of table) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}${caseSensitive ? ' (case-sensitive)' : ''}`, () => {
      assert.equal(normalizeAnswer(input, { caseSensitive }), expected);
    });
  }
});

describe('parseNumber', () => {
  const table: [string, number | undefined][] = [
    ['42', 42],
    ['-0.5', -0.5],
    ['+4', 4],
    ['−2', -2], // the Unicode minus sign
    ['1,234,567.5', 1234567.5],
    ['$1,200', 1200],
    ['-$5', -5],
    ['€3,50', 3.5],
    ['3,50 €', 3.5],
    ['12 km', 12],
    ['12km', 12],
    ['3 apples', 3],
    ['50%', 50],
    ['3/4', 0.75],
    ['3 / 4', 0.75],
    ['１２', 12],
    ['1/0', undefined],
    ['3,50', undefined], // a decimal comma or the list 3, 50: not read without a currency
    ['1,23', undefined],
    ['3 4', undefined],
    ['12a', undefined],
    ['1e3', undefined],
    ['', undefined],
    ['Infinity', undefined],
    ['十二', 12],
    ['十二个', 12],
    ['两本', 2],
    ['零下三度', -3],
    ['三分之一', 1 / 3],
    ['百分之五十', 50],
    ['３千４百', 3400],
  ];
  for (const [input, expected] of table) {
    it(`${JSON.stringify(input)} → ${String(expected)}`, () => assert.equal(parseNumber(input), expected));
  }
});

describe('canonicalNumber and toHalfWidth', () => {
  it('writes numbers without float noise', () => {
    assert.equal(canonicalNumber(0.1 + 0.2), '0.3');
    assert.equal(canonicalNumber(14), '14');
    assert.equal(canonicalNumber(-0), '0');
    assert.equal(canonicalNumber(1 / 3), '0.333333333333');
  });

  it('maps one character to one, so offsets carry over', () => {
    const text = 'Ａ１，：、。“x”−\u3000';
    assert.equal(toHalfWidth(text), 'A1,:,."x"- ');
    assert.equal(toHalfWidth(text).length, text.length);
  });
});

describe('numberText', () => {
  it('keeps a fraction without a finite decimal as a reduced fraction, others as canonical numbers', () => {
    assert.equal(numberText(1 / 3, '三分之一'), '1/3');
    assert.equal(numberText(2 / 6, '2/6'), '1/3');
    assert.equal(numberText(-2 / 3, '负三分之二'), '-2/3');
    assert.equal(numberText(0.75, '3/4'), '0.75');
    assert.equal(numberText(0.5, '二分之一'), '0.5');
    assert.equal(numberText(12, '十二'), '12');
  });
});
