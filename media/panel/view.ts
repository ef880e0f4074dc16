// The results view: the header, the per-variant table and maj@k chart (fed by the run's overview), the
// virtualized matrix (fed by cell summaries) and the cell drawer (fed by cells fetched on demand).
// Each part is redrawn only when what it shows changes, at most once per animation frame.
// Model output and case data are only ever set as text (the h() helper), never parsed as HTML.
import uPlot from 'uplot';
import type { Accuracy, CellResult, VariantSummary } from '../../src/core/eval/results';
import { ALPHA, formatP, type PairComparison } from '../../src/core/eval/paired';
import { cellKey } from '../../src/core/eval/keys';
import { SHAPE_KINDS } from '../../src/core/prompt/types';
import { comparisonDifferences, describeSignificance, formatDelta, type VariantComparison } from '../../src/core/eval/compare';
import {
  MAX_HIDDEN_COLUMNS,
  MAX_HIDDEN_KEY,
  STALE_AFTER_MS,
  type CellPrompt,
  type CellSummary,
  type PanelComparison,
  type PanelRun,
  type RunChoice,
  type RunOverview,
  type RunProgress,
  type SavedPanelState,
  type ToWebview,
} from '../../src/shared/protocol';
import { columnChooser, describeInterval, formatDuration, h, percent } from './dom';
import { Drawer } from './drawer';
import { costAccuracyChart } from './costAccuracy';
import { judgeSection, securitySection } from './security';
import { Matrix, isFilterKey, isSortKey, type MatrixControls } from './matrix';

export { describeInterval, h } from './dom';

/** The least time between two fetches of the open cell while its chains keep coming. */
const REFETCH_MS = 1000;
/** How often a live run's tables and charts are redrawn at most. */
const LIVE_OVERVIEW_MS = 3000;
const CACHED_CELLS = 50;

