import * as assert from 'node:assert/strict';
import { scriptedContext } from '../../../testFixtures/shapes';
import { runTreeOfThought, thoughtOf } from './tot';
import { ShapeFailure, type TraceNode } from './types';

const byId = (trace: TraceNode[], id: string): TraceNode => {
  const node = trace.find((candidate) => candidate.id === id);
  assert.ok(node, `no node ${id}`);
  return node;
};

describe('tree of thought', () => {
  it('cuts a sampled continuation into one thought, keeping the sentence mark', () => {
    const output = { text: ' 12 + 5 = 17', finishReason: 'stop' as const, promptTokens: 1, completionTokens: 1 };
    assert.equal(thoughtOf(output, '. '), '12 + 5 = 17.');
    assert.equal(thoughtOf({ ...output, text: 'Step one.\nStep two.' }, '\n'), 'Step one.');
    // Cut off by the token limit: no mark is invented.
    assert.equal(thoughtOf({ ...output, finishReason: 'length' }, '. '), '12 + 5 = 17');
  });

  it('searches breadth-first, votes by frequency, prunes to the beam and ends at a terminal state', async () => {
    const context = scriptedContext(
      'tree-of-thought',
      {
        'propose-d1-s0': [' 12 + 5 = 17', ' 12 + 5 = 17', ' 12 + 5 = 18'],
        'propose-d2-s0': [' 17 - 3 = 14', ' 17 - 3 = 14', ' 17 - 3 = 13'],
        'propose-d2-s1': [' 18 - 3 = 15', ' 18 - 3 = 15', ' 18 - 3 = 15'],
        'propose-d3-s0': [' The answer is 14', ' The answer is 14', ' The answer is 14'],
        'propose-d3-s1': [' The answer is 15', ' The answer is 15', ' The answer is 16'],
      },
      { input: 'text', options: { delimiter: '. ', breadth: 3, beam: 2, depth: 3 } },
    );
    const result = await runTreeOfThought(context);
    // Every state of a depth is expanded before any of the next.
    assert.deepEqual(
      context.requests.map((request) => request.id),
      ['propose-d1-s0', 'propose-d2-s0', 'propose-d2-s1', 'propose-d3-s0', 'propose-d3-s1'],
    );
    assert.deepEqual(
      result.trace.map((node) => node.id),
      ['d1.0.0', 'd1.0.1', 'd2.0.0', 'd2.0.1', 'd2.1.0', 'd3.0.0', 'd3.1.0', 'd3.1.1'],
    );
    // The state is continued after the answer cue, and a thought ends at the delimiter or the chain's own stop.
    const second = context.requests[1];
    assert.equal(second?.text, "Q: What is 12 + 5 - 3?\nA: Let's think step by step. 12 + 5 = 17.");
    assert.deepEqual(second?.stop, ['. ', '\n\nQ:']);
    assert.equal(second?.n, 3);
    // Identical proposals are one candidate scored by how often it came (count / breadth).
    assert.equal(byId(result.trace, 'd1.0.0').score, 2 / 3);
    assert.equal(byId(result.trace, 'd1.0.1').score, 1 / 3);
    // Depth 2: the beam keeps the two best of all three candidates; the third is pruned.
    assert.equal(byId(result.trace, 'd2.1.0').kept, true);
    assert.equal(byId(result.trace, 'd2.0.0').kept, true);
    assert.equal(byId(result.trace, 'd2.0.1').kept, false);
    assert.deepEqual(byId(result.trace, 'd2.1.0').parents, ['d1.0.1']);
    assert.equal(byId(result.trace, 'd3.1.1').kept, false);
    // Both kept depth-3 states have an answer; the better voted one wins, and no answer request is needed.
    assert.equal(result.text, '12 + 5 = 17. 17 - 3 = 14. The answer is 14.');
    assert.deepEqual(
      result.trace.filter((node) => node.onPath).map((node) => node.id),
      ['d1.0.0', 'd2.0.0', 'd3.0.0'],
    );
    // Tokens: the request's prompt tokens (the sum its 3 samples report) on its first node, each candidate its samples' completion tokens.
    assert.equal(byId(result.trace, 'd1.0.0').promptTokens, 30);
    assert.equal(byId(result.trace, 'd1.0.1').promptTokens, 0);
    assert.equal(byId(result.trace, 'd1.0.0').completionTokens, 4);
  });

  it('does not expand a terminal state; it stays a candidate and wins over states without an answer', async () => {
    const context = scriptedContext(
      'tree-of-thought',
      {
        'propose-d1-s0': ['The answer is 14', 'The answer is 14', '12 + 5 = 17'],
        'propose-d2-s0': ['17 - 3 = 14', '17 - 3 = 14', '17 - 3 = 14'],
      },
      { input: 'text', options: { breadth: 3, beam: 2, depth: 2 } },
    );
    const result = await runTreeOfThought(context);
    // Only the state without an answer grows; it is state 0 of the next depth.
    assert.deepEqual(
      context.requests.map((request) => request.id),
      ['propose-d1-s0', 'propose-d2-s0'],
    );
    assert.equal(context.requests[1]?.text, "Q: What is 12 + 5 - 3?\nA: Let's think step by step. 12 + 5 = 17\n");
    assert.deepEqual(byId(result.trace, 'd2.0.0').parents, ['d1.0.1']);
    assert.equal(result.text, 'The answer is 14');
    assert.equal(byId(result.trace, 'd1.0.0').onPath, true);
  });

  it('runs the best state without an answer to the end in one answer request (text)', async () => {
    const context = scriptedContext(
      'tree-of-thought',
      { 'propose-d1-s0': [' 12 + 5 = 17', ' 12 + 5 = 18', ' 12 + 5 = 17'], answer: [' 17 - 3 = 14. The answer is 14.'] },
      { input: 'text', options: { delimiter: '. ', beam: 1, depth: 1 } },
    );
    const result = await runTreeOfThought(context);
    const answer = context.requests.at(-1);
    assert.equal(answer?.id, 'answer');
    assert.equal(answer?.text, "Q: What is 12 + 5 - 3?\nA: Let's think step by step. 12 + 5 = 17.");
    assert.deepEqual(answer?.stop, ['\n\nQ:']);
    assert.equal(result.text, '12 + 5 = 17. 17 - 3 = 14. The answer is 14.');
    const node = byId(result.trace, 'answer');
    assert.equal(node.role, 'answer');
    assert.deepEqual(node.parents, ['d1.0.0']);
    assert.equal(node.onPath, true);
  });

  it('chat: proposes with a propose prompt after the case turns, votes with a vote prompt, finishes in a user turn', async () => {
    const context = scriptedContext(
      'tree-of-thought',
      {
        'propose-d1-s0': ['12 + 5 = 17\n17 - 3 = 14', '12 + 5 = 18', '12 + 5 = 17'],
        'vote-d1': ['Choice 1 is right. The best choice is 2', 'The best choice is 2', 'The best choice is 1', 'no idea'],
        answer: ['17 - 3 = 15. The answer is 15.'],
      },
      { options: { beam: 1, depth: 1, votePrompt: 'Question: {{question}}\n{{candidates}}\nWhich is best?' } },
    );
    const result = await runTreeOfThought(context);
    const propose = context.requests[0];
    assert.equal(propose?.messages?.length, 3);
    assert.equal(propose?.messages?.[0]?.role, 'system');
    assert.match(propose?.messages?.at(-1)?.content ?? '', /\(no steps yet\)[\s\S]*next step/);
    // The chat reply is cut at the delimiter: the first line is the thought, and identical ones merge.
    assert.deepEqual(
      result.trace.filter((node) => node.role === 'propose').map((node) => node.text),
      ['12 + 5 = 17', '12 + 5 = 18'],
    );
    const vote = context.requests[1];
    assert.equal(vote?.n, 3);
    assert.equal(
      vote?.messages?.[0]?.content,
      'Question: What is 12 + 5 - 3?\nChoice 1:\n12 + 5 = 17\n\nChoice 2:\n12 + 5 = 18\nWhich is best?',
    );
    assert.equal(byId(result.trace, 'd1.0.1').score, 2);
    assert.equal(byId(result.trace, 'd1.0.0').score, 1);
    assert.equal(byId(result.trace, 'd1.0.0').kept, false);
    assert.match(byId(result.trace, 'vote-d1').text, /no valid "best choice is N" in: no idea/);
    assert.match(context.requests[2]?.messages?.at(-1)?.content ?? '', /12 \+ 5 = 18[\s\S]*Finish the solution/);
    assert.equal(result.text, '12 + 5 = 18\n17 - 3 = 15. The answer is 15.');
  });

  it('value evaluator: sure / likely / impossible averaged over samples, unparsable as 0 with the reason', async () => {
    const context = scriptedContext(
      'tree-of-thought',
      {
        'propose-d1-s0': ['12 + 5 = 17', '12 + 5 = 18'],
        'value-d1.0.0': ['Impossible', 'I think this is likely'],
        'value-d1.0.1': ['sure', 'hmm'],
        answer: ['The answer is 15.'],
      },
      { options: { breadth: 2, beam: 1, depth: 1, evaluator: 'value', valueSamples: 2 } },
    );
    const result = await runTreeOfThought(context);
    const value = context.requests.find((request) => request.id === 'value-d1.0.0');
    assert.equal(value?.n, 2);
    assert.match(value?.messages?.[0]?.content ?? '', /Partial solution:\n12 \+ 5 = 17\n/);
    assert.equal(byId(result.trace, 'd1.0.0').score, 0.25);
    assert.equal(byId(result.trace, 'd1.0.1').score, 0.5);
    assert.match(byId(result.trace, 'value-d1.0.1').text, /hmm\n\(no sure\/likely\/impossible: counted as 0\)/);
    assert.deepEqual(byId(result.trace, 'value-d1.0.1').parents, ['d1.0.1']);
    assert.equal(byId(result.trace, 'd1.0.1').kept, true);
  });

  it('scorer evaluator: rates each state with the scorer file', async () => {
    const rated: string[] = [];
    const context = scriptedContext(
      'tree-of-thought',
      { 'propose-d1-s0': ['12 + 5 = 17', '12 + 5 = 18'], answer: ['The answer is 14.'] },
      {
        options: { breadth: 2, beam: 1, depth: 1, evaluator: 'scorer', scorerFile: 'rate.js' },
        rateState: (state) => {
          rated.push(state);
          return Promise.resolve(state.includes('17') ? 0.9 : 0.1);
        },
      },
    );
    const result = await runTreeOfThought(context);
    assert.deepEqual(rated, ['12 + 5 = 17', '12 + 5 = 18']);
    assert.equal(byId(result.trace, 'd1.0.0').kept, true);
    assert.equal(byId(result.trace, 'd1.0.1').kept, false);
    assert.equal(result.text, '12 + 5 = 17\nThe answer is 14.');
  });

  it('a failed proposal request leaves a node with its error and the search goes on', async () => {
    const context = scriptedContext(
      'tree-of-thought',
      {
        'propose-d1-s0': ['12 + 5 = 17', '12 + 5 = 18'],
        'propose-d2-s0': { fail: 'HTTP 500' },
        'propose-d2-s1': ['The answer is 15', 'The answer is 15'],
      },
      { input: 'text', options: { breadth: 2, beam: 2, depth: 2 } },
    );
    const result = await runTreeOfThought(context);
    const failed = byId(result.trace, 'd2.0.0');
    assert.equal(failed.error, 'HTTP 500');
    assert.equal(failed.kept, false);
    assert.deepEqual(failed.parents, ['d1.0.0']);
    assert.equal(result.text, '12 + 5 = 18\nThe answer is 15');
  });

  it('a depth without any candidate fails the chain with the trace so far', async () => {
    const context = scriptedContext('tree-of-thought', { 'propose-d1-s0': { fail: 'timeout' } }, { input: 'text' });
    await assert.rejects(runTreeOfThought(context), (error: unknown) => {
      assert.ok(error instanceof ShapeFailure);
      assert.equal(error.trace.length, 1);
      assert.equal(error.trace[0]?.error, 'timeout');
      return true;
    });
  });
});
