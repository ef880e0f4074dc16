import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Backend, Completion, CompletionRequest } from '../backend';
import { runEvaluation } from '../eval/run';
import { LocalModel } from '../local/generator';
import { folderTokenizer, modelPrompt } from '../local/tokenizer';
import { loadPrompt, nodeFileSystem } from './load';
import { renderVariant } from './render';
import { counterForModel, encodingCounter, tokenReport } from './tokenReport';

const root = path.resolve(__dirname, '../../..');
const MODEL = path.join(root, 'testFixtures/models/arith-tiny');

const PROMPT = `---
model: local:arith-tiny
samples: 1
config: {temperature: 0, max_tokens: 4, seed: 3}
variants: [zero-shot, few-shot, zero-shot-cot]
examples:
  - input: Tom has 12 apples. He buys 5 more. How many apples does Tom have now?
    reasoning: 12 + 5 = 17.
    output: The answer is 17.
cases:
  - {name: one, input: "Mia has 9 pens. She loses 4 pens. How many pens does Mia have now?", expected: 5}
  - {name: two, input: "Ann has 3 cats. She gets 8 more. How many cats does Ann have now?", expected: 11}
extract: number
---
{{question}}
`;

/**
 * LocalBackend without its worker thread: the same request → prompt (modelPrompt) and the same
 * encoding (LocalModel.promptIds) as worker.ts, so its usage is what a run of the local model reports.
 */
function inProcessBackend(model: LocalModel): Backend {
  return {
    id: 'local',
    model: model.folder.name,
    endpoint: model.folder.directory,
    input: model.folder.config.input,
    maxConcurrency: 1,
    async *complete(request: CompletionRequest): AsyncIterable<Completion> {
      const chains: Completion[] = [];
      await model.generate(
        {
          promptIds: model.promptIds(modelPrompt(model.folder.config.input, request)),
          n: request.n,
          firstSample: request.firstSample,
          maxNewTokens: request.maxTokens ?? 4,
          sampling: { temperature: 0, topK: 0, topP: 1 },
          stop: [],
        },
        () => false,
        (chain) =>
          chains.push({
            sample: chain.sample,
            text: chain.text,
            finishReason: chain.finishReason,
            usage: { promptTokens: chain.promptTokens, completionTokens: chain.completionTokens },
            latencyMs: chain.latencyMs,
          }),
      );
      yield* chains;
    },
  };
}

describe("token counts with a local model's own tokenizer", function () {
  this.timeout(60_000);
  let folder: string;
  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-tokens-'));
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('counts a local model with its tokenizer and names it; API models with their encoding', async () => {
    const local = await counterForModel('local:arith-tiny');
    assert.equal(local.problem, undefined);
    assert.equal(local.counter.label, "local model's tokenizer: arith-tiny");
    assert.equal(local.counter.exact, true);
    assert.equal((await counterForModel('openai:gpt-4o-mini')).counter.label, 'o200k_base, gpt-4o family');
    assert.equal((await counterForModel('openai:gpt-4')).counter.label, 'cl100k_base, gpt-4 and gpt-3.5 family');
    // A setting naming an encoding wins, even for a local model.
    assert.equal((await counterForModel('local:arith-tiny', { encoding: 'cl100k_base' })).counter.encoding, 'cl100k_base');
    const missing = await counterForModel('local:no-such-model');
    assert.equal(missing.counter.encoding, 'o200k_base');
    assert.match(missing.problem ?? '', /Local model 'no-such-model' not found/);
  });

  it("the hover's count is the prompt tokens the local model's run reports, case by case and variant by variant", async () => {
    const file = path.join(folder, 'sums.prompt');
    const loaded = await loadPrompt(file, PROMPT, nodeFileSystem);
    assert.deepEqual(
      loaded.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    const model = await LocalModel.load(MODEL, { executionProvider: 'cpu' });
    let outcome;
    try {
      outcome = await runEvaluation({
        loaded,
        promptText: PROMPT,
        backend: inProcessBackend(model),
        runsDirectory: path.join(folder, 'runs'),
        concurrency: 1,
      });
    } finally {
      await model.dispose();
    }
    assert.equal(outcome.status, 'completed');
    const { counter } = await counterForModel(loaded.document.model);
    const o200k = encodingCounter('o200k_base');
    let differs = false;
    for (const record of outcome.run.completions) {
      const variant = loaded.document.variants.find((v) => v.name === record.variant);
      const testCase = loaded.cases.find((c) => c.id === record.caseId);
      assert.ok(variant && testCase);
      const report = await tokenReport(loaded.document, [testCase], { counter, variants: [variant] });
      assert.equal(report.rows[0]?.promptTokens, record.usage.promptTokens, `${record.variant} / ${record.caseId}`);
      const estimate = await tokenReport(loaded.document, [testCase], { counter: o200k, variants: [variant] });
      if (estimate.rows[0]?.promptTokens !== record.usage.promptTokens) differs = true;
    }
    assert.equal(outcome.run.completions.length, 2 * 3);
    assert.ok(differs, "o200k_base would have miscounted this model's prompts (the point of counting with its own tokenizer)");
  });

  it('counts a chat model through its chat template, as the worker renders it', async () => {
    const chat = path.join(folder, 'chat-model');
    fs.cpSync(MODEL, chat, { recursive: true, filter: (source) => !source.endsWith('.onnx') });
    const config = JSON.parse(fs.readFileSync(path.join(chat, 'config.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(chat, 'config.json'), JSON.stringify({ ...config, chainscope: { input: 'chat' } }));
    const { tokenizer, input } = await folderTokenizer(chat);
    assert.equal(input, 'chat');
    const messages = [
      { role: 'system' as const, content: 'Add the numbers.' },
      { role: 'user' as const, content: '2 + 2' },
    ];
    const rendered = tokenizer.renderChat(messages);
    assert.equal(rendered, 'Add the numbers.\n\nQ: 2 + 2\nA:');
    assert.deepEqual(tokenizer.promptIds(modelPrompt('chat', { messages })), tokenizer.encode(rendered));
    // The report of a prompt for this model counts its chat messages through the template.
    const loaded = await loadPrompt(path.join(folder, 'chat.prompt'), PROMPT, nodeFileSystem);
    const { counter, problem } = await counterForModel(`local:${chat}`);
    assert.equal(problem, undefined);
    const [variant, testCase] = [loaded.document.variants[1], loaded.cases[0]];
    assert.ok(variant && testCase);
    const report = await tokenReport(loaded.document, [testCase], { counter, variants: [variant] });
    const { messages: sent } = await renderVariant(loaded.document, variant, testCase.input);
    assert.equal(report.rows[0]?.promptTokens, tokenizer.encode(tokenizer.renderChat(sent)).length);
  });

  it('loads a folder once, and again when its tokenizer changes', async () => {
    const copy = path.join(folder, 'cached-model');
    fs.cpSync(MODEL, copy, { recursive: true, filter: (source) => !source.endsWith('.onnx') });
    const first = await folderTokenizer(copy);
    assert.equal(await folderTokenizer(copy), first);
    const config = path.join(copy, 'tokenizer_config.json');
    const text = fs.readFileSync(config, 'utf8');
    fs.writeFileSync(config, `${text}\n`);
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(config, later, later);
    const second = await folderTokenizer(copy);
    assert.notEqual(second, first);
    assert.deepEqual(second.tokenizer.encode('12 + 5 = 17.'), first.tokenizer.encode('12 + 5 = 17.'));
  });
});
