// The built CLI (dist/cli.js) as a child process, for tests that run it end to end against the fake server.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'dist/cli.js');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `chainscope <args>` from the repository root with the fake server's key (`env` adds to or replaces
 * it); `onStderr` sees stderr as it grows, with the child (a test may kill it mid-run).
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; onStderr?: (text: string, child: ChildProcess) => void } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: root,
      env: { ...process.env, OPENAI_API_KEY: 'test-key', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
