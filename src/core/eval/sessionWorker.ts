// The worker thread (or, on Linux, the process) of a ThreadedSession (sessionThread.ts): builds the backend
// and the session from plain data, runs it, and answers the presenter's polls between batches of records.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { Backend } from '../backend';
import { createBackend } from '../backends';
import { loadPrompt, nodeFileSystem } from '../prompt/load';
import { splitResult } from './cellSummary';
import { SessionMonitor } from './liveSession';
import { EvaluationSession } from './session';
import { BACKGROUND_NICE, toThreadError, type FromSessionThread, type SessionThreadOptions, type ToSessionThread } from './sessionThread';

interface Port {
  postMessage(message: FromSessionThread): void;
  on(event: 'message', listener: (message: ToSessionThread) => void): void;
}

// A thread talks through parentPort; a process through its IPC channel, and ends with it.
const port: Port | undefined =
  parentPort ??
  (process.send
    ? {
        postMessage: (message) => process.send?.(message),
        on: (_event, listener) => void process.on('message', listener),
      }
    : undefined);
if (!port) throw new Error('sessionWorker.ts must run in a worker thread or a forked process');
if (!parentPort) process.on('disconnect', () => process.exit(0));
const send = (message: FromSessionThread): void => port.postMessage(message);

function lowerPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    // A thread: its own nice value (setpriority on the calling thread), so only this thread yields.
    // A process: its threads too, and its scheduling group's weight, which is what ranks it against
    // other processes under autogroup scheduling (see processChannel).
    os.setPriority(BACKGROUND_NICE);
    if (!parentPort) fs.writeFileSync('/proc/self/autogroup', String(BACKGROUND_NICE));
  } catch {
    // not allowed or not there: the run goes on at the normal priority
  }
}

const controller = new AbortController();
const monitor = new SessionMonitor((event) => send({ type: 'event', event }));
let session: EvaluationSession | undefined;

port.on('message', (message: ToSessionThread) => {
  switch (message.type) {
    case 'start':
      if (!started) {
        started = true;
        lowerPriority();
        void main(message.options);
      }
      break;
    case 'abort':
      controller.abort();
      break;
    case 'poll':
      send({ type: 'reply', id: message.id, value: session ? monitor.poll(message.view) : { records: 0, failures: [], cells: [] } });
      break;
    case 'allCells':
      send({ type: 'reply', id: message.id, value: monitor.cellsWithChains() });
      break;
    case 'cell':
      send({ type: 'reply', id: message.id, value: session?.cell(message.variant, message.caseId) });
      break;
  }
});

async function main(options: SessionThreadOptions): Promise<void> {
  let backend: Backend | undefined;
  let judge: Backend | undefined;
  try {
    const loaded = await loadPrompt(options.promptFile, options.promptText, nodeFileSystem);
    backend = await createBackend({
      ...options.backend,
      env: process.env,
      log: (message) => send({ type: 'event', event: { type: 'log', message } }),
    });
    if (options.judge)
      judge = await createBackend({
        ...options.judge,
        env: process.env,
        log: (message) => send({ type: 'event', event: { type: 'log', message } }),
      });
    session = new EvaluationSession({
      loaded,
      promptText: options.promptText,
      backend,
      ...(judge ? { judge } : {}),
      runsDirectory: options.runsDirectory,
      ...(options.variants ? { variants: options.variants } : {}),
      ...(options.cases ? { cases: options.cases } : {}),
      ...(options.samples ? { samples: options.samples } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.resume ? { resume: options.resume } : {}),
      ...(options.force ? { force: true } : {}),
      ...(options.priceTable ? { priceTable: options.priceTable } : {}),
      ...(options.maxCost !== undefined ? { maxCost: options.maxCost } : {}),
      trusted: options.trusted,
      signal: controller.signal,
      onEvent: monitor.onEvent,
    });
    monitor.watch(session);
    const outcome = await session.run();
    // The editor's panel needs the cells without their chains: summarized here, at background priority,
    // rather than on the extension host's thread as the run ends.
    send({ type: 'done', outcome: { ...outcome, split: splitResult(outcome.result) } });
  } catch (error) {
    send({ type: 'failed', error: toThreadError(error) });
  } finally {
    await backend?.dispose?.();
    await judge?.dispose?.();
  }
}

let started = false;
if (parentPort) {
  started = true;
  const options = workerData as SessionThreadOptions;
  if (options.background) lowerPriority();
  void main(options);
}
