import type { EndpointStats } from '../backend';
import type { Case, PromptDocument, StopRule } from '../prompt/types';
import { settledAt } from './adaptive';
import type { ExtractedAnswer } from './extract';
import { extractChain } from './reasoning';
import { costOf } from '../prices';
import { normalizeAnswer } from './normalize';
import * as path from 'node:path';
import { loadCustomScorer, scoreAnswer, type ScoreResult } from './score';
import {
  addCluster,
  clusteredMeanOfSums,
  emptyClusterSums,
  majAtKCurve,
  vote,
  wilson,
  type ClusterSums,
  type ClusteredEstimate,
} from './stats';
import { cellKey, keyOfSample, type CellKey, type SampleKey } from './keys';
import type { AdjustmentRecord, BatchRecord, CompletionRecord, EndRecord, ParsedRunFile, RunHeader } from './store';
import type { MergedInfo, ShardInfo } from './shard';
import { sentSampling } from '../backends/parameters';
import { compareVariants, type PairComparison } from './paired';
import { answerClusters, type AnswerCluster } from './clusters';
import { knownAnswerCheck, summarizeSecurity } from '../security/summary';
import type { JudgeSummary, JudgeVerdict, SecurityResult } from '../security/types';
import type { TraceNode } from '../shapes/types';
import { summarizeJudge, verdictOf } from './judge';

export type { AnswerCluster, Divergence } from './clusters';

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
  /** Of `promptTokens`, those served from the provider's prompt cache, when the server reported them. */
  cachedTokens?: number;
  /**
   * The chain's reasoning: `reasoning_content` sent apart from the answer, else its `<think>…</think>` block
   * (never read for the answer). Absent when the model showed none.
   */
  reasoning?: string;
  /** The judge's verdicts on this chain (`scorer: {type: judge}`, or an attack's judge detector). */
  judge?: JudgeVerdict[];
  /** An attacked chain: whether the detector found the attack worked (absent: undecided, e.g. a failed request) and why. */
  attack?: { success?: boolean; reason: string };
  /**
   * A reasoning shape's chain (tree or graph of thought, self-verification, …): every node its requests made, parents
   * before children, with the path to the answer marked; each node holds its share of its request's tokens. Absent for a plain chain.
   */
  trace?: TraceNode[];
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
  /**
   * The chains grouped by answer: the majority's cluster first, then the others by size (ties: first seen), the
   * chains without an answer last (`invalid`). With the prompt's `cluster.similarity`, near-identical answers share
   * a cluster; the vote (`majority`, `distinct`) is unchanged.
   */
  clusters: AnswerCluster[];
  /** Expected majority-vote correctness of this case with k of its chains, k = 1…chains. */
  majAtK: number[];
  invalid: number;
  errors: number;
  /** Chains still missing (a cancelled run). */
  missing: number;
  /** Adaptive runs: the chain count at which the vote settled and sampling stopped (absent: it did not stop early). */
  settledAt?: number;
  /** An attacked copy of a case (`<case>~<attack>`): the attack, its suite and the clean case. */
  attack?: { id: string; suite: string; baseCase: string };
  /** A defended variant's defence (`<variant>+<defence>`). */
  defence?: string;
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
  /** Of `promptTokens`, those served from the provider's prompt cache (0 where the server reports none; absent in older results). */
  cachedTokens?: number;
  meanLatencyMs: number;
  /** Estimated cost in the price table's currency (cached prompt tokens at the cached-input price); null when the model has no price. */
  cost: number | null;
  /** Adaptive runs: cases whose vote settled before `samples` chains (0 in fixed runs). */
  settledEarly: number;
  /** Chains drawn: `chains`, named beside `chainsSaved` for adaptive runs. */
  chainsUsed: number;
  /** Chains not drawn because their case settled early: cases × samples − chains, for settled cases. */
  chainsSaved: number;
  /** Output tokens those chains would have cost, at the variant's mean per chain (an estimate). */
  tokensSaved: number;
  /** The price of `tokensSaved` as output; null when the model has no price. */
  costSaved: number | null;
  /** Tokens (prompt + output) per case the majority vote gets right; null when it gets none right. */
  tokensPerCorrect: number | null;
  /** `cost` per case the majority vote gets right; null without a price or without a correct case. */
  costPerCorrect: number | null;
}