/** A theme colour made translucent for the maj@k bands; hex and rgb() colours, otherwise a neutral grey. */
function translucent(colour: string, alpha: number): string {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(colour)?.[1];
  if (hex) {
    const full = hex.length === 3 ? [...hex].map((digit) => digit + digit).join('') : hex;
    const [r, g, b] = [0, 2, 4].map((at) => parseInt(full.slice(at, at + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  const rgb = /^rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)/i.exec(colour);
  return rgb ? `rgba(${rgb[1]}, ${rgb[2]}, ${rgb[3]}, ${alpha})` : `rgba(128, 128, 128, ${alpha})`;
}

const SERIES_COLOURS = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
];

function themeColour(variable: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(variable).trim();
  return value || fallback;
}

export interface ViewCallbacks {
  onReveal?: (file: string, line: number) => void;
  onExport?: (format: 'csv' | 'json' | 'html') => void;
  /** Cancels the live run (the panel only; the report has no run to cancel). */
  onCancel?: (runId: string) => void;
  /** Asks for a cell's chains: the answer comes back as a `cell` message. */
  onOpenCell: (runId: string, variant: string, caseId: string) => void;
  /** Asks for a cell's rendered prompt (a `prompt` message answers); absent in the report, which has no prompt file. */
  onShowPrompt?: (runId: string, variant: string, caseId: string) => void;
  /** What to keep across reloads of the view: small whatever the run's size. */
  onSaveState?: (state: SavedPanelState) => void;
  /** The run picker: compare the run shown with an earlier one (the panel only). */
  onCompareWith?: (runId: string, previousRunId: string) => void;
}

export interface ViewOptions {
  /** The standalone HTML report: a snapshot, no live session behind it. */
  report?: boolean;
  /** What a previous instance of the view saved. */
  saved?: SavedPanelState;
}

/** What a cell summary says that changes as its chains come in: when it changes, the open cell is fetched again. */
function signature(cell: CellSummary | undefined): string {
  return cell ? `${cell.chains}/${cell.passing}/${cell.errors}/${cell.invalid}/${cell.missing}/${cell.majority ?? ''}` : '';
}

/** Only the small fields of a saved state: an older view kept the whole run there, which must not be carried on. */
function sanitize(saved: unknown): SavedPanelState {
  if (typeof saved !== 'object' || saved === null) return {};
  const value = saved as Record<string, unknown>;
  const text = (key: string): string | undefined => (typeof value[key] === 'string' ? value[key] : undefined);
  const selected = value.selected as { variant?: unknown; caseId?: unknown } | undefined;
  const state: SavedPanelState = {};
  for (const key of ['runId', 'runFile', 'sort', 'filter', 'search'] as const) {
    const field = text(key);
    if (field !== undefined) state[key] = field;
  }
  if (typeof selected?.variant === 'string' && typeof selected.caseId === 'string')
    state.selected = { variant: selected.variant, caseId: selected.caseId };
  if (Array.isArray(value.hidden)) {
    const hidden = value.hidden
      .filter((key): key is string => typeof key === 'string' && key.length <= MAX_HIDDEN_KEY)
      .slice(0, MAX_HIDDEN_COLUMNS);
    if (hidden.length > 0) state.hidden = hidden;
  }
  return state;
}

export class ResultsView {
  private run: PanelRun | undefined;
  /** Earlier runs of the prompt for the run picker (the panel; none in the report). */
  private runChoices: RunChoice[] = [];
  /** Cells received since the last `run` message, and the run whose final state was last marked drawn. */
  private finalCells = 0;
  private finalDrawn: string | undefined;
  private progress: RunProgress | undefined;
  private lost: string | undefined;
  private lastHeard = 0;
  private chart: uPlot | undefined;
  private overviewFrame: number | undefined;
  private overviewTimer: ReturnType<typeof setTimeout> | undefined;
  private lastOverviewDraw = 0;
  private readonly headerSlot: HTMLElement;
  private readonly summarySlot: HTMLElement;
  private readonly chartSection: HTMLElement;
  private readonly chartContainer: HTMLElement;
  /** Accuracy against cost, one point per variant (inside the chart section, under maj@k). */
  private readonly costSlot = h('div', { class: 'contents' });
  private readonly placeholder: HTMLElement;
  private readonly header: HTMLElement;
  private readonly title = h('h1');
  private readonly metaText = h('span');
  private readonly statusElement = h('span', { class: 'status', 'data-testid': 'run-status', role: 'status' });
  private readonly cancelButton = h(
    'button',
    { type: 'button', class: 'cancel', 'data-testid': 'run-cancel', hidden: true },
    'Cancel',
  ) as HTMLButtonElement;
  private readonly metaElement = h(
    'p',
    { class: 'meta', 'data-testid': 'run-meta' },
    this.metaText,
    this.statusElement,
    ' ',
    this.cancelButton,
  );
  private readonly progressBar = h('progress', {
    class: 'run-progress',
    'data-testid': 'run-progress',
    'aria-label': 'Chains done',
    hidden: true,
  }) as HTMLProgressElement;
  private readonly coverageSlot = h('div', { class: 'contents' });
  private readonly adjustmentsSlot = h('div', { class: 'contents' });
  private chartKey = '';
  private readonly matrix: Matrix;
  private readonly drawer: Drawer;
  /** Cells fetched, with the summary signature they answered. */
  private readonly cells = new Map<string, { cell: CellResult; signature: string }>();
  /** Rendered prompts fetched (they do not change while a run goes), and the one asked for last. */
  private readonly prompts = new Map<string, CellPrompt>();
  private promptRequested: string | undefined;
  private open: { variant: string; caseId: string } | undefined;
  private requested: { key: string; at: number; signature: string } | undefined;
  private refetchTimer: ReturnType<typeof setTimeout> | undefined;
  private saved: SavedPanelState;
  private readonly tableChooser = columnChooser('table-columns', (key, shown) => this.setTableColumn(key, shown));
  private chartWidth = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly callbacks: ViewCallbacks,
    private readonly options: ViewOptions = {},
  ) {
    this.saved = sanitize(options.saved);
    this.headerSlot = h('div', { class: 'header-slot' });
    this.placeholder = h('p', { class: 'empty', role: 'status' }, 'Loading the run…');
    this.header = this.buildHeader();
    this.header.hidden = true;
    this.headerSlot.append(this.placeholder, this.header);
    this.summarySlot = h('div', { class: 'summary-slot' });
    this.chartContainer = h('div', {
      id: 'majk-chart',
      'data-testid': 'majk-chart',
      title: 'Shaded: 95% interval of each curve, clustered by case',
    });
    this.chartSection = h(
      'section',
      { class: 'chart-section', 'aria-label': 'Majority vote accuracy against the number of chains, 95% intervals shaded', hidden: true },
      h('h2', {}, 'maj@k — accuracy of the majority vote of k chains'),
      this.chartContainer,
    );
    this.chartSection.append(this.costSlot);
    if (typeof ResizeObserver !== 'undefined') {
      let frame: number | undefined;
      new ResizeObserver(() => {
        if (frame === undefined)
          frame = requestAnimationFrame(() => {
            frame = undefined;
            this.resizeChart();
          });
      }).observe(this.chartContainer);
    }
    this.matrix = new Matrix({
      onOpen: (variant, caseId) => this.openCell(variant, caseId, true),
      onControls: (controls) => this.save({ sort: controls.sort, filter: controls.filter, search: controls.search }),
      onDrawn: () => this.noteDrawn(),
      onColumn: (key, shown) => this.setHidden(`matrix:${key}`, shown),
      ...(callbacks.onReveal ? { onReveal: callbacks.onReveal } : {}),
    });
    this.matrix.element.hidden = true;
    const controls: Partial<MatrixControls> = {};
    if (isSortKey(this.saved.sort)) controls.sort = this.saved.sort;
    if (isFilterKey(this.saved.filter)) controls.filter = this.saved.filter;
    if (typeof this.saved.search === 'string') controls.search = this.saved.search;
    this.matrix.setControls(controls);
    this.matrix.setHidden((this.saved.hidden ?? []).filter((key) => key.startsWith('matrix:')).map((key) => key.slice(7)));
    this.drawer = new Drawer({
      onClose: () => this.closeCell(),
      onSwitch: (variant) => this.open && this.openCell(variant, this.open.caseId, false),
      ...(callbacks.onReveal ? { onReveal: callbacks.onReveal } : {}),
      ...(callbacks.onShowPrompt ? { onShowPrompt: () => this.requestPrompt() } : {}),
    });
    this.root.replaceChildren(this.headerSlot, this.summarySlot, this.chartSection, this.matrix.element, this.drawer.element);
    this.root.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.drawer.isOpen) {
        event.preventDefault();
        this.closeCell();
      }
    });
    // Silence is news too: a live run that stops talking is shown as stalled.
    setInterval(() => this.renderStatus(), 1000);
  }

  /** One message from the extension (or, in the report, from the embedded results). */
  receive(message: ToWebview): void {
    if (message.type === 'run') {
      this.setRun(message.run);
      return;
    }
    if (!this.run || message.runId !== this.run.overview.runId) return;
    this.lastHeard = Date.now();
    switch (message.type) {
      case 'cells':
        this.setCells(message.cells);
        break;
      case 'progress':
        this.progress = message.progress;
        break;
      case 'cell':
        this.setCell(message.cell);
        break;
      case 'prompt': {
        const key = cellKey(message.variant, message.caseId);
        this.prompts.delete(key);
        this.prompts.set(key, message.prompt);
        while (this.prompts.size > CACHED_CELLS) this.prompts.delete(this.prompts.keys().next().value as string);
        if (this.promptRequested === key) this.promptRequested = undefined;
        if (this.open && cellKey(this.open.variant, this.open.caseId) === key) this.showDrawer();
        break;
      }
      case 'lost':
        this.lost = message.reason;
        break;
      case 'runs':
        this.runChoices = message.runs;
        this.scheduleOverview();
        break;
    }
    this.renderStatus();
  }

  /** Draws whatever waits for the next animation frame now (the report's first paint). */
  flush(): void {
    if (this.overviewFrame !== undefined) cancelAnimationFrame(this.overviewFrame);
    this.overviewFrame = undefined;
    clearTimeout(this.overviewTimer);
    this.overviewTimer = undefined;
    this.renderOverview();
    this.matrix.flush();
  }

  /**
   * Marks the moment a finished run is fully drawn (its overview and every cell sent after it) on the page,
   * as data-final-drawn-at (ms since the epoch): the bench times the panel's final render by it.
   */
  private noteDrawn(): void {
    const run = this.run;
    if (!run || run.live || this.finalCells < run.cellCount || this.finalDrawn === run.overview.runId) return;
    if (this.overviewFrame !== undefined || this.overviewTimer !== undefined || this.matrix.pending) return;
    this.finalDrawn = run.overview.runId;
    document.body.dataset.finalDrawnAt = String(Date.now());
  }

  private setRun(run: PanelRun): void {
    const runId = run.overview.runId;
    this.finalCells = 0;
    if (!run.live) document.body.dataset.finalReceivedAt = String(Date.now());
    const fresh = this.run?.overview.runId !== runId;
    this.run = run;
    this.lastHeard = Date.now();
    if (fresh) {
      this.progress = run.progress;
      this.lost = undefined;
      this.runChoices = [];
      this.cells.clear();
      this.requested = undefined;
      this.prompts.clear();
      this.promptRequested = undefined;
      this.matrix.reset();
      const restore = this.saved.runId === runId ? this.saved.selected : undefined;
      this.drawer.close();
      this.open = undefined;
      this.matrix.setSelected(undefined);
      this.save({ runId, runFile: run.overview.runFile, ...(restore ? {} : { selected: undefined }) });
      if (restore) this.openCell(restore.variant, restore.caseId, false);
    } else if (run.progress) {
      this.progress = run.progress;
    }
    this.matrix.setVariants(run.overview.variants.map((variant) => variant.name));
    this.matrix.element.hidden = false;
    this.chartSection.hidden = false;
    this.scheduleOverview();
  }

  private setCells(cells: readonly CellSummary[]): void {
    this.finalCells += cells.length;
    this.matrix.setCells(cells);
    const open = this.open;
    if (!open || !cells.some((cell) => cell.variant === open.variant && cell.caseId === open.caseId)) {
      if (open && cells.some((cell) => cell.caseId === open.caseId)) this.showDrawer(); // a sibling's mark changed
      return;
    }
    this.showDrawer();
    this.refetchIfChanged();
  }

  private setCell(cell: CellResult): void {
    const key = cellKey(cell.variant, cell.caseId);
    const asked = this.requested?.key === key ? this.requested.signature : signature(this.matrix.cell(cell.variant, cell.caseId));
    this.cells.delete(key);
    this.cells.set(key, { cell, signature: asked });
    while (this.cells.size > CACHED_CELLS) this.cells.delete(this.cells.keys().next().value as string);
    if (this.open && cellKey(this.open.variant, this.open.caseId) === key) {
      this.showDrawer();
      this.refetchIfChanged();
    }
  }

  private openCell(variant: string, caseId: string, focus: boolean): void {
    if (!this.run) return;
    this.open = { variant, caseId };
    this.matrix.setSelected(this.open);
    this.save({ selected: this.open });
    this.showDrawer();
    if (focus) this.drawer.focus();
    const cached = this.cells.get(cellKey(variant, caseId));
    if (!cached || cached.signature !== signature(this.matrix.cell(variant, caseId))) this.request();
  }

  private closeCell(): void {
    const open = this.open;
    this.open = undefined;
    clearTimeout(this.refetchTimer);
    this.refetchTimer = undefined;
    this.drawer.close();
    this.matrix.setSelected(undefined);
    this.save({ selected: undefined });
    if (open && !this.matrix.focusCell(open.variant, open.caseId)) this.matrix.element.querySelector<HTMLElement>('.cell')?.focus();
  }

  private showDrawer(): void {
    if (!this.open) return;
    const { variant, caseId } = this.open;
    this.drawer.show({
      variant,
      caseId,
      summary: this.matrix.cell(variant, caseId),
      siblings: this.matrix.caseCells(caseId),
      cell: this.cells.get(cellKey(variant, caseId))?.cell,
      prompt: this.prompts.get(cellKey(variant, caseId)),
    });
    if (this.drawer.promptOpen) this.requestPrompt();
  }

  /** Asks for the open cell's rendered prompt, once, unless it is here. */
  private requestPrompt(): void {
    if (!this.run || !this.open || !this.callbacks.onShowPrompt) return;
    const { variant, caseId } = this.open;
    const key = cellKey(variant, caseId);
    if (this.prompts.has(key) || this.promptRequested === key) return;
    this.promptRequested = key;
    this.callbacks.onShowPrompt(this.run.overview.runId, variant, caseId);
  }

  /** Asks for the open cell's chains again when its summary moved on since they were asked for: at most once a second. */
  private refetchIfChanged(): void {
    if (!this.open || this.refetchTimer !== undefined) return;
    const key = cellKey(this.open.variant, this.open.caseId);
    const now = signature(this.matrix.cell(this.open.variant, this.open.caseId));
    const cached = this.cells.get(key);
    if (this.requested?.key === key && this.requested.signature === now) return; // asked already, answer on its way
    if (cached && cached.signature === now) return;
    const wait = this.requested ? this.requested.at + REFETCH_MS - Date.now() : 0;
    if (wait <= 0) this.request();
    else
      this.refetchTimer = setTimeout(() => {
        this.refetchTimer = undefined;
        this.refetchIfChanged();
      }, wait);
  }

  private request(): void {
    if (!this.run || !this.open) return;
    const { variant, caseId } = this.open;
    this.requested = { key: cellKey(variant, caseId), at: Date.now(), signature: signature(this.matrix.cell(variant, caseId)) };
    this.callbacks.onOpenCell(this.run.overview.runId, variant, caseId);
  }

  private save(change: Partial<SavedPanelState>): void {
    const next: SavedPanelState = { ...this.saved, ...change };
    for (const key of Object.keys(next) as (keyof SavedPanelState)[]) if (next[key] === undefined) delete next[key];
    this.saved = next;
    this.callbacks.onSaveState?.(next);
  }

  private scheduleOverview(): void {
    // A finished run is not kept waiting behind a live run's pacing.
    if (this.overviewTimer !== undefined && !this.run?.live) {
      clearTimeout(this.overviewTimer);
      this.overviewTimer = undefined;
    }
    if (this.overviewFrame !== undefined || this.overviewTimer !== undefined) return;
    const draw = (): void => {
      this.overviewFrame = requestAnimationFrame(() => {
        this.overviewFrame = undefined;
        this.lastOverviewDraw = Date.now();
        this.renderOverview();
      });
    };
    // While a run goes on, the tables and charts move every few seconds at most: each redraw lays the page
    // out again, and on a small machine that is time the editor beside it waits for. The status line and
    // the matrix follow every message; a finished run is drawn at once.
    const wait = this.run?.live ? LIVE_OVERVIEW_MS - (Date.now() - this.lastOverviewDraw) : 0;
    if (wait <= 0) draw();
    else
      this.overviewTimer = setTimeout(() => {
        this.overviewTimer = undefined;
        draw();
      }, wait);
  }

  private renderOverview(): void {
    const run = this.run;
    if (!run) return;
    const { overview } = run;
    this.placeholder.hidden = true;
    this.header.hidden = false;
    this.updateHeader(overview, run);
    this.noteDrawn();
    this.summarySlot.replaceChildren(
      this.cards(overview, run),
      this.summary(overview, run),
      ...pairsSection(overview.comparisons),
      ...securitySection(overview.security),
      ...judgeSection(overview.judge),
    );
    this.drawChart(overview);
    this.costSlot.replaceChildren(costAccuracyChart(overview) ?? '');
  }

  /** The run's status in one word (data-status) and in a sentence: never a run that looks alive when it is not. */
  private status(): { status: string; text: string } {
    const run = this.run;
    if (!run) return { status: 'none', text: '' };
    const { overview } = run;
    const kept = `finished chains are kept in ${overview.runFile}`;
    if (this.lost !== undefined) return { status: 'lost', text: `lost — ${this.lost}; ${kept}` };
    if (overview.status === 'running' && !run.live) {
      return this.options.report
        ? {
            status: 'unfinished',
            text: `unfinished when this report was written — ${overview.coverage.finished} of ${overview.coverage.expected} chains`,
          }
        : { status: 'interrupted', text: `interrupted — the run stopped without finishing (the window was closed or reloaded); ${kept}` };
    }
    if (overview.status === 'running') {
      const silent = Date.now() - this.lastHeard;
      const progress = this.progress;
      if (silent > STALE_AFTER_MS) {
        const at = progress ? ` at ${progress.done}/${progress.total} chains` : '';
        return {
          status: 'stalled',
          text: `stalled${at} — no word from the run for ${Math.round(silent / 1000)} s: the extension host may have stopped; ${kept}`,
        };
      }
      if (!progress) return { status: 'running', text: 'running' };
      const parts = [`running — ${progress.done}/${progress.total} chains`];
      if (progress.failed > 0) parts.push(`${progress.failed} failed`);
      if (progress.etaMs !== undefined && progress.done < progress.total) parts.push(`about ${formatDuration(progress.etaMs)} left`);
      const pacedMs = (progress.pacedUntil ?? 0) - Date.now();
      if (pacedMs > 0) parts.push(`paced by rate limit: ${(pacedMs / 1000).toFixed(1)} s`);
      return { status: 'running', text: parts.join(' · ') };
    }
    return { status: overview.status, text: overview.status };
  }

  private renderStatus(): void {
    if (!this.run) return;
    const { status, text } = this.status();
    // A live run's progress and its Cancel button, in the header where the results grow.
    const running = status === 'running' || status === 'stalled';
    const progress = this.progress;
    this.progressBar.hidden = !running || !progress;
    if (running && progress) {
      this.progressBar.max = Math.max(1, progress.total);
      this.progressBar.value = progress.done;
    }
    const cancellable = running && this.run.live && this.callbacks.onCancel !== undefined;
    if (this.cancelButton.hidden === cancellable) this.cancelButton.hidden = !cancellable;
    if (!cancellable) {
      this.cancelButton.disabled = false;
      this.cancelButton.textContent = 'Cancel';
    }
    if (this.metaElement.dataset.status !== status) this.metaElement.dataset.status = status;
    if (this.statusElement.textContent !== text) this.statusElement.textContent = text;
    const cls = `status status-${status}`;
    if (this.statusElement.className !== cls) this.statusElement.className = cls;
  }

  /** The header is built once and updated in place, so a focused export button keeps its focus during a run. */
  private buildHeader(): HTMLElement {
    const actions = this.callbacks.onExport
      ? h(
          'div',
          { class: 'actions' },
          ...(['csv', 'json', 'html'] as const).map((format) => {
            const button = h('button', { type: 'button', 'data-export': format }, `Export ${format.toUpperCase()}`);
            button.addEventListener('click', () => this.callbacks.onExport?.(format));
            return button;
          }),
        )
      : null;
    this.cancelButton.addEventListener('click', () => {
      const runId = this.run?.overview.runId;
      if (runId === undefined) return;
      this.cancelButton.disabled = true;
      this.cancelButton.textContent = 'Cancelling…';
      this.callbacks.onCancel?.(runId);
    });
    return h('header', {}, this.title, this.metaElement, this.progressBar, this.coverageSlot, this.adjustmentsSlot, actions);
  }

  private updateHeader(result: RunOverview, run: PanelRun): void {
    const cases = result.variants.length > 0 ? Math.round(run.cellCount / result.variants.length) : 0;
    this.title.textContent = result.promptName ?? result.promptFile.split(/[\\/]/).pop() ?? 'Results';
    this.metaElement.dataset.runId = result.runId;
    this.metaText.textContent = `${result.backend.id}:${result.backend.model} · ${cases} cases × ${result.variants.length} variants × ${result.samples} chains · ${result.extract} → ${result.scorer} · `;
    this.coverageSlot.replaceChildren(this.coverage(result, run) ?? '');
    this.adjustmentsSlot.replaceChildren(this.adjustments(result) ?? '', this.endpoints(result) ?? '', this.batches(result) ?? '');
    this.renderStatus();
  }

  /** Why a run stopped, and which chains are missing, failed or replayed: an incomplete run never looks complete. */
  private coverage(result: RunOverview, state: PanelRun): HTMLElement | null {
    const { coverage } = result;
    const notes: string[] = [];
    if (coverage.failed > 0) notes.push(`${coverage.failed} of ${coverage.expected} chains failed`);
    if (coverage.missing > 0 && !state.live) notes.push(`${coverage.missing} never ran`);
    if (coverage.cached > 0) notes.push(`${coverage.cached} replayed from the cache`);
    // What the run's requests cost (every session of a resumed run), against its budget when it had one.
    if (result.spent !== undefined && (result.spent > 0 || result.budget !== undefined))
      notes.push(`spent $${money(result.spent)}${result.budget !== undefined ? ` of a $${money(result.budget)} budget` : ''}`);
    if (notes.length === 0 && result.error === undefined) return null;
    return h(
      'p',
      { class: 'coverage', 'data-testid': 'run-coverage' },
      ...(result.error !== undefined
        ? [h('span', { class: 'status-failed', 'data-testid': 'run-error' }, `Stopped: ${result.error}`), notes.length > 0 ? ' · ' : '']
        : []),
      notes.join(' · '),
    );
  }

  /** Settings not sent as the file asked (a reasoning model's fixed temperature, a field the server refused): once each. */
  private adjustments(result: RunOverview): HTMLElement | null {
    const messages = [...new Set((result.adjustments ?? []).map((adjustment) => adjustment.message))];
    if (messages.length === 0) return null;
    return h('p', { class: 'coverage', 'data-testid': 'run-adjustments' }, messages.join(' · '));
  }

  /** The headline numbers, one compact card per variant: what a narrow panel shows first. */
  private cards(result: RunOverview, state: PanelRun): HTMLElement {
    const previous = new Map(state.comparison?.variants.map((v) => [v.name, v]) ?? []);
    return h(
      'section',
      { class: 'cards-section', 'aria-label': 'Headline numbers per variant' },
      h(
        'div',
        { class: 'cards', 'data-testid': 'variant-cards' },
        ...result.variants.map((variant) => variantCard(variant, state.comparison ? previous.get(variant.name) : null)),
      ),
    );
  }

  /** A Batch API run's batches, by id (what the provider's dashboard and `--resume` know them by). */
  private batches(result: RunOverview): HTMLElement | null {
    const batches = result.batches ?? [];
    if (batches.length === 0) return null;
    const lines = batches.map((batch) => {
      const counts = [
        batch.requests !== undefined ? `${batch.requests} requests` : '',
        batch.completed !== undefined ? `${batch.completed} completed` : '',
        batch.failed ? `${batch.failed} failed` : '',
      ].filter(Boolean);
      return `${batch.id} ${batch.status === 'submitted' ? 'still open at the provider' : batch.status}${counts.length > 0 ? ` (${counts.join(', ')})` : ''}`;
    });
    return h('p', { class: 'coverage', 'data-testid': 'run-batches' }, `Batch API — ${lines.join(' · ')}`);
  }

  /** Each replica's requests (the CLI's results): shown with several endpoints, or when rate limits held requests back. */
  private endpoints(result: RunOverview): HTMLElement | null {
    const endpoints = result.endpoints ?? [];
    if (endpoints.length < 2 && !endpoints.some((entry) => entry.pacedMs > 0)) return null;
    const seconds = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
    const lines = endpoints.map((entry) => {
      const parts = [`${entry.requests} requests`, `${entry.failures} failed`];
      if (entry.meanLatencyMs !== undefined) parts.push(`mean ${seconds(entry.meanLatencyMs)}`);
      if (entry.pacedMs > 0) parts.push(`paced by rate limit ${seconds(entry.pacedMs)}`);
      if (entry.cooldowns) parts.push(`taken out ${entry.cooldowns}× after failing`);
      return `${entry.endpoint}: ${parts.join(', ')}`;
    });
    return h('p', { class: 'coverage', 'data-testid': 'run-endpoints' }, `endpoints — ${lines.join(' · ')}`);
  }

  /** The table's columns, by key (`table:<key>` in the saved hidden list); the variant's name always shows. */
  private tableColumns(result: RunOverview, state: PanelRun): TableColumn[] {
    const showScore = result.scorer === 'field-f1' || result.scorer === 'token-f1';
    const previous = new Map(state.comparison?.variants.map((v) => [v.name, v]) ?? []);
    return [
      { key: 'single', title: 'Single chain', cell: (variant) => h('td', {}, this.accuracyBar(variant, 'single')) },
      { key: 'majority', title: 'Majority vote', cell: (variant) => h('td', {}, this.accuracyBar(variant, 'majority')) },
      { key: 'majk', title: `maj@${result.samples}`, cell: (variant) => this.majAtKLast(variant) },
      {
        key: 'agreement',
        title: 'Agreement',
        cell: (variant) => h('td', { 'data-value': variant.meanAgreement }, percent(variant.meanAgreement)),
      },
      { key: 'entropy', title: 'Entropy', cell: (variant) => h('td', {}, variant.meanEntropy.toFixed(2)) },
      { key: 'invalid', title: 'Invalid', cell: (variant) => h('td', {}, percent(variant.invalidRate)) },
      ...(showScore
        ? [
            {
              key: 'f1',
              title: 'Mean F1',
              cell: (variant: VariantSummary) =>
                h(
                  'td',
                  {
                    'data-testid': 'mean-score',
                    'data-value': variant.meanScore,
                    title: describeInterval(variant.meanScoreInterval, 'score'),
                  },
                  variant.meanScore.toFixed(3),
                  h('span', { class: 'ci' }, ` [${variant.meanScoreInterval.low.toFixed(3)}–${variant.meanScoreInterval.high.toFixed(3)}]`),
                ),
            },
          ]
        : []),
      {
        key: 'tokens',
        title: 'Tokens',
        tip: 'Prompt + output tokens of all cases: every request, a reasoning shape’s many requests included',
        cell: (variant) =>
          h(
            'td',
            variant.reasoningTokens > 0 ? { title: `${variant.reasoningTokens} of them reasoning (billed as output)` } : {},
            (variant.promptTokens + variant.completionTokens).toLocaleString('en-US'),
          ),
      },
      {
        key: 'perCase',
        title: 'Per case',
        tip: 'Tokens (and cost, when priced) per case: all its chains, every request a reasoning shape made included',
        cell: perCaseCell,
      },
      {
        key: 'perCorrect',
        title: 'Per ✓',
        tip: 'Tokens (and cost, when priced) per case the majority vote gets right',
        cell: perCorrectCell,
      },
      { key: 'latency', title: 'Latency', cell: (variant) => h('td', {}, `${Math.round(variant.meanLatencyMs)} ms`) },
      {
        key: 'cost',
        title: 'Cost',
        tip: 'Estimated cost of all cases',
        cell: (variant) => h('td', {}, variant.cost === null ? '—' : `$${variant.cost.toFixed(4)}`),
      },
      ...(state.comparison
        ? [{ key: 'delta', title: 'vs. compared run', cell: (variant: VariantSummary) => comparisonCell(previous.get(variant.name)) }]
        : []),
    ];
  }

  /** Hides or shows a column of the table in place (no redraw: the Columns menu stays open and focused). */
  private setTableColumn(key: string, shown: boolean): void {
    this.setHidden(`table:${key}`, shown);
    for (const cell of this.summarySlot.querySelectorAll<HTMLElement>(`[data-column="${CSS.escape(key)}"]`)) cell.hidden = !shown;
  }

  private setHidden(key: string, shown: boolean): void {
    const hidden = new Set(this.saved.hidden ?? []);
    if (shown) hidden.delete(key);
    else hidden.add(key);
    const list = [...hidden].filter((entry) => entry.length <= MAX_HIDDEN_KEY).slice(-MAX_HIDDEN_COLUMNS);
    this.save({ hidden: list.length > 0 ? list : undefined });
  }

  private summary(result: RunOverview, state: PanelRun): HTMLElement {
    const showScore = result.scorer === 'field-f1' || result.scorer === 'token-f1';
    const columns = this.tableColumns(result, state);
    const hidden = new Set((this.saved.hidden ?? []).filter((key) => key.startsWith('table:')).map((key) => key.slice(6)));
    this.tableChooser.setOptions(columns, hidden);
    const head = h(
      'tr',
      {},
      h('th', { scope: 'col' }, 'Variant'),
      ...columns.map((column) =>
        h('th', { scope: 'col', 'data-column': column.key, hidden: hidden.has(column.key), title: column.tip }, column.title),
      ),
    );
    const rows = result.variants.map((variant) =>
      h(
        'tr',
        { 'data-testid': 'variant-row', 'data-variant': variant.name },
        variantNameCell(variant),
        ...columns.map((column) => {
          const cell = column.cell(variant);
          cell.dataset.column = column.key;
          cell.hidden = hidden.has(column.key);
          return cell;
        }),
      ),
    );
    const cases = Math.min(...result.variants.map((variant) => variant.singleChain.cases));
    const note = h(
      'p',
      { class: 'interval-note', 'data-testid': 'interval-note' },
      `95% intervals. Single chain${showScore ? ', maj@k and mean F1' : ' and maj@k'}: clustered by case — the chains of one case share its difficulty, `,
      'so the cases are the units. ',
      'Majority vote: Wilson over cases. ',
      result.variants.length > 0 && cases < 2
        ? 'One case: there is no spread between cases to measure; the intervals speak of that case only.'
        : result.variants.length > 0 && cases < 10
          ? `Only ${cases} cases: the intervals are rough.`
          : '',
    );
    return h(
      'section',
      { class: 'summary' },
      h('div', { class: 'section-head' }, h('h2', {}, 'Accuracy per variant (95% intervals over cases)'), this.tableChooser.element),
      // Wide tables scroll in their own box: the page itself never scrolls sideways in a narrow panel.
      h('div', { class: 'table-scroll' }, h('table', { 'data-testid': 'variant-table' }, h('thead', {}, head), h('tbody', {}, ...rows))),
      note,
      this.comparisonNote(state.comparison),
      this.adaptiveNote(result),
    );
  }

  /** Which run the table is compared with, what the two runs do not share, and the picker for another one. */
  private comparisonNote(comparison: PanelComparison | undefined): HTMLElement | null {
    const run = this.run;
    if (!run || (!comparison && this.runChoices.length === 0)) return null;
    const runId = run.overview.runId;
    const picker =
      this.runChoices.length > 0 && this.callbacks.onCompareWith
        ? (h(
            'select',
            { 'aria-label': 'Compare with an earlier run', 'data-testid': 'compare-picker' },
            // The compared run may not be listed (only the newest are): then it shows as the first, inert, option.
            ...(comparison && this.runChoices.some((choice) => choice.id === comparison.previousRunId)
              ? []
              : [h('option', { value: '' }, comparison ? comparison.previousRunId : 'Choose an earlier run…')]),
            ...this.runChoices.map((choice) => {
              const option = h('option', { value: choice.id }, describeChoice(choice)) as HTMLOptionElement;
              option.selected = choice.id === comparison?.previousRunId;
              return option;
            }),
          ) as HTMLSelectElement)
        : null;
    picker?.addEventListener('change', () => {
      if (picker.value) this.callbacks.onCompareWith?.(runId, picker.value);
    });
    const differs = comparison ? comparisonDifferences({ ...comparison, changes: [] }) : [];
    return h(
      'div',
      { class: 'interval-note comparison-note', 'data-testid': 'comparison-note' },
      comparison
        ? h(
            'p',
            {},
            `Compared with run ${comparison.previousRunId} (${formatDate(comparison.previousStartedAt)}, ${comparison.previousModel}), `,
            'over the cases and variants both ran, case by case; a change is coloured only when significant (exact McNemar, Holm p < 0.05). ',
            differs.length > 0
              ? h('span', { 'data-testid': 'comparison-differences' }, `Not like for like: ${differs.join('; ')}.`)
              : 'The runs ran alike.',
          )
        : null,
      picker ? h('label', {}, comparison ? 'Compare with ' : 'Compare with an earlier run: ', picker) : null,
    );
  }

  /** Adaptive runs: the rule, and per variant the chains used against the fixed maximum, and what that saved. */
  private adaptiveNote(result: RunOverview): HTMLElement | null {
    const stop = result.stop;
    if (!stop) return null;
    const rule =
      stop.rule === 'adaptive'
        ? `Adaptive sampling: a case stops once the probability that its leading answer is the majority reaches ${stop.confidence} (Adaptive-Consistency)`
        : `Early stopping: a case stops once its last ${stop.window} chains agree`;
    return h(
      'div',
      { class: 'interval-note', 'data-testid': 'adaptive-note' },
      h(
        'p',
        {},
        `${rule}; rounds of ${stop.min}, then ${stop.batch}, up to ${result.samples} chains. maj@k averages the cases that drew at least k chains.`,
      ),
      h(
        'ul',
        {},
        ...result.variants.map((variant) => {
          const most = variant.chains + variant.chainsSaved;
          const share = most === 0 ? 0 : variant.chainsSaved / most;
          const money = variant.costSaved === null ? '' : `, ≈ $${variant.costSaved.toFixed(4)}`;
          return h(
            'li',
            { 'data-testid': 'chains-saved', 'data-variant': variant.name, 'data-value': variant.chainsSaved },
            h('strong', {}, variant.name),
            `: ${variant.chains.toLocaleString('en-US')} of ${most.toLocaleString('en-US')} chains (${percent(share)} saved, ≈ ${variant.tokensSaved.toLocaleString('en-US')} tokens${money}); ${variant.settledEarly} of ${variant.cases} cases settled early`,
          );
        }),
      ),
    );
  }

  private accuracyBar(variant: VariantSummary, which: 'single' | 'majority'): HTMLElement {
    const accuracy: Accuracy = which === 'single' ? variant.singleChain : variant.majorityVote;
    const description = describeInterval(accuracy);
    const bar = h(
      'span',
      { class: 'bar', role: 'img', 'aria-label': `${percent(accuracy.value)}, ${description}` },
      h('span', { class: 'interval', style: `left:${accuracy.low * 100}%;width:${(accuracy.high - accuracy.low) * 100}%` }),
      h('span', { class: 'point', style: `left:${accuracy.value * 100}%` }),
    );
    const counts = `${accuracy.successes}/${accuracy.trials} ${which === 'single' ? 'chains' : 'cases'}`;
    const attributes = { 'data-testid': `${which}-accuracy`, 'data-value': accuracy.value, 'data-method': accuracy.method };
    // Compact, so the table fits a maximized panel: the counts' unit is in the tooltip.
    return h(
      'span',
      { class: 'accuracy', ...attributes, title: `${description}; ${counts}` },
      h('span', { class: 'value' }, percent(accuracy.value)),
      bar,
      h('span', { class: 'ci' }, `${(accuracy.low * 100).toFixed(1)}–${percent(accuracy.high)} · ${accuracy.successes}/${accuracy.trials}`),
    );
  }

  private majAtKLast(variant: VariantSummary): HTMLElement {
    const value = variant.majAtK[variant.majAtK.length - 1] ?? 0;
    const interval = variant.majAtKIntervals[variant.majAtKIntervals.length - 1];
    return h(
      'td',
      { 'data-testid': 'majk-last', 'data-value': value, ...(interval ? { title: describeInterval(interval) } : {}) },
      percent(value),
      interval ? h('span', { class: 'ci' }, ` [${percent(interval.low)}–${percent(interval.high)}]`) : null,
    );
  }

  /** The chart's width: its box's (the panel's, or its column beside the cost chart), a narrow one too. */
  private chartSize(): number {
    return Math.max(200, Math.floor(this.chartContainer.clientWidth || this.chartSection.clientWidth || 640));
  }

  /** Follows the panel's width: a resized panel redraws the chart at its new width (uPlot keeps its data). */
  private resizeChart(): void {
    if (!this.chart || this.chartSection.hidden) return;
    const width = this.chartSize();
    if (Math.abs(width - this.chartWidth) < 2) return;
    this.chartWidth = width;
    this.chart.setSize({ width, height: 240 });
  }

  private drawChart(result: RunOverview): void {
    const container = this.chartContainer;
    const length = Math.max(0, ...result.variants.map((variant) => variant.majAtK.length));
    if (length === 0) {
      this.chart?.destroy();
      this.chart = undefined;
      return;
    }
    const xs = Array.from({ length }, (_, i) => i + 1);
    const line = (values: readonly number[]): (number | null)[] =>
      xs.map((k) => (values[k - 1] === undefined ? null : (values[k - 1] as number) * 100));
    // After the curves, each variant's upper and lower 95% bounds: series that draw nothing but a shaded band.
    const bounds = result.variants.flatMap((variant) => [
      line(variant.majAtKIntervals.map((interval) => interval.high)),
      line(variant.majAtKIntervals.map((interval) => interval.low)),
    ]);
    const data: uPlot.AlignedData = [xs, ...result.variants.map((variant) => line(variant.majAtK)), ...bounds];
    // The same curves with new values (a live run): new data, same chart, so the cursor and legend stay put.
    const key = `${length}\u0000${result.variants.map((variant) => variant.name).join('\u0000')}`;
    if (this.chart && key === this.chartKey) {
      this.chart.setData(data);
      return;
    }
    this.chart?.destroy();
    this.chartKey = key;
    const fallbacks = ['#3794ff', '#d18616', '#388a34', '#652d90', '#e51400', '#bf8803'];
    const colours = result.variants.map((_, i) => themeColour(SERIES_COLOURS[i % 6] as string, fallbacks[i % 6] as string));
    const first = result.variants.length + 1;
    const foreground = themeColour('--vscode-foreground', '#444');
    const grid = themeColour('--vscode-editorWidget-border', '#8884');
    const axis = { stroke: foreground, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
    const width = this.chartSize();
    this.chartWidth = width;
    this.chart = new uPlot(
      {
        width,
        height: 240,
        scales: { x: { time: false }, y: { range: [0, 100] } },
        axes: [
          { ...axis, label: 'chains k', incrs: [1, 2, 4, 8, 16, 32, 64] },
          { ...axis, label: 'accuracy %', values: (_u: uPlot, ticks: number[]) => ticks.map((tick) => `${tick}%`) },
        ],
        series: [
          { label: 'k' },
          ...result.variants.map((variant, i) => ({
            label: variant.name,
            stroke: colours[i] as string,
            width: 2,
            points: { show: true, size: 5 },
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${v.toFixed(1)}%`),
          })),
          ...result.variants.flatMap((variant) =>
            (['high', 'low'] as const).map((end) => ({
              label: `${variant.name} 95% ${end}`,
              class: 'majk-bound',
              stroke: 'transparent',
              width: 0,
              points: { show: false },
              value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${v.toFixed(1)}%`),
            })),
          ),
        ],
        // 95% intervals of maj@k, clustered by case: shaded between each variant's bounds.
        bands: result.variants.map((_, i) => ({
          series: [first + 2 * i, first + 2 * i + 1] as [number, number],
          fill: translucent(colours[i] as string, 0.15),
        })),
        legend: { show: true },
      },
      data,
      container,
    );
  }
}

