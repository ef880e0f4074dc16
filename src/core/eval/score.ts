import { existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { SCORERS_NEEDING_EXPECTED, type ScorerSpec } from '../prompt/types';
import type { ExtractedAnswer } from './extract';
import { fractionParts, normalizeAnswer, parseNumber, toHalfWidth } from './normalize';
import { userRegex, type UserRegex } from './userRegex';

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
  return typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
}

/** A list marker before a field: "-", "*", "•", "1.", "1)", "(1)" (（1） and 1、 once half-width). */
const LIST_MARKER = /^(?:[-*•·]+|\d{1,2}[.)](?!\d)|\(\d{1,2}\))\s*/;
/** What a key may look like: short, with a letter, no sentence inside. "10" in "时间:10:30" is no key. */
const KEY = /^(?=[^]*\p{L})[^\n.!?]{1,24}$/u;

/**
 * The `key:value` pairs of an answer, wherever they stand: separated by commas, 、，；; or newlines, after list
 * markers, with ASCII or full-width colons, after a preamble (实体如下：人物:张三). A piece without a colon adds
 * a value to the key before it on the same line ("人物:张三,李四"); other text — a preamble on its own line,
 * a code fence, a closing sentence after 。 — is no field and is ignored.
 */
export function parseFields(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  // Sentences end at 。！？ (not at ".", which may be a decimal point); a closing remark after one is no field.
  for (const sentence of text.split(/[。！？]|\n/).map((part) => part.normalize('NFKC'))) {
    if (/^\s*```/.test(sentence)) continue;
    let lastKey: string | undefined;
    for (const piece of toHalfWidth(sentence).split(/[,;、]/)) {
      const trimmed = piece.trim().replace(LIST_MARKER, '');
      if (!trimmed) continue;
      const pair = fieldPair(trimmed);
      if (pair) {
        lastKey = pair[0];
        if (pair[1]) pairs.push(pair);
      } else if (lastKey !== undefined) {
        const value = normalizeField(trimmed);
        if (value) pairs.push([lastKey, value]);
      }
    }
  }
  return pairs;
}

/** `key:value` in one piece; a piece with a key after the first colon ("实体如下:人物:张三") drops its preamble. */
function fieldPair(piece: string): [string, string] | undefined {
  const colon = piece.indexOf(':');
  if (colon <= 0) return undefined;
  const rest = piece.slice(colon + 1);
  const inner = rest.indexOf(':');
  if (inner > 0 && KEY.test(stripMarkup(rest.slice(0, inner)))) return fieldPair(rest.trim());
  const key = normalizeField(stripMarkup(piece.slice(0, colon)));
  return key ? [key, normalizeField(stripMarkup(rest))] : undefined;
}

/** Markdown bold, backticks, quotes and braces around a key or value: **人物**: "张三". */
function stripMarkup(text: string): string {
  return text.trim().replace(/^[*`"'{}[\]\s]+|[*`"'{}[\]\s]+$/g, '');
}

/**
 * Spaces around CJK characters carry no meaning ("1993 年" is "1993年"); elsewhere they collapse to one.
 * A sentence's final stop ("北京大学。") is not part of the value. NFKC folds full-width forms.
 */
function normalizeField(text: string): string {
  return toHalfWidth(text.normalize('NFKC'))
    .replace(/\s+/g, ' ')
    .replace(/\s*([\u3000-\u9fff\uac00-\ud7af])\s*/g, '$1')
    .trim()
    .replace(/[.!?]+$/, '')
    .toLowerCase();
}

/** Multiset F1 between two lists of comparable items. */
function f1<T>(
  predicted: readonly T[],
  gold: readonly T[],
  key: (item: T) => string,
): { f1: number; precision: number; recall: number; missing: T[]; extra: T[] } {
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
  const lowered = toHalfWidth(text)
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, ' ')
    .replace(/\b(a|an|the)\b/g, ' ');
  return lowered
    .replace(/([\u3000-\u9fff\uac00-\ud7af])/g, ' $1 ')
    .split(/\s+/)
    .filter(Boolean);
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
  const folded = toHalfWidth(text)
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s.!?;,…]+$/, '');
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
  if (expected === null || typeof expected !== 'object' || Array.isArray(expected))
    return parseFields(typeof expected === 'string' ? expected : String(expected));
  return Object.entries(expected as Record<string, unknown>).flatMap(([key, values]) =>
    (Array.isArray(values) ? values : [values]).map((value): [string, string] => [
      normalizeField(key),
      normalizeField(typeof value === 'string' ? value : JSON.stringify(value)),
    ]),
  );
}

