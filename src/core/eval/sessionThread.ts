import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import type { BackendOptions } from '../backends';
import type { Diagnostic } from '../prompt/types';
import type { CellSummary } from './cellSummary';
import type { LiveSession, LiveSessionEvent, SessionPoll } from './liveSession';
import type { CellResult, Prices } from './results';
import { RunSetupError, type RunSelection } from './run';
import { InvalidPromptError, type SessionOutcome } from './session';

/** What a session in a worker thread is built from: plain data, as it crosses to the thread. */
export interface SessionThreadOptions extends RunSelection {
  promptFile: string;
  /** The prompt file's text as evaluated (the editor's buffer may be unsaved); the thread parses it again. */
  promptText: string;
  /** The backend, built in the thread (`env` is the thread's copy of the process's). */
  backend: Omit<BackendOptions, 'log' | 'env'>;
  /** The judge's backend when it is another model (`scorer: {type: judge, model}`), built in the thread too. */
  judge?: Omit<BackendOptions, 'log' | 'env'>;
  runsDirectory: string;
  resume?: string;
  force?: boolean;
  priceTable?: Record<string, Prices>;
  /** The run's budget, over the prompt file's `budget`. */
  maxCost?: number;
  trusted: boolean;
  /**
   * Linux: the thread runs at a lower priority (nice), so on a busy machine the editor's own threads
   * (typing, the window's messages) come before scoring chains. Elsewhere a nice value is per process.
   */
  background?: boolean;
}

/** The nice value of a background session thread: the lowest priority, so the editor's threads always come first; the run still gets the idle CPU. */
export const BACKGROUND_NICE = 19;

/** Messages to the session's thread. */
export type ToSessionThread =
  | { type: 'poll'; id: number; view: boolean }
  | { type: 'allCells'; id: number }
  | { type: 'cell'; id: number; variant: string; caseId: string }
  | { type: 'abort' }
  /** The first message to a session process (a thread gets its options as workerData). */
  | { type: 'start'; options: SessionThreadOptions };

/** An error as it crosses threads: enough to rebuild the setup errors presenters tell apart. */
export interface ThreadError {
  name: string;
  message: string;
  forcible?: boolean;
  file?: string;
  diagnostics?: Diagnostic[];
}

/** Messages from the session's thread. */
export type FromSessionThread =
  | { type: 'event'; event: LiveSessionEvent }
  | { type: 'reply'; id: number; value: SessionPoll | CellSummary[] | CellResult | undefined }
  | { type: 'done'; outcome: SessionOutcome }
  | { type: 'failed'; error: ThreadError };

