// Every reasoning shape end to end: the engine against the OpenAI-wire test server on 127.0.0.1, whose scripted
// model answers each kind of request the shapes send (propose, aggregate, refine, pick, verify, step back).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeServer, type FakeServer } from '../../../testFixtures/openai-server/server';
import { OpenAIBackend } from '../backends/openai';
import type { ChainResult } from '../eval/results';
import { EvaluationSession } from '../eval/session';
import { CompletionCache } from '../eval/cache';
import { RunFile } from '../eval/store';
import { loadPrompt, nodeFileSystem } from '../prompt/load';
import type { TraceNode } from './types';

const QUESTION = 'Tom has 12 apples. He buys 5 more. Then he gives 3 to Ann. How many apples does Tom have now?';

/** What the scripted model writes for each request: by what the request asks, and by choice. */
function scriptedModel(request: { messages?: { role: string; content: string }[]; prompt: string }, choice: number): string {
  const user = request.messages?.at(-1)?.content ?? request.prompt;
  if (user.includes('Write only the next step')) {
    const state = /partial solution to the question:\n([\s\S]*?)\n\nWrite only/.exec(user)?.[1] ?? '';
    if (state.includes('17 - 3 = 14.')) return 'The answer is 14.';
    if (state.includes('12 + 5 = 17.')) return ['17 - 3 = 14.', '17 - 3 = 14.', '17 + 3 = 20.'][choice] ?? '17 - 3 = 14.';
    // The first step: two votes for the right one, one for a wrong one that the beam prunes.
    return ['12 + 5 = 17.', '12 - 5 = 7.', '12 + 5 = 17.'][choice] ?? '12 + 5 = 17.';
  }
  if (user.includes('Evaluate whether this partial solution')) {
    const state = /Partial solution:\n([\s\S]*?)\n\nReply with one word/.exec(user)?.[1] ?? '';
    if (state.includes('12 - 5 = 7.') || state.includes('17 + 3 = 20.')) return 'impossible';
    return choice === 0 ? 'likely' : 'sure';
  }
  if (user.includes('Merge them into one improved solution')) return 'Merged: 12 + 5 = 17. 17 - 3 = 14. The answer is 14.';
  if (user.includes('Check it for mistakes')) return 'Refined: 12 + 5 = 17, then 17 - 3 = 14. The answer is 14.';
  if (user.includes('Select the most consistent response')) return 'The most consistent response is Response 3.';
  if (user.includes('Is the final answer correct?')) return user.includes('The answer is 14.') ? 'yes' : 'no';
  if (user.includes('Step back from the details')) return 'Buying adds to a count; giving away subtracts from it.';
  if (user.startsWith('Principle: Buying adds')) return '12 + 5 = 17. 17 - 3 = 14. The answer is 14.';
  // A plain chain of thought: one of three goes wrong.
  return [
    '12 + 5 = 17. 17 - 3 = 14. The answer is 14.',
    '12 + 5 = 17. 17 + 3 = 20. The answer is 20.',
    '12 + 5 = 17. 17 - 3 = 14. The answer is 14.',
  ][choice % 3] as string;
}

const PROMPT = `---
name: shapes
config: {temperature: 0.7, max_tokens: 64, seed: 3}
samples: 1
variants:
  - zero-shot-cot
  - {name: tot, type: tree-of-thought, breadth: 3, beam: 1, depth: 4}
  - {name: tot-value, type: tree-of-thought, breadth: 3, beam: 1, depth: 4, evaluator: value, value_samples: 2}
  - {name: got, type: graph-of-thought, chains: 3, refinements: 1}
  - {name: usc, type: universal-self-consistency, chains: 3}
  - {name: verify, type: self-verification, chains: 3}
  - {name: step-back, type: step-back}
cases:
  - {name: apples, input: "${QUESTION}", expected: 14}
extract: number
scorer: numeric
---
{{question}}
`;

