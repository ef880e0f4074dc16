import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { cudaSetup, describeCudaSetup } from '../core/local/cudaSetup';
import { runCheck } from './check';
import { runDemo } from './demo';
import { runEval } from './eval';

const USAGE = `Usage: chainscope <command> [options]

Commands:
  check <files or folders>   Check .prompt files; prints file:line:col: severity: message; exit 1 on errors.
  eval <files, folders or globs> [options]
                             Evaluate prompts: variants × cases × sampled chains, scored, with self-consistency.
      --backend NAME         openai | azure | ollama | vllm | lmstudio | llamacpp | local | <base URL>
                             (default: the provider in the prompt's 'model')
      --model NAME           model or deployment (default: the prompt's 'model')
      --base-url URL         endpoint of an OpenAI-compatible server
      --variants a,b         only these variants
      --cases id,id          only these cases
      --samples N            chains per case (default: the prompt's 'samples')
      --concurrency N        requests in flight
      --json FILE            write the results (schema chainscope.report/1, see docs/results-schema.md)
      --html FILE            write a self-contained HTML report
      --junit FILE           write JUnit XML (one test per case and variant)
      --fail-under RATE      exit 1 when a variant's majority-vote accuracy is below RATE (0–1)
      --resume RUNFILE       continue an interrupted run (only missing or failed chains are requested)
      --device auto|cuda|cpu local models: execution provider (default auto: CUDA if it starts, else CPU)
      --threads N            local models: CPU threads
      --timeout SECONDS      seconds without a byte from the server before a request is retried (default 60)
      --max-attempts N       attempts per request, retries included (default 4)
      --prices FILE          JSON {model: {input, output}} in $ per million tokens (adds to the built-in table)
      --runs-dir DIR         where run files go (default: .chainscope/runs)
      --no-cache             do not reuse cached completions
      --quiet                no progress output
  demo [folder]              Show each prompt's variants with their token counts (default folder: prompts).
  cuda                       What the CUDA execution provider still needs here, and the command that fetches it;
                             exit 0 when nothing is missing.

Options:
  -h, --help                 Show this help.`;

class UsageError extends Error {}

function executionProvider(value: string): 'auto' | 'cuda' | 'cpu' {
  if (value === 'auto' || value === 'cuda' || value === 'cpu') return value;
  throw new UsageError(`--device must be auto, cuda or cpu, got '${value}'`);
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    out(USAGE);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'check': {
      const { positionals } = parseArgs({ args: [...rest], allowPositionals: true, options: {} });
      return runCheck(positionals, out);
    }
    case 'eval': {
      const { values, positionals } = parseArgs({
        args: [...rest],
        allowPositionals: true,
        options: {
          backend: { type: 'string' },
          model: { type: 'string' },
          'base-url': { type: 'string' },
          variants: { type: 'string' },
          cases: { type: 'string' },
          samples: { type: 'string' },
          concurrency: { type: 'string' },
          json: { type: 'string' },
          html: { type: 'string' },
          junit: { type: 'string' },
          'fail-under': { type: 'string' },
          resume: { type: 'string' },
          prices: { type: 'string' },
          timeout: { type: 'string' },
          device: { type: 'string' },
          threads: { type: 'string' },
          'max-attempts': { type: 'string' },
          'runs-dir': { type: 'string' },
          'no-cache': { type: 'boolean' },
          quiet: { type: 'boolean' },
        },
      });
      const number = (name: string, value: string | undefined, min: number, max: number): number | undefined => {
        if (value === undefined) return undefined;
        const parsed = Number(value);
        if (!Number.isFinite(parsed) || parsed < min || parsed > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got '${value}'`);
        return parsed;
      };
      const list = (value: string | undefined): string[] | undefined => value?.split(',').map((item) => item.trim()).filter(Boolean);
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
            ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}),
            ...(list(values.variants) ? { variants: list(values.variants) } : {}),
            ...(list(values.cases) ? { cases: list(values.cases) } : {}),
            ...(values.samples ? { samples: number('samples', values.samples, 1, 10_000) } : {}),
            ...(values.concurrency ? { concurrency: number('concurrency', values.concurrency, 1, 256) } : {}),
            ...(values.json ? { json: values.json } : {}),
            ...(values.html ? { html: values.html } : {}),
            ...(values.junit ? { junit: values.junit } : {}),
            ...(values['fail-under'] ? { failUnder: number('fail-under', values['fail-under'], 0, 1) } : {}),
            ...(values.resume ? { resume: values.resume } : {}),
            ...(values.prices ? { prices: values.prices } : {}),
            ...(values.timeout ? { timeoutMs: (number('timeout', values.timeout, 0.05, 3600) ?? 60) * 1000 } : {}),
            ...(values['max-attempts'] ? { maxAttempts: number('max-attempts', values['max-attempts'], 1, 20) } : {}),
            ...(values.device ? { device: executionProvider(values.device) } : {}),
            ...(values.threads ? { threads: number('threads', values.threads, 1, 256) } : {}),
            runsDir: path.resolve(values['runs-dir'] ?? '.chainscope/runs'),
            cache: !values['no-cache'],
            quiet: values.quiet === true,
          },
          out,
          (line) => void process.stderr.write(`${line}\n`),
          controller.signal,
        );
      } finally {
        process.off('SIGINT', interrupt);
        process.off('SIGTERM', interrupt);
      }
    }
    case 'demo': {
      const { positionals } = parseArgs({ args: [...rest], allowPositionals: true, options: {} });
      return runDemo(positionals[0] ?? 'prompts', out);
    }
    case 'cuda': {
      const setup = cudaSetup();
      for (const line of describeCudaSetup(setup)) out(line);
      return setup.supported && setup.missingProviders.length === 0 && setup.missingSystem.length === 0 ? 0 : 1;
    }
    default:
      process.stderr.write(`chainscope: unknown command '${command}'\n\n${USAGE}\n`);
      return 2;
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
    const known = error instanceof UsageError || (error instanceof Error && !(error instanceof TypeError) && !(error instanceof RangeError));
    const text = error instanceof Error ? (known ? error.message : (error.stack ?? error.message)) : String(error);
    process.stderr.write(`chainscope: ${text}\n`);
    process.exitCode = 2;
  },
);
