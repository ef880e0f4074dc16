import * as assert from 'node:assert/strict';
import { apiSeed, chainSeed } from '../random';
import { startFakeServer, type FakeServer } from '../../../testFixtures/openai-server/server';
import type { Completion, CompletionRequest } from '../backend';
import { createBackend } from '.';
import { OpenAIBackend, retryAfterMs, type OpenAIBackendOptions } from './openai';

const QUESTION = 'What is 6 times 7?';

async function collect(
  backend: OpenAIBackend,
  request: Partial<CompletionRequest> = {},
  signal = new AbortController().signal,
): Promise<Completion[]> {
  const completions: Completion[] = [];
  for await (const completion of backend.complete(
    { messages: [{ role: 'user', content: QUESTION }], n: 1, firstSample: 0, temperature: 0.8, ...request },
    { signal },
  )) {
    completions.push(completion);
  }
  return completions;
}

describe('OpenAI-compatible backend (real SDK, real HTTP server)', function () {
  this.timeout(20_000);
  let server: FakeServer;
  const logs: string[] = [];
  const backend = (options: Partial<OpenAIBackendOptions> = {}): OpenAIBackend =>
    new OpenAIBackend({
      id: 'openai-compatible',
      model: 'fake-model',
      apiKey: 'test-key',
      baseUrl: server.url,
      backoffMs: 5,
      timeoutMs: 2_000,
      log: (level, message) => logs.push(`${level}: ${message}`),
      ...options,
    });

  beforeEach(async () => {
    logs.length = 0;
    server = await startFakeServer({
      apiKey: 'test-key',
      answers: [{ match: QUESTION, answers: ['6 × 7 = 42. The answer is 42.', 'The answer is 42.', 'I think 48.'] }],
    });
  });
  afterEach(() => server.close());

  it('samples n chains of one case in exactly one request, reassembling the streamed pieces', async () => {
    const completions = await collect(backend(), { n: 8, seed: 3 });
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]?.n, 8);
    assert.equal(server.requests[0]?.stream, true);
    assert.deepEqual(
      completions.map((c) => c.sample).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    for (const completion of completions) {
      assert.ok(['6 × 7 = 42. The answer is 42.', 'The answer is 42.', 'I think 48.'].includes(completion.text), completion.text);
      assert.equal(completion.finishReason, 'stop');
      assert.ok(completion.usage.promptTokens > 0 && completion.usage.completionTokens > 0);
    }
    // The same seed draws the same chains: the server's sampling is reproducible, as the cache expects.
    const again = await collect(backend(), { n: 8, seed: 3 });
    assert.deepEqual(
      again.map((c) => c.text),
      completions.map((c) => c.text),
    );
  });

  it('falls back to one request per chain when the server ignores n, and says so once', async () => {
    server.inject({ kind: 'ignore-n', times: Infinity });
    const completions = await collect(backend(), { n: 8, seed: 1, firstSample: 0 });
    assert.equal(completions.length, 8);
    assert.deepEqual(
      completions.map((c) => c.sample),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(server.requests.length, 8);
    assert.deepEqual(
      server.requests.slice(1).map((r) => r.n),
      [1, 1, 1, 1, 1, 1, 1],
    );
    // Separate requests at one seed would repeat one chain: each gets its own, derived from (seed, sample).
    assert.deepEqual(
      server.requests.slice(1).map((r) => r.seed),
      [1, 2, 3, 4, 5, 6, 7].map((sample) => apiSeed(chainSeed(1, '', '', sample))),
    );
    assert.equal(new Set(server.requests.map((r) => r.seed)).size, 8);
    assert.equal(logs.filter((line) => line.includes("ignores 'n'")).length, 1);
  });

  it("sends a base URL's query and credentials where they belong, and never shows them", async () => {
    await server.close();
    server = await startFakeServer({ answers: [{ match: QUESTION, answers: ['The answer is 42.'] }] });
    const secretUrl = server.url.replace('://', '://someone:S3CRET@') + '?api-key=K3Y&region=eu';
    const withSecrets = backend({ baseUrl: secretUrl });
    assert.equal(withSecrets.endpoint, server.url.replace('://', '://***@') + '?api-key=***&region=eu');
    const completions = await collect(withSecrets);
    assert.equal(completions[0]?.text, 'The answer is 42.');
    assert.equal(server.requests[0]?.path, '/v1/chat/completions');
    assert.equal(server.requests[0]?.query, '?api-key=K3Y&region=eu');
    assert.equal(server.requests[0]?.authorization, `Basic ${Buffer.from('someone:S3CRET').toString('base64')}`);
    // A server that is down: the message names the endpoint, redacted.
    const down = backend({ baseUrl: 'http://someone:S3CRET@127.0.0.1:9/v1?api-key=K3Y', maxAttempts: 1 });
    const failure = await collect(down).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    assert.match(failure ?? '', /cannot reach http:\/\/\*\*\*@127\.0\.0\.1:9\/v1\?api-key=\*\*\*/);
    assert.ok(!/S3CRET|K3Y/.test(failure ?? ''), failure);
  });

  it('honours Retry-After on 429', async () => {
    server.inject({ kind: 'rate-limit', retryAfter: 1 });
    const started = Date.now();
    const completions = await collect(backend());
    assert.equal(completions.length, 1);
    assert.ok(Date.now() - started >= 950, `waited only ${Date.now() - started} ms`);
    assert.deepEqual(
      server.requests.map((r) => r.fault ?? 'ok'),
      ['rate-limit', 'ok'],
    );
    assert.ok(
      logs.some((line) => /rate limited \(429\).*retrying in 1000 ms/.test(line)),
      logs.join('\n'),
    );
  });

  for (const kind of ['server-error', 'malformed-json', 'cut-stream'] as const) {
    it(`retries after ${kind} and succeeds`, async () => {
      server.inject({ kind, times: 2 });
      const completions = await collect(backend(), { n: 3 });
      assert.equal(completions.length, 3);
      assert.deepEqual(
        server.requests.map((r) => r.fault ?? 'ok'),
        [kind, kind, 'ok'],
      );
    });
  }

  it('abandons a hung request after its timeout and retries', async () => {
    server.inject({ kind: 'hang' });
    const started = Date.now();
    const completions = await collect(backend({ timeoutMs: 300 }));
    assert.equal(completions.length, 1);
    assert.ok(Date.now() - started >= 300);
    assert.ok(
      logs.some((line) => line.includes('request timeout')),
      logs.join('\n'),
    );
  });

  it('gives up after the last attempt with the reason', async () => {
    server.inject({ kind: 'server-error', times: Infinity });
    await assert.rejects(collect(backend({ maxAttempts: 3 })), /server error \(500\).*after 3 attempts/);
    assert.equal(server.requests.length, 3);
  });

  it('does not retry a bad key, an unknown model or an oversized prompt, and says what to do', async () => {
    await assert.rejects(collect(backend({ apiKey: 'wrong' })), /authentication failed \(401\).*Set API Key/);
    assert.equal(server.requests.length, 1);
    server.inject({ kind: 'not-found' });
    await assert.rejects(collect(backend()), /model or deployment 'fake-model' not found \(404\)/);
    server.inject({ kind: 'context-length' });
    await assert.rejects(collect(backend()), /longer than the model's context window/);
    server.inject({ kind: 'content-filter' });
    await assert.rejects(collect(backend()), /content filter/);
    assert.equal(server.requests.length, 4);
  });

  it('never puts the API key in a message', async () => {
    await assert.rejects(collect(backend({ apiKey: 'sk-secret-123' })), (error: Error) => !error.message.includes('sk-secret-123'));
    assert.ok(logs.every((line) => !line.includes('sk-secret-123')));
  });

  it('aborts a request in flight at once when cancelled', async () => {
    await server.close();
    server = await startFakeServer({ apiKey: 'test-key', chunkDelayMs: 2_000, answers: [{ match: QUESTION, answers: ['slow answer'] }] });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const completions = await collect(backend(), { n: 2 }, controller.signal);
    assert.deepEqual(completions, []);
    assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
  });

  it('uses the text completions endpoint for base models', async () => {
    const base = backend({ input: 'text' });
    const completions: Completion[] = [];
    for await (const completion of base.complete(
      { text: `Q: ${QUESTION}\nA:`, n: 2, firstSample: 4 },
      { signal: new AbortController().signal },
    ))
      completions.push(completion);
    assert.equal(server.requests[0]?.path, '/v1/completions');
    assert.deepEqual(completions.map((c) => c.sample).sort(), [4, 5]);
  });

  it('talks to Azure OpenAI deployments with the api-key header and api-version', async () => {
    await server.close();
    server = await startFakeServer({ answers: [{ match: QUESTION, answers: ['The answer is 42.'] }] });
    const azure = await createBackend({
      backend: 'azure',
      model: 'my-deployment',
      baseUrl: server.url.replace(/\/v1$/, ''),
      env: { AZURE_OPENAI_API_KEY: 'azure-key', AZURE_OPENAI_API_VERSION: '2024-10-21' },
    });
    assert.equal(azure.id, 'azure');
    const completions: Completion[] = [];
    for await (const completion of azure.complete(
      { messages: [{ role: 'user', content: QUESTION }], n: 2, firstSample: 0 },
      { signal: new AbortController().signal },
    ))
      completions.push(completion);
    assert.equal(completions.length, 2);
    assert.equal(server.requests[0]?.path, '/openai/deployments/my-deployment/chat/completions');
  });

  it('reads Retry-After in seconds, as a date, and in milliseconds', () => {
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '2' })), 2000);
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '150' })), 150);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 7_000), 3_000);
    assert.equal(retryAfterMs(new Headers({})), undefined);
  });
});

