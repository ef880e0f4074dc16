// The fake server in a process of its own (main.ts prints its base URL as its first line), so that its
// work is not counted as the process under measurement's.
import { spawn, type SpawnOptions } from 'node:child_process';
import * as readline from 'node:readline';

export interface ServerProcess {
  url: string;
  stop: () => void;
}

/** Starts `node <args>` (the server's entry and its arguments) and resolves once it listens. */
export async function spawnFakeServer(args: string[], options: Pick<SpawnOptions, 'cwd' | 'env'> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => resolve(line.trim()));
    child.once('exit', (code) => reject(new Error(`the fake server exited with code ${String(code)} before it listened`)));
  });
  return { url, stop: () => child.kill() };
}
