// Worker thread that owns the onnxruntime session: inference blocks this thread, never the extension host's.
import { parentPort } from 'node:worker_threads';
import { LocalModel } from './generator';
import type { FromWorker, ToWorker } from './protocol';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

let model: LocalModel | undefined;
const cancelled = new Set<number>();
// Requests run one at a time: a request's n chains already share the whole machine.
let queue: Promise<void> = Promise.resolve();

const send = (message: FromWorker): void => port.postMessage(message);
const fail = (error: unknown, id?: number): void => {
  const name = error instanceof Error ? error.name : 'Error';
  send({ type: 'error', ...(id !== undefined ? { id } : {}), name, message: error instanceof Error ? error.message : String(error) });
};

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'load':
      queue = queue.then(async () => {
        try {
          await model?.dispose();
          model = await LocalModel.load(message.directory, message.options);
          send({ type: 'loaded', info: model.info });
        } catch (error) {
          model = undefined;
          fail(error);
        }
      });
      break;
    case 'cancel':
      // Checked between decoding steps: a cancel takes effect within one step.
      cancelled.add(message.id);
      break;
    case 'generate':
      queue = queue.then(async () => {
        const { id } = message;
        try {
          if (!model) throw new Error('no model is loaded');
          if (cancelled.has(id)) {
            send({ type: 'done', id, cancelled: true, prefillMs: 0, reusedTokens: 0 });
            return;
          }
          const promptIds = model.promptIds(message.prompt);
          const outcome = await model.generate(
            { ...message.request, promptIds },
            () => cancelled.has(id),
            (chain) => send({ type: 'chain', id, chain }),
          );
          send({ type: 'done', id, ...outcome });
        } catch (error) {
          fail(error, id);
        } finally {
          cancelled.delete(id);
        }
      });
      break;
    case 'dispose':
      queue = queue.then(async () => {
        await model?.dispose();
        model = undefined;
        send({ type: 'disposed' });
      });
      break;
  }
});
