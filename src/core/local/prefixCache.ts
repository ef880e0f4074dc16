// Prompts already prefilled, kept with their key/value cache so that a later prompt sharing their start
// prefills only the rest: few-shot examples shared across cases, and in a tree search a child state's
// prompt, which is its parent's prompt plus one thought. Bounded by bytes, least recently used out first:
// a tree keeps beam × concurrency parent prompts live, far more than a fixed handful of entries.

/** Bytes of prompt cache kept by default: on a 0.5 B model (~12 KiB a position) some 5,000 prompt positions. */
export const DEFAULT_PREFIX_CACHE_BYTES = 64 * 1024 * 1024;

export interface PrefixEntry {
  ids: readonly number[];
  /** One row per cache input: [1, kvHeads, ids.length, headDim]. */
  cache: Readonly<Record<string, Float32Array>>;
  /** The next-token logits after the last id. */
  lastLogits: Float32Array;
}

export interface PrefixMatch {
  entry: PrefixEntry;
  /** Leading ids the prompt shares with the entry (at most both lengths). */
  shared: number;
}

interface Kept {
  entry: PrefixEntry;
  bytes: number;
  used: number;
}

/** The memory an entry holds: its cache arrays and logits (the ids are small beside them). */
export function entryBytes(entry: PrefixEntry): number {
  let bytes = entry.lastLogits.byteLength + 8 * entry.ids.length;
  for (const array of Object.values(entry.cache)) bytes += array.byteLength;
  return bytes;
}

export class PrefixCache {
  private readonly kept: Kept[] = [];
  private clock = 0;
  private total = 0;

  /** `budgetBytes` 0 keeps nothing (the cache is off). */
  constructor(readonly budgetBytes: number) {
    if (!(budgetBytes >= 0)) throw new RangeError(`prefix cache budget must be a non-negative number of bytes, got ${budgetBytes}`);
  }

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.kept.length;
  }

  /** The entry sharing the longest start with `ids` (none if none shares a token); a match counts as a use. */
  longest(ids: readonly number[]): PrefixMatch | undefined {
    let best: Kept | undefined;
    let bestShared = 0;
    for (const kept of this.kept) {
      const other = kept.entry.ids;
      const limit = Math.min(other.length, ids.length);
      // An entry cannot beat the best unless it is longer than it: skip the comparison.
      if (limit <= bestShared) continue;
      let shared = 0;
      while (shared < limit && other[shared] === ids[shared]) shared++;
      if (shared > bestShared) {
        best = kept;
        bestShared = shared;
      }
    }
    if (!best) return undefined;
    best.used = ++this.clock;
    return { entry: best.entry, shared: bestShared };
  }

  /** Keeps `entry`, evicting the least recently used ones until the budget holds; one larger than the budget is not kept. */
  remember(entry: PrefixEntry): void {
    const bytes = entryBytes(entry);
    if (bytes > this.budgetBytes) return;
    this.kept.push({ entry, bytes, used: ++this.clock });
    this.total += bytes;
    while (this.total > this.budgetBytes) {
      let oldest = 0;
      for (let i = 1; i < this.kept.length; i++) if ((this.kept[i] as Kept).used < (this.kept[oldest] as Kept).used) oldest = i;
      const [evicted] = this.kept.splice(oldest, 1);
      this.total -= evicted?.bytes ?? 0;
    }
  }

  /** The kept entries' ids, least recently used first (for tests and diagnostics). */
  keptIds(): (readonly number[])[] {
    return [...this.kept].sort((a, b) => a.used - b.used).map((kept) => kept.entry.ids);
  }

  clear(): void {
    this.kept.length = 0;
    this.total = 0;
  }
}
