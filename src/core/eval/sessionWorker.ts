// The worker thread of a ThreadedSession (sessionThread.ts): builds the backend and the session from plain
// data, runs it, and answers the presenter's polls between batches of records.
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { Backend } from '../backend';
import { createBackend } from '../backends';
import { loadPrompt, nodeFileSystem } from '../prompt/load';
import { splitResult } from './cellSummary';
import { SessionMonitor } from './liveSession';
import { EvaluationSession } from './session';
import { BACKGROUND_NICE, toThreadError, type FromSessionThread, type SessionThreadOptions, type ToSessionThread } from './sessionThread';

const port = parentPort;
if (!port) throw new Error('sessionWorker.ts must run in a worker thread');
const options = workerData as SessionThreadOptions;
const send = (message: FromSessionThread): void => port.postMessage(message);

// On Linux a thread's nice value is its own (setpriority on the calling thread), so only this thread yields.
if (options.background && process.platform === 'linux') {
  try {
    os.setPriority(BACKGROUND_NICE);
  } catch {
    // not allowed here: the run goes on at the normal priority
  }
}

const controller = new AbortController();
const monitor = new SessionMonitor((event) => send({ type: 'event', event }));
let session: EvaluationSession | undefined;

port.on('message', (message: ToSessionThread) => {
  switch (message.type) {
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

async function main(): Promise<void> {
  let backend: Backend | undefined;
  try {
    const loaded = await loadPrompt(options.promptFile, options.promptText, nodeFileSystem);
    backend = await createBackend({
      ...options.backend,
      env: process.env,
      log: (message) => send({ type: 'event', event: { type: 'log', message } }),
    });
    session = new EvaluationSession({
      loaded,
      promptText: options.promptText,
      backend,
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
  }
}

void main();
