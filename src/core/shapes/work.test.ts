import * as assert from 'node:assert/strict';
import { estimateRun } from '../eval/estimate';
import { loadPrompt, nodeFileSystem } from '../prompt/load';

const PROMPT = `---
config: {max_tokens: 10}
samples: 2
variants:
  - zero-shot-cot
  - {name: tot, type: tree-of-thought, breadth: 3, beam: 2, depth: 3}
  - {name: tot-value, type: tree-of-thought, breadth: 3, beam: 2, depth: 3, evaluator: value, value_samples: 2}
  - {name: got, type: graph-of-thought, chains: 4, refinements: 2}
  - {name: usc, type: universal-self-consistency, chains: 5}
  - {name: verify, type: self-verification, chains: 5, verify_samples: 2}
  - {name: step-back, type: step-back}
cases:
  - {input: "2 + 3", expected: 5}
---
{{q}}
`;

describe('the pre-run estimate of reasoning shapes', () => {
  it('counts every request and generation a shape chain can make, not one per chain', async () => {
    const loaded = await loadPrompt('/tmp/work.prompt', PROMPT, nodeFileSystem);
    const estimate = async (variant: string) => estimateRun(loaded, { input: 'chat', model: 'gpt-4o-mini', variants: [variant] });
    // Per chain: requests, generations (× 2 samples; × 10 max_tokens for the completion bound).
    const expected: Record<string, [number, number]> = {
      'zero-shot-cot': [0.5, 1], // one request of n = 2 per case
      tot: [1 + 2 * 2 + 1, (1 + 2 * 2) * 3 + 1], // 5 proposal requests of 3, one answer
      'tot-value': [1 + 2 * 2 + 5 * 3 + 1, 5 * 3 + 5 * 3 * 2 + 1], // plus a rating request per candidate, 2 samples each
      got: [2 + 2, 4 + 1 + 2],
      usc: [2, 5 + 1],
      verify: [1 + 5, 5 * 3],
      'step-back': [2, 2],
    };
    for (const [variant, [requests, generations]] of Object.entries(expected)) {
      const result = await estimate(variant);
      assert.equal(result.requests, requests * 2, `${variant} requests`);
      assert.equal(result.maxCompletionTokens, generations * 2 * 10, `${variant} completion bound`);
      assert.equal(result.chains, 2, variant);
    }
  });
});
