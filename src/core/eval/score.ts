import * as path from 'node:path';
import type { ScorerSpec } from '../prompt/types';
import type { ExtractedAnswer } from './extract';
import { normalizeAnswer, parseNumber, toHalfWidth } from './normalize';

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

/** Spaces around CJK characters carry no meaning ("1993 年" is "1993年"); elsewhere they collapse to one. */
function normalizeField(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/\s*([\u3000-\u9fff\uac00-\ud7af])\s*/g, '$1')
    .trim()
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

function parseJsonLoose(value: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof value !== 'string') return { ok: true, value };
  try {
    return { ok: true, value: JSON.parse(value) as unknown };
  } catch {
    return { ok: false };
  }
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

/** Scores one extracted answer against the expected value; `pass` is `score >= threshold`. */
export function scoreAnswer(answer: ExtractedAnswer, expected: unknown, spec: ScorerSpec, threshold: number): ScoreResult {
  if (!answer.valid) return { pass: false, score: 0, reason: `no answer found: ${answer.reason}` };
  const value = answer.value;
  const expectedText = typeof expected === 'string' ? expected : expected === undefined || expected === null ? '' : JSON.stringify(expected);
  switch (spec.type) {
    case 'exact': {
      const options = { caseSensitive: spec.caseSensitive === true };
      const equal = normalizeAnswer(value, options) === normalizeAnswer(expectedText, options);
      return result(equal ? 1 : 0, threshold, equal ? 'matches' : `expected ${show(expected)}, got ${show(value)}`);
    }
    case 'contains': {
      const options = { caseSensitive: spec.caseSensitive === true };
      const found = normalizeAnswer(value, options).includes(normalizeAnswer(expectedText, options));
      return result(found ? 1 : 0, threshold, found ? `contains ${show(expected)}` : `does not contain ${show(expected)}`);
    }
    case 'regex': {
      let pattern: RegExp;
      try {
        pattern = new RegExp(spec.pattern ?? '', spec.caseSensitive === false ? 'i' : '');
      } catch (error) {
        return result(0, threshold, `invalid pattern: ${error instanceof Error ? error.message : String(error)}`);
      }
      const matched = pattern.test(value);
      return result(matched ? 1 : 0, threshold, matched ? `matches /${spec.pattern ?? ''}/` : `does not match /${spec.pattern ?? ''}/`);
    }
    case 'numeric': {
      const got = parseNumber(value);
      const want = typeof expected === 'number' ? expected : parseNumber(expectedText);
      if (want === undefined) return result(0, threshold, `expected value ${show(expected)} is not a number`);
      if (got === undefined) return result(0, threshold, `answer ${show(value)} is not a number`);
      const tolerance = spec.tolerance ?? DEFAULT_TOLERANCE;
      const close = Math.abs(got - want) <= tolerance;
      return result(close ? 1 : 0, threshold, close ? `${got} = ${want}` : `${got} ≠ ${want}${tolerance > DEFAULT_TOLERANCE ? ` (±${tolerance})` : ''}`);
    }
    case 'field-f1': {
      const predicted = parseFields(value);
      const gold = parseFields(expectedText);
      const scored = f1(predicted, gold, ([key, field]) => `${key}\u0000${field}`);
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
      const got = parseJsonLoose(value);
      if (!got.ok) return result(0, threshold, `answer is not JSON: ${show(value)}`);
      const want = parseJsonLoose(expected);
      const equal = want.ok && jsonEqual(got.value, want.value);
      return result(equal ? 1 : 0, threshold, equal ? 'equal JSON' : `expected ${show(expected)}, got ${value}`);
    }
    case 'custom':
      return result(0, threshold, 'custom scorers run asynchronously: use loadCustomScorer');
  }
}

export type CustomScorer = (answer: string | undefined, expected: unknown, context: { completion: string; caseId: string }) => Promise<ScoreResult>;

/**
 * Loads a JavaScript scorer file exporting `score(answer, expected, context)` (or a default function).
 * It runs the user's code, so only in a trusted workspace. A scorer that throws or returns nonsense
 * fails that chain with the reason; it never stops the run.
 */
export function loadCustomScorer(file: string, trusted: boolean, threshold = 1): Promise<CustomScorer> {
  if (!trusted) return Promise.reject(new Error(`Custom scorer ${path.basename(file)} not loaded: the workspace is not trusted (custom scorers run code).`));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's scorer is a CommonJS file loaded at run time
  const loaded = require(path.resolve(file)) as unknown;
  const module = loaded as { score?: unknown; default?: unknown };
  const candidate = typeof loaded === 'function' ? loaded : typeof module.score === 'function' ? module.score : module.default;
  if (typeof candidate !== 'function') return Promise.reject(new Error(`Custom scorer ${file} exports no function (export 'score' or a default function).`));
  const scorer = candidate as (...args: unknown[]) => unknown;
  return Promise.resolve(async (answer, expected, context) => {
    try {
      const returned = await Promise.resolve(scorer(answer, expected, context));
      if (typeof returned === 'boolean') return result(returned ? 1 : 0, threshold, returned ? 'custom scorer: pass' : 'custom scorer: fail');
      if (typeof returned === 'number') return result(returned, threshold, `custom scorer: ${returned}`);
      if (returned && typeof returned === 'object') {
        const object = returned as { pass?: unknown; score?: unknown; reason?: unknown };
        const score = typeof object.score === 'number' ? object.score : object.pass === true ? 1 : 0;
        const scored = result(score, threshold, typeof object.reason === 'string' ? object.reason : 'custom scorer');
        return typeof object.pass === 'boolean' ? { ...scored, pass: object.pass } : scored;
      }
      return result(0, threshold, `custom scorer returned ${typeof returned}; expected a boolean, a number or {pass, score, reason}`);
    } catch (error) {
      return result(0, threshold, `custom scorer threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}
