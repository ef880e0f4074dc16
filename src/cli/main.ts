import { parseArgs } from 'node:util';
import { runCheck } from './check';
import { runDemo } from './demo';

const USAGE = `Usage: chainscope <command> [options]

Commands:
  check <files or folders>   Check .prompt files; prints file:line:col: severity: message; exit 1 on errors.
  demo [folder]              Show each prompt's variants with their token counts (default folder: prompts).

Options:
  -h, --help                 Show this help.`;

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
    case 'demo': {
      const { positionals } = parseArgs({ args: [...rest], allowPositionals: true, options: {} });
      return runDemo(positionals[0] ?? 'prompts', out);
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
    process.stderr.write(`chainscope: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 2;
  },
);
