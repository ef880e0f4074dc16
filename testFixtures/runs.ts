// Hand-made runs for the summary's unit tests: a prompt loaded from frontmatter, and a run file of records.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadPrompt, nodeFileSystem, type LoadedPrompt } from '../src/core/prompt/load';
import { RUN_FILE_SCHEMA, type AdjustmentRecord, type CompletionRecord, type EndRecord, type ParsedRunFile } from '../src/core/eval/store';

const root = path.resolve(__dirname, '..');

/** Loads a `.prompt` of this frontmatter with the project's loader; the body reads one variable, so `input: "…"` works. Fails on any diagnostic. */
export async function loadFrontmatter(frontmatter: string, file = path.join(root, 'summary.prompt')): Promise<LoadedPrompt> {
  const loaded = await loadPrompt(file, `---\n${frontmatter.trim()}\n---\n{{q}}\n`, nodeFileSystem);
  assert.deepEqual(loaded.diagnostics, []);
  return loaded;
}

/** The run file of `loaded` (all its variants and cases) holding these records. */
export function runFileOf(
  loaded: LoadedPrompt,
  completions: CompletionRecord[],
  options: { id?: string; end?: EndRecord['status']; adjustments?: AdjustmentRecord[] } = {},
): ParsedRunFile {
  return {
    header: {
      type: 'run',
      schema: RUN_FILE_SCHEMA,
      id: options.id ?? 'run-1',
      promptFile: loaded.file,
      promptHash: '0123456789abcdef',
      ...(loaded.document.name ? { promptName: loaded.document.name } : {}),
      backend: { id: 'scripted', model: 'script-1', input: 'text' },
      sampling: loaded.document.sampling,
      samples: loaded.document.samples,
      variants: loaded.document.variants.map((variant) => variant.name),
      cases: loaded.cases.map((testCase) => testCase.id),
      startedAt: '2024-05-01T12:00:00.000Z',
    },
    completions,
    ...(options.adjustments ? { adjustments: options.adjustments } : {}),
    ...(options.end ? { end: { type: 'end', status: options.end, at: '2024-05-01T12:01:00.000Z' } } : {}),
    skipped: [],
  };
}
