import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ScriptedBackend } from '../../../testFixtures/scriptedBackend';
import { BackendError, type Backend } from '../backend';
import { loadPrompt, nodeFileSystem, type LoadedPrompt } from '../prompt/load';
import { CompletionCache } from './cache';
import { contiguousRuns, runEvaluation, RunSetupError } from './run';
import { parseRunFile } from './store';

const PROMPT = `---
name: sums
samples: 4
config: {temperature: 0.7}
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

  const options = (backend: Backend, extra: Partial<Parameters<typeof runEvaluation>[0]> = {}) => ({ loaded, promptText: PROMPT, backend, runsDirectory: path.join(folder, 'runs'), ...extra });

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
    const first = await runEvaluation(options(slow, {
      signal: controller.signal,
      onRecord: () => {
        if (++seen === 7) controller.abort();
      },
    }));
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
    const backend = new ScriptedBackend((text, sample) => (text.includes('2 + 2') ? new Error('server error (500)') : `The answer is ${sample}.`));
    const outcome = await runEvaluation(options(backend));
    assert.equal(outcome.status, 'completed');
    const failed = outcome.run.completions.filter((c) => c.error);
    assert.equal(failed.length, 8);
    assert.ok(failed.every((c) => c.caseId === 'b' && c.error === 'server error (500)'));
    assert.equal(outcome.run.completions.filter((c) => !c.error).length, 16);

    // Resuming retries only the failed chains.
    const retry = new ScriptedBackend((_text, sample) => `The answer is ${sample}.`);
    await runEvaluation(options(retry, { resume: outcome.runFile }));
    assert.deepEqual(retry.requests.map((r) => r.n), [4, 4]);
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
    assert.deepEqual(again.run.completions.filter((c) => c.caseId === 'a').map((c) => c.text), ['The answer is 0.', 'The answer is 1.', 'The answer is 2.', 'The answer is 3.']);
    // More samples than cached: only the new sample indices are requested.
    await runEvaluation(options(backend, { cache, variants: ['zero-shot'], samples: 6 }));
    assert.equal(calls, 18);
  });

  it('warns when several samples are drawn at temperature 0', async () => {
    const text = PROMPT.replace('temperature: 0.7', 'temperature: 0');
    const zero = await loadPrompt(path.join(folder, 'zero.prompt'), text, nodeFileSystem);
    const warnings: string[] = [];
    await runEvaluation({ loaded: zero, promptText: text, backend: new ScriptedBackend(() => 'The answer is 2.'), runsDirectory: path.join(folder, 'runs'), variants: ['zero-shot'], onWarning: (w) => warnings.push(w) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /temperature 0/);
  });

  it('runs the answer prompt of zero-shot CoT on each chain', async () => {
    const text = PROMPT.replace('variants: [zero-shot, zero-shot-cot]', 'variants: [{type: zero-shot-cot, answer_prompt: "Therefore, the answer is"}]');
    const staged = await loadPrompt(path.join(folder, 'staged.prompt'), text, nodeFileSystem);
    const backend = new ScriptedBackend((prompt, sample) => (prompt.endsWith('Therefore, the answer is') ? ` ${sample + 10}.` : `I add the numbers, chain ${sample}.`));
    const outcome = await runEvaluation({ loaded: staged, promptText: text, backend, runsDirectory: path.join(folder, 'runs'), cases: ['a'] });
    const records = outcome.run.completions;
    assert.equal(records.length, 4);
    assert.deepEqual(records.map((r) => r.answerText).sort(), ['Therefore, the answer is 10.', 'Therefore, the answer is 11.', 'Therefore, the answer is 12.', 'Therefore, the answer is 13.']);
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
  const options = (backend: Backend, extra: Partial<Parameters<typeof runEvaluation>[0]> = {}) => ({ loaded, promptText: PROMPT, backend, runsDirectory: path.join(folder, 'runs'), ...extra });
  const answer = (_text: string, sample: number): string => `The answer is ${sample}.`;

  it('stops at the first fatal error: no further request, run failed with the reason, no chain recorded for it', async () => {
    const backend = new ScriptedBackend(() => new BackendError('authentication failed (401): the API key was rejected', 401, false, undefined, true));
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
    const backend = new ScriptedBackend((text, sample) => (text.includes('1 + 1') ? new BackendError('model not found (404)', 404, false, undefined, true) : (calls++, answer(text, sample))), 5);
    const outcome = await runEvaluation(options(backend, { concurrency: 2 }));
    assert.equal(outcome.status, 'failed');
    assert.equal(backend.requests.length, 2, 'the second request was in flight; nothing after it was sent');
    assert.equal(outcome.run.completions.length, 4, 'the in-flight request finished and its chains were kept');
    assert.ok(calls >= 4);
  });

  it('goes on after a non-fatal failure', async () => {
    const backend = new ScriptedBackend((text, sample) => (text.includes('1 + 1') ? new BackendError('server error (500)', 500, true) : answer(text, sample)));
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
    assert.deepEqual(second.run.skipped.map((entry) => entry.line), [7]);
    assert.ok(warnings.some((w) => /torn line/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => /1 unreadable line skipped \(line 7: not JSON/.test(w)), warnings.join('\n'));
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
    assert.deepEqual(second.run.skipped.map((entry) => entry.reason), ['a completion with no token usage', 'not a record (null)']);
    assert.ok(warnings.some((w) => /2 unreadable lines skipped/.test(w)));
    assert.deepEqual(resumer.requests.map((r) => [r.firstSample, r.n]), [[1, 1]]);
  });

  it('refuses to resume with another prompt file or a changed one, unless forced', async () => {
    const first = await runEvaluation(options(new ScriptedBackend(answer), { variants: ['zero-shot'], cases: ['a'], samples: 2, concurrency: 1 }));
    const changed = `${PROMPT}\nExtra line.\n`;
    const edited = await loadPrompt(loaded.file, changed, nodeFileSystem);
    await assert.rejects(runEvaluation({ ...options(new ScriptedBackend(answer)), loaded: edited, promptText: changed, resume: first.runFile }), (error: unknown) => error instanceof RunSetupError && error.forcible && /changed since this run started/.test(error.message));
    const other = await loadPrompt(path.join(folder, 'other.prompt'), PROMPT, nodeFileSystem);
    await assert.rejects(runEvaluation({ ...options(new ScriptedBackend(answer)), loaded: other, resume: first.runFile }), /This run is of .*sums\.prompt, not .*other\.prompt/);
    const warnings: string[] = [];
    const forced = await runEvaluation({ ...options(new ScriptedBackend(answer)), loaded: edited, promptText: changed, resume: first.runFile, force: true, onWarning: (w) => warnings.push(w) });
    assert.equal(forced.status, 'completed');
    assert.ok(warnings.some((w) => /forced/.test(w)));
  });

  it('refuses a selection naming a variant or case the prompt lacks, instead of running nothing', async () => {
    await assert.rejects(runEvaluation(options(new ScriptedBackend(answer), { variants: ['few-shot-typo'] })), /No variant named 'few-shot-typo' in this prompt \(it has: zero-shot, zero-shot-cot\)/);
    await assert.rejects(runEvaluation(options(new ScriptedBackend(answer), { cases: ['z'] })), /No case named 'z'/);
  });

  it('never replays one endpoint\'s cached answers for another endpoint', async () => {
    const cache = new CompletionCache(path.join(folder, 'cache', 'scripted.jsonl'));
    const first = new ScriptedBackend(() => 'The answer is 1.', 0, 'http://server-one/v1');
    await runEvaluation(options(first, { cache, variants: ['zero-shot'] }));
    const second = new ScriptedBackend(() => 'The answer is 2.', 0, 'http://server-two/v1');
    const outcome = await runEvaluation(options(second, { cache, variants: ['zero-shot'] }));
    assert.equal(second.requests.length, 3, 'the second server was asked');
    assert.ok(outcome.run.completions.every((c) => c.text === 'The answer is 2.' && !c.cached));
    // The same endpoint again: replayed, and marked as replayed.
    const again = await runEvaluation(options(new ScriptedBackend(() => 'unused', 0, 'http://server-two/v1'), { cache, variants: ['zero-shot'] }));
    assert.ok(again.run.completions.every((c) => c.cached && c.text === 'The answer is 2.'));
  });
});

describe('contiguousRuns', () => {
  it('groups sample indices into requests', () => {
    assert.deepEqual(contiguousRuns([0, 1, 2, 5, 6, 9]), [[0, 1, 2], [5, 6], [9]]);
    assert.deepEqual(contiguousRuns([]), []);
  });
});
