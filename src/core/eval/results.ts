import type { Case, PromptDocument } from '../prompt/types';
import { extractAnswer, type ExtractedAnswer } from './extract';
import { normalizeAnswer } from './normalize';
import * as path from 'node:path';
import { loadCustomScorer, scoreAnswer, type ScoreResult } from './score';
import { clusteredMean, majAtKCurve, vote, wilson, type ClusteredEstimate } from './stats';
import { cellKey, keyOfSample, type CellKey, type SampleKey } from './keys';
import type { AdjustmentRecord, CompletionRecord, ParsedRunFile } from './store';
import { sentSampling } from '../backends/parameters';

export const RESULT_SCHEMA = 'chainscope.result/1';

/**
 * How an interval was made. `wilson`: Wilson score interval over independent trials (the majority vote: one
 * outcome per case). `clustered`: the cases are the units (chains of one case share its difficulty): the
 * cluster-robust standard error over cases, as a Wilson interval at the effective sample size (see
 * `clusteredMean` and docs/uncertainty.md).
 */
export type IntervalMethod = 'wilson' | 'clustered';

/** A 95% interval and what it rests on. */
export interface Interval {
  low: number;
  high: number;
  method: IntervalMethod;
  /** Standard error of the estimate; null where there is nothing to measure it from (no trials, or one case for `clustered`). */
  se: number | null;
  /** Cases the estimate rests on: the independent units. */
  cases: number;
  /** The sample size whose Wilson interval this is: the trials for `wilson`, p̂(1 − p̂)/SE² within [cases, chains] for `clustered`. */
  effectiveTrials: number;
}

/** An accuracy with its 95% interval; `successes`/`trials` count chains (single chain) or cases (majority vote). */
export interface Accuracy extends Interval {
  value: number;
  successes: number;
  trials: number;
}

/** A scored chain: the run file's record (usage flattened into token counts) with its answer and score. */
export interface ChainResult extends Omit<CompletionRecord, 'type' | 'variant' | 'caseId' | 'usage'> {
  /** The extracted answer, or undefined when none was found (an invalid chain, counted as wrong). */
  answer?: string;
  /** Offsets of the answer in `answerText ?? text`, for highlighting. */
  span?: [number, number];
  score: number;
  pass: boolean;
  reason: string;
  promptTokens: number;
  /** Output tokens, reasoning included (as billed). */
  completionTokens: number;
  /** Of `completionTokens`, the hidden reasoning of a reasoning model, when the server reported it. */
  reasoningTokens?: number;
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
  /** Accuracy of one sampled chain: passing chains over all chains; its interval is clustered by case. */
  singleChain: Accuracy;
  /** Accuracy of the majority vote: cases whose majority answer passes; a Wilson interval over cases. */
  majorityVote: Accuracy;
  /** Expected majority-vote accuracy with k chains, k = 1…samples (unbiased, over all k-subsets). */
  majAtK: number[];
  /** `majAtKIntervals[k-1]`: the interval of `majAtK[k-1]`, each case one unit (clustered). */
  majAtKIntervals: Interval[];
  /** Mean score of a chain (the F1 of F1 scorers; 0/1 for the others). */
  meanScore: number;
  /** The interval of `meanScore`, clustered by case. */
  meanScoreInterval: Interval;
  meanAgreement: number;
  meanEntropy: number;
  invalidRate: number;
  promptTokens: number;
  /** Output tokens, reasoning included: what is billed as output. */
  completionTokens: number;
  /** Of `completionTokens`, reasoning tokens (reasoning models; 0 where the server reports none). */
  reasoningTokens: number;
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
  /** Why a failed run stopped (a fatal backend error such as a rejected API key). */
  error?: string;
  /** Chains the run was asked for, and how many of them are scored, failed for good, or missing. */
  coverage: Coverage;
  startedAt: string;
  samples: number;
  /** The sampling settings as sent: the file's, less what `adjustments` left out. */
  sampling: ParsedRunFile['header']['sampling'];
  /** Settings not sent as the file asked (a reasoning model's fixed temperature, a field the server refused), and why. */
  adjustments: Omit<AdjustmentRecord, 'type' | 'at'>[];
  extract: string;
  scorer: string;
  threshold: number;
  variants: VariantSummary[];
  cells: CellResult[];
}

export interface Coverage {
  expected: number;
  /** Chains with a completion (an answer or not), failures excluded. */
  finished: number;
  /** Chains whose request failed for good. */
  failed: number;
  /** Chains never produced (a cancelled or failed run). */
  missing: number;
  /** Chains replayed from the completion cache instead of requested. */
  cached: number;
}

/** Whether every chain the run asked for exists: no failure, nothing missing, and the run ended normally. */
export function isComplete(result: RunResult): boolean {
  return result.status === 'completed' && result.coverage.failed === 0 && result.coverage.missing === 0;
}

export interface Prices {
  /** Currency units per million prompt and completion tokens. */
  input: number;
  output: number;
}

