import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { expandAttacks } from '../security/expand';
import { labelValue, parsePrompt } from './parse';
import { didYouMean, encodingProblem } from './text';
import { checkChoiceDefault, checkEmptyPrompts } from './traps';
import { SCORERS_NEEDING_EXPECTED, type Case, type DatasetRef, type Diagnostic, type ParseResult, type Range, type Vars } from './types';

/** File access the loader needs; the editor passes one that sees unsaved documents. */
export interface FileSystem {
  readFile(file: string): Promise<string>;
  exists(file: string): Promise<boolean>;
  /** What a path is, so that a folder is not reported as a missing file; `exists` answers when absent. */
  kind?(file: string): Promise<PathKind>;
}

export type PathKind = 'file' | 'folder' | 'other' | 'missing';

async function pathKind(fs: FileSystem, file: string): Promise<PathKind> {
  return fs.kind ? fs.kind(file) : (await fs.exists(file)) ? 'file' : 'missing';
}

function notAFile(shown: string, kind: PathKind): string {
  return `${shown} is ${kind === 'folder' ? 'a folder' : 'not a regular file (a device, pipe or socket)'}, not a file.`;
}

export interface LoadedPrompt extends ParseResult {
  file: string;
  /** Inline cases followed by the rows of every dataset. */
  cases: Case[];
}

/** Parses a `.prompt` file and loads its datasets (relative to the file), checking each row. */
export async function loadPrompt(file: string, text: string, fs: FileSystem): Promise<LoadedPrompt> {
  const parsed = parsePrompt(text);
  const diagnostics = [...parsed.diagnostics];
  const cases = [...parsed.document.cases];
  const directory = path.dirname(file);

  for (const dataset of parsed.document.datasets) {
    const result = await loadDataset(dataset, directory, fs, parsed);
    // Loops, not push(...rows): spreading 130,000 rows overflows the call stack.
    for (const diagnostic of result.diagnostics) diagnostics.push(diagnostic);
    for (const testCase of result.cases) cases.push(testCase);
  }

  const scorer = parsed.document.scorer;
  if (scorer.type === 'custom' && scorer.file) {
    const scorerPath = path.resolve(directory, scorer.file);
    const kind = await pathKind(fs, scorerPath);
    if (kind === 'missing') {
      diagnostics.push({
        range: scorer.range ?? zero(),
        severity: 'error',
        code: 'missing-file',
        message: `Scorer file not found: ${scorer.file} (looked for ${scorerPath}).`,
      });
    } else if (kind !== 'file') {
      diagnostics.push({
        range: scorer.range ?? zero(),
        severity: 'error',
        code: 'not-a-file',
        message: `Scorer ${notAFile(scorer.file, kind)}`,
      });
    }
  }
  const choice = checkChoiceDefault(parsed.document, cases, text);
  if (choice) diagnostics.push(choice);
  for (const diagnostic of await checkEmptyPrompts(parsed.document, cases)) diagnostics.push(diagnostic);
  if (!parsed.document.attacks && parsed.document.defences.length === 0) return { file, document: parsed.document, diagnostics, cases };
  // Attacks and defences run as variants and cases of their own (src/core/security/expand.ts).
  const expansion = expandAttacks(parsed.document, cases);
  for (const diagnostic of expansion.diagnostics) diagnostics.push(diagnostic);
  return { file, document: { ...parsed.document, variants: expansion.variants }, diagnostics, cases: expansion.cases };
}

interface DatasetResult {
  cases: Case[];
  diagnostics: Diagnostic[];
}

