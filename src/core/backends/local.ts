import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BackendError, type Backend, type Completion, type CompletionOptions, type CompletionRequest } from '../backend';
import type { ExecutionProviderSetting, LoadedInfo } from '../local/generator';
import { ModelFolderError, readModelFolder, type LocalPrecision, type ModelFolder } from '../local/modelFolder';
import type { FromWorker, ToWorker } from '../local/protocol';
import { modelPrompt } from '../local/tokenizer';

export interface LocalBackendOptions {
  /** A model folder (Optimum layout). */
  directory: string;
  executionProvider?: ExecutionProviderSetting;
  /** Which export to load (model.onnx, model_quantized.onnx, model_q4.onnx); default `auto`. */
  precision?: LocalPrecision;
  deviceId?: number;
  threads?: number;
  /** Bytes of prefilled prompts the worker keeps for reuse (default 64 MiB); false keeps none (benchmarks compare). */
  prefixCache?: false | number;
  log?: (level: 'info' | 'warn', message: string) => void;
}

/** The repository (from source) or the installed extension (from the bundle in dist/). */
function packageRoot(): string {
  let directory = __dirname;
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(directory, 'package.json'))) return directory;
    directory = path.dirname(directory);
  }
  return path.resolve(__dirname, '..');
}

/** Folders where `local:<name>` looks for a model, after the prompt's own folder. */
export function builtinModelsDirectory(): string {
  return path.join(packageRoot(), 'testFixtures', 'models');
}

/** Resolves `local:<name or path>` to a model folder: a path (absolute, or relative to the prompt), else a shipped model. */
export function resolveLocalModel(reference: string, promptDirectory?: string, extraDirectories: readonly string[] = []): string {
  const candidates = path.isAbsolute(reference)
    ? [reference]
    : [
        ...(promptDirectory ? [path.resolve(promptDirectory, reference)] : []),
        ...extraDirectories.map((directory) => path.join(directory, reference)),
        path.join(builtinModelsDirectory(), reference),
      ];
  const found = candidates.find((candidate) => fs.existsSync(path.join(candidate, 'config.json')));
  if (!found) throw new ModelFolderError(`Local model '${reference}' not found (looked in ${candidates.join(', ')}).`);
  return found;
}

function workerFile(): string {
  const candidates = [path.join(__dirname, 'localWorker.js'), path.join(packageRoot(), 'dist', 'localWorker.js')];
  const found = candidates.find((candidate) => fs.existsSync(candidate));
  if (!found) throw new Error(`The local model worker is not built (looked for ${candidates.join(', ')}): run 'npm run build'.`);
  return found;
}

interface Pending {
  push: (message: FromWorker) => void;
}

/**
 * A local ONNX model behind the engine's backend interface. The session lives in a worker thread
 * (inference never blocks the caller's thread), is loaded once and reused across runs, and is
 * released by `dispose()`.
 */
export class LocalBackend implements Backend {
  readonly id = 'local';
  readonly model: string;
  readonly input: 'chat' | 'text';
  readonly maxConcurrency = 1;
  readonly folder: ModelFolder;
  readonly endpoint: string;
  private worker: Worker | undefined;
  private loading: Promise<LoadedInfo> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private loadWaiters: { resolve: (info: LoadedInfo) => void; reject: (error: Error) => void } | undefined;
  private disposed: (() => void) | undefined;

  constructor(private readonly options: LocalBackendOptions) {
    // Read the folder now: a broken folder is reported when the run is set up, not mid-run.
    this.folder = readModelFolder(options.directory, options.precision ?? 'auto');
    this.model = this.folder.name;
    this.endpoint = options.directory;
    this.input = this.folder.config.input;
  }

