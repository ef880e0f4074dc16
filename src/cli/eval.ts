import * as fs from 'node:fs';
import * as path from 'node:path';
import { SingleBar } from 'cli-progress';
import { glob } from 'tinyglobby';
import type { Backend } from '../core/backend';
import type { LocalPrecision } from '../core/local/modelFolder';
import { createBackend, endpointStatsSince, type BackendOptions } from '../core/backends';
import { CompletionCache } from '../core/eval/cache';
import { isOtherModel, judgeBackendOptions } from '../core/eval/judge';
import { comparisonDifferences, formatDelta, type Comparison } from '../core/eval/compare';
import type { RunEstimate } from '../core/eval/estimate';
import { junitReport } from '../core/eval/junit';
import { makeReport } from '../core/eval/report';
import { money } from '../core/eval/budget';
import { isComplete, type Prices, type RunResult, type VariantSummary } from '../core/eval/results';
import { RunSetupError, type ProgressEvent } from '../core/eval/run';
import { headerOf } from '../core/eval/store';
import { isBatchBackend, type BatchSettings } from '../core/backends/batch';
import { EvaluationSession, InvalidPromptError, type SessionOutcome } from '../core/eval/session';
import { renderHtmlReport } from '../core/report/html';
import { loadPrompt, nodeFileSystem } from '../core/prompt/load';
import { formatDiagnostic } from './check';
import { ALPHA, formatP } from '../core/eval/paired';
import { didYouMean } from '../core/prompt/text';
import { SHAPE_KINDS } from '../core/prompt/types';
import { baseVariants, defenceColumns, signedWholePoints, wholePercent } from '../core/security/layout';
import type { AttackRate, UtilityCost } from '../core/security/types';
import { shardRange, type Shard } from '../core/eval/shard';

export type { EvalReport } from '../core/eval/report';

export interface EvalArguments {
  targets: string[];
  backend?: string;
  model?: string;
  baseUrl?: string;
  /** The judge's model reference (`--judge-model`), over the prompt's `scorer.model`. */
  judgeModel?: string;
  variants?: string[];
  cases?: string[];
  samples?: number;
  /** The run's seed, over the prompt's. */
  seed?: number;
  /** Run only this shard of the cases (`--shard i/n`, src/core/eval/shard.ts). */
  shard?: Shard;
  /** The variant the others are compared with, over the prompt's `baseline`. */
  baseline?: string;
  concurrency?: number;
  json?: string;
  html?: string;
  junit?: string;
  failUnder?: number;
  resume?: string;
  /** With `resume`: continue even if the prompt file differs from the run's. */
  force?: boolean;
  /** Send the run through the Batch API (a resumed batch run is one without it). */
  batch?: boolean;
  /** A JSON file of `{model: {input, output, cachedInput?}}` in currency per million tokens. */
  prices?: string;
  /** The run's budget in the prices' currency (`--max-cost`), over the prompt's `budget`. */
  maxCost?: number;
  timeoutMs?: number;
  maxAttempts?: number;
  device?: 'auto' | 'cuda' | 'cpu';
  threads?: number;
  /** Local models: which export to load (`--precision`). */
  precision?: LocalPrecision;
  runsDir: string;
  cache: boolean;
  quiet?: boolean;
}

type Out = (line: string) => void;

/** Expands files, folders and globs into `.prompt` files. */
async function resolveTargets(targets: readonly string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const target of targets) {
    if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
      for (const file of await glob('**/*.prompt', { cwd: target, absolute: true })) files.add(file);
    } else if (fs.existsSync(target)) {
      files.add(path.resolve(target));
    } else {
      for (const file of await glob(target, { absolute: true })) if (file.endsWith('.prompt')) files.add(file);
    }
  }
  return [...files].sort();
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}

/** Progress on stderr: a bar on a terminal, a line every ~10% elsewhere (CI logs). */
function progressReporter(label: string, quiet: boolean): { update: (event: ProgressEvent) => void; stop: () => void } {
  if (quiet) return { update: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY) {
    const bar = new SingleBar({
      format: `${label} [{bar}] {value}/{total} chains | {tokens} tokens | ETA {eta_formatted}{paced}`,
      hideCursor: true,
      clearOnComplete: true,
      stream: process.stderr,
      etaBuffer: 50,
    });
    let started = false;
    return {
      update(event) {
        if (!started) {
          bar.start(event.total, event.done, { tokens: 0, paced: '' });
          started = true;
        }
        // Streamed text counts as it arrives (≈4 characters a token), so the bar moves within long requests.
        bar.update(event.done, {
          tokens: event.promptTokens + event.completionTokens + Math.round(event.streamedChars / 4),
          paced: event.pacedMs !== undefined ? ` | paced by rate limit: ${formatSeconds(event.pacedMs)}` : '',
        });
      },
      stop: () => bar.stop(),
    };
  }
  let lastDecile = -1;
  let lastPaced = 0;
  return {
    update(event) {
      // A log gets the pacing at most every 10 s: each wait would be a line otherwise.
      if (event.pacedMs !== undefined && event.pacedMs > 0 && Date.now() - lastPaced >= 10_000) {
        lastPaced = Date.now();
        process.stderr.write(`${label}: paced by rate limit: ${formatSeconds(event.pacedMs)}\n`);
      }
      const decile = event.total === 0 ? 10 : Math.floor((event.done / event.total) * 10);
      if (decile === lastDecile) return;
      lastDecile = decile;
      const eta = event.etaMs !== undefined ? `, ETA ${formatDuration(event.etaMs)}` : '';
      process.stderr.write(`${label}: ${event.done}/${event.total} chains (${event.failed} failed, ${event.cached} cached${eta})\n`);
    },
    stop: () => undefined,
  };
}

