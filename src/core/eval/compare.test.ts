import * as assert from 'node:assert/strict';
import { compareRuns, describeSignificance, formatDelta, sideOfResult, sideOfVerdicts } from './compare';
import { verdictsRecord, type RunHeader } from './store';
import { resultsToCsv } from './csv';
import type { CellResult, RunResult, VariantSummary } from './results';

function cell(variant: string, caseId: string, pass: boolean, text = 'The answer is 4.'): CellResult {
  return {
    variant,
    caseId,
    input: {},
    expected: 4,
    location: { file: 'a.prompt', line: 0 },
    chains: [
      {
        sample: 0,
        text,
        answer: pass ? '4' : '5',
        score: pass ? 1 : 0,
        pass,
        reason: '',
        finishReason: 'stop',
        promptTokens: 1,
        completionTokens: 1,
        latencyMs: 1,
      },
    ],
    majority: pass ? '4' : '5',
    majorityPass: pass,
    majorityScore: pass ? 1 : 0,
    agreement: 1,
    entropy: 0,
    distinct: [],
    clusters: [{ answer: pass ? '4' : '5', samples: [0], count: 1, pass, majority: true }],
    majAtK: [pass ? 1 : 0],
    invalid: 0,
    errors: 0,
    missing: 0,
  };
}

function run(id: string, cells: CellResult[]): RunResult {
  const variants = [...new Set(cells.map((c) => c.variant))].map((name): VariantSummary => {
    const mine = cells.filter((c) => c.variant === name);
    const passed = mine.filter((c) => c.majorityPass).length;
    const interval = { low: 0, high: 1, method: 'wilson' as const, se: null, cases: mine.length, effectiveTrials: mine.length };
    const accuracy = { value: passed / mine.length, ...interval, successes: passed, trials: mine.length };
    return {
      name,
      kind: name,
      cases: mine.length,
      chains: mine.length,
      singleChain: accuracy,
      majorityVote: accuracy,
      majAtK: [accuracy.value],
      majAtKIntervals: [interval],
      meanScore: 0,
      meanScoreInterval: interval,
      meanAgreement: 1,
      meanEntropy: 0,
      invalidRate: 0,
      promptTokens: 0,
      completionTokens: 0,
      reasoningTokens: 0,
      meanLatencyMs: 0,
      cost: null,
      settledEarly: 0,
      chainsUsed: 0,
      chainsSaved: 0,
      tokensSaved: 0,
      costSaved: null,
      tokensPerCorrect: null,
      costPerCorrect: null,
    };
  });
  return {
    schema: 'chainscope.result/1',
    runId: id,
    runFile: '',
    promptFile: 'a.prompt',
    backend: { id: 'x', model: 'y' },
    status: 'completed',
    coverage: { expected: cells.length, finished: cells.length, failed: 0, missing: 0, cached: 0 },
    startedAt: id,
    samples: 1,
    sampling: {},
    adjustments: [],
    extract: 'number',
    scorer: 'exact',
    threshold: 1,
    variants,
    cells,
  };
}

/** A side from verdicts given as strings of 1 (right) and 0 (wrong), one mark per case c0, c1, …. */
function side(id: string, marks: Record<string, string>, extra: { seed?: number; samples?: number } = {}): ReturnType<typeof sideOfResult> {
  const cells = Object.entries(marks).flatMap(([variant, string]) => [...string].map((mark, i) => cell(variant, `c${i}`, mark === '1')));
  const result = run(id, cells);
  return sideOfResult({ ...result, samples: extra.samples ?? 1 }, { seed: extra.seed ?? 1, promptHash: 'h' });
}

