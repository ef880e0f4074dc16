import type { ExtractorSpec } from '../prompt/types';
import { canonicalNumber, parseNumber, toHalfWidth } from './normalize';

/** An answer and where it stands in the completion, or an explicit "no answer" (never a guess). */
export type ExtractedAnswer = { valid: true; value: string; span: [number, number] } | { valid: false; reason: string };

/** Phrases after which models state their final answer; the last one in a completion wins. */
const ANSWER_PHRASE = /(?:the (?:final )?answer is|answer\s*[:：]|####|final answer\s*[:：]?|therefore,? the answer is|答案是|答案[:：])\s*/gi;

/** Numbers as written: sign, currency, thousands separators, decimals or a fraction, optional percent. */
const NUMBER = /[-+−]?[$€£¥₹]?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\/\d+)?%?|[-+]?\.\d+/g;

function none(reason: string): ExtractedAnswer {
  return { valid: false, reason };
}

/** The text after the last answer phrase, up to the end of its sentence or line, without decoration. */
function afterLastPhrase(completion: string): { text: string; start: number } | undefined {
  let last: RegExpExecArray | undefined;
  for (const match of completion.matchAll(ANSWER_PHRASE)) last = match;
  if (!last) return undefined;
  const start = last.index + last[0].length;
  const rest = completion.slice(start);
  const lineEnd = rest.search(/\n/);
  let text = lineEnd < 0 ? rest : rest.slice(0, lineEnd);
  // The answer ends at a sentence end ("… is 14. So …"), but not inside a decimal like 3.5.
  const sentenceEnd = /[.。!?](?=\s|$)/.exec(text);
  if (sentenceEnd) text = text.slice(0, sentenceEnd.index);
  return { text, start };
}

/** Strips markup models wrap answers in: **bold**, $math$, \boxed{…}, quotes. */
function unwrap(text: string, start: number): { value: string; span: [number, number] } {
  let value = text;
  let offset = start;
  const boxed = /\\boxed\{([^}]*)\}/.exec(value);
  if (boxed) {
    offset += boxed.index + '\\boxed{'.length;
    value = boxed[1] ?? '';
  }
  const leading = /^[\s*$"'`(]*/.exec(value)?.[0].length ?? 0;
  const trailing = /[\s*$"'`).,;:!?。]*$/.exec(value.slice(leading))?.[0].length ?? 0;
  const inner = value.slice(leading, value.length - trailing);
  return { value: inner, span: [offset + leading, offset + leading + inner.length] };
}

function extractNumber(completion: string): ExtractedAnswer {
  const phrase = afterLastPhrase(completion);
  const candidates = (text: string, base: number): { value: number; span: [number, number] }[] => {
    const found: { value: number; span: [number, number] }[] = [];
    for (const match of text.matchAll(NUMBER)) {
      const raw = match[0].replace('−', '-');
      const value = parseNumber(raw.replace(/%$/, '')) ?? undefined;
      if (value === undefined) continue;
      found.push({ value: raw.endsWith('%') ? value : value, span: [base + (match.index ?? 0), base + (match.index ?? 0) + match[0].length] });
    }
    return found;
  };
  const inPhrase = phrase ? candidates(phrase.text, phrase.start) : [];
  // After the phrase the first number is the answer ("The answer is 14 apples, not 12").
  const chosen = inPhrase[0] ?? candidates(completion, 0).at(-1);
  if (!chosen) return none('no number in the completion');
  return { valid: true, value: canonicalNumber(chosen.value), span: chosen.span };
}

function extractChoice(completion: string, choices: readonly string[] | undefined): ExtractedAnswer {
  if (choices && choices.length > 0) {
    const escaped = choices.map((choice) => choice.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    // Whole words for Latin text; CJK choices have no word boundaries.
    const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(${escaped.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
    let last: RegExpExecArray | undefined;
    for (const match of completion.matchAll(pattern)) last = match;
    if (!last) return none(`none of ${choices.join(', ')} is named`);
    const named = choices.find((choice) => choice.toLowerCase() === (last[1] ?? '').toLowerCase()) ?? last[1] ?? '';
    return { valid: true, value: named, span: [last.index, last.index + last[0].length] };
  }
  const text = toHalfWidth(completion);
  const patterns = [/\(([A-E])\)/g, /(?:answer|option|choice)\s*(?:is|:)?\s*\(?([A-E])\b/gi, /(?:^|\s)([A-E])[).:](?=\s|$)/gm, /^\s*([A-E])\s*$/gm];
  let best: { letter: string; index: number; length: number } | undefined;
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      const letter = (match[1] ?? '').toUpperCase();
      const index = (match.index ?? 0) + match[0].indexOf(match[1] ?? '');
      if (!best || index > best.index) best = { letter, index, length: 1 };
    }
  }
  if (!best) return none('no choice letter (A–E) found');
  return { valid: true, value: best.letter, span: [best.index, best.index + best.length] };
}

function extractRegex(completion: string, spec: ExtractorSpec): ExtractedAnswer {
  if (!spec.pattern) return none('no pattern given');
  let pattern: RegExp;
  try {
    const flags = new Set((spec.flags ?? '').split(''));
    flags.add('g');
    flags.add('d');
    pattern = new RegExp(spec.pattern, [...flags].join(''));
  } catch (error) {
    return none(`invalid pattern: ${error instanceof Error ? error.message : String(error)}`);
  }
  const matches = [...completion.matchAll(pattern)];
  // Reasoning models recite the examples before answering, so the last match is the default.
  const match = spec.match === 'first' ? matches[0] : matches.at(-1);
  if (!match) return none(`no match for /${spec.pattern}/`);
  const group = spec.group ?? (match.length > 1 ? 1 : 0);
  const value = match[group];
  const indices = (match as RegExpMatchArray & { indices?: [number, number][] }).indices?.[group];
  if (value === undefined || !indices) return none(`group ${group} did not take part in the match`);
  return { valid: true, value: value.trim(), span: indices };
}

/** The first balanced JSON object or array in the text (also inside ```json fences). */
function findJson(completion: string): { value: unknown; span: [number, number] } | undefined {
  for (let start = 0; start < completion.length; start++) {
    const open = completion[start];
    if (open !== '{' && open !== '[') continue;
    let depth = 0;
    let inString = false;
    for (let i = start; i < completion.length; i++) {
      const ch = completion[i];
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
        continue;
      }
      if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) {
          try {
            return { value: JSON.parse(completion.slice(start, i + 1)) as unknown, span: [start, i + 1] };
          } catch {
            break;
          }
        }
      }
    }
  }
  return undefined;
}

