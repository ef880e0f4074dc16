import * as assert from 'node:assert/strict';
import { INPUT_PREVIEW_LENGTH, inputPreview } from './caseInput';
import { splitResult } from './cellSummary';
import type { CellResult, RunResult } from './results';

describe('inputPreview', () => {
  it('names each input in its order, on one line', () => {
    assert.equal(inputPreview({ question: '6 + 1 =\n  then + 2?', unit: 'apples' }), 'question: 6 + 1 = then + 2? · unit: apples');
    assert.equal(inputPreview({ b: 1, a: 2 }), 'b: 1 · a: 2', 'insertion order, not sorted');
    assert.equal(inputPreview({ n: 7, tags: ['x', 'y'], meta: { k: null } }), 'n: 7 · tags: ["x","y"] · meta: {"k":null}');
    assert.equal(inputPreview({}), '');
  });

  it('keeps markup as it is: the view sets it as text', () => {
    assert.equal(inputPreview({ q: '<img src=x onerror=alert(1)>' }), 'q: <img src=x onerror=alert(1)>');
  });

  it('is bounded, with an ellipsis, however long or many the inputs', () => {
    const long = inputPreview({ question: 'word '.repeat(10_000) });
    assert.equal(long.length, INPUT_PREVIEW_LENGTH);
    assert.ok(long.startsWith('question: word word') && long.endsWith('…'));
    const many = inputPreview(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`v${i}`, i])));
    assert.ok(many.length <= INPUT_PREVIEW_LENGTH && many.startsWith('v0: 0 · v1: 1') && many.endsWith('…'), many);
    assert.equal(inputPreview({ q: 'abcdef' }, 8), 'q: abcd…');
    assert.equal(inputPreview({ q: 'abcd' }, 8), 'q: abcd', 'exactly the room: no ellipsis');
  });

  it('says it was cut even when the cut part was only whitespace', () => {
    assert.equal(inputPreview({ q: `a${' '.repeat(5000)}b` }, 20), 'q: a…');
  });

  it('never cuts a surrogate pair in half', () => {
    const preview = inputPreview({ q: '😀'.repeat(100) }, 10);
    assert.ok(!/[\uD800-\uDBFF]…$/.test(preview), JSON.stringify(preview));
    assert.ok(preview.length <= 10);
  });
});

describe('splitResult', () => {
  it('gives every variant of a case the same preview, and none to a case without inputs', () => {
    const cell = (variant: string, caseId: string, input: Record<string, unknown>): CellResult =>
      ({
        variant,
        caseId,
        input,
        location: { file: 'a.prompt', line: 0 },
        chains: [],
        majorityPass: false,
        agreement: 0,
        entropy: 0,
      }) as unknown as CellResult;
    const result = {
      cells: [cell('a', 'c1', { question: '2 + 2' }), cell('a', 'c2', {}), cell('b', 'c1', { question: '2 + 2' }), cell('b', 'c2', {})],
    } as unknown as RunResult;
    const { cells } = splitResult(result);
    assert.deepEqual(
      cells.map((c) => [c.variant, c.caseId, c.row, c.inputPreview]),
      [
        ['a', 'c1', 0, 'question: 2 + 2'],
        ['a', 'c2', 1, undefined],
        ['b', 'c1', 0, 'question: 2 + 2'],
        ['b', 'c2', 1, undefined],
      ],
    );
  });

  it("carries an attacked cell's attack and a defended cell's defence to its summary, and leaves them off other cells", () => {
    const base = { input: {}, location: { file: 'a.prompt', line: 0 }, chains: [], majorityPass: false, agreement: 0, entropy: 0 };
    const attack = { id: 'prompt-leak/repeat', suite: 'prompt-leak', baseCase: 'c1' };
    const result = {
      cells: [
        { ...base, variant: 'cot', caseId: 'c1' },
        { ...base, variant: 'cot+sandwich', caseId: 'c1~prompt-leak/repeat', attack, defence: 'sandwich' },
      ],
    } as unknown as RunResult;
    const [plain, attacked] = splitResult(result).cells;
    assert.equal(plain?.attack, undefined);
    assert.equal(plain !== undefined && 'defence' in plain, false);
    assert.deepEqual(attacked?.attack, attack);
    assert.equal(attacked?.defence, 'sandwich');
  });
});
