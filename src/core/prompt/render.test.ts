import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parsePrompt } from './parse';
import { renderCellPrompt, renderVariant } from './render';
import type { PromptDocument } from './types';

const root = path.resolve(__dirname, '../../..');

const source = `---
variants:
  - zero-shot
  - one-shot
  - {type: few-shot, k: 2, name: two-shot}
  - {type: zero-shot-cot, trigger: "Think it through."}
  - few-shot-cot
examples:
  - input: "1 + 1"
    reasoning: "One and one make 2."
    output: "The answer is 2."
  - input: "2 + 3"
    output: "The answer is 5."
  - input: "4 + 4"
    reasoning: "Four and four make 8."
    output: "The answer is 8."
cases:
  - input: "<b>7 + 1</b>"
    expected: 8
---
{{role "system"}}
Add the numbers.
{{role "user"}}
{{sum}}
`;

function variant(document: PromptDocument, name: string) {
  const found = document.variants.find((v) => v.name === name);
  assert.ok(found, name);
  return found;
}

describe('renderVariant', () => {
  const { document, diagnostics } = parsePrompt(source);
  const vars = document.cases[0]?.input ?? {};

  it('parses the fixture, warning that one example lacks reasoning', () => {
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.range.start.line]),
      [['needs-reasoning', 6]],
    );
  });

  it('zero-shot: the template alone, values inserted verbatim (no HTML escaping)', async () => {
    const rendered = await renderVariant(document, variant(document, 'zero-shot'), vars);
    assert.deepEqual(rendered.messages, [
      { role: 'system', content: 'Add the numbers.' },
      { role: 'user', content: '<b>7 + 1</b>' },
    ]);
    assert.equal(rendered.text, 'Add the numbers.\n\nQ: <b>7 + 1</b>\nA:');
  });

  it('one-shot and few-shot with k put examples before the query', async () => {
    const one = await renderVariant(document, variant(document, 'one-shot'), vars);
    assert.deepEqual(
      one.messages.map((m) => m.content),
      ['Add the numbers.', '1 + 1', 'The answer is 2.', '<b>7 + 1</b>'],
    );
    const two = await renderVariant(document, variant(document, 'two-shot'), vars);
    assert.deepEqual(
      two.messages.map((m) => m.role),
      ['system', 'user', 'assistant', 'user', 'assistant', 'user'],
    );
    assert.equal(two.text, 'Add the numbers.\n\nQ: 1 + 1\nA: The answer is 2.\n\nQ: 2 + 3\nA: The answer is 5.\n\nQ: <b>7 + 1</b>\nA:');
  });

  it('zero-shot CoT appends the trigger, to the user turn and after the answer prefix', async () => {
    const rendered = await renderVariant(document, variant(document, 'zero-shot-cot'), vars);
    assert.equal(rendered.messages.at(-1)?.content, '<b>7 + 1</b>\n\nThink it through.');
    assert.ok(rendered.text.endsWith('Q: <b>7 + 1</b>\nA: Think it through.'));
  });

  it('few-shot CoT shows only examples with reasoning, reasoning before the answer', async () => {
    const rendered = await renderVariant(document, variant(document, 'few-shot-cot'), vars);
    assert.deepEqual(
      rendered.examples.map((e) => e.output),
      ['The answer is 2.', 'The answer is 8.'],
    );
    assert.equal(rendered.messages[2]?.content, 'One and one make 2. The answer is 2.');
    assert.equal(rendered.messages[4]?.content, 'Four and four make 8. The answer is 8.');
  });

  it('honours text_format and input defaults', async () => {
    const parsed = parsePrompt(
      '---\ntext_format: {input_prefix: "Question: ", output_prefix: "Answer:", separator: "\\n---\\n"}\ninput:\n  default: {who: world}\nexamples: [{input: {}, output: hi}]\nvariants: [few-shot]\n---\nHello {{who}}\n',
    );
    assert.deepEqual(parsed.diagnostics, []);
    const rendered = await renderVariant(parsed.document, parsed.document.variants[0]!, {});
    assert.equal(rendered.text, 'Question: Hello world\nAnswer: hi\n---\nQuestion: Hello world\nAnswer:');
  });

  it('renders the Dotprompt spec examples', async () => {
    const extract = parsePrompt(fs.readFileSync(path.join(root, 'testFixtures/dotprompt/spec-extract.prompt'), 'utf8'));
    assert.deepEqual(extract.diagnostics, []);
    const rendered = await renderVariant(extract.document, extract.document.variants[0]!, { text: 'Ada, 36, mathematician.' });
    assert.equal(rendered.messages.length, 1);
    assert.match(rendered.messages[0]?.content ?? '', /^Extract the requested information[\s\S]*Text: Ada, 36, mathematician\.$/);

    const roles = parsePrompt(fs.readFileSync(path.join(root, 'testFixtures/dotprompt/spec-roles.prompt'), 'utf8'));
    assert.deepEqual(roles.diagnostics, []);
    assert.deepEqual(roles.document.sampling, { temperature: 0.9, maxTokens: 256, stop: ['END'] });
    const greeting = await renderVariant(roles.document, roles.document.variants[0]!, { name: 'Ada', interests: ['food', 'art'] });
    assert.deepEqual(greeting.messages, [
      { role: 'system', content: 'You are a world-class travel agent.' },
      { role: 'user', content: 'Greet a guest named Ada who is traveling to a restaurant.\n- interested in food\n- interested in art' },
    ]);
  });
});

describe('renderCellPrompt', () => {
  const { document } = parsePrompt(source);
  const cases = document.cases;
  const caseId = cases[0]?.id ?? '';

  it("renders a cell as its run sent it: chat turns with roles, or the base model's text", async () => {
    const chat = await renderCellPrompt(document, cases, 'one-shot', caseId, 'chat');
    const rendered = await renderVariant(document, variant(document, 'one-shot'), cases[0]?.input ?? {});
    assert.deepEqual(chat, { input: 'chat', messages: rendered.messages });
    assert.deepEqual(
      chat.messages?.map((m) => m.role),
      ['system', 'user', 'assistant', 'user'],
    );
    const text = await renderCellPrompt(document, cases, 'zero-shot', caseId, 'text');
    assert.deepEqual(text, { input: 'text', text: 'Add the numbers.\n\nQ: <b>7 + 1</b>\nA:' });
  });

  it('names the answer prompt a two-stage variant sends after each chain', async () => {
    const apples = parsePrompt(fs.readFileSync(path.join(root, 'prompts/apples-cot.prompt'), 'utf8')).document;
    const prompt = await renderCellPrompt(apples, apples.cases, 'zero-shot-cot', apples.cases[0]?.id ?? '', 'chat');
    assert.equal(prompt.answerPrompt, 'Therefore, the answer (arabic numerals) is');
    assert.match(prompt.messages?.at(-1)?.content ?? '', /Let's think step by step\.$/);
  });

  it('says why when the variant or case is gone from the prompt file', async () => {
    assert.match((await renderCellPrompt(document, cases, 'nope', caseId, 'chat')).error ?? '', /no variant 'nope'/);
    assert.match((await renderCellPrompt(document, cases, 'zero-shot', 'gone', 'text')).error ?? '', /no case 'gone'/);
  });
});
