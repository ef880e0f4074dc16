import * as assert from 'node:assert/strict';
import { loadPrompt, type FileSystem } from './load';
import { parsePrompt } from './parse';
import { MAX_RENDER_CHECKED_CASES } from './traps';
import type { Diagnostic, Fix } from './types';

function memoryFs(files: Record<string, string>): FileSystem {
  return {
    readFile: (file) => {
      const content = files[file];
      return content === undefined ? Promise.reject(new Error(`ENOENT ${file}`)) : Promise.resolve(content);
    },
    exists: (file) => Promise.resolve(file in files),
  };
}

const load = (text: string, files: Record<string, string> = {}) => loadPrompt('/w/a.prompt', text, memoryFs(files));
const withCode = (diagnostics: readonly Diagnostic[], code: string): Diagnostic[] => diagnostics.filter((d) => d.code === code);

/** The text with a fix applied. */
function apply(text: string, fix: Fix): string {
  const lines = text.split('\n');
  const offset = (p: { line: number; character: number }): number =>
    lines.slice(0, p.line).reduce((sum, line) => sum + line.length + 1, 0) + p.character;
  return text.slice(0, offset(fix.range.start)) + fix.replacement + text.slice(offset(fix.range.end));
}

describe('silent traps', () => {
  describe('choice-default-letters', () => {
    it('warns when expected values are words, naming them and offering choices', async () => {
      const text =
        '---\nextract: choice\ncases:\n  - {input: {q: a}, expected: yes}\n  - {input: {q: b}, expected: no}\n  - {input: {q: c}, expected: No}\n---\n{{q}}\n';
      const [diagnostic, ...rest] = withCode((await load(text)).diagnostics, 'choice-default-letters');
      assert.equal(rest.length, 0);
      assert.equal(diagnostic?.severity, 'warning');
      assert.deepEqual(diagnostic?.range, { start: { line: 1, character: 9 }, end: { line: 1, character: 15 } });
      assert.match(diagnostic?.message ?? '', /letters A–E, so the expected values yes, no never match/);
      assert.match(diagnostic?.message ?? '', /extract: \{type: choice, choices: \["yes", "no"\]\}/);
      assert.ok(diagnostic?.fix);
      const fixed = apply(text, diagnostic.fix);
      assert.match(fixed, /^extract: \{type: choice, choices: \["yes", "no"\]\}$/m);
      assert.deepEqual(withCode((await load(fixed)).diagnostics, 'choice-default-letters'), []);
      assert.deepEqual(parsePrompt(fixed).document.extract.choices, ['yes', 'no']);
    });

    it('adds choices to a flow or block mapping', async () => {
      const flow = '---\nextract: {type: choice}\ncases: [{input: {q: a}, expected: positive}]\n---\n{{q}}\n';
      const flowFix = withCode((await load(flow)).diagnostics, 'choice-default-letters')[0]?.fix;
      assert.ok(flowFix);
      assert.match(apply(flow, flowFix), /^extract: \{type: choice, choices: \[positive\]\}$/m);
      const block = '---\nextract:\n  type: choice\n  match: last\ncases: [{input: {q: a}, expected: positive}]\n---\n{{q}}\n';
      const blockFix = withCode((await load(block)).diagnostics, 'choice-default-letters')[0]?.fix;
      assert.ok(blockFix);
      const fixed = apply(block, blockFix);
      assert.match(fixed, /^ {2}match: last\n {2}choices: \[positive\]$/m);
      assert.deepEqual(parsePrompt(fixed).document.extract.choices, ['positive']);
    });

    it('is only a hint when the expected values are letters, and silent with choices or another extractor', async () => {
      const letters = await load('---\nextract: choice\ncases: [{input: {q: a}, expected: B}, {input: {q: b}, expected: e}]\n---\n{{q}}\n');
      assert.deepEqual(
        withCode(letters.diagnostics, 'choice-default-letters').map((d) => [d.severity, d.fix]),
        [['hint', undefined]],
      );
      const listed = await load('---\nextract: {type: choice, choices: [yes, no]}\ncases: [{input: {q: a}, expected: yes}]\n---\n{{q}}\n');
      assert.deepEqual(withCode(listed.diagnostics, 'choice-default-letters'), []);
      const text = await load('---\nextract: text\ncases: [{input: {q: a}, expected: yes}]\n---\n{{q}}\n');
      assert.deepEqual(withCode(text.diagnostics, 'choice-default-letters'), []);
    });

    it('reads dataset expected values; offers no fix for more than eight distinct answers', async () => {
      const rows = Array.from({ length: 12 }, (_, i) => JSON.stringify({ q: `q${i}`, expected: `answer ${i}` })).join('\n');
      const loaded = await load('---\nextract: choice\ndataset: d.jsonl\n---\n{{q}}\n', { '/w/d.jsonl': rows });
      const [diagnostic] = withCode(loaded.diagnostics, 'choice-default-letters');
      assert.equal(diagnostic?.severity, 'warning');
      assert.equal(diagnostic?.fix, undefined);
      assert.match(diagnostic?.message ?? '', /answer 0, .*answer 7, …/);
      assert.match(diagnostic?.message ?? '', /'text' or 'line' extractor/);
    });
  });

  describe('yaml-comment-in-value', () => {
    it('warns at the comment after a single space, with a quoting fix', () => {
      const text = '---\ncases:\n  - input: invoice #4411 is late\n    expected: late\n---\n{{q}}\n';
      const [diagnostic, ...rest] = withCode(parsePrompt(text).diagnostics, 'yaml-comment-in-value');
      assert.equal(rest.length, 0);
      assert.equal(diagnostic?.severity, 'warning');
      assert.deepEqual(diagnostic?.range, { start: { line: 2, character: 19 }, end: { line: 2, character: 32 } });
      assert.match(diagnostic?.message ?? '', /'#4411 is late' is a YAML comment .* reads as 'invoice'/);
      assert.ok(diagnostic?.fix);
      assert.deepEqual(diagnostic.fix.range, { start: { line: 2, character: 11 }, end: { line: 2, character: 32 } });
      const fixed = apply(text, diagnostic.fix);
      assert.match(fixed, /^ {2}- input: "invoice #4411 is late"$/m);
      assert.deepEqual(parsePrompt(fixed).document.cases[0]?.input, { q: 'invoice #4411 is late' });
    });

    it('warns in list items too', () => {
      const seq = parsePrompt('---\nconfig:\n  stop:\n    - END #1\n---\nhi\n');
      assert.deepEqual(
        withCode(seq.diagnostics, 'yaml-comment-in-value').map((d) => d.range.start),
        [{ line: 3, character: 10 }],
      );
    });

    it('leaves deliberate comments, quoted values, numbers and full-line comments alone', () => {
      const text = [
        '---',
        'description: a test  # two spaces: a comment',
        'samples: 8 # per case',
        '# a full-line comment',
        'cases:',
        '  - input: "invoice #4411" # quoted',
        "    expected: 'late'",
        '  - input: issue#12 has no space before the hash',
        '    expected: x',
        '---',
        '{{q}}',
        '',
      ].join('\n');
      const { diagnostics, document } = parsePrompt(text);
      assert.deepEqual(withCode(diagnostics, 'yaml-comment-in-value'), []);
      assert.equal(document.cases[1]?.input.q, 'issue#12 has no space before the hash');
    });
  });

  describe('identical-variants', () => {
    it('warns at a variant that renders like an earlier one', () => {
      const text =
        '---\nvariants:\n  - zero-shot\n  - {type: few-shot, k: 0, name: none}\n  - one-shot\n  - {type: few-shot, k: 1, name: first}\n  - few-shot\nexamples:\n  - {input: {q: a}, output: b}\n  - {input: {q: c}, output: d}\n---\n{{q}}\n';
      const found = withCode(parsePrompt(text).diagnostics, 'identical-variants');
      assert.deepEqual(
        found.map((d) => [d.range.start.line, d.message.slice(0, d.message.indexOf(':'))]),
        [
          [3, "Variant 'none' renders the same prompt as 'zero-shot' for every case (no examples and no trigger) ('k"],
          [5, "Variant 'first' renders the same prompt as 'one-shot' for every case (the same example)"],
        ],
      );
    });

    it('is silent for distinct variants, defaults, and few-shot without examples (already an error)', () => {
      const distinct = parsePrompt(
        '---\nvariants: [zero-shot, zero-shot-cot, one-shot, few-shot, few-shot-cot]\nexamples:\n  - {input: {q: a}, output: b, reasoning: r}\n  - {input: {q: c}, output: d, reasoning: s}\n---\n{{q}}\n',
      );
      assert.deepEqual(withCode(distinct.diagnostics, 'identical-variants'), []);
      const defaults = parsePrompt('---\nexamples:\n  - {input: {q: a}, output: b}\n---\n{{q}}\n');
      assert.deepEqual(withCode(defaults.diagnostics, 'identical-variants'), []);
      const noExamples = parsePrompt('---\nvariants: [zero-shot, few-shot]\n---\nhi\n');
      assert.deepEqual(
        noExamples.diagnostics.map((d) => d.code),
        ['needs-examples'],
      );
    });
  });

  describe('empty-prompt', () => {
    it('warns at a case whose prompt renders empty, naming the empty variables', async () => {
      const text = "---\ncases:\n  - {name: blank, input: {q: ''}}\n  - {name: full, input: {q: hi}}\n---\n{{q}}\n";
      const found = withCode((await load(text)).diagnostics, 'empty-prompt');
      assert.deepEqual(
        found.map((d) => [d.range.start.line, d.message]),
        [[2, "Case 'blank' renders an empty prompt (q is empty): the model is asked nothing."]],
      );
    });

    it('warns once for an empty template body', async () => {
      const found = withCode((await load('---\ncases: [{input: {}}]\n---\n\n')).diagnostics, 'empty-prompt');
      assert.equal(found.length, 1);
      assert.match(found[0]?.message ?? '', /template body is empty/);
      assert.deepEqual(withCode((await load('---\n---\n\n')).diagnostics, 'empty-prompt'), [], 'no cases, nothing to say');
    });

    it('reports dataset rows in the dataset, rendering only the first cases', async () => {
      const rows = Array.from({ length: MAX_RENDER_CHECKED_CASES + 20 }, (_, i) =>
        JSON.stringify({ q: i === 1 || i > MAX_RENDER_CHECKED_CASES ? '' : `q${i}` }),
      );
      const found = withCode(
        (await load('---\ndataset: d.jsonl\n---\n{{q}}\n', { '/w/d.jsonl': rows.join('\n') })).diagnostics,
        'empty-prompt',
      );
      assert.deepEqual(
        found.map((d) => [d.file, d.range.start.line]),
        [['/w/d.jsonl', 1]],
      );
    });
  });
});
