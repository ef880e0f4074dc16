import { access } from 'node:fs/promises';
import * as path from 'node:path';
import { SCORERS_NEEDING_EXPECTED, type ScorerSpec } from '../prompt/types';
import type { ExtractedAnswer } from './extract';
import { normalizeAnswer, parseNumber, toHalfWidth } from './normalize';
import { regexTimeoutReason, userRegex, type UserRegex } from './userRegex';

export interface ScoreResult {
  pass: boolean;
  /** Between 0 and 1. */
  score: number;
  reason: string;
}

const DEFAULT_TOLERANCE = 1e-6;

function result(score: number, threshold: number, reason: string): ScoreResult {
  const clamped = Math.max(0, Math.min(1, Number.isFinite(score) ? score : 0));
  return { pass: clamped >= threshold, score: clamped, reason };
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
}

/** Splits `人物:张三,时间:2020年` into key/value pairs; a piece without a key adds a value to the key before it. */
export function parseFields(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  let lastKey: string | undefined;
  for (const piece of toHalfWidth(text).split(/[,;\n、]/)) {
    const trimmed = piece.trim();
    if (!trimmed) continue;
    const colon = trimmed.indexOf(':');
    if (colon > 0) {
      lastKey = normalizeField(trimmed.slice(0, colon));
      const value = normalizeField(trimmed.slice(colon + 1));
      if (value) pairs.push([lastKey, value]);
    } else if (lastKey !== undefined) {
      pairs.push([lastKey, normalizeField(trimmed)]);
    }
  }
  return pairs;
}

/**
 * Spaces around CJK characters carry no meaning ("1993 年" is "1993年"); elsewhere they collapse to one.
 * A sentence's final stop ("北京大学。") is not part of the value.
 */
function normalizeField(text: string): string {
  return toHalfWidth(text)
    .replace(/\s+/g, ' ')
    .replace(/\s*([\u3000-\u9fff\uac00-\ud7af])\s*/g, '$1')
    .trim()
    .replace(/[.!?]+$/, '')
    .toLowerCase();
}

/** Multiset F1 between two lists of comparable items. */
function f1<T>(predicted: readonly T[], gold: readonly T[], key: (item: T) => string): { f1: number; precision: number; recall: number; missing: T[]; extra: T[] } {
  const remaining = new Map<string, number>();
  for (const item of gold) remaining.set(key(item), (remaining.get(key(item)) ?? 0) + 1);
  let common = 0;
  const extra: T[] = [];
  for (const item of predicted) {
    const count = remaining.get(key(item)) ?? 0;
    if (count > 0) {
      common++;
      remaining.set(key(item), count - 1);
    } else {
      extra.push(item);
    }
  }
  const missing = gold.filter((item) => {
    const count = remaining.get(key(item)) ?? 0;
    if (count > 0) {
      remaining.set(key(item), count - 1);
      return true;
    }
    return false;
  });
  if (predicted.length === 0 && gold.length === 0) return { f1: 1, precision: 1, recall: 1, missing, extra };
  const precision = predicted.length === 0 ? 0 : common / predicted.length;
  const recall = gold.length === 0 ? 0 : common / gold.length;
  const value = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { f1: value, precision, recall, missing, extra };
}

/** SQuAD-style tokens: lowercase, no punctuation or articles; each CJK character is a token. */
export function answerTokens(text: string): string[] {
  const lowered = toHalfWidth(text).toLowerCase().replace(/[\p{P}\p{S}]/gu, ' ').replace(/\b(a|an|the)\b/g, ' ');
  return lowered.replace(/([\u3000-\u9fff\uac00-\ud7af])/g, ' $1 ').split(/\s+/).filter(Boolean);
}

/** Deep equality of JSON values; object key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => key in right && jsonEqual(left[key], right[key]));
}

/** Width, spacing and case folded, final punctuation dropped: the text `contains` compares. */
function foldText(text: string, caseSensitive: boolean): string {
  const folded = toHalfWidth(text).replace(/\s+/g, ' ').trim().replace(/[\s.!?;,…]+$/, '');
  return caseSensitive ? folded : folded.toLowerCase();
}

