import type { Case, PromptDocument } from '../prompt/types';
import { extractAnswer, type ExtractedAnswer } from './extract';
import { normalizeAnswer } from './normalize';
import * as path from 'node:path';
import { loadCustomScorer, scoreAnswer, type ScoreResult } from './score';
import { majAtKCurve, vote, wilson } from './stats';
import type { CompletionRecord, ParsedRunFile } from './store';

export const RESULT_SCHEMA = 'chainscope.result/1';

/** An accuracy with its 95% Wilson score interval. */
export interface Accuracy {
  value: number;
  low: number;
  high: number;
  successes: number;
  trials: number;
}

export interface ChainResult {
  sample: number;
  text: string;
  answerText?: string;
  /** The extracted answer, or undefined when none was found (an invalid chain, counted as wrong). */
  answer?: string;
  /** Offsets of the answer in `answerText ?? text`, for highlighting. */
  span?: [number, number];
  score: number;
  pass: boolean;
  reason: string;
  finishReason: CompletionRecord['finishReason'];
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  error?: string;
  cached?: boolean;
}

export interface CellResult {
  variant: string;
  caseId: string;
  caseName?: string;
  input: Record<string, unknown>;
  expected?: unknown;
  /** Where the case is written: the prompt file's line (0-based) or a dataset file and line. */
  location: { file: string; line: number };
  chains: ChainResult[];
  /** The most frequent answer (ties: the one seen first); undefined when no chain has an answer. */
  majority?: string;
  majorityPass: boolean;
  majorityScore: number;
  /** Share of chains that give the majority answer. */
  agreement: number;
  /** Shannon entropy (bits) of the answers, invalid chains as one category. */
  entropy: number;
  distinct: { answer: string; count: number }[];
  /** Expected majority-vote correctness of this case with k of its chains, k = 1…chains. */
  majAtK: number[];
  invalid: number;
  errors: number;
  /** Chains still missing (a cancelled run). */
  missing: number;
}

export interface VariantSummary {
  name: string;
  kind: string;
  cases: number;
  chains: number;
  /** Accuracy of one sampled chain: passing chains over all chains. */
  singleChain: Accuracy;
  /** Accuracy of the majority vote: cases whose majority answer passes. */
  majorityVote: Accuracy;
  /** Expected majority-vote accuracy with k chains, k = 1…samples (unbiased, over all k-subsets). */
  majAtK: number[];
  /** Mean score of a chain (the F1 of F1 scorers; 0/1 for the others). */
  meanScore: number;
  meanAgreement: number;
  meanEntropy: number;
  invalidRate: number;
  promptTokens: number;
  completionTokens: number;
  meanLatencyMs: number;
  /** Estimated cost in the price table's currency; null when the model has no price. */
  cost: number | null;
}

export interface RunResult {
  schema: typeof RESULT_SCHEMA;
  runId: string;
  runFile: string;
  promptFile: string;
  promptName?: string;
  backend: { id: string; model: string };
  status: 'completed' | 'cancelled' | 'failed' | 'running';
  startedAt: string;
  samples: number;
  sampling: ParsedRunFile['header']['sampling'];
  extract: string;
  scorer: string;
  threshold: number;
  variants: VariantSummary[];
  cells: CellResult[];
}

export interface Prices {
  /** Currency units per million prompt and completion tokens. */
  input: number;
  output: number;
}

/** Scores every chain of a run and computes the self-consistency statistics of each cell and variant. */
/** Scores of a custom JavaScript scorer, by `variant\0case\0sample` (they are computed asynchronously). */
export type CustomScores = Map<string, ScoreResult>;

const chainKey = (variant: string, caseId: string, sample: number): string => `${variant}\u0000${caseId}\u0000${sample}`;

/**
 * Runs the prompt's custom scorer file on every chain of a run. It executes the user's code, so callers
 * pass whether the workspace is trusted; an untrusted one gets an error, never silent zero scores.
 */
