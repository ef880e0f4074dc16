import * as vscode from 'vscode';
import type { Backend } from '../core/backend';
import { ENDPOINTS } from '../core/backends/endpoints';
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

  resolve(document: PromptDocument | undefined): string {
    return this.override ?? document?.model ?? readSettings().defaultModel;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Builds backends for runs and keeps them, so a local model session is reused across runs. */
export class Backends implements vscode.Disposable {
  private readonly cache = new Map<string, Promise<Backend>>();

  constructor(
    private readonly keys: ApiKeys,
    private readonly log: Logger,
  ) {}

  async forModel(reference: string): Promise<Backend> {
    const settings = readSettings();
    const { provider } = core().parseModelReference(reference);
    const name = provider ?? 'openai';
    const apiKey = ENDPOINTS[name]?.keyVariable ? await this.keys.get(name) : undefined;
    const cacheKey = JSON.stringify({ reference, settings: { ...settings, prices: undefined }, keyed: apiKey !== undefined });
    let backend = this.cache.get(cacheKey);
    if (!backend && name === 'local') {
      // One local model session at a time: switching models releases the previous session and its worker.
      for (const [key, other] of [...this.cache]) {
        if (!key.includes('"reference":"local:')) continue;
        this.cache.delete(key);
        void other.then((previous) => previous.dispose?.(), () => undefined);
      }
    }
    if (!backend) {
      backend = core().createBackend({
        modelReference: reference,
        env: { ...process.env, AZURE_OPENAI_API_VERSION: settings.azure.apiVersion, ...(settings.azure.endpoint ? { AZURE_OPENAI_ENDPOINT: settings.azure.endpoint } : {}) },
        ...(apiKey ? { apiKey } : {}),
        ...(settings.baseUrls[name] ? { baseUrl: settings.baseUrls[name] } : {}),
        timeoutMs: settings.requestTimeoutMs,
        maxAttempts: settings.maxAttempts,
        concurrency: settings.concurrency,
        local: { ...settings.local, ...(settings.local.threads === 0 ? { threads: undefined } : {}) },
        log: (message) => this.log.info('backend', message),
      });
      this.cache.set(cacheKey, backend);
      // A failed construction (no key, unknown backend) must not be cached.
      backend.catch(() => this.cache.delete(cacheKey));
    }
    return backend;
  }

  /** Drops every backend, e.g. when settings or keys change; local sessions are disposed. */
  async reset(): Promise<void> {
    const backends = [...this.cache.values()];
    this.cache.clear();
    for (const backend of backends) {
      try {
        await (await backend).dispose?.();
      } catch {
        // it never started
      }
    }
  }

  dispose(): void {
    void this.reset();
  }
}