/** Scores one extracted answer against the expected value; `pass` is `score >= threshold`. */
export function scoreAnswer(answer: ExtractedAnswer, expected: unknown, spec: ScorerSpec, threshold: number): ScoreResult {
  if (!answer.valid) return { pass: false, score: 0, reason: `no answer found: ${answer.reason}` };
  if (SCORERS_NEEDING_EXPECTED.has(spec.type) && (expected === undefined || expected === null)) {
    return result(0, threshold, `the case has no expected value to compare with (${spec.type} needs one)`);
  }
  const value = answer.value;
  const expectedText = typeof expected === 'string' ? expected : (JSON.stringify(expected) ?? String(expected));
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
      const matched = pattern.test(value, 'this answer');
      if (typeof matched !== 'boolean') return result(0, threshold, matched.failed);
      return result(matched ? 1 : 0, threshold, matched ? `matches /${spec.pattern}/` : `does not match /${spec.pattern}/`);
    }
    case 'numeric': {
      const got = parseNumber(value);
      const want = typeof expected === 'number' ? expected : parseNumber(expectedText);
      if (want === undefined || !Number.isFinite(want)) return result(0, threshold, `expected value ${show(expected)} is not a number`);
      if (got === undefined) return result(0, threshold, `answer ${show(value)} is not a number`);
      const tolerance = spec.tolerance ?? DEFAULT_TOLERANCE;
      const close = Math.abs(got - want) <= tolerance;
      // A fraction (1/3, 三分之一) has no finite decimal: it meets an expected decimal (0.333) it rounds to.
      const places = fractionParts(value) ? /^[-+]?\d*\.(\d+)$/.exec(expectedText.trim())?.[1]?.length : undefined;
      if (!close && places !== undefined && Math.abs(Number(got.toFixed(places)) - want) < 1e-12)
        return result(1, threshold, `${value.trim()} ≈ ${want} (rounded to ${places} places)`);
      return result(
        close ? 1 : 0,
        threshold,
        close ? `${got} = ${want}` : `${got} ≠ ${want}${tolerance > DEFAULT_TOLERANCE ? ` (±${tolerance})` : ''}`,
      );
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
      return result(
        scored.f1,
        threshold,
        `token F1 ${scored.f1.toFixed(3)} (P ${scored.precision.toFixed(2)}, R ${scored.recall.toFixed(2)})`,
      );
    }
    case 'json': {
      const equal = jsonEqual(asJson(value), asJson(expected));
      return result(equal ? 1 : 0, threshold, equal ? 'equal JSON' : `expected ${show(expected)}, got ${value}`);
    }
    case 'custom':
      return result(0, threshold, 'custom scorers run asynchronously: use loadCustomScorer');
    case 'judge':
      return result(0, threshold, 'the judge scores chains from its verdicts in the run file, not from the answer alone');
  }
}

export type CustomScorer = (
  answer: string | undefined,
  expected: unknown,
  context: { completion: string; caseId: string },
) => Promise<ScoreResult>;

/** A loaded scorer; `dispose()` stops its worker thread. */
export type LoadedCustomScorer = CustomScorer & { dispose: () => Promise<void> };

/** A scorer that has not answered by then fails its chain, so one stuck call cannot hang the run. */
export const CUSTOM_SCORER_TIMEOUT_MS = 10_000;

/** Messages between loadCustomScorer and its worker thread (scorerWorker.ts). */
export interface ScorerToWorker {
  id: number;
  answer: string | undefined;
  expected: unknown;
  context: { completion: string; caseId: string };
}
export type ScorerFromWorker =
  { type: 'ready' } | { type: 'failed'; message: string } | { type: 'scored'; id: number; result: ScoreResult };