/** Text that is not JSON stands for a JSON string, so `extract: json` on a string field meets `expected: Paris`. */
function asJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Expected fields as text, or as an object (`{人物: [张三, 李四], 时间: 2020年}`) from YAML. */
function expectedFields(expected: unknown): [string, string][] {
  if (expected === null || typeof expected !== 'object' || Array.isArray(expected)) return parseFields(typeof expected === 'string' ? expected : String(expected));
  return Object.entries(expected as Record<string, unknown>).flatMap(([key, values]) =>
    (Array.isArray(values) ? values : [values]).map((value): [string, string] => [normalizeField(key), normalizeField(typeof value === 'string' ? value : JSON.stringify(value))]),
  );
}

/** Scores one extracted answer against the expected value; `pass` is `score >= threshold`. */
export function scoreAnswer(answer: ExtractedAnswer, expected: unknown, spec: ScorerSpec, threshold: number): ScoreResult {
  if (!answer.valid) return { pass: false, score: 0, reason: `no answer found: ${answer.reason}` };
  if (SCORERS_NEEDING_EXPECTED.has(spec.type) && (expected === undefined || expected === null)) {
    return result(0, threshold, `the case has no expected value to compare with (${spec.type} needs one)`);
  }
  const value = answer.value;
  const expectedText = typeof expected === 'string' ? expected : JSON.stringify(expected) ?? String(expected);
  const caseSensitive = spec.caseSensitive === true;
  switch (spec.type) {
    case 'exact': {
      const equal = normalizeAnswer(value, { caseSensitive }) === normalizeAnswer(expectedText, { caseSensitive });
      return result(equal ? 1 : 0, threshold, equal ? 'matches' : `expected ${show(expected)}, got ${show(value)}`);
    }
    case 'contains': {
      const found = foldText(value, caseSensitive).includes(foldText(expectedText, caseSensitive));
      return result(found ? 1 : 0, threshold, found ? `contains ${show(expected)}` : `does not contain ${show(expected)}`);
    }
    case 'regex': {
      if (!spec.pattern) return result(0, threshold, 'the regex scorer has no pattern');
      let pattern: UserRegex;
      try {
        pattern = userRegex(spec.pattern, spec.caseSensitive === false ? 'i' : '');
      } catch (error) {
        return result(0, threshold, `invalid pattern: ${error instanceof Error ? error.message : String(error)}`);
      }
      const matched = pattern.test(value);
      if (matched === 'timeout') return result(0, threshold, regexTimeoutReason('this answer'));
      return result(matched ? 1 : 0, threshold, matched ? `matches /${spec.pattern}/` : `does not match /${spec.pattern}/`);
    }
    case 'numeric': {
      const got = parseNumber(value);
      const want = typeof expected === 'number' ? expected : parseNumber(expectedText);
      if (want === undefined || !Number.isFinite(want)) return result(0, threshold, `expected value ${show(expected)} is not a number`);
      if (got === undefined) return result(0, threshold, `answer ${show(value)} is not a number`);
      const tolerance = spec.tolerance ?? DEFAULT_TOLERANCE;
      const close = Math.abs(got - want) <= tolerance;
      return result(close ? 1 : 0, threshold, close ? `${got} = ${want}` : `${got} ≠ ${want}${tolerance > DEFAULT_TOLERANCE ? ` (±${tolerance})` : ''}`);
    }
    case 'field-f1': {
      const scored = f1(parseFields(value), expectedFields(expected), ([key, field]) => `${key}\u0000${field}`);
      const parts = [`F1 ${scored.f1.toFixed(3)} (P ${scored.precision.toFixed(2)}, R ${scored.recall.toFixed(2)})`];
      if (scored.missing.length > 0) parts.push(`missing ${scored.missing.map(([k, v]) => `${k}:${v}`).join(', ')}`);
      if (scored.extra.length > 0) parts.push(`extra ${scored.extra.map(([k, v]) => `${k}:${v}`).join(', ')}`);
      return result(scored.f1, threshold, parts.join('; '));
    }
    case 'token-f1': {
      const scored = f1(answerTokens(value), answerTokens(expectedText), (token) => token);
      return result(scored.f1, threshold, `token F1 ${scored.f1.toFixed(3)} (P ${scored.precision.toFixed(2)}, R ${scored.recall.toFixed(2)})`);
    }
    case 'json': {
      const equal = jsonEqual(asJson(value), asJson(expected));
      return result(equal ? 1 : 0, threshold, equal ? 'equal JSON' : `expected ${show(expected)}, got ${value}`);
    }
    case 'custom':
      return result(0, threshold, 'custom scorers run asynchronously: use loadCustomScorer');
  }
}

