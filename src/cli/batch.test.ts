import * as assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { root, runCli, type CliRun } from '../../testFixtures/cli';
import { startFakeServer, type FakeServer } from '../../testFixtures/openai-server/server';
import type { RunResult } from '../core/eval/results';
import { parseRunFile } from '../core/eval/store';
import { batchSettings, type EvalReport } from './eval';

/** The CLI, polling its batches fast. */
function runBatchCli(
  args: string[],
  onStderr?: (text: string, child: ChildProcess) => void,
  env: Record<string, string> = {},
): Promise<CliRun> {
  return runCli(args, { env: { CHAINSCOPE_BATCH_POLL_MS: '5', ...env }, ...(onStderr ? { onStderr } : {}) });
}

const PROMPT = `---
name: sums
samples: 2
config: {temperature: 0.7, seed: 5}
variants: [zero-shot, zero-shot-cot]
cases:
  - {name: a, input: "1 + 1", expected: 2}
  - {name: b, input: "2 + 2", expected: 4}
extract: number
scorer: numeric
---
{{q}}
`;

describe('chainscope eval --batch (CLI against the fake server’s Batch API)', function () {
  this.timeout(60_000);
  let server: FakeServer;
  let folder: string;
  let prompt: string;

  before(() => execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root }));
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-cli-batch-'));
    prompt = path.join(folder, 'sums.prompt');
    fs.writeFileSync(prompt, PROMPT);
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  const common = (): string[] => ['--backend', server.url, '--model', 'fake', '--runs-dir', path.join(folder, 'runs'), '--no-cache'];

  it('runs the evaluation as a batch, summarizes it and prices it at half the online price', async () => {
    server = await startFakeServer({
      apiKey: 'test-key',
      answers: [{ match: '+', answers: ['The answer is 2.'] }],
      batch: { pollsToComplete: 3 },
    });
    const prices = path.join(folder, 'prices.json');
    fs.writeFileSync(prices, JSON.stringify({ fake: { input: 2, output: 4 } }));
    const json = path.join(folder, 'report.json');
    const finished = await runBatchCli(['eval', prompt, ...common(), '--batch', '--prices', prices, '--json', json]);
    assert.equal(finished.code, 0, finished.stderr);
    assert.equal(server.batches.length, 1);
    assert.match(finished.stderr, /Batch API: at the batch price/);
    assert.match(finished.stderr, /batch batch_\d+: in_progress/);
    assert.match(finished.stdout, /batch: 1 batch \(batch_\d+\), 4 requests at the batch price/);
    const run = (JSON.parse(fs.readFileSync(json, 'utf8')) as EvalReport).runs[0] as RunResult;
    assert.equal(run.cells.flatMap((cell) => cell.chains).length, 8);
    // The results name the batch, as the provider knows it.
    assert.deepEqual(run.batches, [{ id: server.batches[0]?.id, status: 'completed', requests: 4, completed: 4, failed: 0 }]);
    for (const variant of run.variants) {
      // Half of 2 and 4 dollars per million tokens.
      const expected = (variant.promptTokens * 1 + variant.completionTokens * 2) / 1e6;
      assert.ok(variant.cost !== null && Math.abs(variant.cost - expected) < 1e-12, `${variant.cost} vs ${expected}`);
    }
    assert.ok(
      server.requests.every((request) => request.batch !== undefined && !request.stream),
      'no online request',
    );
  });

  it('refuses a reasoning shape on --batch before submitting anything, naming it', async () => {
    server = await startFakeServer({ apiKey: 'test-key', answers: [], batch: { pollsToComplete: 1 } });
    fs.writeFileSync(
      prompt,
      PROMPT.replace('variants: [zero-shot, zero-shot-cot]', 'variants: [zero-shot, {name: tot, type: tree-of-thought}]'),
    );
    const finished = await runBatchCli(['eval', prompt, ...common(), '--batch']);
    assert.notEqual(finished.code, 0);
    assert.match(finished.stderr, /'tot' is a reasoning shape \(tree-of-thought\): each request depends on the answers before it/);
    assert.equal(server.batches.length, 0);
    // Without the shape the same prompt goes as a batch.
    const plain = await runBatchCli(['eval', prompt, ...common(), '--batch', '--variants', 'zero-shot']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(server.batches.length, 1);
  });

  it('survives a kill right after submission: --resume polls the same batch and submits nothing again', async () => {
    server = await startFakeServer({
      apiKey: 'test-key',
      answers: [{ match: '+', answers: ['The answer is 2.'] }],
      batch: { pollsToComplete: 6 },
    });
    const killed = await runBatchCli(['eval', prompt, ...common(), '--batch'], (text, child) => {
      if (/requests submitted/.test(text)) child.kill('SIGKILL');
    });
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(server.batches.length, 1);
    const runFile = path.join(folder, 'runs', fs.readdirSync(path.join(folder, 'runs'))[0] ?? '');
    const before = parseRunFile(fs.readFileSync(runFile, 'utf8'));
    assert.equal(before.batches?.[0]?.batchId, server.batches[0]?.id, 'the batch id was in the run file before the kill');
    assert.equal(before.completions.length, 0);

    // No --batch: the run file says it is a batch run.
    const resumed = await runBatchCli(['eval', prompt, ...common(), '--resume', runFile]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(server.batches.length, 1, 'not submitted again');
    assert.match(resumed.stderr, new RegExp(`batch ${server.batches[0]?.id ?? ''} of this run is still open`));
    assert.match(resumed.stdout, /\(resumed\)/);
    const after = parseRunFile(fs.readFileSync(runFile, 'utf8'));
    assert.equal(after.completions.filter((record) => !record.error).length, 8);
    assert.equal(after.end?.status, 'completed');
  });

  it('SIGINT cancels the batch and keeps what it finished', async () => {
    server = await startFakeServer({
      apiKey: 'test-key',
      answers: [{ match: '+', answers: ['The answer is 2.'] }],
      batch: { pollsToComplete: 1_000, linesPerPoll: 1 },
    });
    let interrupted = false;
    const finished = await runBatchCli(['eval', prompt, ...common(), '--batch'], (text, child) => {
      if (!interrupted && /1\/4 requests done/.test(text)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    assert.equal(finished.code, 130, finished.stderr);
    assert.equal(server.batches[0]?.status, 'cancelled');
    assert.match(finished.stderr, /cancelling it/);
    const runFile = path.join(folder, 'runs', fs.readdirSync(path.join(folder, 'runs'))[0] ?? '');
    const kept = parseRunFile(fs.readFileSync(runFile, 'utf8')).completions.filter((record) => !record.error);
    // What the batch answered before it was cancelled (a poll or two after the interrupt).
    assert.ok(kept.length >= 2 && kept.length < 8, `${kept.length} kept`);
  });

  it('--backend azure --batch: the deployment in each line, /openai/batches with the api-version', async () => {
    server = await startFakeServer({ apiKey: 'azure-key', answers: [{ match: '+', answers: ['The answer is 2.'] }] });
    const finished = await runBatchCli(
      ['eval', prompt, '--backend', 'azure', '--model', 'my-deployment', '--runs-dir', path.join(folder, 'runs'), '--no-cache', '--batch'],
      undefined,
      { AZURE_OPENAI_API_KEY: 'azure-key', AZURE_OPENAI_ENDPOINT: server.url.replace(/\/v1$/, ''), AZURE_OPENAI_API_VERSION: '2024-10-21' },
    );
    assert.equal(finished.code, 0, finished.stderr);
    const [batch] = server.batches;
    assert.equal(batch?.api, 'azure');
    assert.equal(batch?.apiVersion, '2024-10-21');
    assert.ok(batch?.lines.length === 4 && batch.lines.every((line) => line.body.model === 'my-deployment'));
    assert.match(finished.stdout, /azure:my-deployment/);
  });

  it('reads the batch pace and limits from the environment, refusing a bad value by name', () => {
    assert.deepEqual(batchSettings({ CHAINSCOPE_BATCH_POLL_MS: '10', CHAINSCOPE_BATCH_MAX_REQUESTS: '3' }), {
      pollMs: 10,
      maxPollMs: 300,
      maxRequests: 3,
    });
    assert.throws(() => batchSettings({ CHAINSCOPE_BATCH_MAX_BYTES: 'lots' }), /CHAINSCOPE_BATCH_MAX_BYTES=lots: expected a whole number/);
  });
});
