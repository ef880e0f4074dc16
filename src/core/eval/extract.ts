import type { ExtractorSpec } from '../prompt/types';
import { CHINESE_NUMBER, isNumeralWord, NUMERAL_PREFIXES, parseChineseNumber } from './chineseNumerals';
import { numberText, parseNumber, toHalfWidth } from './normalize';
import { userRegex, type UserRegex } from './userRegex';

/** An answer and where it stands in the completion (`span`: [start, end) offsets), or an explicit "no answer". */
export type ExtractedAnswer = { valid: true; value: string; span: [number, number] } | { valid: false; reason: string };

type Span = [number, number];

/** Phrases after which models state their final answer; the last one in a completion wins. Matched on half-width text. */
const ANSWER_PHRASE =
  /(?:the (?:final |correct )?answer is\s*:?|(?:final )?answer\s*:|####|(?:最终|最后的?)?答案\s*(?:应该?是|应为|是|为)\s*:?|(?:最终|最后的?)?答案\s*:)[ \t]*/gi;

/**
 * Numbers as written: sign, currency before or after, digits with commas, decimals, a fraction, percent.
 * Not the tail of a word or range ("COVID-19", "3-4", "v1.5"), and a sign only right before the digits
 * (a "- 5" bullet is 5). Commas are taken greedily and judged by parseNumber, so "1,2" is one ambiguous token.
 */
const NUMBER =
  /(?<![A-Za-z0-9_.,])(?:[-+](?=[$€£¥₹]?\d|\.\d))?(?:[$€£¥₹]\s?)?(?:\d+(?:,\d+)*(?:\.\d+)?(?:\s?\/\s?\d+)?|\.\d+)(?:\s?[$€£¥₹%])?/g;

function none(reason: string): ExtractedAnswer {
  return { valid: false, reason };
}

function found(completion: string, span: Span): ExtractedAnswer {
  return { valid: true, value: completion.slice(span[0], span[1]), span };
}

/** The span of `\boxed{…}`'s content starting at `open` (the index of its `{`), braces balanced. */
function balancedBraces(text: string, open: number): Span | undefined {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return [open + 1, i];
  }
  return undefined;
}

/**
 * Where the final answer is stated: the content of the last `\boxed{…}` or the text after the last answer
 * phrase, whichever comes later. After a phrase the answer runs to the end of its sentence or line; a
 * phrase that ends its line ("Answer:\n42") takes the next non-empty line.
 */
function finalAnswerRegion(completion: string): Span | undefined {
  const text = toHalfWidth(completion);
  let phrase: RegExpExecArray | undefined;
  for (const match of text.matchAll(ANSWER_PHRASE)) phrase = match;
  const boxedAt = text.lastIndexOf('\\boxed{');
  if (boxedAt >= 0 && (!phrase || boxedAt > phrase.index)) {
    const braces = balancedBraces(text, boxedAt + '\\boxed'.length);
    if (braces) return braces;
  }
  if (!phrase) return undefined;
  let start = phrase.index + phrase[0].length;
  const sameLine = /^[^\n]*/.exec(text.slice(start))?.[0] ?? '';
  if (sameLine.trim() === '') {
    const nextLine = /\S/.exec(text.slice(start));
    if (!nextLine) return [start, start];
    start += nextLine.index;
  }
  let line = /^[^\n]*/.exec(text.slice(start))?.[0] ?? '';
  // The answer ends at its sentence's end ("… is 14. So …", "…是十二。所以…"), not at a decimal point (3.5).
  const sentenceEnd = /[.!?．](?=\s|$)|[。！？]/.exec(completion.slice(start, start + line.length));
  if (sentenceEnd) line = line.slice(0, sentenceEnd.index);
  return [start, start + line.length];
}