interface TableColumn {
  key: string;
  title: string;
  /** What the column counts, as the header's tooltip. */
  tip?: string;
  cell: (variant: VariantSummary) => HTMLElement;
}

/** A reasoning shape's kind beside its variant's name, so the table says which rows are trees or graphs of thought. */
function variantNameCell(variant: VariantSummary): HTMLElement {
  const shape = (SHAPE_KINDS as readonly string[]).includes(variant.kind) && variant.kind !== variant.name;
  return h(
    'th',
    { scope: 'row', class: 'variant-name', title: shape ? `${variant.name} (${variant.kind})` : variant.name },
    variant.name,
    shape ? h('span', { class: 'variant-kind', 'data-testid': 'variant-kind' }, variant.kind) : null,
  );
}

/** Tokens (and cost, when priced) per case: every request of a case's chains, a shape's many requests included. */
function perCaseCell(variant: VariantSummary): HTMLElement {
  const cases = Math.max(1, variant.cases);
  const tokens = Math.round((variant.promptTokens + variant.completionTokens) / cases);
  return h(
    'td',
    { 'data-testid': 'per-case', 'data-value': tokens },
    `${tokens.toLocaleString('en-US')} tok`,
    variant.cost ? h('span', { class: 'ci' }, `$${(variant.cost / cases).toFixed(4)}`) : null,
  );
}