describe('createBackend', () => {
  it('reads the provider and model from the prompt, keys from the environment', async () => {
    const openai = await createBackend({ modelReference: 'openai:gpt-4o-mini', env: { OPENAI_API_KEY: 'k' } });
    assert.equal(openai.id, 'openai');
    assert.equal(openai.model, 'gpt-4o-mini');
    const ollama = await createBackend({ modelReference: 'ollama:llama3.2', env: {} });
    assert.equal((ollama as OpenAIBackend).endpoint, 'http://127.0.0.1:11434/v1');
    const url = await createBackend({ backend: 'http://127.0.0.1:9/v1', model: 'm', env: {} });
    assert.equal(url.id, 'openai-compatible');
  });

  it('explains what is missing', async () => {
    await assert.rejects(createBackend({ modelReference: 'openai:gpt-4o', env: {} }), /No API key for openai: set OPENAI_API_KEY/);
    await assert.rejects(createBackend({ modelReference: 'googleai/gemini-1.5-pro', env: {} }), /Unknown backend 'googleai'/);
    await assert.rejects(createBackend({ backend: 'azure', model: 'dep', env: { AZURE_OPENAI_API_KEY: 'k' } }), /AZURE_OPENAI_ENDPOINT/);
    await assert.rejects(createBackend({ env: {} }), /No backend/);
  });
});

