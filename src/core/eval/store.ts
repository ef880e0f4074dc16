import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FinishReason, Usage } from '../backend';
import type { Sampling } from '../prompt/types';

export const RUN_FILE_SCHEMA = 'chainscope.runfile/1';

/** First line of a run file: what was run, on what. */
export interface RunHeader {
  type: 'run';
  schema: typeof RUN_FILE_SCHEMA;
  id: string;
  promptFile: string;
  /** Hash of the prompt file's text: a resumed run warns when the file changed. */
  promptHash: string;
  promptName?: string;
  backend: { id: string; model: string; input: 'chat' | 'text' };
  sampling: Sampling;
  samples: number;
  variants: string[];
  cases: string[];
  startedAt: string;
}

/** One finished completion, appended the moment it arrives so that nothing finished is ever lost. */
export interface CompletionRecord {
  type: 'completion';
  variant: string;
  case: string;
  sample: number;
  text: string;
  /** The second-stage answer of zero-shot CoT with an answer prompt. */
  answerText?: string;
  finishReason: FinishReason;
  usage: Usage;
  latencyMs: number;
  error?: string;
  cached?: boolean;
}

export interface EndRecord {
  type: 'end';
  status: 'completed' | 'cancelled' | 'failed';
  error?: string;
  at: string;
}

export type RunRecord = RunHeader | CompletionRecord | EndRecord;

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function newRunId(promptName: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const safeName = promptName.replace(/[^\w.-]+/g, '_').slice(0, 60) || 'prompt';
  return `${safeName}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

/** An append-only JSON Lines file of one run. Appends are synchronous so a crash right after loses nothing. */
export class RunFile {
  private constructor(readonly path: string) {}

  static create(directory: string, header: RunHeader): RunFile {
    fs.mkdirSync(directory, { recursive: true });
    const file = new RunFile(path.join(directory, `${header.id}.jsonl`));
    fs.writeFileSync(file.path, `${JSON.stringify(header)}\n`, { flag: 'wx' });
    return file;
  }

  static open(filePath: string): RunFile {
    if (!fs.existsSync(filePath)) throw new Error(`Run file not found: ${filePath}`);
    return new RunFile(filePath);
  }

  append(record: CompletionRecord | EndRecord): void {
    fs.appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }

  read(): ParsedRunFile {
    return parseRunFile(fs.readFileSync(this.path, 'utf8'), this.path);
  }
}

export interface ParsedRunFile {
  header: RunHeader;
  completions: CompletionRecord[];
  end?: EndRecord;
  /** Lines that could not be read (a crash can cut the last line short). */
  skippedLines: number[];
}

export function parseRunFile(content: string, name = 'run file'): ParsedRunFile {
  let header: RunHeader | undefined;
  const completions: CompletionRecord[] = [];
  const skippedLines: number[] = [];
  let end: EndRecord | undefined;
  content.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let record: RunRecord;
    try {
      record = JSON.parse(line) as RunRecord;
    } catch {
      skippedLines.push(i + 1);
      return;
    }
    if (record.type === 'run') header = record;
    else if (record.type === 'completion') completions.push(record);
    else if (record.type === 'end') end = record;
    else skippedLines.push(i + 1);
  });
  if (!header) throw new Error(`${name}: no run header on its first line; is this a Chainscope run file?`);
  const schema: unknown = (header as { schema: unknown }).schema;
  if (schema !== RUN_FILE_SCHEMA) throw new Error(`${name}: unsupported run file schema ${JSON.stringify(schema)} (expected ${RUN_FILE_SCHEMA}).`);
  return { header, completions, ...(end ? { end } : {}), skippedLines };
}

/** The newest run file of a prompt in a folder, for "compare with the previous run". */
export function latestRunFile(directory: string, promptFile: string, except?: string): string | undefined {
  if (!fs.existsSync(directory)) return undefined;
  const candidates = fs
    .readdirSync(directory)
    .filter((name) => name.endsWith('.jsonl'))
    .map((name) => path.join(directory, name))
    .filter((file) => file !== except)
    .map((file) => ({ file, mtime: fs.statSync(file).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { file } of candidates) {
    const firstLine = fs.readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
    try {
      const header = JSON.parse(firstLine) as RunHeader;
      if (header.type === 'run' && header.promptFile === promptFile) return file;
    } catch {
      // not a run file
    }
  }
  return undefined;
}
