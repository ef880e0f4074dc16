import * as assert from 'node:assert/strict';
import { CHINESE_NUMBER, chineseFraction, isNumeralWord, parseChineseNumber } from './chineseNumerals';

describe('parseChineseNumber', () => {
  const table: [string, number | undefined][] = [
    ['零', 0],
    ['〇', 0],
    ['一', 1],
    ['两', 2],
    ['十', 10],
    ['十二', 12],
    ['二十五', 25],
    ['一百零五', 105],
    ['一百一十', 110],
    ['两千零五', 2005],
    ['一万二千', 12000],
    ['一万二', 12000], // colloquial: the digit after 万 counts thousands
    ['三百五', 350],
    ['一万零二', 10002], // after 零 a digit is itself
    ['3千4百', 3400],
    ['1.5万', 15000],
    ['12万', 120000],
    ['一亿二千万', 120000000],
    ['一万亿', 1e12],
    ['廿', 20],
    ['卅五', 35],
    ['二零二零', 2020], // a year, digit by digit
    ['二〇', 20],
    ['三点五', 3.5],
    ['三点一四', 3.14],
    ['负三', -3],
    ['零下三', -3],
    ['百分之五十', 50], // as "50%" reads 50
    ['百分之十二点五', 12.5],
    ['三分之一', 1 / 3],
    ['十分之一', 0.1],
    ['负三分之二', -2 / 3],
    ['三四', undefined], // "three or four", not 34
    ['万一', undefined],
    ['百', undefined],
    ['十分', undefined],
    ['一二十', undefined],
    ['三分之零', 0],
    ['零分之三', undefined],
    ['12', undefined], // ASCII alone is parseNumber's
    ['', undefined],
  ];
  for (const [input, expected] of table) {
    it(`${JSON.stringify(input)} → ${String(expected)}`, () => assert.equal(parseChineseNumber(input), expected));
  }

  it('keeps a fraction as numerator and denominator', () => {
    assert.deepEqual(chineseFraction('三分之一'), [1, 3]);
    assert.deepEqual(chineseFraction('负四分之三'), [-3, 4]);
    assert.equal(chineseFraction('百分之五十'), undefined);
    assert.equal(chineseFraction('十二'), undefined);
  });

  it('tells words that hold a numeral from numbers', () => {
    const words: [string, string, boolean][] = [
      ['我们一起去', '一', true],
      ['有一些', '一', true],
      ['一样大', '一', true],
      ['一直走', '一', true],
      ['统一思想', '一', true],
      ['唯一的', '一', true],
      ['十分重要', '十', true],
      ['老二', '二', true],
      ['还剩一本', '一', false],
      ['共十二个', '十二', false],
    ];
    for (const [text, numeral, expected] of words) {
      const at = text.indexOf(numeral);
      assert.equal(isNumeralWord(text, at, at + numeral.length), expected, text);
    }
  });

  it('finds numerals in linear time: a long run of digits before a failed 分之 does not backtrack', () => {
    const text = `${'12'.repeat(200)}分x ${'一1'.repeat(200)}分之x`;
    const started = performance.now();
    const found = [...text.matchAll(new RegExp(CHINESE_NUMBER.source, 'g'))].map((match) => match[0]);
    assert.ok(performance.now() - started < 200, `took ${Math.round(performance.now() - started)} ms`);
    assert.deepEqual(found, ['12'.repeat(200), '一1'.repeat(200)]);
  });
});
