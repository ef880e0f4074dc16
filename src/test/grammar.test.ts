import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import { INITIAL, parseRawGrammar, Registry, type IGrammar, type StateStack } from 'vscode-textmate';

const root = path.resolve(__dirname, '../..');

/** Tokenizes with the same engine VS Code uses (vscode-textmate + Oniguruma). */
async function loadGrammar(): Promise<IGrammar> {
  const wasm = fs.readFileSync(path.join(root, 'node_modules/vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    // VS Code's YAML grammar stands in as a one-rule stub: we test that the frontmatter is handed to it.
    loadGrammar: (scope) =>
      Promise.resolve(
        scope === 'source.prompt'
          ? parseRawGrammar(fs.readFileSync(path.join(root, 'syntaxes/prompt.tmLanguage.json'), 'utf8'), 'prompt.tmLanguage.json')
          : scope === 'source.yaml'
            ? parseRawGrammar(
                JSON.stringify({
                  scopeName: 'source.yaml',
                  patterns: [{ match: '^\\s*([\\w.-]+)(:)', captures: { '1': { name: 'entity.name.tag.yaml' } } }],
                }),
                'yaml.json',
              )
            : null,
      ),
  });
  const grammar = await registry.loadGrammar('source.prompt');
  assert.ok(grammar);
  return grammar;
}

/** `text → scopes` for each token of each line. */
function tokenize(grammar: IGrammar, text: string): Map<string, string[]>[] {
  let state: StateStack = INITIAL;
  return text.split('\n').map((line) => {
    const result = grammar.tokenizeLine(line, state);
    state = result.ruleStack;
    return new Map(result.tokens.map((token) => [line.slice(token.startIndex, token.endIndex), token.scopes]));
  });
}

describe('TextMate grammar', () => {
  let grammar: IGrammar;
  before(async () => {
    grammar = await loadGrammar();
  });

  const source = [
    '---',
    'name: x',
    'samples: 4',
    '---',
    '{{!-- a comment --}}',
    '{{role "system"}}',
    'Be brief.',
    '{{#if topic}}About {{topic}}{{/if}}',
    '{{json data}} {{@root.x}}',
    '---',
    'not frontmatter',
  ].join('\n');

  it('embeds YAML in the frontmatter, and only at the top of the file', () => {
    const lines = tokenize(grammar, source);
    assert.ok(lines[0]?.get('---')?.includes('punctuation.definition.frontmatter.begin.prompt'));
    assert.ok(lines[1]?.get('name')?.includes('meta.embedded.block.frontmatter'));
    assert.ok(lines[1]?.get('name')?.includes('entity.name.tag.yaml'));
    assert.ok(lines[3]?.get('---')?.includes('punctuation.definition.frontmatter.end.prompt'));
    assert.ok(!lines[9]?.get('---')?.some((scope) => scope.includes('frontmatter')), 'a later --- is body text');
  });

  it('marks role markers, blocks, variables, helpers and comments in the body', () => {
    const lines = tokenize(grammar, source);
    assert.ok(lines[4]?.get(' a comment ')?.includes('comment.block.handlebars.prompt'));
    assert.ok(lines[5]?.get('role')?.includes('keyword.control.role.prompt'));
    assert.ok(lines[5]?.get('"system"')?.includes('entity.name.section.prompt'));
    assert.ok(lines[7]?.get('#')?.includes('keyword.control.block.prompt'));
    assert.ok(lines[7]?.get('if')?.includes('keyword.control.helper.prompt'));
    assert.ok(lines[7]?.get('topic')?.includes('variable.other.prompt'));
    assert.ok(lines[8]?.get('json')?.includes('support.function.helper.prompt'));
    assert.ok(lines[8]?.get('@root.x')?.includes('variable.language.data.prompt'));
  });

  it('treats a file without frontmatter as a template', () => {
    const lines = tokenize(grammar, 'Hello {{name}}\n');
    assert.ok(lines[0]?.get('name')?.includes('variable.other.prompt'));
  });
});