  /** Starts the worker and loads the session (once). */
  load(): Promise<LoadedInfo> {
    if (this.loading) return this.loading;
    const worker = new Worker(workerFile());
    this.worker = worker;
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => {
      if (code !== 0) this.failAll(new Error(`the model worker exited with code ${code}`));
      this.worker = undefined;
      this.disposed?.();
    });
    this.loading = new Promise<LoadedInfo>((resolve, reject) => {
      this.loadWaiters = { resolve, reject };
    });
    this.post({
      type: 'load',
      directory: this.options.directory,
      options: {
        executionProvider: this.options.executionProvider ?? 'auto',
        precision: this.options.precision ?? 'auto',
        ...(this.options.deviceId !== undefined ? { deviceId: this.options.deviceId } : {}),
        ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}),
        ...(this.options.prefixCache !== undefined ? { prefixCache: this.options.prefixCache } : {}),
      },
    });
    this.loading.then(
      (info) => {
        this.options.log?.(
          'info',
          `local: ${info.name} loaded in ${Math.round(info.loadMs)} ms on ${info.provider.toUpperCase()}, ${info.precision} (${path.basename(this.folder.onnxFile)})${info.cacheReads === 'present' ? ' (its graph gives no separate new cache positions: each step reads the whole present.* cache, slower with many chains)' : ''}`,
        );
        if (info.fallbackReason) this.options.log?.('warn', `local: CUDA unavailable, using the CPU (${info.fallbackReason})`);
      },
      () => undefined,
    );
    return this.loading;
  }

  private post(message: ToWorker): void {
    this.worker?.postMessage(message);
  }

  private receive(message: FromWorker): void {
    if (message.type === 'loaded') {
      this.loadWaiters?.resolve(message.info);
      return;
    }
    if (message.type === 'error' && message.id === undefined) {
      const error = new ModelFolderError(message.message);
      this.loadWaiters?.reject(error);
      this.loading = undefined;
      void this.worker?.terminate();
      return;
    }
    if (message.type === 'disposed') return;
    this.pending.get(message.id ?? -1)?.push(message);
  }

  private failAll(error: Error): void {
    this.loadWaiters?.reject(error);
    for (const [id, pending] of this.pending) pending.push({ type: 'error', id, name: error.name, message: error.message });
  }

  async *complete(request: CompletionRequest, options: CompletionOptions): AsyncIterable<Completion> {
    try {
      await this.load();
    } catch (error) {
      // A model that cannot load fails every request the same way: the run stops at once.
      throw new BackendError(
        `the local model ${this.model} could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
        undefined,
        false,
        undefined,
        true,
      );
    }
    const id = this.nextId++;
    const queue: FromWorker[] = [];
    let wake: (() => void) | undefined;
    this.pending.set(id, {
      push: (message) => {
        queue.push(message);
        wake?.();
      },
    });
    const cancel = (): void => this.post({ type: 'cancel', id });
    options.signal.addEventListener('abort', cancel, { once: true });
    const generation = this.folder.generation;
    this.post({
      type: 'generate',
      id,
      prompt: modelPrompt(this.input, request),
      request: {
        n: request.n,
        firstSample: request.firstSample,
        maxNewTokens: request.maxTokens ?? generation.maxNewTokens ?? 128,
        sampling: {
          temperature: request.temperature ?? generation.temperature ?? 1,
          topK: request.topK ?? generation.topK ?? 0,
          topP: request.topP ?? generation.topP ?? 1,
        },
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...(request.seeds !== undefined ? { seeds: request.seeds } : {}),
        stop: request.stop ?? [],
      },
    });
    try {
      for (;;) {
        if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        const message = queue.shift();
        if (!message) continue;
        if (message.type === 'chain') {
          const chain = message.chain;
          yield {
            sample: chain.sample,
            text: chain.text,
            finishReason: chain.finishReason,
            // As OpenAI reports prompt tokens served from its prompt cache: here, from the prefix cache.
            usage: { promptTokens: chain.promptTokens, completionTokens: chain.completionTokens, cachedTokens: chain.cachedTokens },
            latencyMs: chain.latencyMs,
          };
        } else if (message.type === 'done') {
          return;
        } else if (message.type === 'error') {
          throw new ModelFolderError(message.message);
        }
      }
    } finally {
      options.signal.removeEventListener('abort', cancel);
      this.pending.delete(id);
    }
  }

  async dispose(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => (this.disposed = resolve));
    this.post({ type: 'dispose' });
    // Give the session a moment to release, then end the thread either way.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    await worker.terminate();
    this.worker = undefined;
    this.loading = undefined;
  }
}
