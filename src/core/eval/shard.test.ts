import * as assert from 'node:assert/strict';
import { casesHash, mergeShards, MergeError, parseShard, shardCases, type ShardFile } from './shard';
import { RUN_FILE_SCHEMA, type CompletionRecord, type EndRecord, type ParsedRunFile, type RunHeader } from './store';

const allCases = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

function completion(variant: string, caseId: string, sample: number): CompletionRecord {
  return {
    type: 'completion',
    variant,
    caseId,
    sample,
    text: `${caseId}${sample}`,
    usage: { promptTokens: 3, completionTokens: 2 },
    latencyMs: 10,
    finishReason: 'stop',
  };
}

/** Shard i/n of a run of two variants over `cases`, two chains a cell, every chain there. */
function shardRun(index: number, count: number, overrides: Partial<RunHeader> = {}, cases = allCases): ParsedRunFile {
  const { cases: mine, info } = shardCases(cases, { index, count });
  const header: RunHeader = {
    type: 'run',
    schema: RUN_FILE_SCHEMA,
    id: `run-${index}`,
    promptFile: '/p/x.prompt',
    promptHash: 'hash1',
    backend: { id: 'openai', model: 'gpt-4o-mini', input: 'chat' },
    sampling: { temperature: 0.7 },
    seed: 42,
    samples: 2,
    variants: ['v1', 'v2'],
    cases: mine,
    startedAt: `2026-01-0${index}T00:00:00.000Z`,
    shard: info,
    ...overrides,
  };
  const completions = header.variants.flatMap((variant) =>
    mine.flatMap((caseId) => [0, 1].map((sample) => completion(variant, caseId, sample))),
  );
  const end: EndRecord = { type: 'end', status: 'completed', at: `2026-01-0${index}T01:00:00.000Z` };
  return { header, completions, end, skipped: [] };
}

const files = (...runs: ParsedRunFile[]): ShardFile[] => runs.map((run) => ({ file: `shard-${run.header.shard?.index}.jsonl`, run }));

function refuses(shards: ShardFile[], pattern: RegExp, allowPartial = false): void {
  assert.throws(
    () => mergeShards(shards, { id: 'merged', allowPartial }),
    (error: unknown) => error instanceof MergeError && pattern.test(error.message),
  );
}

