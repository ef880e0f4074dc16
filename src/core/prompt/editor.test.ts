import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKEND_NAMES } from '../backends/endpoints';
import { completionsAt } from './complete';
import { foldingRanges, outline } from './outline';
import { parsePrompt } from './parse';
import { PROMPT_KINDS, VARIANT_KINDS } from './types';

const root = path.resolve(__dirname, '../../..');

/** Splits a `|` cursor marker out of a document. */
function atCursor(marked: string) {
  const offset = marked.indexOf('|');
  const text = marked.slice(0, offset) + marked.slice(offset + 1);
  const before = text.slice(0, offset).split('\n');
  return { text, position: { line: before.length - 1, character: (before.at(-1) ?? '').length } };
}

function labels(marked: string): string[] {
  const { text, position } = atCursor(marked);
  return completionsAt(text, position, parsePrompt(text).document).map((item) => item.label);
}

describe('completion', () => {
  it('offers top-level keys, and keys of the mapping the cursor is in', () => {
    assert.ok(labels('---\nsam|\n---\nx\n').includes('samples'));
    assert.deepEqual(labels('---\nconfig:\n  te|\n---\nx\n').slice(0, 3), ['temperature', 'top_p', 'topP']);
    assert.ok(labels('---\ncases:\n  - input: x\n    exp|\n---\n{{q}}\n').includes('expected'));
    assert.ok(labels('---\nextract:\n  pat|\n---\nx\n').includes('pattern'));
  });

  it('documents top-level keys with an example', () => {
    const { text, position } = atCursor('---\nex|\n---\nx\n');
    const items = completionsAt(text, position, parsePrompt(text).document);
    const extract = items.find((item) => item.label === 'extract');
    assert.match(extract?.documentation ?? '', /pulled out of a completion\n\n```yaml\nextract: number\n/);
    for (const key of ['samples', 'variants', 'examples', 'cases', 'dataset', 'scorer', 'baseline', 'cluster'])
      assert.ok(items.find((item) => item.label === key)?.documentation, `${key} has an example`);
    const { text: nested, position: inside } = atCursor('---\nconfig:\n  te|\n---\nx\n');
    assert.ok(completionsAt(nested, inside, parsePrompt(nested).document).every((item) => item.documentation === undefined));
  });

  it('offers names of variants, scorers and extractors', () => {
    assert.deepEqual(labels('---\nvariants:\n  - |\n---\nx\n'), [...VARIANT_KINDS]);
    // Reasoning shapes: their keys and the values of base and evaluator.
    assert.ok(labels('---\nvariants:\n  - type: tree-of-thought\n    bre|\n---\nx\n').includes('breadth'));
    assert.deepEqual(labels('---\nvariants:\n  - type: step-back\n    base: |\n---\nx\n'), [...PROMPT_KINDS]);
    assert.deepEqual(labels('---\nvariants:\n  - type: tree-of-thought\n    evaluator: |\n---\nx\n'), ['vote', 'value', 'scorer']);
    assert.ok(labels('---\nvariants: [zero-shot, f|]\n---\nx\n').includes('few-shot-cot'));
    assert.ok(labels('---\nscorer: |\n---\nx\n').includes('field-f1'));
    assert.ok(labels('---\nscorer:\n  type: judge\n  rub|\n---\nx\n').includes('rubric'));
    assert.deepEqual(labels('---\ncases:\n  - input: a\n    label: |\n---\nx\n'), ['pass', 'fail']);
    assert.ok(labels('---\nscorer:\n  type: |\n---\nx\n').includes('numeric'));
    assert.ok(labels('---\nextract: |\n---\nx\n').includes('number'));
    // Attacks and defences: suites, detectors and defence types by name, and their keys.
    assert.ok(labels('---\nattacks:\n  suites: [prompt-leak, |]\n---\nx\n').includes('obfuscation'));
    assert.ok(labels('---\nattacks:\n  suites: |\n---\nx\n').includes('all'));
    assert.ok(labels('---\nattacks:\n  gr|\n---\nx\n').includes('growth'));
    assert.ok(labels('---\ndefences: [xml-tags, |]\n---\nx\n').includes('datamarking'));
    assert.ok(labels('---\nattacks:\n  custom:\n    - detect: |\n---\nx\n').includes('token-growth'));
    // baseline: the file's own variant names.
    assert.deepEqual(labels('---\nvariants: [zero-shot, {type: zero-shot-cot, name: cot}]\nbaseline: |\n---\nx\n'), ['zero-shot', 'cot']);
  });

  it('offers every backend as a model prefix, replacing the whole reference typed so far', () => {
    const { text, position } = atCursor('---\nmodel: openai-comp|\n---\nx\n');
    const items = completionsAt(text, position, parsePrompt(text).document);
    for (const name of BACKEND_NAMES) {
      const item = items.find((candidate) => candidate.label === `${name}:`);
      assert.ok(item, `no '${name}:' among ${JSON.stringify(items.map((candidate) => candidate.label))}`);
      assert.ok(item.detail, `'${name}:' says what it runs on`);
    }
    assert.ok(items.some((item) => item.label === 'local:arith-tiny'));
    // The colon is no word character: the item replaces `openai-comp`, not only what follows a colon.
    assert.ok(items.every((item) => item.range?.start.character === 'model: '.length && item.range.end.character === position.character));
    const afterColon = atCursor('---\nmodel: openai:gp|\n---\nx\n');
    const [first] = completionsAt(afterColon.text, afterColon.position, parsePrompt(afterColon.text).document);
    assert.equal(first?.range?.start.character, 'model: '.length);
    assert.ok(labels('---\nmodel: |\n---\nx\n').includes('openai-compatible:'));
  });

  it('offers variables in the body and inside a case input', () => {
    const body = labels('---\ncases:\n  - input: {topic: a, question: b}\n---\n{{|\n');
    assert.ok(body.includes('topic') && body.includes('question') && body.includes('role "system"'));
    assert.deepEqual(labels('---\ncases:\n  - input:\n      |\n---\n{{question}} {{topic}}\n'), ['question', 'topic']);
    assert.deepEqual(labels('---\nname: x\n---\nplain text |\n'), []);
  });
});

describe('outline and folding', () => {
  const text = fs.readFileSync(path.join(root, 'prompts/ner-zh.prompt'), 'utf8');
  const { document } = parsePrompt(text);

  it('lists variants, examples, cases and role sections', () => {
    const symbols = outline(document);
    assert.deepEqual(
      symbols.map((s) => s.name),
      ['variants', 'examples', 'cases', 'template'],
    );
    const cases = symbols.find((s) => s.name === 'cases');
    assert.deepEqual(
      cases?.children.map((c) => c.name),
      ['张三', '李四', '王芳'],
    );
    assert.equal(cases?.children[0]?.range.start.line, 17);
    assert.deepEqual(
      symbols.at(-1)?.children.map((c) => c.name),
      ['system', 'user'],
    );
  });

  it('names unnamed cases by position', () => {
    const { document: unnamed } = parsePrompt(
      '---\ncases:\n  - {input: {q: 1}, expected: 1}\n  - {input: {q: 2}, expected: 2}\n---\n{{q}}\n',
    );
    assert.deepEqual(
      outline(unnamed)
        .find((s) => s.name === 'cases')
        ?.children.map((c) => c.name),
      ['case 1', 'case 2'],
    );
  });

  it('folds the frontmatter, blocks, items and sections', () => {
    const ranges = foldingRanges(document);
    assert.ok(ranges.some((r) => r.startLine === 0 && r.endLine === document.templateLine - 1));
    assert.ok(
      ranges.some((r) => r.startLine === 17 && r.endLine === 19),
      JSON.stringify(ranges),
    );
    assert.ok(ranges.every((r) => r.endLine > r.startLine));
  });
});
