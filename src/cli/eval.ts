import * as fs from 'node:fs';
import * as path from 'node:path';
import { SingleBar } from 'cli-progress';
import { glob } from 'tinyglobby';
import type { Backend } from '../core/backend';
import { createBackend, type BackendOptions } from '../core/backends';
import { CompletionCache } from '../core/eval/cache';
import { estimateRun } from '../core/eval/estimate';
import { junitReport } from '../core/eval/junit';
import { RESULT_SCHEMA, scoreWithCustomScorer, summarizeRun, type RunResult } from '../core/eval/results';
import { runEvaluation, type ProgressEvent } from '../core/eval/run';
import { renderHtmlReport } from '../core/report/html';
import { DEFAULT_PRICES, priceFor } from '../core/prices';
import { loadPrompt, nodeFileSystem } from '../core/prompt/load';
import type { Prices } from '../core/eval/results';
import { formatDiagnostic } from './check';

export const REPORT_SCHEMA = 'chainscope.report/1';

export interface EvalArguments {
  targets: string[];
  backend?: string;
  model?: string;
  baseUrl?: string;
  variants?: string[];
  cases?: string[];
  samples?: number;
  concurrency?: number;
  json?: string;
  html?: string;
  junit?: string;
  failUnder?: number;
  resume?: string;
  /** With `resume`: continue even if the prompt file differs from the run's. */
  force?: boolean;
  /** A JSON file of `{model: {input, output}}` in currency per million tokens. */
  prices?: string;
  timeoutMs?: number;
  maxAttempts?: number;
  device?: 'auto' | 'cuda' | 'cpu';
  threads?: number;
  runsDir: string;
  cache: boolean;
  quiet?: boolean;
}

