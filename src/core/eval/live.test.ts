import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadFrontmatter, runFileOf } from '../../../testFixtures/runs';
import type { LoadedPrompt } from '../prompt/load';
import type { Case } from '../prompt/types';
import { seededRandom } from '../random';
import { splitResult, summarizeCellBrief } from './cellSummary';
import { LiveSummary } from './live';
import { sampleKey } from './keys';
import { summarizeRun, type CustomScores, type RunResult } from './results';
import type { AdjustmentRecord, CompletionRecord, EndRecord, ParsedRunFile } from './store';

const root = path.resolve(__dirname, '../../..');

const load = (frontmatter: string): Promise<LoadedPrompt> => loadFrontmatter(frontmatter, path.join(root, 'live.prompt'));

const ADJUSTMENT: AdjustmentRecord = {
  type: 'adjustment',
  parameter: 'temperature',
  setting: 'temperature',
  value: 0.7,
  action: 'omitted',
  reason: 'model',
  message: 'the model takes no temperature',
  at: '2024-05-01T12:00:01.000Z',
};

const runOf = (loaded: LoadedPrompt, completions: CompletionRecord[], end?: EndRecord, adjustments?: AdjustmentRecord[]): ParsedRunFile =>
  runFileOf(loaded, completions, { id: 'run-live', ...(end ? { end: end.status } : {}), ...(adjustments ? { adjustments } : {}) });

interface Spec {
  variant: string;
  caseId: string;
  sample: number;
  text: string;
  error?: string;
  cached?: boolean;
  answerText?: string;
}

/** A record with usage and latency drawn from `random`, so token and latency sums are exercised. */
function record(spec: Spec, random: () => number): CompletionRecord {
  const reasoning = random() < 0.3 ? Math.floor(random() * 50) : undefined;
  return {
    type: 'completion',
    variant: spec.variant,
    caseId: spec.caseId,
    sample: spec.sample,
    text: spec.text,
    ...(spec.answerText !== undefined ? { answerText: spec.answerText } : {}),
    finishReason: spec.error ? 'error' : 'stop',
    usage: {
      promptTokens: Math.floor(random() * 200),
      completionTokens: Math.floor(random() * 400),
      ...(reasoning !== undefined ? { reasoningTokens: reasoning } : {}),
    },
    latencyMs: Math.floor(random() * 3000),
    ...(spec.error ? { error: spec.error } : {}),
    ...(spec.cached ? { cached: true } : {}),
  };
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

function shuffle<T>(random: () => number, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * A messy run: missing chains, failures (some retried later, some for good), retries of successes, late
 * failures that must not replace a success, cached chains, invalid answers, a record outside the matrix.
 */
function messyRecords(loaded: LoadedPrompt, seed: number, texts: readonly string[]): CompletionRecord[] {
  const random = seededRandom(seed);
  const first: CompletionRecord[] = [];
  const later: CompletionRecord[] = [];
  const { samples } = loaded.document;
  for (const variant of loaded.document.variants)
    for (const testCase of loaded.cases)
      for (let sample = 0; sample < samples; sample++) {
        const chain = (extra: Partial<Spec> = {}): CompletionRecord =>
          record(
            {
              variant: variant.name,
              caseId: testCase.id,
              sample,
              text: pick(random, texts),
              ...(random() < 0.2 ? { cached: true } : {}),
              ...(random() < 0.1 ? { answerText: pick(random, texts) } : {}),
              ...extra,
            },
            random,
          );
        const roll = random();
        if (roll < 0.1) continue; // missing
        if (roll < 0.3) {
          first.push(chain({ text: '', error: 'HTTP 500' }));
          if (random() < 0.7) later.push(chain());
          else if (random() < 0.5) later.push(chain({ text: '', error: 'HTTP 503' }));
        } else {
          first.push(chain());
          if (random() < 0.1) later.push(chain({ text: '', error: 'late failure' }));
          if (random() < 0.05) later.push(chain());
        }
      }
  later.push(record({ variant: 'no-such-variant', caseId: loaded.cases[0]?.id ?? 'x', sample: 0, text: '1' }, random));
  return [...shuffle(random, first), ...shuffle(random, later)];
}

/** Deep equality; numbers that are not both whole may differ by 1e-9 relative (running float sums drift in the last bits). */
function assertClose(actual: unknown, expected: unknown, where = 'result'): void {
  if (typeof actual === 'number' && typeof expected === 'number') {
    if (Number.isInteger(actual) && Number.isInteger(expected)) assert.equal(actual, expected, where);
    else
      assert.ok(
        Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(actual), Math.abs(expected)),
        `${where}: ${actual} ≠ ${expected}`,
      );
    return;
  }
  if (typeof actual !== 'object' || actual === null || typeof expected !== 'object' || expected === null) {
    assert.deepEqual(actual, expected, where);
    return;
  }
  assert.equal(Array.isArray(actual), Array.isArray(expected), `${where}: array or not`);
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${where}: keys`);
  for (const key of Object.keys(expected))
    assertClose((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${where}.${key}`);
}

