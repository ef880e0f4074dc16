import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ScriptedBackend } from '../../../testFixtures/scriptedBackend';
import { BackendError, type Adjustment, type Backend } from '../backend';
import { loadPrompt, nodeFileSystem, type LoadedPrompt } from '../prompt/load';
import { apiSeed, chainSeed, seededRandom, splitmix64, xoshiro128 } from '../random';
import { CompletionCache } from './cache';
import { contiguousRuns, runEvaluation, RunSetupError } from './run';
import { parseRunFile } from './store';

const PROMPT = `---
name: sums
samples: 4
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

describe('runEvaluation', function () {
  this.timeout(20_000);
  let folder: string;
  let loaded: LoadedPrompt;

  beforeEach(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-run-'));
    loaded = await loadPrompt(path.join(folder, 'sums.prompt'), PROMPT, nodeFileSystem);
    assert.deepEqual(loaded.diagnostics, []);
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  const options = (backend: Backend, extra: Partial<Parameters<typeof runEvaluation>[0]> = {}) => ({
    loaded,
    promptText: PROMPT,
    backend,
    runsDirectory: path.join(folder, 'runs'),
    ...extra,
  });

  it('runs variants × cases × samples, one request of n per cell, every completion in the run file', async () => {
    const backend = new ScriptedBackend((text, sample) => `The answer is ${sample}.`);
    const progress: number[] = [];
    const outcome = await runEvaluation(options(backend, { onProgress: (event) => progress.push(event.done) }));
    assert.equal(outcome.status, 'completed');
    assert.equal(backend.requests.length, 6);
    assert.ok(backend.requests.every((request) => request.n === 4 && request.firstSample === 0 && request.temperature === 0.7));
    const run = parseRunFile(fs.readFileSync(outcome.runFile, 'utf8'));
    assert.equal(run.completions.length, 24);
    assert.equal(run.end?.status, 'completed');
    assert.deepEqual(run.header.variants, ['zero-shot', 'zero-shot-cot']);
    assert.deepEqual(run.header.cases, ['a', 'b', 'c']);
    assert.equal(progress.at(-1), 24);
    // Zero-shot CoT sends the trigger after the answer prefix.
    assert.ok(backend.requests.some((request) => request.text?.endsWith("A: Let's think step by step.")));
  });

  it('keeps every finished completion when cancelled, and resuming completes the run', async () => {
    const controller = new AbortController();
    let seen = 0;
    const slow = new ScriptedBackend((_text, sample) => `The answer is ${sample}.`, 15);
    const first = await runEvaluation(
      options(slow, {
        signal: controller.signal,
        onRecord: () => {
          if (++seen === 7) controller.abort();
        },
      }),
    );
    assert.equal(first.status, 'cancelled');
    const partial = parseRunFile(fs.readFileSync(first.runFile, 'utf8'));
    assert.equal(partial.end?.status, 'cancelled');
    assert.ok(partial.completions.length >= 7 && partial.completions.length < 24, `${partial.completions.length} kept`);
    const kept = new Set(partial.completions.map((c) => `${c.variant}/${c.caseId}/${c.sample}`));

    const resumer = new ScriptedBackend((_text, sample) => `The answer is ${sample}.`);
    const second = await runEvaluation(options(resumer, { resume: first.runFile }));
    assert.equal(second.status, 'completed');
    assert.equal(second.runFile, first.runFile);
    const requested = resumer.requests.reduce((sum, request) => sum + request.n, 0);
    assert.equal(requested, 24 - kept.size, 'only the missing chains are requested');
    const all = second.run.completions.map((c) => `${c.variant}/${c.caseId}/${c.sample}`);
    assert.equal(new Set(all).size, 24);
    assert.equal(all.length, 24, 'no chain is requested twice');
  });

  it('records a request that fails for good as errors of its cell, and scores the rest', async () => {
    const backend = new ScriptedBackend((text, sample) =>
      text.includes('2 + 2') ? new Error('server error (500)') : `The answer is ${sample}.`,
    );
    const outcome = await runEvaluation(options(backend));
    assert.equal(outcome.status, 'completed');
    const failed = outcome.run.completions.filter((c) => c.error);
    assert.equal(failed.length, 8);
    assert.ok(failed.every((c) => c.caseId === 'b' && c.error === 'server error (500)'));
    assert.equal(outcome.run.completions.filter((c) => !c.error).length, 16);

    // Resuming retries only the failed chains.
    const retry = new ScriptedBackend((_text, sample) => `The answer is ${sample}.`);
    await runEvaluation(options(retry, { resume: outcome.runFile }));
    assert.deepEqual(
      retry.requests.map((r) => r.n),
      [4, 4],
    );
  });

  it('replays cached samples by index, so repeated samples stay independent and re-runs are free', async () => {
    const cache = new CompletionCache(path.join(folder, 'cache', 'scripted.jsonl'));
    let calls = 0;
    const backend = new ScriptedBackend((_text, sample) => {
      calls++;
      return `The answer is ${sample}.`;
    });
    await runEvaluation(options(backend, { cache, variants: ['zero-shot'] }));
    assert.equal(calls, 12);
    assert.equal(cache.size, 12, 'one entry per sample index, not per prompt');
    const again = await runEvaluation(options(backend, { cache, variants: ['zero-shot'] }));
    assert.equal(calls, 12);
    assert.ok(again.run.completions.every((c) => c.cached));
    assert.deepEqual(
      again.run.completions.filter((c) => c.caseId === 'a').map((c) => c.text),
      ['The answer is 0.', 'The answer is 1.', 'The answer is 2.', 'The answer is 3.'],
    );
    // More samples than cached: only the new sample indices are requested.
    await runEvaluation(options(backend, { cache, variants: ['zero-shot'], samples: 6 }));
    assert.equal(calls, 18);
  });

  it('records and says once each setting the backend does not send, and keys the cache by what was sent', async () => {
    const message = 'script-1 refused temperature 0.7; it was not sent for the rest of the run';
    let requests = 0;
    /** A backend that learns after its second chain that the model refuses temperature. */
    class Learning extends ScriptedBackend {
      adjustments(sampling: { temperature?: number }): Adjustment[] {
        return requests >= 2 && sampling.temperature !== undefined
          ? [
              {
                parameter: 'temperature',
                setting: 'temperature',
                value: sampling.temperature,
                action: 'omitted',
                reason: 'rejected',
                message,
              },
            ]
          : [];
      }
    }
    const cache = new CompletionCache(path.join(folder, 'cache', 'scripted.jsonl'));
    const backend = new Learning(() => {
      requests++;
      return 'The answer is 2.';
    });
    const warnings: string[] = [];
    const outcome = await runEvaluation(options(backend, { cache, variants: ['zero-shot'], onWarning: (w) => warnings.push(w) }));
    assert.deepEqual(warnings, [message]);
    const run = parseRunFile(fs.readFileSync(outcome.runFile, 'utf8'));
    assert.deepEqual(
      run.adjustments?.map((a) => [a.type, a.parameter, a.value, a.message]),
      [['adjustment', 'temperature', 0.7, message]],
    );
    // Chains sampled without the temperature are keyed without it: another temperature in the file replays them.
    const other = await loadPrompt(loaded.file, PROMPT.replace('temperature: 0.7', 'temperature: 0.3'), nodeFileSystem);
    const again = await runEvaluation({ ...options(backend, { cache, variants: ['zero-shot'] }), loaded: other });
    assert.equal(again.run.completions.filter((c) => c.cached).length, 12);
    // A backend that sends the temperature never replays chains sampled without it.
    const plain = await runEvaluation(options(new ScriptedBackend(() => 'The answer is 2.'), { cache, variants: ['zero-shot'] }));
    assert.equal(plain.run.completions.filter((c) => c.cached).length, 0);
  });

  it('warns when several samples are drawn at temperature 0', async () => {
    const text = PROMPT.replace('temperature: 0.7', 'temperature: 0');
    const zero = await loadPrompt(path.join(folder, 'zero.prompt'), text, nodeFileSystem);
    const warnings: string[] = [];
    await runEvaluation({
      loaded: zero,
      promptText: text,
      backend: new ScriptedBackend(() => 'The answer is 2.'),
      runsDirectory: path.join(folder, 'runs'),
      variants: ['zero-shot'],
      onWarning: (w) => warnings.push(w),
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /temperature 0/);
  });

  it('runs the answer prompt of zero-shot CoT on each chain', async () => {
    const text = PROMPT.replace(
      'variants: [zero-shot, zero-shot-cot]',
      'variants: [{type: zero-shot-cot, answer_prompt: "Therefore, the answer is"}]',
    );
    const staged = await loadPrompt(path.join(folder, 'staged.prompt'), text, nodeFileSystem);
    const backend = new ScriptedBackend((prompt, sample) =>
      prompt.endsWith('Therefore, the answer is') ? ` ${sample + 10}.` : `I add the numbers, chain ${sample}.`,
    );
    const outcome = await runEvaluation({
      loaded: staged,
      promptText: text,
      backend,
      runsDirectory: path.join(folder, 'runs'),
      cases: ['a'],
    });
    const records = outcome.run.completions;
    assert.equal(records.length, 4);
    assert.deepEqual(records.map((r) => r.answerText).sort(), [
      'Therefore, the answer is 10.',
      'Therefore, the answer is 11.',
      'Therefore, the answer is 12.',
      'Therefore, the answer is 13.',
    ]);
    const second = backend.requests.filter((r) => r.text?.endsWith('Therefore, the answer is'));
    assert.equal(second.length, 4);
    assert.ok(second.every((r) => r.temperature === 0 && r.n === 1 && r.text?.includes("Let's think step by step. I add the numbers")));
  });
});

describe('runEvaluation: runs that fail loudly and safely', function () {
  this.timeout(20_000);
  let folder: string;
  let loaded: LoadedPrompt;
  beforeEach(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-run-'));
    loaded = await loadPrompt(path.join(folder, 'sums.prompt'), PROMPT, nodeFileSystem);
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));
  const options = (backend: Backend, extra: Partial<Parameters<typeof runEvaluation>[0]> = {}) => ({
    loaded,
    promptText: PROMPT,
    backend,
    runsDirectory: path.join(folder, 'runs'),
    ...extra,
  });
  const answer = (_text: string, sample: number): string => `The answer is ${sample}.`;

  it('stops at the first fatal error: no further request, run failed with the reason, no chain recorded for it', async () => {
    const backend = new ScriptedBackend(
      () => new BackendError('authentication failed (401): the API key was rejected', 401, false, undefined, true),
    );
    const outcome = await runEvaluation(options(backend, { concurrency: 1 }));
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.error ?? '', /401/);
    assert.equal(backend.requests.length, 1, 'one request, not one per cell');
    assert.equal(outcome.run.end?.status, 'failed');
    assert.match(outcome.run.end?.error ?? '', /401/);
    assert.equal(outcome.run.completions.length, 0);
  });

  it('lets requests already in flight finish when a fatal error stops the run', async () => {
    let calls = 0;
    const backend = new ScriptedBackend(
      (text, sample) =>
        text.includes('1 + 1') ? new BackendError('model not found (404)', 404, false, undefined, true) : (calls++, answer(text, sample)),
      5,
    );
    const outcome = await runEvaluation(options(backend, { concurrency: 2 }));
    assert.equal(outcome.status, 'failed');
    assert.equal(backend.requests.length, 2, 'the second request was in flight; nothing after it was sent');
    assert.equal(outcome.run.completions.length, 4, 'the in-flight request finished and its chains were kept');
    assert.ok(calls >= 4);
  });

  it('samples adaptively in rounds, and a resumed adaptive run goes on from where its cells stood', async () => {
    const adaptive = PROMPT.replace('samples: 4', 'samples: {max: 10, min: 4, batch: 3}');
    const loadedAdaptive = await loadPrompt(path.join(folder, 'sums.prompt'), adaptive, nodeFileSystem);
    assert.deepEqual(loadedAdaptive.diagnostics, []);
    // Case a always agrees; b and c alternate two answers, so they never settle.
    const backend = new ScriptedBackend((text, sample) => (text.includes('1 + 1') ? 'The answer is 2.' : `The answer is ${sample % 2}.`));
    const controller = new AbortController();
    let records = 0;
    const first = await runEvaluation({
      ...options(backend, { concurrency: 1 }),
      loaded: loadedAdaptive,
      promptText: adaptive,
      signal: controller.signal,
      // Stop after a few rounds, mid-run.
      onRecord: () => ++records === 18 && controller.abort(),
    });
    assert.equal(first.status, 'cancelled');
    assert.deepEqual(first.run.header.stop, { rule: 'adaptive', min: 4, batch: 3, confidence: 0.95, window: 4 });
    const resumed = await runEvaluation({ ...options(backend), loaded: loadedAdaptive, promptText: adaptive, resume: first.runFile });
    assert.equal(resumed.status, 'completed');
    const byCell = new Map<string, number[]>();
    for (const record of resumed.run.completions) {
      const key = `${record.variant}/${record.caseId}`;
      byCell.set(key, [...(byCell.get(key) ?? []), record.sample]);
    }
    for (const variant of ['zero-shot', 'zero-shot-cot']) {
      assert.deepEqual(
        byCell.get(`${variant}/a`)?.sort((x, y) => x - y),
        [0, 1, 2, 3],
        `${variant}: a settles at 4`,
      );
      for (const caseId of ['b', 'c'])
        assert.deepEqual(
          byCell.get(`${variant}/${caseId}`)?.sort((x, y) => x - y),
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
          `${variant}/${caseId} draws all 10, each once`,
        );
    }
    // Rounds: 4, then 3, 3 (to 10) for an open cell; never more than a round per request.
    assert.ok(backend.requests.every((request) => request.n === 4 || request.n === 3 || request.n < 4));
  });

  it('stops the run when its file cannot be written, keeping every chain it has in the outcome', async () => {
    let started = '';
    const backend = new ScriptedBackend((text, sample) => answer(text, sample), 20);
    const outcome = await runEvaluation(
      options(backend, {
        concurrency: 1,
        // A directory where the file was: every write fails, as on a full or vanished disk.
        onStart: (_run, runFile) => {
          started = runFile;
          fs.rmSync(runFile);
          fs.mkdirSync(runFile);
        },
      }),
    );
    assert.ok(started);
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.error ?? '', /the run file could not be written: EISDIR/);
    assert.ok(backend.requests.length < 6, `it went on for ${backend.requests.length} requests`);
    assert.ok(outcome.run.completions.length > 0);
  });

  it('goes on after a non-fatal failure', async () => {
    const backend = new ScriptedBackend((text, sample) =>
      text.includes('1 + 1') ? new BackendError('server error (500)', 500, true) : answer(text, sample),
    );
    const outcome = await runEvaluation(options(backend, { concurrency: 1 }));
    assert.equal(outcome.status, 'completed');
    assert.equal(backend.requests.length, 6);
  });

  it('repairs a torn last line before appending, so the first resumed record is not lost', async () => {
    const first = await runEvaluation(options(new ScriptedBackend(answer), { variants: ['zero-shot'] }));
    // A crash mid-write: the last record is cut short, with no end record and no newline.
    const lines = fs.readFileSync(first.runFile, 'utf8').split('\n').filter(Boolean);
    const kept = lines.slice(0, 6);
    fs.writeFileSync(first.runFile, `${kept.join('\n')}\n${(lines[6] ?? '').slice(0, 25)}`);
    const warnings: string[] = [];
    const second = await runEvaluation(options(new ScriptedBackend(answer), { resume: first.runFile, onWarning: (w) => warnings.push(w) }));
    assert.equal(second.status, 'completed');
    assert.equal(second.run.completions.length, 12, 'every sample is in the file once more');
    assert.deepEqual(
      second.run.skipped.map((entry) => entry.line),
      [7],
    );
    assert.ok(
      warnings.some((w) => /torn line/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => /1 unreadable line skipped \(line 7: not JSON/.test(w)),
      warnings.join('\n'),
    );
  });

  it('skips a null line or a record missing fields with a warning, and requests those samples again', async () => {
    const first = await runEvaluation(options(new ScriptedBackend(answer), { variants: ['zero-shot'], cases: ['a'] }));
    const lines = fs.readFileSync(first.runFile, 'utf8').split('\n').filter(Boolean);
    const broken = JSON.parse(lines[2] ?? '{}') as Record<string, unknown>;
    delete broken.usage;
    fs.writeFileSync(first.runFile, [lines[0], lines[1], JSON.stringify(broken), 'null', lines[3], lines[4], ''].join('\n'));
    const warnings: string[] = [];
    const resumer = new ScriptedBackend(answer);
    const second = await runEvaluation(options(resumer, { resume: first.runFile, onWarning: (w) => warnings.push(w) }));
    assert.deepEqual(
      second.run.skipped.map((entry) => entry.reason),
      ['a completion with no token usage', 'not a record (null)'],
    );
    assert.ok(warnings.some((w) => /2 unreadable lines skipped/.test(w)));
    assert.deepEqual(
      resumer.requests.map((r) => [r.firstSample, r.n]),
      [[1, 1]],
    );
  });

  it('refuses to resume with another prompt file or a changed one, unless forced', async () => {
    const first = await runEvaluation(
      options(new ScriptedBackend(answer), { variants: ['zero-shot'], cases: ['a'], samples: 2, concurrency: 1 }),
    );
    const changed = `${PROMPT}\nExtra line.\n`;
    const edited = await loadPrompt(loaded.file, changed, nodeFileSystem);
    await assert.rejects(
      runEvaluation({ ...options(new ScriptedBackend(answer)), loaded: edited, promptText: changed, resume: first.runFile }),
      (error: unknown) => error instanceof RunSetupError && error.forcible && /changed since this run started/.test(error.message),
    );
    const other = await loadPrompt(path.join(folder, 'other.prompt'), PROMPT, nodeFileSystem);
    await assert.rejects(
      runEvaluation({ ...options(new ScriptedBackend(answer)), loaded: other, resume: first.runFile }),
      /This run is of .*sums\.prompt, not .*other\.prompt/,
    );
    const warnings: string[] = [];
    const forced = await runEvaluation({
      ...options(new ScriptedBackend(answer)),
      loaded: edited,
      promptText: changed,
      resume: first.runFile,
      force: true,
      onWarning: (w) => warnings.push(w),
    });
    assert.equal(forced.status, 'completed');
    assert.ok(warnings.some((w) => /forced/.test(w)));
  });

  it('refuses a selection naming a variant or case the prompt lacks, instead of running nothing', async () => {
    await assert.rejects(
      runEvaluation(options(new ScriptedBackend(answer), { variants: ['few-shot-typo'] })),
      /No variant named 'few-shot-typo' in this prompt \(it has: zero-shot, zero-shot-cot\)/,
    );
    await assert.rejects(runEvaluation(options(new ScriptedBackend(answer), { cases: ['z'] })), /No case named 'z'/);
  });

  it("never replays one endpoint's cached answers for another endpoint", async () => {
    const cache = new CompletionCache(path.join(folder, 'cache', 'scripted.jsonl'));
    const first = new ScriptedBackend(() => 'The answer is 1.', 0, 'http://server-one/v1');
    await runEvaluation(options(first, { cache, variants: ['zero-shot'] }));
    const second = new ScriptedBackend(() => 'The answer is 2.', 0, 'http://server-two/v1');
    const outcome = await runEvaluation(options(second, { cache, variants: ['zero-shot'] }));
    assert.equal(second.requests.length, 3, 'the second server was asked');
    assert.ok(outcome.run.completions.every((c) => c.text === 'The answer is 2.' && !c.cached));
    // The same endpoint again: replayed, and marked as replayed.
    const again = await runEvaluation(
      options(new ScriptedBackend(() => 'unused', 0, 'http://server-two/v1'), { cache, variants: ['zero-shot'] }),
    );
    assert.ok(again.run.completions.every((c) => c.cached && c.text === 'The answer is 2.'));
  });
});

describe('runEvaluation: seeds', function () {
  this.timeout(20_000);
  let folder: string;
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-seeds-'));
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));
  const answer = (_text: string, sample: number): string => `The answer is ${sample}.`;

  it("gives every chain its own seed from (run seed, variant, case, sample); the request's seed is its first chain's", async () => {
    const loaded = await loadPrompt(path.join(folder, 'sums.prompt'), PROMPT, nodeFileSystem);
    const backend = new ScriptedBackend(answer);
    const outcome = await runEvaluation({ loaded, promptText: PROMPT, backend, runsDirectory: path.join(folder, 'runs') });
    assert.equal(outcome.run.header.seed, 5);
    const seeds = backend.requests.flatMap((request) => request.seeds ?? []);
    assert.equal(seeds.length, 24);
    assert.equal(new Set(seeds).size, 24, 'no two chains of the run share a stream');
    const first = backend.requests.find((request) => request.text?.includes('1 + 1') && !request.text.includes('step by step'));
    assert.deepEqual(
      first?.seeds,
      [0, 1, 2, 3].map((sample) => chainSeed(5, 'zero-shot', 'a', sample)),
    );
    assert.equal(first?.seed, apiSeed(chainSeed(5, 'zero-shot', 'a', 0)));
  });

  it("draws and records a fresh run seed when the prompt sets none, and never replays another seed's chains", async () => {
    const text = PROMPT.replace('config: {temperature: 0.7, seed: 5}', 'config: {temperature: 0.7}');
    const loaded = await loadPrompt(path.join(folder, 'sums.prompt'), text, nodeFileSystem);
    const cache = new CompletionCache(path.join(folder, 'cache.jsonl'));
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const backend = new ScriptedBackend(answer);
      runs.push({
        backend,
        outcome: await runEvaluation({
          loaded,
          promptText: text,
          backend,
          runsDirectory: path.join(folder, 'runs'),
          cache,
          variants: ['zero-shot'],
        }),
      });
    }
    const [one, two] = runs;
    assert.ok(one && two);
    assert.equal(typeof one.outcome.run.header.seed, 'number');
    assert.notEqual(one.outcome.run.header.seed, two.outcome.run.header.seed);
    assert.equal(two.backend.requests.length, 3, 'a new seed is a new experiment: nothing replayed');
    // The recorded seed replays the run: the same seeds reach the backend.
    const replay = new ScriptedBackend(answer);
    const seeded = await loadPrompt(
      path.join(folder, 'sums.prompt'),
      text.replace('temperature: 0.7', `temperature: 0.7, seed: ${one.outcome.run.header.seed}`),
      nodeFileSystem,
    );
    await runEvaluation({
      loaded: seeded,
      promptText: text,
      backend: replay,
      runsDirectory: path.join(folder, 'runs'),
      variants: ['zero-shot'],
    });
    assert.deepEqual(
      replay.requests.map((r) => r.seeds),
      one.backend.requests.map((r) => r.seeds),
    );
  });
});

describe('chain seeds', () => {
  it('are uncorrelated across case ids: first draws of 10,000 cases at one sample index', () => {
    // The old scheme (seed + sample) gave every case the same stream at a given sample index.
    const draws = Array.from({ length: 10_000 }, (_, i) => seededRandom(chainSeed(11, 'zero-shot-cot', `case-${i}`, 0))());
    const mean = draws.reduce((sum, x) => sum + x, 0) / draws.length;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`); // SE = 0.0029
    // Lag-1 correlation between neighbouring case ids, and uniformity over 10 bins (chi-square, 9 df).
    let covariance = 0;
    for (let i = 1; i < draws.length; i++) covariance += ((draws[i] as number) - mean) * ((draws[i - 1] as number) - mean);
    const variance = draws.reduce((sum, x) => sum + (x - mean) ** 2, 0);
    assert.ok(Math.abs(covariance / variance) < 0.04, `lag-1 correlation ${covariance / variance}`); // SE = 0.01
    const bins = new Array<number>(10).fill(0);
    for (const x of draws) bins[Math.floor(x * 10)] = (bins[Math.floor(x * 10)] ?? 0) + 1;
    const chiSquare = bins.reduce((sum, count) => sum + (count - 1000) ** 2 / 1000, 0);
    assert.ok(chiSquare < 27.9, `chi-square ${chiSquare}`); // p = 0.001 at 9 degrees of freedom
    // Draws at sample 0 and sample 1 of the same cases are uncorrelated too.
    const next = Array.from({ length: 10_000 }, (_, i) => seededRandom(chainSeed(11, 'zero-shot-cot', `case-${i}`, 1))());
    let cross = 0;
    for (let i = 0; i < draws.length; i++) cross += ((draws[i] as number) - mean) * ((next[i] as number) - 0.5);
    assert.ok(Math.abs(cross / variance) < 0.04, `correlation across samples ${cross / variance}`);
  });

  it('depend on every part: run seed, variant, case and sample', () => {
    const base = chainSeed(1, 'v', 'c', 0);
    for (const other of [chainSeed(2, 'v', 'c', 0), chainSeed(1, 'w', 'c', 0), chainSeed(1, 'v', 'd', 0), chainSeed(1, 'v', 'c', 1)])
      assert.notEqual(other, base);
    assert.equal(chainSeed(1, 'v', 'c', 0), base, 'and nothing else');
    assert.ok(Number.isSafeInteger(base) && base >= 0);
    assert.ok(apiSeed(base) < 2 ** 31);
  });

  it('xoshiro128** matches its reference outputs', () => {
    // From the reference C implementation with state {1, 2, 3, 4}.
    const next = xoshiro128(1, 2, 3, 4);
    assert.deepEqual(Array.from({ length: 6 }, next), [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    assert.equal(splitmix64(0n), 0xe220a8397b1dcdafn);
  });
});

describe('contiguousRuns', () => {
  it('groups sample indices into requests', () => {
    assert.deepEqual(contiguousRuns([0, 1, 2, 5, 6, 9]), [[0, 1, 2], [5, 6], [9]]);
    assert.deepEqual(contiguousRuns([]), []);
  });
});
