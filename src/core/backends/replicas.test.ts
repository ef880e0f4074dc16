import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeServer, type FakeServer, type FakeServerOptions } from '../../../testFixtures/openai-server/server';
import type { Backend, EndpointStats } from '../backend';
import { runEvaluation, type ProgressEvent } from '../eval/run';
import { loadPrompt, nodeFileSystem, type LoadedPrompt } from '../prompt/load';
import { baseUrlList, createBackend, endpointStatsSince, ReplicaBackend } from '.';

// 12 cases × 2 variants: 24 requests of 2 chains each.
const CASES = Array.from({ length: 12 }, (_, index) => `  - {name: c${index}, input: "${index} + 1", expected: ${index + 1}}`).join('\n');
const PROMPT = `---
name: sums
samples: 2
config: {temperature: 0.7, seed: 5, max_tokens: 20}
variants: [zero-shot, zero-shot-cot]
cases:
${CASES}
extract: number
scorer: numeric
---
{{q}}
`;

describe('several endpoints and pacing (real SDK, fake servers on 127.0.0.1)', function () {
  this.timeout(30_000);
  let folder: string;
  let loaded: LoadedPrompt;
  let servers: FakeServer[] = [];
  const logs: string[] = [];

  const start = async (...options: FakeServerOptions[]): Promise<FakeServer[]> => {
    servers = await Promise.all(
      options.map((extra) => startFakeServer({ answers: [{ match: '+', answers: ['The answer is 2.'] }], chunkDelayMs: 3, ...extra })),
    );
    return servers;
  };
  const backendOn = (urls: string[], extra: Parameters<typeof createBackend>[0] extends infer T ? Partial<T> : never = {}) =>
    createBackend({
      backend: 'vllm',
      model: 'fake-model',
      baseUrl: urls.join(','),
      env: {},
      timeoutMs: 2_000,
      log: (message) => logs.push(message),
      ...extra,
    });
  const run = (backend: Backend, onProgress?: (event: ProgressEvent) => void) =>
    runEvaluation({
      loaded,
      promptText: PROMPT,
      backend,
      runsDirectory: path.join(folder, 'runs'),
      concurrency: 6,
      ...(onProgress ? { onProgress } : {}),
    });
  const served = (server: FakeServer): number => server.requests.filter((request) => !request.rateLimited).length;

  beforeEach(async () => {
    logs.length = 0;
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-replicas-'));
    loaded = await loadPrompt(path.join(folder, 'sums.prompt'), PROMPT, nodeFileSystem);
    assert.deepEqual(loaded.diagnostics, []);
  });
  afterEach(async () => {
    await Promise.all(servers.map((server) => server.close()));
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('spreads requests over three replicas by load and counts them per endpoint', async () => {
    const [a, b, c] = await start({}, {}, {});
    const backend = await backendOn([a!.url, b!.url, c!.url]);
    assert.ok(backend instanceof ReplicaBackend);
    assert.equal(backend.endpoint, [a!.url, b!.url, c!.url].join(', '));
    const outcome = await run(backend);
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.run.completions.length, 48);
    assert.ok(outcome.run.completions.every((record) => !record.error));
    const counts = [a!, b!, c!].map((server) => server.requests.length);
    assert.equal(
      counts.reduce((sum, count) => sum + count, 0),
      24,
    );
    // Least in flight, ties in turn: each gets a fair share of the 24.
    for (const count of counts) assert.ok(count >= 5 && count <= 11, `unbalanced: ${counts.join(', ')}`);
    const stats = backend.endpointStats?.() ?? [];
    assert.deepEqual(
      stats.map((entry) => [entry.endpoint, entry.requests, entry.failures, entry.cooldowns]),
      [a!, b!, c!].map((server, index) => [server.url, counts[index], 0, 0]),
    );
    assert.ok(stats.every((entry) => typeof entry.meanLatencyMs === 'number' && entry.meanLatencyMs >= 0));
  });

  for (const mode of ['close', 'server-error'] as const) {
    it(`retries elsewhere when a replica fails mid-run (${mode === 'close' ? 'goes away' : 'answers 500'}): no failed chain`, async () => {
      const [a, b, c] = await start({}, { failAfter: { requests: 3, mode } }, {});
      const backend = await backendOn([a!.url, b!.url, c!.url], { replicaCooldownMs: 60_000 });
      const outcome = await run(backend);
      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.run.completions.length, 48);
      assert.deepEqual(
        outcome.run.completions.filter((record) => record.error).map((record) => record.error),
        [],
      );
      const stats = backend.endpointStats?.() ?? [];
      const broken = stats[1] as EndpointStats;
      assert.ok(broken.failures >= 1, JSON.stringify(stats));
      assert.equal(broken.cooldowns, 1);
      // It answered at most its first 3 requests (going away cuts those still streaming), then none.
      const answered = broken.requests - broken.failures;
      assert.ok(answered >= 1 && answered <= 3, JSON.stringify(broken));
      if (mode === 'server-error') assert.equal(answered, 3);
      // Every request was answered once, by some replica.
      assert.equal(
        stats.reduce((sum, entry) => sum + entry.requests - entry.failures, 0),
        24,
      );
      assert.ok(
        logs.some((line) => line.includes(b!.url) && line.includes('no requests to this replica')),
        logs.join('\n'),
      );
    });
  }

  it('fails a request only when every replica failed it on every attempt', async () => {
    const [a, b] = await start({ failAfter: { requests: 0, mode: 'server-error' } }, { failAfter: { requests: 0, mode: 'server-error' } });
    const backend = await backendOn([a!.url, b!.url], { maxAttempts: 3, replicaCooldownMs: 10 });
    const chains: unknown[] = [];
    await assert.rejects(async () => {
      for await (const chain of backend.complete(
        { messages: [{ role: 'user', content: '1 + 1' }], n: 1, firstSample: 0 },
        { signal: new AbortController().signal },
      ))
        chains.push(chain);
    }, /server error \(500\).*after 3 attempts on 2 replicas/);
    assert.equal(a!.requests.length + b!.requests.length, 3);
    assert.ok(a!.requests.length >= 1 && b!.requests.length >= 1, 'both replicas were tried');
  });

  it('reads several base URLs separated by commas, and names a bad one without its credentials', async () => {
    assert.deepEqual(baseUrlList('http://a:1/v1, http://b:2/v1,,http://c:3/v1'), ['http://a:1/v1', 'http://b:2/v1', 'http://c:3/v1']);
    assert.deepEqual(baseUrlList(['http://a/v1', 'http://b/v1,http://c/v1']), ['http://a/v1', 'http://b/v1', 'http://c/v1']);
    await assert.rejects(
      () => backendOn(['http://a:1/v1', 'ftp://user:secret@b/v1']),
      (error: Error) => /replica's base URL/.test(error.message) && !error.message.includes('secret'),
    );
    // One URL stays a plain backend.
    const single = await backendOn(['http://127.0.0.1:9/v1']);
    assert.ok(!(single instanceof ReplicaBackend));
  });

  it('paces requests by the rate-limit headers: no 429 where sending at once gets them, and progress shows the wait', async () => {
    const rateLimit = { requests: 5, windowMs: 300 };
    const [server] = await start({ rateLimit });
    // The control: the server does refuse a burst over its budget.
    const burst = await Promise.all(
      Array.from({ length: 7 }, () =>
        fetch(`${server!.url}/chat/completions`, {
          method: 'POST',
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: '1 + 1' }] }),
        }).then((response) => response.status),
      ),
    );
    assert.deepEqual(
      burst.filter((status) => status === 429),
      [429, 429],
    );
    assert.equal(server!.requests.filter((request) => request.rateLimited).length, 2);
    await new Promise((resolve) => setTimeout(resolve, rateLimit.windowMs + 20));
    server!.requests.length = 0;

    const backend = await backendOn([server!.url]);
    const paced: ProgressEvent[] = [];
    const started = Date.now();
    const outcome = await run(backend, (event) => {
      if (event.pacedMs !== undefined) paced.push(event);
    });
    assert.equal(outcome.status, 'completed');
    assert.ok(outcome.run.completions.every((record) => !record.error));
    assert.equal(server!.requests.filter((request) => request.rateLimited).length, 0, 'a request ran into a 429');
    assert.equal(served(server!), 24);
    // 24 requests at 5 a window take at least 4 resets.
    assert.ok(Date.now() - started >= 4 * rateLimit.windowMs, `${Date.now() - started} ms`);
    assert.ok(paced.length > 0 && paced.some((event) => (event.pacedMs ?? 0) > 0 && (event.pacedUntil ?? 0) > started));
    const [stats] = backend.endpointStats?.() ?? [];
    assert.ok((stats?.pacedMs ?? 0) > 0);
    assert.equal(stats?.failures, 0);
  });

  it('paces by the token budget as well', async () => {
    // Each request costs its prompt (a few tokens) plus max_tokens 20 × 2 chains: about 3 requests a window.
    const [server] = await start({ rateLimit: { tokens: 130, windowMs: 250 } });
    const backend = await backendOn([server!.url]);
    const outcome = await run(backend);
    assert.equal(outcome.status, 'completed');
    assert.ok(outcome.run.completions.every((record) => !record.error));
    assert.equal(server!.requests.filter((request) => request.rateLimited).length, 0, 'a request ran into a 429');
    assert.ok((backend.endpointStats?.()[0]?.pacedMs ?? 0) > 0);
  });
});

