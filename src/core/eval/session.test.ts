import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ScriptedBackend } from '../../../testFixtures/scriptedBackend';
import { loadPrompt, nodeFileSystem } from '../prompt/load';
import { isComplete, summarizeRun } from './results';
import { RunSetupError } from './run';
import { EvaluationSession, InvalidPromptError, type SessionEvent } from './session';
import { RunFile } from './store';

const PROMPT = `---
name: parity
samples: 3
config: {temperature: 0.7}
variants: [zero-shot]
cases:
  - {name: a, input: "pick an even number", expected: even}
  - {name: b, input: "pick another even number", expected: even}
extract: number
scorer: {type: custom, file: parity-scorer.js}
---
{{q}}
`;

describe('EvaluationSession', function () {
  this.timeout(20_000);
  let folder: string;
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-session-'));
    fs.copyFileSync(path.resolve(__dirname, '../../../testFixtures/remote/parity-scorer.js'), path.join(folder, 'parity-scorer.js'));
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  const session = async (
    backend: ScriptedBackend,
    extra: { onEvent?: (event: SessionEvent) => void; trusted?: boolean; text?: string } = {},
  ) => {
    const text = extra.text ?? PROMPT;
    const loaded = await loadPrompt(path.join(folder, 'parity.prompt'), text, nodeFileSystem);
    return new EvaluationSession({
      loaded,
      promptText: text,
      backend,
      runsDirectory: path.join(folder, 'runs'),
      trusted: extra.trusted ?? true,
      ...(extra.onEvent ? { onEvent: extra.onEvent } : {}),
    });
  };

  it('runs, scores with the custom scorer, and mirrors the run file in memory', async () => {
    const events: SessionEvent['type'][] = [];
    let snapshotChains = 0;
    const running = await session(new ScriptedBackend((_text, sample) => `The answer is ${sample * 2}.`), {
      onEvent: (event) => {
        events.push(event.type);
        if (event.type === 'record') snapshotChains = running.snapshot()?.cells.reduce((sum, cell) => sum + cell.chains.length, 0) ?? 0;
      },
    });
    const { result, comparison } = await running.run();
    assert.equal(events[0], 'start');
    assert.equal(events.at(-1), 'result');
    assert.equal(events.filter((type) => type === 'record').length, 6);
    assert.equal(snapshotChains, 6, 'the snapshot after the last record holds every chain');
    assert.equal(comparison, undefined, 'no earlier run to compare with');
    assert.ok(result.runFile.endsWith('.jsonl') && fs.existsSync(result.runFile));
    assert.deepEqual(running.records, RunFile.open(result.runFile).read().completions);
    // Answers 0, 2, 4 are all even: the custom rule passes every chain.
    assert.equal(result.variants[0]?.singleChain.value, 1);
    assert.ok(result.cells.every((cell) => cell.chains.every((chain) => chain.reason.endsWith('is even'))));
    assert.ok(isComplete(result));
  });

  it('keeps a live summary: the overview and changed cells as records arrive, the result without re-scoring', async () => {
    const text = PROMPT.replace('scorer: {type: custom, file: parity-scorer.js}', 'scorer: exact').replace(
      /expected: even/g,
      'expected: 2',
    );
    const overviews: number[] = [];
    const changed: string[][] = [];
    const running = await session(new ScriptedBackend((_text, sample) => `The answer is ${sample * 2}.`), {
      text,
      onEvent: (event) => {
        if (event.type !== 'record') return;
        overviews.push(running.overview()?.coverage.finished ?? -1);
        changed.push(running.changedCells().map((cell) => `${cell.caseId}:${cell.chains}`));
      },
    });
    assert.equal(running.overview(), undefined, 'nothing before the run starts');
    assert.deepEqual(running.changedCells(), []);
    const { result } = await running.run();
    assert.deepEqual(overviews, [1, 2, 3, 4, 5, 6]);
    assert.ok(changed.every((cells) => cells.length === 1));
    const run = RunFile.open(result.runFile).read();
    const loaded = await loadPrompt(path.join(folder, 'parity.prompt'), text, nodeFileSystem);
    const expected = summarizeRun(loaded.document, loaded.cases, run, running.prices);
    // Running float sums may differ from a fresh pass in the last bits.
    const rounded = (value: unknown): unknown =>
      JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)));
    assert.deepEqual(rounded(result), rounded({ ...expected, runFile: result.runFile }));
    assert.deepEqual(result.cells, expected.cells);
    assert.deepEqual(rounded(running.overview()?.variants), rounded(expected.variants));
    assert.equal(running.overview()?.status, 'completed');
    assert.deepEqual(running.cell('zero-shot', result.cells[0]?.caseId ?? ''), result.cells[0]);
    assert.equal(running.allCells().length, 2);
  });

  it('compares a new run with the previous one of the same prompt, scored by the same rule', async () => {
    await (await session(new ScriptedBackend(() => 'The answer is 3.'))).run();
    const { result, comparison } = await (
      await session(new ScriptedBackend((text) => (text.includes('another') ? 'The answer is 4.' : 'The answer is 3.')))
    ).run();
    assert.ok(comparison);
    assert.deepEqual(
      comparison.variants.map(({ name, before, after, cases, fixed, regressed, significant }) => ({
        name,
        before,
        after,
        cases,
        fixed,
        regressed,
        significant,
      })),
      [{ name: 'zero-shot', before: 0, after: 0.5, cases: 2, fixed: 1, regressed: 0, significant: false }],
    );
    assert.equal(comparison.previousScoredAsRun, true, 'the earlier run stored its verdicts');
    assert.deepEqual(comparison.changes, [{ variant: 'zero-shot', caseId: result.cells[1]?.caseId, before: false, after: true }]);
  });

  it('compares with the earlier run as it scored then: a fix of the expected answers shows 0% → 75%, not +0.0 pt', async () => {
    // Four cases answered 4, 4, 4, 9; the first prompt expected 5 of each (wrong data), the fixed one 4.
    const prompt = (expected: number): string => `---
name: fix
samples: 1
variants: [zero-shot]
cases:
${['a', 'b', 'c', 'd'].map((name) => `  - {name: ${name}, input: "case ${name}", expected: ${expected}}`).join('\n')}
extract: number
scorer: exact
---
{{q}}
`;
    const backend = new ScriptedBackend((text) => (text.includes('case d') ? 'The answer is 9.' : 'The answer is 4.'));
    const first = await session(backend, { text: prompt(5) });
    assert.equal((await first.run()).result.variants[0]?.majorityVote.value, 0);
    const { result, comparison } = await (await session(backend, { text: prompt(4) })).run();
    assert.equal(result.variants[0]?.majorityVote.value, 0.75);
    assert.ok(comparison);
    assert.deepEqual(
      comparison.variants.map((variant) => [variant.name, variant.before, variant.after]),
      [['zero-shot', 0, 0.75]],
    );
  });

  it("re-scores an earlier run file without stored verdicts by today's rules, and says so", async () => {
    const { result: first } = await (await session(new ScriptedBackend(() => 'The answer is 3.'))).run();
    const kept = fs
      .readFileSync(first.runFile, 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('{"type":"verdicts"'));
    fs.writeFileSync(first.runFile, kept.join('\n'));
    const { comparison } = await (await session(new ScriptedBackend(() => 'The answer is 4.'))).run();
    assert.ok(comparison);
    assert.equal(comparison.previousScoredAsRun, false);
    assert.ok(comparison.differences.includes("the earlier run is re-scored by today's rules"), comparison.differences.join('; '));
    assert.deepEqual(
      comparison.variants.map((variant) => [variant.before, variant.after, variant.fixed]),
      [[0, 1, 2]],
    );
  });

  it('says so when the baseline is not among the variants run, and compares every pair instead', async () => {
    const text = PROMPT.replace('variants: [zero-shot]', 'variants: [zero-shot, zero-shot-cot]\nbaseline: zero-shot-cot').replace(
      'scorer: {type: custom, file: parity-scorer.js}',
      'scorer: exact',
    );
    const loaded = await loadPrompt(path.join(folder, 'parity.prompt'), text, nodeFileSystem);
    assert.deepEqual(loaded.diagnostics, []);
    const warnings: string[] = [];
    const running = new EvaluationSession({
      loaded,
      promptText: text,
      backend: new ScriptedBackend(() => 'The answer is 2.'),
      runsDirectory: path.join(folder, 'runs'),
      trusted: true,
      variants: ['zero-shot'],
      onEvent: (event) => event.type === 'warning' && warnings.push(event.message),
    });
    await running.run();
    assert.deepEqual(warnings, [
      "the baseline 'zero-shot-cot' is not among this run's variants (zero-shot): every pair of them is compared instead.",
    ]);
  });

  it('refuses a prompt with errors before anything runs', async () => {
    const broken = PROMPT.replace('samples: 3', 'samples: -1');
    await assert.rejects(
      session(new ScriptedBackend(() => 'x'), { text: broken }),
      (error: unknown) => error instanceof InvalidPromptError && error.diagnostics.length > 0,
    );
  });

  it('refuses the custom scorer in an untrusted workspace, loudly and before any request', async () => {
    const backend = new ScriptedBackend(() => 'The answer is 2.');
    await assert.rejects(
      (await session(backend, { trusted: false })).run(),
      (error: unknown) => error instanceof RunSetupError && /trust the workspace/.test(error.message),
    );
    assert.equal(backend.requests.length, 0);
  });
});
