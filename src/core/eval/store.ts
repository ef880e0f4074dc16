import type { ShapeOutput, TraceNode } from '../shapes/types';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Adjustment, Completion } from '../backend';
import type { Sampling, StopRule } from '../prompt/types';
import { cellKey, type CellKey } from './keys';
import type { MergedInfo, ShardInfo } from './shard';
import type { JudgeVerdict } from '../security/types';

export const RUN_FILE_SCHEMA = 'chainscope.runfile/2';
/** Buffered records reach the file this soon, or as soon as this many bytes are waiting. */
export const FLUSH_INTERVAL_MS = 100;
const FLUSH_BYTES = 1 << 20;
/** The first release's run files: the same records with `case` for `caseId`; still read. */
const RUN_FILE_SCHEMA_V1 = 'chainscope.runfile/1';

/** First line of a run file: what was run, on what. */
export interface RunHeader {
  type: 'run';
  schema: typeof RUN_FILE_SCHEMA;
  id: string;
  promptFile: string;
  /** Hash of the prompt file's text: resuming refuses a changed file unless forced. */
  promptHash: string;
  promptName?: string;
  /** `endpoint` is the backend's address with any credentials removed. */
  backend: { id: string; model: string; input: 'chat' | 'text'; endpoint?: string };
  sampling: Sampling;
  /**
   * The run's seed: the prompt's `seed`, or one drawn for this run. Each chain's stream is derived from
   * it, the variant, the case id and the sample index (src/core/random.ts). Absent in first-release files.
   */
  seed?: number;
  /** Chains per case and variant; with `stop`, the most a case may draw. */
  samples: number;
  /** Adaptive sampling: cases draw chains in rounds until their vote is settled (src/core/eval/adaptive.ts). */
  stop?: StopRule;
  variants: string[];
  cases: string[];
  startedAt: string;
  /** A shard of a run (`--shard i/n`): `cases` are this shard's; src/core/eval/shard.ts. */
  shard?: ShardInfo;
  /** A run made by `chainscope merge` of shards of one run. */
  merged?: MergedInfo;
  /** Sent through the provider's Batch API (src/core/backends/batch.ts): priced at its batch price; resumed in batch mode. */
  batch?: boolean;
  /** The judge's model (`provider:model`) when it is another backend than the run's (`scorer: {type: judge, model}`, --judge-model). */
  judgeModel?: string;
}

/** One finished completion of a sample, appended as it arrives (written within FLUSH_INTERVAL_MS) so that nothing finished is lost. */
export interface CompletionRecord extends Completion {
  type: 'completion';
  variant: string;
  caseId: string;
  /** A reasoning shape's chain (tree of thought, …): every request it made, as nodes (src/core/shapes/types.ts). */
  trace?: TraceNode[];
  /** The second-stage answer of zero-shot CoT with an answer prompt. */
  answerText?: string;
  /** Replayed from the completion cache, not requested. */
  cached?: boolean;
  /** The judge's verdicts on this chain (`scorer: {type: judge}`, a judge detector), one per repeat. */
  judge?: JudgeVerdict[];
}

export interface EndRecord {
  type: 'end';
  /** `budget`: stopped before a request could take the cost past the budget. */
  status: 'completed' | 'cancelled' | 'failed' | 'budget';
  error?: string;
  /** What the run's requests cost so far, earlier sessions of a resumed run included (when the model has a price). */
  spent?: number;
  /** The budget this session ran under. */
  budget?: number;
  at: string;
}

/**
 * A setting the backend did not send as the file asked (a reasoning model's fixed temperature, a field the
 * server refused): appended once per run when it is first known, so the run says what was actually sent.
 */
export interface AdjustmentRecord extends Adjustment {
  type: 'adjustment';
  at: string;
}

/**
 * The run's verdicts as scored when it ran, appended by the session after scoring (a resumed run appends
 * newer ones; the last counts). A later comparison uses them: re-scoring old chains by today's rules would
 * hide a scoring fix (a run that showed 0% would compare as if it had scored what the fixed rules give).
 */
export interface VerdictsRecord {
  type: 'verdicts';
  at: string;
  /** Majority-vote accuracy per variant, for listing runs without reading their chains. */
  accuracy: { variant: string; value: number; cases: number }[];
  /** Per variant, one mark per header case in order: 1 right, 0 wrong, - no verdict (no chain). */
  pass: Record<string, string>;
}

/**
 * One request of a reasoning shape's chain, appended as soon as it is answered: a resumed run replays it instead of
 * asking again, so a tree cut off halfway goes on from where it was.
 */
export interface NodeRecord {
  type: 'node';
  variant: string;
  caseId: string;
  sample: number;
  /** The request's id within the chain (ShapeRequest.id). */
  request: string;
  outputs: ShapeOutput[];
}

