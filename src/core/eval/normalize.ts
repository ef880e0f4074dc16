// Normalization shared by voting and exact matching: two spellings of one answer must count as one vote.

/** Full-width ASCII forms (Ａ１，：) and ideographic punctuation to their ASCII counterparts. */
export function toHalfWidth(text: string): string {
  return text
    .replace(/[\uFF01-\uFF5E]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, ' ')
    .replace(/[、]/g, ',')
    .replace(/[。]/g, '.');
}

const NUMBER_PATTERN = /^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[-+]?\.\d+$/;

/**
 * Parses a number as people write it: signs, thousands separators, decimals, fractions (`3/4`), percent,
 * and currency or unit words around it (`$1,200`, `12 km`). Returns undefined for anything else.
 */
export function parseNumber(text: string): number | undefined {
  let value = toHalfWidth(text).trim();
  value = value.replace(/^[$€£¥₹]\s*/, '').replace(/\s*(?:[$€£¥₹]|dollars?|euros?|yuan|元|个|只|人|km|kg|cm|mm|m|g|s|h|%|percent)\.?$/i, '');
  value = value.replace(/\s+/g, '');
  const fraction = /^([-+]?\d+)\/(\d+)$/.exec(value);
  if (fraction) {
    const denominator = Number(fraction[2]);
    return denominator === 0 ? undefined : Number(fraction[1]) / denominator;
  }
  if (!NUMBER_PATTERN.test(value)) return undefined;
  const number = Number(value.replace(/,/g, ''));
  return Number.isFinite(number) ? number : undefined;
}

/** A number's canonical text: "14.0" → "14", 0.75 stays "0.75", no exponent for ordinary sizes. */
export function canonicalNumber(value: number): string {
  if (Object.is(value, -0)) return '0';
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(12)));
}

export interface NormalizeOptions {
  caseSensitive?: boolean;
}

/** Trims, unifies widths and spacing, drops trailing punctuation, canonicalizes numbers, lowercases. */
export function normalizeAnswer(value: string, options: NormalizeOptions = {}): string {
  let text = toHalfWidth(value).replace(/\s+/g, ' ').trim();
  text = text.replace(/[\s.!?;,]+$/u, '').trim();
  text = text.replace(/^["'`*]+|["'`*]+$/g, '').trim();
  const number = parseNumber(text);
  if (number !== undefined) return canonicalNumber(number);
  return options.caseSensitive ? text : text.toLowerCase();
}
