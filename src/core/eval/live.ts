import type { Case, PromptDocument } from '../prompt/types';
import { inputPreview } from './caseInput';
import { summarizeCellBrief, type CellSummary, type RunOverview } from './cellSummary';
import {
  judgeOfRun,
  replacesRecord,
  scoreChain,
  summarizeCellChains,
  summarizeOverview,
  summarizeRun,
  VariantTotals,
  type CellResult,
  type ChainResult,
  type CustomScores,
  type Prices,
  type RunResult,
  finishResult,
} from './results';
import type { AdjustmentRecord, CompletionRecord, EndRecord, ParsedRunFile, RunHeader } from './store';

/** One cell as it grows: its latest record and scored chain per sample, its summary (once asked for or touched). */
interface LiveCell {
  records: Map<number, CompletionRecord>;
  /** Scored once per record, so a record costs one extraction, not one per chain of its cell. */
  chains: Map<number, ChainResult>;
  result?: CellResult;
  /** The summary whose contribution the variant's totals hold. */
  counted?: CellResult;
}

/**
 * The summary of a run that grows one record at a time. `add` scores the record's chain and marks its
 * cell; the next read re-summarizes each marked cell once and moves its variant's running totals by the
 * difference. So a record costs O(1) amortized (a cell's 16 chains arriving together are voted on once,
 * not 16 times) and the overview O(variants × samples), however many cells the run has: a big run (80,000
 * chains) never re-scores the whole run on an update. The result equals `summarizeRun` on the same
 * records (floats to rounding).
 */
export class LiveSummary {
  private readonly casesById: Map<string, Case>;
  /** Case id → row (its index in the header), variant → column. */
  private readonly rows = new Map<string, number>();
  private readonly columns = new Map<string, number>();
  /** Each row's inputPreview, made once: every variant's summaries and every live update reuse it. */
  private readonly previews: (string | undefined)[] = [];
  /** By index column × cases + row; only cells touched or asked for are there. */
  private readonly cells = new Map<number, LiveCell>();
  private readonly totals: VariantTotals[];
  private readonly changed = new Set<number>();
  /** Cells with records their summary does not hold yet. */
  private readonly stale = new Set<number>();
  private end: EndRecord | undefined;
  private adjustments: readonly AdjustmentRecord[] | undefined;

  constructor(
    private readonly document: PromptDocument,
    private readonly cases: readonly Case[],
    private readonly header: RunHeader,
    private readonly prices?: Prices,
  ) {
    this.casesById = new Map(cases.map((testCase) => [testCase.id, testCase]));
    // Case ids and variant names are unique in a run's header.
    header.cases.forEach((caseId, row) => this.rows.set(caseId, row));
    header.variants.forEach((variant, column) => this.columns.set(variant, column));
    this.totals = header.variants.map(() => new VariantTotals(header.samples));
  }

  /** A summary of a run file's records so far, with its end and adjustments. */
  static fromRun(document: PromptDocument, cases: readonly Case[], run: Readonly<ParsedRunFile>, prices?: Prices): LiveSummary {
    const summary = new LiveSummary(document, cases, run.header, prices);
    for (const record of run.completions) summary.add(record);
    summary.setEnd(run.end);
    summary.setAdjustments(run.adjustments);
    return summary;
  }

  /**
   * Takes a record in: a later record of a sample replaces an earlier failure, never a success. Its cell
   * is summarized again at the next read. Records outside the run's variants and cases are ignored, as
   * summarizeRun ignores them.
   */
  add(record: CompletionRecord): void {
    const column = this.columns.get(record.variant);
    const row = this.rows.get(record.caseId);
    if (column === undefined || row === undefined) return;
    const index = column * this.header.cases.length + row;
    let cell = this.cells.get(index);
    if (!cell) {
      cell = { records: new Map(), chains: new Map() };
      this.cells.set(index, cell);
    }
    if (!replacesRecord(cell.records.get(record.sample), record)) return;
    cell.records.set(record.sample, record);
    cell.chains.set(record.sample, scoreChain(this.document, this.casesById.get(record.caseId), record));
    this.stale.add(index);
    this.changed.add(index);
  }

  /** Re-summarizes the cells that took records since the last read, and moves their variants' totals. */
  private settle(): void {
    for (const index of this.stale) {
      const cell = this.cells.get(index) as LiveCell;
      const column = Math.floor(index / this.header.cases.length);
      const after = this.summarize(this.header.variants[column] as string, this.header.cases[this.rowOf(index)] as string, cell);
      const totals = this.totals[column] as VariantTotals;
      // Attacked copies of cases are no accuracy cases (summarizeRun leaves them out too).
      if (this.casesById.get(after.caseId)?.attack) {
        if (cell.counted) totals.addAttacked(cell.counted, -1);
        totals.addAttacked(after);
      } else {
        if (cell.counted) totals.add(cell.counted, -1);
        totals.add(after);
      }
      cell.counted = after;
      cell.result = after;
    }
    this.stale.clear();
  }