describe('endpointStatsSince', () => {
  it("takes a backend's earlier counts off, mean latency over this run's answered requests only", () => {
    const before: EndpointStats[] = [
      { endpoint: 'http://a/v1', requests: 4, failures: 0, meanLatencyMs: 100, pacedMs: 50, cooldowns: 0 },
      { endpoint: 'http://b/v1', requests: 2, failures: 2, pacedMs: 0, cooldowns: 1 },
    ];
    const after: EndpointStats[] = [
      { endpoint: 'http://a/v1', requests: 10, failures: 1, meanLatencyMs: (4 * 100 + 5 * 40) / 9, pacedMs: 1250.4, cooldowns: 0 },
      { endpoint: 'http://b/v1', requests: 2, failures: 2, pacedMs: 0, cooldowns: 1 },
    ];
    assert.deepEqual(endpointStatsSince(before, after), [
      { endpoint: 'http://a/v1', requests: 6, failures: 1, meanLatencyMs: 40, pacedMs: 1200, cooldowns: 0 },
      { endpoint: 'http://b/v1', requests: 0, failures: 0, pacedMs: 0, cooldowns: 0 },
    ]);
    // The first run of a process: everything so far.
    assert.deepEqual(endpointStatsSince(undefined, [after[1] as EndpointStats]), [
      { endpoint: 'http://b/v1', requests: 2, failures: 2, pacedMs: 0, cooldowns: 1 },
    ]);
  });
});
