import * as assert from 'node:assert/strict';
import { scriptedContext } from '../../../testFixtures/shapes';
import { runSelfVerification, verdictOf } from './verify';

describe('self-verification', () => {
  it('reads yes or no', () => {
    assert.equal(verdictOf('Yes, it is correct.'), true);
    assert.equal(verdictOf('no.'), false);
    assert.equal(verdictOf('The answer seems right'), undefined);
  });

  it('weights each answer by the share of yes and picks the largest sum', async () => {
    const context = scriptedContext(
      'self-verification',
      {
        chains: ['A. The answer is 14.', 'B. The answer is 15.', 'C. The answer is 14.', 'no answer here'],
        'verify-chain-1': ['no', 'yes'],
        'verify-chain-2': ['yes', 'yes'],
        'verify-chain-3': ['No.', 'not sure'],
      },
      { options: { chains: 4, verifySamples: 2 } },
    );
    const result = await runSelfVerification(context);
    // 15 verifies fully (1) against 14's 0.5 + 0: one well-verified chain beats two doubtful ones.
    assert.equal(result.text, 'B. The answer is 15.');
    assert.deepEqual(
      context.requests.map((request) => [request.id, request.n]),
      [
        ['chains', 4],
        ['verify-chain-1', 2],
        ['verify-chain-2', 2],
        ['verify-chain-3', 2],
      ],
    );
    assert.match(
      context.requests[1]?.messages?.[0]?.content ?? '',
      /Proposed solution:\nA\. The answer is 14\.\n\nIs the final answer correct\?/,
    );
    const score = (id: string) => result.trace.find((node) => node.id === id)?.score;
    assert.equal(score('chain-1'), 0.5);
    assert.equal(score('chain-2'), 1);
    assert.equal(score('chain-3'), 0);
    assert.equal(score('chain-4'), undefined);
    assert.deepEqual(result.trace.find((node) => node.id === 'verify-chain-2')?.parents, ['chain-2']);
  });

  it('ties: more chains win, then the first seen; the answer reads from its best-verified chain', async () => {
    const moreChains = scriptedContext('self-verification', {
      chains: ['A. The answer is 15.', 'B. The answer is 14.', 'C. The answer is 14.'],
      'verify-chain-1': ['yes'],
      'verify-chain-2': ['no'],
      'verify-chain-3': ['yes'],
    });
    assert.equal((await runSelfVerification(moreChains)).text, 'C. The answer is 14.');
    const firstSeen = scriptedContext('self-verification', {
      chains: ['A. The answer is 15.', 'B. The answer is 14.'],
      'verify-chain-1': ['yes'],
      'verify-chain-2': ['yes'],
    });
    assert.equal((await runSelfVerification(firstSeen)).text, 'A. The answer is 15.');
  });

  it('a failed verification counts as not verified', async () => {
    const context = scriptedContext('self-verification', {
      chains: ['A. The answer is 15.', 'B. The answer is 14.'],
      'verify-chain-1': { fail: 'HTTP 500' },
      'verify-chain-2': ['yes'],
    });
    const result = await runSelfVerification(context);
    assert.equal(result.text, 'B. The answer is 14.');
    assert.equal(result.trace.find((node) => node.id === 'verify-chain-1')?.error, 'HTTP 500');
  });
});
