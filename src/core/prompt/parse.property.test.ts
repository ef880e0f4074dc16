import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { dump } from 'js-yaml';
import { parsePrompt } from './parse';
import { LineIndex } from './text';

const root = path.resolve(__dirname, '../../..');
const seeds = [
  ...fs
    .readdirSync(path.join(root, 'prompts'))
    .filter((f) => f.endsWith('.prompt'))
    .map((f) => path.join(root, 'prompts', f)),
  ...fs
    .readdirSync(path.join(root, 'testFixtures/broken'))
    .filter((f) => f.endsWith('.prompt'))
    .map((f) => path.join(root, 'testFixtures/broken', f)),
].map((file) => fs.readFileSync(file, 'utf8'));

/** Parsing never throws, never hits the internal-error fallback, and every range lies inside the text. */
function assertWellFormed(text: string): void {
  const { diagnostics } = parsePrompt(text);
  const index = new LineIndex(text);
  for (const diagnostic of diagnostics) {
    assert.notEqual(diagnostic.code, 'internal', diagnostic.message);
    const { start, end } = diagnostic.range;
    assert.ok(start.line < index.lineCount && end.line < index.lineCount, `line out of range: ${JSON.stringify(diagnostic)}`);
    assert.ok(
      start.line < end.line || (start.line === end.line && start.character <= end.character),
      `inverted range: ${JSON.stringify(diagnostic)}`,
    );
    assert.ok(end.character <= index.lineText(end.line).length + 1, `character out of range: ${JSON.stringify(diagnostic)}`);
    assert.ok(diagnostic.message.length > 0);
  }
}

const fragments = [
  '---\n',
  '---',
  '{{',
  '}}',
  '{{#if x}}',
  '{{/if}}',
  '{{#each items}}',
  '{{/each}}',
  '{{role "user"}}',
  '{{role "system"}}',
  ': ',
  '- ',
  '\n',
  '  ',
  '[',
  ']',
  '{',
  '}',
  '"',
  "'",
  '#',
  '&a',
  '*a',
  '!!str',
  'cases:',
  'variants:',
  'examples:',
  'input:',
  'expected:',
  'scorer:',
  'extract:',
  'dataset:',
  'samples:',
  'config:',
  'few-shot',
  '\t',
  '\r\n',
  '\uFEFF',
  '人物',
  '😀',
  '\u0000',
];

const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 8 })),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('duplicateLine' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(text: string, steps: Mutation[]): string {
  let result = text;
  for (const step of steps) {
    const at = result.length === 0 ? 0 : step.at % (result.length + 1);
    if (step.kind === 'insert') result = result.slice(0, at) + step.text + result.slice(at);
    else if (step.kind === 'delete') result = result.slice(0, at) + result.slice(at + step.length);
    else if (step.kind === 'truncate') result = result.slice(0, at);
    else {
      const lines = result.split('\n');
      const line = lines.length === 0 ? 0 : step.at % lines.length;
      lines.splice(line, 0, lines[line] ?? '');
      result = lines.join('\n');
    }
  }
  return result;
}

const yamlValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ maxLength: 12 }),
    fc.integer(),
    fc.double({ noNaN: false }),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom('few-shot', 'zero-shot-cot', 'exact', 'numeric', 'regex', 'data.jsonl'),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.constantFrom('input', 'expected', 'output', 'reasoning', 'type', 'k', 'name', 'pattern', 'path', 'q', 'x'),
      tie('value'),
      { maxKeys: 4 },
    ),
  ),
})).value;

const frontmatter = fc.dictionary(
  fc.constantFrom(
    'name',
    'model',
    'config',
    'samples',
    'variants',
    'examples',
    'cases',
    'dataset',
    'extract',
    'scorer',
    'threshold',
    'text_format',
    'baseline',
    'input',
    'other',
    'ext.key',
  ),
  yamlValue,
  { maxKeys: 8 },
);

describe('parsePrompt on random and mutated documents (property)', function () {
  this.timeout(120_000);

  it('never throws and keeps every range inside the document (10,000 documents)', () => {
    let checked = 0;
    const check = (text: string): void => {
      assertWellFormed(text);
      checked++;
    };
    // Mutations of real files: the shapes people actually type, broken in every way.
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }), (seed, steps) =>
        check(mutate(seed, steps)),
      ),
      { numRuns: 5000, seed: 42 },
    );
    // Generated frontmatter with generated templates: type confusion everywhere.
    fc.assert(
      fc.property(frontmatter, fc.array(fc.constantFrom(...fragments, 'text', '{{q}}', '{{x}}'), { maxLength: 12 }), (data, body) =>
        check(`---\n${dump(data, { skipInvalid: true })}---\n${body.join('')}`),
      ),
      { numRuns: 3000, seed: 7 },
    );
    // Anything at all.
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => check(text)),
      { numRuns: 1000, seed: 3 },
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 30 }), (parts) => check(parts.join(''))),
      { numRuns: 1000, seed: 5 },
    );
    assert.equal(checked, 10_000);
  });
});