/** The overview of a final result as the live overview has it: the pairs of variants come with the final result only. */
const overviewOf = (result: RunResult): Omit<RunResult, 'cells'> => {
  const { comparisons: _comparisons, ...overview } = splitResult(result).overview;
  return overview;
};

const CANCELLED: EndRecord = { type: 'end', status: 'cancelled', at: '2024-05-01T12:05:00.000Z' };

describe('LiveSummary', () => {
  it('ends where summarizeRun ends on a messy run (several variants, retries, failures, cache, invalid answers)', async () => {
    const loaded = await load(`
samples: 5
variants: [zero-shot, zero-shot-cot]
cases:
${Array.from({ length: 12 }, (_, i) => `  - {name: c${i}, input: "x${i}", expected: "${(i % 3) + 1}"}`).join('\n')}
extract: text
scorer: exact
`);
    for (const seed of [1, 2, 3]) {
      const records = messyRecords(loaded, seed, ['1', '2', '3', '2', '  ', '1.']);
      const run = runOf(loaded, records, CANCELLED, [ADJUSTMENT]);
      const live = new LiveSummary(loaded.document, loaded.cases, run.header, { input: 3, output: 15 });
      for (const entry of records) live.add(entry);
      live.setEnd(CANCELLED);
      live.setAdjustments([ADJUSTMENT]);
      const expected = summarizeRun(loaded.document, loaded.cases, run, { input: 3, output: 15 });
      assert.ok(expected.coverage.failed > 0 && expected.coverage.missing > 0 && expected.coverage.cached > 0, 'the run is messy');
      assert.ok(expected.variants.every((variant) => variant.invalidRate > 0));
      assertClose(live.result(), expected, `seed ${seed}`);
      assert.deepEqual(live.result().cells, expected.cells, 'cells are summarized by the same code: equal exactly');
      assertClose(live.overview(), overviewOf(expected), `seed ${seed} overview`);
      // The same from a run file's records at once, as a resumed run starts.
      assertClose(LiveSummary.fromRun(loaded.document, loaded.cases, run, { input: 3, output: 15 }).result(), expected, 'fromRun');
    }
  });

  it('ends exactly where summarizeRun ends, whatever order the chains arrived in (a merge of shards equals the run)', async () => {
    const loaded = await load(`
samples: 4
variants: [zero-shot, zero-shot-cot]
cases:
${Array.from({ length: 10 }, (_, i) => `  - {name: o${i}, input: "x${i}", expected: "red apple ${i % 3}"}`).join('\n')}
extract: text
scorer: token-f1
threshold: 0.5
`);
    const records = messyRecords(loaded, 11, ['red apple 1', 'apple 0', 'red 2', 'blue car', '', 'red apple 0']);
    const run = runOf(loaded, records, CANCELLED);
    const expected = summarizeRun(loaded.document, loaded.cases, run, { input: 3, output: 15 });
    // Other arrival orders: the samples in another order, each sample's own records (a failure, its retry) still in theirs.
    const bySample = new Map<string, CompletionRecord[]>();
    for (const entry of records) {
      const key = sampleKey(entry.variant, entry.caseId, entry.sample);
      bySample.set(key, [...(bySample.get(key) ?? []), entry]);
    }
    const groups = [...bySample.values()];
    for (const order of [records, [...groups].reverse().flat(), shuffle(seededRandom(5), [...groups]).flat()]) {
      const live = new LiveSummary(loaded.document, loaded.cases, run.header, { input: 3, output: 15 });
      for (const entry of order) {
        live.add(entry);
        live.overview(); // running totals moved record by record, as a live view reads them
      }
      live.setEnd(CANCELLED);
      assert.deepEqual(live.result(), expected);
    }
  });

  it('ends where summarizeRun ends under a token-F1 scorer (fractional scores)', async () => {
    const loaded = await load(`
samples: 6
variants: [zero-shot, zero-shot-cot]
cases:
${Array.from({ length: 9 }, (_, i) => `  - {name: f${i}, input: "x${i}", expected: "red apple pie ${i % 2 ? 'tart' : ''}"}`).join('\n')}
extract: text
scorer: token-f1
threshold: 0.5
`);
    const records = messyRecords(loaded, 7, ['red apple', 'apple pie', 'red apple pie', 'blue car', 'pie tart', 'apple', '']);
    const run = runOf(loaded, records);
    const live = LiveSummary.fromRun(loaded.document, loaded.cases, run);
    const expected = summarizeRun(loaded.document, loaded.cases, run);
    assert.ok(
      expected.variants.some((variant) => !Number.isInteger(variant.meanScore * 1000)),
      'fractional mean score',
    );
    assertClose(live.result(), expected);
  });

  it('equals summarizeRun after every single record, not only at the end', async () => {
    const loaded = await load(`
samples: 3
variants: [zero-shot, zero-shot-cot]
cases:
  - {name: a, input: "x", expected: 1}
  - {name: b, input: "y", expected: 2}
  - {name: c, input: "z", expected: 3}
extract: text
scorer: exact
`);
    const records = messyRecords(loaded, 11, ['1', '2', '3', '', '3']);
    const live = new LiveSummary(loaded.document, loaded.cases, runOf(loaded, []).header);
    assertClose(live.overview(), overviewOf(summarizeRun(loaded.document, loaded.cases, runOf(loaded, []))), 'empty');
    records.forEach((entry, i) => {
      live.add(entry);
      const expected = summarizeRun(loaded.document, loaded.cases, runOf(loaded, records.slice(0, i + 1)));
      assertClose(live.overview(), overviewOf(expected), `after record ${i}`);
      for (const cell of expected.cells) assert.deepEqual(live.cell(cell.variant, cell.caseId), cell, `after record ${i}`);
    });
    assert.equal(live.cell('zero-shot', 'no-such-case'), undefined);
    assert.equal(live.cell('no-such-variant', 'a'), undefined);
  });

  it('reports exactly the cells changed since it was last asked, without chains', async () => {
    const loaded = await load(`
samples: 2
variants: [zero-shot, zero-shot-cot]
cases:
  - {name: a, input: "x", expected: 1}
  - {name: b, input: "y", expected: 2}
extract: text
scorer: exact
`);
    const random = seededRandom(5);
    const chain = (variant: string, caseId: string, sample: number, error?: string): CompletionRecord =>
      record({ variant, caseId, sample, text: error ? '' : '1', ...(error ? { error } : {}) }, random);
    const records: CompletionRecord[] = [];
    const live = new LiveSummary(loaded.document, loaded.cases, runOf(loaded, []).header);
    const add = (...entries: CompletionRecord[]): void =>
      entries.forEach((entry) => {
        records.push(entry);
        live.add(entry);
      });
    const changed = (): string[] => live.changedCells().map((cell) => `${cell.variant}/${cell.caseId}/${cell.row}`);

    assert.deepEqual(changed(), []);
    add(chain('zero-shot', 'b', 0), chain('zero-shot-cot', 'a', 0), chain('zero-shot', 'b', 1, 'HTTP 500'));
    assert.deepEqual(changed(), ['zero-shot/b/1', 'zero-shot-cot/a/0']);
    assert.deepEqual(changed(), [], 'drained');
    add(chain('zero-shot', 'b', 1)); // the retry replaces the failure
    assert.deepEqual(changed(), ['zero-shot/b/1']);
    add(chain('zero-shot', 'b', 1, 'late failure')); // never replaces a success: nothing changed
    assert.deepEqual(changed(), []);
    // A limit hands over the oldest changes first and keeps the rest for the next call.
    add(chain('zero-shot-cot', 'b', 0), chain('zero-shot', 'a', 0), chain('zero-shot-cot', 'a', 1));
    assert.deepEqual(
      live.changedCells(2).map((cell) => `${cell.variant}/${cell.caseId}`),
      ['zero-shot-cot/b', 'zero-shot/a'],
    );
    assert.deepEqual(changed(), ['zero-shot-cot/a/0']);

    add(chain('zero-shot', 'a', 1));
    const expected = summarizeRun(loaded.document, loaded.cases, runOf(loaded, records));
    const brief = live.changedCells();
    const cell = expected.cells.find((c) => c.variant === 'zero-shot' && c.caseId === 'a');
    assert.ok(cell);
    assert.deepEqual(brief, [summarizeCellBrief(cell, 0)]);
    assert.ok(!('chains' in brief[0]! && Array.isArray((brief[0] as unknown as Record<string, unknown>).chains)));
    assert.equal(brief[0]?.inputPreview, 'q: x', "the case's inputs on one line, made once per case");
    assert.deepEqual(live.allCells(), splitResult(expected).cells, 'every cell, untouched ones included, in result order');
    assert.deepEqual(changed(), [], 'allCells leaves the changes alone');
  });

  it('reads only the added record’s cell, when it is added and when the overview next takes it in', async () => {
    const loaded = await load(`
samples: 4
variants: [zero-shot, zero-shot-cot]
cases:
${Array.from({ length: 20 }, (_, i) => `  - {name: c${i}, input: "x${i}", expected: "${i % 3}"}`).join('\n')}
extract: text
scorer: exact
`);
    // Every record and case is a proxy that notes when it is read while `watching`.
    const read = new Set<object>();
    let watching = false;
    const watched = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(object, key, receiver) {
          if (watching) read.add(object);
          return Reflect.get(object, key, receiver) as unknown;
        },
      });
    const cases: Case[] = loaded.cases.map(watched);
    const originals = messyRecords(loaded, 13, ['0', '1', '2', '', '1']);
    const records = originals.map(watched);
    const live = new LiveSummary(loaded.document, cases, runOf(loaded, []).header);
    // Taking a record in, and the next overview (which summarizes its cell), read that cell's records and case only.
    const onlyItsCell = (i: number, what: string): void => {
      const original = originals[i] as CompletionRecord;
      for (const object of read) {
        const other = object as Partial<CompletionRecord> & Partial<Case>;
        if ('sample' in other)
          assert.ok(other.variant === original.variant && other.caseId === original.caseId, `${what} ${i} read another cell's record`);
        else assert.equal(other.id, original.caseId, `${what} ${i} read another case`);
      }
      read.clear();
    };
    records.forEach((entry, i) => {
      read.clear();
      watching = true;
      live.add(entry);
      watching = false;
      onlyItsCell(i, 'record');
      watching = true;
      live.overview();
      live.changedCells();
      watching = false;
      onlyItsCell(i, 'the overview after record');
      watching = true;
      live.overview();
      watching = false;
      assert.equal(read.size, 0, `a second overview after record ${i} read ${read.size} records or cases`);
    });
    assertClose(live.result(), summarizeRun(loaded.document, loaded.cases, runOf(loaded, originals)));
  });

  it('scores a custom scorer’s chains from scratch when given their scores', async () => {
    const loaded = await load(`
samples: 2
variants: [zero-shot]
cases:
  - {name: a, input: "x", expected: 2}
extract: number
scorer: {type: custom, file: testFixtures/remote/parity-scorer.js}
`);
    const random = seededRandom(3);
    const records = [0, 1].map((sample) => record({ variant: 'zero-shot', caseId: 'a', sample, text: `It is ${sample + 2}.` }, random));
    const run = runOf(loaded, records);
    const live = LiveSummary.fromRun(loaded.document, loaded.cases, run);
    const customScores: CustomScores = new Map(
      [0, 1].map((sample) => [sampleKey('zero-shot', 'a', sample), { pass: sample === 0, score: 1 - sample, reason: 'parity' }]),
    );
    assert.deepEqual(live.result(customScores), summarizeRun(loaded.document, loaded.cases, run, undefined, customScores));
    assert.equal(live.result(customScores).variants[0]?.singleChain.successes, 1);
    assert.equal(live.result().variants[0]?.singleChain.successes, 0, 'without scores: not scored yet, as summarizeRun');
  });
});