/**
 * A batch of the run's requests at the provider (Batch API): `submitted` is appended as soon as the batch
 * exists, so a resume polls it instead of paying for its requests twice; `finished` once its results are
 * handed on. A batch submitted and never finished is still the provider's to answer.
 */
export interface BatchRecord {
  type: 'batch';
  event: 'submitted' | 'finished';
  batchId: string;
  /** submitted: the uploaded input file, its requests and bytes. */
  inputFileId?: string;
  requests?: number;
  bytes?: number;
  /** finished: the batch's final status, its output and error files and its request counts. */
  status?: string;
  outputFileId?: string;
  errorFileId?: string;
  completed?: number;
  failed?: number;
  at: string;
}

export type RunRecord = RunHeader | CompletionRecord | AdjustmentRecord | EndRecord | VerdictsRecord | BatchRecord | NodeRecord;

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function newRunId(promptName: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const safeName = promptName.replace(/[^\w.-]+/g, '_').slice(0, 60) || 'prompt';
  return `${safeName}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * An append-only JSON Lines file of one run. Records are buffered and written in batches, off the event
 * loop, at most FLUSH_INTERVAL_MS after they arrive: a busy disk never holds up requests, and 80,000
 * chains are not 80,000 synchronous writes. `close()` writes what is left; a crash of the process loses
 * at most the last FLUSH_INTERVAL_MS of chains (resume requests them again), a power loss more (no fsync).
 */
export class RunFile {
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  private constructor(
    readonly path: string,
    private readonly onWriteError?: (error: Error) => void,
  ) {}

  static create(directory: string, header: RunHeader, onWriteError?: (error: Error) => void): RunFile {
    fs.mkdirSync(directory, { recursive: true });
    const file = new RunFile(path.join(directory, `${header.id}.jsonl`), onWriteError);
    fs.writeFileSync(file.path, `${JSON.stringify(header)}\n`, { flag: 'wx' });
    return file;
  }

  static open(filePath: string, onWriteError?: (error: Error) => void): RunFile {
    if (!fs.existsSync(filePath)) throw new Error(`Run file not found: ${filePath}`);
    if (!fs.statSync(filePath).isFile()) throw new Error(`${filePath} is not a run file (not a regular file).`);
    return new RunFile(filePath, onWriteError);
  }

  /**
   * Makes the file safe to append to: a crash mid-write leaves a torn last line, and a record appended
   * after it would be glued onto it and lost. Ends the torn line (it stays, and is skipped as corrupt).
   * Returns whether a repair was needed.
   */
  repair(): boolean {
    const size = fs.statSync(this.path).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    const handle = fs.openSync(this.path, 'r');
    try {
      fs.readSync(handle, last, 0, 1, size - 1);
    } finally {
      fs.closeSync(handle);
    }
    if (last[0] === 0x0a) return false;
    fs.appendFileSync(this.path, '\n');
    return true;
  }

  append(record: CompletionRecord | AdjustmentRecord | EndRecord | BatchRecord | NodeRecord): void {
    const line = `${JSON.stringify(record)}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  /** Writes what is buffered; resolves once it is in the file (rejects if the file cannot be written). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length > 0) {
      const chunk = this.pending.join('');
      this.pending = [];
      this.pendingBytes = 0;
      this.writing = this.writing.then(async () => {
        if (this.failure) return;
        try {
          await fs.promises.appendFile(this.path, chunk);
        } catch (error) {
          this.failure = error instanceof Error ? error : new Error(String(error));
          this.onWriteError?.(this.failure);
        }
      });
    }
    return this.writing.then(() => {
      if (this.failure) throw new Error(`the run file ${this.path} could not be written: ${this.failure.message}`);
    });
  }

  /** Writes everything buffered: call it before the run file is read or the run is reported done. */
  close(): Promise<void> {
    return this.flush();
  }

  read(): ParsedRunFile {
    return parseRunFile(fs.readFileSync(this.path, 'utf8'), this.path);
  }
}

/** A line of a run file that was not read, and why. */
export interface SkippedLine {
  line: number;
  reason: string;
}

export interface ParsedRunFile {
  header: RunHeader;
  completions: CompletionRecord[];
  /** Settings not sent as the file asked; absent from files written before they were recorded. */
  adjustments?: AdjustmentRecord[];
  end?: EndRecord;
  /** Batch API runs: their batches as submitted and finished, in order; absent from other runs. */
  batches?: BatchRecord[];
  /** Reasoning shapes: each request of each chain, in order; absent from other runs. */
  nodes?: NodeRecord[];
  /** The last verdicts record: absent until a session scored the run (and in files written before they were). */
  verdicts?: VerdictsRecord;
  /** Lines that could not be read: a crash can cut the last line short, an editor can mangle any. */
  skipped: SkippedLine[];
}

