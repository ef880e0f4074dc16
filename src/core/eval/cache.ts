import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Completion, CompletionRequest } from '../backend';

export interface CachedCompletion {
  key: string;
  text: string;
  /** The reasoning sent apart from the text (`reasoning_content`), when there was any. */
  reasoning?: string;
  finishReason: Completion['finishReason'];
  usage: Completion['usage'];
}

/** What identifies the server side of a completion: which backend, where, which model. */
export interface CacheTarget {
  id: string;
  endpoint: string;
  model: string;
}

/**
 * The cache key of one sample: backend, endpoint, model, every sampling parameter, the rendered prompt
 * and the sample index — so repeated samples of a case stay independent draws, a re-run replays them,
 * and two servers serving a model of the same name never share answers.
 */
export function completionKey(target: CacheTarget, request: Omit<CompletionRequest, 'n' | 'firstSample'>, sample: number): string {
  const { messages, text, ...sampling } = request;
  // Every sampling parameter, present or added later, enters the key, in a stable order.
  const parameters = Object.entries(sampling)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const material = JSON.stringify({
    backend: target.id,
    endpoint: target.endpoint,
    model: target.model,
    messages: messages ?? null,
    text: text ?? null,
    parameters,
    sample,
  });
  return createHash('sha256').update(material).digest('hex');
}

/** A JSON Lines file of finished completions, read once and appended to. Failed completions are never cached. */
export class CompletionCache {
  private entries: Map<string, CachedCompletion> | undefined;

  constructor(readonly file: string) {}

  private load(): Map<string, CachedCompletion> {
    if (this.entries) return this.entries;
    this.entries = new Map();
    if (fs.existsSync(this.file)) {
      for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const entry = JSON.parse(line) as CachedCompletion;
          this.entries.set(entry.key, entry);
        } catch {
          // A torn last line after a crash: skip it, the sample is simply not cached.
        }
      }
    }
    return this.entries;
  }

  get(key: string): CachedCompletion | undefined {
    return this.load().get(key);
  }

  put(entry: CachedCompletion): void {
    const entries = this.load();
    if (entries.has(entry.key)) return;
    entries.set(entry.key, entry);
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
  }

  get size(): number {
    return this.load().size;
  }
}