/** Tokens (and cost) per case the majority vote gets right. */
function perCorrectCell(variant: VariantSummary): HTMLElement {
  if (variant.tokensPerCorrect === null) return h('td', { title: 'The majority vote gets no case right' }, '—');
  return h(
    'td',
    { 'data-testid': 'per-correct', 'data-value': variant.tokensPerCorrect },
    `${Math.round(variant.tokensPerCorrect).toLocaleString('en-US')} tok`,
    variant.costPerCorrect ? h('span', { class: 'ci' }, `$${variant.costPerCorrect.toFixed(4)}`) : null,
  );
}

/** One variant's headline numbers: accuracies with their intervals, agreement, the change since the compared run, tokens and cost. */
function variantCard(variant: VariantSummary, compared: VariantComparison | undefined | null): HTMLElement {
  const accuracy = (label: string, which: 'single' | 'majority', value: Accuracy): HTMLElement[] => [
    h('dt', {}, label),
    h(
      'dd',
      { 'data-testid': `card-${which}`, 'data-value': value.value, title: describeInterval(value) },
      h('span', { class: 'card-value' }, percent(value.value)),
      h('span', { class: 'ci' }, ` ${(value.low * 100).toFixed(1)}–${(value.high * 100).toFixed(1)}`),
    ),
  ];
  const tokens = variant.promptTokens + variant.completionTokens;
  const direction = compared && (compared.after > compared.before ? 'better' : compared.after < compared.before ? 'worse' : '');
  return h(
    'article',
    { class: 'card', 'data-testid': 'variant-card', 'data-variant': variant.name },
    h('h3', { class: 'card-name', title: variant.name }, variant.name),
    h(
      'dl',
      { class: 'card-numbers' },
      ...accuracy('Single chain', 'single', variant.singleChain),
      ...accuracy('Majority vote', 'majority', variant.majorityVote),
      h('dt', {}, 'Agreement'),
      h('dd', {}, percent(variant.meanAgreement)),
      ...(compared === null
        ? []
        : [
            h('dt', {}, 'vs. compared'),
            compared
              ? h(
                  'dd',
                  {
                    class: compared.significant ? direction || 'neutral' : 'neutral',
                    'data-testid': 'card-delta',
                    title: describeSignificance(compared),
                  },
                  formatDelta(compared),
                  h('span', { class: 'ci' }, ` ▲${compared.fixed} ▼${compared.regressed}`),
                )
              : h('dd', { title: 'not in the compared run' }, '—'),
          ]),
      h('dt', {}, 'Tokens'),
      h('dd', {}, tokens.toLocaleString('en-US')),
      // A free model (local, a self-hosted server priced at 0) has no cost worth a line on a small card.
      ...(!variant.cost ? [] : [h('dt', {}, 'Cost'), h('dd', {}, `$${variant.cost.toFixed(4)}`)]),
    ),
  );
}

