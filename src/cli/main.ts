import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { cudaSetup, describeCudaSetup } from '../core/local/cudaSetup';
import { LOCAL_PRECISIONS, type LocalPrecision } from '../core/local/modelFolder';
import { redactSecrets } from '../core/redact';
import { runCheck } from './check';
import { runDemo } from './demo';
import { runEval } from './eval';
import { runMerge } from './merge';
import { parseShard, type Shard } from '../core/eval/shard';

const EVAL_OPTIONS = `      --backend NAME         openai | azure | ollama | vllm | lmstudio | llamacpp | local | <base URL>
                             (default: the provider in the prompt's 'model')
      --model NAME           model or deployment (default: the prompt's 'model')
      --base-url URL         endpoint of an OpenAI-compatible server (user:password@ is sent as Basic auth,
                             a query with every request; both are redacted wherever the URL is shown);
                             repeat it or separate URLs by commas for replicas of one model (requests go
                             to the least busy; a failing one is left out for 30 s and others retry)
      --variants a,b         only these variants
      --cases id,id          only these cases
      --samples N            chains per case (default: the prompt's 'samples')
      --seed N               the run's seed (default: the prompt's 'seed', else a fresh one, recorded in the run file)
      --shard i/n            run shard i of n: the i-th of n contiguous parts of the cases, in its own run file
                             (needs a fixed seed: 'seed:' in the prompt's config, or --seed); join them with 'chainscope merge'
      --baseline VARIANT     compare each variant with this one (default: the prompt's 'baseline', else every pair)
      --concurrency N        requests in flight
      --batch                send the run through the Batch API (openai, azure): half price, results within 24 h;
                             the batch ids go into the run file, so --resume polls the same batches
      --json FILE            write the results (schema chainscope.report/1, see docs/results-schema.md)
      --html FILE            write a self-contained HTML report
      --junit FILE           write JUnit XML (one test per case and variant)
      --fail-under RATE      exit 1 when a variant's majority-vote accuracy is below RATE (0–1)
      --resume RUNFILE       continue an interrupted run (only missing or failed chains are requested)
      --force                with --resume: continue even if the prompt file differs from the run's
      --device auto|cuda|cpu local models: execution provider (default auto: CUDA if it starts, else CPU)
      --threads N            local models: CPU threads
      --precision auto|fp32|q8|q4
                             local models: which export to run (onnx/model.onnx, model_quantized.onnx, model_q4.onnx;
                             default auto: model.onnx, else a quantized one); scripts/model/quantize.py makes them
      --judge-model REF      the judge's model (scorer type judge), over the prompt's scorer.model (openai:gpt-4o)
      --timeout SECONDS      seconds without a byte from the server before a request is retried (default 60)
      --max-attempts N       attempts per request, retries included (default 4)
      --prices FILE          JSON {model: {input, output, cachedInput?}} in $ per million tokens (adds to the built-in table)
      --max-cost AMOUNT      budget of the run in the prices' currency (over the prompt's 'budget'): it stops before a
                             request could pass it, keeping what finished; --resume with a higher one goes on
      --runs-dir DIR         where run files go (default: .chainscope/runs)
      --no-cache             do not reuse cached completions
      --quiet                no progress output`;

const EXIT_CODES = `Exit codes: 0 good, 1 errors found or a variant under --fail-under, 2 bad usage or invalid input,
3 incomplete run (a budget stop included), 130 interrupted.`;

const USAGE = `Usage: chainscope <command> [options]

Commands:
  check <files or folders>   Check .prompt files; prints file:line:col: severity: message; exit 1 on errors.
  eval <files, folders or globs> [options]
                             Evaluate prompts: variants × cases × sampled chains, scored, with self-consistency.
${EVAL_OPTIONS}
  merge <run files> [options]
                             Join the run files of a sharded run (eval --shard i/n) into the unsharded result.
  demo [folder]              Show each prompt's variants with their token counts (default folder: prompts).
  cuda                       What the CUDA execution provider still needs here, and the command that fetches it;
                             exit 0 when nothing is missing.

Options:
  -h, --help                 Show this help ('chainscope <command> --help' for one command's).

${EXIT_CODES}`;