export type CustomScorer = (answer: string | undefined, expected: unknown, context: { completion: string; caseId: string }) => Promise<ScoreResult>;

/** A scorer that has not answered by then fails its chain, so one stuck call cannot hang the run. */
const CUSTOM_SCORER_TIMEOUT_MS = 10_000;

/** Reads what a user's scorer returned: a score in [0, 1], a pass/fail boolean, or `{pass?, score?, reason?}`. */
function customResult(returned: unknown, threshold: number): ScoreResult {
  const invalid = (why: string): ScoreResult => result(0, threshold, `custom scorer returned ${why}; expected a boolean, a number in [0, 1] or {pass, score, reason}`);
  const validScore = (score: unknown): score is number => typeof score === 'number' && Number.isFinite(score) && score >= 0 && score <= 1;
  if (typeof returned === 'boolean') return result(returned ? 1 : 0, threshold, returned ? 'custom scorer: pass' : 'custom scorer: fail');
  if (typeof returned === 'number') return validScore(returned) ? result(returned, threshold, `custom scorer: ${returned}`) : invalid(String(returned));
  if (returned === null || typeof returned !== 'object') return invalid(returned === null ? 'null' : typeof returned);
  const { pass, score, reason } = returned as { pass?: unknown; score?: unknown; reason?: unknown };
  if (score !== undefined && !validScore(score)) return invalid(`score ${show(score)}`);
  if (pass !== undefined && typeof pass !== 'boolean') return invalid(`pass ${show(pass)}`);
  if (score === undefined && pass === undefined) return invalid('an object without pass or score');
  const text = typeof reason === 'string' && reason !== '' ? reason : 'custom scorer';
  const scored = result(score ?? (pass ? 1 : 0), threshold, text);
  // An explicit pass is the scorer's own verdict, even where it disagrees with score ≥ threshold.
  return typeof pass === 'boolean' ? { ...scored, pass } : scored;
}

/**
 * Loads a CommonJS scorer file exporting `score(answer, expected, context)` (or a function as
 * `module.exports` or `default`). It runs the user's code, so only in a trusted workspace. The file is read
 * afresh on every load, so edits apply on the next run. A scorer that throws, times out or returns nonsense
 * fails that chain with the reason; it never stops the run.
 */
export async function loadCustomScorer(file: string, trusted: boolean, threshold = 1, timeoutMs = CUSTOM_SCORER_TIMEOUT_MS): Promise<CustomScorer> {
  const name = path.basename(file);
  if (!trusted) throw new Error(`Custom scorer ${name} not loaded: the workspace is not trusted, and custom scorers run code.`);
  const resolved = path.resolve(file);
  await access(resolved).catch((error: unknown) => {
    throw new Error(`Custom scorer file not found: ${resolved}`, { cause: error });
  });
  let loaded: unknown;
  try {
    delete require.cache[resolved];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's scorer is a CommonJS file loaded at run time
    loaded = require(resolved) as unknown;
  } catch (error) {
    throw new Error(`Custom scorer ${name} failed to load: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const exports = loaded as { score?: unknown; default?: unknown } | null | undefined;
  const candidate = typeof loaded === 'function' ? loaded : typeof exports?.score === 'function' ? exports.score : exports?.default;
  if (typeof candidate !== 'function') throw new Error(`Custom scorer ${name} exports no function (export 'score' or a default function).`);
  const scorer = candidate as (...args: unknown[]) => unknown;
  return async (answer, expected, context) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return customResult(await Promise.race([Promise.resolve().then(() => scorer(answer, expected, context)), timeout]), threshold);
    } catch (error) {
      return result(0, threshold, `custom scorer threw: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  };
}
