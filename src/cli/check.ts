import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { loadPrompt, nodeFileSystem, type LoadedPrompt } from '../core/prompt/load';
import type { Diagnostic } from '../core/prompt/types';

/** Expands files and folders (recursively) into `.prompt` files, in a stable order. */
export async function findPromptFiles(targets: readonly string[]): Promise<{ files: string[]; missing: string[] }> {
  const files: string[] = [];
  const missing: string[] = [];
  const walk = async (target: string): Promise<void> => {
    let stat;
    try {
      stat = await fs.stat(target);
    } catch {
      missing.push(target);
      return;
    }
    if (stat.isFile()) {
      files.push(target);
      return;
    }
    const entries = await fs.readdir(target, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const child = path.join(target, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (entry.name.endsWith('.prompt')) files.push(child);
    }
  };
  for (const target of targets) await walk(target);
  return { files, missing };
}

export async function loadPromptFile(file: string): Promise<LoadedPrompt> {
  return loadPrompt(path.resolve(file), await fs.readFile(file, 'utf8'), nodeFileSystem);
}

/** `file:line:col: severity: message`, 1-based, as compilers print it (editors and CI parse this). */
export function formatDiagnostic(file: string, diagnostic: Diagnostic, cwd = process.cwd()): string {
  const where = path.relative(cwd, diagnostic.file ?? file) || file;
  const line = diagnostic.range.start.line + 1;
  const column = Math.min(diagnostic.range.start.character, 1_000_000) + 1;
  return `${where}:${line}:${column}: ${diagnostic.severity}: ${diagnostic.message} [${diagnostic.code}]`;
}

/** Exit 0 when clean, 1 on errors (a missing target is one), 2 when the targets hold no .prompt file at all. */
export async function runCheck(
  targets: readonly string[],
  out: (line: string) => void,
  err: (line: string) => void = out,
): Promise<number> {
  const searched = targets.length > 0 ? targets : ['.'];
  const { files, missing } = await findPromptFiles(searched);
  if (files.length === 0 && missing.length === 0) {
    // Checking nothing is no success: a CI step pointed at the wrong folder should fail, and say why.
    err(`chainscope check: no .prompt files in ${searched.join(', ')}`);
    return 2;
  }
  let errors = 0;
  let warnings = 0;
  for (const target of missing) {
    out(`${target}: error: no such file or folder`);
    errors++;
  }
  for (const file of files) {
    const loaded = await loadPromptFile(file);
    const sorted = [...loaded.diagnostics].sort(
      (a, b) =>
        (a.file ?? '').localeCompare(b.file ?? '') ||
        a.range.start.line - b.range.start.line ||
        a.range.start.character - b.range.start.character,
    );
    for (const diagnostic of sorted) {
      out(formatDiagnostic(file, diagnostic));
      if (diagnostic.severity === 'error') errors++;
      else if (diagnostic.severity === 'warning') warnings++;
    }
  }
  out(
    `Checked ${files.length} prompt file${files.length === 1 ? '' : 's'}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}.`,
  );
  return errors > 0 ? 1 : 0;
}