describe('reasoning shapes through the engine, against the test server', function () {
  this.timeout(30_000);
  let server: FakeServer | undefined;
  let folder: string;
  beforeEach(() => (folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-shapes-'))));
  afterEach(async () => {
    await server?.close();
    server = undefined;
    fs.rmSync(folder, { recursive: true, force: true });
  });

  const evaluate = async (options: { variants?: string[]; resume?: string; text?: string; cache?: CompletionCache } = {}) => {
    const text = options.text ?? PROMPT;
    const loaded = await loadPrompt(path.join(folder, 'shapes.prompt'), text, nodeFileSystem);
    assert.deepEqual(
      loaded.diagnostics.filter((diagnostic) => diagnostic.severity === 'error'),
      [],
    );
    const backend = new OpenAIBackend({
      id: 'openai-compatible',
      model: 'scripted',
      apiKey: 'k',
      baseUrl: (server as FakeServer).url,
      maxAttempts: 1,
    });
    const session = new EvaluationSession({
      loaded,
      promptText: text,
      backend,
      runsDirectory: path.join(folder, 'runs'),
      trusted: true,
      ...(options.variants ? { variants: options.variants } : {}),
      ...(options.resume ? { resume: options.resume } : {}),
      ...(options.cache ? { cache: options.cache } : {}),
    });
    return session.run();
  };
  const chainOf = (result: { cells: { variant: string; chains: ChainResult[] }[] }, variant: string): ChainResult => {
    const chain = result.cells.find((cell) => cell.variant === variant)?.chains[0];
    assert.ok(chain, `no chain for ${variant}`);
    return chain;
  };
  const ids = (trace: readonly TraceNode[] | undefined, where: (node: TraceNode) => boolean = () => true): string[] =>
    (trace ?? []).filter(where).map((node) => node.id);

  it('runs every shape: answers, traces with their roles and parents, and tokens that add up', async () => {
    server = await startFakeServer({ respond: scriptedModel });
    const { result } = await evaluate();
    for (const variant of ['tot', 'tot-value', 'got', 'usc', 'verify', 'step-back']) {
      const chain = chainOf(result, variant);
      assert.equal(chain.pass, true, `${variant}: ${chain.reason}`);
      assert.equal(chain.answer, '14');
      assert.ok(chain.trace && chain.trace.length > 0, variant);
      // The chain's usage is every request it made: the trace's nodes add up to it.
      const sum = (field: 'promptTokens' | 'completionTokens') => (chain.trace ?? []).reduce((total, node) => total + node[field], 0);
      assert.equal(sum('completionTokens'), chain.completionTokens, `${variant} completion tokens`);
      assert.equal(sum('promptTokens'), chain.promptTokens, `${variant} prompt tokens`);
    }
    // Tree of thought: breadth-first, the wrong first step pruned by the vote, the path to the answer marked.
    const tot = chainOf(result, 'tot').trace ?? [];
    assert.deepEqual(ids(tot), ['d1.0.0', 'd1.0.1', 'd2.0.0', 'd2.0.1', 'd3.0.0']);
    assert.deepEqual(
      ids(tot, (node) => node.kept === false),
      ['d1.0.1', 'd2.0.1'],
    );
    assert.deepEqual(
      ids(tot, (node) => node.onPath === true),
      ['d1.0.0', 'd2.0.0', 'd3.0.0'],
    );
    assert.equal(tot.find((node) => node.id === 'd1.0.0')?.score, 2 / 3);
    assert.deepEqual(tot.find((node) => node.id === 'd2.0.0')?.parents, ['d1.0.0']);
    assert.equal(chainOf(result, 'tot').text, '12 + 5 = 17.\n17 - 3 = 14.\nThe answer is 14.');
    // The value evaluator: each candidate state rated twice (sure 1, likely 0.5, impossible 0), the mean its score.
    const valued = chainOf(result, 'tot-value').trace ?? [];
    assert.equal(valued.find((node) => node.id === 'd1.0.0')?.score, 0.75);
    assert.equal(valued.find((node) => node.id === 'd1.0.1')?.score, 0);
    assert.equal(valued.find((node) => node.id === 'd1.0.1')?.kept, false);
    assert.ok(valued.some((node) => node.role === 'evaluate'));
    // Graph of thought: three chains merged into one, refined once; the answer is the last node.
    const got = chainOf(result, 'got').trace ?? [];
    const aggregate = got.find((node) => node.role === 'aggregate');
    assert.deepEqual(aggregate?.parents, ['chain-1', 'chain-2', 'chain-3']);
    assert.equal(got.find((node) => node.role === 'refine')?.parents[0], aggregate?.id);
    assert.match(chainOf(result, 'got').text, /^Refined:/);
    // Universal self-consistency: the pick names response 3, whose text is the answer.
    const usc = chainOf(result, 'usc');
    assert.equal(usc.trace?.find((node) => node.role === 'pick')?.score, 3);
    // Self-verification: the 14s verify, the 20 does not; the answer is weighted by verification.
    const verify = chainOf(result, 'verify').trace ?? [];
    assert.deepEqual(
      verify.filter((node) => node.role === 'verify').map((node) => node.score),
      [1, 0, 1],
    );
    // Step back: the principle first, then the answer with it in view.
    const stepBack = chainOf(result, 'step-back').trace ?? [];
    assert.deepEqual(
      stepBack.map((node) => node.role),
      ['abstract', 'answer'],
    );
    assert.ok(server.requests.some((request) => request.prompt.includes('Principle: Buying adds to a count')));
    // Per-case tokens on every surface come from the variant summaries: a shape costs more than one chain.
    const tokens = (name: string) => result.variants.find((variant) => variant.name === name)?.completionTokens ?? 0;
    for (const variant of ['tot', 'got', 'usc', 'verify']) assert.ok(tokens(variant) > tokens('zero-shot-cot'), variant);
  });

  it('keeps the search going past a failed request, and resumes a tree cut off halfway without asking again', async () => {
    server = await startFakeServer({ respond: scriptedModel });
    // Every proposal from the state after the first step fails: the tree has nowhere to go at depth 2.
    server.inject({ kind: 'server-error', when: '12 + 5 = 17.\n\nWrite only the next step', times: Infinity });
    const first = await evaluate({ variants: ['tot'] });
    const failed = chainOf(first.result, 'tot');
    assert.match(failed.error ?? '', /no thought could be proposed at depth 2/);
    assert.deepEqual(
      ids(failed.trace, (node) => node.error !== undefined),
      ['d2.0.0'],
    );
    const firstRequests = server.requests.length;
    assert.equal(firstRequests, 2);
    const runFile = first.result.runFile;
    assert.equal(RunFile.open(runFile).read().nodes?.length, 2);

    // The server is back: the resumed run asks for depth 2 onwards only; depth 1 is replayed from the run file.
    server.clearFaults();
    const resumed = await evaluate({ variants: ['tot'], resume: runFile });
    const chain = chainOf(resumed.result, 'tot');
    assert.equal(chain.pass, true, chain.reason);
    const asked = server.requests.slice(firstRequests).map((request) => request.prompt);
    assert.ok(
      asked.every((prompt) => !prompt.includes('(no steps yet)')),
      'the first step was not asked again',
    );
    assert.equal(asked.length, 2);
    assert.deepEqual(
      ids(chain.trace, (node) => node.onPath === true),
      ['d1.0.0', 'd2.0.0', 'd3.0.0'],
    );
  });

  it('a failed proposal from one of two kept states leaves an error node, and the other state carries the search', async () => {
    server = await startFakeServer({ respond: scriptedModel });
    server.inject({ kind: 'server-error', when: '12 - 5 = 7.\n\nWrite only the next step', times: Infinity });
    const text = PROMPT.replace(
      '{name: tot, type: tree-of-thought, breadth: 3, beam: 1, depth: 4}',
      '{name: tot, type: tree-of-thought, breadth: 3, beam: 2, depth: 4}',
    );
    const { result } = await evaluate({ variants: ['tot'], text });
    const chain = chainOf(result, 'tot');
    assert.equal(chain.pass, true, chain.reason);
    const errored = (chain.trace ?? []).filter((node) => node.error !== undefined);
    assert.equal(errored.length, 1);
    assert.deepEqual(errored[0]?.parents, ['d1.0.1']);
    assert.equal(errored[0]?.kept, false);
  });
  it('caches a shape request by request: a second run of the same prompt asks the server nothing', async () => {
    server = await startFakeServer({ respond: scriptedModel });
    const cache = new CompletionCache(path.join(folder, 'cache.jsonl'));
    const first = await evaluate({ variants: ['tot', 'got', 'usc', 'verify', 'step-back'], cache });
    const asked = server.requests.length;
    assert.ok(asked > 5);
    const second = await evaluate({ variants: ['tot', 'got', 'usc', 'verify', 'step-back'], cache });
    assert.equal(server.requests.length, asked, 'every request came from the cache');
    for (const variant of ['tot', 'got', 'usc', 'verify', 'step-back'])
      assert.equal(chainOf(second.result, variant).text, chainOf(first.result, variant).text, variant);
  });
});