describe('compareRuns', () => {
  it('takes a prompt fixed from 0% to 75% as +75 pt (3 fixed cases), the earlier run named', () => {
    const comparison = compareRuns(side('r1', { v: '0000' }), side('r2', { v: '1110' }));
    assert.equal(comparison.previousRunId, 'r1');
    assert.equal(comparison.previousStartedAt, 'r1');
    assert.equal(comparison.previousModel, 'x:y');
    const [variant] = comparison.variants;
    assert.ok(variant);
    assert.deepEqual([variant.before, variant.after, variant.cases, variant.fixed, variant.regressed], [0, 0.75, 4, 3, 0]);
    assert.equal(formatDelta(variant), '+75.0 pt');
    assert.ok(Math.abs(variant.pValue - 0.25) < 1e-12, 'exact McNemar: 3 vs 0 discordant cases');
    assert.equal(variant.significant, false, 'four cases cannot show it');
    assert.deepEqual(comparison.differences, []);
  });

  it('compares a one-case run with a four-case run on their one shared case, and says what it left out', () => {
    const before = run('r1', [cell('v', 'a', false), cell('v', 'b', false), cell('v', 'c', false), cell('v', 'd', true)]);
    const after = run('r2', [cell('v', 'd', true), cell('w', 'd', true)]);
    const comparison = compareRuns(sideOfResult(before), sideOfResult(after));
    assert.deepEqual(
      comparison.variants.map((variant) => [variant.name, variant.before, variant.after, variant.cases]),
      [['v', 1, 1, 1]],
      'not 25% → 100%: the three cases the new run lacks are not counted as its failures',
    );
    assert.equal(comparison.casesOnlyBefore, 3);
    assert.equal(comparison.casesOnlyAfter, 0);
    assert.deepEqual(comparison.variantsOnlyAfter, ['w']);
    assert.deepEqual(comparison.variantsOnlyBefore, []);
  });

  it('does not call a seed change of −10 pt with overlapping intervals significant, and names the seed change', () => {
    // 20 cases: 12 right before, 10 now; 3 regressed, 1 fixed.
    const comparison = compareRuns(
      side('r1', { v: '11111111111100000000' }, { seed: 1 }),
      side('r2', { v: '00011111111110000000' }, { seed: 2 }),
    );
    const [variant] = comparison.variants;
    assert.ok(variant);
    assert.equal(formatDelta(variant), '−10.0 pt');
    assert.deepEqual([variant.fixed, variant.regressed], [1, 3]);
    assert.ok(Math.abs(variant.pValue - 0.625) < 1e-12);
    assert.equal(variant.significant, false);
    assert.ok(variant.low < 0 && variant.high >= 0, `the interval [${variant.low}, ${variant.high}] holds 0`);
    assert.match(describeSignificance(variant), /not significant/);
    assert.deepEqual(comparison.differences, ['seed 1 → 2']);
  });

  it('calls a large paired improvement significant', () => {
    const comparison = compareRuns(side('r1', { v: '0'.repeat(40) }), side('r2', { v: '1'.repeat(30) + '0'.repeat(10) }));
    assert.equal(comparison.variants[0]?.significant, true);
    assert.ok((comparison.variants[0]?.low ?? 0) > 0);
  });

  it('flags each shared cell that regressed or was fixed, per variant', () => {
    const before = run('r1', [
      cell('zero-shot', 'a', true),
      cell('zero-shot', 'b', false),
      cell('cot', 'a', false),
      cell('old', 'a', true),
    ]);
    const after = run('r2', [
      cell('zero-shot', 'a', false),
      cell('zero-shot', 'b', false),
      cell('cot', 'a', true),
      cell('cot', 'new', true),
    ]);
    const comparison = compareRuns(sideOfResult(before), sideOfResult(after));
    assert.deepEqual(comparison.changes, [
      { variant: 'zero-shot', caseId: 'a', before: true, after: false },
      { variant: 'cot', caseId: 'a', before: false, after: true },
    ]);
    assert.deepEqual(
      comparison.variants.map((variant) => [variant.name, variant.before, variant.after, variant.fixed, variant.regressed]),
      [
        ['zero-shot', 0.5, 0, 0, 1],
        ['cot', 0, 1, 1, 0],
      ],
    );
    assert.deepEqual(comparison.variantsOnlyBefore, ['old']);
    assert.equal(comparison.casesOnlyAfter, 1, "'new' is not compared");
  });

  it('reads stored verdicts back in header order, cells without a chain left out', () => {
    const header: RunHeader = {
      type: 'run',
      schema: 'chainscope.runfile/2',
      id: 'r1',
      promptFile: 'a.prompt',
      promptHash: 'h0',
      backend: { id: 'x', model: 'y', input: 'chat' },
      sampling: {},
      seed: 1,
      samples: 1,
      variants: ['v'],
      cases: ['a', 'b', 'c'],
      startedAt: 't',
    };
    const stored = verdictsRecord(header, { variants: [] }, [
      cell('v', 'a', true),
      cell('v', 'c', false),
      { ...cell('v', 'b', true), chains: [] },
    ]);
    assert.deepEqual(stored.pass, { v: '1-0' });
    const after = run('r2', [cell('v', 'a', false), cell('v', 'b', true), cell('v', 'c', false)]);
    const previous = sideOfVerdicts(header, stored);
    const comparison = compareRuns(previous, sideOfResult(after, { seed: 1, promptHash: 'h1' }));
    assert.deepEqual(comparison.changes, [{ variant: 'v', caseId: 'a', before: true, after: false }]);
    assert.equal(comparison.casesOnlyAfter, 1, 'b had no verdict before');
    assert.deepEqual(comparison.differences, ['the prompt file changed']);
  });
});

describe('resultsToCsv', () => {
  it('writes one row per chain, quoting what would break a row or start a formula', () => {
    const csv = resultsToCsv(run('r', [cell('zero-shot', 'a', true, 'line one\nsays "4", then =SUM(A1)')]));
    const lines = csv.trimEnd().split('\n');
    assert.equal(
      lines[0],
      'variant,case,sample,expected,answer,pass,score,majority,majority_pass,agreement,entropy,prompt_tokens,completion_tokens,latency_ms,error,completion',
    );
    assert.ok(csv.includes('"line one\nsays ""4"", then =SUM(A1)"'));
    assert.match(lines[1] ?? '', /^zero-shot,a,0,4,4,true,1,4,true,1,0,1,1,1,,/);
    const formula = resultsToCsv(run('r', [cell('v', 'a', true, '=HYPERLINK("x")')]));
    assert.ok(formula.includes(`"'=HYPERLINK(""x"")"`), 'a leading = is neutralized');
  });

  it('adds one input.<name> column per input after the case, in first-seen order, empty where a case lacks it', () => {
    const a = { ...cell('v', 'a', true), input: { question: '6 + 1 = ?', n: 3 } };
    const b = { ...cell('v', 'b', true), input: { question: '=2+2, "quoted"', extra: { k: [1] } } };
    const lines = resultsToCsv(run('r', [a, b]))
      .trimEnd()
      .split('\n');
    assert.match(lines[0] ?? '', /^variant,case,input\.question,input\.n,input\.extra,sample,expected,/);
    assert.match(lines[1] ?? '', /^v,a,6 \+ 1 = \?,3,,0,4,/);
    assert.match(lines[2] ?? '', /^v,b,"'=2\+2, ""quoted""",,"\{""k"":\[1\]\}",0,4,/);
  });
});
