import * as assert from 'node:assert/strict';
import type { Example } from '../prompt/types';
import { DEFAULT_PICK_PROMPT, defaultShapeBase, fillPrompt, resolveShapeOptions } from './defaults';
import { runnerFor } from './index';
import { runTreeOfThought } from './tot';

const RANGE = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
const example = (reasoning?: string): Example => ({
  input: { q: '1 + 1' },
  output: '2',
  range: RANGE,
  ...(reasoning ? { reasoning } : {}),
});

describe('shape defaults', () => {
  it('fills every unwritten option and keeps the written ones', () => {
    const tot = resolveShapeOptions('tree-of-thought', { beam: 4 }, { examples: [] });
    assert.equal(tot.base, 'zero-shot-cot');
    assert.deepEqual([tot.breadth, tot.beam, tot.depth, tot.delimiter, tot.evaluator, tot.valueSamples], [3, 4, 3, '\n', 'vote', 3]);
    assert.equal(tot.votePrompt, undefined);
    assert.equal(resolveShapeOptions('graph-of-thought', {}, { examples: [] }).chains, 3);
    assert.equal(resolveShapeOptions('graph-of-thought', {}, { examples: [] }).refinements, 1);
    assert.equal(resolveShapeOptions('universal-self-consistency', {}, { examples: [] }).chains, 5);
    const verify = resolveShapeOptions('self-verification', { chains: 7 }, { examples: [] });
    assert.deepEqual([verify.chains, verify.verifySamples], [7, 1]);
    assert.equal(
      resolveShapeOptions('step-back', { principlePrompt: 'P: {{principle}}' }, { examples: [] }).principlePrompt,
      'P: {{principle}}',
    );
  });

  it('bases a shape on few-shot-cot when an example has reasoning, else zero-shot-cot', () => {
    assert.equal(defaultShapeBase([example(), example('1 + 1 = 2.')]), 'few-shot-cot');
    assert.equal(defaultShapeBase([example()]), 'zero-shot-cot');
    assert.equal(resolveShapeOptions('step-back', { base: 'few-shot' }, { examples: [example('r')] }).base, 'few-shot');
  });

  it('fills placeholders and leaves unknown ones as written', () => {
    assert.equal(fillPrompt('{{ question }} / {{nope}}', { question: 'Q?' }), 'Q? / {{nope}}');
    assert.match(
      fillPrompt(DEFAULT_PICK_PROMPT, { question: 'Q?', responses: 'R' }),
      /^I have generated the following responses to the question: Q\?\n\nR\n/,
    );
  });

  it('has a runner for each shape', () => {
    assert.equal(runnerFor('tree-of-thought'), runTreeOfThought);
    assert.equal(typeof runnerFor('step-back'), 'function');
  });
});