/** Why a parsed JSON value is not a usable completion record, or undefined when it is one. */
function completionProblem(record: Record<string, unknown>): string | undefined {
  if (typeof record.variant !== 'string') return 'no variant';
  if (typeof record.caseId !== 'string') return 'no case id';
  if (typeof record.sample !== 'number' || !Number.isInteger(record.sample) || record.sample < 0) return 'no sample index';
  if (typeof record.text !== 'string') return 'no text';
  const usage = record.usage as Record<string, unknown> | null | undefined;
  if (typeof usage !== 'object' || usage === null || typeof usage.promptTokens !== 'number' || typeof usage.completionTokens !== 'number')
    return 'no token usage';
  if (typeof record.latencyMs !== 'number') return 'no latency';
  if (typeof record.finishReason !== 'string') return 'no finish reason';
  if (record.error !== undefined && typeof record.error !== 'string') return 'an error that is not text';
  return undefined;
}

export function parseRunFile(content: string, name = 'run file'): ParsedRunFile {
  let header: RunHeader | undefined;
  let legacy = false;
  const completions: CompletionRecord[] = [];
  const adjustments: AdjustmentRecord[] = [];
  const batches: BatchRecord[] = [];
  const nodes: NodeRecord[] = [];
  const skipped: SkippedLine[] = [];
  let end: EndRecord | undefined;
  let verdicts: VerdictsRecord | undefined;
  let lineNumber = 0;
  for (const line of content.split('\n')) {
    lineNumber++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped.push({ line: lineNumber, reason: 'not JSON (a torn or edited line)' });
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      skipped.push({
        line: lineNumber,
        reason: `not a record (${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`,
      });
      continue;
    }
    const record = value as Record<string, unknown>;
    if (record.type === 'run' && header === undefined && lineNumber === 1) {
      const schema = record.schema;
      if (schema !== RUN_FILE_SCHEMA && schema !== RUN_FILE_SCHEMA_V1)
        throw new Error(`${name}: unsupported run file schema ${JSON.stringify(schema)} (expected ${RUN_FILE_SCHEMA}).`);
      legacy = schema === RUN_FILE_SCHEMA_V1;
      header = { ...(record as unknown as RunHeader), schema: RUN_FILE_SCHEMA };
    } else if (record.type === 'completion') {
      if (legacy && record.caseId === undefined) record.caseId = record.case;
      delete record.case;
      const problem = completionProblem(record);
      if (problem) skipped.push({ line: lineNumber, reason: `a completion with ${problem}` });
      else completions.push(record as unknown as CompletionRecord);
      // Chains after the verdicts (a resumed run not scored again) make them stale.
      verdicts = undefined;
    } else if (record.type === 'adjustment' && typeof record.parameter === 'string' && typeof record.message === 'string') {
      adjustments.push(record as unknown as AdjustmentRecord);
    } else if (record.type === 'end' && typeof record.status === 'string') {
      end = record as unknown as EndRecord;
    } else if (record.type === 'verdicts' && isVerdicts(record)) {
      verdicts = record;
    } else if (
      record.type === 'batch' &&
      typeof record.batchId === 'string' &&
      (record.event === 'submitted' || record.event === 'finished')
    ) {
      batches.push(record as unknown as BatchRecord);
    } else if (
      record.type === 'node' &&
      typeof record.variant === 'string' &&
      typeof record.caseId === 'string' &&
      typeof record.sample === 'number' &&
      typeof record.request === 'string' &&
      Array.isArray(record.outputs)
    ) {
      nodes.push(record as unknown as NodeRecord);
    } else {
      skipped.push({ line: lineNumber, reason: `an unknown record type ${JSON.stringify(record.type)}` });
    }
  }
  if (!header) throw new Error(`${name}: no run header on its first line; is this a Chainscope run file?`);
  return {
    header,
    completions,
    ...(adjustments.length > 0 ? { adjustments } : {}),
    ...(batches.length > 0 ? { batches } : {}),
    ...(nodes.length > 0 ? { nodes } : {}),
    ...(end ? { end } : {}),
    ...(verdicts ? { verdicts } : {}),
    skipped,
  };
}

function isVerdicts(record: Record<string, unknown>): record is Record<string, unknown> & VerdictsRecord {
  const pass = record.pass as Record<string, unknown> | null | undefined;
  return (
    Array.isArray(record.accuracy) &&
    typeof pass === 'object' &&
    pass !== null &&
    Object.values(pass).every((marks) => typeof marks === 'string')
  );
}

