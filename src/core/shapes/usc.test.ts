import * as assert from 'node:assert/strict';
import { scriptedContext } from '../../../testFixtures/shapes';
import { pickedResponse, runUniversalSelfConsistency } from './usc';

describe('universal self-consistency', () => {
  it('reads the picked response number, tolerating case and #', () => {
    assert.equal(pickedResponse('The most consistent response is Response 3.'), 3);
    assert.equal(pickedResponse('I would say response 2 agrees with most.'), 2);
    assert.equal(pickedResponse('Response #4'), 4);
    // The phrase wins over an earlier mention.
    assert.equal(pickedResponse('Response 1 differs. The most consistent response is Response 2'), 2);
    assert.equal(pickedResponse('All of them agree.'), undefined);
  });

  it('shows the chains that came back and answers with the picked one', async () => {
    const context = scriptedContext(
      'universal-self-consistency',
      {
        chains: ['The answer is 14.', { error: 'HTTP 500' }, 'The answer is 15.', 'The answer is 14!'],
        pick: ['The most consistent response is Response 2'],
      },
      { options: { chains: 4 } },
    );
    const result = await runUniversalSelfConsistency(context);
    const pick = context.requests[1];
    assert.equal(pick?.temperature, 0);
    const prompt = pick?.messages?.[0]?.content ?? '';
    assert.match(prompt, /^I have generated the following responses to the question: What is 12 \+ 5 - 3\?/);
    assert.match(prompt, /Response 1:\nThe answer is 14\.\n\nResponse 2:\nThe answer is 15\.\n\nResponse 3:\nThe answer is 14!/);
    assert.match(prompt, /Start your answer with "The most consistent response is Response X" \(without quotes\)\.$/);
    // Response 2 of the list is chain-3: the failed chain-2 was left out.
    assert.equal(result.text, 'The answer is 15.');
    const node = result.trace.find((candidate) => candidate.id === 'pick');
    assert.deepEqual(node?.parents, ['chain-1', 'chain-3', 'chain-4']);
    assert.equal(node?.score, 2);
    assert.deepEqual(
      result.trace.filter((candidate) => candidate.onPath).map((candidate) => candidate.id),
      ['chain-3', 'pick'],
    );
  });

  it('an unparsable or out-of-range pick falls back to the first chain, saying why', async () => {
    for (const [answer, reason] of [
      ['They all look fine.', /no response number/],
      ['The most consistent response is Response 9', /Response 9 does not exist/],
    ] as const) {
      const context = scriptedContext('universal-self-consistency', { chains: ['The answer is 14.', 'The answer is 15.'], pick: [answer] });
      const result = await runUniversalSelfConsistency(context);
      assert.equal(result.text, 'The answer is 14.');
      const node = result.trace.find((candidate) => candidate.id === 'pick');
      assert.match(node?.text ?? '', reason);
      assert.equal(node?.score, undefined);
    }
  });
});