const COMMAND_USAGE: Record<string, string> = {
  check: `Usage: chainscope check [files or folders] (default: .)

Checks .prompt files (folders recursively) and prints each problem as file:line:col: severity: message.
Exit 0 when clean, 1 on errors, 2 when no .prompt file is found.

Options:
  -h, --help                 Show this help.`,
  eval: `Usage: chainscope eval <files, folders or globs> [options]

Evaluates prompts: variants × cases × sampled chains, scored, with self-consistency.

Options:
${EVAL_OPTIONS}
  -h, --help                 Show this help.

${EXIT_CODES}`,
  merge: `Usage: chainscope merge <run files> [options]

Joins the run files of one sharded run (chainscope eval --shard i/n, the same prompt, settings and seed)
into the result of the unsharded run: writes a merged run file, prints the summary, writes the reports.
Refuses files of different prompts or settings, a shard given twice, and missing shards.

Options:
      --prompt FILE          the prompt file the shards ran (default: the path in their run files)
      --allow-partial        merge although shards are missing (their cases are left out; exit 3)
      --baseline VARIANT     compare each variant with this one (default: the prompt's 'baseline', else every pair)
      --json FILE            write the results (schema chainscope.report/1, see docs/results-schema.md)
      --html FILE            write a self-contained HTML report
      --junit FILE           write JUnit XML (one test per case and variant)
      --fail-under RATE      exit 1 when a variant's majority-vote accuracy is below RATE (0–1)
      --prices FILE          JSON {model: {input, output}} in $ per million tokens (adds to the built-in table)
      --runs-dir DIR         where the merged run file goes (default: .chainscope/runs)
  -h, --help                 Show this help.

${EXIT_CODES}`,
  demo: `Usage: chainscope demo [folder] (default: prompts)

Shows each prompt's variants with their token counts.

Options:
  -h, --help                 Show this help.`,
  cuda: `Usage: chainscope cuda

Says what the CUDA execution provider still needs here, and the command that fetches it.
Exit 0 when nothing is missing, 1 otherwise.

Options:
  -h, --help                 Show this help.`,
};

/** Bad flags or values: one line on stderr naming the problem, exit 2, never a stack. */
class UsageError extends Error {}

/** Edit distance, for "did you mean" on a mistyped option. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function suggestion(option: string, names: readonly string[]): string {
  const typed = option.replace(/^-+/, '').replace(/=.*$/, '');
  const best = names
    .map((name) => ({ name, score: name.startsWith(typed) && typed.length >= 2 ? 0 : distance(typed, name) }))
    .sort((a, b) => a.score - b.score)[0];
  return best && best.score <= Math.max(1, Math.floor(typed.length / 3)) ? ` (did you mean --${best.name}?)` : '';
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** parseArgs with -h/--help on every command, and its errors turned into usage errors that name the flag. */
function parseCommand<T extends OptionSpec>(command: string, args: readonly string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: [...args], allowPositionals, strict: true, options: { ...options, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS_')) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(`unknown option '${quoted}'${suggestion(quoted, Object.keys(options))}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument '${quoted}'`);
    // ERR_PARSE_ARGS_INVALID_OPTION_VALUE: a string option without its value, or a value given to a flag.
    throw new UsageError(message.replace(/\.$/, '').replace(/^Option/, 'option'));
  }
}

/** A whole number in [min, max]: counts of chains, requests, threads and attempts have no fractions. */
function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got '${value}'`);
  return parsed;
}

function number(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max)
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, got '${value}'`);
  return parsed;
}