export function summaryTable(result: RunResult): string[] {
  const showScore = result.scorer === 'field-f1' || result.scorer === 'token-f1';
  const header = [
    'variant',
    'single chain',
    'majority vote',
    `maj@1→${result.samples}`,
    'agree',
    'entropy',
    'invalid',
    ...(showScore ? ['mean F1'] : []),
    'tokens',
    'per case',
    'latency',
    'cost',
    'per ✓',
  ];
  const rows = result.variants.map((variant) => [
    variantLabel(variant),
    `${percent(variant.singleChain.value)} [${percent(variant.singleChain.low)}–${percent(variant.singleChain.high)}]`,
    `${percent(variant.majorityVote.value)} [${percent(variant.majorityVote.low)}–${percent(variant.majorityVote.high)}]` +
      ` (${variant.majorityVote.successes}/${variant.majorityVote.trials})`,
    variant.majAtK.length > 0 ? `${percent(variant.majAtK[0] ?? 0)}→${percent(variant.majAtK[variant.majAtK.length - 1] ?? 0)}` : '—',
    percent(variant.meanAgreement),
    variant.meanEntropy.toFixed(2),
    percent(variant.invalidRate),
    ...(showScore ? [variant.meanScore.toFixed(3)] : []),
    String(variant.promptTokens + variant.completionTokens) +
      (variant.reasoningTokens > 0 ? ` (${variant.reasoningTokens} reasoning)` : ''),
    perCase(variant),
    `${Math.round(variant.meanLatencyMs)} ms`,
    variant.cost === null ? '—' : `$${variant.cost.toFixed(4)}`,
    perCorrect(variant),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  return [
    line(header),
    widths.map((width) => '─'.repeat(width)).join('  '),
    ...rows.map(line),
    ...adaptiveNotes(result),
    ...intervalNotes(result),
    perCaseNote,
    perCorrectNote,
  ];
}

/** A reasoning shape's variant names its kind: "tot (tree-of-thought)". */
function variantLabel(variant: Pick<VariantSummary, 'name' | 'kind'>): string {
  const shape = (SHAPE_KINDS as readonly string[]).includes(variant.kind) && variant.kind !== variant.name;
  return shape ? `${variant.name} (${variant.kind})` : variant.name;
}

const perCaseNote = 'tokens: all cases; per case: tokens (and cost, when priced) per case, every request of its chains included';

/** Tokens (and cost, when priced) per case: a shape's chains count every request they made. */
export function perCase(variant: Pick<VariantSummary, 'promptTokens' | 'completionTokens' | 'cost' | 'cases'>): string {
  const cases = Math.max(1, variant.cases);
  const tokens = `${Math.round((variant.promptTokens + variant.completionTokens) / cases)} tok`;
  return variant.cost === null ? tokens : `${tokens} $${(variant.cost / cases).toFixed(4)}`;
}

/** Adaptive runs: how many chains each variant drew, and what stopping early saved. */
export function adaptiveNotes(result: RunResult): string[] {
  const stop = result.stop;
  if (!stop) return [];
  const rule =
    stop.rule === 'adaptive'
      ? `adaptive: a case stops once P(its leading answer is the majority) ≥ ${stop.confidence} (Adaptive-Consistency)`
      : `window: a case stops once its last ${stop.window} chains agree (Early-Stopping Self-Consistency)`;
  const lines = [`${rule}; rounds of ${stop.min}, then ${stop.batch}; at most ${result.samples} chains`];
  for (const variant of result.variants) {
    const most = variant.chains + variant.chainsSaved;
    const saved = most === 0 ? 0 : variant.chainsSaved / most;
    const money = variant.costSaved === null ? '' : `, ≈ $${variant.costSaved.toFixed(4)}`;
    lines.push(
      `  ${variant.name}: ${variant.chains.toLocaleString('en-US')} chains used of ${most.toLocaleString('en-US')} (${percent(saved)} saved: ${variant.chainsSaved.toLocaleString('en-US')} chains, ≈ ${variant.tokensSaved.toLocaleString('en-US')} tokens${money}); ${variant.settledEarly} of ${variant.cases} cases settled early`,
    );
  }
  return lines;
}

const perCorrectNote = 'per ✓: tokens (and cost, when priced) per case the majority vote gets right';

/** Tokens (and cost, when priced) per case the majority vote gets right: what one right answer costs. */
export function perCorrect(variant: Pick<VariantSummary, 'tokensPerCorrect' | 'costPerCorrect'>): string {
  if (variant.tokensPerCorrect === null) return '—';
  const tokens = `${Math.round(variant.tokensPerCorrect)} tok`;
  return variant.costPerCorrect === null ? tokens : `${tokens} $${variant.costPerCorrect.toFixed(4)}`;
}

/** Under the table: how its intervals were made (docs/uncertainty.md), and when they say little. */
function intervalNotes(result: RunResult): string[] {
  const notes = ['intervals: 95%, clustered by case (single chain); Wilson over cases (majority vote) — see docs/uncertainty.md'];
  const few = Math.min(...result.variants.map((variant) => variant.singleChain.cases));
  if (result.variants.length > 0 && few < 2) notes.push('one case: no spread between cases to measure; the intervals speak of it only');
  else if (result.variants.length > 0 && few < 10) notes.push(`only ${few} cases: the intervals are rough`);
  return notes;
}

/** A signed difference in points, with a real minus: +7.5, −2.5. */
function signedPoints(value: number): string {
  const rounded = Number((value * 100).toFixed(1));
  return `${rounded > 0 ? '+' : rounded < 0 ? '−' : '±'}${Math.abs(rounded).toFixed(1)}`;
}

/**
 * Under the table: "is A better than B?" for the run's pairs of variants (RunResult.comparisons): the
 * majority-vote difference on the paired cases, its paired-bootstrap interval, the exact McNemar p and
 * its Holm adjustment, the discordant cases; * marks Holm p < 0.05; a line when the cases are too few.
 */
export function pairsBlock(result: Pick<RunResult, 'comparisons'>): string[] {
  const pairs = result.comparisons ?? [];
  if (pairs.length === 0) return [];
  const names = pairs.map((pair) => `${pair.a} − ${pair.b}`);
  const differences = pairs.map((pair) => `${signedPoints(pair.difference)} pt`);
  const intervals = pairs.map((pair) => `[${signedPoints(pair.low)}, ${signedPoints(pair.high)}]`);
  const width = (column: string[]): number => Math.max(...column.map((cell) => cell.length));
  const lines = ['pairs (majority vote on the cases both answered; 95% paired bootstrap; exact McNemar, Holm-adjusted; * Holm p < 0.05):'];
  pairs.forEach((pair, i) => {
    const significant = pair.pAdjusted < ALPHA ? ' *' : '';
    lines.push(
      `  ${(names[i] as string).padEnd(width(names))}  ${(differences[i] as string).padStart(width(differences))} ${(intervals[i] as string).padEnd(width(intervals))}` +
        `  p${formatP(pair.pValue).startsWith('<') ? '' : '='}${formatP(pair.pValue)} (Holm ${formatP(pair.pAdjusted)})  ${pair.aOnly} vs ${pair.bOnly} cases${significant}`,
    );
    if (pair.warning) lines.push(`    ${pair.warning}`);
  });
  return lines;
}

/** One cell of the attack table in parts aligned apart: `42%`, `[30–55]` and, when `counts`, `5/12`; `—` without a decided chain. */
function attackCellParts(rate: AttackRate | undefined, counts: boolean): string[] {
  const parts =
    !rate || rate.trials === 0 ? ['—', ''] : [wholePercent(rate.rate), `[${Math.round(rate.low * 100)}–${Math.round(rate.high * 100)}]`];
  return counts ? [...parts, rate && rate.trials > 0 ? `${rate.successes}/${rate.trials}` : ''] : parts;
}

/** Widest line the attack table keeps its counts within; wider, the counts go (they are in the JSON). */
const NARROW_TABLE = 80;

/**
 * Under the pairs: the prompt-attack results (RunResult.security). Per base variant, a table of attack success
 * rates (rows: suites, then all attacks; columns: `none` and each defence) with their 95% intervals, then each
 * defence's cost on the normal cases, paired on cases. The per-attack rows are left to the JSON.
 */
export function securityBlock(result: Pick<RunResult, 'security'>): string[] {
  const security = result.security;
  if (!security || (security.overall.length === 0 && security.utility.length === 0)) return [];
  if (security.overall.length === 0)
    // Defences without attacks: only what each costs on the cases.
    return [
      'defences (no attacks run): majority-vote accuracy with and without each, paired on cases:',
      ...security.utility.map((cost) => `  ${cost.variant}${utilityLine(cost)}`),
    ];
  const lines = [
    `prompt attacks into ${security.into} (${security.attacks.length} attack${security.attacks.length === 1 ? '' : 's'}; share of attacked chains the attack worked in, lower is better; 95% Wilson intervals clustered by attacked case):`,
  ];
  for (const variant of baseVariants(security)) {
    const columns = defenceColumns(security, variant);
    const suites = [...new Set(security.suites.filter((rate) => rate.variant === variant).map((rate) => rate.suite ?? ''))];
    const rowOf = (rates: AttackRate[], suite: string | undefined): (AttackRate | undefined)[] =>
      columns.map((defence) =>
        rates.find((rate) => rate.variant === variant && rate.defence === defence && (suite === undefined || rate.suite === suite)),
      );
    const rows = [
      ...suites.map((suite) => ({ name: suite, rates: rowOf(security.suites, suite) })),
      { name: 'all attacks', rates: rowOf(security.overall, undefined) },
    ];
    const table = (counts: boolean): string[] => {
      const parts = rows.map((row) => row.rates.map((rate) => attackCellParts(rate, counts)));
      // The interval (the second part) is aligned left, the rate and the counts right.
      const partWidths = columns.map((_, column) =>
        (parts[0]?.[column] ?? []).map((_, part) => Math.max(...parts.map((cells) => (cells[column]?.[part] ?? '').length))),
      );
      const cell = (cellParts: string[], column: number): string =>
        cellParts
          .map((part, k) => (k === 1 ? part.padEnd(partWidths[column]?.[k] ?? 0) : part.padStart(partWidths[column]?.[k] ?? 0)))
          .join(' ');
      const header = [variant, ...columns.map((defence) => (defence === 'none' ? 'none' : `+${defence}`))];
      const body = rows.map((row, r) => [row.name, ...columns.map((_, column) => cell(parts[r]?.[column] ?? [], column))]);
      const widths = header.map((_, i) => Math.max(...[header, ...body].map((cells) => (cells[i] as string).length)));
      return [header, ...body].map((cells) =>
        `  ${cells.map((text, i) => (i === 0 ? text.padEnd(widths[i] as number) : text.padStart(widths[i] as number))).join('  ')}`.trimEnd(),
      );
    };
    const withCounts = table(true);
    lines.push(...(Math.max(...withCounts.map((line) => line.length)) <= NARROW_TABLE ? withCounts : table(false)));
    for (const cost of security.utility.filter((entry) => entry.variant === variant)) lines.push(`    ${utilityLine(cost)}`);
  }
  const undecided = security.overall.reduce((sum, rate) => sum + rate.undecided, 0);
  if (undecided > 0)
    lines.push(
      `  ${undecided} attacked chain${undecided === 1 ? '' : 's'} undecided (failed requests, invalid judge verdicts): left out of the rates`,
    );
  lines.push('  per attack: security.matrix in the --json report');
  return lines;
}

/** "+sandwich: accuracy 83% → 80% (−3 pts, 95% CI −10…+4, p=0.62, 30 cases)". */
export function utilityLine(cost: UtilityCost): string {
  const accuracy = `+${cost.defence}: accuracy ${wholePercent(cost.without.value)} → ${wholePercent(cost.with.value)}`;
  const paired = cost.paired;
  if (!paired) return `${accuracy} (no case answered by both: no paired difference)`;
  const p = formatP(paired.pValue);
  return (
    `${accuracy} (${signedWholePoints(paired.difference)} pts, 95% CI ${signedWholePoints(paired.low)}…${signedWholePoints(paired.high)}, ` +
    `p${p.startsWith('<') ? '' : '='}${p}, ${paired.cases} cases)`
  );
}

/** A kappa to two decimals with a real minus, or why there is none. */
function formatKappa(kappa: number | null): string {
  return kappa === null ? 'undefined (one class only)' : `${kappa < 0 ? '−' : ''}${Math.abs(kappa).toFixed(2)}`;
}

/** A share that may be undefined (no chain to take it over). */
function optionalPercent(value: number | null): string {
  return value === null ? '—' : percent(value);
}

/** How the judge behaved (RunResult.judge): its repeats and invalid verdicts, its agreement with itself and with human labels. */
export function judgeBlock(result: Pick<RunResult, 'judge'>): string[] {
  const judge = result.judge;
  if (!judge) return [];
  const invalidShare = judge.verdicts > 0 ? ` (${percent(judge.invalidVerdicts / judge.verdicts)})` : '';
  const lines = [
    `judge ${judge.model}: ${judge.repeats} verdict${judge.repeats === 1 ? '' : 's'} per chain; ${judge.chains} chains, ` +
      `${judge.verdicts} verdicts, ${judge.invalidVerdicts} invalid${invalidShare}` +
      (judge.invalidChains > 0 ? `; ${judge.invalidChains} chain${judge.invalidChains === 1 ? '' : 's'} without a valid verdict` : ''),
  ];
  lines.push(
    judge.selfAgreement === null
      ? '  self-agreement: — (one verdict per chain: set judge.repeats ≥ 2 to measure it)'
      : `  self-agreement ${percent(judge.selfAgreement)} (share of a chain's verdicts agreeing with its majority); Fleiss' kappa ${formatKappa(judge.fleissKappa)}`,
  );
  const labels = judge.labels;
  if (labels) {
    const { truePositive, falsePositive, trueNegative, falseNegative } = labels.confusion;
    lines.push(
      `  vs human labels: ${labels.chains} chains, agreement ${percent(labels.agreement)}, Cohen's kappa ${formatKappa(labels.kappa)}, ` +
        `TPR ${optionalPercent(labels.truePositiveRate)}, FPR ${optionalPercent(labels.falsePositiveRate)}`,
      `    confusion (judge vs label): ${truePositive} pass/pass, ${falsePositive} pass/fail, ${trueNegative} fail/fail, ${falseNegative} fail/pass`,
    );
  }
  lines.push(
    `  judge tokens: ${judge.promptTokens.toLocaleString('en-US')} prompt, ${judge.completionTokens.toLocaleString('en-US')} output`,
  );
  return lines;
}

/**
 * Exit codes of `chainscope eval` (docs/results-schema.md, README): when several apply, the highest wins.
 * An incomplete run is never taken for a pass, whatever its accuracy.
 */
export const EXIT = { ok: 0, belowThreshold: 1, invalidInput: 2, incomplete: 3, interrupted: 130 } as const;

/** `chainscope eval`: runs each prompt through an evaluation session, prints a summary, writes the reports. */
export async function runEval(args: EvalArguments, out: Out, err: Out, signal: AbortSignal): Promise<number> {
  const files = await resolveTargets(args.targets);
  if (files.length === 0) {
    err(`chainscope eval: no .prompt files match ${args.targets.join(' ')}`);
    return EXIT.invalidInput;
  }
  if (args.resume && args.shard) {
    err('chainscope eval: --resume continues the shard its run file records: leave out --shard.');
    return EXIT.invalidInput;
  }
  if (args.resume && files.length !== 1) {
    err('chainscope eval: --resume continues one run: give exactly one .prompt file.');
    return EXIT.invalidInput;
  }

  let priceTable: Record<string, Prices> | undefined;
  if (args.prices) {
    try {
      priceTable = JSON.parse(fs.readFileSync(args.prices, 'utf8')) as Record<string, Prices>;
    } catch (error) {
      err(`chainscope eval: cannot read --prices ${args.prices}: ${error instanceof Error ? error.message : String(error)}`);
      return EXIT.invalidInput;
    }
  }

  // A batch run is resumed as one: its open batches are polled, not sent again.
  const batch = args.batch === true || (args.resume !== undefined && headerOf(args.resume)?.batch === true);
  let batchOptions: BatchSettings | undefined;
  if (batch) {
    try {
      batchOptions = batchSettings(process.env);
    } catch (error) {
      err(`chainscope eval: ${error instanceof Error ? error.message : String(error)}`);
      return EXIT.invalidInput;
    }
  }

  const results: RunResult[] = [];
  const comparisons = new Map<string, Comparison>();
  let code: number = EXIT.ok;
  const fail = (exit: number): void => {
    code = Math.max(code, exit);
  };
  const backends = new Map<string, Backend>();
  try {
    for (const file of files) {
      const label = path.relative(process.cwd(), file);
      const text = fs.readFileSync(file, 'utf8');
      const loaded = await loadPrompt(file, text, nodeFileSystem);
      try {
        EvaluationSession.check(loaded);
      } catch (error) {
        if (!(error instanceof InvalidPromptError)) throw error;
        for (const diagnostic of error.diagnostics) err(formatDiagnostic(file, diagnostic));
        err(
          `${label}: not evaluated (${error.diagnostics.length} error${error.diagnostics.length === 1 ? '' : 's'}); run 'chainscope check' for details.`,
        );
        fail(EXIT.invalidInput);
        continue;
      }
      if (args.baseline !== undefined) {
        const names = loaded.document.variants.map((variant) => variant.name);
        if (!names.includes(args.baseline)) {
          err(
            `${label}: --baseline '${args.baseline}' is not one of its variants${didYouMean(args.baseline, names) || ` (${names.join(', ')})`}`,
          );
          fail(EXIT.invalidInput);
          continue;
        }
        loaded.document.baseline = args.baseline;
      }
      const backend = await backendFor(args, loaded.document.model, file, backends, err, batchOptions);
      // A judge on another model gets its own backend, from the same options but that model.
      const judgeModel = args.judgeModel ?? loaded.document.scorer.judge?.model;
      const judge = isOtherModel(judgeModel, backend)
        ? await backendFor(args, loaded.document.model, file, backends, err, undefined, judgeModel)
        : undefined;
      const progress = progressReporter(label, args.quiet === true);
      let outcome: SessionOutcome;
      try {
        const session = new EvaluationSession({
          loaded,
          promptText: text,
          backend,
          ...(judge ? { judge } : {}),
          runsDirectory: args.runsDir,
          ...(args.variants ? { variants: args.variants } : {}),
          ...(args.cases ? { cases: args.cases } : {}),
          ...(args.samples ? { samples: args.samples } : {}),
          ...(args.seed !== undefined ? { seed: args.seed } : {}),
          ...(args.shard ? { shard: args.shard } : {}),
          // A batch takes every request at once; --concurrency then bounds the online retries.
          ...(args.concurrency && !batchOptions ? { concurrency: args.concurrency } : {}),
          ...(args.resume ? { resume: args.resume } : {}),
          ...(args.force ? { force: true } : {}),
          ...(args.cache ? { cache: new CompletionCache(path.join(args.runsDir, '..', 'cache', `${backend.id}.jsonl`)) } : {}),
          ...(priceTable ? { priceTable } : {}),
          ...(args.maxCost !== undefined ? { maxCost: args.maxCost } : {}),
          // The command line runs the user's own files: a custom scorer is trusted as the prompt is.
          trusted: true,
          signal,
          onEvent: (event) => {
            if (event.type === 'progress') progress.update(event.progress);
            else if (event.type === 'start' && event.header.shard) err(`${label}: ${describeShard(event.header.shard)}`);
            else if (event.type === 'warning') err(`${label}: warning: ${event.message}`);
          },
        });
        if (!args.resume)
          err(
            `${label}: ${describeEstimate(await session.estimate(), backend, session.prices !== undefined)}${isBatchBackend(backend) ? ' (Batch API: at the batch price, results within 24 h)' : ''}`,
          );
        // The backend serves every prompt of this command: its counts before this run are taken off.
        const before = backend.endpointStats?.();
        outcome = await session.run();
        const after = backend.endpointStats?.();
        if (after) outcome.result.endpoints = endpointStatsSince(before, after);
      } catch (error) {
        if (!(error instanceof RunSetupError)) throw error;
        err(`${label}: ${error.message}${error.forcible ? ' (--force resumes anyway)' : ''}`);
        fail(EXIT.invalidInput);
        continue;
      } finally {
        progress.stop();
      }
      const { result, comparison } = outcome;
      results.push(result);
      if (comparison) comparisons.set(result.runId, comparison);
      for (const line of describeResult(result, comparison, label, backend)) out(line);
      if (isBatchBackend(backend)) for (const line of backend.summary()) out(`  ${line}`);

      if (result.status === 'cancelled') {
        const runFile = path.relative(process.cwd(), result.runFile);
        err(`Interrupted: every finished chain is in ${runFile}; continue with --resume ${runFile}`);
        fail(EXIT.interrupted);
        break;
      }
      if (result.status === 'budget') {
        const runFile = path.relative(process.cwd(), result.runFile);
        err(`${label}: the run stopped: ${result.error ?? 'the budget was reached'}`);
        err(
          `${label}: ${result.coverage.finished} of ${result.coverage.expected} chains are in ${runFile}; go on with --resume ${runFile} --max-cost <a higher amount>.`,
        );
        fail(EXIT.incomplete);
      } else if (result.status === 'failed') {
        err(`${label}: the run stopped: ${result.error ?? 'unknown error'}`);
        err(
          `${label}: ${result.coverage.finished} of ${result.coverage.expected} chains are in ${path.relative(process.cwd(), result.runFile)}; after fixing the cause, finish it with --resume.`,
        );
        fail(EXIT.incomplete);
      } else if (!isComplete(result)) {
        err(
          `${label}: incomplete: ${result.coverage.failed} chain(s) failed for good, ${result.coverage.missing} missing; retry them with --resume ${path.relative(process.cwd(), result.runFile)}`,
        );
        fail(EXIT.incomplete);
      }
      if (args.failUnder !== undefined) {
        for (const variant of result.variants) {
          if (variant.majorityVote.value < args.failUnder) {
            err(
              `${label}: ${variant.name}: majority-vote accuracy ${percent(variant.majorityVote.value)} is under --fail-under ${percent(args.failUnder)}`,
            );
            fail(EXIT.belowThreshold);
          }
        }
      }
    }
  } finally {
    for (const backend of backends.values()) await backend.dispose?.();
  }

  const report = makeReport(results, comparisons);
  if (args.json) writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`, out);
  if (args.junit) writeFile(args.junit, junitReport(results), out);
  if (args.html) writeFile(args.html, renderHtmlReport(report), out);
  return code;
}

/** One backend per distinct set of options, shared by the prompts that ask for the same one. */
async function backendFor(
  args: EvalArguments,
  modelReference: string | undefined,
  file: string,
  backends: Map<string, Backend>,
  err: Out,
  batch?: BatchSettings,
  judgeModel?: string,
): Promise<Backend> {
  const runOptions: BackendOptions = {
    ...(args.backend ? { backend: args.backend } : {}),
    ...(args.model ? { model: args.model } : {}),
    ...(args.baseUrl ? { baseUrl: args.baseUrl } : {}),
    ...(modelReference ? { modelReference } : {}),
    ...(args.timeoutMs ? { timeoutMs: args.timeoutMs } : {}),
    ...(args.maxAttempts ? { maxAttempts: args.maxAttempts } : {}),
    ...(args.concurrency ? { concurrency: args.concurrency } : {}),
    ...(batch ? { batch } : {}),
    local: {
      ...(args.device ? { executionProvider: args.device } : {}),
      ...(args.threads ? { threads: args.threads } : {}),
      ...(args.precision ? { precision: args.precision } : {}),
    },
    promptDirectory: path.dirname(file),
    env: process.env,
    log: (message) => err(message),
  };
  const options = judgeModel !== undefined ? judgeBackendOptions(runOptions, judgeModel) : runOptions;
  const key = JSON.stringify({ ...options, env: undefined, log: undefined, promptDirectory: undefined });
  let backend = backends.get(key);
  if (!backend) {
    backend = await createBackend(options);
    backends.set(key, backend);
  }
  return backend;
}

/**
 * The Batch API's pace and limits: the defaults (src/core/backends/batch.ts), or the environment's
 * CHAINSCOPE_BATCH_POLL_MS (first wait between polls), CHAINSCOPE_BATCH_MAX_REQUESTS and
 * CHAINSCOPE_BATCH_MAX_BYTES (per batch file: a provider with lower limits, or a test forcing a split).
 */
export function batchSettings(env: Record<string, string | undefined>): BatchSettings {
  const read = (name: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name}=${text}: expected a whole number of at least 1.`);
    return value;
  };
  const pollMs = read('CHAINSCOPE_BATCH_POLL_MS');
  const maxRequests = read('CHAINSCOPE_BATCH_MAX_REQUESTS');
  const maxBytes = read('CHAINSCOPE_BATCH_MAX_BYTES');
  return {
    ...(pollMs !== undefined ? { pollMs, maxPollMs: Math.max(pollMs, Math.min(300_000, pollMs * 30)) } : {}),
    ...(maxRequests !== undefined ? { maxRequests } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
  };
}

function describeEstimate(estimate: RunEstimate, backend: Backend, priced: boolean): string {
  const budget =
    estimate.maxCompletionTokens !== undefined
      ? `, ≤${estimate.maxCompletionTokens.toLocaleString('en-US')} completion tokens${estimate.reasoning ? ' (reasoning included)' : ''}`
      : '';
  const cost =
    estimate.maxCost !== undefined
      ? `, at most $${estimate.maxCost.toFixed(4)} (worst case: every chain at max_tokens, no cached prompt)`
      : priced
        ? ''
        : ' (no price for this model)';
  const limit =
    estimate.budget === undefined
      ? ''
      : `; budget ${money(estimate.budget)}${estimate.overBudget ? ': the run may stop before every chain is drawn' : ': the worst case fits'}`;
  return `${estimate.chains} chains in ${estimate.requests} requests to ${backend.id}:${backend.model}; ≈${estimate.promptTokens.toLocaleString('en-US')} prompt tokens${budget}${cost}${limit}`;
}

/**
 * The comparison with an earlier run (Comparison): which run, each variant's change over the cases both
 * ran with its paired test, and what the runs do not share. A change is called better or worse only when
 * significant.
 */
export function comparisonBlock(comparison: Comparison): string[] {
  const lines = [`vs run ${comparison.previousRunId} (${comparison.previousStartedAt}, ${comparison.previousModel}):`];
  if (comparison.variants.length === 0) lines.push('  no case and variant in common: nothing compared');
  for (const variant of comparison.variants) {
    const verdict = variant.significant ? (variant.after > variant.before ? 'better' : 'worse') : 'not significant';
    lines.push(
      `  ${variant.name}: ${percent(variant.before)} → ${percent(variant.after)} (${formatDelta(variant)}, ${verdict}; ` +
        `${variant.cases} shared cases, ${variant.fixed} fixed, ${variant.regressed} regressed, ` +
        `95% [${signedPoints(variant.low)}, ${signedPoints(variant.high)}] pt, p${formatP(variant.pAdjusted).startsWith('<') ? '' : '='}${formatP(variant.pAdjusted)})`,
    );
  }
  const differs = comparisonDifferences(comparison);
  if (differs.length > 0) lines.push(`  not like for like: ${differs.join('; ')}`);
  return lines;
}

/** The summary printed for one run: the table, failed cells, the comparison with the previous run. */
export function describeResult(
  result: RunResult,
  comparison: Comparison | undefined,
  label: string,
  backend: Pick<Backend, 'id' | 'model'>,
): string[] {
  const lines: string[] = [];
  const cases = result.cells.length / Math.max(1, result.variants.length);
  const cached = result.coverage.cached > 0 ? `, ${result.coverage.cached} replayed from the cache` : '';
  lines.push(
    `\n${label} — ${backend.id}:${backend.model}, ${cases} cases × ${result.variants.length} variants × ${result.samples} chains (${result.status}${cached})`,
  );
  for (const line of summaryTable(result)) lines.push(`  ${line}`);
  const spent = spentLine(result);
  if (spent) lines.push(`  ${spent}`);
  for (const line of pairsBlock(result)) lines.push(`  ${line}`);
  for (const line of securityBlock(result)) lines.push(`  ${line}`);
  for (const line of judgeBlock(result)) lines.push(`  ${line}`);
  // One line per cause: a reasoning model's fixed settings share one.
  for (const message of new Set(result.adjustments.map((adjustment) => adjustment.message))) lines.push(`  note: ${message}`);
  const failures = result.cells.filter((cell) => cell.errors > 0);
  for (const cell of failures.slice(0, 10)) {
    const error = cell.chains.find((chain) => chain.error)?.error ?? '';
    lines.push(`  ! ${cell.variant} / ${cell.caseName ?? cell.caseId}: ${cell.errors} chain(s) failed: ${error}`);
  }
  if (failures.length > 10) lines.push(`  ! … and ${failures.length - 10} more cells with failed chains`);
  for (const line of endpointsBlock(result)) lines.push(`  ${line}`);
  if (comparison) for (const line of comparisonBlock(comparison)) lines.push(`  ${line}`);
  lines.push(`  run file: ${path.relative(process.cwd(), result.runFile)}`);
  return lines;
}

/** "shard 2/3: cases 4–6 of 9"; "… no case of 2" when there are more shards than cases. */
function describeShard(shard: Shard & { totalCases: number }): string {
  const { start, end } = shardRange(shard.totalCases, shard);
  const part =
    end - start > 1
      ? `cases ${start + 1}–${end} of ${shard.totalCases}`
      : end > start
        ? `case ${end} of ${shard.totalCases}`
        : `no case of ${shard.totalCases} (more shards than cases)`;
  return `shard ${shard.index}/${shard.count}: ${part}`;
}

/** What the run's requests cost (every session of a resumed run), against its budget when it had one. */
export function spentLine(
  result: Pick<RunResult, 'spent' | 'budget' | 'status' | 'variants'> & { backend?: RunResult['backend'] },
): string | undefined {
  if (result.spent === undefined) return undefined;
  const cached = result.variants.reduce((sum, variant) => sum + (variant.cachedTokens ?? 0), 0);
  const budget =
    result.budget === undefined ? '' : ` of a ${money(result.budget)} budget${result.status === 'budget' ? ' (stopped by it)' : ''}`;
  // A local model's cached tokens are prompts it did not prefill again, not a provider's discount.
  const where = result.backend?.id === 'local' ? 'served from the local prefix cache' : 'at the cached-input price';
  return `spent: ${money(result.spent)}${budget}${cached > 0 ? `; ${cached.toLocaleString('en-US')} prompt tokens ${where}` : ''}`;
}

/** Each endpoint's requests in this run: shown with several replicas, or when rate limits held requests back. */
export function endpointsBlock(result: Pick<RunResult, 'endpoints'>): string[] {
  const endpoints = result.endpoints ?? [];
  if (endpoints.length < 2 && !endpoints.some((entry) => entry.pacedMs > 0)) return [];
  const width = Math.max(...endpoints.map((entry) => entry.endpoint.length));
  return [
    'endpoints:',
    ...endpoints.map((entry) => {
      const parts = [`${entry.requests} request${entry.requests === 1 ? '' : 's'}`, `${entry.failures} failed`];
      if (entry.meanLatencyMs !== undefined) parts.push(`mean ${formatSeconds(entry.meanLatencyMs)}`);
      if (entry.pacedMs > 0) parts.push(`paced by rate limit ${formatSeconds(entry.pacedMs)}`);
      if (entry.cooldowns) parts.push(`taken out ${entry.cooldowns}× after failing`);
      return `  ${entry.endpoint.padEnd(width)}  ${parts.join(', ')}`;
    }),
  ];
}

/** 850 ms, 1.2 s, 2m05s. */
export function formatSeconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatDuration(ms);
}

export function writeFile(file: string, content: string, out: Out): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, content);
  out(`wrote ${file}`);
}