/** Scores of a custom JavaScript scorer, by sample (they are computed asynchronously, before the summary). */
export type CustomScores = Map<SampleKey, ScoreResult>;

/**
 * Runs the prompt's custom scorer file on every chain of a run. It executes the user's code, so callers
 * pass whether the workspace is trusted; an untrusted one gets an error, never silent zero scores.
 */
export async function scoreWithCustomScorer(
  document: PromptDocument,
  cases: readonly Case[],
  run: ParsedRunFile,
  promptDirectory: string,
  trusted: boolean,
): Promise<CustomScores> {
  const scores: CustomScores = new Map();
  if (document.scorer.type !== 'custom' || !document.scorer.file) return scores;
  const scorer = await loadCustomScorer(path.resolve(promptDirectory, document.scorer.file), trusted, document.threshold);
  const casesById = new Map(cases.map((testCase) => [testCase.id, testCase]));
  try {
    for (const record of run.completions) {
      if (record.error) continue;
      const completion = record.answerText ?? record.text;
      const extracted = extractAnswer(completion, document.extract);
      scores.set(
        keyOfSample(record),
        await scorer(extracted.valid ? extracted.value : undefined, casesById.get(record.caseId)?.expected, {
          completion,
          caseId: record.caseId,
        }),
      );
    }
  } finally {
    // The scorer's worker thread.
    await scorer.dispose();
  }
  return scores;
}

/** Scores every chain of a run and computes the self-consistency statistics of each cell and variant. */
export function summarizeRun(
  document: PromptDocument,
  cases: readonly Case[],
  run: ParsedRunFile,
  prices?: Prices,
  customScores?: CustomScores,
): RunResult {
  const { header } = run;
  const casesById = new Map(cases.map((testCase) => [testCase.id, testCase]));
  const latest = new Map<SampleKey, CompletionRecord>();
  for (const record of run.completions) {
    // A later record of the same sample (a resumed retry) replaces an earlier failure.
    const key = keyOfSample(record);
    const previous = latest.get(key);
    if (!previous || previous.error || !record.error) latest.set(key, record);
  }
  const byCell = new Map<CellKey, CompletionRecord[]>();
  for (const record of latest.values()) {
    const key = cellKey(record.variant, record.caseId);
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
      const testCase = casesById.get(caseId);
      const records = (byCell.get(cellKey(variantName, caseId)) ?? []).sort((a, b) => a.sample - b.sample);
      const cell = summarizeCell(document, variantName, caseId, testCase, records, header.samples, header.promptFile, customScores);
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
    ...(run.end?.error !== undefined ? { error: run.end.error } : {}),
    coverage: coverageOf(cells, header.variants.length * header.cases.length * header.samples),
    startedAt: header.startedAt,
    samples: header.samples,
    sampling: sentSampling(header.sampling, run.adjustments ?? []),
    adjustments: (run.adjustments ?? []).map(({ type: _type, at: _at, ...adjustment }) => adjustment),
    extract: document.extract.type,
    scorer: document.scorer.type,
    threshold: document.threshold,
    variants,
    cells,
  };
}

function coverageOf(cells: readonly CellResult[], expected: number): Coverage {
  let finished = 0;
  let failed = 0;
  let cached = 0;
  for (const cell of cells) {
    failed += cell.errors;
    finished += cell.chains.length - cell.errors;
    cached += cell.chains.filter((chain) => chain.cached).length;
  }
  return { expected, finished, failed, missing: Math.max(0, expected - finished - failed), cached };
}