async function loadDataset(dataset: DatasetRef, directory: string, fs: FileSystem, parsed: ParseResult): Promise<DatasetResult> {
  const file = path.resolve(directory, dataset.path);
  const diagnostics: Diagnostic[] = [];
  const error = (message: string, code: string, range: Range = dataset.range, inFile?: string): void => {
    diagnostics.push({ range, severity: 'error', code, message, ...(inFile ? { file: inFile } : {}) });
  };

  const extension = path.extname(file).toLowerCase();
  if (extension !== '.jsonl' && extension !== '.csv' && extension !== '.ndjson') {
    error(`Dataset '${dataset.path}' must be a .jsonl or .csv file.`, 'dataset-format');
    return { cases: [], diagnostics };
  }
  const kind = await pathKind(fs, file);
  if (kind === 'missing') {
    error(`Dataset file not found: ${dataset.path} (looked for ${file}).`, 'missing-file');
    return { cases: [], diagnostics };
  }
  if (kind !== 'file') {
    error(`Dataset ${notAFile(dataset.path, kind)}`, 'not-a-file');
    return { cases: [], diagnostics };
  }
  let content: string;
  try {
    content = await fs.readFile(file);
  } catch (cause) {
    error(`Cannot read dataset ${dataset.path}: ${cause instanceof Error ? cause.message : String(cause)}`, 'dataset-read');
    return { cases: [], diagnostics };
  }
  const problem = encodingProblem(content);
  // csv-parse reads CR-only records fine; JSONL lines are split at LF.
  if (problem && !(problem.kind === 'cr-only' && extension === '.csv')) {
    error(`Dataset ${dataset.path}: ${problem.message.replace(/^This file/, 'the file')}`, 'encoding');
    return { cases: [], diagnostics };
  }

  const variables = [...new Set(parsed.document.templateVariables.map((variable) => variable.name))];
  const expectedField = dataset.expectedField;
  const needsExpected = SCORERS_NEEDING_EXPECTED.has(parsed.document.scorer.type);
  const cases: Case[] = [];
  const limit = dataset.limit ?? Infinity;
  const relative = dataset.path;
  const bad = new BadRows(file, diagnostics);
  let first: Row | undefined;
  // Rows go straight to cases, one at a time: a million-row file never exists as a second array of rows.
  const take = (row: Row): void => {
    first ??= row;
    if (cases.length >= limit) return;
    const absent = variables.filter(
      (variable) => !(variable in parsed.document.inputDefaults) && !((dataset.inputMap?.[variable] ?? variable) in row.values),
    );
    if (absent.length > 0) {
      // A row without a variable would render a prompt with a hole in it: skip it, say where.
      const columns = absent.map((variable) => dataset.inputMap?.[variable] ?? variable).join(', ');
      bad.add(row.line, `no value for ${columns}; this row is skipped.`);
      return;
    }
    const expectedKey =
      expectedField ?? (row.values.expected !== undefined ? 'expected' : row.values.answer !== undefined ? 'answer' : undefined);
    const input: Vars = {};
    for (const variable of variables) {
      const column = dataset.inputMap?.[variable] ?? variable;
      if (column in row.values) input[variable] = row.values[column];
    }
    // Columns that no variable reads still travel along, for custom scorers and reports.
    // A `label` column no variable reads is the row's human verdict (to measure a judge against), not input.
    const labelKey = 'label' in input ? undefined : 'label';
    for (const [column, value] of Object.entries(row.values))
      if (!(column in input) && column !== expectedKey && column !== labelKey) input[column] = value;
    const testCase: Case = { id: `${relative}:${row.line}`, input, range: dataset.range, origin: { file, line: row.line } };
    if (expectedKey !== undefined && row.values[expectedKey] !== undefined) testCase.expected = row.values[expectedKey];
    const label = labelKey !== undefined ? labelValue(row.values[labelKey]) : undefined;
    if (label !== undefined) testCase.label = label;
    cases.push(testCase);
  };
  if (extension === '.csv') readCsvRows(content, bad, take);
  else readJsonlRows(content, bad, take);

  if (bad.count > 0) {
    const listed =
      bad.count > MAX_ROW_DIAGNOSTICS ? `; the first ${MAX_ROW_DIAGNOSTICS} are reported in it` : '; see the problems reported in it';
    error(
      `Dataset ${dataset.path} has ${bad.count} bad row${bad.count === 1 ? '' : 's'} (first at line ${bad.firstLine})${listed}.`,
      'dataset-rows',
    );
  }
  if (first) {
    const columns = Object.keys(first.values);
    for (const variable of variables) {
      if (variable in parsed.document.inputDefaults) continue;
      const column = dataset.inputMap?.[variable] ?? variable;
      if (!columns.includes(column)) {
        error(
          `Dataset ${dataset.path} has no column '${column}' for template variable '${variable}'${didYouMean(column, columns)} (columns: ${columns.join(', ')}).`,
          'dataset-column',
        );
      }
    }
    if (needsExpected && !cases.some((testCase) => testCase.expected !== undefined)) {
      error(
        `Dataset ${dataset.path} has no '${expectedField ?? 'expected'}' column, but the '${parsed.document.scorer.type}' scorer needs one (set 'expected: <column>').`,
        'dataset-column',
      );
    }
  } else if (bad.count === 0) {
    diagnostics.push({ range: dataset.range, severity: 'warning', code: 'dataset-empty', message: `Dataset ${dataset.path} has no rows.` });
  }
  return { cases, diagnostics };
}

