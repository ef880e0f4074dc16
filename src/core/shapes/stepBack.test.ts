import * as assert from 'node:assert/strict';
import { scriptedContext } from '../../../testFixtures/shapes';
import { runStepBack } from './stepBack';
import { ShapeFailure } from './types';

describe('step-back', () => {
  it('chat: asks for the principle, then puts it in the last user turn before the question', async () => {
    const context = scriptedContext('step-back', {
      abstract: ['Add and subtract left to right.'],
      answer: ['12 + 5 = 17, 17 - 3 = 14. The answer is 14.'],
    });
    const result = await runStepBack(context);
    const [abstract, answer] = context.requests;
    assert.match(abstract?.messages?.[0]?.content ?? '', /general principle[\s\S]*Question: What is 12 \+ 5 - 3\?$/);
    assert.equal(answer?.messages?.[0]?.content, 'Solve the arithmetic.');
    assert.equal(
      answer?.messages?.[1]?.content,
      "Principle: Add and subtract left to right.\n\nNow answer: What is 12 + 5 - 3?\n\nLet's think step by step.",
    );
    assert.equal(result.text, '12 + 5 = 17, 17 - 3 = 14. The answer is 14.');
    assert.deepEqual(
      result.trace.map((node) => [node.id, node.role, node.parents]),
      [
        ['abstract', 'abstract', []],
        ['answer', 'answer', ['abstract']],
      ],
    );
  });

  it('text: the principle prompt wraps the rendered text, so the answer cue stays last', async () => {
    const context = scriptedContext(
      'step-back',
      { abstract: [' Left to right.'], answer: [' 12 + 5 = 17. The answer is 14.'] },
      { input: 'text', options: { principlePrompt: 'Keep in mind: {{principle}}\n\n{{question}}' } },
    );
    await runStepBack(context);
    assert.equal(context.requests[1]?.text, "Keep in mind: Left to right.\n\nQ: What is 12 + 5 - 3?\nA: Let's think step by step.");
  });

  it('no principle fails the chain', async () => {
    const context = scriptedContext('step-back', { abstract: { fail: 'HTTP 500' } });
    await assert.rejects(runStepBack(context), ShapeFailure);
  });
});