/** Reads what a user's scorer returned: a score in [0, 1], a pass/fail boolean, or `{pass?, score?, reason?}`. */
export function customResult(returned: unknown, threshold: number): ScoreResult {
  const invalid = (why: string): ScoreResult =>
    result(0, threshold, `custom scorer returned ${why}; expected a boolean, a number in [0, 1] or {pass, score, reason}`);
  const validScore = (score: unknown): score is number => typeof score === 'number' && Number.isFinite(score) && score >= 0 && score <= 1;
  if (typeof returned === 'boolean') return result(returned ? 1 : 0, threshold, returned ? 'custom scorer: pass' : 'custom scorer: fail');
  if (typeof returned === 'number')
    return validScore(returned) ? result(returned, threshold, `custom scorer: ${returned}`) : invalid(String(returned));
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

/** The worker's script: the TypeScript source through tsx's require hook when running from source (mocha), else the bundle beside this one in dist/. */
function scorerWorkerScript(): { file: string; execArgv?: string[] } {
  // A variable, so that esbuild leaves the dev-only hook out of the bundles.
  const tsxHook = 'tsx/cjs';
  if (__filename.endsWith('.ts'))
    return { file: path.join(__dirname, 'scorerWorker.ts'), execArgv: ['--require', require.resolve(tsxHook)] };
  const file = path.join(__dirname, 'scorerWorker.js');
  if (!existsSync(file)) throw new Error(`The custom scorer worker is not built (looked for ${file}): run 'npm run build'.`);
  return { file };
}

/** One worker thread running the scorer file; chains are scored one message at a time. */
class ScorerThread {
  /** Set once the thread has stopped (terminated, crashed or exited): a new one is needed. */
  stopped = false;
  private readonly worker: Worker;
  private readonly pending = new Map<number, (outcome: ScoreResult | 'timeout') => void>();
  private nextId = 1;
  private loaded: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(file: string, name: string, threshold: number) {
    const script = scorerWorkerScript();
    this.worker = new Worker(script.file, {
      workerData: { file, name, threshold },
      ...(script.execArgv ? { execArgv: script.execArgv } : {}),
    });
    // A scorer nobody disposed must not keep the process alive; pending calls hold a timer that does.
    this.worker.unref();
    this.worker.on('message', (message: ScorerFromWorker) => {
      if (message.type === 'ready') this.loaded?.resolve();
      else if (message.type === 'failed') this.loaded?.reject(new Error(message.message));
      else {
        this.pending.get(message.id)?.(message.result);
        this.pending.delete(message.id);
      }
    });
    const stop = (why: string): void => {
      this.stopped = true;
      this.loaded?.reject(new Error(`Custom scorer ${name} failed to load: ${why}`));
      for (const settle of this.pending.values()) settle({ pass: false, score: 0, reason: `custom scorer crashed: ${why}` });
      this.pending.clear();
    };
    this.worker.on('error', (error) => stop(error.message));
    this.worker.on('exit', (code) => stop(`its thread exited with code ${code}`));
  }

  /** Resolves once the file is loaded and exports a function; a file that takes longer than the deadline is refused. */
  async load(name: string, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.loaded = { resolve, reject };
        timer = setTimeout(() => reject(new Error(`Custom scorer ${name} did not load within ${timeoutMs} ms.`)), timeoutMs);
      });
    } catch (error) {
      await this.terminate();
      throw error;
    } finally {
      clearTimeout(timer);
      this.loaded = undefined;
    }
  }

  score(request: Omit<ScorerToWorker, 'id'>, timeoutMs: number): Promise<ScoreResult | 'timeout'> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve('timeout');
      }, timeoutMs);
      this.pending.set(id, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
      this.worker.postMessage({ id, ...request } satisfies ScorerToWorker);
    });
  }

  async terminate(): Promise<void> {
    this.stopped = true;
    await this.worker.terminate();
  }
}

/**
 * Loads a CommonJS scorer file exporting `score(answer, expected, context)` (or a function as
 * `module.exports` or `default`). It runs the user's code, so only in a trusted workspace. The code runs in
 * a worker thread, so that a scorer still busy at the deadline (even in a synchronous loop) is stopped:
 * its chain fails and a fresh thread, with the file read afresh, scores the next one. Every load reads the
 * file afresh, so edits apply on the next run. A scorer that throws, times out or returns nonsense fails
 * that chain with the reason; it never stops the run. Call it one chain at a time, and dispose it after.
 */
export async function loadCustomScorer(
  file: string,
  trusted: boolean,
  threshold = 1,
  timeoutMs = CUSTOM_SCORER_TIMEOUT_MS,
): Promise<LoadedCustomScorer> {
  const name = path.basename(file);
  if (!trusted) throw new Error(`Custom scorer ${name} not loaded: the workspace is not trusted, and custom scorers run code.`);
  const resolved = path.resolve(file);
  await access(resolved).catch((error: unknown) => {
    throw new Error(`Custom scorer file not found: ${resolved}`, { cause: error });
  });
  const start = async (): Promise<ScorerThread> => {
    const started = new ScorerThread(resolved, name, threshold);
    // Starting a thread takes its own time: a short per-chain limit does not shorten the load's.
    await started.load(name, Math.max(timeoutMs, CUSTOM_SCORER_TIMEOUT_MS));
    return started;
  };
  let thread: ScorerThread | undefined = await start();
  const scorer: CustomScorer = async (answer, expected, context) => {
    try {
      thread ??= await start();
    } catch (error) {
      return { pass: false, score: 0, reason: error instanceof Error ? error.message : String(error) };
    }
    const current = thread;
    const outcome = await current.score({ answer, expected, context }, timeoutMs);
    if (outcome === 'timeout') await current.terminate();
    if (current.stopped && thread === current) thread = undefined;
    return outcome === 'timeout' ? { pass: false, score: 0, reason: `custom scorer timed out: no result within ${timeoutMs} ms` } : outcome;
  };
  return Object.assign(scorer, {
    dispose: async (): Promise<void> => {
      const current = thread;
      thread = undefined;
      await current?.terminate();
    },
  });
}