interface Row {
  line: number;
  values: Record<string, unknown>;
}

function lineRange(line: number): Range {
  return { start: { line: line - 1, character: 0 }, end: { line: line - 1, character: Number.MAX_SAFE_INTEGER } };
}

/** Per-row problems of one dataset: all are counted, the first MAX_ROW_DIAGNOSTICS are reported at their line. */
class BadRows {
  count = 0;
  firstLine = 0;
  constructor(
    private readonly file: string,
    private readonly diagnostics: Diagnostic[],
  ) {}

  add(line: number, message: string): void {
    this.count++;
    if (this.count === 1 || line < this.firstLine) this.firstLine = line;
    if (this.count <= MAX_ROW_DIAGNOSTICS) {
      this.diagnostics.push({
        range: lineRange(line),
        severity: 'error',
        code: 'dataset-row',
        file: this.file,
        message: `${path.basename(this.file)}:${line}: ${message}`,
      });
    }
  }
}

/** A file with 100,000 bad rows would otherwise flood the Problems view and the terminal. */
export const MAX_ROW_DIAGNOSTICS = 100;

function readJsonlRows(content: string, bad: BadRows, take: (row: Row) => void): void {
  // Walks the text by index instead of split(): no array of a million line strings.
  let line = 0;
  // Node's utf8 read keeps a byte order mark (TextDecoder drops it); JSON.parse would reject it.
  for (let start = content.charCodeAt(0) === 0xfeff ? 1 : 0; start < content.length;) {
    const newline = content.indexOf('\n', start);
    const stop = newline < 0 ? content.length : newline;
    const text = content.slice(start, stop > start && content.charCodeAt(stop - 1) === 13 ? stop - 1 : stop);
    start = stop + 1;
    line++;
    if (text.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(text);
      if (value && typeof value === 'object' && !Array.isArray(value)) take({ line, values: value as Record<string, unknown> });
      else bad.add(line, 'each line must be a JSON object.');
    } catch (cause) {
      bad.add(line, `invalid JSON: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
}

function readCsvRows(content: string, bad: BadRows, take: (row: Row) => void): void {
  // on_record hands each record over and returns null, so the parser keeps no array of a million records.
  try {
    parseCsv(content, {
      columns: true,
      skip_empty_lines: true,
      bom: true,
      trim: true,
      on_record: (record: Record<string, string>, info: { lines: number }) => {
        take({ line: info.lines, values: record });
        return null;
      },
    });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const line = /line (\d+)/i.exec(reason)?.[1];
    bad.add(Number(line ?? 1), reason);
  }
}

function zero(): Range {
  return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
}

/** Node's file system, for the CLI and tests. */
export const nodeFileSystem: FileSystem = {
  async readFile(file) {
    const { readFile } = await import('node:fs/promises');
    return readFile(file, 'utf8');
  },
  async exists(file) {
    return (await nodeFileSystem.kind?.(file)) === 'file';
  },
  async kind(file) {
    const { stat } = await import('node:fs/promises');
    try {
      const found = await stat(file);
      return found.isFile() ? 'file' : found.isDirectory() ? 'folder' : 'other';
    } catch {
      return 'missing';
    }
  },
};