export interface EvalReport {
  schema: typeof REPORT_SCHEMA;
  generatedAt: string;
  runs: RunResult[];
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
    const bar = new SingleBar(
      { format: `${label} [{bar}] {value}/{total} chains | {tokens} tokens | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true, stream: process.stderr, etaBuffer: 50 },
    );
    let started = false;
    return {
      update(event) {
        if (!started) {
          bar.start(event.total, event.done, { tokens: 0 });
          started = true;
        }
        // Streamed text counts as it arrives (≈4 characters a token), so the bar moves within long requests.
        bar.update(event.done, { tokens: event.promptTokens + event.completionTokens + Math.round(event.streamedChars / 4) });
      },
      stop: () => bar.stop(),
    };
  }
  let lastDecile = -1;
  return {
    update(event) {
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
  const header = ['variant', 'single chain', 'majority vote', `maj@1→${result.samples}`, 'agree', 'entropy', 'invalid', ...(showScore ? ['mean F1'] : []), 'tokens', 'latency', 'cost'];
  const rows = result.variants.map((variant) => [
    variant.name,
    `${percent(variant.singleChain.value)} [${percent(variant.singleChain.low)}–${percent(variant.singleChain.high)}]`,
    `${percent(variant.majorityVote.value)} (${variant.majorityVote.successes}/${variant.majorityVote.trials})`,
    variant.majAtK.length > 0 ? `${percent(variant.majAtK[0] ?? 0)}→${percent(variant.majAtK[variant.majAtK.length - 1] ?? 0)}` : '—',
    percent(variant.meanAgreement),
    variant.meanEntropy.toFixed(2),
    percent(variant.invalidRate),
    ...(showScore ? [variant.meanScore.toFixed(3)] : []),
    String(variant.promptTokens + variant.completionTokens),
    `${Math.round(variant.meanLatencyMs)} ms`,
    variant.cost === null ? '—' : `$${variant.cost.toFixed(4)}`,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  return [line(header), widths.map((width) => '─'.repeat(width)).join('  '), ...rows.map(line)];
}

/** `chainscope eval`: runs each prompt, prints a summary, writes the requested reports. */
export async function runEval(args: EvalArguments, out: Out, err: Out, signal: AbortSignal): Promise<number> {
  const files = await resolveTargets(args.targets);
  if (files.length === 0) {
    err(`chainscope eval: no .prompt files match ${args.targets.join(' ')}`);
    return 2;
  }
  if (args.resume && files.length !== 1) {
    err('chainscope eval: --resume continues one run: give exactly one .prompt file.');
    return 2;
  }

  let priceTable: Record<string, Prices> | undefined;
  if (args.prices) {
    try {
      priceTable = JSON.parse(fs.readFileSync(args.prices, 'utf8')) as Record<string, Prices>;
    } catch (error) {
      err(`chainscope eval: cannot read --prices ${args.prices}: ${error instanceof Error ? error.message : String(error)}`);
      return 2;
    }
  }

  const results: RunResult[] = [];
  let failed = false;
  const backends = new Map<string, Backend>();
  try {
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      const loaded = await loadPrompt(file, text, nodeFileSystem);
      const errors = loaded.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
      if (errors.length > 0) {
        for (const diagnostic of errors) err(formatDiagnostic(file, diagnostic));
        err(`${path.relative(process.cwd(), file)}: not evaluated (${errors.length} error${errors.length === 1 ? '' : 's'}); run 'chainscope check' for details.`);
        failed = true;
        continue;
      }
      const options: BackendOptions = {
        ...(args.backend ? { backend: args.backend } : {}),
        ...(args.model ? { model: args.model } : {}),
        ...(args.baseUrl ? { baseUrl: args.baseUrl } : {}),
        modelReference: loaded.document.model,
        ...(args.timeoutMs ? { timeoutMs: args.timeoutMs } : {}),
        ...(args.maxAttempts ? { maxAttempts: args.maxAttempts } : {}),
        ...(args.concurrency ? { concurrency: args.concurrency } : {}),
        local: { ...(args.device ? { executionProvider: args.device } : {}), ...(args.threads ? { threads: args.threads } : {}) },
        promptDirectory: path.dirname(file),
        env: process.env,
        log: (message) => err(message),
      };
      const backendKey = JSON.stringify({ ...options, env: undefined, log: undefined, promptDirectory: undefined });
      let backend = backends.get(backendKey);
      if (!backend) {
        backend = await createBackend(options);
        backends.set(backendKey, backend);
      }

      const label = path.relative(process.cwd(), file);
      const prices = priceFor(backend.id, backend.model, { ...DEFAULT_PRICES, ...priceTable });
      if (!args.resume) {
        const estimate = await estimateRun(loaded, {
          input: backend.input,
          model: backend.model,
          ...(args.samples ? { samples: args.samples } : {}),
          ...(args.variants ? { variants: args.variants } : {}),
          ...(args.cases ? { cases: args.cases } : {}),
          ...(prices ? { prices } : {}),
        });
        const budget = estimate.maxCompletionTokens !== undefined ? `, ≤${estimate.maxCompletionTokens.toLocaleString('en-US')} completion tokens` : '';
        const cost = estimate.maxCost !== undefined ? `, at most $${estimate.maxCost.toFixed(4)}` : prices ? '' : ' (no price for this model)';
        err(`${label}: ${estimate.chains} chains in ${estimate.requests} requests to ${backend.id}:${backend.model}; ≈${estimate.promptTokens.toLocaleString('en-US')} prompt tokens${budget}${cost}`);
      }
      const progress = progressReporter(label, args.quiet === true);
      const cache = args.cache ? new CompletionCache(path.join(args.runsDir, '..', 'cache', `${backend.id}.jsonl`)) : undefined;
      let outcome;
      try {
        outcome = await runEvaluation({
          loaded,
          promptText: text,
          backend,
          runsDirectory: args.runsDir,
          ...(args.variants ? { variants: args.variants } : {}),
          ...(args.cases ? { cases: args.cases } : {}),
          ...(args.samples ? { samples: args.samples } : {}),
          ...(args.concurrency ? { concurrency: args.concurrency } : {}),
          ...(args.resume ? { resume: args.resume } : {}),
          ...(cache ? { cache } : {}),
          signal,
          onProgress: progress.update,
          onWarning: (message) => err(`${label}: warning: ${message}`),
        });
      } finally {
        progress.stop();
      }
      // The command line runs the user's own files: a custom scorer is trusted as the prompt is.
      const customScores = await scoreWithCustomScorer(loaded.document, loaded.cases, outcome.run, path.dirname(file), true);
      const result = summarizeRun(loaded.document, loaded.cases, outcome.run, prices, customScores);
      result.runFile = outcome.runFile;
      results.push(result);

      out(`\n${label} — ${backend.id}:${backend.model}, ${result.cells.length / Math.max(1, result.variants.length)} cases × ${result.variants.length} variants × ${result.samples} chains (${outcome.status})`);
      for (const line of summaryTable(result)) out(`  ${line}`);
      const failures = result.cells.filter((cell) => cell.errors > 0);
      for (const cell of failures.slice(0, 10)) {
        const error = cell.chains.find((chain) => chain.error)?.error ?? '';
        out(`  ! ${cell.variant} / ${cell.caseName ?? cell.caseId}: ${cell.errors} chain(s) failed: ${error}`);
      }
      if (failures.length > 10) out(`  ! … and ${failures.length - 10} more cells with failed chains`);
      out(`  run file: ${path.relative(process.cwd(), outcome.runFile)}`);

      if (outcome.status === 'cancelled') {
        err(`Interrupted: every finished chain is in ${path.relative(process.cwd(), outcome.runFile)}; continue with --resume ${path.relative(process.cwd(), outcome.runFile)}`);
        failed = true;
        break;
      }
      if (args.failUnder !== undefined) {
        for (const variant of result.variants) {
          if (variant.majorityVote.value < args.failUnder) {
            err(`${label}: ${variant.name}: majority-vote accuracy ${percent(variant.majorityVote.value)} is under --fail-under ${percent(args.failUnder)}`);
            failed = true;
          }
        }
      }
    }
  } finally {
    for (const backend of backends.values()) await backend.dispose?.();
  }

  const report: EvalReport = { schema: REPORT_SCHEMA, generatedAt: new Date().toISOString(), runs: results };
  if (args.json) writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`, out);
  if (args.junit) writeFile(args.junit, junitReport(results), out);
  if (args.html) writeFile(args.html, renderHtmlReport(report), out);
  if (signal.aborted) return 130;
  return failed ? 1 : 0;
}

function writeFile(file: string, content: string, out: Out): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, content);
  out(`wrote ${file}`);
}

export { RESULT_SCHEMA };
