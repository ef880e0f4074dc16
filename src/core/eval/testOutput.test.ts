import * as assert from 'node:assert/strict';
import type { CellResult } from './results';
import { cellTestOutput } from './testOutput';

function chain(sample: number, text: string, answer: string | undefined, extra: Partial<CellResult['chains'][number]> = {}) {
  return {
    sample,
    text,
    ...(answer !== undefined ? { answer } : {}),
    finishReason: 'stop' as const,
    latencyMs: 10,
    score: 0,
    pass: false,
    reason: answer === undefined ? 'no number found' : `${answer} ≠ 14`,
    promptTokens: 29,
    completionTokens: 12,
    ...extra,
  };
}

function cell(overrides: Partial<CellResult>): CellResult {
  return {
    variant: 'few-shot-cot',
    caseId: 'case-3',
    caseName: 'apples',
    input: { question: 'Tom has 12 apples…' },
    expected: 14,
    location: { file: 'arithmetic.prompt', line: 3 },
    chains: [],
    majorityPass: false,
    majorityScore: 0,
    agreement: 0,
    entropy: 0,
    distinct: [],
    clusters: [],
    majAtK: [],
    invalid: 0,
    errors: 0,
    missing: 0,
    ...overrides,
  };
}

describe('Test Explorer output of a cell', () => {
  it('a failure carries the case, expected and majority answers and the majority chain, in CRLF lines', () => {
    const out = cellTestOutput(
      cell({
        chains: [
          chain(0, '12 + 5 = 17.\n17 - 3 = 15.\nThe answer is 15.', '15'),
          chain(1, '12 + 5 = 17. 17 - 3 = 14.', '14', { pass: true }),
        ],
        majority: '15',
        agreement: 0.5,
      }),
    );
    assert.equal(out.outcome, 'failed');
    assert.equal(out.expected, '14');
    assert.equal(out.actual, '15');
    assert.match(
      out.message ?? '',
      /^Majority answer "15" \(agreement 50% of 2 chains\), expected 14\. 15 ≠ 14\n\nChain #1:\n12 \+ 5 = 17\.\n/,
    );
    assert.ok(out.output.endsWith('\r\n'));
    assert.doesNotMatch(out.output.replace(/\r\n/g, ''), /\n/, 'every line ends with CRLF');
    const lines = out.output.split('\r\n');
    assert.deepEqual(lines.slice(0, 5), [
      '✗ few-shot-cot / apples',
      '  case:     apples {"question":"Tom has 12 apples…"}',
      '  expected: 14',
      '  majority: 15 (50% of 2 chains)',
      '  chain #1 (answer 15):',
    ]);
    assert.deepEqual(lines.slice(5, 8), ['    12 + 5 = 17.', '    17 - 3 = 15.', '    The answer is 15.']);
  });

  it('a cell whose chains all failed says why, and has no answer', () => {
    const out = cellTestOutput(cell({ chains: [chain(0, '', undefined, { error: '429 rate limited' })], errors: 1 }));
    assert.equal(out.outcome, 'failed');
    assert.equal(out.actual, '(no answer)');
    assert.equal(out.message, 'All 1 chains failed: 429 rate limited');
    assert.match(out.output, /\r\n {2}error: {4}429 rate limited\r\n$/);
  });

  it('a pass is one line', () => {
    const out = cellTestOutput(
      cell({ chains: [chain(0, 'The answer is 14.', '14', { pass: true })], majority: '14', majorityPass: true, agreement: 1 }),
    );
    assert.equal(out.outcome, 'passed');
    assert.equal(out.message, undefined);
    assert.equal(out.output, '✓ few-shot-cot / apples: 14 (100% of 1 chains)\r\n');
  });
});
