import { hashText, type AdjustmentRecord, type EndRecord, type ParsedRunFile, type RunHeader } from './store';

/**
 * Shards: one run split across n processes or machines (`--shard i/n`), joined again by `chainscope merge`.
 *
 * The split is by case, contiguous in the run's case order: shard i of n runs every selected variant on
 * cases [⌊(i−1)·N/n⌋, ⌊i·N/n⌋) of the N selected cases. So every cell (variant × case) is in exactly one
 * shard with all its chains, each shard file is an ordinary run file (a rectangle of variants × its cases
 * that resume, the editor and comparisons read as they are), the split depends on nothing but the prompt
 * and the selection (the same on every machine and after restarts), shard sizes differ by at most one case,
 * and the shards' cases in shard order are the run's cases in order, so a merge rebuilds the unsharded run.
 */
export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** What a shard's run header records of its split, so a merge can check the shards belong together. */
export interface ShardInfo extends Shard {
  /** Cases of the whole (unsharded) run. */
  totalCases: number;
  /** Hash of the whole run's case ids in order: shards of different selections never merge. */
  casesHash: string;
}

/** What a merged run file's header records of the shards it was made of. */
export interface MergedInfo {
  count: number;
  /** The shards merged, by index, with their run ids. */
  shards: { index: number; id: string }[];
  /** Shards that were not given (a partial merge, `--allow-partial`): their cases are not in the run. */
  missing?: number[];
}

/** Parses "i/n" (1 ≤ i ≤ n, whole numbers); the error names what is wrong, for the caller to prefix with the flag. */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match) throw new Error(`must be i/n (shard i of n, e.g. 2/5), got '${text}'`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (!Number.isSafeInteger(count) || count < 1 || count > 100_000)
    throw new Error(`n must be a whole number from 1 to 100000, got '${text}'`);
  if (!Number.isSafeInteger(index) || index < 1 || index > count)
    throw new Error(`i must be a whole number from 1 to n (${count}), got '${text}'`);
  return { index, count };
}

/** The 0-based range [start, end) of a shard's cases among `total`. */
export function shardRange(total: number, shard: Shard): { start: number; end: number } {
  return { start: Math.floor(((shard.index - 1) * total) / shard.count), end: Math.floor((shard.index * total) / shard.count) };
}

/** A shard's cases among the run's (in order), with what its header records of the split. */
export function shardCases(cases: readonly string[], shard: Shard): { cases: string[]; info: ShardInfo } {
  const { start, end } = shardRange(cases.length, shard);
  return { cases: cases.slice(start, end), info: { ...shard, totalCases: cases.length, casesHash: casesHash(cases) } };
}

export function casesHash(cases: readonly string[]): string {
  return hashText(cases.join('\u0000'));
}

/** Run files that cannot be merged: the message says which files and why. */
export class MergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeError';
  }
}

export interface ShardFile {
  /** As the user named it, for messages. */
  file: string;
  run: ParsedRunFile;
}

export interface MergeOutcome {
  /** The merged run: an ordinary (unsharded) run of the merged shards' cases, in the run's order. */
  run: ParsedRunFile;
  /** Shard indices not given (only with allowPartial). */
  missing: number[];
}

/** The settings every shard must share: anything that changes the chains or how they are scored. */
function settingsOf(header: RunHeader): Record<string, unknown> {
  return {
    model: `${header.backend.id}:${header.backend.model}`,
    input: header.backend.input,
    samples: header.samples,
    seed: header.seed,
    variants: header.variants,
    sampling: header.sampling,
    stop: header.stop,
    cases: header.shard && { total: header.shard.totalCases, hash: header.shard.casesHash },
  };
}

const stable = (value: unknown): string => JSON.stringify(value, (_key, item: unknown) => sortKeys(item)) ?? 'none';

function sortKeys(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
}

/** The worst of the shards' ends: one failed shard makes a failed run, one cancelled a cancelled one. */
function mergedEnd(ends: (EndRecord | undefined)[]): EndRecord | undefined {
  if (ends.some((end) => end === undefined)) return undefined; // a shard still running or killed: the run has no end yet
  const rank = { completed: 0, cancelled: 1, budget: 2, failed: 3 } as const;
  const present = ends as EndRecord[];
  const worst = present.reduce((a, b) => (rank[b.status] > rank[a.status] ? b : a));
  const at = present.map((end) => end.at).sort()[present.length - 1] ?? worst.at;
  // What the whole run cost is what its shards cost together.
  const spent = present.some((end) => end.spent !== undefined) ? present.reduce((sum, end) => sum + (end.spent ?? 0), 0) : undefined;
  return {
    type: 'end',
    status: worst.status,
    ...(worst.error !== undefined ? { error: worst.error } : {}),
    ...(spent !== undefined ? { spent } : {}),
    at,
  };
}