describe('shards', () => {
  it('parses i/n and names what is wrong with a bad one', () => {
    assert.deepEqual(parseShard('2/5'), { index: 2, count: 5 });
    assert.deepEqual(parseShard(' 1 / 1 '), { index: 1, count: 1 });
    assert.throws(() => parseShard('0/3'), /i must be a whole number from 1 to n \(3\), got '0\/3'/);
    assert.throws(() => parseShard('4/3'), /i must be a whole number from 1 to n \(3\)/);
    assert.throws(() => parseShard('1/0'), /n must be a whole number from 1/);
    for (const bad of ['1.5/3', '2', '-1/3', 'a/b', '1/3/4', ''])
      assert.throws(() => parseShard(bad), /must be i\/n \(shard i of n, e\.g\. 2\/5\)/, bad);
  });

  it('puts every case in exactly one shard, in order, contiguous and balanced, whatever N and n', () => {
    for (let total = 0; total <= 23; total++) {
      const cases = Array.from({ length: total }, (_, i) => `case-${i}`);
      for (let count = 1; count <= 9; count++) {
        const parts = Array.from({ length: count }, (_, i) => shardCases(cases, { index: i + 1, count }).cases);
        // Concatenated in shard order they are the run's cases: each once, none lost, order kept.
        assert.deepEqual(parts.flat(), cases, `${total} cases in ${count} shards`);
        const sizes = parts.map((part) => part.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes.join(',')}`);
      }
    }
  });

  it('splits the same way every time: the split depends on the cases and i/n only', () => {
    const first = shardCases(allCases, { index: 2, count: 3 });
    const again = shardCases([...allCases], { index: 2, count: 3 });
    assert.deepEqual(first, again);
    assert.deepEqual(first.cases, ['c', 'd']);
    assert.deepEqual(first.info, { index: 2, count: 3, totalCases: 7, casesHash: casesHash(allCases) });
    assert.notEqual(casesHash(allCases), casesHash([...allCases].reverse()));
  });

  it('merges the shards, given in any order, into the run of all cases, every chain once', () => {
    const { run, missing } = mergeShards(files(shardRun(3, 3), shardRun(1, 3), shardRun(2, 3)), { id: 'merged' });
    assert.deepEqual(missing, []);
    assert.deepEqual(run.header.cases, allCases);
    assert.equal(run.header.id, 'merged');
    assert.equal(run.header.shard, undefined);
    assert.deepEqual(run.header.merged, {
      count: 3,
      shards: [
        { index: 1, id: 'run-1' },
        { index: 2, id: 'run-2' },
        { index: 3, id: 'run-3' },
      ],
    });
    assert.equal(run.header.startedAt, '2026-01-01T00:00:00.000Z');
    assert.equal(run.completions.length, 2 * 7 * 2);
    assert.equal(new Set(run.completions.map((c) => `${c.variant}/${c.caseId}/${c.sample}`)).size, 28);
    assert.deepEqual(run.end, { type: 'end', status: 'completed', at: '2026-01-03T01:00:00.000Z' });
  });

  it('gives the merged run the worst end of its shards, and none while a shard has none', () => {
    const failed = shardRun(2, 3);
    failed.end = { type: 'end', status: 'failed', error: 'quota', at: '2026-01-02T01:00:00.000Z' };
    const cancelled = shardRun(3, 3);
    cancelled.end = { type: 'end', status: 'cancelled', at: '2026-01-03T01:00:00.000Z' };
    assert.equal(mergeShards(files(shardRun(1, 3), failed, cancelled), { id: 'm' }).run.end?.status, 'failed');
    assert.equal(mergeShards(files(shardRun(1, 3), shardRun(2, 3), cancelled), { id: 'm' }).run.end?.status, 'cancelled');
    const running = shardRun(3, 3);
    delete running.end;
    assert.equal(mergeShards(files(shardRun(1, 3), shardRun(2, 3), running), { id: 'm' }).run.end, undefined);
  });

  it('refuses shards of different prompts, naming both files', () => {
    refuses(files(shardRun(1, 2), shardRun(2, 2, { promptHash: 'hash2' })), /shard-2\.jsonl is of another prompt than shard-1\.jsonl/);
  });

  for (const [setting, overrides] of [
    ['model', { backend: { id: 'openai', model: 'gpt-4o', input: 'chat' } }],
    ['samples', { samples: 3 }],
    ['seed', { seed: 43 }],
    ['variants', { variants: ['v1'] }],
    ['sampling', { sampling: { temperature: 0.9 } }],
    ['stop', { stop: { rule: 'window', window: 3, min: 3, batch: 1, confidence: 0.95 } }],
  ] as [string, Partial<RunHeader>][]) {
    it(`refuses shards run with a different ${setting}, saying which setting`, () => {
      refuses(files(shardRun(1, 2), shardRun(2, 2, overrides)), new RegExp(`were run with different settings: ${setting} `));
    });
  }

  it('refuses shards of different case selections', () => {
    const other = shardRun(2, 2, {}, ['a', 'b', 'c', 'd', 'e', 'f']);
    refuses(files(shardRun(1, 2), other), /different settings: cases \{"hash":"\w+","total":6\} vs \{"hash":"\w+","total":7\}/);
  });

  it('refuses shards of different splits, a shard given twice, and a run file that is no shard', () => {
    refuses(
      files(shardRun(1, 2), shardRun(2, 3)),
      /shard-2\.jsonl is shard 2\/3 but shard-1\.jsonl is shard 1\/2: shards of different splits/,
    );
    refuses(files(shardRun(1, 2), shardRun(2, 2), shardRun(2, 2)), /shard 2\/2 is given twice \(shard-2\.jsonl and shard-2\.jsonl\)/);
    const whole = shardRun(1, 1);
    delete whole.header.shard;
    refuses([{ file: 'whole.jsonl', run: whole }], /whole\.jsonl is not a shard/);
  });

  it('refuses missing shards, naming them; merges the given ones with allowPartial and says which are missing', () => {
    refuses(files(shardRun(1, 4), shardRun(3, 4)), /missing shards 2\/4, 4\/4: give every shard's run file, or --allow-partial/);
    refuses(files(shardRun(2, 3), shardRun(3, 3)), /missing shard 1\/3:/);
    const { run, missing } = mergeShards(files(shardRun(3, 4), shardRun(1, 4)), { id: 'm', allowPartial: true });
    assert.deepEqual(missing, [2, 4]);
    assert.deepEqual(run.header.merged?.missing, [2, 4]);
    assert.deepEqual(run.header.cases, ['a', 'd', 'e']);
  });

  it('refuses shards whose cases are not the run they claim (an edited header)', () => {
    const edited = shardRun(2, 2);
    edited.header.cases = ['d', 'e', 'f', 'x'];
    refuses(files(shardRun(1, 2), edited), /the shards' cases \(7\) are not the run's 7/);
  });
});