/** Narrows a span past the markup answers come wrapped in: **bold**, $math$, \boxed{…}, quotes, a final period. */
function unwrap(completion: string, [start, end]: Span): Span {
  const text = toHalfWidth(completion);
  const boxedAt = text.slice(start, end).indexOf('\\boxed{');
  if (boxedAt >= 0) {
    const braces = balancedBraces(text, start + boxedAt + '\\boxed'.length);
    if (braces && braces[1] <= end) [start, end] = braces;
  }
  while (start < end && /[\s*$"'`(_]/.test(text[start] ?? '')) start++;
  while (end > start && /[\s*$"'`)_.,;:!?]/.test(text[end - 1] ?? '')) end--;
  return [start, end];
}

interface NumberToken {
  value: number | undefined;
  span: Span;
}

/** Numbers in text[from, to), in order: ASCII ones, and Chinese ones (十二, 3千4百), which win where the two overlap. */
function numberTokens(completion: string, [from, to]: Span): NumberToken[] {
  const text = toHalfWidth(completion).slice(0, to);
  const chinese: NumberToken[] = [];
  const chinesePattern = new RegExp(CHINESE_NUMBER.source, 'g');
  chinesePattern.lastIndex = from;
  for (let match = chinesePattern.exec(text); match; match = chinesePattern.exec(text)) {
    let start = match.index;
    const end = start + match[0].length;
    // 老二四个 is 老二 and 四: a name or ordinal takes the first of two digits.
    if (end - start === 2 && NUMERAL_PREFIXES.includes(text[start - 1] ?? '') && /^[一二两三四五六七八九]+$/.test(match[0])) start++;
    const value = parseChineseNumber(text.slice(start, end));
    // Runs of ASCII digits alone are the ASCII reader's; 一些, 唯一, 十分 are words, not numbers.
    if (value === undefined || !/[^\d.-]/.test(match[0]) || isNumeralWord(text, start, end)) continue;
    chinese.push({ value, span: [start, end] });
  }
  const pattern = new RegExp(NUMBER.source, 'g');
  pattern.lastIndex = from;
  const tokens = [...chinese];
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const span: Span = [match.index, match.index + match[0].length];
    if (chinese.some(({ span: [start, end] }) => span[0] < end && start < span[1])) continue;
    tokens.push({ value: parseNumber(match[0]), span });
  }
  return tokens.sort((a, b) => a.span[0] - b.span[0]);
}

function numberAnswer(completion: string, token: NumberToken): ExtractedAnswer {
  const raw = completion.slice(token.span[0], token.span[1]);
  if (token.value === undefined) return none(`"${raw}" is ambiguous (a decimal comma or a list?)`);
  return { valid: true, value: numberText(token.value, raw), span: token.span };
}

/** The first number after the last answer phrase ("The answer is 14 apples, not 12"), else the last number. */
function extractNumber(completion: string): ExtractedAnswer {
  const region = finalAnswerRegion(completion);
  const stated = region ? numberTokens(completion, region)[0] : undefined;
  if (stated) return numberAnswer(completion, stated);
  const last = numberTokens(completion, [0, completion.length]).at(-1);
  return last ? numberAnswer(completion, last) : none('no number in the completion');
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where a choice letter is written as the answer: "(B)", "B)", "answer is B", "Answer: B", "B.", alone on a line, "选B", "正确的是B". */
const LETTER_FORMS = [
  /\(([A-E])\)/g,
  /(?<![A-Za-z(])([A-E])\)/g,
  /[Aa]nswer(?:\s+is)?\s*:?\s*\(?([A-E])(?![A-Za-z])/g,
  /(?<![A-Za-z.])([A-E])\.(?=\s|$)/g,
  /^[\s*]*([A-E])[\s*]*$/gm,
  /(?:选择?|应选|正确的?(?:答案|选项)?是|应该是)\s*:?\s*\(?([A-E])(?![A-Za-z])/g,
];

function extractChoice(completion: string, choices: readonly string[] | undefined): ExtractedAnswer {
  const text = toHalfWidth(completion);
  const region = finalAnswerRegion(completion);
  if (choices && choices.length > 0) {
    // Longest first, so "very positive" is not read as "positive". Latin words stand apart from other letters;
    // Chinese needs no spaces around it (情感是正面的), so only non-Han letters count as neighbours.
    const alternatives = [...choices].sort((a, b) => b.length - a.length).map(escapeRegExp);
    const letter = '(?!\\p{Script=Han})[\\p{L}\\p{N}]';
    const pattern = new RegExp(`(?<!${letter})(?:${alternatives.join('|')})(?!${letter})`, 'giu');
    const all = [...text.matchAll(pattern)];
    // Two choices written together are a word, not an answer: 是否 ("whether") names neither 是 nor 否.
    const touch = (a: RegExpExecArray | undefined, b: RegExpExecArray | undefined): boolean =>
      a !== undefined && b !== undefined && a.index + a[0].length === b.index;
    const named = all.filter((match, i) => !touch(all[i - 1], match) && !touch(match, all[i + 1]));
    const loose = (ch: string | undefined): boolean => ch === undefined || /[\s\p{P}\p{S}]/u.test(ch);
    const standalone = named.filter((match) => loose(text[match.index - 1]) && loose(text[match.index + match[0].length]));
    // The stated answer first, then the last choice standing apart (**负面**, "否，…"), then the last one named.
    const stated = region ? named.find((match) => match.index >= region[0] && match.index < region[1]) : undefined;
    const chosen = stated ?? standalone.at(-1) ?? named.at(-1);
    if (!chosen) return none(`none of ${choices.join(', ')} is named`);
    const value = choices.find((choice) => choice.toLowerCase() === chosen[0].toLowerCase()) ?? chosen[0];
    return { valid: true, value, span: [chosen.index, chosen.index + chosen[0].length] };
  }
  if (region) {
    const [start, end] = unwrap(completion, region);
    const letter = /^(?:option\s+|choice\s+)?\(?([A-E])(?![A-Za-z'])/i.exec(text.slice(start, end));
    if (letter?.[1] && /[A-E]/.test(letter[1])) {
      const at = start + letter[0].length - 1;
      return { valid: true, value: letter[1], span: [at, at + 1] };
    }
  }
  let last: number | undefined;
  for (const form of LETTER_FORMS) {
    for (const match of text.matchAll(form)) {
      const at = match.index + match[0].lastIndexOf(match[1] ?? '');
      if (last === undefined || at > last) last = at;
    }
  }
  if (last === undefined) return none('no choice letter (A–E) found');
  // The letter from the half-width text: "Ａ" is "A".
  return { valid: true, value: text[last] ?? '', span: [last, last + 1] };
}

function extractRegex(completion: string, spec: ExtractorSpec): ExtractedAnswer {
  if (!spec.pattern) return none('no pattern given');
  let pattern: UserRegex;
  try {
    // `d` gives the offsets of groups for the span; `g` lists every match so `match` can pick one.
    pattern = userRegex(spec.pattern, [...new Set([...(spec.flags ?? ''), 'g', 'd'])].join(''));
  } catch (error) {
    return none(`invalid pattern: ${error instanceof Error ? error.message : String(error)}`);
  }
  const matches = pattern.matchAll(completion, 'this output');
  if (!Array.isArray(matches)) return none(matches.failed);
  // Reasoning models recite the examples before answering, so the last match is the default.
  const match = spec.match === 'first' ? matches[0] : matches.at(-1);
  if (!match) return none(`no match for /${spec.pattern}/`);
  const group = spec.group ?? (match.length > 1 ? 1 : 0);
  const indices = match.indices?.[group];
  if (group >= match.length) return none(`the pattern has no group ${group}`);
  if (!indices) return none(`group ${group} did not take part in the match`);
  return trimmed(completion, indices[0], indices[1], `group ${group} matched only spaces`);
}

/** Paths like `$`, `$.a.b[0]`, `$['key with spaces']`, `$["x"]` — the grammar the prompt checker accepts. */
const JSON_PATH = /^\$(?:\.[A-Za-z_$][\w$-]*|\[\d+\]|\['[^']*'\]|\["[^"]*"\])*$/;
const JSON_PATH_STEP = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/g;

/** Follows a JSON path; own properties only, so `$.constructor` finds nothing. */
export function followJsonPath(value: unknown, path: string): { found: true; value: unknown } | { found: false; reason: string } {
  const trimmedPath = path.trim();
  if (!JSON_PATH.test(trimmedPath)) return { found: false, reason: `'${path}' is not a JSON path such as $.answer or $.items[0].name` };
  let current = value;
  for (const step of trimmedPath.matchAll(JSON_PATH_STEP)) {
    const key = step[1] ?? step[3] ?? step[4];
    if (key !== undefined) {
      if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, key))
        return { found: false, reason: `the JSON has nothing at ${path}` };
      current = (current as Record<string, unknown>)[key];
    } else {
      const index = Number(step[2]);
      if (!Array.isArray(current) || index >= current.length) return { found: false, reason: `the JSON has nothing at ${path}` };
      current = current[index] as unknown;
    }
  }
  return { found: true, value: current };
}

/** The first balanced JSON object or array in text[from, to) that parses. */
function findJson(text: string, from = 0, to = text.length): { value: unknown; span: Span } | undefined {
  for (let start = from; start < to; start++) {
    if (text[start] !== '{' && text[start] !== '[') continue;
    let depth = 0;
    let inString = false;
    for (let i = start; i < to; i++) {
      const ch = text[i];
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth++;
      else if ((ch === '}' || ch === ']') && --depth === 0) {
        try {
          return { value: JSON.parse(text.slice(start, i + 1)) as unknown, span: [start, i + 1] };
        } catch {
          break;
        }
      }
    }
  }
  return undefined;
}

/** JSON in a ```json fence first (prose before it may hold brackets), then anywhere in the completion. */
function extractJson(completion: string, path: string | undefined): ExtractedAnswer {
  let json: ReturnType<typeof findJson>;
  for (const fence of completion.matchAll(/```(?:json)?[ \t]*\n([\s\S]*?)```/gi)) {
    const start = fence.index + fence[0].indexOf('\n') + 1;
    json = findJson(completion, start, start + (fence[1] ?? '').length);
    if (json) break;
  }
  json ??= findJson(completion);
  if (!json) return none('no JSON object or array in the completion');
  const result = followJsonPath(json.value, path ?? '$');
  if (!result.found) return none(result.reason);
  const value = typeof result.value === 'string' ? result.value : JSON.stringify(result.value);
  return { valid: true, value, span: json.span };
}

function trimmed(completion: string, start: number, end: number, emptyReason: string): ExtractedAnswer {
  let from = start;
  let to = end;
  while (from < to && /\s/.test(completion[from] ?? '')) from++;
  while (to > from && /\s/.test(completion[to - 1] ?? '')) to--;
  return from === to ? none(emptyReason) : found(completion, [from, to]);
}

/** Pulls the answer out of a completion as the prompt's `extract` says. Never throws; never guesses. */
export function extractAnswer(completion: string, spec: ExtractorSpec): ExtractedAnswer {
  switch (spec.type) {
    case 'text':
      return trimmed(completion, 0, completion.length, 'the completion is empty');
    case 'line': {
      const line = /\S[^\n]*/.exec(completion);
      return line
        ? trimmed(completion, line.index, line.index + line[0].length, 'the completion is empty')
        : none('the completion is empty');
    }
    case 'number':
      return extractNumber(completion);
    case 'choice':
      return extractChoice(completion, spec.choices);
    case 'regex':
      return extractRegex(completion, spec);
    case 'json':
      return extractJson(completion, spec.path);
    case 'answer':
    case 'auto': {
      const region = finalAnswerRegion(completion);
      if (region) {
        const span = unwrap(completion, region);
        if (span[0] < span[1]) return found(completion, span);
        if (spec.type === 'answer') return none('nothing follows the last answer phrase');
      }
      if (spec.type === 'answer') return none('no "The answer is …", "Answer:", "####" or \\boxed{…} in the completion');
      return trimmed(completion, 0, completion.length, 'the completion is empty');
    }
  }
}
