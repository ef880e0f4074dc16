// Worker thread that runs a prompt's custom scorer: the caller can terminate it at the deadline even
// when the scorer's code never yields (a synchronous busy loop), which an async timeout cannot stop.
import { parentPort, workerData } from 'node:worker_threads';
import { customResult, type ScorerFromWorker, type ScorerToWorker } from './score';

const port = parentPort;
if (!port) throw new Error('scorerWorker.ts must run in a worker thread');
const { file, name, threshold } = workerData as { file: string; name: string; threshold: number };
const send = (message: ScorerFromWorker): void => port.postMessage(message);
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

let scorer: ((...args: unknown[]) => unknown) | undefined;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's scorer is a CommonJS file loaded at run time
  const loaded = require(file) as unknown;
  const exports = loaded as { score?: unknown; default?: unknown } | null | undefined;
  const candidate = typeof loaded === 'function' ? loaded : typeof exports?.score === 'function' ? exports.score : exports?.default;
  if (typeof candidate === 'function') {
    scorer = candidate as (...args: unknown[]) => unknown;
    send({ type: 'ready' });
  } else {
    send({ type: 'failed', message: `Custom scorer ${name} exports no function (export 'score' or a default function).` });
  }
} catch (error) {
  send({ type: 'failed', message: `Custom scorer ${name} failed to load: ${message(error)}` });
}

port.on('message', ({ id, answer, expected, context }: ScorerToWorker) => {
  const run = scorer;
  if (!run) return;
  void Promise.resolve()
    .then(() => run(answer, expected, context))
    .then(
      (returned) => customResult(returned, threshold),
      (error: unknown) => ({ pass: false, score: 0, reason: `custom scorer threw: ${message(error)}` }),
    )
    .then((result) => send({ type: 'scored', id, result }));
});