  setEnd(end: EndRecord | undefined): void {
    this.end = end;
  }

  setAdjustments(adjustments: readonly AdjustmentRecord[] | undefined): void {
    this.adjustments = adjustments;
  }

  /** Everything but the cells, from the running totals: O(variants × samples), no cell or record is read. */
  overview(): RunOverview {
    this.settle();
    return summarizeOverview(this.document, this.header, this.end, this.adjustments, this.totals, this.prices);
  }

  /**
   * The cells changed since the last call, without their chains (each once, in the order first changed):
   * at most `limit` of them, the rest kept for the next call.
   */
  changedCells(limit = Infinity): CellSummary[] {
    this.settle();
    const briefs: CellSummary[] = [];
    for (const index of this.changed) {
      if (briefs.length >= limit) break;
      briefs.push(this.brief(index));
      this.changed.delete(index);
    }
    return briefs;
  }

  /** Every cell without its chains, in result order (a view that loads afresh); leaves `changedCells` as it is. */
  allCells(): CellSummary[] {
    this.settle();
    const briefs: CellSummary[] = [];
    for (let index = 0; index < this.size; index++) briefs.push(this.brief(index));
    return briefs;
  }

  /** One cell with its chains (a cell the user opens); undefined outside the run. Shared: do not change it. */
  cell(variant: string, caseId: string): CellResult | undefined {
    const column = this.columns.get(variant);
    const row = this.rows.get(caseId);
    this.settle();
    return column === undefined || row === undefined ? undefined : this.cellAt(column * this.header.cases.length + row);
  }

  /**
   * The whole result, cells in summarizeRun's order (variants, then cases, as in the header); its cells are
   * shared with this summary. With a custom scorer's scores the cells are scored again from scratch.
   */
  result(customScores?: CustomScores): RunResult {
    if (customScores && this.document.scorer.type === 'custom')
      return summarizeRun(this.document, this.cases, this.runFile(), this.prices, customScores);
    this.settle();
    const cells: CellResult[] = [];
    // Totals summed afresh in cell order, as summarizeRun sums them: the running totals' sums depend on the
    // order chains arrived in, and the final numbers must not (a merge of shards gives the same to the bit).
    const totals = this.header.variants.map(() => new VariantTotals(this.header.samples));
    for (let index = 0; index < this.size; index++) {
      const cell = this.cellAt(index);
      const column = totals[Math.floor(index / this.header.cases.length)] as VariantTotals;
      if (this.casesById.get(cell.caseId)?.attack) column.addAttacked(cell);
      else column.add(cell);
      cells.push(cell);
    }
    const overview = summarizeOverview(this.document, this.header, this.end, this.adjustments, totals, this.prices);
    const records = [...this.cells.values()].flatMap((cell) => [...cell.records.values()]);
    const judge = judgeOfRun(
      this.document,
      this.casesById,
      records,
      this.header.judgeModel ?? `${overview.backend.id}:${overview.backend.model}`,
    );
    return finishResult({ ...overview, ...(judge ? { judge } : {}), cells }, this.document, this.cases, this.header);
  }

  /** The latest record of every sample, as a run file (what summarizeRun would keep of the original). */
  private runFile(): ParsedRunFile {
    const completions: CompletionRecord[] = [];
    for (let index = 0; index < this.size; index++) completions.push(...(this.cells.get(index)?.records.values() ?? []));
    return {
      header: this.header,
      completions,
      ...(this.adjustments ? { adjustments: [...this.adjustments] } : {}),
      ...(this.end ? { end: this.end } : {}),
      skipped: [],
    };
  }

  private brief(index: number): CellSummary {
    const cell = this.cellAt(index);
    const row = this.rowOf(index);
    const preview = (this.previews[row] ??= inputPreview(cell.input));
    return summarizeCellBrief(cell, row, preview);
  }

  private get size(): number {
    return this.header.variants.length * this.header.cases.length;
  }

  private rowOf(index: number): number {
    return index % this.header.cases.length;
  }

  /** The cell's summary; an untouched cell's (no chains) is made once and kept. */
  private cellAt(index: number): CellResult {
    let cell = this.cells.get(index);
    if (!cell) {
      cell = { records: new Map(), chains: new Map() };
      this.cells.set(index, cell);
    }
    if (!cell.result) {
      const variant = this.header.variants[Math.floor(index / this.header.cases.length)] as string;
      cell.result = this.summarize(variant, this.header.cases[this.rowOf(index)] as string, cell);
    }
    return cell.result;
  }

  private summarize(variant: string, caseId: string, cell: LiveCell): CellResult {
    const chains = [...cell.chains.values()].sort((a, b) => a.sample - b.sample);
    const { document, header } = this;
    return summarizeCellChains(
      document,
      variant,
      caseId,
      this.casesById.get(caseId),
      chains,
      header.samples,
      header.promptFile,
      header.stop,
    );
  }
}
