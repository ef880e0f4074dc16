import * as assert from 'node:assert/strict';
import { parsePrompt } from './parse';
import type { Diagnostic } from './types';

/** `line:col severity code` (1-based), as the CLI prints it. */
function located(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map(
    (d) =>
      `${d.range.start.line + 1}:${d.range.start.character + 1}-${d.range.end.line + 1}:${d.range.end.character + 1} ${d.severity} ${d.code}`,
  );
}

const BODY = '---\n{{q}}\n';

describe('parsePrompt: reasoning shapes', () => {
  it('reads each shape with its options, leaving unwritten ones to the run', () => {
    const { document, diagnostics } = parsePrompt(
      [
        '---',
        'variants:',
        '  - {type: tree-of-thought, name: tot, breadth: 4, beam: 1, depth: 2, delimiter: ". ", evaluator: value, value_samples: 2, value_prompt: "Rate {{state}}"}',
        '  - {type: graph-of-thought, chains: 4, refinements: 0, aggregate_prompt: "Merge {{solutions}}"}',
        '  - {type: universal-self-consistency, pick_prompt: "Pick {{responses}}"}',
        '  - {type: self-verification, base: zero-shot, chains: 6, verify_samples: 3}',
        '  - {type: step-back, principle_prompt: "P {{principle}} Q {{question}}"}',
        '  - tree-of-thought',
        BODY,
      ].join('\n'),
    );
    assert.deepEqual(located(diagnostics), []);
    const [tot, got, usc, verify, stepBack, plain] = document.variants;
    assert.deepEqual(tot?.shape, {
      base: 'zero-shot-cot',
      breadth: 4,
      beam: 1,
      depth: 2,
      delimiter: '. ',
      evaluator: 'value',
      valueSamples: 2,
      valuePrompt: 'Rate {{state}}',
    });
    assert.equal(tot?.trigger, "Let's think step by step.");
    assert.deepEqual(got?.shape, { base: 'zero-shot-cot', chains: 4, refinements: 0, aggregatePrompt: 'Merge {{solutions}}' });
    assert.deepEqual(usc?.shape, { base: 'zero-shot-cot', pickPrompt: 'Pick {{responses}}' });
    assert.deepEqual(verify?.shape, { base: 'zero-shot', chains: 6, verifySamples: 3 });
    assert.equal(verify?.trigger, undefined);
    assert.deepEqual(stepBack?.shape, { base: 'zero-shot-cot', principlePrompt: 'P {{principle}} Q {{question}}' });
    assert.deepEqual(plain?.shape, { base: 'zero-shot-cot' });
    assert.equal(plain?.name, 'tree-of-thought');
  });

  it('bases a shape on few-shot-cot when examples have reasoning', () => {
    const { document, diagnostics } = parsePrompt(
      ['---', 'variants: [step-back]', 'examples:', '  - {input: {q: "1+1"}, reasoning: "1 + 1 = 2.", output: "2"}', BODY].join('\n'),
    );
    assert.deepEqual(located(diagnostics), []);
    assert.equal(document.variants[0]?.shape?.base, 'few-shot-cot');
    assert.equal(document.variants[0]?.trigger, undefined);
  });

  it('warns on keys of other shapes or kinds, and checks ranges, evaluators and bases', () => {
    const { diagnostics } = parsePrompt(
      [
        '---',
        'variants:',
        '  - {type: graph-of-thought, beam: 2, chains: 1}',
        '  - {type: tree-of-thought, evaluator: scorer, depth: 17}',
        '  - {type: step-back, base: few-shot-tot, refinements: 2}',
        '  - {type: zero-shot, chains: 3}',
        '  - {type: universal-self-consistency, name: usc, evaluator: vote, answer_prompt: "x"}',
        BODY,
      ].join('\n'),
    );
    assert.deepEqual(located(diagnostics), [
      '3:30-3:34 warning ignored-key',
      '3:47-3:48 error range',
      '4:40-4:46 error missing-key',
      '4:55-4:57 error range',
      '5:29-5:41 error unknown-base',
      '5:43-5:54 warning ignored-key',
      '6:23-6:29 warning ignored-key',
      '7:51-7:60 warning ignored-key',
      '7:68-7:81 warning ignored-key',
    ]);
  });

  it('checks the base style like a plain variant of it, and tells shapes apart from plain variants', () => {
    const { diagnostics } = parsePrompt(
      [
        '---',
        'variants:',
        '  - {type: self-verification, base: few-shot}',
        '  - zero-shot-cot',
        '  - step-back',
        '  - {type: step-back, name: again}',
        BODY,
      ].join('\n'),
    );
    // No examples for a few-shot base; the second step-back is the first one again (same shape, same settings).
    assert.deepEqual(located(diagnostics), ['3:5-3:46 error needs-examples', '6:5-6:35 warning identical-variants']);
  });

  it('a scorer evaluator with its file parses clean; a stray scorer warns', () => {
    const good = parsePrompt(['---', 'variants: [{type: tree-of-thought, evaluator: scorer, scorer: rate.js}]', BODY].join('\n'));
    assert.deepEqual(located(good.diagnostics), []);
    assert.equal(good.document.variants[0]?.shape?.scorerFile, 'rate.js');
    const stray = parsePrompt(['---', 'variants: [{type: tree-of-thought, scorer: rate.js}]', BODY].join('\n'));
    assert.deepEqual(located(stray.diagnostics), ['2:36-2:42 warning ignored-key']);
  });
});
