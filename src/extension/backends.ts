import * as vscode from 'vscode';
import type { Backend } from '../core/backend';
import type { BackendOptions } from '../core/backends';
import { ENDPOINTS } from '../core/backends/endpoints';
import { formatModelReference, parseModelReference, type ModelReference } from '../core/backends/reference';
import { core } from './core';
import type { PromptDocument } from '../core/prompt/types';
import { readSettings } from './config';
import type { Logger } from './log';
import type { ApiKeys } from './secrets';

/**
 * Which model a run uses: the one picked in the status bar for this session, else the prompt's
 * `model`, else the `chainscope.defaultModel` setting.
 */
export class ModelChoice implements vscode.Disposable {
  private override: string | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento) {
    this.override = state.get<string>('chainscope.modelOverride');
  }

  get pinned(): string | undefined {
    return this.override;
  }

  async pin(model: string | undefined): Promise<void> {
    this.override = model;
    await this.state.update('chainscope.modelOverride', model);
    this.changed.fire();
  }

  /** `chainscope.defaultModel` changed: whoever shows the model shows it anew. */
  defaultChanged(): void {
    this.changed.fire();
  }

  resolve(document: PromptDocument | undefined): string {
    return this.override ?? document?.model ?? readSettings().defaultModel;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

interface CachedBackend {
  reference: ModelReference;
  backend: Promise<Backend>;
}

/**
 * Builds backends for runs and keeps them, so a local model session is reused across runs. Remote
 * backends and the local session are dropped apart, each when what it was built from changes.
 */
export class Backends implements vscode.Disposable {
  /** Remote backends by `provider:model`. */
  private readonly remote = new Map<string, CachedBackend>();
  /** One local model session at a time: switching models releases the previous session and its worker. */
  private local: CachedBackend | undefined;

  constructor(
    private readonly keys: ApiKeys,
    private readonly log: Logger,
  ) {}

  forModel(text: string): Promise<Backend> {
    const reference = parseModelReference(text);
    if (reference.isLocal) {
      if (this.local?.reference.model === reference.model) return this.local.backend;
      void this.dropLocal();
      const entry: CachedBackend = { reference, backend: this.create(text, reference) };
      this.local = entry;
      // A failed construction (no such model) must not be cached.
      entry.backend.catch(() => {
        if (this.local === entry) this.local = undefined;
      });
      return entry.backend;
    }
    const key = formatModelReference(reference);
    const cached = this.remote.get(key);
    if (cached) return cached.backend;
    const entry: CachedBackend = { reference, backend: this.create(text, reference) };
    this.remote.set(key, entry);
    // A failed construction (no key, unknown backend) must not be cached.
    entry.backend.catch(() => {
      if (this.remote.get(key) === entry) this.remote.delete(key);
    });
    return entry.backend;
  }

  private async create(text: string, reference: ModelReference): Promise<Backend> {
    return core().createBackend({
      ...(await this.options(text, reference)),
      env: process.env,
      log: (message) => this.log.info('backend', message),
    });
  }

  /** What a backend for this model is built from, as plain data (a session in a worker thread builds its own). */
  async options(text: string, reference = parseModelReference(text)): Promise<Omit<BackendOptions, 'env' | 'log'>> {
    const settings = readSettings();
    const name = reference.provider ?? 'openai';
    const apiKey = ENDPOINTS[name]?.keyVariable ? await this.keys.get(name) : undefined;
    return {
      modelReference: text,
      ...(apiKey ? { apiKey } : {}),
      ...(settings.baseUrls[name] ? { baseUrl: settings.baseUrls[name] } : {}),
      azure: { ...(settings.azure.endpoint ? { endpoint: settings.azure.endpoint } : {}), apiVersion: settings.azure.apiVersion },
      timeoutMs: settings.requestTimeoutMs,
      maxAttempts: settings.maxAttempts,
      concurrency: settings.concurrency,
      local: { ...settings.local, ...(settings.local.threads === 0 ? { threads: undefined } : {}) },
    };
  }

  /** Drops the remote backends, or only those of one provider (its API key changed). */
  async dropRemote(provider?: string): Promise<void> {
    const dropped: CachedBackend[] = [];
    for (const [key, entry] of [...this.remote]) {
      if (provider !== undefined && (entry.reference.provider ?? 'openai') !== provider) continue;
      this.remote.delete(key);
      dropped.push(entry);
    }
    await Promise.all(dropped.map(release));
  }

  /** Disposes the local model session: its worker, ONNX session and cache. */
  async dropLocal(): Promise<void> {
    const entry = this.local;
    this.local = undefined;
    if (entry) await release(entry);
  }

  /** Drops every backend. */
  async reset(): Promise<void> {
    await Promise.all([this.dropRemote(), this.dropLocal()]);
  }

  dispose(): void {
    void this.reset();
  }
}

/** Disposes a dropped backend once built; one still starting is disposed when it is ready. */
async function release(entry: CachedBackend): Promise<void> {
  try {
    await (await entry.backend).dispose?.();
  } catch {
    // it never started
  }
}