/** A signed difference in points with a real minus: +7.5 pt, −2.5 pt. */
function signedPoints(value: number): string {
  const rounded = Number((value * 100).toFixed(1));
  return `${rounded > 0 ? '+' : rounded < 0 ? '−' : '±'}${Math.abs(rounded).toFixed(1)}`;
}

/**
 * "Is A better than B?": one row per pair of variants of the final result (RunResult.comparisons; never in a
 * live overview): the majority-vote difference on the cases both answered with its 95% paired-bootstrap
 * interval as a bar around 0 (one scale for all rows), the exact McNemar p and its Holm adjustment, the
 * discordant cases, and a verdict in words (significant: Holm p < 0.05), with the underpowered warning.
 */
function pairsSection(comparisons: readonly PairComparison[] | undefined): HTMLElement[] {
  if (!comparisons || comparisons.length === 0) return [];
  // The bar spans ±extent, zero in the middle; at least ±10 points so a small run's bars are not all edge.
  const extent = Math.max(0.1, ...comparisons.flatMap((pair) => [Math.abs(pair.low), Math.abs(pair.high)]));
  const at = (value: number): number => 50 + (value / extent) * 50;
  const head = h(
    'tr',
    {},
    ...['Pair (A − B)', 'Difference, 95% interval', 'p (Holm)', 'A only / B only', 'Verdict'].map((title) =>
      h('th', { scope: 'col' }, title),
    ),
  );
  const rows = comparisons.map((pair) => {
    const significant = pair.pAdjusted < ALPHA;
    const interval = `${signedPoints(pair.low)} to ${signedPoints(pair.high)} points`;
    const verdict = significant ? `${pair.difference > 0 ? pair.a : pair.b} is better` : 'not resolved';
    return h(
      'tr',
      {
        'data-testid': 'pair-row',
        'data-a': pair.a,
        'data-b': pair.b,
        'data-p': pair.pValue,
        'data-p-adjusted': pair.pAdjusted,
        'data-significant': significant,
      },
      h('th', { scope: 'row' }, `${pair.a} − ${pair.b}`),
      h(
        'td',
        {},
        h(
          'span',
          { class: 'accuracy', title: `paired bootstrap over ${pair.cases} cases, 95%: ${interval}` },
          h('span', { class: 'value' }, `${signedPoints(pair.difference)} pt`),
          h(
            'span',
            { class: 'bar difference', role: 'img', 'aria-label': `${signedPoints(pair.difference)} points, 95% interval ${interval}` },
            h('span', { class: 'zero', style: 'left:50%' }),
            h('span', { class: 'interval', style: `left:${at(pair.low)}%;width:${at(pair.high) - at(pair.low)}%` }),
            h('span', { class: 'point', style: `left:${at(pair.difference)}%` }),
          ),
          h('span', { class: 'ci' }, `[${signedPoints(pair.low)}, ${signedPoints(pair.high)}]`),
        ),
      ),
      h(
        'td',
        { title: 'exact McNemar test on the discordant cases; Holm-adjusted over the pairs' },
        `${formatP(pair.pValue)} (${formatP(pair.pAdjusted)})`,
      ),
      h('td', { title: `of ${pair.cases} cases both variants answered` }, `${pair.aOnly} / ${pair.bOnly}`),
      h(
        'td',
        { class: significant ? 'pair-verdict significant' : 'pair-verdict' },
        significant ? h('strong', {}, `✓ ${verdict}`) : verdict,
        pair.warning ? h('span', { class: 'ci', 'data-testid': 'pair-warning' }, pair.warning) : null,
      ),
    );
  });
  return [
    h(
      'section',
      { class: 'summary pairs', 'data-testid': 'pairs' },
      h('h2', {}, 'Is A better than B?'),
      h('div', { class: 'table-scroll' }, h('table', { 'data-testid': 'pairs-table' }, h('thead', {}, head), h('tbody', {}, ...rows))),
      h(
        'p',
        { class: 'interval-note' },
        'Majority-vote accuracy of A minus B on the cases both answered. 95% paired bootstrap; p: exact McNemar test on the cases ',
        `only one of them got right, Holm-adjusted over the pairs in brackets; ✓ marks Holm p < ${ALPHA}.`,
      ),
    ),
  ];
}