export async function scoreWithCustomScorer(document: PromptDocument, cases: readonly Case[], run: ParsedRunFile, promptDirectory: string, trusted: boolean): Promise<CustomScores> {
  const scores: CustomScores = new Map();
  if (document.scorer.type !== 'custom' || !document.scorer.file) return scores;
  const scorer = await loadCustomScorer(path.resolve(promptDirectory, document.scorer.file), trusted, document.threshold);
  const casesById = new Map(cases.map((kase) => [kase.id, kase]));
  try {
    for (const record of run.completions) {
      if (record.error) continue;
      const completion = record.answerText ?? record.text;
      const extracted = extractAnswer(completion, document.extract);
      scores.set(chainKey(record.variant, record.case, record.sample), await scorer(extracted.valid ? extracted.value : undefined, casesById.get(record.case)?.expected, { completion, caseId: record.case }));
    }
  } finally {
    // The scorer's worker thread.
    await scorer.dispose();
  }
  return scores;
}

export function summarizeRun(document: PromptDocument, cases: readonly Case[], run: ParsedRunFile, prices?: Prices, customScores?: CustomScores): RunResult {
  const { header } = run;
  const casesById = new Map(cases.map((kase) => [kase.id, kase]));
  const latest = new Map<string, CompletionRecord>();
  for (const record of run.completions) {
    // A later record of the same sample (a resumed retry) replaces an earlier failure.
    const key = `${record.variant}\u0000${record.case}\u0000${record.sample}`;
    const previous = latest.get(key);
    if (!previous || previous.error || !record.error) latest.set(key, record);
  }
  const byCell = new Map<string, CompletionRecord[]>();
  for (const record of latest.values()) {
    const key = `${record.variant}\u0000${record.case}`;
    const list = byCell.get(key) ?? [];
    list.push(record);
    byCell.set(key, list);
  }

  const cells: CellResult[] = [];
  const variants: VariantSummary[] = [];
  for (const variantName of header.variants) {
    const variant = document.variants.find((v) => v.name === variantName);
    const variantCells: CellResult[] = [];
    for (const caseId of header.cases) {
      const kase = casesById.get(caseId);
      const records = (byCell.get(`${variantName}\u0000${caseId}`) ?? []).sort((a, b) => a.sample - b.sample);
      const cell = summarizeCell(document, variantName, caseId, kase, records, header.samples, header.promptFile, customScores);
      variantCells.push(cell);
      cells.push(cell);
    }
    variants.push(summarizeVariant(variantName, variant?.kind ?? variantName, variantCells, header.samples, prices));
  }

  return {
    schema: RESULT_SCHEMA,
    runId: header.id,
    runFile: '',
    promptFile: header.promptFile,
    ...(header.promptName ? { promptName: header.promptName } : {}),
    backend: { id: header.backend.id, model: header.backend.model },
    status: run.end?.status ?? 'running',
    startedAt: header.startedAt,
    samples: header.samples,
    sampling: header.sampling,
    extract: document.extract.type,
    scorer: document.scorer.type,
    threshold: document.threshold,
    variants,
    cells,
  };
}

