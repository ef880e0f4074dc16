import * as fs from 'node:fs';
import * as path from 'node:path';
import { junitReport } from '../core/eval/junit';
import { makeReport } from '../core/eval/report';
import { isComplete, scoreWithCustomScorer, summarizeRun, type Prices } from '../core/eval/results';
import { InvalidPromptError, EvaluationSession } from '../core/eval/session';
import { mergeShards, MergeError, type ShardFile } from '../core/eval/shard';
import { describeSkipped, hashText, newRunId, RunFile, verdictsRecord } from '../core/eval/store';
import { DEFAULT_PRICES, priceFor } from '../core/prices';
import { loadPrompt, nodeFileSystem } from '../core/prompt/load';
import { didYouMean } from '../core/prompt/text';
import { renderHtmlReport } from '../core/report/html';
import { formatDiagnostic } from './check';
import { describeResult, EXIT, writeFile } from './eval';

export interface MergeArguments {
  files: string[];
  /** The prompt file the shards ran (default: the path their headers record). */
  prompt?: string;
  baseline?: string;
  prices?: string;
  json?: string;
  html?: string;
  junit?: string;
  failUnder?: number;
  /** Merge even when shards are missing: the result holds the given shards' cases only. */
  allowPartial: boolean;
  runsDir: string;
}

type Out = (line: string) => void;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * `chainscope merge`: joins the run files of a sharded run (`eval --shard i/n`) into the unsharded run —
 * a merged run file in the runs folder (an ordinary run file: the editor opens it, `--resume` completes
 * it), its summary, and the reports — scored once, over all cases, as the unsharded run is.
 */
export async function runMerge(args: MergeArguments, out: Out, err: Out): Promise<number> {
  const shards: ShardFile[] = [];
  for (const file of args.files) {
    try {
      const run = RunFile.open(file).read();
      if (run.skipped.length > 0) err(`${file}: warning: ${describeSkipped(run.skipped)}; their chains count as missing`);
      shards.push({ file, run });
    } catch (error) {
      err(`chainscope merge: ${messageOf(error)}`);
      return EXIT.invalidInput;
    }
  }
  let merged;
  try {
    merged = mergeShards(shards, { id: newRunId(shards[0]?.run.header.promptName ?? 'prompt'), allowPartial: args.allowPartial });
  } catch (error) {
    if (!(error instanceof MergeError)) throw error;
    err(`chainscope merge: ${error.message}`);
    return EXIT.invalidInput;
  }
  const { run, missing } = merged;
  const { header } = run;

  // Scoring needs the prompt (its cases' expected answers, extraction, scorer), exactly as the shards ran it.
  const promptFile = path.resolve(args.prompt ?? header.promptFile);
  if (!fs.existsSync(promptFile)) {
    err(`chainscope merge: the shards ran ${header.promptFile}, which is not here: pass --prompt FILE (the same file, unchanged)`);
    return EXIT.invalidInput;
  }
  const text = fs.readFileSync(promptFile, 'utf8');
  if (hashText(text) !== header.promptHash) {
    err(
      `chainscope merge: ${path.relative(process.cwd(), promptFile)} differs from the prompt the shards ran (hash ${hashText(text)} vs ${header.promptHash}): pass --prompt with the file as it was`,
    );
    return EXIT.invalidInput;
  }
  const label = path.relative(process.cwd(), promptFile);
  const loaded = await loadPrompt(promptFile, text, nodeFileSystem);
  try {
    EvaluationSession.check(loaded);
  } catch (error) {
    if (!(error instanceof InvalidPromptError)) throw error;
    for (const diagnostic of error.diagnostics) err(formatDiagnostic(promptFile, diagnostic));
    return EXIT.invalidInput;
  }
  if (args.baseline !== undefined) {
    const names = loaded.document.variants.map((variant) => variant.name);
    if (!names.includes(args.baseline)) {
      err(
        `chainscope merge: --baseline '${args.baseline}' is not one of its variants${didYouMean(args.baseline, names) || ` (${names.join(', ')})`}`,
      );
      return EXIT.invalidInput;
    }
    loaded.document.baseline = args.baseline;
  }
  let priceTable: Record<string, Prices> = {};
  if (args.prices) {
    try {
      priceTable = JSON.parse(fs.readFileSync(args.prices, 'utf8')) as Record<string, Prices>;
    } catch (error) {
      err(`chainscope merge: cannot read --prices ${args.prices}: ${messageOf(error)}`);
      return EXIT.invalidInput;
    }
  }
  const prices = priceFor(header.backend.id, header.backend.model, { ...DEFAULT_PRICES, ...priceTable });

  run.header = { ...header, promptFile };
  const runFile = RunFile.create(args.runsDir, run.header);
  for (const record of run.completions) runFile.append(record);
  for (const record of run.adjustments ?? []) runFile.append(record);
  if (run.end) runFile.append(run.end);
  await runFile.close();

  const customScores = await scoreWithCustomScorer(loaded.document, loaded.cases, run, path.dirname(promptFile), true);
  const result = summarizeRun(loaded.document, loaded.cases, run, prices, customScores);
  result.runFile = runFile.path;
  // As a session does: what this run scored, kept with it for later comparisons.
  fs.appendFileSync(runFile.path, `${JSON.stringify(verdictsRecord(run.header, result, result.cells))}\n`);

  const named = args.files.length > 4 ? `${args.files.slice(0, 3).join(', ')}, … ${args.files.length - 3} more` : args.files.join(', ');
  out(`merged ${header.merged?.shards.length} of ${header.merged?.count} shards (${named})`);
  for (const line of describeResult(result, undefined, label, header.backend)) out(line);
  let code: number = EXIT.ok;
  if (missing.length > 0) {
    const note = `partial merge (--allow-partial): shard${missing.length === 1 ? '' : 's'} ${missing.map((index) => `${index}/${header.merged?.count}`).join(', ')} missing; their cases are not in this result`;
    out(`  ${note}`);
    err(`${label}: ${note}`);
    code = EXIT.incomplete;
  }
  if (!run.end) {
    err(`${label}: a shard has no end record (still running, or killed): finish it with --resume on its run file, then merge again`);
    code = EXIT.incomplete;
  } else if (result.status === 'failed' || result.status === 'cancelled' || !isComplete(result)) {
    err(
      `${label}: incomplete (${result.status}): ${result.coverage.failed} chain(s) failed, ${result.coverage.missing} missing; finish the shards with --resume on their run files, then merge again`,
    );
    code = EXIT.incomplete;
  }
  if (args.failUnder !== undefined) {
    for (const variant of result.variants) {
      if (variant.majorityVote.value < args.failUnder) {
        err(
          `${label}: ${variant.name}: majority-vote accuracy ${(variant.majorityVote.value * 100).toFixed(1)}% is under --fail-under ${(args.failUnder * 100).toFixed(1)}%`,
        );
        code = Math.max(code, EXIT.belowThreshold);
      }
    }
  }
  const report = makeReport([result]);
  if (args.json) writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`, out);
  if (args.junit) writeFile(args.junit, junitReport([result]), out);
  if (args.html) writeFile(args.html, renderHtmlReport(report), out);
  return code;
}
