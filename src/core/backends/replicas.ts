import {
  BackendError,
  type Adjustment,
  type Backend,
  type Completion,
  type CompletionOptions,
  type CompletionRequest,
  type EndpointStats,
} from '../backend';
import type { Sampling } from '../prompt/types';
import { abortableSleep } from './openai';

export interface ReplicaOptions {
  /** Attempts per request over all replicas (default 4; at least one per replica). */
  maxAttempts?: number;
  /** How long a failing replica gets no requests (default 30 s). */
  cooldownMs?: number;
  /** Failed attempts in a row after which a replica answering with errors (5xx, 429) is taken out; unreachable ones go at once. */
  failuresToCooldown?: number;
  /** Base of the backoff when every replica failed the same request. */
  backoffMs?: number;
  maxBackoffMs?: number;
  log?: (level: 'info' | 'warn', message: string) => void;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
}

interface Replica {
  backend: Backend;
  inFlight: number;
  /** Failed attempts in a row. */
  failures: number;
  outUntil: number;
  cooldowns: number;
}

/**
 * Several servers of one model (vLLM or Ollama replicas) as one backend. Each request goes to the replica with
 * the fewest requests in flight (ties in turn); an attempt that fails with a retryable error is sent again to
 * another replica, and a replica that cannot be reached, times out or keeps failing is left out for a cool-down.
 * The replicas do not retry themselves (built with one attempt each), so a dead one costs one attempt, not four.
 */
export class ReplicaBackend implements Backend {
  readonly id: string;
  readonly model: string;
  readonly input: 'chat' | 'text';
  readonly maxConcurrency: number;
  /** Every replica, so that the cache and the run header tell a run on these servers from one on others. */
  readonly endpoint: string;
  private readonly replicas: Replica[];
  private turn = 0;

  constructor(
    backends: Backend[],
    private readonly options: ReplicaOptions = {},
  ) {
    const first = backends[0];
    if (!first) throw new Error('No replicas: give at least one base URL.');
    this.id = first.id;
    this.model = first.model;
    this.input = first.input;
    this.endpoint = backends.map((backend) => backend.endpoint).join(', ');
    // Each replica serves its own share: concurrency adds up.
    this.maxConcurrency = backends.reduce((sum, backend) => sum + (backend.maxConcurrency ?? 4), 0);
    this.replicas = backends.map((backend) => ({ backend, inFlight: 0, failures: 0, outUntil: 0, cooldowns: 0 }));
  }

  adjustments(sampling: Sampling): Adjustment[] {
    // Lessons are learned per replica; one learned anywhere is reported once.
    const seen = new Set<string>();
    const all: Adjustment[] = [];
    for (const { backend } of this.replicas) {
      for (const adjustment of backend.adjustments?.(sampling) ?? []) {
        const key = `${adjustment.parameter} ${adjustment.action}`;
        if (seen.has(key)) continue;
        seen.add(key);
        all.push(adjustment);
      }
    }
    return all;
  }

  endpointStats(): EndpointStats[] {
    return this.replicas.flatMap((replica) =>
      (replica.backend.endpointStats?.() ?? []).map((stats) => ({ ...stats, cooldowns: replica.cooldowns })),
    );
  }