export interface RunResult {
  schema: typeof RESULT_SCHEMA;
  runId: string;
  runFile: string;
  promptFile: string;
  promptName?: string;
  backend: { id: string; model: string };
  /** `budget`: stopped before a request would have taken the cost past the budget (`error` says the amounts). */
  status: 'completed' | 'cancelled' | 'failed' | 'budget' | 'running';
  /** Why a failed run stopped (a fatal backend error such as a rejected API key), or the budget that stopped it. */
  error?: string;
  /** A shard's run (`--shard i/n`): it holds only its part of the run's cases. */
  shard?: ShardInfo;
  /** A run merged from shards (`chainscope merge`); `missing` names the shards a partial merge lacks. */
  merged?: MergedInfo;
  /** What the run's requests cost, every session of a resumed run together (cache replays are free), when the model has a price. */
  spent?: number;
  /** The budget (`--max-cost`, the file's `budget`) the last session of the run ran under. */
  budget?: number;
  /** Chains the run was asked for, and how many of them are scored, failed for good, or missing. */
  coverage: Coverage;
  startedAt: string;
  samples: number;
  /** The sampling settings as sent: the file's, less what `adjustments` left out. */
  sampling: ParsedRunFile['header']['sampling'];
  /** Adaptive sampling: how cases drew their chains (absent: every case drew `samples`). */
  stop?: StopRule;
  /** Settings not sent as the file asked (a reasoning model's fixed temperature, a field the server refused), and why. */
  adjustments: Omit<AdjustmentRecord, 'type' | 'at'>[];
  extract: string;
  scorer: string;
  threshold: number;
  variants: VariantSummary[];
  /** Variants compared pairwise on the cases both answered (src/core/eval/paired.ts); absent with fewer than two variants. */
  comparisons?: PairComparison[];
  cells: CellResult[];
  /**
   * Remote backends, filled in by the CLI: each endpoint's requests (attempts) during this run, one entry per
   * replica. Absent where the presenter did not count them.
   */
  endpoints?: EndpointStats[];
  /** A Batch API run's batches (from its run file), each as it last stood: submitted, or finished with its status and counts. */
  batches?: BatchSummary[];
  /** A run with `attacks:` or `defences:`: attack success by variant × defence × attack, and each defence's utility cost. */
  security?: SecurityResult;
  /** A run scored by a judge model: its repeats, invalid verdicts, self-agreement and agreement with human labels. */
  judge?: JudgeSummary;
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
  /** Per million prompt tokens served from the provider's prompt cache (`cached_tokens`); absent: the input price. */
  cachedInput?: number;
  /** The Batch API's prices; left out, half of the online ones (OpenAI's and Azure's batch discount). */
  batchInput?: number;
  batchOutput?: number;
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
      const { extracted } = extractChain(record, document.extract);
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

function knownAnswerOf(document: PromptDocument, record: Pick<CompletionRecord, 'variant' | 'text'>): ReturnType<typeof knownAnswerCheck> {
  return knownAnswerCheck(
    document,
    document.variants.find((variant) => variant.name === record.variant),
    record.text,
  );
}

/** Whether `record` takes the place of `previous` for its sample: a resumed retry replaces a failure, never a success. */
export function replacesRecord(previous: CompletionRecord | undefined, record: CompletionRecord): boolean {
  return !previous || previous.error !== undefined || !record.error;
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
    const key = keyOfSample(record);
    if (replacesRecord(latest.get(key), record)) latest.set(key, record);
  }
  const byCell = new Map<CellKey, CompletionRecord[]>();
  for (const record of latest.values()) {
    const key = cellKey(record.variant, record.caseId);
    const list = byCell.get(key) ?? [];
    list.push(record);
    byCell.set(key, list);
  }