/**
 * Joins shard run files of one run into the unsharded run: refuses files of different prompts or settings,
 * non-shard files, shards of different splits, a shard given twice, and missing shards (unless allowPartial).
 */
export function mergeShards(files: readonly ShardFile[], options: { id: string; allowPartial?: boolean }): MergeOutcome {
  if (files.length === 0) throw new MergeError('no run files to merge');
  for (const { file, run } of files)
    if (!run.header.shard)
      throw new MergeError(`${file} is not a shard (its run was not started with --shard i/n): only shards of one run are merged`);
  const first = files[0] as ShardFile;
  const firstHeader = first.run.header;
  for (const { file, run } of files.slice(1)) {
    const header = run.header;
    if (header.promptHash !== firstHeader.promptHash)
      throw new MergeError(
        `${file} is of another prompt than ${first.file} (prompt hash ${header.promptHash} vs ${firstHeader.promptHash}${header.promptFile !== firstHeader.promptFile ? `; ${header.promptFile} vs ${firstHeader.promptFile}` : ''}): shards must run the same prompt file, unchanged`,
      );
    const mine = settingsOf(header);
    const theirs = settingsOf(firstHeader);
    const differing = Object.keys(mine).filter((key) => stable(mine[key]) !== stable(theirs[key]));
    if (differing.length > 0)
      throw new MergeError(
        `${file} and ${first.file} were run with different settings: ${differing.map((key) => `${key} ${stable(mine[key])} vs ${stable(theirs[key])}`).join('; ')}`,
      );
    if (header.shard?.count !== firstHeader.shard?.count)
      throw new MergeError(
        `${file} is shard ${header.shard?.index}/${header.shard?.count} but ${first.file} is shard ${firstHeader.shard?.index}/${firstHeader.shard?.count}: shards of different splits do not merge`,
      );
  }
  const count = firstHeader.shard?.count ?? 1;
  const byIndex = new Map<number, ShardFile>();
  for (const shardFile of files) {
    const index = shardFile.run.header.shard?.index ?? 0;
    const twin = byIndex.get(index);
    if (twin)
      throw new MergeError(
        `shard ${index}/${count} is given twice (${twin.file} and ${shardFile.file}): give each shard's run file once (a resumed shard continues its own file)`,
      );
    byIndex.set(index, shardFile);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((index) => !byIndex.has(index));
  if (missing.length > 0 && !options.allowPartial)
    throw new MergeError(
      `missing shard${missing.length === 1 ? '' : 's'} ${missing.map((index) => `${index}/${count}`).join(', ')}: give every shard's run file, or --allow-partial to merge the ${byIndex.size} given (their cases only)`,
    );
  const ordered = [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, shardFile]) => shardFile);
  const cases = ordered.flatMap(({ run }) => run.header.cases);
  if (missing.length === 0 && (cases.length !== firstHeader.shard?.totalCases || casesHash(cases) !== firstHeader.shard.casesHash))
    throw new MergeError(
      `the shards' cases (${cases.length}) are not the run's ${firstHeader.shard?.totalCases}: a shard file was edited or its run started differently`,
    );

  const adjustments: AdjustmentRecord[] = [];
  const seen = new Set<string>();
  for (const { run } of ordered)
    for (const adjustment of run.adjustments ?? []) {
      const key = `${adjustment.parameter} ${adjustment.action}`;
      if (!seen.has(key)) {
        seen.add(key);
        adjustments.push(adjustment);
      }
    }
  const { shard: _shard, ...base } = firstHeader;
  const merged: MergedInfo = {
    count,
    shards: ordered.map(({ run }) => ({ index: run.header.shard?.index ?? 0, id: run.header.id })),
    ...(missing.length > 0 ? { missing } : {}),
  };
  const header: RunHeader = {
    ...base,
    id: options.id,
    cases,
    startedAt: ordered.map(({ run }) => run.header.startedAt).sort()[0] ?? firstHeader.startedAt,
    merged,
  };
  const end = mergedEnd(ordered.map(({ run }) => run.end));
  return {
    run: {
      header,
      completions: ordered.flatMap(({ run }) => run.completions),
      ...(adjustments.length > 0 ? { adjustments } : {}),
      ...(end ? { end } : {}),
      skipped: [],
    },
    missing,
  };
}
