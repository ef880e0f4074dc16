import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadFrontmatter, runFileOf } from '../../../testFixtures/runs';
import type { LoadedPrompt } from '../prompt/load';
import { parsePrompt } from '../prompt/parse';
import { answerSimilarity, firstDivergence } from './clusters';
import { LiveSummary } from './live';
import { summarizeRun, type CellResult, type RunResult } from './results';
import type { CompletionRecord, ParsedRunFile } from './store';

const root = path.resolve(__dirname, '../../..');

const load = (frontmatter: string): Promise<LoadedPrompt> => loadFrontmatter(frontmatter, path.join(root, 'clusters.prompt'));

function record(caseId: string, sample: number, text: string, tokens = 0, variant = 'zero-shot'): CompletionRecord {
  return {
    type: 'completion',
    variant,
    caseId,
    sample,
    text,
    finishReason: 'stop',
    usage: { promptTokens: tokens, completionTokens: tokens },
    latencyMs: 0,
  };
}

const runOf = (loaded: LoadedPrompt, completions: CompletionRecord[]): ParsedRunFile =>
  runFileOf(loaded, completions, { end: 'completed' });

function cellOf(result: RunResult, caseId: string): CellResult {
  const cell = result.cells.find((c) => c.caseId === caseId);
  assert.ok(cell, `no cell ${caseId}`);
  return cell;
}

/** The clusters hold the vote exactly: same answers and counts as `distinct`, the winner is the majority with its verdict. */
function assertAgrees(cell: CellResult): void {
  const valid = cell.clusters.filter((cluster) => !cluster.invalid);
  assert.equal(
    cell.clusters.reduce((sum, cluster) => sum + cluster.count, 0),
    cell.chains.length,
  );
  assert.equal(cell.clusters.filter((cluster) => cluster.majority).length, cell.majority === undefined ? 0 : 1);
  if (cell.majority !== undefined) {
    assert.equal(cell.clusters[0]?.answer, cell.majority);
    assert.equal(cell.clusters[0]?.majority, true);
    assert.equal(cell.clusters[0]?.pass, cell.majorityPass);
  }
  assert.equal(cell.clusters.find((cluster) => cluster.invalid)?.count ?? 0, cell.invalid);
  if (valid.every((cluster) => cluster.answers === undefined))
    assert.deepEqual(
      valid.map((cluster) => [cluster.answer, cluster.count]),
      cell.distinct.map((entry) => [entry.answer, entry.count]),
    );
  for (const cluster of cell.clusters) {
    assert.equal(cluster.samples.length, cluster.count);
    for (const sample of cluster.samples) {
      const chain = cell.chains.find((c) => c.sample === sample);
      assert.ok(chain);
      assert.equal(chain.answer === undefined, cluster.invalid === true);
    }
  }
}