function shardOption(value: string): Shard {
  try {
    return parseShard(value);
  } catch (error) {
    throw new UsageError(`--shard ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** An amount of money above 0; a leading `$` is allowed (`--max-cost $5`). */
function amount(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim().replace(/^\$/, '');
  const parsed = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(parsed) || parsed <= 0)
    throw new UsageError(`--${name} must be an amount above 0 (such as 5 or 0.50), got '${value}'`);
  return parsed;
}

function precision(value: string): LocalPrecision {
  const found = LOCAL_PRECISIONS.find((choice) => choice === value);
  if (found) return found;
  throw new UsageError(`--precision must be ${LOCAL_PRECISIONS.join(', ')}, got '${value}'`);
}

function executionProvider(value: string): 'auto' | 'cuda' | 'cpu' {
  if (value === 'auto' || value === 'cuda' || value === 'cpu') return value;
  throw new UsageError(`--device must be auto, cuda or cpu, got '${value}'`);
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const err = (line: string): void => void process.stderr.write(`${line}\n`);
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    out(topic && COMMAND_USAGE[topic] ? COMMAND_USAGE[topic] : USAGE);
    return command ? 0 : 2;
  }
  if (!COMMAND_USAGE[command]) {
    err(`chainscope: unknown command '${command}'\n\n${USAGE}`);
    return 2;
  }
  try {
    return await runCommand(command, rest, out, err);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`chainscope ${command}: ${error.message}; see 'chainscope ${command} --help'`);
    return 2;
  }
}

function help(command: string, out: (line: string) => void): number {
  out(COMMAND_USAGE[command] ?? USAGE);
  return 0;
}

async function runCommand(
  command: string,
  rest: readonly string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  switch (command) {
    case 'check': {
      const { values, positionals } = parseCommand(command, rest, {});
      if (values.help) return help('check', out);
      return runCheck(positionals, out, err);
    }
    case 'eval': {
      const { values, positionals } = parseCommand(command, rest, {
        backend: { type: 'string' },
        model: { type: 'string' },
        'base-url': { type: 'string', multiple: true },
        'judge-model': { type: 'string' },
        variants: { type: 'string' },
        cases: { type: 'string' },
        samples: { type: 'string' },
        seed: { type: 'string' },
        shard: { type: 'string' },
        baseline: { type: 'string' },
        concurrency: { type: 'string' },
        json: { type: 'string' },
        html: { type: 'string' },
        junit: { type: 'string' },
        'fail-under': { type: 'string' },
        resume: { type: 'string' },
        force: { type: 'boolean' },
        batch: { type: 'boolean' },
        prices: { type: 'string' },
        'max-cost': { type: 'string' },
        timeout: { type: 'string' },
        device: { type: 'string' },
        threads: { type: 'string' },
        precision: { type: 'string' },
        'max-attempts': { type: 'string' },
        'runs-dir': { type: 'string' },
        'no-cache': { type: 'boolean' },
        quiet: { type: 'boolean' },
      });
      if (values.help) return help('eval', out);
      const list = (value: string | undefined): string[] | undefined =>
        value
          ?.split(',')
          .map((item) => item.trim())
          .filter(Boolean);
      // Every value is checked before the run starts, so a typo costs no requests.
      const samples = integer('samples', values.samples, 1, 10_000);
      const seed = integer('seed', values.seed, 0, Number.MAX_SAFE_INTEGER);
      const concurrency = integer('concurrency', values.concurrency, 1, 256);
      const failUnder = number('fail-under', values['fail-under'], 0, 1);
      const timeout = number('timeout', values.timeout, 0.05, 3600);
      const maxAttempts = integer('max-attempts', values['max-attempts'], 1, 20);
      const threads = integer('threads', values.threads, 1, 256);
      const maxCost = amount('max-cost', values['max-cost']);
      const device = values.device !== undefined ? executionProvider(values.device) : undefined;
      const weights = values.precision !== undefined ? precision(values.precision) : undefined;
      const shard = values.shard !== undefined ? shardOption(values.shard) : undefined;
      const controller = new AbortController();
      const interrupt = (): void => {
        if (controller.signal.aborted) process.exit(130);
        process.stderr.write('\nInterrupted: stopping after the chains in flight (Ctrl-C again to quit at once)…\n');
        controller.abort();
      };
      process.on('SIGINT', interrupt);
      process.on('SIGTERM', interrupt);
      try {
        return await runEval(
          {
            targets: positionals,
            ...(values.backend ? { backend: values.backend } : {}),
            ...(values.model ? { model: values.model } : {}),
            ...(values['base-url']?.length ? { baseUrl: [values['base-url']].flat().join(',') } : {}),
            ...(values['judge-model'] ? { judgeModel: values['judge-model'] } : {}),
            ...(list(values.variants) ? { variants: list(values.variants) } : {}),
            ...(list(values.cases) ? { cases: list(values.cases) } : {}),
            ...(samples !== undefined ? { samples } : {}),
            ...(seed !== undefined ? { seed } : {}),
            ...(shard ? { shard } : {}),
            ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
            ...(concurrency !== undefined ? { concurrency } : {}),
            ...(values.json ? { json: values.json } : {}),
            ...(values.html ? { html: values.html } : {}),
            ...(values.junit ? { junit: values.junit } : {}),
            ...(failUnder !== undefined ? { failUnder } : {}),
            ...(values.resume ? { resume: values.resume } : {}),
            ...(values.force ? { force: true } : {}),
            ...(values.batch ? { batch: true } : {}),
            ...(values.prices ? { prices: values.prices } : {}),
            ...(maxCost !== undefined ? { maxCost } : {}),
            ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
            ...(maxAttempts !== undefined ? { maxAttempts } : {}),
            ...(device ? { device } : {}),
            ...(threads !== undefined ? { threads } : {}),
            ...(weights ? { precision: weights } : {}),
            runsDir: path.resolve(values['runs-dir'] ?? '.chainscope/runs'),
            cache: !values['no-cache'],
            quiet: values.quiet === true,
          },
          out,
          err,
          controller.signal,
        );
      } finally {
        process.off('SIGINT', interrupt);
        process.off('SIGTERM', interrupt);
      }
    }
    case 'merge': {
      const { values, positionals } = parseCommand(command, rest, {
        prompt: { type: 'string' },
        'allow-partial': { type: 'boolean' },
        baseline: { type: 'string' },
        json: { type: 'string' },
        html: { type: 'string' },
        junit: { type: 'string' },
        'fail-under': { type: 'string' },
        prices: { type: 'string' },
        'runs-dir': { type: 'string' },
      });
      if (values.help) return help('merge', out);
      if (positionals.length === 0) throw new UsageError('give the run files of the shards to merge');
      const failUnder = number('fail-under', values['fail-under'], 0, 1);
      return runMerge(
        {
          files: positionals,
          ...(values.prompt ? { prompt: values.prompt } : {}),
          ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
          ...(values.prices ? { prices: values.prices } : {}),
          ...(values.json ? { json: values.json } : {}),
          ...(values.html ? { html: values.html } : {}),
          ...(values.junit ? { junit: values.junit } : {}),
          ...(failUnder !== undefined ? { failUnder } : {}),
          allowPartial: values['allow-partial'] === true,
          runsDir: path.resolve(values['runs-dir'] ?? '.chainscope/runs'),
        },
        out,
        err,
      );
    }
    case 'demo': {
      const { values, positionals } = parseCommand(command, rest, {});
      if (values.help) return help('demo', out);
      return runDemo(positionals[0] ?? 'prompts', out);
    }
    case 'cuda': {
      const { values } = parseCommand(command, rest, {}, false);
      if (values.help) return help('cuda', out);
      const setup = cudaSetup();
      for (const line of describeCudaSetup(setup)) out(line);
      return setup.supported && setup.missingProviders.length === 0 && setup.missingSystem.length === 0 ? 0 : 1;
    }
    default:
      throw new Error(`no handler for ${command}`);
  }
}

// `chainscope check | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Expected failures (bad flags, a missing key, an unknown backend) get their message, not a stack.
    const known =
      error instanceof UsageError || (error instanceof Error && !(error instanceof TypeError) && !(error instanceof RangeError));
    const text = error instanceof Error ? (known ? error.message : (error.stack ?? error.message)) : String(error);
    process.stderr.write(`chainscope: ${redactSecrets(text)}\n`);
    process.exitCode = 2;
  },
);