export function toThreadError(error: unknown): ThreadError {
  if (error instanceof InvalidPromptError)
    return { name: error.name, message: error.message, file: error.file, diagnostics: error.diagnostics };
  if (error instanceof RunSetupError) return { name: error.name, message: error.message, forcible: error.forcible };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

function fromThreadError(error: ThreadError): Error {
  if (error.name === 'InvalidPromptError' && error.file !== undefined) return new InvalidPromptError(error.file, error.diagnostics ?? []);
  if (error.name === 'RunSetupError') return new RunSetupError(error.message, error.forcible);
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}

/** The thread's script: the TypeScript source through tsx's require hook when running from source (mocha), else the bundle in dist/. */
function sessionWorkerScript(): { file: string; execArgv?: string[] } {
  // A variable, so that esbuild leaves the dev-only hook out of the bundles.
  const tsxHook = 'tsx/cjs';
  if (__filename.endsWith('.ts'))
    return { file: path.join(__dirname, 'sessionWorker.ts'), execArgv: ['--require', require.resolve(tsxHook)] };
  const file = path.join(__dirname, 'sessionWorker.js');
  if (!existsSync(file)) throw new Error(`The evaluation thread is not built (looked for ${file}): run 'npm run build'.`);
  return { file };
}

/** What ThreadedSession needs of where the session runs: a worker thread, or a process of its own. */
interface SessionChannel {
  postMessage(message: ToSessionThread): void;
  on(event: 'message', listener: (message: FromSessionThread) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  /** `detail`: what a process wrote to stderr before it ended, if anything. */
  on(event: 'exit', listener: (code: number | null, detail?: string) => void): void;
  terminate(): void;
  /** The process the session runs in (the caller's own for a thread). */
  readonly pid: number;
}

function threadChannel(script: { file: string; execArgv?: string[] }, workerData: SessionThreadOptions): SessionChannel {
  const worker = new Worker(script.file, { workerData, ...(script.execArgv ? { execArgv: script.execArgv } : {}) });
  return {
    postMessage: (message) => worker.postMessage(message),
    on: ((event: string, listener: (...args: unknown[]) => void) => void worker.on(event, listener)) as SessionChannel['on'],
    terminate: () => void worker.terminate(),
    pid: process.pid,
  };
}

/**
 * On Linux, a background session runs in a process of its own, in a session of its own (`detached`),
 * which lowers its scheduling group's priority (/proc/self/autogroup): with autogroup scheduling, the
 * default on desktop Linux, a thread's nice value ranks it only within its own process group's share,
 * so a nice thread still takes an equal share of the CPU against the editor's window (measured: typing
 * waited behind it). The process ends with its parent's channel.
 */
function processChannel(script: { file: string; execArgv?: string[] }, options: SessionThreadOptions): SessionChannel {
  const child = fork(script.file, [], {
    detached: true,
    serialization: 'advanced',
    execArgv: script.execArgv ?? [],
    // In an Electron host (desktop VS Code), its binary runs as Node only when asked to.
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  child.send({ type: 'start', options } satisfies ToSessionThread);
  return {
    postMessage: (message) => {
      if (child.connected) child.send(message);
    },
    on: ((event: string, listener: (...args: unknown[]) => void) => {
      if (event === 'exit') child.on('exit', (code: number | null) => listener(code, stderr.trim() || undefined));
      else child.on(event, listener);
    }) as SessionChannel['on'],
    terminate: () => {
      if (child.exitCode === null) child.kill();
    },
    get pid() {
      return child.pid ?? process.pid;
    },
  };
}

/**
 * An evaluation session in a worker thread of its own (on Linux, in the background, a process of its own:
 * see processChannel): requests, streaming, scoring, the run file and the live summary all happen there, so the caller's event loop (the extension host's, which also serves
 * typing) only relays what its views ask for. Cancelling keeps every finished chain, as on one thread.
 */
export class ThreadedSession implements LiveSession {
  private readonly worker: SessionChannel;
  private readonly pending = new Map<number, (value: FromSessionThread & { type: 'reply' }) => void>();
  private readonly outcome: Promise<SessionOutcome>;
  private nextId = 1;
  private ended = false;

  constructor(options: SessionThreadOptions, onEvent: (event: LiveSessionEvent) => void, signal?: AbortSignal) {
    const script = sessionWorkerScript();
    // Plain data by contract, but settings objects from an editor's API may be proxies a thread cannot take.
    const workerData = JSON.parse(JSON.stringify(options)) as SessionThreadOptions;
    this.worker =
      options.background && process.platform === 'linux' ? processChannel(script, workerData) : threadChannel(script, workerData);
    this.outcome = new Promise<SessionOutcome>((resolve, reject) => {
      const end = (): void => {
        this.ended = true;
        signal?.removeEventListener('abort', abort);
        // Views still waiting get nothing more: the run's result (or its failure) is what counts now.
        for (const settle of this.pending.values()) settle({ type: 'reply', id: 0, value: undefined });
        this.pending.clear();
      };
      const abort = (): void => this.post({ type: 'abort' });
      if (signal?.aborted) abort();
      else signal?.addEventListener('abort', abort, { once: true });
      this.worker.on('message', (message: FromSessionThread) => {
        switch (message.type) {
          case 'event':
            onEvent(message.event);
            break;
          case 'reply':
            this.pending.get(message.id)?.(message);
            this.pending.delete(message.id);
            break;
          case 'done':
            end();
            resolve(message.outcome);
            this.worker.terminate();
            break;
          case 'failed':
            end();
            reject(fromThreadError(message.error));
            this.worker.terminate();
            break;
        }
      });
      this.worker.on('error', (error) => {
        if (this.ended) return;
        end();
        reject(new Error(`the evaluation thread crashed: ${error.message}`));
      });
      this.worker.on('exit', (code, detail) => {
        if (this.ended) return;
        end();
        reject(new Error(`the evaluation thread stopped (exit code ${code}) before the run ended${detail ? `: ${detail}` : ''}`));
      });
    });
    // A rejection is the caller's to handle through run(); nobody awaiting yet must not crash the process.
    this.outcome.catch(() => undefined);
  }

  run(): Promise<SessionOutcome> {
    return this.outcome;
  }

  /** The process the session runs in: its own on Linux (see processChannel), else the caller's. */
  get pid(): number {
    return this.worker.pid;
  }

  async poll(view: boolean): Promise<SessionPoll> {
    const value = await this.request<SessionPoll>((id) => ({ type: 'poll', id, view }));
    return value ?? { records: 0, failures: [], cells: [] };
  }

  async allCells(): Promise<CellSummary[]> {
    return (await this.request<CellSummary[]>((id) => ({ type: 'allCells', id }))) ?? [];
  }

  cell(variant: string, caseId: string): Promise<CellResult | undefined> {
    return this.request<CellResult>((id) => ({ type: 'cell', id, variant, caseId }));
  }

  private request<T>(message: (id: number) => ToSessionThread): Promise<T | undefined> {
    if (this.ended) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise<T | undefined>((resolve) => {
      this.pending.set(id, (reply) => resolve(reply.value as T | undefined));
      this.post(message(id));
    });
  }

  private post(message: ToSessionThread): void {
    if (!this.ended) this.worker.postMessage(message);
  }
}