  const cells: CellResult[] = [];
  const totals: VariantTotals[] = [];
  for (const variantName of header.variants) {
    const variantTotals = new VariantTotals(header.samples);
    for (const caseId of header.cases) {
      const testCase = casesById.get(caseId);
      const records = (byCell.get(cellKey(variantName, caseId)) ?? []).sort((a, b) => a.sample - b.sample);
      const cell = summarizeCell(document, variantName, caseId, testCase, records, header, customScores);
      // Attacked copies of cases are judged by their detectors (result.security), not counted in accuracy.
      if (testCase?.attack) variantTotals.addAttacked(cell);
      else variantTotals.add(cell);
      cells.push(cell);
    }
    totals.push(variantTotals);
  }
  const batches = summarizeBatches(run.batches);
  const overview = summarizeOverview(document, header, run.end, run.adjustments, totals, prices);
  const judge = judgeOfRun(document, casesById, latest.values(), header.judgeModel ?? `${overview.backend.id}:${overview.backend.model}`);
  return finishResult({ ...overview, ...(judge ? { judge } : {}), ...(batches ? { batches } : {}), cells }, document, cases, header);
}

/** The judge scorer's behaviour over the judged chains of unattacked cases, with the cases' labels. */
export function judgeOfRun(
  document: PromptDocument,
  casesById: ReadonlyMap<string, Case>,
  records: Iterable<CompletionRecord>,
  /** The judge's model as run: the header's judgeModel, else the run's own model. */
  judgeModel: string,
): JudgeSummary | undefined {
  const spec = document.scorer.type === 'judge' ? document.scorer.judge : undefined;
  if (!spec) return undefined;
  const chains: { verdicts: CompletionRecord['judge'] & object; label?: boolean }[] = [];
  // In one order whatever order the records came in: the live and the final summary agree to the bit.
  const sorted = [...records].sort((a, b) => compareText(a.variant, b.variant) || compareText(a.caseId, b.caseId) || a.sample - b.sample);
  for (const record of sorted) {
    const testCase = casesById.get(record.caseId);
    if (record.error || !record.judge || testCase?.attack) continue;
    chains.push({ verdicts: record.judge, ...(testCase?.label !== undefined ? { label: testCase.label } : {}) });
  }
  return summarizeJudge(chains, judgeModel, spec.repeats);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The final result's parts that look across cells: the attack × defence matrix (which also marks attacked chains and
 * cells), then the paired comparisons of the prompt's own variants on its normal cases.
 */
export function finishResult(result: RunResult, document: PromptDocument, cases: readonly Case[], header: RunHeader): RunResult {
  const security = summarizeSecurity(document, cases, result.cells, header.seed);
  return withComparisons(security ? { ...result, security } : result, document, header);
}

export interface BatchSummary {
  id: string;
  /** `submitted` while the batch is open at the provider; else its final status (`completed`, `failed`, `expired`, `cancelled`). */
  status: string;
  requests?: number;
  completed?: number;
  failed?: number;
}

/** A run file's batch records, one entry per batch in submission order: what a reader of the result needs to find them. */
export function summarizeBatches(records: readonly BatchRecord[] | undefined): BatchSummary[] | undefined {
  if (!records || records.length === 0) return undefined;
  const byId = new Map<string, BatchSummary>();
  for (const record of records) {
    const entry = byId.get(record.batchId) ?? { id: record.batchId, status: 'submitted' };
    if (record.event === 'submitted' && record.requests !== undefined) entry.requests = record.requests;
    if (record.event === 'finished') {
      entry.status = record.status ?? 'finished';
      if (record.completed !== undefined) entry.completed = record.completed;
      if (record.failed !== undefined) entry.failed = record.failed;
    }
    byId.set(record.batchId, entry);
  }
  return [...byId.values()];
}

/**
 * The result with its pairs of variants compared (each against the prompt's `baseline`, else every pair),
 * the bootstrap seeded from the run's seed: the final result only, never the live overview.
 */
