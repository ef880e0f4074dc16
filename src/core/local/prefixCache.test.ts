import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Completion } from '../backend';
import { LocalBackend } from '../backends/local';
import { LocalModel, type GeneratedChain, type GenerateRequest } from './generator';
import { entryBytes, PrefixCache, type PrefixEntry } from './prefixCache';

const root = path.resolve(__dirname, '../../..');
const MODEL = path.join(root, 'testFixtures/models/arith-tiny');
const reference = JSON.parse(fs.readFileSync(path.join(root, 'testFixtures/models/arith-tiny.reference.json'), 'utf8')) as {
  prompt: string;
  prompt_ids: number[];
};
const greedy = { temperature: 0, topK: 0, topP: 1 };

/** An entry of `length` ids starting with `first`, holding `length` floats of cache. */
function fakeEntry(first: number, length: number): PrefixEntry {
  const ids = Array.from({ length }, (_, i) => (i === 0 ? first : i));
  return { ids, cache: { key: new Float32Array(length) }, lastLogits: new Float32Array(4) };
}

describe('prefix cache (LRU by bytes)', () => {
  it('finds the entry sharing the longest start', () => {
    const cache = new PrefixCache(1 << 20);
    cache.remember({ ids: [1, 2, 3], cache: {}, lastLogits: new Float32Array(1) });
    cache.remember({ ids: [1, 2, 3, 4, 5], cache: {}, lastLogits: new Float32Array(1) });
    cache.remember({ ids: [9, 2], cache: {}, lastLogits: new Float32Array(1) });
    assert.deepEqual(cache.longest([1, 2, 3, 4, 7])?.entry.ids, [1, 2, 3, 4, 5]);
    assert.equal(cache.longest([1, 2, 3, 4, 7])?.shared, 4);
    assert.equal(cache.longest([1, 2])?.shared, 2);
    assert.equal(cache.longest([5, 5]), undefined);
  });

  it('evicts the least recently used entries once the byte budget is passed', () => {
    const size = entryBytes(fakeEntry(100, 10));
    const cache = new PrefixCache(3 * size);
    cache.remember(fakeEntry(100, 10));
    cache.remember(fakeEntry(101, 10));
    cache.remember(fakeEntry(102, 10));
    assert.equal(cache.bytes, 3 * size);
    // Using the oldest makes the second the oldest: it is the one to go.
    assert.equal(cache.longest([100, 1, 2])?.shared, 3);
    cache.remember(fakeEntry(103, 10));
    assert.deepEqual(
      cache.keptIds().map((ids) => ids[0]),
      [102, 100, 103],
    );
    assert.equal(cache.bytes, 3 * size);
    // A bigger entry pushes out as many as it needs.
    cache.remember(fakeEntry(104, 20));
    assert.deepEqual(
      cache.keptIds().map((ids) => ids[0]),
      [103, 104],
    );
    assert.ok(cache.bytes <= 3 * size);
  });

  it('keeps nothing with a zero budget, nor an entry larger than the budget', () => {
    const off = new PrefixCache(0);
    off.remember(fakeEntry(1, 4));
    assert.equal(off.size, 0);
    assert.equal(off.longest([1, 1, 2, 3]), undefined);
    const small = new PrefixCache(entryBytes(fakeEntry(1, 4)));
    small.remember(fakeEntry(2, 8));
    assert.equal(small.size, 0);
    small.remember(fakeEntry(1, 4));
    assert.equal(small.size, 1);
  });
});