describe('answer clusters', () => {
  it('groups chains by normalized answer, the majority first, then by size, the invalid chains last, with where each parts from the winner', async () => {
    const loaded = await load(`
samples: 6
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 7}
extract: number
scorer: numeric
`);
    const texts = [
      'I add 2 and 3 to get 5',
      'I add 3 and 4 to get 7',
      'I give up',
      'I add 3 and 4 to get 7.0',
      'I add 2 and 3 to get 5',
      'I add 3 and 4 to get 7',
    ];
    const result = summarizeRun(
      loaded.document,
      loaded.cases,
      runOf(
        loaded,
        texts.map((text, sample) => record('a', sample, text)),
      ),
    );
    const cell = cellOf(result, 'a');
    assert.equal(cell.majority, '7');
    assert.deepEqual(cell.clusters, [
      { answer: '7', samples: [1, 3, 5], count: 3, pass: true, majority: true },
      // "I add 2" against the winner's "I add 3": the third word (token 2), 6 characters in.
      { answer: '5', samples: [0, 4], count: 2, pass: false, divergesAt: { token: 2, offset: 6, winnerOffset: 6 } },
      { samples: [2], count: 1, pass: false, invalid: true, divergesAt: { token: 1, offset: 2, winnerOffset: 2 } },
    ]);
    assertAgrees(cell);
  });

  it('breaks a tie as the vote does (first seen wins), and agrees with the incremental summary', async () => {
    const loaded = await load(`
samples: 4
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 7}
  - {name: b, input: "y", expected: 1}
extract: number
scorer: numeric
`);
    // Written out of order, as parallel requests finish.
    const records = [
      record('a', 1, 'so 7'),
      record('a', 0, 'so 5'),
      record('a', 3, 'so 7'),
      record('a', 2, 'so 5'),
      record('b', 0, 'nothing'),
      record('b', 1, 'nothing'),
    ];
    const run = runOf(loaded, records);
    const result = summarizeRun(loaded.document, loaded.cases, run);
    const cell = cellOf(result, 'a');
    assert.equal(cell.majority, '5');
    assert.deepEqual(
      cell.clusters.map((cluster) => [cluster.answer, cluster.samples, cluster.pass, cluster.majority ?? false]),
      [
        ['5', [0, 2], false, true],
        ['7', [1, 3], true, false],
      ],
    );
    assertAgrees(cell);
    // No answer at all: one invalid group, no winner, nothing to diverge from.
    assert.deepEqual(cellOf(result, 'b').clusters, [{ samples: [0, 1], count: 2, pass: false, invalid: true }]);
    assertAgrees(cellOf(result, 'b'));
    const live = LiveSummary.fromRun(loaded.document, loaded.cases, run).result();
    assert.deepEqual(
      live.cells.map((c) => c.clusters),
      result.cells.map((c) => c.clusters),
    );
  });

  it('with cluster.similarity, groups near-identical free-text answers greedily, the vote unchanged', async () => {
    const frontmatter = `
samples: 7
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: "Paris"}
extract: text
scorer: token-f1
threshold: 0.5
`;
    const texts = ['Paris', 'Eiffel Tower', 'Paris', 'Eiffel Tower', 'Paris', 'the Eiffel Tower, Paris', 'The Eiffel Tower in Paris'];
    const plain = await load(frontmatter);
    const grouped = await load(`${frontmatter}\ncluster: {similarity: 0.6}`);
    assert.deepEqual(grouped.document.cluster?.similarity, 0.6);
    const completions = texts.map((text, sample) => record('a', sample, text));
    const before = cellOf(summarizeRun(plain.document, plain.cases, runOf(plain, completions)), 'a');
    const after = cellOf(summarizeRun(grouped.document, grouped.cases, runOf(grouped, completions)), 'a');
    // Four distinct answers without grouping; "the eiffel tower, paris" normalizes apart from "eiffel tower".
    assert.equal(before.clusters.length, 4);
    assertAgrees(before);
    // Vote order: paris 3, eiffel tower 2, "the Eiffel Tower, Paris" 1, "The Eiffel Tower in Paris" 1. Tokens (articles dropped):
    // "eiffel tower" vs paris F1 0 → new cluster; [eiffel tower paris] vs [paris] F1 2·(1·⅓)/(1+⅓) = 0.5 < 0.6, vs [eiffel tower]
    // 2·(⅔·1)/(⅔+1) = 0.8 → joins; [eiffel tower in paris] vs [eiffel tower] 2·(½·1)/1.5 = 0.667 → joins. Four chains beat three,
    // but the cluster of the vote's majority stays first.
    assert.deepEqual(
      after.clusters.map((cluster) => ({
        answer: cluster.answer,
        answers: cluster.answers,
        samples: cluster.samples,
        majority: cluster.majority,
      })),
      [
        { answer: 'Paris', answers: undefined, samples: [0, 2, 4], majority: true },
        {
          answer: 'Eiffel Tower',
          answers: ['Eiffel Tower', 'the Eiffel Tower, Paris', 'The Eiffel Tower in Paris'],
          samples: [1, 3, 5, 6],
          majority: undefined,
        },
      ],
    );
    // The vote is the same with or without grouping.
    assert.deepEqual(
      [after.majority, after.distinct, after.majAtK, after.agreement, after.majorityPass],
      [before.majority, before.distinct, before.majAtK, before.agreement, before.majorityPass],
    );
    assertAgrees(after);
  });

  it('finds where two texts first differ, on word tokens', () => {
    assert.equal(firstDivergence('a b  c', 'a b\nc'), undefined); // whitespace is not compared
    assert.deepEqual(firstDivergence('So 3 + 4 = 7', 'So 3 + 5 = 8'), { token: 3, offsetA: 7, offsetB: 7 });
    assert.deepEqual(firstDivergence('one two', 'one two three'), { token: 2, offsetA: 7, offsetB: 8 });
    assert.deepEqual(firstDivergence('', 'x'), { token: 0, offsetA: 0, offsetB: 0 });
    assert.equal(answerSimilarity('The Eiffel Tower', 'eiffel tower'), 1);
    assert.equal(answerSimilarity('', ''), 1);
    assert.equal(answerSimilarity('Paris', 'London'), 0);
  });

  it('validates cluster: where it is written', () => {
    const parse = (frontmatter: string) => parsePrompt(`---\n${frontmatter}\n---\nQ\n`).diagnostics;
    const range = parse('extract: text\ncluster: {similarity: 1.5}');
    assert.deepEqual(
      range.map((d) => [d.code, d.range.start.line, d.range.start.character]),
      [['range', 2, 22]],
    );
    assert.deepEqual(
      parse('extract: text\ncluster: {similarity: 0}').map((d) => d.code),
      ['range'],
    );
    assert.deepEqual(
      parse('cluster: {}').map((d) => d.code),
      ['missing-key'],
    );
    assert.deepEqual(
      parse('cluster: 0.8').map((d) => d.code),
      ['type'],
    );
    assert.deepEqual(
      parse('cluster: {similarity: 0.8, simlarity: 1}').map((d) => d.code),
      ['unknown-key'],
    );
    assert.deepEqual(
      parse('extract: number\ncluster: {similarity: 0.8}').map((d) => [d.code, d.severity]),
      [['cluster-not-free-text', 'warning']],
    );
    assert.deepEqual(parse('extract: line\ncluster:\n  similarity: 0.8'), []);
  });
});