/** The verdicts record of a scored result (its cells in header order: variants, then cases). */
export function verdictsRecord(
  header: Pick<RunHeader, 'variants' | 'cases'>,
  result: { variants: { name: string; majorityVote: { value: number; trials: number } }[] },
  cells: readonly { variant: string; caseId: string; majorityPass: boolean; chains: readonly unknown[] }[],
  now = new Date(),
): VerdictsRecord {
  const marks = new Map<CellKey, string>();
  for (const cell of cells) marks.set(cellKey(cell.variant, cell.caseId), cell.chains.length === 0 ? '-' : cell.majorityPass ? '1' : '0');
  const pass: Record<string, string> = {};
  for (const variant of header.variants) pass[variant] = header.cases.map((caseId) => marks.get(cellKey(variant, caseId)) ?? '-').join('');
  return {
    type: 'verdicts',
    at: now.toISOString(),
    accuracy: result.variants.map((variant) => ({
      variant: variant.name,
      value: variant.majorityVote.value,
      cases: variant.majorityVote.trials,
    })),
    pass,
  };
}

/** "2 lines skipped (line 3: not JSON …; line 7: a completion with no text)", for warnings. */
export function describeSkipped(skipped: readonly SkippedLine[]): string {
  const shown = skipped
    .slice(0, 3)
    .map((entry) => `line ${entry.line}: ${entry.reason}`)
    .join('; ');
  const more = skipped.length > 3 ? `; and ${skipped.length - 3} more` : '';
  return `${skipped.length} unreadable line${skipped.length === 1 ? '' : 's'} skipped (${shown}${more})`;
}

/** The run files of a folder, newest first (by modification time). */
function runFilesNewestFirst(directory: string, except?: string): string[] {
  if (!fs.existsSync(directory)) return [];
  return fs
    .readdirSync(directory)
    .filter((name) => name.endsWith('.jsonl'))
    .map((name) => path.join(directory, name))
    .filter((file) => file !== except)
    .map((file) => ({ file, mtime: fs.statSync(file).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime)
    .map(({ file }) => file);
}

/** A run file's header, read from its first line only; undefined when the file is no run file. */
export function headerOf(file: string): RunHeader | undefined {
  try {
    const header = JSON.parse(readFirstLine(file)) as RunHeader;
    return header.type === 'run' ? header : undefined;
  } catch {
    return undefined; // not a run file
  }
}

/** The newest run file of a prompt in a folder, for "compare with the previous run". */
export function latestRunFile(directory: string, promptFile: string, except?: string): string | undefined {
  // A shard holds part of the cases: a comparison with it would be of those only.
  return runFilesNewestFirst(directory, except).find((file) => {
    const header = headerOf(file);
    return header?.promptFile === promptFile && !header.shard;
  });
}

/** An earlier run as a picker lists it: its header's facts and, when stored, its accuracy. */
export interface RunListing {
  file: string;
  id: string;
  startedAt: string;
  model: string;
  cases: number;
  variants: string[];
  samples: number;
  /** Majority-vote accuracy per variant, from the verdicts record at the file's end (absent: not stored). */
  accuracy?: VerdictsRecord['accuracy'];
}

/**
 * The runs of a prompt in a folder, newest first, at most `limit`: each file's first line and, for the
 * accuracy, its last one only (run files of big runs are large and are never read whole to be listed).
 */
export function listRunFiles(directory: string, promptFile: string, options: { except?: string; limit?: number } = {}): RunListing[] {
  const listed: RunListing[] = [];
  for (const file of runFilesNewestFirst(directory, options.except)) {
    if (listed.length >= (options.limit ?? 50)) break;
    const header = headerOf(file);
    if (header?.promptFile !== promptFile) continue;
    const verdicts = lastVerdicts(file);
    listed.push({
      file,
      id: header.id,
      startedAt: header.startedAt,
      model: `${header.backend.id}:${header.backend.model}`,
      cases: header.cases.length,
      variants: header.variants,
      samples: header.samples,
      ...(verdicts ? { accuracy: verdicts.accuracy } : {}),
    });
  }
  return listed;
}

/**
 * The verdicts record when it is the file's last line (read from the end: one line of ~1 byte a cell), so a
 * big run is compared without parsing its chains. Undefined when chains follow it (a resume not scored yet).
 */
export function lastVerdicts(file: string, limit = 1 << 18): VerdictsRecord | undefined {
  const handle = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(handle).size;
    const length = Math.min(limit, size);
    const buffer = Buffer.alloc(length);
    fs.readSync(handle, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').trimEnd().split('\n');
    const last = lines[lines.length - 1] ?? '';
    if (!last.startsWith('{"type":"verdicts"')) return undefined;
    const record = JSON.parse(last) as Record<string, unknown>;
    return isVerdicts(record) ? record : undefined;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(handle);
  }
}

/** The header line of a run file without reading the rest (run files of big runs are large). */
function readFirstLine(file: string, limit = 1 << 20): string {
  const handle = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(limit, fs.fstatSync(handle).size));
    const read = fs.readSync(handle, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, read).toString('utf8').split('\n', 1)[0] ?? '';
  } finally {
    fs.closeSync(handle);
  }
}