/** Follows `$.a.b[0]`, `$['key with spaces']`. */
export function followJsonPath(value: unknown, path: string): { found: boolean; value?: unknown } {
  const steps = [...path.trim().replace(/^\$/, '').matchAll(/\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/g)];
  let current = value;
  for (const step of steps) {
    const key = step[1] ?? step[3] ?? step[4];
    if (key !== undefined) {
      if (current === null || typeof current !== 'object' || Array.isArray(current) || !(key in current)) return { found: false };
      current = (current as Record<string, unknown>)[key];
    } else {
      const index = Number(step[2]);
      if (!Array.isArray(current) || index >= current.length) return { found: false };
      current = current[index] as unknown;
    }
  }
  return { found: true, value: current };
}

function extractJson(completion: string, path: string | undefined): ExtractedAnswer {
  const json = findJson(completion);
  if (!json) return none('no JSON object in the completion');
  const result = followJsonPath(json.value, path ?? '$');
  if (!result.found) return none(`the JSON has nothing at ${path ?? '$'}`);
  const value = typeof result.value === 'string' ? result.value : JSON.stringify(result.value);
  return { valid: true, value, span: json.span };
}

function trimmedSpan(completion: string, start: number, end: number): ExtractedAnswer {
  let from = start;
  let to = end;
  while (from < to && /\s/.test(completion[from] ?? '')) from++;
  while (to > from && /\s/.test(completion[to - 1] ?? '')) to--;
  if (from === to) return none('the completion is empty');
  return { valid: true, value: completion.slice(from, to), span: [from, to] };
}

/** Pulls the answer out of a completion as the prompt's `extract` says. */
export function extractAnswer(completion: string, spec: ExtractorSpec): ExtractedAnswer {
  switch (spec.type) {
    case 'text':
      return trimmedSpan(completion, 0, completion.length);
    case 'line': {
      const match = /\S[^\n]*/.exec(completion);
      return match ? trimmedSpan(completion, match.index, match.index + match[0].length) : none('the completion is empty');
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
      const phrase = afterLastPhrase(completion);
      if (phrase) {
        const { value, span } = unwrap(phrase.text, phrase.start);
        if (value) return { valid: true, value, span };
      }
      if (spec.type === 'answer') return none('no "The answer is …" or "Answer:" in the completion');
      return trimmedSpan(completion, 0, completion.length);
    }
  }
}