describe('prefix reuse on the embedded model (onnxruntime-node, arith-tiny)', function () {
  this.timeout(60_000);
  const loaded: LocalModel[] = [];
  const load = async (prefixCache?: false | number): Promise<LocalModel> => {
    const model = await LocalModel.load(MODEL, { executionProvider: 'cpu', ...(prefixCache !== undefined ? { prefixCache } : {}) });
    loaded.push(model);
    return model;
  };
  afterEach(() => Promise.all(loaded.splice(0).map((model) => model.dispose())));

  const run = async (model: LocalModel, promptIds: number[], overrides: Partial<GenerateRequest> = {}): Promise<GeneratedChain[]> => {
    const chains: GeneratedChain[] = [];
    const request: GenerateRequest = { promptIds, n: 1, firstSample: 0, maxNewTokens: 24, sampling: greedy, stop: [], ...overrides };
    await model.generate(
      request,
      () => false,
      (chain) => chains.push(chain),
    );
    return chains.sort((a, b) => a.sample - b.sample);
  };

  it("prefills only a child prompt's new tokens, with the same greedy tokens as without the cache", async () => {
    const cached = await load();
    const uncached = await load(false);
    const parent = reference.prompt_ids;
    const [parentChain] = await run(cached, parent);
    assert.equal(parentChain?.cachedTokens, 0, 'nothing is cached before the first prompt');
    // A tree search's child state: the parent's prompt plus the first thought it produced.
    const child = [...parent, ...(parentChain?.tokens.slice(0, 6) ?? [])];
    assert.equal(child.length, parent.length + 6);
    const withCache = await run(cached, child, { n: 3 });
    const withoutCache = await run(uncached, child, { n: 3 });
    assert.deepEqual(
      withCache.map((chain) => chain.cachedTokens),
      [parent.length, parent.length, parent.length],
    );
    assert.deepEqual(
      withoutCache.map((chain) => chain.cachedTokens),
      [0, 0, 0],
    );
    assert.ok((withCache[0]?.tokens.length ?? 0) > 0);
    assert.deepEqual(
      withCache.map((chain) => chain.tokens),
      withoutCache.map((chain) => chain.tokens),
    );
    // The greedy continuation of the child is the parent's, after the thought it already holds.
    assert.deepEqual(withCache[0]?.tokens.slice(0, 4), parentChain?.tokens.slice(6, 10));
    // The same prompt again is served whole, the last position's logits included.
    const [again] = await run(cached, child);
    assert.equal(again?.cachedTokens, child.length);
    assert.deepEqual(again?.tokens, withoutCache[0]?.tokens);
    assert.equal((await run(uncached, child))[0]?.cachedTokens, 0);
    assert.equal(uncached.prefixCacheUse().entries, 0);
  });

  it('evicts the least recently used prompt once its byte budget is full', async () => {
    // Three prompts of one length that share no first token: each entry is the same size.
    const prompt = (first: number): number[] => [first, ...reference.prompt_ids.slice(1)];
    const [a, b, c] = [prompt(reference.prompt_ids[0] as number), prompt(84), prompt(252)] as [number[], number[], number[]];
    const probe = await load();
    await run(probe, a, { maxNewTokens: 1 });
    const entry = probe.prefixCacheUse().bytes;
    assert.ok(entry > 0);
    const model = await load(Math.floor(2.5 * entry));
    await run(model, a, { maxNewTokens: 1 });
    await run(model, b, { maxNewTokens: 1 });
    assert.equal((await run(model, a, { maxNewTokens: 1 }))[0]?.cachedTokens, a.length, 'a is kept, and now the most recent');
    await run(model, c, { maxNewTokens: 1 });
    assert.deepEqual(model.prefixCacheUse(), { entries: 2, bytes: 2 * entry, budgetBytes: Math.floor(2.5 * entry) });
    assert.equal((await run(model, a, { maxNewTokens: 1 }))[0]?.cachedTokens, a.length);
    assert.equal((await run(model, c, { maxNewTokens: 1 }))[0]?.cachedTokens, c.length);
    assert.equal((await run(model, b, { maxNewTokens: 1 }))[0]?.cachedTokens, 0, 'b, the least recently used, was evicted');
  });
});

describe('prefix reuse through the LocalBackend worker', function () {
  this.timeout(60_000);
  before(() => execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root }));
  const started: LocalBackend[] = [];
  afterEach(() => Promise.all(started.splice(0).map((backend) => backend.dispose())));

  const complete = async (backend: LocalBackend, text: string): Promise<Completion[]> => {
    const chains: Completion[] = [];
    for await (const chain of backend.complete(
      { text, n: 2, firstSample: 0, temperature: 0.8, seed: 3, maxTokens: 8, stop: ['. '] },
      { signal: new AbortController().signal },
    ))
      chains.push(chain);
    return chains;
  };

  it('reports the prompt tokens served from the prefix cache as usage.cachedTokens, and none with the cache off', async () => {
    const parent = reference.prompt;
    const child = `${parent} 12 - 8 = 4.`;
    for (const prefixCache of [undefined, false] as const) {
      const backend = new LocalBackend({ directory: MODEL, executionProvider: 'cpu', ...(prefixCache === false ? { prefixCache } : {}) });
      started.push(backend);
      const first = await complete(backend, parent);
      const second = await complete(backend, child);
      const parentTokens = first[0]?.usage.promptTokens ?? 0;
      assert.ok(parentTokens > 0 && (second[0]?.usage.promptTokens ?? 0) > parentTokens);
      assert.deepEqual(
        first.map((chain) => chain.usage.cachedTokens),
        [0, 0],
      );
      const expected = prefixCache === false ? 0 : parentTokens;
      assert.deepEqual(
        second.map((chain) => chain.usage.cachedTokens),
        [expected, expected],
      );
    }
  });
});
