import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parsePrompt } from './parse';
import type { Diagnostic } from './types';

const root = path.resolve(__dirname, '../../..');
const read = (relative: string): string => fs.readFileSync(path.join(root, relative), 'utf8');

/** `line:col severity code` (1-based), the way the CLI prints it, for compact expectations. */
function located(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map(
    (d) =>
      `${d.range.start.line + 1}:${d.range.start.character + 1}-${d.range.end.line + 1}:${d.range.end.character + 1} ${d.severity} ${d.code}`,
  );
}

describe('parsePrompt', () => {
  it("reads 'baseline' and locates an unknown one with a suggestion", () => {
    const good = parsePrompt('---\nvariants: [zero-shot, zero-shot-cot]\nbaseline: zero-shot\n---\n{{q}}\n');
    assert.deepEqual(good.diagnostics, []);
    assert.equal(good.document.baseline, 'zero-shot');
    const bad = parsePrompt('---\nvariants: [zero-shot, zero-shot-cot]\nbaseline: zero-shot-cott\n---\n{{q}}\n');
    assert.deepEqual(located(bad.diagnostics), ['3:11-3:25 error unknown-baseline']);
    assert.match(bad.diagnostics[0]?.message ?? '', /Unknown baseline variant 'zero-shot-cott' — did you mean 'zero-shot-cot'\?/);
    // The default variants count: without 'variants', 'zero-shot' is one of them.
    assert.deepEqual(parsePrompt('---\nbaseline: zero-shot\n---\n{{q}}\n').diagnostics, []);
    const far = parsePrompt('---\nvariants: [zero-shot, zero-shot-cot]\nbaseline: other\n---\n{{q}}\n');
    assert.match(far.diagnostics[0]?.message ?? '', /\(the variants are zero-shot, zero-shot-cot\)/);
  });

  it('reads frontmatter, sampling aliases, variants, examples and cases', () => {
    const { document, diagnostics } = parsePrompt(read('prompts/apples-cot.prompt'));
    assert.deepEqual(diagnostics, []);
    assert.equal(document.name, 'apples-cot');
    assert.equal(document.model, 'openai:gpt-4o-mini');
    assert.deepEqual(document.sampling, { temperature: 0.7, maxTokens: 256 });
    assert.equal(document.samples, 8);
    assert.deepEqual(
      document.variants.map((v) => [v.name, v.kind]),
      [
        ['zero-shot', 'zero-shot'],
        ['few-shot', 'few-shot'],
        ['zero-shot-cot', 'zero-shot-cot'],
        ['few-shot-cot', 'few-shot-cot'],
      ],
    );
    assert.equal(document.variants[2]?.trigger, "Let's think step by step.");
    assert.equal(document.variants[2]?.answerPrompt, 'Therefore, the answer (arabic numerals) is');
    assert.equal(document.examples.length, 1);
    assert.match(document.examples[0]?.reasoning ?? '', /14 - 10 = 4/);
    assert.deepEqual(
      document.cases.map((c) => [c.id, c.expected]),
      [
        ['marbles', 0],
        ['bus', 30],
        ['cookies', 15],
      ],
    );
    // A plain-string input maps onto the template's only variable.
    assert.deepEqual(Object.keys(document.cases[0]?.input ?? {}), ['problem']);
    assert.deepEqual(document.extract.type, 'number');
    assert.deepEqual(document.scorer.type, 'numeric');
    assert.equal(document.scorer.tolerance, 0);
  });

  it('accepts Dotprompt names for sampling settings', () => {
    const { document, diagnostics } = parsePrompt(
      '---\nconfig:\n  topP: 0.9\n  maxOutputTokens: 10\n  stopSequences: [END, STOP]\n  topK: 5\n  seed: 3\n---\nhi\n',
    );
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(document.sampling, { topP: 0.9, maxTokens: 10, stop: ['END', 'STOP'], topK: 5, seed: 3 });
  });

  it('locates each problem of a broken file exactly', () => {
    const { diagnostics } = parsePrompt(read('testFixtures/broken/problems.prompt'));
    assert.deepEqual(located(diagnostics), [
      '3:1-3:8 warning unknown-key', // smaples
      '6:3-6:12 warning unknown-key', // max_tokns
      '7:23-7:32 error unknown-variant', // few-shots
      '8:10-8:15 error unknown-extractor', // nmber
      '9:9-9:14 error unknown-scorer', // exakt
      '15:5-16:44 error missing-expected', // case no-expected
      '22:9-22:14 error undefined-variable', // {{topic}} missing in case no-topic
    ]);
    const messages = diagnostics.map((d) => d.message);
    assert.match(messages[0] ?? '', /did you mean 'samples'/);
    assert.match(messages[1] ?? '', /did you mean 'max_tokens'/);
    assert.match(messages[2] ?? '', /did you mean 'few-shot'/);
    assert.match(messages[3] ?? '', /did you mean 'number'/);
    assert.match(messages[4] ?? '', /did you mean 'exact'/);
    assert.match(messages[6] ?? '', /'topic' is not defined by case 'no-topic' \(line 17\)/);
  });

  it('reports YAML errors at their position and still reads the template', () => {
    const { document, diagnostics } = parsePrompt(read('testFixtures/broken/yaml-error.prompt'));
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0]?.code, 'yaml');
    assert.equal(diagnostics[0]?.range.start.line, 4);
    assert.deepEqual(
      document.templateVariables.map((v) => v.name),
      ['question'],
    );
  });

  it('points a template syntax error at the block left open', () => {
    const { diagnostics } = parsePrompt(read('testFixtures/broken/template-error.prompt'));
    assert.deepEqual(located(diagnostics), ['6:1-6:17 error template-syntax']);
    assert.match(diagnostics[0]?.message ?? '', /\{\{#if question\}\} is never closed: add \{\{\/if\}\}/);
  });

  it('locates an unclosed expression on its line', () => {
    const { diagnostics } = parsePrompt('---\ncases: []\n---\nline one\nsay {{name\n');
    assert.equal(diagnostics[0]?.code, 'template-syntax');
    assert.equal(diagnostics[0]?.range.start.line, 4);
  });

  it('reports an unclosed frontmatter', () => {
    const { diagnostics } = parsePrompt('---\nname: x\nhello {{name}}\n');
    assert.equal(diagnostics[0]?.code, 'frontmatter-unclosed');
    assert.deepEqual(diagnostics[0]?.range.start, { line: 0, character: 0 });
  });

  it('checks types and ranges of values', () => {
    const { diagnostics } = parsePrompt('---\nsamples: 0\nthreshold: 2\nconfig:\n  temperature: hot\n  max_tokens: 1.5\n---\nx\n');
    assert.deepEqual(located(diagnostics), [
      '2:10-2:11 error range',
      '3:12-3:13 error range',
      '5:16-5:19 error type',
      '6:15-6:18 error type',
    ]);
    assert.match(diagnostics[3]?.message ?? '', /'max_tokens' must be a whole number, got 1.5/);
  });

  it('reads budget as an amount, and locates a budget that is not one, is not above 0, or lacks max_tokens', () => {
    const good = parsePrompt('---\nconfig: {max_tokens: 100}\nbudget: 2.5\n---\nx\n');
    assert.equal(good.document.budget, 2.5);
    assert.deepEqual(good.diagnostics, []);
    assert.deepEqual(located(parsePrompt('---\nconfig: {max_tokens: 100}\nbudget: "$5"\n---\nx\n').diagnostics), ['3:9-3:13 error type']);
    assert.deepEqual(located(parsePrompt('---\nconfig: {max_tokens: 100}\nbudget: 0\n---\nx\n').diagnostics), ['3:9-3:10 error range']);
    const unbounded = parsePrompt('---\nbudget: 5\n---\nx\n');
    assert.deepEqual(located(unbounded.diagnostics), ['2:1-2:7 error budget-needs-max-tokens']);
    assert.match(unbounded.diagnostics[0]?.message ?? '', /'budget' needs config.max_tokens/);
  });

  it('warns when several samples are drawn at temperature 0', () => {
    const { diagnostics } = parsePrompt('---\nsamples: 5\nconfig: {temperature: 0}\ncases: [{input: {}, expected: a}]\n---\nhi\n');
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      ['samples-at-zero-temperature'],
    );
    assert.deepEqual(diagnostics[0]?.range, { start: { line: 1, character: 0 }, end: { line: 1, character: 7 } });
  });

  it('warns where a setting is written that the named reasoning model will not be sent, and reads reasoning_effort', () => {
    const { document, diagnostics } = parsePrompt(
      '---\nmodel: openai:gpt-5-mini\nsamples: 5\nconfig:\n  temperature: 0\n  top_p: 1\n  top_k: 40\n  reasoning_effort: low\ncases: [{input: {}, expected: a}]\n---\nhi\n',
    );
    assert.equal(document.sampling.reasoningEffort, 'low');
    // top_p 1 is the model's own value: nothing to say; temperature 0 says no more about self-consistency.
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.severity, d.range.start.line, d.message]),
      [
        [
          'setting-not-sent',
          'warning',
          4,
          'gpt-5-mini samples at its fixed temperature 1; temperature 0 will not be sent (self-consistency still works: it samples by default).',
        ],
        ['setting-not-sent', 'warning', 6, 'top_k is not part of the OpenAI API: openai is not sent it.'],
      ],
    );
    const plain = parsePrompt(
      '---\nmodel: openai:gpt-4o-mini\nconfig: {temperature: 0.7, top_p: 0.9}\ncases: [{input: {}, expected: a}]\n---\nhi\n',
    );
    assert.deepEqual(plain.diagnostics, []);
    const effort = parsePrompt('---\nconfig: {reasoning_effort: 3}\n---\nhi\n');
    assert.deepEqual(
      effort.diagnostics.map((d) => d.code),
      ['type'],
    );
  });

  it('flags variants that lack the examples they need', () => {
    const { diagnostics } = parsePrompt(
      '---\nvariants: [one-shot, few-shot-cot, {type: few-shot, k: 5}]\nexamples:\n  - {input: {q: a}, output: b}\n---\n{{q}}\n',
    );
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      // few-shot with k: 5 of one example shows what one-shot shows.
      ['needs-reasoning', 'k-too-large', 'identical-variants'],
    );
  });

  it('rejects invalid regular expressions and JSON paths where they are written', () => {
    const { diagnostics } = parsePrompt(
      '---\nextract:\n  type: regex\n  pattern: "(unclosed"\nscorer:\n  type: regex\n  pattern: "[a-"\n---\nx\n',
    );
    assert.deepEqual(located(diagnostics), ['4:12-4:23 error regex', '7:12-7:17 error regex']);
    const json = parsePrompt('---\nextract: {type: json, path: "answer"}\n---\nx\n');
    assert.deepEqual(
      json.diagnostics.map((d) => d.code),
      ['json-path'],
    );
  });

  it('warns about nested quantifiers where the pattern is written', () => {
    const { diagnostics } = parsePrompt(
      '---\nextract:\n  type: regex\n  pattern: "(a+)+b"\nscorer:\n  type: regex\n  pattern: \'(x|xy)*z\'\n---\nx\n',
    );
    assert.deepEqual(located(diagnostics), ['4:12-4:20 warning regex-backtracking', '7:12-7:22 warning regex-backtracking']);
    assert.match(diagnostics[0]?.message ?? '', /\(a\+\)\+/);
    const plain = parsePrompt("---\nextract: {type: regex, pattern: 'Answer: (\\d+(?:\\.\\d+)?)'}\n---\nx\n");
    assert.deepEqual(plain.diagnostics, []);
  });

  it('chooses default variants from the examples', () => {
    const plain = parsePrompt('---\ncases: [{input: {q: 1}, expected: 1}]\n---\n{{q}}\n');
    assert.deepEqual(
      plain.document.variants.map((v) => v.kind),
      ['zero-shot', 'zero-shot-cot'],
    );
    const rich = parsePrompt('---\nexamples:\n  - {input: {q: 1}, output: a, reasoning: r}\n  - {input: {q: 2}, output: b}\n---\n{{q}}\n');
    assert.deepEqual(
      rich.document.variants.map((v) => v.kind),
      ['zero-shot', 'one-shot', 'few-shot', 'zero-shot-cot', 'few-shot-cot'],
    );
  });

  it('does not count variables inside #each blocks as inputs', () => {
    const { document } = parsePrompt(
      '{{#each items}}{{name}} {{this}} {{../title}} {{@index}}{{/each}} {{@root.footer}} {{#if flag}}{{inner}}{{/if}}',
    );
    assert.deepEqual(
      document.templateVariables.map((v) => v.name),
      ['items', 'title', 'footer', 'flag', 'inner'],
    );
  });

  it('ships prompts that parse without problems', () => {
    for (const file of fs.readdirSync(path.join(root, 'prompts')).filter((name) => name.endsWith('.prompt'))) {
      const { diagnostics } = parsePrompt(read(`prompts/${file}`));
      assert.deepEqual(diagnostics, [], file);
    }
  });

  it('refuses a YAML alias bomb at the alias that crosses the limit, before anything expands it', () => {
    const levels = ['  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let level = 1; level < 9; level++) {
      const name = String.fromCharCode(97 + level);
      levels.push(`  ${name}: &${name} [${Array.from({ length: 10 }, () => `*${String.fromCharCode(96 + level)}`).join(', ')}]`);
    }
    const text = ['---', 'input:', '  default:', ...levels, '---', '{{i}}', ''].join('\n');
    const started = Date.now();
    const { document, diagnostics } = parsePrompt(text);
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(located(diagnostics), ['8:38-8:40 error yaml-aliases']);
    assert.match(diagnostics[0]?.message ?? '', /Aliases here expand to more than 100,000 nodes \(at \*d\)/);
    // Nothing from the refused frontmatter reaches rendering or the run.
    assert.deepEqual(document.inputDefaults, {});
    assert.deepEqual(document.frontmatter, {});
  });

  it('still reads ordinary anchors and aliases, an alias to a mapping as a mapping', () => {
    const text =
      '---\nexamples:\n  - &one {input: &q {q: "1+1"}, output: "2"}\n  - *one\ncases:\n  - {input: {q: x, extra: 1}, expected: 2}\n  - {input: *q, expected: 2}\n---\n{{q}}\n';
    const { document, diagnostics } = parsePrompt(text);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(
      document.examples.map((e) => [e.input, e.output]),
      [
        [{ q: '1+1' }, '2'],
        [{ q: '1+1' }, '2'],
      ],
    );
    assert.deepEqual(
      document.cases.map((c) => [c.input, c.expected]),
      [
        [{ q: 'x', extra: 1 }, 2],
        [{ q: '1+1' }, 2],
      ],
    );
  });

  describe('encodings', () => {
    const text = '---\nsamples: 3\ncases:\n  - {input: {q: "2+2"}, expected: 4}\n---\nSolve {{q}}\n';
    /** The bytes of `text` in UTF-16, decoded as UTF-8 the way the CLI and VS Code read an unknown file. */
    const utf16AsUtf8 = (order: 'le' | 'be', bom: boolean): string => {
      const le = Buffer.from((bom ? '\uFEFF' : '') + text, 'utf16le');
      return (order === 'le' ? le : Buffer.from(le).swap16()).toString('utf8');
    };

    for (const [order, bom] of [
      ['le', true],
      ['le', false],
      ['be', true],
      ['be', false],
    ] as const) {
      it(`says a UTF-16 ${order.toUpperCase()} file${bom ? ' with a byte order mark' : ''} is UTF-16, once, at line 1`, () => {
        const { document, diagnostics } = parsePrompt(utf16AsUtf8(order, bom));
        assert.deepEqual(
          diagnostics.map((d) => [d.range.start.line, d.code, d.message]),
          [[0, 'encoding', `This file is UTF-16 (${order === 'le' ? 'little' : 'big'}-endian), not UTF-8: save it as UTF-8.`]],
        );
        assert.deepEqual(document.cases, []);
      });
    }

    it('says a file with CR-only line endings should use LF or CRLF, once, at line 1', () => {
      const { diagnostics } = parsePrompt(text.replace(/\n/g, '\r'));
      assert.deepEqual(
        diagnostics.map((d) => [d.range.start.line, d.code, d.message]),
        [[0, 'encoding', 'This file uses CR-only line endings (classic Mac): save it with LF or CRLF line endings.']],
      );
    });

    it('reads CRLF and a UTF-8 byte order mark as before', () => {
      for (const variant of [text.replace(/\n/g, '\r\n'), `\uFEFF${text}`]) {
        const { document, diagnostics } = parsePrompt(variant);
        assert.deepEqual(diagnostics, []);
        assert.deepEqual([document.samples, document.cases[0]?.input, document.cases[0]?.expected], [3, { q: '2+2' }, 4]);
      }
    });
  });

  describe('quick fixes for "did you mean"', () => {
    const fixes = (text: string) =>
      parsePrompt(text)
        .diagnostics.filter((d) => d.fix)
        .map((d) => [d.code, d.fix?.title, d.fix?.replacement, d.fix?.range]);
    const at = (line: number, start: number, end: number) => ({ start: { line, character: start }, end: { line, character: end } });

    it('offers the suggestion of unknown keys and names, over exactly the misspelt word', () => {
      assert.deepEqual(fixes(read('testFixtures/host/broken.prompt')), [
        ['unknown-key', "Change to 'samples'", 'samples', at(2, 0, 7)],
        ['unknown-scorer', "Change to 'exact'", 'exact', at(3, 8, 13)],
      ]);
      const text = [
        '---',
        'config: {temprature: 0.5}',
        'samples: {max: 4, stop: adaptiv}',
        'variants: [zero-shot, {type: few-shoot}]',
        'extract: {type: numbr}',
        'baseline: zero-shoot',
        'examples: [{input: {q: a}, output: b}]',
        'cases: [{input: {question: a}, expected: b}]',
        '---',
        '{{questio}}',
        '',
      ].join('\n');
      assert.deepEqual(fixes(text), [
        ['unknown-key', "Change to 'temperature'", 'temperature', at(1, 9, 19)],
        ['unknown-stop-rule', "Change to 'adaptive'", 'adaptive', at(2, 24, 31)],
        ['unknown-variant', "Change to 'few-shot'", 'few-shot', at(3, 29, 38)],
        ['unknown-extractor', "Change to 'number'", 'number', at(4, 16, 21)],
        ['unknown-baseline', "Change to 'zero-shot'", 'zero-shot', at(5, 10, 20)],
        ['undefined-variable', "Change to 'question'", 'question', at(9, 2, 9)],
      ]);
    });

    it('offers nothing without a suggestion, or when the value is quoted', () => {
      assert.deepEqual(fixes('---\nscorer: zzzzzz\nwhatever: 1\n---\nhi\n'), []);
      const quoted = parsePrompt('---\nscorer: "exakt"\n---\nhi\n').diagnostics;
      assert.deepEqual(
        quoted.map((d) => [d.code, d.fix]),
        [['unknown-scorer', undefined]],
      );
    });
  });

  describe('the judge scorer and labels', () => {
    it('reads scorer: {type: judge} with its defaults and settings', () => {
      const plain = parsePrompt('---\nscorer: {type: judge, rubric: "Fair? {{output}}"}\n---\n{{q}}\n');
      assert.deepEqual(plain.diagnostics, []);
      const { range: _range, ...judge } = plain.document.scorer.judge ?? { range: undefined };
      assert.deepEqual(judge, { rubric: 'Fair? {{output}}', repeats: 1, temperature: 0 });
      const full = parsePrompt(
        '---\nscorer: {type: judge, rubric: R, model: "openai:gpt-4o", repeats: 5, temperature: 0.7, seed: 3, max_tokens: 99}\n---\n{{q}}\n',
      );
      assert.deepEqual(full.diagnostics, []);
      const spec = full.document.scorer.judge;
      assert.deepEqual([spec?.model, spec?.repeats, spec?.temperature, spec?.seed, spec?.maxTokens], ['openai:gpt-4o', 5, 0.7, 3, 99]);
    });

    it('locates a missing rubric, bad repeats, and judge settings on another scorer', () => {
      assert.deepEqual(located(parsePrompt('---\nscorer: {type: judge}\n---\n{{q}}\n').diagnostics), ['2:9-2:22 error missing-key']);
      assert.deepEqual(located(parsePrompt('---\nscorer: judge\n---\n{{q}}\n').diagnostics), ['2:9-2:14 error missing-key']);
      const repeats = parsePrompt('---\nscorer: {type: judge, rubric: R, repeats: 16}\n---\n{{q}}\n').diagnostics;
      assert.deepEqual(located(repeats), ['2:43-2:45 error range']);
      assert.equal(parsePrompt('---\nscorer: {type: judge, rubric: R, repeats: 0}\n---\n{{q}}\n').document.scorer.judge?.repeats, 1);
      const other = parsePrompt('---\nscorer: {type: exact, rubric: R}\n---\n{{q}}\n').diagnostics;
      assert.deepEqual(
        other.map((d) => [d.code, d.severity]),
        [['judge-only-key', 'warning']],
      );
    });

    it("reads a case's label as true/false/pass/fail and refuses anything else", () => {
      const parsed = parsePrompt(
        '---\nscorer: {type: judge, rubric: R}\ncases:\n  - {input: a, label: pass}\n  - {input: b, label: false}\n  - {input: c}\n  - {input: d, label: maybe}\n---\n{{q}}\n',
      );
      assert.deepEqual(
        parsed.document.cases.map((testCase) => testCase.label),
        [true, false, undefined, undefined],
      );
      assert.deepEqual(located(parsed.diagnostics), ['7:23-7:28 error type']);
    });
  });
});
