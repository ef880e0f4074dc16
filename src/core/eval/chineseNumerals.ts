// Chinese numerals as models write them: 十二, 两, 一百零五, 一万二 (colloquial 12000), 3千4百, 1.5万, 三点五,
// 三分之一, 百分之五十, 负三, 零下三. Input is half-width text (see toHalfWidth): ４２ has become 42 by then.

const DIGIT: Readonly<Record<string, number>> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
const SMALL_UNIT: Readonly<Record<string, number>> = { 十: 10, 百: 100, 千: 1000 };
const TENS: Readonly<Record<string, number>> = { 廿: 20, 卅: 30 };
const LARGE_UNIT: Readonly<Record<string, number>> = { 万: 1e4, 亿: 1e8 };

const NUMERAL_CHARS = '零〇一二两三四五六七八九十百千万亿廿卅';
// Each digit run is taken whole ((?!\\d)), so a run splits one way only: no exponential backtracking before 分之.
const RUN = `(?:\\d+(?![\\d.])|\\d+\\.\\d+(?!\\d)|[${NUMERAL_CHARS}])+`;
const REAL = `${RUN}(?:点[零〇一二三四五六七八九\\d]+)?`;

/** Characters that make a numeral after them part of a word or an ordinal: 老二, 第二, 周二. */
export const NUMERAL_PREFIXES = '老第周';

/** A Chinese (or mixed, 3千4百) number in half-width text; runs without a Chinese numeral are left to the ASCII reader. */
export const CHINESE_NUMBER = new RegExp(`(?:负|零下|-)?(?:百分之${REAL}|${REAL}分之${REAL}|${REAL})`, 'g');

/**
 * Words whose numeral is no number: 一些 "some", 一起 "together", 唯一 "only", 十分 "very", 千万 "by all means".
 * Checked only for one- or two-character numerals, together with the character before or after.
 */
const NOT_NUMBERS = new Set(
  (
    '一些 一起 一样 一直 一下 一般 一定 一切 一旦 一边 一致 一同 一向 一共 一点 一会 一再 一番 一面 一律 一并 一味 一概 一心 一时 一道 一身 ' +
    '一一 统一 唯一 同一 之一 不一 单一 专一 逐一 划一 万一 十分 千万 万万 三角 一月 二月 三月 四月 五月 六月 七月 八月 九月 十月'
  ).split(' '),
);

/** Whether the numeral at [start, end) of `text` is part of a word such as 一些 or 唯一 rather than a number. */
export function isNumeralWord(text: string, start: number, end: number): boolean {
  const numeral = text.slice(start, end);
  if (numeral.length > 2) return false;
  // 老二 is "the second child", a name.
  if (text[start - 1] === '老' && numeral.length === 1) return true;
  return (
    NOT_NUMBERS.has(numeral) || NOT_NUMBERS.has(text.slice(Math.max(0, start - 1), end)) || NOT_NUMBERS.has(text.slice(start, end + 1))
  );
}