export function withComparisons(result: RunResult, document: Pick<PromptDocument, 'baseline' | 'variants'>, header: RunHeader): RunResult {
  // Defended variants are compared with theirs in result.security.utility; attacked cases are no accuracy cases.
  const defended = new Set(document.variants.filter((variant) => variant.base !== undefined).map((variant) => variant.name));
  const cells = defended.size > 0 || result.security ? result.cells.filter((cell) => !cell.attack) : result.cells;
  const comparisons = compareVariants(
    header.variants.filter((name) => !defended.has(name)),
    cells,
    {
      ...(header.seed !== undefined ? { seed: header.seed } : {}),
      ...(document.baseline !== undefined ? { baseline: document.baseline } : {}),
    },
  );
  return comparisons.length > 0 ? { ...result, comparisons } : result;
}

/** Everything of a result but its cells, from the variants' running totals: O(variants × samples). */
export function summarizeOverview(
  document: PromptDocument,
  header: RunHeader,
  end: EndRecord | undefined,
  adjustments: readonly AdjustmentRecord[] | undefined,
  totals: readonly VariantTotals[],
  prices?: Prices,
): Omit<RunResult, 'cells'> {
  const variants = header.variants.map((name, i) => {
    const kind = document.variants.find((variant) => variant.name === name)?.kind ?? name;
    return (totals[i] as VariantTotals).summary(name, kind, prices);
  });
  return {
    schema: RESULT_SCHEMA,
    runId: header.id,
    runFile: '',
    promptFile: header.promptFile,
    ...(header.promptName ? { promptName: header.promptName } : {}),
    backend: { id: header.backend.id, model: header.backend.model },
    status: end?.status ?? 'running',
    ...(end?.error !== undefined ? { error: end.error } : {}),
    ...(header.shard ? { shard: header.shard } : {}),
    ...(header.merged ? { merged: header.merged } : {}),
    ...(end?.spent !== undefined ? { spent: end.spent } : {}),
    ...(end?.budget !== undefined ? { budget: end.budget } : {}),
    // Adaptive runs ask each settled case for the chains it settled at, not for max.
    coverage: coverageOf(
      totals,
      header.variants.length * header.cases.length * header.samples - totals.reduce((sum, t) => sum + t.saved, 0),
    ),
    ...(header.stop ? { stop: header.stop } : {}),
    startedAt: header.startedAt,
    samples: header.samples,
    sampling: sentSampling(header.sampling, adjustments ?? []),
    adjustments: (adjustments ?? []).map(({ type: _type, at: _at, ...adjustment }) => adjustment),
    extract: document.extract.type,
    scorer: document.scorer.type,
    threshold: document.threshold,
    variants,
  };
}

function coverageOf(totals: readonly VariantTotals[], expected: number): Coverage {
  let finished = 0;
  let failed = 0;
  let cached = 0;
  for (const variant of totals) {
    failed += variant.errors + variant.attackedErrors;
    finished += variant.chains - variant.errors + variant.attackedChains - variant.attackedErrors;
    cached += variant.cached + variant.attackedCached;
  }
  return { expected, finished, failed, missing: Math.max(0, expected - finished - failed), cached };
}

export function summarizeCell(
  document: PromptDocument,
  variant: string,
  caseId: string,
  testCase: Case | undefined,
  records: CompletionRecord[],
  header: Pick<RunHeader, 'samples' | 'promptFile' | 'stop'>,
  customScores?: CustomScores,
): CellResult {
  const chains = records.map((record) => scoreChain(document, testCase, record, customScores));
  return summarizeCellChains(document, variant, caseId, testCase, chains, header.samples, header.promptFile, header.stop);
}

/** One chain scored: its answer extracted and judged (a failed request is invalid). */
export function scoreChain(
  document: PromptDocument,
  testCase: Case | undefined,
  record: CompletionRecord,
  customScores?: CustomScores,
): ChainResult {
  // A known-answer defence withholds an output without its key, and reads the rest without the key line.
  const checked = record.error || document.defences.length === 0 ? undefined : knownAnswerOf(document, record);
  const read =
    record.error || (checked && 'withheld' in checked)
      ? undefined
      : extractChain(checked ? { ...record, text: checked.rest } : record, document.extract);
  const extracted: ExtractedAnswer = read
    ? read.extracted
    : { valid: false, reason: checked && 'withheld' in checked ? checked.withheld : `request failed: ${record.error ?? ''}` };
  const reasoning = read?.reasoning ?? record.reasoning;
  const scored =
    document.scorer.type === 'custom' && !record.error
      ? (customScores?.get(keyOfSample(record)) ?? { pass: false, score: 0, reason: 'the custom scorer has not run on this chain yet' })
      : document.scorer.type === 'judge' && !record.error && !testCase?.attack
        ? judgeScore(record)
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
    ...(record.usage.cachedTokens !== undefined ? { cachedTokens: record.usage.cachedTokens } : {}),
    ...(reasoning !== undefined ? { reasoning } : {}),
    latencyMs: record.latencyMs,
    ...(record.error ? { error: record.error } : {}),
    ...(record.cached ? { cached: true } : {}),
    ...(record.judge ? { judge: record.judge } : {}),
    ...(record.trace ? { trace: record.trace } : {}),
  };
}