describe('OpenAI-compatible backend: settings a model refuses (real SDK, server answering as OpenAI does)', function () {
  this.timeout(20_000);
  let server: FakeServer;
  const make = (model: string, id = 'openai'): OpenAIBackend =>
    new OpenAIBackend({ id, model, apiKey: 'test-key', baseUrl: server.url, backoffMs: 5, timeoutMs: 2_000, maxConcurrency: 1 });
  const ask = async (backend: OpenAIBackend, request: Partial<CompletionRequest> = {}): Promise<Completion[]> => {
    const completions: Completion[] = [];
    for await (const completion of backend.complete(
      { messages: [{ role: 'user', content: QUESTION }], n: 2, firstSample: 0, temperature: 0.7, maxTokens: 256, ...request },
      { signal: new AbortController().signal },
    ))
      completions.push(completion);
    return completions;
  };

  beforeEach(async () => {
    server = await startFakeServer({
      answers: [{ match: QUESTION, answers: ['The answer is 42.'] }],
      reasoningModels: ['gpt-5-mini', 'in-house-reasoner'],
    });
  });
  afterEach(() => server.close());

  it('sends a reasoning model max_completion_tokens, no temperature or top_p, and reasoning_effort as written: no 400', async () => {
    const backend = make('gpt-5-mini');
    const completions = await ask(backend, { topP: 0.9, reasoningEffort: 'low' });
    assert.equal(completions.length, 2);
    assert.ok(completions.every((completion) => !completion.error && completion.text === 'The answer is 42.'));
    assert.equal(server.requests.length, 1);
    const sent = server.requests[0];
    assert.deepEqual(
      [sent?.temperature, sent?.top_p, sent?.max_tokens, sent?.max_completion_tokens, sent?.reasoning_effort, sent?.refused],
      [undefined, undefined, undefined, 256, 'low', undefined],
    );
    // Reasoning is carried apart, still inside the completion tokens (the server bills it there): 16 per chain.
    assert.ok(completions.every((completion) => completion.usage.reasoningTokens === 16 && completion.usage.completionTokens > 16));
    assert.deepEqual(
      backend.adjustments({ temperature: 0.7, topP: 0.9 }).map((adjustment) => [adjustment.parameter, adjustment.reason]),
      [
        ['temperature', 'model'],
        ['top_p', 'model'],
      ],
    );
  });

  it('sends gpt-4o-mini the settings unchanged (OpenAI: the limit as max_completion_tokens; another server: max_tokens)', async () => {
    await ask(make('gpt-4o-mini'), { topP: 0.9 });
    await ask(make('gpt-4o-mini', 'openai-compatible'), { topP: 0.9 });
    assert.deepEqual(
      server.requests.map((request) => [
        request.temperature,
        request.top_p,
        request.max_tokens,
        request.max_completion_tokens,
        request.refused,
      ]),
      [
        [0.7, 0.9, undefined, 256, undefined],
        [0.7, 0.9, 256, undefined, undefined],
      ],
    );
  });

  it('learns what an unknown reasoning model refuses from one 400 each, retries at once, and never repeats it', async () => {
    const backend = make('in-house-reasoner', 'openai-compatible');
    for (let i = 0; i < 4; i++) {
      const completions = await ask(backend);
      assert.ok(completions.length === 2 && completions.every((completion) => !completion.error), JSON.stringify(completions));
    }
    // One 400 per lesson (max_tokens renamed, then temperature left out), then 4 accepted requests.
    assert.deepEqual(
      server.requests.map((request) => request.refused ?? 'ok'),
      ['max_tokens', 'temperature', 'ok', 'ok', 'ok', 'ok'],
    );
    const accepted = server.requests.slice(2);
    assert.ok(accepted.every((request) => request.max_completion_tokens === 256 && request.max_tokens === undefined));
    assert.ok(accepted.every((request) => request.temperature === undefined));
    const adjustments = backend.adjustments({ temperature: 0.7, maxTokens: 256 });
    assert.deepEqual(
      adjustments.map((adjustment) => [adjustment.parameter, adjustment.action, adjustment.sentAs, adjustment.value, adjustment.reason]),
      [
        ['temperature', 'omitted', undefined, 0.7, 'rejected'],
        ['max_tokens', 'renamed', 'max_completion_tokens', 256, 'rejected'],
      ],
    );
    assert.match(
      adjustments[0]?.message ?? '',
      /^in-house-reasoner at http:\/\/127\.0\.0\.1:\d+\/v1 refused temperature 0\.7 \(400: Unsupported value/,
    );
  });

  it('still fails a 400 that names no field it sent, without retrying', async () => {
    server.inject({ kind: 'context-length' });
    const completions = await ask(make('gpt-4o-mini')).catch((error: unknown) => error);
    assert.match(String(completions), /longer than the model's context window/);
    assert.equal(server.requests.length, 1);
  });
});
