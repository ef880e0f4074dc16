// Budgets, cached-input and reasoning-token prices, and reasoning models, end to end: a prompt file through
// an evaluation session and the real OpenAI SDK to the fake server on 127.0.0.1.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeServer, type CannedAnswer, type FakeServer } from '../../../testFixtures/openai-server/server';
import { OpenAIBackend } from '../backends/openai';
import { costOf } from '../prices';
import { loadPrompt, nodeFileSystem } from '../prompt/load';
import { splitReasoning } from './reasoning';
import { EvaluationSession, type SessionOptions } from './session';
import { parseRunFile } from './store';

const CASES = ['one', 'two', 'three', 'four', 'five', 'six'];

function promptText(extra = '', samples = 2): string {
  return `---
name: budget
samples: ${samples}
config: {temperature: 0.7, max_tokens: 10, seed: 3}
variants: [zero-shot]
${extra}cases:
${CASES.map((name, i) => `  - {name: ${name}, input: "question ${name}", expected: ${i + 1}}`).join('\n')}
extract: number
scorer: numeric
---
{{q}}
`;
}

describe('budgets and reasoning models (fake OpenAI server)', function () {
  this.timeout(20_000);
  let server: FakeServer;
  let folder: string;

  const start = async (answers: CannedAnswer[]): Promise<void> => {
    server = await startFakeServer({ apiKey: 'test-key', answers });
  };
  afterEach(async () => {
    await server?.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-budget-'));
  });

  const session = async (text: string, extra: Partial<SessionOptions> = {}, model = 'priced-model'): Promise<EvaluationSession> => {
    const file = path.join(folder, 'budget.prompt');
    fs.writeFileSync(file, text);
    const loaded = await loadPrompt(file, text, nodeFileSystem);
    assert.deepEqual(
      loaded.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    return new EvaluationSession({
      loaded,
      promptText: text,
      backend: new OpenAIBackend({ id: 'openai', model, apiKey: 'test-key', baseUrl: server.url, backoffMs: 5 }),
      runsDirectory: path.join(folder, 'runs'),
      trusted: true,
      compareWithPrevious: false,
      // $0.001 an output token, prompts free: every request's worst case is 2 chains × 10 tokens = $0.02.
      priceTable: { 'priced-model': { input: 0, output: 1000 } },
      ...extra,
    });
  };

  // Each question is answered with its own number; 4 output tokens a chain, so a request of 2 costs $0.008.
  const numbered: CannedAnswer[] = CASES.map((name, i) => ({
    match: `question ${name}`,
    answers: [`The answer is ${i + 1}.`],
    usage: { promptTokens: 12, completionTokens: 4 },
  }));

  it('stops before a request could pass the budget, keeps what finished, says what was spent; a resume with more goes on', async () => {
    await start(numbered);
    const first = await (await session(promptText(), { maxCost: 0.05, concurrency: 1 })).run();
    // 0.032 spent + 0.02 worst case of the fifth request > 0.05: four requests, never a fifth.
    assert.equal(server.requests.length, 4);
    assert.equal(first.result.status, 'budget');
    assert.ok(first.result.spent !== undefined && Math.abs(first.result.spent - 0.032) < 1e-9, String(first.result.spent));
    assert.ok((first.result.spent ?? 1) <= 0.05);
    assert.equal(first.result.budget, 0.05);
    assert.match(first.result.error ?? '', /^budget \$0\.0500 reached: spent \$0\.0320/);
    assert.equal(first.result.coverage.finished, 8);
    assert.equal(first.result.coverage.missing, 4);
    const stored = parseRunFile(fs.readFileSync(first.result.runFile, 'utf8'));
    assert.equal(stored.completions.length, 8);
    assert.equal(stored.end?.status, 'budget');
    assert.ok(Math.abs((stored.end?.spent ?? 0) - 0.032) < 1e-9);

    // The same budget again: what the first session spent counts, so nothing more fits.
    const again = await (await session(promptText(), { maxCost: 0.05, resume: first.result.runFile })).run();
    assert.equal(server.requests.length, 4);
    assert.equal(again.result.status, 'budget');

    const resumed = await (await session(promptText(), { maxCost: 1, resume: first.result.runFile })).run();
    assert.equal(server.requests.length, 6, 'only the two missing requests are sent');
    assert.equal(resumed.result.status, 'completed');
    assert.equal(resumed.result.coverage.finished, 12);
    assert.ok(Math.abs((resumed.result.spent ?? 0) - 0.048) < 1e-9, String(resumed.result.spent));
    assert.equal(resumed.result.variants[0]?.majorityVote.value, 1);
  });

  it('counts the worst case of requests in flight: concurrent requests never pass the budget together', async () => {
    await start(numbered);
    const outcome = await (await session(promptText(), { maxCost: 0.05, concurrency: 4 })).run();
    // Two requests in flight book $0.04; a third would make $0.06.
    assert.equal(server.requests.length, 2);
    assert.equal(outcome.result.status, 'budget');
    assert.ok(Math.abs((outcome.result.spent ?? 0) - 0.016) < 1e-9);
  });

  it("takes the prompt file's budget, refuses one whose single request could pass it before sending anything, and states the worst case", async () => {
    await start(numbered);
    const fromFile = await session(promptText('budget: 0.01\n'));
    const estimate = await fromFile.estimate();
    // 12 chains × 10 tokens × $0.001, prompts free.
    assert.ok(Math.abs((estimate.maxCost ?? 0) - 0.12) < 1e-9);
    assert.equal(estimate.budget, 0.01);
    assert.equal(estimate.overBudget, true);
    const outcome = await fromFile.run();
    assert.equal(server.requests.length, 0);
    assert.equal(outcome.result.status, 'budget');
    assert.equal(outcome.result.coverage.finished, 0);
    assert.match(outcome.result.error ?? '', /budget \$0\.0100 reached: spent \$0\.00.*could cost up to \$0\.0200/);
  });

  it("counts zero-shot CoT's answer stage in what is spent and in each request's worst case", async () => {
    // The answer stage's last user turn is the answer prompt: it gets the server's "I don't know." (4 tokens).
    await start([...numbered, { match: 'Therefore', answers: ['7'], usage: { promptTokens: 30, completionTokens: 4 } }]);
    const text = promptText('', 1).replace(
      'variants: [zero-shot]',
      'variants: [{type: zero-shot-cot, answer_prompt: "Therefore, the answer is"}]',
    );
    // Each cell: a chain of ≤ 10 tokens and an answer of ≤ 32, $0.042 at worst; it costs 4 + 4 tokens, $0.008.
    const outcome = await (await session(text, { maxCost: 0.07, concurrency: 1 })).run();
    // 4 cells spend $0.032; a fifth could take it to $0.074.
    assert.equal(server.requests.length, 8, '4 chains and their 4 answer stages');
    assert.equal(outcome.result.status, 'budget');
    assert.ok(Math.abs((outcome.result.spent ?? 0) - 0.032) < 1e-9, String(outcome.result.spent));
    // The chains' own tokens are half of it: the answer stages are not in the records.
    assert.ok(Math.abs((outcome.result.variants[0]?.cost ?? 0) - 0.016) < 1e-9);
  });

  it('refuses a budget for a model without a price, before any request', async () => {
    await start(numbered);
    const unpriced = await session(promptText(), { maxCost: 1 }, 'unknown-model');
    await assert.rejects(() => unpriced.run(), /A budget needs the price of openai:unknown-model/);
    assert.equal(server.requests.length, 0);
  });

  it('prices cached prompt tokens at the cached-input price and reasoning tokens as output, counted apart', async () => {
    await start([
      {
        match: 'question one',
        answers: ['The answer is 1.'],
        usage: { promptTokens: 1000, cachedTokens: 600, completionTokens: 50, reasoningTokens: 150 },
      },
    ]);
    const text = promptText('', 1).replace(
      /cases:\n[\s\S]*?extract/,
      'cases:\n  - {name: one, input: "question one", expected: 1}\nextract',
    );
    const outcome = await (await session(text, { priceTable: { 'priced-model': { input: 2, cachedInput: 0.5, output: 8 } } })).run();
    const variant = outcome.result.variants[0];
    assert.equal(variant?.promptTokens, 1000);
    assert.equal(variant?.cachedTokens, 600);
    assert.equal(variant?.completionTokens, 200);
    assert.equal(variant?.reasoningTokens, 150);
    // By hand: 400 × $2 + 600 × $0.5 + 200 × $8 per million = $0.0027.
    assert.ok(Math.abs((variant?.cost ?? 0) - 0.0027) < 1e-12, String(variant?.cost));
    assert.ok(Math.abs((outcome.result.spent ?? 0) - 0.0027) < 1e-12, String(outcome.result.spent));
    const chain = outcome.result.cells[0]?.chains[0];
    assert.equal(chain?.cachedTokens, 600);
    assert.equal(chain?.reasoningTokens, 150);
    // Without a cached-input price, cached tokens cost the input price.
    assert.equal(costOf({ promptTokens: 1000, cachedTokens: 600, completionTokens: 0 }, { input: 2, output: 8 }), 0.002);
  });

  it("keeps reasoning_content as the chain's reasoning and never extracts the answer from it; sends reasoning_effort", async () => {
    await start([{ match: 'question one', answers: ['The answer is 1.'], reasoning: 'Perhaps 99? The answer is 99. No: 1.' }]);
    const text = promptText('', 2)
      .replace('seed: 3}', 'seed: 3, reasoning_effort: high}')
      .replace(/cases:\n[\s\S]*?extract/, 'cases:\n  - {name: one, input: "question one", expected: 1}\nextract');
    const outcome = await (await session(text)).run();
    assert.equal(server.requests[0]?.reasoning_effort, 'high');
    const cell = outcome.result.cells[0];
    assert.equal(cell?.majority, '1');
    for (const chain of cell?.chains ?? []) {
      assert.equal(chain.reasoning, 'Perhaps 99? The answer is 99. No: 1.');
      assert.equal(chain.text, 'The answer is 1.');
      assert.equal(chain.answer, '1');
    }
    const stored = parseRunFile(fs.readFileSync(outcome.result.runFile, 'utf8'));
    assert.equal(stored.completions[0]?.reasoning, 'Perhaps 99? The answer is 99. No: 1.');
  });

  it('removes a <think> block before extraction; an unclosed one, or reasoning cut by max_tokens, is an incomplete chain', async () => {
    await start([
      { match: 'question one', answers: ['<think>Is it 99? The answer is 99.</think>\nThe answer is 1.'] },
      { match: 'question two', answers: ['<think>Let me think. The answer is 2 or'], finishReason: 'length' },
      { match: 'question three', answers: [''], reasoning: 'Three is 1 + 2, so the answer is', finishReason: 'length' },
    ]);
    const text = promptText('', 1).replace(
      /cases:\n[\s\S]*?extract/,
      'cases:\n  - {name: one, input: "question one", expected: 1}\n  - {name: two, input: "question two", expected: 2}\n  - {name: three, input: "question three", expected: 3}\nextract',
    );
    const outcome = await (await session(text)).run();
    const [one, two, three] = outcome.result.cells.map((cell) => cell.chains[0]);
    assert.equal(one?.answer, '1');
    assert.equal(one?.reasoning, 'Is it 99? The answer is 99.');
    // The span points into the whole text, after the think block.
    assert.equal(one?.text.slice(...(one.span ?? [0, 0])), '1');
    assert.ok((one?.span?.[0] ?? 0) > one.text.indexOf('</think>'));
    assert.equal(one?.pass, true);
    assert.equal(two?.answer, undefined);
    assert.match(two?.reason ?? '', /incomplete chain: its <think> block never closed \(max_tokens ran out/);
    assert.equal(two?.reasoning, 'Let me think. The answer is 2 or');
    assert.equal(three?.answer, undefined);
    assert.match(three?.reason ?? '', /incomplete chain: max_tokens ran out while the model was reasoning/);
    assert.equal(outcome.result.variants[0]?.invalidRate, 2 / 3);
  });
});

describe('fake server: reasoning and usage details without streaming', () => {
  it('answers with message.reasoning_content, cached and reasoning tokens, and the canned finish reason', async () => {
    const server = await startFakeServer({
      answers: [
        {
          match: 'hello',
          answers: ['Hi.'],
          reasoning: 'They greet me.',
          finishReason: 'length',
          usage: { promptTokens: 20, cachedTokens: 8, completionTokens: 3, reasoningTokens: 5 },
        },
      ],
    });
    try {
      const response = await fetch(`${server.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', n: 2, messages: [{ role: 'user', content: 'hello' }] }),
      });
      const body = (await response.json()) as {
        choices: { message: { content: string; reasoning_content?: string }; finish_reason: string }[];
        usage: Record<string, unknown>;
      };
      assert.deepEqual(
        body.choices.map((choice) => [choice.message.content, choice.message.reasoning_content, choice.finish_reason]),
        [
          ['Hi.', 'They greet me.', 'length'],
          ['Hi.', 'They greet me.', 'length'],
        ],
      );
      assert.deepEqual(body.usage, {
        prompt_tokens: 20,
        completion_tokens: 16,
        total_tokens: 36,
        completion_tokens_details: { reasoning_tokens: 10 },
        prompt_tokens_details: { cached_tokens: 8 },
      });
    } finally {
      await server.close();
    }
  });
});

describe('splitReasoning', () => {
  it('splits a think block, a closing tag alone (the template opened it), an unclosed one, and text without', () => {
    assert.deepEqual(splitReasoning('<think> a </think>The answer is 4.'), {
      answer: 'The answer is 4.',
      offset: 18,
      reasoning: 'a',
    });
    assert.deepEqual(splitReasoning('hmm, 3?</think>\n4'), { answer: '\n4', offset: 15, reasoning: 'hmm, 3?' });
    assert.deepEqual(splitReasoning('<think>still going'), { answer: '', offset: 18, reasoning: 'still going', unclosed: true });
    assert.deepEqual(splitReasoning('The answer is 4.'), { answer: 'The answer is 4.', offset: 0 });
  });
});