describe('cost per correct answer', () => {
  it('divides tokens and cost by the cases the majority vote gets right; null when none, or without a price', async () => {
    const loaded = await load(`
samples: 2
variants: [zero-shot, zero-shot-cot]
cases:
  - {name: a, input: "x", expected: 7}
  - {name: b, input: "y", expected: 8}
extract: number
scorer: numeric
`);
    const records = [
      // zero-shot: a right, b wrong; 10 + 10 tokens per chain.
      record('a', 0, '7', 10, 'zero-shot'),
      record('a', 1, '7', 10, 'zero-shot'),
      record('b', 0, '9', 10, 'zero-shot'),
      record('b', 1, '9', 10, 'zero-shot'),
      // zero-shot-cot: both wrong.
      record('a', 0, '1', 5, 'zero-shot-cot'),
      record('a', 1, '1', 5, 'zero-shot-cot'),
      record('b', 0, '1', 5, 'zero-shot-cot'),
      record('b', 1, '1', 5, 'zero-shot-cot'),
    ];
    const prices = { input: 1, output: 3 };
    const run = runOf(loaded, records);
    const result = summarizeRun(loaded.document, loaded.cases, run, prices);
    const [direct, cot] = result.variants;
    assert.ok(direct && cot);
    // 4 chains × 20 tokens = 80 over 1 right case; cost (40·1 + 40·3)/1e6 = 160e-6.
    assert.equal(direct.tokensPerCorrect, 80);
    assert.ok(Math.abs((direct.costPerCorrect ?? 0) - 160e-6) < 1e-15);
    assert.equal(cot.tokensPerCorrect, null);
    assert.equal(cot.costPerCorrect, null);
    const unpriced = summarizeRun(loaded.document, loaded.cases, run).variants[0];
    assert.equal(unpriced?.tokensPerCorrect, 80);
    assert.equal(unpriced?.costPerCorrect, null);
    // The incremental summary shares the totals code.
    const live = LiveSummary.fromRun(loaded.document, loaded.cases, run, prices).overview().variants;
    assert.deepEqual(
      live.map((v) => [v.tokensPerCorrect, v.costPerCorrect]),
      result.variants.map((v) => [v.tokensPerCorrect, v.costPerCorrect]),
    );
  });
});
