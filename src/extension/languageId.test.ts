import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isLegacyPromptFile, LANGUAGE_ID, LEGACY_LANGUAGE_ID } from './languageId';

interface Manifest {
  activationEvents: string[];
  contributes: {
    languages: { id: string; aliases?: string[]; extensions?: string[]; filenames?: string[]; filenamePatterns?: string[] }[];
    grammars: { language: string }[];
    snippets: { language: string }[];
    menus: Record<string, { when?: string }[]>;
  };
}

const manifest = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as Manifest;

describe('language id', () => {
  it('is dotprompt everywhere in package.json, never VS Code’s prompt', () => {
    const { languages, grammars, snippets, menus } = manifest.contributes;
    assert.deepEqual(
      languages.map((language) => language.id),
      [LANGUAGE_ID],
    );
    assert.ok(!languages[0]?.aliases?.some((alias) => alias.toLowerCase() === LEGACY_LANGUAGE_ID));
    assert.deepEqual(new Set([...grammars, ...snippets].map((contribution) => contribution.language)), new Set([LANGUAGE_ID]));
    const whens = Object.values(menus)
      .flat()
      .map((item) => item.when ?? '')
      .filter((when) => /LangId/.test(when));
    assert.ok(whens.length >= 5);
    for (const when of whens) assert.match(when, /LangId == dotprompt\b/);
    assert.ok(manifest.activationEvents.includes(`onLanguage:${LANGUAGE_ID}`));
    // Files still opened as `prompt` are switched over, so they must activate the extension too.
    assert.ok(manifest.activationEvents.includes(`onLanguage:${LEGACY_LANGUAGE_ID}`));
  });

  it('claims .prompt files and not VS Code’s *.prompt.md', () => {
    const [language] = manifest.contributes.languages;
    assert.deepEqual(language?.extensions, ['.prompt']);
    assert.equal(language?.filenames, undefined);
    assert.equal(language?.filenamePatterns, undefined);
  });

  it('switches only .prompt files opened as prompt', () => {
    assert.equal(isLegacyPromptFile('prompt', '/work/arithmetic.prompt'), true);
    assert.equal(isLegacyPromptFile('prompt', '/work/UPPER.PROMPT'), true);
    assert.equal(isLegacyPromptFile('prompt', '/work/.github/prompts/review.prompt.md'), false);
    assert.equal(isLegacyPromptFile('prompt', '/work/notes.md'), false);
    assert.equal(isLegacyPromptFile('dotprompt', '/work/arithmetic.prompt'), false);
    assert.equal(isLegacyPromptFile('plaintext', '/work/arithmetic.prompt'), false);
  });
});
