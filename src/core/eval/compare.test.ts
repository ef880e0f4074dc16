import * as assert from 'node:assert/strict';
import { compareRuns } from './compare';
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

describe('compareRuns', () => {
  it('reports accuracy per variant before → after and the cells that flipped', () => {
    const before = run('r1', [cell('zero-shot', 'a', true), cell('zero-shot', 'b', false), cell('cot', 'a', false)]);
    const after = run('r2', [
      cell('zero-shot', 'a', false),
      cell('zero-shot', 'b', false),
      cell('cot', 'a', true),
      cell('cot', 'new', true),
    ]);
    const comparison = compareRuns(before, after);
    assert.equal(comparison.previousRunId, 'r1');
    assert.deepEqual(comparison.variants, [
      { name: 'zero-shot', before: 0.5, after: 0 },
      { name: 'cot', before: 0, after: 1 },
    ]);
    assert.deepEqual(comparison.changes, [
      { variant: 'zero-shot', caseId: 'a', before: true, after: false },
      { variant: 'cot', caseId: 'a', before: false, after: true },
    ]);
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