  /** The replica for the next attempt: in service, fewest in flight, ties in turn; those this request failed on last. */
  private pick(tried: ReadonlySet<Replica>): Replica {
    const now = this.now();
    const count = this.replicas.length;
    let best: { replica: Replica; rank: number[] } | undefined;
    for (let offset = 0; offset < count; offset++) {
      const replica = this.replicas[(this.turn + offset) % count] as Replica;
      // Out of service, then already tried by this request, then load; a replica out of service is only used
      // when all are (the one back soonest).
      const out = replica.outUntil > now ? 1 : 0;
      const rank = [out, out ? replica.outUntil : 0, tried.has(replica) ? 1 : 0, replica.inFlight];
      if (!best || compare(rank, best.rank) < 0) best = { replica, rank };
    }
    this.turn = (this.turn + 1) % count;
    return (best as { replica: Replica }).replica;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async *complete(request: CompletionRequest, options: CompletionOptions): AsyncIterable<Completion> {
    const count = this.replicas.length;
    const maxAttempts = Math.max(this.options.maxAttempts ?? 4, count);
    const sleep = this.options.sleep ?? abortableSleep;
    const delivered = new Set<number>();
    const tried = new Set<Replica>();
    for (let attempt = 1; ; attempt++) {
      const replica = this.pick(tried);
      replica.inFlight++;
      try {
        for await (const completion of replica.backend.complete(request, options)) {
          if (delivered.has(completion.sample)) continue;
          delivered.add(completion.sample);
          yield completion;
        }
        replica.failures = 0;
        return;
      } catch (cause) {
        if (options.signal.aborted) throw cause;
        if (!(cause instanceof BackendError) || !cause.retryable) throw cause;
        replica.failures++;
        tried.add(replica);
        // Unreachable or silent (no HTTP status) is out at once; errors from a live server after a few in a row.
        if (cause.status === undefined || replica.failures >= (this.options.failuresToCooldown ?? 2)) this.coolDown(replica, cause);
        if (attempt >= maxAttempts)
          throw new BackendError(`${cause.message} (after ${attempt} attempts on ${count} replicas)`, cause.status);
        this.options.log?.('info', `${replica.backend.endpoint}: ${cause.message.replace(/\.$/, '')}; trying another replica`);
        // Every replica failed this request: wait before going round again.
        if (tried.size >= count) {
          const round = Math.floor(attempt / count);
          const backoff = Math.min(this.options.maxBackoffMs ?? 30_000, (this.options.backoffMs ?? 500) * 2 ** Math.max(0, round - 1));
          const wait = Math.min(this.options.maxBackoffMs ?? 30_000, Math.max(cause.retryAfterMs ?? 0, Math.random() * backoff));
          tried.clear();
          await sleep(wait, options.signal);
        }
      } finally {
        replica.inFlight--;
      }
    }
  }

  private coolDown(replica: Replica, cause: BackendError): void {
    const now = this.now();
    if (replica.outUntil > now) return;
    const cooldownMs = Math.max(this.options.cooldownMs ?? 30_000, cause.retryAfterMs ?? 0);
    replica.outUntil = now + cooldownMs;
    replica.cooldowns++;
    replica.failures = 0;
    this.options.log?.(
      'warn',
      `${replica.backend.endpoint}: ${cause.message.replace(/\.$/, '')}; no requests to this replica for ${Math.round(cooldownMs / 1000)} s, the others take them.`,
    );
  }

  async dispose(): Promise<void> {
    for (const replica of this.replicas) await replica.backend.dispose?.();
  }
}

function compare(a: number[], b: number[]): number {
  for (let index = 0; index < a.length; index++) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Base URLs from a setting or flag: several separated by commas, trimmed, empty entries dropped. */
export function baseUrlList(text: string | readonly string[] | undefined): string[] {
  if (text === undefined) return [];
  const parts = typeof text === 'string' ? [text] : text;
  return parts
    .flatMap((part) => part.split(','))
    .map((part) => part.trim())
    .filter(Boolean);
}

/**
 * What the endpoints did between two snapshots of `endpointStats()` (one run, when a backend serves several prompt
 * files in one process), rounded to whole milliseconds.
 */
export function endpointStatsSince(before: readonly EndpointStats[] | undefined, after: readonly EndpointStats[]): EndpointStats[] {
  return after.map((now, index) => {
    const then = before?.find((entry, position) => entry.endpoint === now.endpoint && position === index);
    const succeeded = (entry: EndpointStats | undefined): number => (entry ? entry.requests - entry.failures : 0);
    const latency = (entry: EndpointStats | undefined): number => (entry?.meanLatencyMs ?? 0) * succeeded(entry);
    const answered = succeeded(now) - succeeded(then);
    const cooldowns = (now.cooldowns ?? 0) - (then?.cooldowns ?? 0);
    return {
      endpoint: now.endpoint,
      requests: now.requests - (then?.requests ?? 0),
      failures: now.failures - (then?.failures ?? 0),
      ...(answered > 0 ? { meanLatencyMs: Math.round((latency(now) - latency(then)) / answered) } : {}),
      pacedMs: Math.round(now.pacedMs - (then?.pacedMs ?? 0)),
      ...(now.cooldowns !== undefined ? { cooldowns } : {}),
    };
  });
}