/** An integer (or 1.5万) written with numerals and units; undefined where the characters make no number (万一, 百). */
function parseInteger(text: string): number | undefined {
  const parts = text.match(/\d+(?:\.\d+)?|[^]/gu);
  if (!parts) return undefined;
  if (!parts.every((part) => /^\d/.test(part) || part in DIGIT || part in SMALL_UNIT || part in TENS || part in LARGE_UNIT))
    return undefined;
  if (!parts.some((part) => part in SMALL_UNIT || part in TENS || part in LARGE_UNIT)) {
    // Digit by digit, as years are read: 二零二零 is 2020; a lone ASCII run is itself.
    if (parts.length === 1 && /^\d/.test(parts[0] ?? '')) return Number(parts[0]);
    if (!parts.every((part) => part in DIGIT)) return undefined;
    // 三四个 is "three or four", not 34; two digits with a zero (二〇) or three and more (二〇二〇) are read in place.
    if (parts.length === 2 && !parts.some((part) => DIGIT[part] === 0)) return undefined;
    return Number(parts.map((part) => DIGIT[part]).join(''));
  }
  let total = 0;
  let section = 0;
  let pending: number | undefined;
  let afterZero = false;
  let previousUnit = 0;
  for (const part of parts) {
    const unitBefore = previousUnit;
    previousUnit = 0;
    if (part === '零' || part === '〇') {
      if (pending !== undefined) return undefined;
      afterZero = true;
    } else if (/^\d/.test(part) || part in DIGIT) {
      if (pending !== undefined) return undefined;
      pending = /^\d/.test(part) ? Number(part) : DIGIT[part];
      // 一万二 is 12000 and 三百五 is 350: a lone digit right after 百, 千, 万 or 亿 counts in the next unit down.
      if (unitBefore >= 100) previousUnit = -unitBefore;
    } else if (part in SMALL_UNIT || part in TENS) {
      const unit = SMALL_UNIT[part] ?? 1;
      // Only 十 stands without a digit before it (十二); 百 alone is not a number here.
      if (pending === undefined && part !== '十' && !(part in TENS)) return undefined;
      section += part in TENS ? (TENS[part] ?? 0) : (pending ?? 1) * unit;
      pending = undefined;
      afterZero = false;
      previousUnit = part in TENS ? 10 : unit;
    } else {
      const unit = LARGE_UNIT[part] ?? 1;
      const value = section + (pending ?? 0);
      if (unit === 1e8) {
        if (total + value === 0) return undefined;
        total = (total + value) * unit;
      } else {
        if (value === 0) return undefined;
        total += value * unit;
      }
      section = 0;
      pending = undefined;
      afterZero = false;
      previousUnit = unit;
    }
  }
  if (pending !== undefined) {
    if (previousUnit < 0 && !afterZero && Number.isInteger(pending) && pending < 10) pending *= -previousUnit / 10;
    section += pending;
  }
  return total + section;
}

/** A number with an optional decimal part written 点: 三点五 is 3.5, 三点一四 is 3.14. */
function parseReal(text: string): number | undefined {
  const point = /^(.+)点(.+)$/.exec(text);
  if (!point) return parseInteger(text);
  const whole = parseInteger(point[1] ?? '');
  const decimals = [...(point[2] ?? '')].map((ch) => (/\d/.test(ch) ? ch : String(DIGIT[ch] ?? 'x'))).join('');
  if (whole === undefined || !/^\d+$/.test(decimals)) return undefined;
  return Number(`${whole}.${decimals}`);
}

/** A fraction's numerator and denominator as written (三分之一 → [1, 3], sign on the numerator); undefined if it is none. */
export function chineseFraction(text: string): [number, number] | undefined {
  const match = /^(负|零下|-)?(.+)分之(.+)$/.exec(text.trim());
  if (!match || (match[2] ?? '').startsWith('百')) return undefined;
  const denominator = parseReal(match[2] ?? '');
  const numerator = parseReal(match[3] ?? '');
  if (denominator === undefined || numerator === undefined || denominator === 0) return undefined;
  return [match[1] ? -numerator : numerator, denominator];
}

/**
 * The value of a Chinese numeral in half-width text, undefined if it is none. 百分之五十 is 50, as "50%" is:
 * the percent sign is dropped, not divided out. A fraction is its quotient (三分之一 → 0.333…).
 */
export function parseChineseNumber(text: string): number | undefined {
  let rest = text.trim();
  let sign = 1;
  const negative = /^(?:负|零下|-)(?=.)/.exec(rest);
  if (negative) {
    sign = -1;
    rest = rest.slice(negative[0].length);
  }
  if (!new RegExp(`[${NUMERAL_CHARS}点]`).test(rest)) return undefined;
  let value: number | undefined;
  if (rest.startsWith('百分之')) value = parseReal(rest.slice(3));
  else if (rest.includes('分之')) {
    const fraction = chineseFraction(rest);
    value = fraction ? fraction[0] / fraction[1] : undefined;
  } else value = parseReal(rest);
  return value === undefined || !Number.isFinite(value) ? undefined : sign * value;
}
