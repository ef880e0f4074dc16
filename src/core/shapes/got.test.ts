import * as assert from 'node:assert/strict';
import { scriptedContext } from '../../../testFixtures/shapes';
import { runGraphOfThought } from './got';
import { ShapeFailure } from './types';

describe('graph of thought', () => {
  it('merges the chains that came back, refines the merge r times and answers from the last node', async () => {
    const context = scriptedContext(
      'graph-of-thought',
      {
        chains: ['12 + 5 = 17. The answer is 14.', { error: 'HTTP 429' }, '12 + 5 = 18. The answer is 15.'],
        aggregate: ['Merged: 12 + 5 = 17, 17 - 3 = 14. The answer is 14.'],
        'refine-1': ['Checked: the answer is 14.'],
        'refine-2': ['Final: The answer is 14.'],
      },
      { options: { chains: 3, refinements: 2 } },
    );
    const result = await runGraphOfThought(context);
    assert.deepEqual(
      context.requests.map((request) => [request.id, request.n]),
      [
        ['chains', 3],
        ['aggregate', 1],
        ['refine-1', 1],
        ['refine-2', 1],
      ],
    );
    // The chains request is the case's own prompt; the merge lists only the chains that came back.
    assert.deepEqual(context.requests[0]?.messages, context.rendered.messages);
    const merge = context.requests[1]?.messages?.at(-1)?.content ?? '';
    assert.match(merge, /Merge them into one improved solution, ending with the final answer/);
    assert.match(merge, /Solution 1:\n12 \+ 5 = 17\. The answer is 14\.\n\nSolution 2:\n12 \+ 5 = 18/);
    assert.match(context.requests[2]?.messages?.at(-1)?.content ?? '', /Solution:\nMerged: 12 \+ 5 = 17/);
    const node = (id: string) => result.trace.find((candidate) => candidate.id === id);
    assert.deepEqual(node('aggregate')?.parents, ['chain-1', 'chain-3']);
    assert.equal(node('aggregate')?.role, 'aggregate');
    assert.deepEqual(node('refine-1')?.parents, ['aggregate']);
    assert.deepEqual(node('refine-2')?.parents, ['refine-1']);
    assert.equal(node('chain-2')?.error, 'HTTP 429');
    assert.equal(result.text, 'Final: The answer is 14.');
    assert.deepEqual(
      result.trace.filter((candidate) => candidate.onPath).map((candidate) => candidate.id),
      ['chain-1', 'chain-3', 'aggregate', 'refine-1', 'refine-2'],
    );
  });

  it('a failed refinement leaves the last good solution as the answer', async () => {
    const context = scriptedContext(
      'graph-of-thought',
      { chains: ['a. The answer is 14.', 'b. The answer is 14.'], aggregate: ['The answer is 14.'], 'refine-1': { fail: 'HTTP 500' } },
      { options: { chains: 2, refinements: 3 } },
    );
    const result = await runGraphOfThought(context);
    assert.equal(result.text, 'The answer is 14.');
    assert.equal(result.trace.at(-1)?.error, 'HTTP 500');
    assert.equal(context.requests.length, 3);
  });

  it('no refinement at r = 0; every chain failing fails the shape', async () => {
    const plain = scriptedContext(
      'graph-of-thought',
      { chains: ['x', 'y'], aggregate: ['The answer is 2.'] },
      { options: { refinements: 0 } },
    );
    assert.equal((await runGraphOfThought(plain)).text, 'The answer is 2.');
    const failing = scriptedContext('graph-of-thought', { chains: { fail: 'down' } });
    await assert.rejects(runGraphOfThought(failing), ShapeFailure);
  });
});