/** A chain under the judge scorer: its verdicts' majority, or a fail that says why there is none. */
function judgeScore(record: CompletionRecord): { pass: boolean; score: number; reason: string } {
  const verdicts = record.judge ?? [];
  const verdict = verdictOf(verdicts);
  if (verdict) return verdict;
  const why = verdicts.find((entry) => entry.invalid !== undefined)?.invalid ?? 'the chain has not been judged';
  return { pass: false, score: 0, reason: `the judge gave no valid verdict: ${why}` };
}

/** A cell from its scored chains (in sample order): the vote, its agreement and entropy, maj@k. */
/** The answer a completion votes for: its extracted answer, normalized as the vote compares them; undefined without one. */
export function voteKey(
  document: PromptDocument,
  record: Pick<CompletionRecord, 'variant' | 'text' | 'answerText' | 'error' | 'reasoning' | 'finishReason'>,
): string | undefined {
  if (record.error) return undefined;
  const checked = document.defences.length === 0 ? undefined : knownAnswerOf(document, record);
  if (checked && 'withheld' in checked) return undefined;
  const { extracted } = extractChain(checked ? { ...record, text: checked.rest } : record, document.extract);
  return extracted.valid ? normalizeAnswer(extracted.value, { caseSensitive: voteIsCaseSensitive(document) }) : undefined;
}

/** The vote folds case exactly when the scorer does: a regex scorer is case-sensitive unless told otherwise. */
function voteIsCaseSensitive(document: PromptDocument): boolean {
  return document.scorer.caseSensitive ?? document.scorer.type === 'regex';
}