/** The delta against the compared run: green or red only when significant, the test in the tooltip. */
function comparisonCell(compared: VariantComparison | undefined): HTMLElement {
  if (!compared) return h('td', { 'data-testid': 'comparison-delta', title: 'not in the compared run' }, '—');
  const direction = compared.after > compared.before ? 'better' : compared.after < compared.before ? 'worse' : '';
  return h(
    'td',
    {
      class: compared.significant ? direction : 'neutral',
      'data-testid': 'comparison-delta',
      'data-significant': compared.significant,
      title: describeSignificance(compared),
    },
    formatDelta(compared),
    h('span', { class: 'ci' }, ` ▲${compared.fixed} ▼${compared.regressed}`),
  );
}

function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** "12/1/2026, 10:00 · openai:gpt-x · 40 cases × 5 · cot 75.0%, direct 60.0%". */
function describeChoice(choice: RunChoice): string {
  const accuracy = choice.accuracy?.map((entry) => `${entry.variant} ${percent(entry.value)}`).join(', ');
  return [formatDate(choice.startedAt), choice.model, `${choice.cases} cases × ${choice.samples}`, accuracy].filter(Boolean).join(' · ');
}

/** An amount as the CLI writes it: cents from 1 up, four decimals below. */
function money(amount: number): string {
  return amount.toFixed(amount !== 0 && Math.abs(amount) < 1 ? 4 : 2);
}