function summarizeCell(
  document: PromptDocument,
  variant: string,
  caseId: string,
  kase: Case | undefined,
  records: CompletionRecord[],
  samples: number,
  promptFile: string,
  customScores?: CustomScores,
): CellResult {
  const caseSensitive = document.scorer.caseSensitive === true;
  const chains: ChainResult[] = records.map((record) => {
    const source = record.answerText ?? record.text;
    const extracted: ExtractedAnswer = record.error ? { valid: false, reason: `request failed: ${record.error}` } : extractAnswer(source, document.extract);
    const scored = document.scorer.type === 'custom' && !record.error
      ? (customScores?.get(chainKey(variant, caseId, record.sample)) ?? { pass: false, score: 0, reason: 'the custom scorer has not run on this chain yet' })
      : scoreAnswer(extracted, kase?.expected, document.scorer, document.threshold);
    return {
      sample: record.sample,
      text: record.text,
      ...(record.answerText !== undefined ? { answerText: record.answerText } : {}),
      ...(extracted.valid ? { answer: extracted.value, span: extracted.span } : {}),
      score: scored.score,
      pass: scored.pass,
      reason: scored.reason,
      finishReason: record.finishReason,
      promptTokens: record.usage.promptTokens,
      completionTokens: record.usage.completionTokens,
      latencyMs: record.latencyMs,
      ...(record.error ? { error: record.error } : {}),
      ...(record.cached ? { cached: true } : {}),
    };
  });

  // Votes compare normalized answers, so "14" and "14." are one answer; the first spelling seen is shown.
  const keys = chains.map((chain) => (chain.answer === undefined ? undefined : normalizeAnswer(chain.answer, { caseSensitive })));
  const voted = vote(keys);
  const spelling = (key: string): string => chains[keys.indexOf(key)]?.answer ?? key;
  const majority = voted.majority === undefined ? undefined : spelling(voted.majority);
  // A custom scorer cannot be re-run here: the majority answer scores as the first chain that gave it.
  const customMajority = document.scorer.type === 'custom' && voted.majority !== undefined ? chains[keys.indexOf(voted.majority)] : undefined;
  const majorityScore = customMajority
    ? { pass: customMajority.pass, score: customMajority.score, reason: customMajority.reason }
    : majority === undefined
    ? scoreAnswer({ valid: false, reason: 'no chain has an answer' }, kase?.expected, document.scorer, document.threshold)
    : scoreAnswer({ valid: true, value: majority, span: [0, majority.length] }, kase?.expected, document.scorer, document.threshold);

  const passingKeys = new Set(keys.filter((key, i): key is string => key !== undefined && chains[i]?.pass === true));
  const curve = majAtKCurve(keys, (key) => passingKeys.has(key));

  return {
    variant,
    caseId,
    ...(kase?.name ? { caseName: kase.name } : {}),
    input: kase?.input ?? {},
    ...(kase?.expected !== undefined ? { expected: kase.expected } : {}),
    location: kase?.origin ? { file: kase.origin.file, line: kase.origin.line - 1 } : { file: promptFile, line: kase?.range.start.line ?? 0 },
    chains,
    ...(majority !== undefined ? { majority } : {}),
    majorityPass: majorityScore.pass,
    majorityScore: majorityScore.score,
    agreement: voted.agreement,
    entropy: voted.entropy,
    distinct: voted.counts.map((count) => ({ answer: spelling(count.answer), count: count.count })),
    majAtK: curve,
    invalid: chains.filter((chain) => chain.answer === undefined).length,
    errors: chains.filter((chain) => chain.error !== undefined).length,
    missing: Math.max(0, samples - chains.length),
  };
}

function accuracy(successes: number, trials: number): Accuracy {
  const interval = wilson(successes, trials);
  return { value: trials === 0 ? 0 : successes / trials, low: interval.low, high: interval.high, successes, trials };
}

function summarizeVariant(name: string, kind: string, cells: CellResult[], samples: number, prices?: Prices): VariantSummary {
  const chains = cells.flatMap((cell) => cell.chains);
  const scoredCells = cells.filter((cell) => cell.chains.length > 0);
  const curves = scoredCells.map((cell) => cell.majAtK);
  const majAtK: number[] = [];
  for (let k = 1; k <= samples; k++) {
    const values = curves.filter((curve) => curve.length >= k).map((curve) => curve[k - 1] as number);
    if (values.length === 0) break;
    majAtK.push(values.reduce((sum, value) => sum + value, 0) / values.length);
  }
  const promptTokens = chains.reduce((sum, chain) => sum + chain.promptTokens, 0);
  const completionTokens = chains.reduce((sum, chain) => sum + chain.completionTokens, 0);
  const mean = (values: number[]): number => (values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length);
  return {
    name,
    kind,
    cases: scoredCells.length,
    chains: chains.length,
    singleChain: accuracy(chains.filter((chain) => chain.pass).length, chains.length),
    majorityVote: accuracy(scoredCells.filter((cell) => cell.majorityPass).length, scoredCells.length),
    majAtK,
    meanScore: mean(chains.map((chain) => chain.score)),
    meanAgreement: mean(scoredCells.map((cell) => cell.agreement)),
    meanEntropy: mean(scoredCells.map((cell) => cell.entropy)),
    invalidRate: chains.length === 0 ? 0 : chains.filter((chain) => chain.answer === undefined).length / chains.length,
    promptTokens,
    completionTokens,
    meanLatencyMs: mean(chains.filter((chain) => !chain.cached).map((chain) => chain.latencyMs)),
    cost: prices ? (promptTokens * prices.input + completionTokens * prices.output) / 1_000_000 : null,
  };
}
