import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Backend, Completion, CompletionOptions, CompletionRequest } from '../backend';
import { loadPrompt, nodeFileSystem, type LoadedPrompt } from '../prompt/load';
import { CompletionCache } from './cache';
import { contiguousRuns, runEvaluation } from './run';
import { parseRunFile } from './store';

/** An in-process backend that answers from a function of (prompt, sample), with optional pacing. */
class ScriptedBackend implements Backend {
  readonly id = 'scripted';
  readonly model = 'script-1';
  readonly endpoint = 'in-process';
  readonly input = 'text' as const;
  readonly maxConcurrency = 2;
  requests: CompletionRequest[] = [];

  constructor(
    private readonly answer: (text: string, sample: number) => string | Error,
    private readonly delayMs = 0,
  ) {}

  async *complete(request: CompletionRequest, options: CompletionOptions): AsyncIterable<Completion> {
    this.requests.push(request);
    for (let i = 0; i < request.n; i++) {
      if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      if (options.signal.aborted) return;
      const sample = request.firstSample + i;
      const answer = this.answer(request.text ?? '', sample);
      if (answer instanceof Error) throw answer;
      yield { sample, text: answer, finishReason: 'stop', usage: { promptTokens: 10, completionTokens: 5 }, latencyMs: this.delayMs };
    }
  }
}

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

describe('contiguousRuns', () => {
  it('groups sample indices into requests', () => {
    assert.deepEqual(contiguousRuns([0, 1, 2, 5, 6, 9]), [[0, 1, 2], [5, 6], [9]]);
    assert.deepEqual(contiguousRuns([]), []);
  });
});
