import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Usage } from '../backend';
import { loadFrontmatter, runFileOf } from '../../../testFixtures/runs';
import type { LoadedPrompt } from '../prompt/load';
import { scoreWithCustomScorer, summarizeRun, type Accuracy, type CellResult, type Interval, type RunResult } from './results';
import type { CompletionRecord, EndRecord, ParsedRunFile } from './store';

// Every expected number below is worked out by hand in the comment next to it, never read off the code.

const root = path.resolve(__dirname, '../../..');

const close = (actual: number, expected: number, what = 'value'): void =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);
const closeAll = (actual: readonly number[], expected: readonly number[], what = 'values'): void => {
  assert.equal(actual.length, expected.length, `${what}: [${actual.join(', ')}] has ${actual.length} entries, expected ${expected.length}`);
  actual.forEach((value, i) => close(value, expected[i] as number, `${what}[${i}]`));
};
/** −Σ p·log2 p of counts over n chains. */
const entropyOf = (counts: number[], n: number): number => -counts.reduce((sum, count) => sum + (count / n) * Math.log2(count / n), 0);

/** The 95% Wilson interval by its closed formula, n possibly fractional: (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n). */
function wilsonByHand(p: number, n: number): [number, number] {
  const z = 1.959964;
  const centre = p + (z * z) / (2 * n);
  const half = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  const denominator = 1 + (z * z) / n;
  // The exact bounds at 0 and n successes are 0 and 1.
  return [p === 0 ? 0 : (centre - half) / denominator, p === 1 ? 1 : (centre + half) / denominator];
}

/** An interval that is Wilson's at proportion p over n (effective) trials, made by `method`. */
function assertInterval(actual: Interval, p: number, n: number, method: Interval['method'], what: string): void {
  assert.equal(actual.method, method, `${what} method`);
  close(actual.effectiveTrials, n, `${what} effectiveTrials`);
  const [low, high] = wilsonByHand(p, n);
  close(actual.low, low, `${what} low`);
  close(actual.high, high, `${what} high`);
}

/** The majority vote: a Wilson interval over cases, SE √(p̂(1−p̂)/n). */
function assertWilson(actual: Accuracy, successes: number, trials: number, what: string): void {
  assert.equal(actual.successes, successes, `${what} successes`);
  assert.equal(actual.trials, trials, `${what} trials`);
  assert.equal(actual.cases, trials, `${what} cases`);
  const p = successes / trials;
  close(actual.value, p, `${what} value`);
  close(actual.se ?? Number.NaN, Math.sqrt((p * (1 - p)) / trials), `${what} se`);
  assertInterval(actual, p, trials, 'wilson', what);
}

/** Single chain: passing chains / chains, the interval Wilson's at the effective n of the case-clustered SE (null: one case). */
function assertClustered(
  actual: Accuracy,
  successes: number,
  trials: number,
  cases: number,
  se: number | null,
  effectiveTrials: number,
  what: string,
): void {
  assert.equal(actual.successes, successes, `${what} successes`);
  assert.equal(actual.trials, trials, `${what} trials`);
  assert.equal(actual.cases, cases, `${what} cases`);
  close(actual.value, successes / trials, `${what} value`);
  if (se === null) assert.equal(actual.se, null, `${what} se`);
  else close(actual.se ?? Number.NaN, se, `${what} se`);
  assertInterval(actual, successes / trials, effectiveTrials, 'clustered', what);
}

const load = loadFrontmatter;

interface ChainSpec {
  variant?: string;
  caseId: string;
  sample: number;
  text: string;
  answerText?: string;
  error?: string;
  usage?: Usage;
  latencyMs?: number;
  cached?: boolean;
}

/** The one place a completion record is built, so a change of the record's shape is a change here only. */
function completion(spec: ChainSpec): CompletionRecord {
  return {
    type: 'completion',
    variant: spec.variant ?? 'zero-shot',
    caseId: spec.caseId,
    sample: spec.sample,
    text: spec.text,
    ...(spec.answerText !== undefined ? { answerText: spec.answerText } : {}),
    finishReason: spec.error ? 'error' : 'stop',
    usage: spec.usage ?? { promptTokens: 0, completionTokens: 0 },
    latencyMs: spec.latencyMs ?? 0,
    ...(spec.error ? { error: spec.error } : {}),
    ...(spec.cached ? { cached: true } : {}),
  };
}