export function summarizeCellChains(
  document: PromptDocument,
  variant: string,
  caseId: string,
  testCase: Case | undefined,
  chains: ChainResult[],
  samples: number,
  promptFile: string,
  stop?: StopRule,
): CellResult {
  const caseSensitive = voteIsCaseSensitive(document);
  // Votes compare normalized answers, so "14" and "14." are one answer; the first spelling seen is shown.
  const keys = chains.map((chain) => (chain.answer === undefined ? undefined : normalizeAnswer(chain.answer, { caseSensitive })));
  const voted = vote(keys);
  const spelling = (key: string): string => chains[keys.indexOf(key)]?.answer ?? key;
  const majority = voted.majority === undefined ? undefined : spelling(voted.majority);
  // A custom scorer cannot be re-run here: the majority answer scores as the first chain that gave it.
  // A custom scorer or a judge scores chains, not answers: the majority answer gets its first chain's verdict.
  const customMajority =
    (document.scorer.type === 'custom' || (document.scorer.type === 'judge' && !testCase?.attack)) && voted.majority !== undefined
      ? chains[keys.indexOf(voted.majority)]
      : undefined;
  const majorityScore = customMajority
    ? { pass: customMajority.pass, score: customMajority.score, reason: customMajority.reason }
    : majority === undefined
      ? scoreAnswer({ valid: false, reason: 'no chain has an answer' }, testCase?.expected, document.scorer, document.threshold)
      : scoreAnswer({ valid: true, value: majority, span: [0, majority.length] }, testCase?.expected, document.scorer, document.threshold);

  // An answer's verdict is that of its first spelling, the one the vote shows and scores: so maj@n is
  // exactly the majority vote's verdict even when a scorer judges two spellings of one answer apart.
  const curve = majAtKCurve(keys, (key) => chains[keys.indexOf(key)]?.pass === true);
  // Adaptive runs: where the vote settled, read on the unbroken run of answered samples from 0, as the run
  // decided it; a settled case misses nothing.
  let prefix = 0;
  while (prefix < chains.length && chains[prefix]?.sample === prefix && chains[prefix]?.error === undefined) prefix++;
  const settled = stop ? settledAt(keys.slice(0, prefix), stop, samples) : undefined;

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
    clusters: answerClusters(
      chains,
      keys,
      voted.counts.map((count) => count.answer),
      spelling,
      (key) => (key === voted.majority ? majorityScore.pass : chains[keys.indexOf(key)]?.pass === true),
      document.cluster?.similarity,
    ),
    majAtK: curve,
    invalid: chains.filter((chain) => chain.answer === undefined).length,
    errors: chains.filter((chain) => chain.error !== undefined).length,
    missing: Math.max(0, (settled ?? samples) - chains.length),
    ...(settled !== undefined ? { settledAt: settled } : {}),
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

const ratio = (sum: number, count: number): number => (count === 0 ? 0 : sum / count);

/**
 * Running totals of one variant's cells, all its summary needs. A cell adds its terms; a cell summarized
 * again takes its old terms out (sign −1) and adds its new ones, so a live run updates a variant in
 * O(samples) and summarizes it without looking at its cells. Chains are added one by one in cell order,
 * so a summary from scratch sums in the same order as a plain pass over the chains.
 */
export class VariantTotals {
  /** Chains present (failed ones included), of them failed, replayed from the cache, without an answer. */
  chains = 0;
  errors = 0;
  cached = 0;
  invalid = 0;
  /** Chains of attacked cases (judged by their detectors, not in accuracy): counted for coverage only. */
  attackedChains = 0;
  attackedErrors = 0;
  attackedCached = 0;
  /** Adaptive runs: cases whose vote settled before max, and the chains they did not draw. */
  settled = 0;
  saved = 0;
  /** Cells with at least one chain, and of them those whose majority passes. */
  cases = 0;
  majorityPasses = 0;
  agreement = 0;
  entropy = 0;
  /** Σ of chain scores, chain by chain (meanScore). */
  score = 0;
  promptTokens = 0;
  completionTokens = 0;
  reasoningTokens = 0;
  cachedTokens = 0;
  /** Σ latency and count of chains not from the cache. */
  latency = 0;
  timed = 0;
  /** Single chain: each case's passing chains over its chains. */
  readonly passes: ClusterSums = emptyClusterSums();
  /** Mean score: each case's summed scores over its chains. */
  readonly scores: ClusterSums = emptyClusterSums();
  /** `majAtK[k-1]`: the maj@k of each cell with ≥ k chains as one unit; `majAtKChains[k-1]`: those cells' chains. */
  readonly majAtK: ClusterSums[];
  readonly majAtKChains: number[];

  constructor(readonly samples: number) {
    this.majAtK = Array.from({ length: samples }, emptyClusterSums);
    this.majAtKChains = Array.from({ length: samples }, () => 0);
  }

  /** Adds an attacked cell to the coverage counts only (sign −1: takes it out). */
  addAttacked(cell: CellResult, sign: 1 | -1 = 1): void {
    this.attackedChains += sign * cell.chains.length;
    this.attackedErrors += sign * cell.errors;
    for (const chain of cell.chains) if (chain.cached) this.attackedCached += sign;
  }

  /** Adds a cell's terms (sign −1: takes them out). O(chains of the cell). */
  add(cell: CellResult, sign: 1 | -1 = 1): void {
    const { chains } = cell;
    if (chains.length === 0) return;
    let passing = 0;
    let scoreSum = 0;
    for (const chain of chains) {
      if (chain.pass) passing++;
      scoreSum += chain.score;
      this.score += sign * chain.score;
      if (chain.cached) this.cached += sign;
      this.promptTokens += sign * chain.promptTokens;
      this.completionTokens += sign * chain.completionTokens;
      this.reasoningTokens += sign * (chain.reasoningTokens ?? 0);
      this.cachedTokens += sign * (chain.cachedTokens ?? 0);
      if (!chain.cached) {
        this.latency += sign * chain.latencyMs;
        this.timed += sign;
      }
    }
    this.chains += sign * chains.length;
    this.errors += sign * cell.errors;
    this.invalid += sign * cell.invalid;
    this.cases += sign;
    if (cell.settledAt !== undefined) {
      this.settled += sign;
      this.saved += sign * Math.max(0, this.samples - cell.settledAt);
    }
    if (cell.majorityPass) this.majorityPasses += sign;
    this.agreement += sign * cell.agreement;
    this.entropy += sign * cell.entropy;
    addCluster(this.passes, { sum: passing, count: chains.length }, sign);
    addCluster(this.scores, { sum: scoreSum, count: chains.length }, sign);
    const reach = Math.min(cell.majAtK.length, this.samples);
    for (let k = 1; k <= reach; k++) {
      addCluster(this.majAtK[k - 1] as ClusterSums, { sum: cell.majAtK[k - 1] as number, count: 1 }, sign);
      this.majAtKChains[k - 1] = (this.majAtKChains[k - 1] as number) + sign * cell.majAtK.length;
    }
  }

  summary(name: string, kind: string, prices?: Prices): VariantSummary {
    const majAtK: number[] = [];
    const majAtKIntervals: Interval[] = [];
    for (let k = 1; k <= this.samples; k++) {
      const sums = this.majAtK[k - 1] as ClusterSums;
      if (sums.cases === 0) break;
      majAtK.push(sums.sum / sums.count);
      // maj@k's interval: each case's maj@k is one unit (weight 1) and the chains they rest on are the ceiling of
      // the effective sample size, so maj@1 gets the single-chain interval (equal chain counts) and maj@n the
      // majority vote's Wilson interval over cases.
      majAtKIntervals.push(clusteredInterval(clusteredMeanOfSums(sums, this.majAtKChains[k - 1])));
    }
    // Single chain: chains of one case are not independent trials, so the interval is over cases.
    const single = clusteredMeanOfSums(this.passes);
    return {
      name,
      kind,
      cases: this.cases,
      chains: this.chains,
      singleChain: { value: single.value, ...clusteredInterval(single), successes: this.passes.sum, trials: this.passes.count },
      majorityVote: wilsonAccuracy(this.majorityPasses, this.cases),
      majAtK,
      majAtKIntervals,
      meanScore: ratio(this.score, this.chains),
      // Mean score: the same ratio estimator with each case's summed scores in place of its passing chains.
      meanScoreInterval: clusteredInterval(clusteredMeanOfSums(this.scores)),
      meanAgreement: ratio(this.agreement, this.cases),
      meanEntropy: ratio(this.entropy, this.cases),
      invalidRate: ratio(this.invalid, this.chains),
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      reasoningTokens: this.reasoningTokens,
      cachedTokens: this.cachedTokens,
      meanLatencyMs: ratio(this.latency, this.timed),
      // Reasoning is billed as output and already inside completionTokens: priced once.
      cost: prices ? costOf(this, prices) : null,
      settledEarly: this.settled,
      chainsUsed: this.chains,
      chainsSaved: this.saved,
      // Not drawn, so estimated: the chains saved at the variant's mean output per chain.
      tokensSaved: Math.round(this.saved * ratio(this.completionTokens, this.chains)),
      costSaved: prices ? (this.saved * ratio(this.completionTokens, this.chains) * prices.output) / 1_000_000 : null,
      ...this.perCorrect(prices),
    };
  }

  /** Tokens and cost per case whose majority answer passes: what one right answer costs with this variant. */
  perCorrect(prices?: Prices): Pick<VariantSummary, 'tokensPerCorrect' | 'costPerCorrect'> {
    const correct = this.majorityPasses;
    const cost = prices ? costOf(this, prices) : null;
    return {
      tokensPerCorrect: correct > 0 ? (this.promptTokens + this.completionTokens) / correct : null,
      costPerCorrect: correct > 0 && cost !== null ? cost / correct : null,
    };
  }
}
