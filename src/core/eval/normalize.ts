// Normalization shared by voting and exact matching: two spellings of one answer must count as one vote.
import { chineseFraction, parseChineseNumber } from './chineseNumerals';

/**
 * Full-width ASCII forms (Ａ１，：), the ideographic space, comma and full stop, curly quotes and the minus
 * sign to their ASCII counterparts. One character in, one character out, so offsets into the result are
 * offsets into the original text.
 */
/** Characters toHalfWidth changes: most answers have none, and skip its seven passes. */
const WIDE_OR_TYPOGRAPHIC = /[\uFF01-\uFF5E\u3000、。\u2018\u2019\u201C\u201D\u2212]/;

export function toHalfWidth(text: string): string {
  if (!WIDE_OR_TYPOGRAPHIC.test(text)) return text;
  return text
    .replace(/[\uFF01-\uFF5E]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, ' ')
    .replace(/、/g, ',')
    .replace(/。/g, '.')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201C\u201D]/g, '"')
    .replace(/\u2212/g, '-');
}

const CURRENCY = '[$€£¥₹]';
/** Units and counters that may follow a number; one other trailing word is accepted after a space too. */
const UNIT =
  '(?:dollars?|euros?|yuan|percent|km|kg|cm|mm|m|g|s|h|%|元|块|个|只|人|岁|天|年|次|本|件|米|公里|小时|分钟|秒|度|张|条|位|名|辆|台|斤|倍|页|道|题|颗|杯|瓶|份|种)';
const LEADING_CURRENCY = new RegExp(`^([-+]?)\\s*${CURRENCY}\\s*`);
const TRAILING_UNIT = new RegExp(`(?:\\s*(?:${CURRENCY}|${UNIT})|\\s+\\p{L}+)\\.?$`, 'iu');
/** Signs, thousands separators in groups of three, decimals: `-1,234.5`, `+4`, `.5`. */
const PLAIN_NUMBER = /^[-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)$/;
const FRACTION = /^([-+]?\d+)\s*\/\s*(\d+)$/;
/** `3,50` is a decimal comma only next to a currency (`€3,50`); elsewhere it could be a list, so it is no number. */
const DECIMAL_COMMA = /^[-+]?\d+,\d{1,2}$/;

/** A plain number (sign, thousands separators, decimals) or fraction; undefined for anything else. */
function parsePlain(text: string): number | undefined {
  const fraction = FRACTION.exec(text);
  if (fraction) {
    const denominator = Number(fraction[2]);
    return denominator === 0 ? undefined : Number(fraction[1]) / denominator;
  }
  if (!PLAIN_NUMBER.test(text)) return undefined;
  const number = Number(text.replace(/,/g, ''));
  return Number.isFinite(number) ? number : undefined;
}

/**
 * Parses a number as people write it: signs, thousands separators (`1,234`), decimals, fractions (`3/4`),
 * currency before or after (`$1,200`, `-$5`, `3,50 €`: a decimal comma is read only with a currency), and one
 * unit or word after it (`12 km`, `50%` → 50, `3 apples`). Returns undefined for anything else, e.g. `1,23`.
 */
export function parseNumber(text: string): number | undefined {
  let value = toHalfWidth(text).trim();
  let currency = false;
  const leading = LEADING_CURRENCY.exec(value);
  if (leading) {
    currency = true;
    value = (leading[1] ?? '') + value.slice(leading[0].length);
  }
  const trailing = TRAILING_UNIT.exec(value);
  if (trailing && trailing.index > 0) {
    currency ||= new RegExp(`${CURRENCY}|dollar|euro|yuan|元|块`, 'i').test(trailing[0]);
    value = value.slice(0, trailing.index);
  }
  if (currency && DECIMAL_COMMA.test(value)) value = value.replace(',', '.');
  return parsePlain(value) ?? parseChineseNumber(value);
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** A fraction's numerator and denominator as written: `3/4`, `-1/3`, `三分之一`; undefined for anything else. */
export function fractionParts(text: string): [number, number] | undefined {
  const value = toHalfWidth(text).trim();
  const fraction = FRACTION.exec(value);
  if (fraction) return Number(fraction[2]) === 0 ? undefined : [Number(fraction[1]), Number(fraction[2])];
  return chineseFraction(value);
}

/**
 * A number's answer text: canonicalNumber, except a fraction with no finite decimal (1/3, 三分之一) stays a
 * reduced fraction, "1/3", so that it is shown and compared exactly (see the numeric scorer) rather than as 0.333333333333.
 */
export function numberText(value: number, written: string): string {
  const parts = fractionParts(written);
  if (parts && parts.every(Number.isSafeInteger)) {
    const divisor = Math.abs(gcd(parts[0], parts[1]));
    let [numerator, denominator] = [parts[0] / divisor, parts[1] / divisor];
    if (denominator < 0) [numerator, denominator] = [-numerator, -denominator];
    let rest = denominator;
    for (const prime of [2, 5]) while (rest % prime === 0) rest /= prime;
    if (rest !== 1) return `${numerator}/${denominator}`;
  }
  return canonicalNumber(value);
}

/** A number's canonical text: "14.0" → "14", 0.75 stays "0.75", float noise rounded away (0.1 + 0.2 → "0.3"). */
export function canonicalNumber(value: number): string {
  if (Object.is(value, -0)) return '0';
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(12)));
}

export interface NormalizeOptions {
  caseSensitive?: boolean;
}

const TRAILING_PUNCTUATION = /[\s.!?;,…]+$/;
const WRAPPING = /^["'`*]+|["'`*]+$/g;

/**
 * The voting and exact-matching key of an answer: half-width forms, one space between words, no trailing
 * punctuation or wrapping quotes and bold, lowercase unless case-sensitive. A plain number becomes its
 * canonical value ("14.0" → "14", "1,000" → "1000", "3/4" → "0.75", "十二" → "12"); units and currency stay part of the
 * answer, so "12 km" and "12 m" remain different (compare values with `extract: number` or `scorer: numeric`).
 */
export function normalizeAnswer(value: string, options: NormalizeOptions = {}): string {
  // NFKC first: full-width letters and punctuation, ① and other compatibility forms are their plain spellings.
  let text = toHalfWidth(value.normalize('NFKC')).replace(/\s+/g, ' ').trim();
  // Decoration nests either way round ("Paris." inside quotes, or a quoted answer then a period): peel until stable.
  for (let previous = ''; previous !== text;) {
    previous = text;
    text = text.replace(TRAILING_PUNCTUATION, '').replace(WRAPPING, '').trim();
  }
  // A Chinese numeral is its value too: "十二" and "12" are one vote.
  const number = parsePlain(text) ?? parseChineseNumber(text);
  if (number !== undefined) return canonicalNumber(number);
  return options.caseSensitive ? text : text.toLowerCase();
}
