import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { parsePrompt } from './parse';
import { didYouMean } from './text';
import { SCORERS_NEEDING_EXPECTED, type Case, type DatasetRef, type Diagnostic, type ParseResult, type Range, type Vars } from './types';

/** File access the loader needs; the editor passes one that sees unsaved documents. */
export interface FileSystem {
  readFile(file: string): Promise<string>;
  exists(file: string): Promise<boolean>;
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
    diagnostics.push(...result.diagnostics);
    cases.push(...result.cases);
  }

  const scorer = parsed.document.scorer;
  if (scorer.type === 'custom' && scorer.file) {
    const scorerPath = path.resolve(directory, scorer.file);
    if (!(await fs.exists(scorerPath))) {
      diagnostics.push({ range: scorer.range ?? zero(), severity: 'error', code: 'missing-file', message: `Scorer file not found: ${scorer.file} (looked for ${scorerPath}).` });
    }
  }
  return { file, document: parsed.document, diagnostics, cases };
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
  if (!(await fs.exists(file))) {
    error(`Dataset file not found: ${dataset.path} (looked for ${file}).`, 'missing-file');
    return { cases: [], diagnostics };
  }
  let content: string;
  try {
    content = await fs.readFile(file);
  } catch (cause) {
    error(`Cannot read dataset ${dataset.path}: ${cause instanceof Error ? cause.message : String(cause)}`, 'dataset-read');
    return { cases: [], diagnostics };
  }

  const rows = extension === '.csv' ? readCsvRows(content, file, diagnostics) : readJsonlRows(content, file, diagnostics);
  const malformedRows = diagnostics.length;

  const variables = [...new Set(parsed.document.templateVariables.map((variable) => variable.name))];
  const expectedField = dataset.expectedField;
  const needsExpected = SCORERS_NEEDING_EXPECTED.has(parsed.document.scorer.type);
  const cases: Case[] = [];
  const limit = dataset.limit ?? Infinity;
  const relative = dataset.path;
  let rowsMissingColumns = 0;
  for (const row of rows) {
    if (cases.length >= limit) break;
    const absent = variables.filter((variable) => !(variable in parsed.document.inputDefaults) && !((dataset.inputMap?.[variable] ?? variable) in row.values));
    if (absent.length > 0) {
      // A row without a variable would render a prompt with a hole in it: skip it, say where.
      rowsMissingColumns++;
      if (rowsMissingColumns <= 20) {
        const columns = absent.map((variable) => dataset.inputMap?.[variable] ?? variable).join(', ');
        diagnostics.push({ range: lineRange(row.line), severity: 'error', code: 'dataset-row', file, message: `${path.basename(file)}:${row.line}: no value for ${columns}; this row is skipped.` });
      }
      continue;
    }
    const expectedKey = expectedField ?? (row.values.expected !== undefined ? 'expected' : row.values.answer !== undefined ? 'answer' : undefined);
    const input: Vars = {};
    for (const variable of variables) {
      const column = dataset.inputMap?.[variable] ?? variable;
      if (column in row.values) input[variable] = row.values[column];
    }
    // Columns that no variable reads still travel along, for custom scorers and reports.
    for (const [column, value] of Object.entries(row.values)) if (!(column in input) && column !== expectedKey) input[column] = value;
    const kase: Case = { id: `${relative}:${row.line}`, input, range: dataset.range, origin: { file, line: row.line } };
    if (expectedKey !== undefined && row.values[expectedKey] !== undefined) kase.expected = row.values[expectedKey];
    cases.push(kase);
  }

  const badRows = malformedRows + rowsMissingColumns;
  if (badRows > 0) {
    const firstBad = Math.min(...diagnostics.filter((d) => d.file === file).map((d) => d.range.start.line)) + 1;
    error(`Dataset ${dataset.path} has ${badRows} bad row${badRows === 1 ? '' : 's'} (first at line ${firstBad}); see the problems reported in it.`, 'dataset-rows');
  }
  const first = rows[0];
  if (first) {
    const columns = Object.keys(first.values);
    for (const variable of variables) {
      if (variable in parsed.document.inputDefaults) continue;
      const column = dataset.inputMap?.[variable] ?? variable;
      if (!columns.includes(column)) {
        error(`Dataset ${dataset.path} has no column '${column}' for template variable '${variable}'${didYouMean(column, columns)} (columns: ${columns.join(', ')}).`, 'dataset-column');
      }
    }
    if (needsExpected && !cases.some((kase) => kase.expected !== undefined)) {
      error(`Dataset ${dataset.path} has no '${expectedField ?? 'expected'}' column, but the '${parsed.document.scorer.type}' scorer needs one (set 'expected: <column>').`, 'dataset-column');
    }
  } else if (malformedRows === 0) {
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

function readJsonlRows(content: string, file: string, diagnostics: Diagnostic[]): Row[] {
  const rows: Row[] = [];
  content.split(/\r?\n/).forEach((text, i) => {
    if (text.trim() === '') return;
    const line = i + 1;
    try {
      const value: unknown = JSON.parse(text);
      if (value && typeof value === 'object' && !Array.isArray(value)) rows.push({ line, values: value as Record<string, unknown> });
      else diagnostics.push({ range: lineRange(line), severity: 'error', code: 'dataset-row', file, message: `${path.basename(file)}:${line}: each line must be a JSON object.` });
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      diagnostics.push({ range: lineRange(line), severity: 'error', code: 'dataset-row', file, message: `${path.basename(file)}:${line}: invalid JSON: ${reason}` });
    }
  });
  return rows;
}

function readCsvRows(content: string, file: string, diagnostics: Diagnostic[]): Row[] {
  try {
    const records: { record: Record<string, string>; info: { lines: number } }[] = parseCsv(content, {
      columns: true,
      skip_empty_lines: true,
      bom: true,
      info: true,
      trim: true,
    });
    return records.map(({ record, info }) => ({ line: info.lines, values: record }));
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const line = /line (\d+)/i.exec(reason)?.[1];
    diagnostics.push({ range: lineRange(Number(line ?? 1)), severity: 'error', code: 'dataset-row', file, message: `${path.basename(file)}:${line ?? 1}: ${reason}` });
    return [];
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
    const { stat } = await import('node:fs/promises');
    try {
      return (await stat(file)).isFile();
    } catch {
      return false;
    }
  },
};
