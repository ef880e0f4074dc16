import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeServer, type FakeServer } from '../../../testFixtures/openai-server/server';
import type { FakeBatchOptions } from '../../../testFixtures/openai-server/batches';
import { runEvaluation } from '../eval/run';
import { ThreadedSession } from '../eval/sessionThread';
import { parseRunFile } from '../eval/store';
import { batchPrices, priceFor } from '../prices';
import { loadPrompt, nodeFileSystem, type LoadedPrompt } from '../prompt/load';
import { BatchBackend, batchRequestId, type BatchSettings } from './batch';

const PROMPT = `---
name: sums
samples: 3
config: {temperature: 0.7, seed: 5}
variants: [zero-shot, zero-shot-cot]
cases:
  - {name: a, input: "1 + 1", expected: 2}
  - {name: b, input: "2 + 2", expected: 4}
  - {name: c, input: "3 + 3", expected: 6}
extract: number
scorer: numeric
---
{{q}}
`;

const ANSWERS = [
  { match: '1 + 1', answers: ['The answer is 2.'] },
  { match: '2 + 2', answers: ['The answer is 4.'] },
  { match: '3 + 3', answers: ['The answer is 6.'] },
];

describe('Batch API runs (BatchBackend against the fake server)', function () {
  this.timeout(20_000);
  let folder: string;
  let loaded: LoadedPrompt;
  let server: FakeServer;
  let logs: string[];
  let onLog: (line: string) => void;

  /** The server's batch options: a test may change them between runs. */
  const start = async (batch: FakeBatchOptions = {}): Promise<FakeBatchOptions> => {
    server = await startFakeServer({ apiKey: 'test-key', answers: ANSWERS, batch });
    return batch;
  };
  const backend = (settings: BatchSettings = {}, azure = false): BatchBackend =>
    new BatchBackend({
      id: azure ? 'azure' : 'openai',
      model: azure ? 'my-deployment' : 'gpt-4o-mini',
      apiKey: 'test-key',
      ...(azure
        ? { azure: { endpoint: server.url.replace(/\/v1$/, ''), deployment: 'my-deployment', apiVersion: '2024-10-21' } }
        : { baseUrl: server.url }),
      backoffMs: 1,
      log: (level, message) => {
        logs.push(`${level}: ${message}`);
        onLog(message);
      },
      batch: { pollMs: 5, maxPollMs: 20, gatherMs: 20, cancelWaitMs: 2_000, ...settings },
    });
  const run = (chosen: BatchBackend, extra: Partial<Parameters<typeof runEvaluation>[0]> = {}) =>
    runEvaluation({ loaded, promptText: PROMPT, backend: chosen, runsDirectory: path.join(folder, 'runs'), ...extra });
  const answered = (file: string): string[] =>
    parseRunFile(fs.readFileSync(file, 'utf8'))
      .completions.filter((record) => !record.error)
      .map((record) => `${record.variant}/${record.caseId}/${record.sample}`)
      .sort();
  const ALL = ['zero-shot', 'zero-shot-cot']
    .flatMap((variant) => ['a', 'b', 'c'].flatMap((c) => [0, 1, 2].map((s) => `${variant}/${c}/${s}`)))
    .sort();

  beforeEach(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-batch-'));
    loaded = await loadPrompt(path.join(folder, 'sums.prompt'), PROMPT, nodeFileSystem);
    assert.deepEqual(loaded.diagnostics, []);
    logs = [];
    onLog = () => undefined;
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it("keeps a reasoning model's reasoning_content and cached prompt tokens, which a batch sends on the message, not streamed", async () => {
    server = await startFakeServer({
      apiKey: 'test-key',
      answers: ANSWERS.map((answer) => ({
        ...answer,
        reasoning: `thinking about ${answer.match}`,
        usage: { promptTokens: 10, cachedTokens: 4, completionTokens: 6, reasoningTokens: 2 },
      })),
      batch: {},
    });
    const outcome = await run(backend());
    assert.equal(outcome.status, 'completed');
    const records = parseRunFile(fs.readFileSync(outcome.runFile, 'utf8')).completions;
    assert.equal(records.length, ALL.length);
    const first = records.find((record) => record.caseId === 'a' && record.variant === 'zero-shot');
    assert.equal(first?.reasoning, 'thinking about 1 + 1');
    // Usage is the request's, shared over its 3 chains as online: 4 cached prompt tokens, 2 reasoning tokens per choice.
    assert.equal(first?.usage.cachedTokens, Math.round(4 / 3));
    assert.equal(first?.usage.reasoningTokens, 2);
    assert.ok(records.every((record) => record.reasoning?.startsWith('thinking about ')));
  });

  it('sends the run as one batch (JSONL file, purpose batch, 24h), polls until it completes and records every chain', async () => {
    await start({ pollsToComplete: 4 });
    const outcome = await run(backend());
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(answered(outcome.runFile), ALL);
    assert.equal(server.batches.length, 1);
    const [batch] = server.batches;
    assert.equal(batch?.endpoint, '/v1/chat/completions');
    assert.equal(batch?.completionWindow, '24h');
    assert.equal(batch?.status, 'completed');
    assert.ok((batch?.polls ?? 0) >= 4, 'polled until the delayed completion');
    assert.equal(server.files.get(batch?.inputFileId ?? '')?.purpose, 'batch');
    // One line per request (cell), n = 3 chains each, custom ids naming variant, case and samples.
    assert.deepEqual(batch?.lines.map((line) => line.custom_id).sort(), [
      'zero-shot-cot/a/0-2',
      'zero-shot-cot/b/0-2',
      'zero-shot-cot/c/0-2',
      'zero-shot/a/0-2',
      'zero-shot/b/0-2',
      'zero-shot/c/0-2',
    ]);
    assert.ok(batch?.lines.every((line) => line.body.n === 3 && line.body.model === 'gpt-4o-mini' && line.body.stream === undefined));
    // Nothing went online: every chat request the server saw answered a batch line.
    assert.ok(server.requests.every((request) => request.batch === batch?.id));
    const file = parseRunFile(fs.readFileSync(outcome.runFile, 'utf8'));
    assert.equal(file.header.batch, true);
    assert.deepEqual(
      file.batches?.map((record) => [record.event, record.batchId]),
      [
        ['submitted', batch?.id],
        ['finished', batch?.id],
      ],
    );
    assert.equal(file.batches?.[0]?.inputFileId, batch?.inputFileId);
    assert.equal(file.batches?.[1]?.status, 'completed');
    assert.ok(file.completions.every((record) => record.usage.completionTokens > 0));
    assert.ok(
      logs.some((line) => line.includes('in_progress')),
      logs.join('\n'),
    );
  });

  it('backs off between polls: each wait half again the last, up to the ceiling', async () => {
    await start({ pollsToComplete: 7 });
    const waits: number[] = [];
    const chosen = new BatchBackend({
      id: 'openai',
      model: 'gpt-4o-mini',
      apiKey: 'test-key',
      baseUrl: server.url,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
      batch: { pollMs: 10_000, maxPollMs: 30_000, gatherMs: 5 },
    });
    const outcome = await run(chosen);
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(waits, [10_000, 15_000, 22_500, 30_000, 30_000, 30_000]);
    assert.equal(server.batches[0]?.polls, 7);
  });

  it('retries requests that failed inside the batch online, and says so', async () => {
    await start();
    server.inject({ kind: 'server-error', when: '2 + 2', times: 1 });
    const chosen = backend();
    const outcome = await run(chosen);
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(answered(outcome.runFile), ALL);
    const [batch] = server.batches;
    assert.ok(batch?.errorFileId, 'the failed line is in the error file');
    const online = server.requests.filter((request) => request.batch === undefined);
    assert.equal(online.length, 1);
    assert.ok(online[0]?.stream && online[0].prompt.includes('2 + 2'));
    const file = parseRunFile(fs.readFileSync(outcome.runFile, 'utf8'));
    assert.equal(file.batches?.[1]?.failed, 1);
    assert.ok(
      logs.some((line) => /batch batch_\d+: 1 request failed inside it \(500: .*\); retrying it online/.test(line)),
      logs.join('\n'),
    );
    assert.deepEqual(chosen.summary().at(-1), 'batch: 1 request failed inside a batch; 1 retried online');
  });

  it('splits a run over the request or byte limit into several batches', async () => {
    const options = await start({ maxRequests: 2 });
    const outcome = await run(backend({ maxRequests: 2 }));
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(answered(outcome.runFile), ALL);
    assert.equal(server.batches.length, 3);
    assert.ok(server.batches.every((batch) => batch.lines.length === 2));
    delete options.maxRequests;
    options.maxBytes = 700;
    const bySize = await run(backend({ maxBytes: 700 }));
    assert.deepEqual(answered(bySize.runFile), ALL);
    const sizes = server.batches.slice(3).map((batch) => Buffer.byteLength(server.files.get(batch.inputFileId)?.content ?? ''));
    assert.ok(sizes.length > 1 && sizes.every((size) => size <= 700), `${sizes.join(', ')} bytes`);
    const file = parseRunFile(fs.readFileSync(outcome.runFile, 'utf8'));
    assert.equal(file.batches?.filter((record) => record.event === 'submitted').length, 3);
  });

  it('cancelling cancels the batch and keeps what it finished; resuming sends only the rest', async () => {
    const options = await start({ pollsToComplete: 1_000, linesPerPoll: 1 });
    const controller = new AbortController();
    onLog = (line) => {
      if (line.includes('2/6 requests done')) controller.abort();
    };
    const first = await run(backend(), { signal: controller.signal });
    assert.equal(first.status, 'cancelled');
    assert.equal(server.batches[0]?.status, 'cancelled');
    // The two requests the batch answered before the cancel: 2 cells × 3 chains, kept.
    assert.equal(answered(first.runFile).length, 6);
    assert.ok(
      server.requests.every((request) => request.batch !== undefined),
      'nothing was sent online',
    );
    const file = parseRunFile(fs.readFileSync(first.runFile, 'utf8'));
    assert.equal(file.end?.status, 'cancelled');
    assert.equal(file.batches?.at(-1)?.status, 'cancelled');
    assert.ok(logs.some((line) => line.includes('cancelling it')));

    onLog = () => undefined;
    options.pollsToComplete = 2;
    delete options.linesPerPoll;
    const resumed = await run(backend(), { resume: first.runFile });
    assert.equal(resumed.status, 'completed');
    assert.deepEqual(answered(first.runFile), ALL);
    assert.equal(server.batches.length, 2);
    assert.equal(server.batches[1]?.lines.length, 4, 'only the requests the cancelled batch had not answered');
  });

  it('polls the same batch on resume after a crash right after submission, never submitting it again', async () => {
    await start({ pollsToComplete: 3 });
    // The process "dies" once the batch exists: this backend never polls, and its run never ends.
    const crashed = backend();
    (crashed as unknown as { pollBatch: () => Promise<never> }).pollBatch = () => new Promise<never>(() => undefined);
    void run(crashed);
    await waitFor(() => server.batches.length === 1);
    const runFile = path.join(folder, 'runs', fs.readdirSync(path.join(folder, 'runs'))[0] ?? '');
    await waitFor(() => parseRunFile(fs.readFileSync(runFile, 'utf8')).batches?.length === 1);
    const [submitted] = parseRunFile(fs.readFileSync(runFile, 'utf8')).batches ?? [];
    assert.equal(submitted?.batchId, server.batches[0]?.id);
    assert.equal(submitted?.inputFileId, server.batches[0]?.inputFileId);
    assert.equal(submitted?.requests, 6);
    assert.equal(answered(runFile).length, 0);

    const chosen = backend();
    const resumed = await run(chosen, { resume: runFile });
    assert.equal(resumed.status, 'completed');
    assert.deepEqual(answered(runFile), ALL);
    assert.equal(server.batches.length, 1, 'the open batch was polled, not submitted again');
    assert.equal([...server.files.values()].filter((file) => file.purpose === 'batch').length, 1);
    assert.ok(
      logs.some((line) => line.includes(`batch ${submitted?.batchId ?? ''} of this run is still open`)),
      logs.join('\n'),
    );
    assert.deepEqual(
      parseRunFile(fs.readFileSync(runFile, 'utf8')).batches?.map((record) => record.event),
      ['submitted', 'finished'],
    );
    assert.match(chosen.summary()[0] ?? '', /\(resumed\)/);
  });

  it('sends what an expired batch did not answer in a follow-up batch', async () => {
    await start({ linesPerPoll: 2, endAs: ['expired'] });
    const chosen = backend();
    const outcome = await run(chosen);
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(answered(outcome.runFile), ALL);
    assert.deepEqual(
      server.batches.map((batch) => [batch.status, batch.lines.length]),
      [
        ['expired', 6],
        ['completed', 4],
      ],
    );
    assert.ok(
      server.requests.every((request) => request.batch !== undefined),
      'nothing went online',
    );
    assert.ok(
      logs.some((line) => /batch batch_\d+: 4 requests not answered; sending them in a follow-up batch/.test(line)),
      logs.join('\n'),
    );
    assert.match(chosen.summary().join('\n'), /4 requests a batch did not answer \(expired or cancelled\) went in a follow-up batch/);
  });

  it('fails the chains of a batch refused as a whole, with its reason, instead of paying for them online', async () => {
    await start({ endAs: ['failed'] });
    const outcome = await run(backend());
    assert.equal(outcome.status, 'completed');
    const file = parseRunFile(fs.readFileSync(outcome.runFile, 'utf8'));
    assert.equal(file.completions.length, 18);
    assert.ok(file.completions.every((record) => /the batch batch_\d+ failed: Enqueued token limit reached/.test(record.error ?? '')));
    assert.equal(server.requests.length, 0);
  });

  it('stops the run at a rejected key, saying which API refused it', async () => {
    await start();
    const wrong = new BatchBackend({ id: 'openai', model: 'gpt-4o-mini', apiKey: 'wrong', baseUrl: server.url, batch: { pollMs: 5 } });
    const outcome = await run(wrong);
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.error ?? '', /the Batch API refused \(401\) at http:\/\/127\.0\.0\.1:\d+\/v1: Incorrect API key/);
    assert.ok(!(outcome.error ?? '').includes('wrong'), 'the key is not in the message');
    assert.equal(server.batches.length, 0);
  });

  it('stops the run at a server without a Batch API, saying so', async () => {
    await start();
    const none = new BatchBackend({
      id: 'vllm',
      model: 'm',
      apiKey: 'test-key',
      baseUrl: server.url.replace(/\/v1$/, '/plain'),
      batch: { pollMs: 5 },
    });
    const outcome = await run(none);
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.error ?? '', /refused \(404\).*does this endpoint serve the Batch API/);
  });

  it('Azure OpenAI: /openai/files and /openai/batches with the api-version, the deployment as each line’s model', async () => {
    await start();
    const outcome = await run(backend({}, true));
    assert.equal(outcome.status, 'completed', outcome.error);
    assert.deepEqual(answered(outcome.runFile), ALL);
    const [batch] = server.batches;
    assert.equal(batch?.api, 'azure');
    assert.equal(batch?.apiVersion, '2024-10-21');
    assert.equal(batch?.endpoint, '/chat/completions');
    assert.ok(batch?.lines.every((line) => line.body.model === 'my-deployment' && line.url === '/chat/completions'));
    assert.equal(server.files.get(batch?.inputFileId ?? '')?.purpose, 'batch');
  });

  it('runs as a batch in the editor’s background session (Submit as Batch): batch options reach the worker’s backend', async () => {
    await start();
    const events: string[] = [];
    const session = new ThreadedSession(
      {
        promptFile: path.join(folder, 'sums.prompt'),
        promptText: PROMPT,
        backend: { backend: server.url, model: 'gpt-4o-mini', apiKey: 'test-key', batch: { pollMs: 5, gatherMs: 20 } },
        runsDirectory: path.join(folder, 'runs'),
        trusted: true,
      },
      (event) => {
        if (event.type === 'log') events.push(event.message);
      },
    );
    const { result } = await session.run();
    assert.equal(result.status, 'completed');
    assert.equal(result.coverage.finished, 18);
    assert.equal(server.batches.length, 1);
    assert.ok(
      events.some((message) => /batch batch_\d+: 6 requests submitted/.test(message)),
      events.join('\n'),
    );
    // Priced at the batch price: half of gpt-4o-mini's $0.15 and $0.60 per million tokens.
    const variant = result.variants[0];
    assert.ok(variant && variant.cost !== null);
    assert.ok(Math.abs(variant.cost - (variant.promptTokens * 0.075 + variant.completionTokens * 0.3) / 1e6) < 1e-12);
  });

  it('prices batch runs at half the online price, or at a table entry’s own batch price', () => {
    assert.deepEqual(priceFor('openai', 'gpt-4o-mini', undefined, 'batch'), { input: 0.075, output: 0.3, cachedInput: 0.0375 });
    assert.deepEqual(priceFor('openai', 'gpt-4o-mini-2024-07-18', undefined, 'batch'), { input: 0.075, output: 0.3, cachedInput: 0.0375 });
    assert.deepEqual(batchPrices({ input: 1, output: 2, batchInput: 0.4, batchOutput: 1.5 }), { input: 0.4, output: 1.5 });
    // The discount covers cached prompt tokens in proportion.
    assert.deepEqual(batchPrices({ input: 1, output: 2, cachedInput: 0.5, batchInput: 0.4 }), { input: 0.4, output: 1, cachedInput: 0.2 });
    assert.deepEqual(priceFor('vllm', 'anything', undefined, 'batch'), { input: 0, output: 0 });
  });

  it('reads batch records and the batch header field, and run files without them as before', () => {
    const header = JSON.stringify({
      type: 'run',
      schema: 'chainscope.runfile/2',
      id: 'r',
      promptFile: 'p.prompt',
      promptHash: 'h',
      backend: { id: 'openai', model: 'gpt-4o-mini', input: 'chat' },
      sampling: {},
      samples: 1,
      variants: ['v'],
      cases: ['c'],
      startedAt: '2026-01-01T00:00:00.000Z',
    });
    const plain = parseRunFile(`${header}\n`);
    assert.equal(plain.batches, undefined);
    assert.equal(plain.header.batch, undefined);
    const submitted = { type: 'batch', event: 'submitted', batchId: 'batch_1', inputFileId: 'file-1', requests: 1, bytes: 10, at: 'now' };
    const withBatches = parseRunFile(
      [header.replace('"startedAt"', '"batch":true,"startedAt"'), JSON.stringify(submitted), '{"type":"batch","event":"lost"}', ''].join(
        '\n',
      ),
    );
    assert.equal(withBatches.header.batch, true);
    assert.deepEqual(withBatches.batches, [submitted]);
    assert.deepEqual(withBatches.skipped, [{ line: 3, reason: 'an unknown record type "batch"' }]);
  });

  it('names requests by variant, case and samples (escaped, so names with slashes stay apart)', () => {
    assert.equal(batchRequestId('a/b', 'c', [0, 1, 2]), 'a%2Fb/c/0-2');
    assert.notEqual(batchRequestId('a/b', 'c', [3]), batchRequestId('a', 'b/c', [3]));
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