function summarizeCell(
  document: PromptDocument,
  variant: string,
  caseId: string,
  testCase: Case | undefined,
  records: CompletionRecord[],
  samples: number,
  promptFile: string,
  customScores?: CustomScores,
): CellResult {
  // The vote folds case exactly when the scorer does: a regex scorer is case-sensitive unless told otherwise.
  const caseSensitive = document.scorer.caseSensitive ?? document.scorer.type === 'regex';
  const chains: ChainResult[] = records.map((record) => {
    const source = record.answerText ?? record.text;
    const extracted: ExtractedAnswer = record.error
      ? { valid: false, reason: `request failed: ${record.error}` }
      : extractAnswer(source, document.extract);
    const scored =
      document.scorer.type === 'custom' && !record.error
        ? (customScores?.get(keyOfSample(record)) ?? { pass: false, score: 0, reason: 'the custom scorer has not run on this chain yet' })
        : scoreAnswer(extracted, testCase?.expected, document.scorer, document.threshold);
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
      ...(record.usage.reasoningTokens !== undefined ? { reasoningTokens: record.usage.reasoningTokens } : {}),
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
  const customMajority =
    document.scorer.type === 'custom' && voted.majority !== undefined ? chains[keys.indexOf(voted.majority)] : undefined;
  const majorityScore = customMajority
    ? { pass: customMajority.pass, score: customMajority.score, reason: customMajority.reason }
    : majority === undefined
      ? scoreAnswer({ valid: false, reason: 'no chain has an answer' }, testCase?.expected, document.scorer, document.threshold)
      : scoreAnswer({ valid: true, value: majority, span: [0, majority.length] }, testCase?.expected, document.scorer, document.threshold);

  // An answer's verdict is that of its first spelling, the one the vote shows and scores: so maj@n is
  // exactly the majority vote's verdict even when a scorer judges two spellings of one answer apart.
  const curve = majAtKCurve(keys, (key) => chains[keys.indexOf(key)]?.pass === true);

  return {
    variant,
    caseId,
    ...(testCase?.name ? { caseName: testCase.name } : {}),
    input: testCase?.input ?? {},
    ...(testCase?.expected !== undefined ? { expected: testCase.expected } : {}),
    location: testCase?.origin
      ? { file: testCase.origin.file, line: testCase.origin.line - 1 }
      : { file: promptFile, line: testCase?.range.start.line ?? 0 },
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

/** Majority vote: one outcome per case, so the cases are independent trials and Wilson's interval fits. */
function wilsonAccuracy(successes: number, trials: number): Accuracy {
  const interval = wilson(successes, trials);
  const value = trials === 0 ? 0 : successes / trials;
  return {
    value,
    low: interval.low,
    high: interval.high,
    method: 'wilson',
    se: trials === 0 ? null : Math.sqrt((value * (1 - value)) / trials),
    cases: trials,
    effectiveTrials: trials,
    successes,
    trials,
  };
}

function clusteredInterval(estimate: ClusteredEstimate): Interval {
  const { low, high, se, cases, effectiveTrials } = estimate;
  return { low, high, method: 'clustered', se, cases, effectiveTrials };
}

/** Single chain: chains of one case are not independent trials, so the interval is over cases. */
function clusteredAccuracy(cells: readonly CellResult[]): Accuracy {
  const clusters = cells.map((cell) => ({ sum: cell.chains.filter((chain) => chain.pass).length, count: cell.chains.length }));
  const estimate = clusteredMean(clusters);
  const successes = clusters.reduce((sum, cluster) => sum + cluster.sum, 0);
  const trials = clusters.reduce((sum, cluster) => sum + cluster.count, 0);
  return { value: estimate.value, ...clusteredInterval(estimate), successes, trials };
}

/** Mean score: the same ratio estimator with each case's summed scores in place of its passing chains. */
function meanScoreInterval(cells: readonly CellResult[]): Interval {
  const clusters = cells.map((cell) => ({ sum: cell.chains.reduce((sum, chain) => sum + chain.score, 0), count: cell.chains.length }));
  return clusteredInterval(clusteredMean(clusters));
}

/**
 * maj@k's interval: each case's maj@k is one unit (weight 1) and the chains they rest on are the ceiling of
 * the effective sample size, so maj@1 gets the single-chain interval (equal chain counts) and maj@n the
 * majority vote's Wilson interval over cases.
 */
function majAtKInterval(curves: readonly number[][], k: number): Interval {
  const withK = curves.filter((curve) => curve.length >= k);
  const chains = withK.reduce((sum, curve) => sum + curve.length, 0);
  return clusteredInterval(
    clusteredMean(
      withK.map((curve) => ({ sum: curve[k - 1] as number, count: 1 })),
      chains,
    ),
  );
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
  const majAtKIntervals = majAtK.map((_, i) => majAtKInterval(curves, i + 1));
  const promptTokens = chains.reduce((sum, chain) => sum + chain.promptTokens, 0);
  const completionTokens = chains.reduce((sum, chain) => sum + chain.completionTokens, 0);
  const reasoningTokens = chains.reduce((sum, chain) => sum + (chain.reasoningTokens ?? 0), 0);
  const mean = (values: number[]): number => (values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length);
  return {
    name,
    kind,
    cases: scoredCells.length,
    chains: chains.length,
    singleChain: clusteredAccuracy(scoredCells),
    majorityVote: wilsonAccuracy(scoredCells.filter((cell) => cell.majorityPass).length, scoredCells.length),
    majAtK,
    majAtKIntervals,
    meanScore: mean(chains.map((chain) => chain.score)),
    meanScoreInterval: meanScoreInterval(scoredCells),
    meanAgreement: mean(scoredCells.map((cell) => cell.agreement)),
    meanEntropy: mean(scoredCells.map((cell) => cell.entropy)),
    invalidRate: chains.length === 0 ? 0 : chains.filter((chain) => chain.answer === undefined).length / chains.length,
    promptTokens,
    completionTokens,
    reasoningTokens,
    meanLatencyMs: mean(chains.filter((chain) => !chain.cached).map((chain) => chain.latencyMs)),
    // Reasoning is billed as output and already inside completionTokens: priced once.
    cost: prices ? (promptTokens * prices.input + completionTokens * prices.output) / 1_000_000 : null,
  };
}