/** Records of one cell, sample i answering texts[i]. */
const answers = (caseId: string, texts: string[], variant?: string): CompletionRecord[] =>
  texts.map((text, sample) => completion({ caseId, sample, text, ...(variant ? { variant } : {}) }));

/** The run file of these records, ended as `end` (null: still running). */
const runOf = (loaded: LoadedPrompt, completions: CompletionRecord[], end: EndRecord['status'] | null = 'completed'): ParsedRunFile =>
  runFileOf(loaded, completions, end === null ? {} : { end });

function cellOf(result: RunResult, caseId: string, variant = 'zero-shot'): CellResult {
  const cell = result.cells.find((c) => c.caseId === caseId && c.variant === variant);
  assert.ok(cell, `no cell ${variant} × ${caseId}`);
  return cell;
}

const distinctOf = (cell: CellResult): [string, number][] => cell.distinct.map((d) => [d.answer, d.count]);

describe('summarizeRun', () => {
  it('votes a cell: majority, agreement, entropy, distinct answers, invalid chains, maj@k (answers 7, 5, 7, none)', async () => {
    const loaded = await load(`
samples: 4
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 7}
extract: text
scorer: exact
`);
    const result = summarizeRun(loaded.document, loaded.cases, runOf(loaded, answers('a', ['7', '5', '7', '   '])));
    const cell = cellOf(result, 'a');
    assert.deepEqual(
      cell.chains.map((c) => c.answer),
      ['7', '5', '7', undefined],
    );
    assert.deepEqual(
      cell.chains.map((c) => c.pass),
      [true, false, true, false],
    );
    assert.equal(cell.majority, '7');
    assert.equal(cell.majorityPass, true);
    assert.equal(cell.majorityScore, 1);
    assert.deepEqual(distinctOf(cell), [
      ['7', 2],
      ['5', 1],
    ]);
    close(cell.agreement, 0.5, 'agreement'); // 2 of 4 chains, the invalid one included
    close(cell.entropy, 1.5, 'entropy'); // −(½·log2 ½ + 2·¼·log2 ¼) = ½ + 1
    assert.equal(cell.invalid, 1);
    assert.equal(cell.errors, 0);
    assert.equal(cell.missing, 0);
    // Keys [7, 5, 7, ∅], 7 correct; a subset's tie goes to its first chain.
    // k=1: 2/4. k=2: {01 ✓, 02 ✓, 03 ✓, 12 ✗ (5 first), 13 ✗, 23 ✓} = 4/6.
    // k=3: {012 ✓, 013 ✓ (tie, 7 first), 023 ✓, 123 ✗ (tie, 5 first)} = 3/4. k=4: 7 twice ✓.
    closeAll(cell.majAtK, [1 / 2, 4 / 6, 3 / 4, 1], 'majAtK');
    const variant = result.variants[0];
    assert.ok(variant);
    // One case: no spread between cases to measure (no SE), so Wilson at n = 1 — it speaks of this case only.
    assertClustered(variant.singleChain, 2, 4, 1, null, 1, 'singleChain');
    assertWilson(variant.majorityVote, 1, 1, 'majorityVote');
    closeAll(variant.majAtK, [1 / 2, 4 / 6, 3 / 4, 1], 'variant majAtK'); // one cell: its own curve
    close(variant.invalidRate, 1 / 4, 'invalidRate');
    close(variant.meanScore, 2 / 4, 'meanScore');
  });

  it('gives a tie to the lowest sample index, whatever order the records were written in', async () => {
    const loaded = await load(`
samples: 4
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 5}
extract: text
scorer: exact
`);
    // Samples 0…3 answer 5, 7, 5, 7; the file holds them as 1, 0, 3, 2 (parallel requests finish out of order).
    const records = [
      completion({ caseId: 'a', sample: 1, text: '7' }),
      completion({ caseId: 'a', sample: 0, text: '5' }),
      completion({ caseId: 'a', sample: 3, text: '7' }),
      completion({ caseId: 'a', sample: 2, text: '5' }),
    ];
    const cell = cellOf(summarizeRun(loaded.document, loaded.cases, runOf(loaded, records)), 'a');
    assert.deepEqual(
      cell.chains.map((c) => c.sample),
      [0, 1, 2, 3],
    );
    assert.equal(cell.majority, '5'); // 5 and 7 tie at 2; 5 is sample 0
    assert.equal(cell.majorityPass, true);
    assert.deepEqual(distinctOf(cell), [
      ['5', 2],
      ['7', 2],
    ]);
    close(cell.agreement, 0.5, 'agreement');
    close(cell.entropy, 1, 'entropy'); // two halves: 1 bit
    // Keys [5, 7, 5, 7], 5 correct. k=1: 2/4. k=2: {01 ✓, 02 ✓, 03 ✓, 12 ✗, 13 ✗, 23 ✓} = 4/6.
    // k=3: {012 ✓, 013 ✗, 023 ✓, 123 ✗} = 2/4. k=4: tie, 5 first ✓.
    closeAll(cell.majAtK, [2 / 4, 4 / 6, 2 / 4, 1], 'majAtK');
  });

  it('never lets invalid chains win, even as the most frequent category; a failed request is an invalid chain', async () => {
    const loaded = await load(`
samples: 5
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 3}
  - {name: b, input: "y", expected: 3}
extract: text
scorer: exact
`);
    const records = [
      completion({ caseId: 'a', sample: 0, text: '' }),
      completion({ caseId: 'a', sample: 1, text: '3' }),
      completion({ caseId: 'a', sample: 2, text: '', error: 'HTTP 500' }),
      completion({ caseId: 'a', sample: 3, text: ' ' }),
      completion({ caseId: 'a', sample: 4, text: '4' }),
      ...answers('b', ['', '', '', '', '']),
    ];
    const result = summarizeRun(loaded.document, loaded.cases, runOf(loaded, records));
    const a = cellOf(result, 'a');
    assert.equal(a.majority, '3'); // invalid 3×, 3 and 4 once each: 3 came first
    assert.equal(a.majorityPass, true);
    assert.deepEqual(distinctOf(a), [
      ['3', 1],
      ['4', 1],
    ]);
    assert.equal(a.invalid, 3);
    assert.equal(a.errors, 1);
    assert.equal(a.chains[2]?.error, 'HTTP 500');
    assert.equal(a.chains[2]?.pass, false);
    close(a.agreement, 1 / 5, 'agreement'); // over all 5 chains, not the 2 valid ones
    close(a.entropy, entropyOf([3, 1, 1], 5), 'entropy'); // −(3/5·log2 3/5 + 2·1/5·log2 1/5) ≈ 1.371
    // Keys [∅, 3, ∅, ∅, 4]: a subset wins exactly when it holds sample 1 (4 comes after it, ties go to 3),
    // C(4, k−1)/C(5, k) = k/5.
    closeAll(a.majAtK, [1 / 5, 2 / 5, 3 / 5, 4 / 5, 1], 'majAtK a');

    const b = cellOf(result, 'b');
    assert.equal(b.majority, undefined);
    assert.equal(b.majorityPass, false);
    assert.equal(b.majorityScore, 0);
    assert.equal(b.agreement, 0);
    assert.equal(b.entropy, 0); // one category
    assert.deepEqual(b.distinct, []);
    assert.equal(b.invalid, 5);
    closeAll(b.majAtK, [0, 0, 0, 0, 0], 'majAtK b');

    const variant = result.variants[0];
    assert.ok(variant);
    close(variant.invalidRate, 8 / 10, 'invalidRate'); // 3 + 5 of 10 chains
    // Cases 1/5 and 0/5: p̂ = 0.1; SE² = 2/1 · ((1 − 0.5)² + (0 − 0.5)²) / 10² = 0.01; n_eff = 0.09/0.01 = 9.
    assertClustered(variant.singleChain, 1, 10, 2, 0.1, 9, 'singleChain');
    assertWilson(variant.majorityVote, 1, 2, 'majorityVote');
    closeAll(variant.majAtK, [1 / 10, 1 / 5, 3 / 10, 2 / 5, 1 / 2], 'variant majAtK'); // (k/5 + 0) / 2
  });

  it('lets a resumed retry replace an earlier failure of the same sample, but never a failure replace a success', async () => {
    const loaded = await load(`
samples: 3
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 7}
  - {name: b, input: "y", expected: 7}
extract: text
scorer: exact
`);
    const records = [
      completion({ caseId: 'a', sample: 0, text: '5' }),
      completion({ caseId: 'a', sample: 1, text: '', error: 'HTTP 429' }),
      completion({ caseId: 'a', sample: 2, text: '7' }),
      completion({ caseId: 'b', sample: 0, text: '', error: 'HTTP 500' }),
      // The resumed run: sample 1 retried and answered; a stray later failure of sample 2.
      completion({ caseId: 'a', sample: 1, text: '7' }),
      completion({ caseId: 'a', sample: 2, text: '', error: 'timeout' }),
      completion({ caseId: 'b', sample: 0, text: '', error: 'HTTP 503' }),
    ];
    const result = summarizeRun(loaded.document, loaded.cases, runOf(loaded, records));
    const a = cellOf(result, 'a');
    assert.deepEqual(
      a.chains.map((c) => c.sample),
      [0, 1, 2],
    );
    assert.deepEqual(
      a.chains.map((c) => c.answer),
      ['5', '7', '7'],
    );
    assert.deepEqual(
      a.chains.map((c) => c.error),
      [undefined, undefined, undefined],
    );
    assert.equal(a.errors, 0);
    assert.equal(a.invalid, 0);
    assert.equal(a.majority, '7'); // 5, 7, 7; with either failure kept it would be a 5–7 tie won by 5
    assert.equal(a.majorityPass, true);
    close(a.agreement, 2 / 3, 'agreement');

    // Two failures of one sample: one chain, showing the latest error; the two never-run samples are missing.
    const b = cellOf(result, 'b');
    assert.equal(b.chains.length, 1);
    assert.equal(b.chains[0]?.error, 'HTTP 503');
    assert.equal(b.errors, 1);
    assert.equal(b.missing, 2);
    assert.equal(result.variants[0]?.chains, 4); // 3 + 1, superseded records not counted
  });

  it('votes on normalized answers ("14." and "**14**" are 14) and shows the first spelling seen', async () => {
    const loaded = await load(`
samples: 5
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 14}
extract: text
scorer: exact
`);
    const cell = cellOf(summarizeRun(loaded.document, loaded.cases, runOf(loaded, answers('a', ['14.', '9', '14', '9', '**14**']))), 'a');
    // Raw strings would make 9 (twice) the majority; normalized, 14 has three votes.
    assert.equal(cell.majority, '14.');
    assert.equal(cell.majorityPass, true);
    assert.deepEqual(distinctOf(cell), [
      ['14.', 3],
      ['9', 2],
    ]);
    close(cell.agreement, 3 / 5, 'agreement');
    close(cell.entropy, entropyOf([3, 2], 5), 'entropy'); // ≈ 0.971
    // Keys [14, 9, 14, 9, 14], 14 correct. k=1: 3/5. k=2: the pair's first chain wins: pairs starting at 0 (4) or 2 (2) = 6/10.
    // k=3: at least two 14s: C(3,3) + C(3,2)·C(2,1) = 7 of 10. k=4: drop one chain: dropping 0 leaves a tie won by 9, the other 4 win = 4/5.
    closeAll(cell.majAtK, [3 / 5, 6 / 10, 7 / 10, 4 / 5, 1], 'majAtK');
  });

  it('votes case-sensitively only when the scorer is case-sensitive', async () => {
    const prompt = (scorer: string): string => `
samples: 3
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: Paris}
extract: text
scorer: ${scorer}
`;
    const texts = ['Paris', 'paris', 'paris'];
    const sensitive = await load(prompt('{type: exact, case_sensitive: true}'));
    const cell = cellOf(summarizeRun(sensitive.document, sensitive.cases, runOf(sensitive, answers('a', texts))), 'a');
    assert.equal(cell.majority, 'paris');
    assert.equal(cell.majorityPass, false);
    assert.deepEqual(distinctOf(cell), [
      ['paris', 2],
      ['Paris', 1],
    ]);
    assert.deepEqual(
      cell.chains.map((c) => c.pass),
      [true, false, false],
    );
    close(cell.agreement, 2 / 3, 'agreement');
    // Keys [Paris, paris, paris], Paris correct. k=1: 1/3. k=2: {01 ✓ (tie, Paris first), 02 ✓, 12 ✗} = 2/3. k=3: ✗.
    closeAll(cell.majAtK, [1 / 3, 2 / 3, 0], 'majAtK');

    const folded = await load(prompt('exact'));
    const foldedCell = cellOf(summarizeRun(folded.document, folded.cases, runOf(folded, answers('a', texts))), 'a');
    assert.equal(foldedCell.majority, 'Paris');
    assert.equal(foldedCell.majorityPass, true);
    assert.deepEqual(distinctOf(foldedCell), [['Paris', 3]]);
    assert.equal(foldedCell.agreement, 1);
    assert.equal(foldedCell.entropy, 0);
    closeAll(foldedCell.majAtK, [1, 1, 1], 'majAtK');
  });

  it('keeps maj@n equal to the majority verdict when the scorer judges two spellings of one answer apart', async () => {
    // A regex scorer fails "14." and passes "14", which the vote counts as one answer shown as "14.".
    const loaded = await load(`
samples: 2
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 14}
extract: text
scorer: {type: regex, pattern: "^\\\\d+$"}
`);
    const cell = cellOf(summarizeRun(loaded.document, loaded.cases, runOf(loaded, answers('a', ['14.', '14']))), 'a');
    assert.deepEqual(
      cell.chains.map((c) => c.pass),
      [false, true],
    );
    assert.equal(cell.majority, '14.');
    assert.equal(cell.majorityPass, false);
    // The answer's verdict is its first spelling's: wrong, so every subset's vote is wrong, maj@2 included.
    closeAll(cell.majAtK, [0, 0], 'majAtK');
  });

  it('votes case-sensitively under a regex scorer, as the regex matches', async () => {
    const loaded = await load(`
samples: 2
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: Paris}
extract: text
scorer: {type: regex, pattern: "^[A-Z]"}
`);
    const cell = cellOf(summarizeRun(loaded.document, loaded.cases, runOf(loaded, answers('a', ['paris', 'Paris']))), 'a');
    assert.deepEqual(distinctOf(cell), [
      ['paris', 1],
      ['Paris', 1],
    ]);
    // Tie to the lowest index: "paris", which the regex fails; maj@1 is the share of passing chains.
    assert.equal(cell.majorityPass, false);
    closeAll(cell.majAtK, [0.5, 0], 'majAtK');
  });

  it("scores the majority answer by the custom scorer's rule", async () => {
    // testFixtures/remote/parity-scorer.js passes an answer of the expected parity: "4" passes for "even",
    // where exact matching of "4" against "even" never could.
    const loaded = await load(
      `
samples: 3
variants: [zero-shot]
cases:
  - {name: even, input: "x", expected: even}
extract: number
scorer: {type: custom, file: parity-scorer.js}
`,
      path.join(root, 'testFixtures/remote/summary.prompt'),
    );
    const run = runOf(loaded, answers('even', ['3', '4', 'The answer is 4.']));
    const scores = await scoreWithCustomScorer(loaded.document, loaded.cases, run, path.join(root, 'testFixtures/remote'), true);
    const result = summarizeRun(loaded.document, loaded.cases, run, undefined, scores);
    const cell = cellOf(result, 'even');
    assert.deepEqual(
      cell.chains.map((c) => c.answer),
      ['3', '4', '4'],
    );
    assert.deepEqual(
      cell.chains.map((c) => c.pass),
      [false, true, true],
    );
    assert.equal(cell.majority, '4');
    assert.equal(cell.majorityPass, true);
    assert.equal(cell.majorityScore, 1);
    // Keys [3, 4, 4], 4 correct. k=1: 2/3. k=2: {01 ✗ (tie, 3 first), 02 ✗, 12 ✓} = 1/3. k=3: ✓.
    closeAll(cell.majAtK, [2 / 3, 1 / 3, 1], 'majAtK');
    assert.equal(result.scorer, 'custom');
    assertWilson(result.variants[0]?.majorityVote as Accuracy, 1, 1, 'majorityVote');

    // Before the scorer has run, no chain and no majority passes.
    const unscored = cellOf(summarizeRun(loaded.document, loaded.cases, run), 'even');
    assert.equal(unscored.majorityPass, false);
    assert.ok(unscored.chains.every((c) => !c.pass && /not run/.test(c.reason)));
  });

  it('scores a custom majority as the chain whose spelling it shows', async () => {
    const loaded = await load(
      `
samples: 3
variants: [zero-shot]
cases:
  - {name: even, input: "x", expected: even}
extract: text
scorer: {type: custom, file: parity-scorer.js}
`,
      path.join(root, 'testFixtures/remote/summary.prompt'),
    );
    // "4" and "**4**" are one vote, but the parity scorer reads Number("**4**") as NaN and fails it.
    const run = runOf(loaded, answers('even', ['4', '**4**', '3']));
    const scores = await scoreWithCustomScorer(loaded.document, loaded.cases, run, path.join(root, 'testFixtures/remote'), true);
    const cell = cellOf(summarizeRun(loaded.document, loaded.cases, run, undefined, scores), 'even');
    assert.deepEqual(
      cell.chains.map((c) => c.pass),
      [true, false, false],
    );
    assert.equal(cell.majority, '4');
    assert.equal(cell.majorityPass, true); // sample 0's verdict, the spelling shown
    assert.equal(cell.majorityScore, 1);
  });

  it('averages maj@k over the cells that have k chains, and agreement and entropy over cells with chains (a cancelled run)', async () => {
    const loaded = await load(`
samples: 3
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 1}
  - {name: b, input: "y", expected: 2}
  - {name: c, input: "z", expected: 3}
extract: text
scorer: exact
`);
    // Cancelled: a has all 3 chains, b one, c none.
    const records = [...answers('a', ['1', '2', '1']), completion({ caseId: 'b', sample: 0, text: '3' })];
    const result = summarizeRun(loaded.document, loaded.cases, runOf(loaded, records, 'cancelled'));
    assert.equal(result.status, 'cancelled');
    const [a, b, c] = [cellOf(result, 'a'), cellOf(result, 'b'), cellOf(result, 'c')];
    // a: keys [1, 2, 1], 1 correct. k=1: 2/3. k=2: {01 ✓, 02 ✓, 12 ✗} = 2/3. k=3: ✓.
    closeAll(a.majAtK, [2 / 3, 2 / 3, 1], 'majAtK a');
    closeAll(b.majAtK, [0], 'majAtK b'); // one wrong chain
    assert.deepEqual(c.majAtK, []);
    assert.deepEqual([a.missing, b.missing, c.missing], [0, 2, 3]);
    assert.deepEqual(c.chains, []);
    assert.equal(c.majority, undefined);
    assert.equal(c.majorityPass, false);

    const variant = result.variants[0];
    assert.ok(variant);
    assert.equal(variant.cases, 2); // c has no chain to score
    assert.equal(variant.chains, 4);
    // k=1: (2/3 + 0)/2; k=2 and k=3: a alone.
    closeAll(variant.majAtK, [1 / 3, 2 / 3, 1], 'variant majAtK');
    // maj@1 over a and b: values 2/3, 0; SE² = 2 · ((1/3)² + (1/3)²) / 2² = 1/9; n_eff = (2/9)/(1/9) = 2 cases.
    close(variant.majAtKIntervals[0]?.se ?? Number.NaN, 1 / 3, 'maj@1 se');
    assertInterval(variant.majAtKIntervals[0] as Interval, 1 / 3, 2, 'clustered', 'maj@1');
    // maj@2 and maj@3 rest on a alone: one case, no SE, Wilson at n = 1.
    assert.deepEqual(
      variant.majAtKIntervals.map((interval) => [interval.cases, interval.se === null]),
      [
        [2, false],
        [1, true],
        [1, true],
      ],
    );
    assertInterval(variant.majAtKIntervals[1] as Interval, 2 / 3, 1, 'clustered', 'maj@2');
    // a 2/3, b 0/1 (c has no chain): p̂ = 2/4; SE² = 2 · ((2 − 1.5)² + (0 − 0.5)²) / 4² = 1/16; n_eff = 0.25·16 = 4.
    assertClustered(variant.singleChain, 2, 4, 2, 0.25, 4, 'singleChain');
    assertWilson(variant.majorityVote, 1, 2, 'majorityVote'); // a's 1 passes, b's 3 fails; c not counted
    close(variant.meanAgreement, (2 / 3 + 1) / 2, 'meanAgreement');
    close(variant.meanEntropy, (entropyOf([2, 1], 3) + 0) / 2, 'meanEntropy'); // a ≈ 0.918, b 0
    close(variant.invalidRate, 0, 'invalidRate');
  });

  it('gives single chain, mean score and maj@k intervals over cases, and the majority vote Wilson over cases (4/4, 2/4, 0/4)', async () => {
    const loaded = await load(`
samples: 4
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 7}
  - {name: b, input: "y", expected: 7}
  - {name: c, input: "z", expected: 7}
extract: text
scorer: exact
`);
    const records = [...answers('a', ['7', '7', '7', '7']), ...answers('b', ['7', '7', '5', '6']), ...answers('c', ['1', '2', '3', '4'])];
    const variant = summarizeRun(loaded.document, loaded.cases, runOf(loaded, records)).variants[0];
    assert.ok(variant);
    // p̂ = 6/12; SE² = 3/2 · (2² + 0² + 2²)/12² = 1/12 (twice the binomial √(0.25/12)); n_eff = 0.25·12 = 3 cases.
    assertClustered(variant.singleChain, 6, 12, 3, Math.sqrt(1 / 12), 3, 'singleChain');
    // An exact scorer's scores are the verdicts: the same interval.
    const { low, high, method, se, cases, effectiveTrials } = variant.singleChain;
    assert.deepEqual(variant.meanScoreInterval, { low, high, method, se, cases, effectiveTrials });
    assertWilson(variant.majorityVote, 2, 3, 'majorityVote'); // a and b pass
    // b's keys [7, 7, 5, 6]: k=1 1/2; k=2 every pair but {2, 3} = 5/6; k=3 and k=4 always 7.
    closeAll(variant.majAtK, [1 / 2, 11 / 18, 2 / 3, 2 / 3], 'majAtK');
    assert.equal(variant.majAtKIntervals.length, 4);
    // k=1: case values 1, 1/2, 0 — the single-chain interval.
    assertInterval(variant.majAtKIntervals[0] as Interval, 1 / 2, 3, 'clustered', 'maj@1');
    close(variant.majAtKIntervals[0]?.se ?? Number.NaN, Math.sqrt(1 / 12), 'maj@1 se');
    // k=2: 1, 5/6, 0; residuals 7/18, 4/18, −11/18; SE² = 3/2 · (186/324)/3² = 279/2916; n_eff = (77/324)/SE² ≈ 2.48 → 3 cases.
    close(variant.majAtKIntervals[1]?.se ?? Number.NaN, Math.sqrt(279 / 2916), 'maj@2 se');
    assertInterval(variant.majAtKIntervals[1] as Interval, 11 / 18, 3, 'clustered', 'maj@2');
    // k=4: 1, 1, 0: one outcome per case, the majority vote's Wilson interval over 3 cases.
    assertInterval(variant.majAtKIntervals[3] as Interval, 2 / 3, 3, 'clustered', 'maj@4');
    close(variant.majAtKIntervals[3]?.low ?? Number.NaN, variant.majorityVote.low, 'maj@4 low = majority vote low');
    assert.deepEqual(
      variant.majAtKIntervals.map((interval) => interval.cases),
      [3, 3, 3, 3],
    );
  });

  it('keeps variants apart, reads the answer from answerText, sums tokens and prices them per million', async () => {
    const loaded = await load(`
samples: 2
variants: [zero-shot, zero-shot-cot]
cases:
  - {name: a, input: "x", expected: 7}
extract: text
scorer: exact
`);
    const records = [
      completion({ caseId: 'a', sample: 0, text: '7', usage: { promptTokens: 100, completionTokens: 40 } }),
      completion({
        variant: 'zero-shot-cot',
        caseId: 'a',
        sample: 0,
        text: '5 and 2 more makes',
        answerText: '7',
        usage: { promptTokens: 200, completionTokens: 300 },
      }),
      completion({ caseId: 'a', sample: 1, text: '7', usage: { promptTokens: 120, completionTokens: 60 } }),
      completion({ variant: 'zero-shot-cot', caseId: 'a', sample: 1, text: '', error: 'HTTP 500' }),
    ];
    const result = summarizeRun(loaded.document, loaded.cases, runOf(loaded, records), { input: 2, output: 10 });
    assert.deepEqual(
      result.cells.map((c) => [c.variant, c.caseId]),
      [
        ['zero-shot', 'a'],
        ['zero-shot-cot', 'a'],
      ],
    );
    const [plain, cot] = result.variants;
    assert.ok(plain && cot);
    assert.deepEqual([plain.name, plain.kind, cot.name, cot.kind], ['zero-shot', 'zero-shot', 'zero-shot-cot', 'zero-shot-cot']);

    const cotCell = cellOf(result, 'a', 'zero-shot-cot');
    assert.equal(cotCell.chains[0]?.answer, '7'); // from the answer prompt's reply, not the chain
    assert.equal(cotCell.chains[0]?.text, '5 and 2 more makes');
    assert.equal(cotCell.chains[0]?.answerText, '7');
    assert.equal(cotCell.errors, 1);
    assert.equal(cellOf(result, 'a').chains.length, 2);

    assert.deepEqual([plain.promptTokens, plain.completionTokens], [220, 100]); // 100 + 120, 40 + 60
    close(plain.cost as number, 1.44e-3, 'cost'); // (220·2 + 100·10) / 1e6 = 1440 / 1e6
    assert.deepEqual([cot.promptTokens, cot.completionTokens], [200, 300]);
    close(cot.cost as number, 3.4e-3, 'cot cost'); // (200·2 + 300·10) / 1e6
    assertClustered(cot.singleChain, 1, 2, 1, null, 1, 'cot singleChain'); // the failed request is a wrong chain
    assertClustered(plain.singleChain, 2, 2, 1, null, 1, 'singleChain');

    // No price for the model: no cost, not a cost of 0.
    assert.equal(summarizeRun(loaded.document, loaded.cases, runOf(loaded, records)).variants[0]?.cost, null);
  });

  it('averages latency over chains that were not served from the cache', async () => {
    const loaded = await load(`
samples: 3
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 7}
extract: text
scorer: exact
`);
    const records = [
      completion({ caseId: 'a', sample: 0, text: '7', latencyMs: 200 }),
      completion({ caseId: 'a', sample: 1, text: '7', latencyMs: 400 }),
      completion({ caseId: 'a', sample: 2, text: '7', latencyMs: 0, cached: true }),
    ];
    const result = summarizeRun(loaded.document, loaded.cases, runOf(loaded, records));
    close(result.variants[0]?.meanLatencyMs as number, 300, 'meanLatencyMs'); // (200 + 400)/2, not 600/3
    assert.deepEqual(
      cellOf(result, 'a').chains.map((c) => c.cached),
      [undefined, undefined, true],
    );
  });

  it('averages the F1 of an F1 scorer as meanScore and scores the majority by its F1 and the threshold', async () => {
    const loaded = await load(`
samples: 3
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: red apple}
extract: text
scorer: token-f1
threshold: 0.6
`);
    const result = summarizeRun(loaded.document, loaded.cases, runOf(loaded, answers('a', ['apple', 'red apple', 'blue car'])));
    const cell = cellOf(result, 'a');
    // "apple": P 1/1, R 1/2, F1 = 2·1·½/(1 + ½) = 2/3; "red apple": 1; "blue car": 0.
    closeAll(
      cell.chains.map((c) => c.score),
      [2 / 3, 1, 0],
      'scores',
    );
    assert.deepEqual(
      cell.chains.map((c) => c.pass),
      [true, true, false],
    ); // threshold 0.6
    assert.equal(cell.majority, 'apple'); // three-way tie: sample 0
    close(cell.majorityScore, 2 / 3, 'majorityScore');
    assert.equal(cell.majorityPass, true);
    // Passing answers: apple, red apple. k=1: 2/3. k=2: every pair's first chain passes (01, 02, 12) = 1. k=3: apple ✓.
    closeAll(cell.majAtK, [2 / 3, 1, 1], 'majAtK');
    const variant = result.variants[0];
    assert.ok(variant);
    close(variant.meanScore, (2 / 3 + 1 + 0) / 3, 'meanScore'); // 5/9, not the pass rate 2/3
    assertClustered(variant.singleChain, 2, 3, 1, null, 1, 'singleChain');
    assertInterval(variant.meanScoreInterval, 5 / 9, 1, 'clustered', 'meanScoreInterval'); // one case: n = 1
    assert.equal(variant.meanScoreInterval.se, null);
    assert.equal(result.threshold, 0.6);
    assert.equal(result.scorer, 'token-f1');
  });

  it('takes the status from the end record (running without one) and copies the run header', async () => {
    const loaded = await load(`
name: status-check
samples: 2
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 1}
extract: text
scorer: exact
`);
    const records = answers('a', ['1', '1']);
    const running = summarizeRun(loaded.document, loaded.cases, runOf(loaded, records, null));
    assert.equal(running.status, 'running');
    assert.equal(summarizeRun(loaded.document, loaded.cases, runOf(loaded, records, 'failed')).status, 'failed');
    assert.equal(summarizeRun(loaded.document, loaded.cases, runOf(loaded, records, 'completed')).status, 'completed');

    assert.equal(running.schema, 'chainscope.result/1');
    assert.equal(running.runId, 'run-1');
    assert.equal(running.promptFile, loaded.file);
    assert.equal(running.promptName, 'status-check');
    assert.deepEqual(running.backend, { id: 'scripted', model: 'script-1' });
    assert.equal(running.samples, 2);
    assert.equal(running.startedAt, '2024-05-01T12:00:00.000Z');
    assert.equal(running.extract, 'text');
    const cell = cellOf(running, 'a');
    assert.equal(cell.caseName, 'a');
    assert.deepEqual(cell.input, { q: 'x' });
    assert.equal(cell.expected, 1);
    // `---` is line 0 and the frontmatter starts with "name:", so the case's `- {…}` is line 5.
    assert.deepEqual(cell.location, { file: loaded.file, line: 5 });
  });
});
