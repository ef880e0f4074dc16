// The cases × variants matrix, virtualized: only the rows in view (and a few either side) are in the DOM,
// at a fixed row height inside their own scroll box. Sorting, filtering and search run on the data, never
// on the DOM, so a run of 5,000 cases costs what a screenful does.
import type { CellSummary } from '../../src/shared/protocol';
import { columnChooser, formatValue, h, percent } from './dom';

export const ROW_HEIGHT = 44;
const OVERSCAN = 8;

export const SORTS = {
  case: 'Case order',
  failures: 'Failures first',
  agreement: 'Lowest agreement first',
  errors: 'Most failed chains first',
} as const;
export const FILTERS = {
  all: 'All cases',
  wrong: 'Majority wrong',
  disagreement: 'Disagreement (agreement < 1)',
  failed: 'Has failed chains',
  pending: 'Pending',
  changed: 'Changed since the compared run',
} as const;
export type SortKey = keyof typeof SORTS;
export type FilterKey = keyof typeof FILTERS;

export interface MatrixControls {
  sort: SortKey;
  filter: FilterKey;
  search: string;
}

export interface MatrixCallbacks {
  onOpen: (variant: string, caseId: string) => void;
  onControls: (controls: MatrixControls) => void;
  onReveal?: (file: string, line: number) => void;
  /** After pending rows were drawn. */
  onDrawn?: () => void;
  /** The user hid or showed a column (`expected`, `variant:<name>`): the view keeps it in its saved state. */
  onColumn?: (key: string, shown: boolean) => void;
}

/** A case of the run: its row in the matrix, with one summary per variant (by column). */
interface CaseRow {
  row: number;
  caseId: string;
  caseName?: string;
  /** The case's inputs on one line (CellSummary.inputPreview). */
  inputPreview?: string;
  expected?: unknown;
  location: { file: string; line: number };
  cells: (CellSummary | undefined)[];
}

export function cellState(cell: CellSummary | undefined): 'pending' | 'pass' | 'fail' {
  return !cell || cell.chains === 0 ? 'pending' : cell.majorityPass ? 'pass' : 'fail';
}

const done = (cell: CellSummary | undefined): cell is CellSummary => cell !== undefined && cell.chains > 0;

export function isSortKey(value: unknown): value is SortKey {
  return typeof value === 'string' && Object.hasOwn(SORTS, value);
}
export function isFilterKey(value: unknown): value is FilterKey {
  return typeof value === 'string' && Object.hasOwn(FILTERS, value);
}

export class Matrix {
  readonly element: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly head: HTMLElement;
  private readonly body: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly count: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly filterSelect: HTMLSelectElement;
  private readonly sortSelect: HTMLSelectElement;

  private variants: string[] = [];
  private readonly rows = new Map<number, CaseRow>();
  private readonly rowOfCase = new Map<string, number>();
  /** Row indices (CellSummary.row) in display order, after filter, search and sort. */
  private order: number[] = [];
  private readonly position = new Map<number, number>();
  private readonly rendered = new Map<number, HTMLElement>();
  private readonly dirty = new Set<number>();
  private orderStale = true;
  private frame: number | undefined;
  private active = { row: -1, column: 0 };
  private selected: { variant: string; caseId: string } | undefined;
  private controls: MatrixControls = { sort: 'case', filter: 'all', search: '' };
  /** Columns the user hid: `expected` and `variant:<name>`; hidden ones are not built at all. */
  private hidden = new Set<string>();
  /** The variant columns shown, as indices into `variants`. */
  private shown: number[] = [];
  private readonly chooser = columnChooser('matrix-columns', (key, shown) => {
    if (shown) this.hidden.delete(key);
    else this.hidden.add(key);
    this.layout();
    this.callbacks.onColumn?.(key, shown);
  });

  constructor(private readonly callbacks: MatrixCallbacks) {
    this.search = h('input', {
      type: 'search',
      placeholder: 'Search cases, inputs, expected, majority…',
      'aria-label': 'Search cases by name, id, input, expected or majority answer',
      'data-testid': 'matrix-search',
    }) as HTMLInputElement;
    this.filterSelect = select(FILTERS, 'Show', 'matrix-filter');
    this.sortSelect = select(SORTS, 'Sort', 'matrix-sort');
    this.count = h('span', { class: 'matrix-count', 'data-testid': 'matrix-count', 'aria-live': 'polite' });
    this.search.addEventListener('input', () => this.changeControls({ search: this.search.value }));
    this.filterSelect.addEventListener('change', () => this.changeControls({ filter: this.filterSelect.value as FilterKey }));
    this.sortSelect.addEventListener('change', () => this.changeControls({ sort: this.sortSelect.value as SortKey }));

    this.head = h('div', { role: 'rowgroup', class: 'matrix-head' });
    this.body = h('div', { role: 'rowgroup', class: 'matrix-body' });
    this.grid = h(
      'div',
      { role: 'grid', class: 'matrix', 'data-testid': 'matrix', 'aria-label': 'Cases × variants: majority answer and agreement' },
      this.head,
      this.body,
    );
    this.scroller = h('div', { class: 'matrix-scroll' }, this.grid);
    this.scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.grid.addEventListener('keydown', (event) => this.navigate(event));
    this.grid.addEventListener('focusin', (event) => {
      const target = event.target as HTMLElement;
      if (target.dataset.row !== undefined) this.active = { row: Number(target.dataset.row), column: Number(target.dataset.column) };
    });
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(() => this.schedule()).observe(this.scroller);
    this.element = h(
      'section',
      { class: 'matrix-section' },
      h('h2', {}, 'Cases × variants — majority answer and agreement'),
      h(
        'div',
        { class: 'matrix-controls' },
        this.search,
        h('label', {}, 'Show ', this.filterSelect),
        h('label', {}, 'Sort ', this.sortSelect),
        this.chooser.element,
        this.count,
      ),
      this.scroller,
    );
  }

  /** Forgets every case: a new run. */
  reset(): void {
    this.rows.clear();
    this.rowOfCase.clear();
    // A new run has its own variants: the last run's columns must not linger as empty ones.
    this.variants = [];
    this.clearRendered();
    this.active = { row: -1, column: 0 };
    this.orderStale = true;
    this.schedule();
  }

  setVariants(names: readonly string[]): void {
    const merged = [...names, ...this.variants.filter((name) => !names.includes(name))];
    if (merged.length === this.variants.length && merged.every((name, i) => name === this.variants[i])) return;
    const before = this.variants;
    this.variants = merged;
    for (const entry of this.rows.values()) {
      const byName = new Map(before.map((name, i) => [name, entry.cells[i]]));
      entry.cells = merged.map((name) => byName.get(name));
    }
    this.layout();
  }

  /** Columns to hide (`expected`, `variant:<name>`), as saved. */
  setHidden(keys: Iterable<string>): void {
    this.hidden = new Set(keys);
    this.layout();
  }

  /** Rebuilds the header, the column template and the Columns menu for the variants and hidden columns now. */
  private layout(): void {
    const names = this.variants;
    this.shown = names.map((_, i) => i).filter((i) => !this.hidden.has(`variant:${names[i]}`));
    const expected = !this.hidden.has('expected');
    this.chooser.setOptions(
      [{ key: 'expected', title: 'Expected' }, ...names.map((name) => ({ key: `variant:${name}`, title: name }))],
      this.hidden,
    );
    this.head.replaceChildren(
      h(
        'div',
        { role: 'row', class: 'matrix-row', 'aria-rowindex': 1 },
        h('div', { role: 'columnheader', class: 'case-name' }, 'Case'),
        expected ? h('div', { role: 'columnheader' }, 'Expected') : null,
        ...this.shown.map((i) => h('div', { role: 'columnheader', title: names[i] as string }, names[i] as string)),
      ),
    );
    const count = this.shown.length;
    this.grid.style.setProperty(
      '--matrix-columns',
      `minmax(140px, 1.4fr)${expected ? ' minmax(80px, 0.8fr)' : ''} repeat(${count}, minmax(120px, 1fr))`,
    );
    this.grid.style.setProperty('min-width', `${140 + (expected ? 80 : 0) + 120 * count}px`);
    this.grid.setAttribute('aria-colcount', String(count + (expected ? 2 : 1)));
    this.clearRendered();
    this.orderStale = true;
    this.schedule();
  }

  /** Adds or replaces cells (by variant and case). */
  setCells(cells: readonly CellSummary[]): void {
    for (const cell of cells) {
      let column = this.variants.indexOf(cell.variant);
      if (column < 0) {
        this.setVariants([...this.variants, cell.variant]);
        column = this.variants.length - 1;
      }
      let entry = this.rows.get(cell.row);
      if (!entry || entry.caseId !== cell.caseId) {
        entry = { row: cell.row, caseId: cell.caseId, location: cell.location, cells: this.variants.map(() => undefined) };
        this.rows.set(cell.row, entry);
        this.rowOfCase.set(cell.caseId, cell.row);
      }
      if (cell.caseName !== undefined) entry.caseName = cell.caseName;
      if (cell.inputPreview !== undefined) entry.inputPreview = cell.inputPreview;
      if (cell.expected !== undefined) entry.expected = cell.expected;
      entry.location = cell.location;
      entry.cells[column] = cell;
      this.dirty.add(cell.row);
    }
    this.orderStale = true;
    this.schedule();
  }

  cell(variant: string, caseId: string): CellSummary | undefined {
    const row = this.rowOfCase.get(caseId);
    const column = this.variants.indexOf(variant);
    return row === undefined || column < 0 ? undefined : this.rows.get(row)?.cells[column];
  }

  /** The variants of a case, in column order, with their cells where known. */
  caseCells(caseId: string): { variant: string; cell: CellSummary | undefined }[] {
    const row = this.rowOfCase.get(caseId);
    const entry = row === undefined ? undefined : this.rows.get(row);
    return this.variants.map((variant, column) => ({ variant, cell: entry?.cells[column] }));
  }

  setControls(controls: Partial<MatrixControls>): void {
    this.controls = { ...this.controls, ...controls };
    if (this.search.value !== this.controls.search) this.search.value = this.controls.search;
    this.filterSelect.value = this.controls.filter;
    this.sortSelect.value = this.controls.sort;
    this.orderStale = true;
    this.schedule();
  }

  setSelected(selected: { variant: string; caseId: string } | undefined): void {
    const before = this.selected;
    this.selected = selected;
    for (const caseId of [before?.caseId, selected?.caseId]) {
      const row = caseId === undefined ? undefined : this.rowOfCase.get(caseId);
      if (row !== undefined) this.dirty.add(row);
    }
    this.schedule();
  }

  /** Moves focus to a cell, scrolling the list so its row is drawn: works for rows not rendered yet. */
  focusCell(variant: string, caseId: string): boolean {
    const row = this.rowOfCase.get(caseId);
    const column = this.variants.indexOf(variant);
    this.flush();
    const at = row === undefined ? undefined : this.position.get(row);
    if (at === undefined || column < 0 || !this.shown.includes(column)) return false; // a hidden column has no cell to focus
    this.focusAt(at, column);
    return true;
  }

  /** Whether a redraw waits for the next frame. */
  get pending(): boolean {
    return this.frame !== undefined;
  }

  /** Draws what is pending now instead of at the next frame. */
  flush(): void {
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    if (this.orderStale) this.computeOrder();
    this.renderRows();
    this.callbacks.onDrawn?.();
  }

  private changeControls(change: Partial<MatrixControls>): void {
    this.controls = { ...this.controls, ...change };
    this.orderStale = true;
    this.schedule();
    this.callbacks.onControls(this.controls);
  }

  private schedule(): void {
    if (this.frame !== undefined) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined;
      this.flush();
    });
  }

  private clearRendered(): void {
    for (const element of this.rendered.values()) element.remove();
    this.rendered.clear();
  }

  private computeOrder(): void {
    this.orderStale = false;
    const { filter, sort } = this.controls;
    const needle = this.controls.search.trim().toLowerCase();
    const entries: CaseRow[] = [];
    for (const entry of this.rows.values()) {
      if (!matchesFilter(entry, filter)) continue;
      if (needle && !searchText(entry).includes(needle)) continue;
      entries.push(entry);
    }
    const key = sortKey(sort);
    entries.sort((a, b) => key(a) - key(b) || a.row - b.row);
    const order = entries.map((entry) => entry.row);
    const same = order.length === this.order.length && order.every((row, i) => row === this.order[i]);
    if (!same) {
      this.order = order;
      this.position.clear();
      order.forEach((row, i) => this.position.set(row, i));
      this.clearRendered();
    }
    this.body.style.setProperty('height', `${Math.max(1, order.length) * ROW_HEIGHT}px`);
    this.grid.setAttribute('aria-rowcount', String(order.length + 1));
    const total = this.rows.size;
    const filtered = filter !== 'all' || needle !== '';
    this.count.textContent = filtered ? `${order.length} of ${total} cases` : `${total} cases`;
    const empty = this.body.querySelector('.matrix-empty');
    if (order.length === 0 && !empty)
      this.body.append(h('p', { class: 'matrix-empty' }, total === 0 ? 'No cases yet.' : 'No case matches the filter.'));
    else if (order.length > 0) empty?.remove();
  }

  private renderRows(): void {
    const height = this.scroller.clientHeight || 600;
    const top = this.scroller.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.order.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const focused =
      document.activeElement instanceof HTMLElement && this.grid.contains(document.activeElement) ? document.activeElement : null;
    const keep = new Set<number>();
    for (let at = first; at < last; at++) keep.add(this.order[at] as number);
    for (const [row, element] of this.rendered)
      if (!keep.has(row) || this.dirty.has(row)) {
        element.remove();
        this.rendered.delete(row);
      }
    for (let at = first; at < last; at++) {
      const row = this.order[at] as number;
      if (this.rendered.has(row)) continue;
      const entry = this.rows.get(row);
      if (!entry) continue;
      const element = this.buildRow(entry, at);
      this.rendered.set(row, element);
      this.body.append(element);
    }
    this.dirty.clear();
    // Roving focus: one cell of the grid is in the tab order.
    let tabbable = false;
    for (const button of this.body.querySelectorAll<HTMLElement>('.cell')) {
      const isActive = Number(button.dataset.row) === this.active.row && Number(button.dataset.column) === this.active.column;
      button.tabIndex = isActive ? 0 : -1;
      tabbable ||= isActive;
    }
    if (!tabbable) this.body.querySelector<HTMLElement>('.cell')?.setAttribute('tabindex', '0');
    if (focused && !focused.isConnected) {
      const again = this.button(Number(focused.dataset.row), Number(focused.dataset.column));
      again?.focus({ preventScroll: true });
    }
  }

  private button(row: number, column: number): HTMLElement | null {
    return this.rendered.get(row)?.querySelector<HTMLElement>(`.cell[data-column="${column}"]`) ?? null;
  }

  private buildRow(entry: CaseRow, at: number): HTMLElement {
    const id = entry.caseName ? `${entry.caseName} (${entry.caseId})` : entry.caseId;
    const name = h('div', { role: 'rowheader', class: 'case-name', title: entry.inputPreview ? `${id}\n${entry.inputPreview}` : id });
    // The case's inputs under its name: "data/arithmetic.jsonl:12" alone says nothing about the question.
    name.append(
      h(
        'span',
        { class: 'case-text' },
        h('span', { class: 'case-label' }, entry.caseName ?? entry.caseId),
        entry.inputPreview ? h('span', { class: 'case-input', 'data-testid': 'case-input' }, entry.inputPreview) : null,
      ),
    );
    if (this.callbacks.onReveal) {
      const link = h(
        'button',
        { type: 'button', class: 'link', tabindex: -1, title: 'Show the case in the editor', 'aria-label': 'Show the case in the editor' },
        '↗',
      );
      link.addEventListener('click', () => this.callbacks.onReveal?.(entry.location.file, entry.location.line));
      name.append(link);
    }
    const expected = entry.expected === undefined ? '—' : formatValue(entry.expected);
    const element = h(
      'div',
      { role: 'row', class: 'matrix-row', 'aria-rowindex': at + 2 },
      name,
      this.hidden.has('expected') ? null : h('div', { role: 'gridcell', class: 'expected', title: expected }, expected),
      ...this.shown.map((column) => {
        const variant = this.variants[column] as string;
        const cell = entry.cells[column];
        const selected = this.selected?.variant === variant && this.selected.caseId === entry.caseId;
        return h('div', { role: 'gridcell', 'aria-selected': selected ? 'true' : 'false' }, this.cellButton(entry, variant, cell, column));
      }),
    );
    element.style.setProperty('transform', `translateY(${at * ROW_HEIGHT}px)`);
    return element;
  }

  private cellButton(entry: CaseRow, variant: string, cell: CellSummary | undefined, column: number): HTMLElement {
    const state = cellState(cell);
    const mark = state === 'pending' ? '…' : state === 'pass' ? '✓' : '✗';
    const majority = cell?.majority ?? (cell && cell.chains > 0 ? '(no answer)' : '');
    const agreement = cell?.agreement ?? 0;
    const change = cell?.change;
    const changeText =
      change === 'fixed' ? 'fixed since the compared run' : change === 'regressed' ? 'regressed since the compared run' : '';
    const label = cell
      ? `${variant}, ${entry.caseName ?? entry.caseId}: ${state}${changeText ? ` (${changeText})` : ''}, majority ${cell.majority ?? 'none'}, agreement ${percent(agreement)}, ${cell.chains} chains${cell.errors > 0 ? `, ${cell.errors} failed` : ''}`
      : `${variant}, ${entry.caseName ?? entry.caseId}: pending`;
    const button = h(
      'button',
      {
        type: 'button',
        class: `cell cell-${state}`,
        'data-testid': 'cell',
        'data-variant': variant,
        'data-case': entry.caseId,
        'data-row': entry.row,
        'data-column': column,
        tabindex: -1,
        'aria-label': label,
        'aria-haspopup': 'dialog',
      },
      h(
        'span',
        { class: 'mark' },
        mark,
        change
          ? h(
              'span',
              { class: `change change-${change}`, 'data-testid': 'cell-change', 'data-change': change, title: changeText },
              change === 'fixed' ? '▲' : '▼',
            )
          : null,
      ),
      h('span', { class: 'majority' }, majority),
      cell && cell.errors > 0 ? h('span', { class: 'errors', title: cell.firstError ?? '' }, `${cell.errors} failed`) : h('span', {}),
      h('span', { class: 'agreement', title: `agreement ${percent(agreement)}` }, h('span', { style: `width:${agreement * 100}%` })),
    );
    button.addEventListener('click', () => {
      this.active = { row: entry.row, column };
      this.callbacks.onOpen(variant, entry.caseId);
    });
    return button;
  }

  /** Arrow keys, Home/End and Page Up/Down move between cells, across rows not drawn yet; Enter opens (native button). */
  private navigate(event: KeyboardEvent): void {
    const target = event.target as HTMLElement;
    if (target.dataset.row === undefined || target.dataset.column === undefined) return;
    const at = this.position.get(Number(target.dataset.row));
    if (at === undefined) return;
    let next = at;
    // Columns move over the shown ones only: a hidden column is not built, so it cannot take focus.
    let column = Math.max(0, this.shown.indexOf(Number(target.dataset.column)));
    const page = Math.max(1, Math.floor((this.scroller.clientHeight || 600) / ROW_HEIGHT) - 1);
    const columns = this.shown.length;
    if (columns === 0) return;
    if (event.key === 'ArrowDown') next = at + 1;
    else if (event.key === 'ArrowUp') next = at - 1;
    else if (event.key === 'ArrowRight') column += 1;
    else if (event.key === 'ArrowLeft') column -= 1;
    else if (event.key === 'PageDown') next = at + page;
    else if (event.key === 'PageUp') next = at - page;
    else if (event.key === 'Home' && event.ctrlKey) next = 0;
    else if (event.key === 'Home') column = 0;
    else if (event.key === 'End' && event.ctrlKey) next = this.order.length - 1;
    else if (event.key === 'End') column = columns - 1;
    else return;
    event.preventDefault();
    this.focusAt(Math.max(0, Math.min(this.order.length - 1, next)), this.shown[Math.max(0, Math.min(columns - 1, column))] as number);
  }

  private focusAt(at: number, column: number): void {
    const row = this.order[at];
    if (row === undefined) return;
    // Scroll the list so the row sits below the sticky header, draw it, then focus.
    const header = this.head.offsetHeight;
    const top = at * ROW_HEIGHT;
    const view = this.scroller.clientHeight || 600;
    if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else if (top + ROW_HEIGHT + header > this.scroller.scrollTop + view) this.scroller.scrollTop = top + ROW_HEIGHT + header - view;
    this.active = { row, column };
    this.renderRows();
    const button = this.button(row, column);
    if (!button) return;
    button.focus({ preventScroll: true });
    button.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }
}

function select(options: Record<string, string>, label: string, testId: string): HTMLSelectElement {
  return h(
    'select',
    { 'aria-label': label, 'data-testid': testId },
    ...Object.entries(options).map(([value, text]) => h('option', { value }, text)),
  ) as HTMLSelectElement;
}

function matchesFilter(entry: CaseRow, filter: FilterKey): boolean {
  switch (filter) {
    case 'all':
      return true;
    case 'wrong':
      return entry.cells.some((cell) => done(cell) && !cell.majorityPass);
    case 'disagreement':
      return entry.cells.some((cell) => done(cell) && cell.agreement < 1);
    case 'failed':
      return entry.cells.some((cell) => cell !== undefined && cell.errors > 0);
    case 'pending':
      return entry.cells.some((cell) => cell === undefined || cell.chains === 0 || cell.missing > 0);
    case 'changed':
      return entry.cells.some((cell) => cell?.change !== undefined);
  }
}

function searchText(entry: CaseRow): string {
  const majorities = entry.cells.map((cell) => cell?.majority ?? '').join(' ');
  const expected = entry.expected === undefined ? '' : formatValue(entry.expected);
  return `${entry.caseName ?? ''} ${entry.caseId} ${entry.inputPreview ?? ''} ${expected} ${majorities}`.toLowerCase();
}

function sortKey(sort: SortKey): (entry: CaseRow) => number {
  switch (sort) {
    case 'case':
      return () => 0;
    case 'failures':
      return (entry) => -entry.cells.filter((cell) => done(cell) && !cell.majorityPass).length;
    case 'agreement':
      return (entry) => Math.min(Infinity, ...entry.cells.filter(done).map((cell) => cell.agreement));
    case 'errors':
      return (entry) => -entry.cells.reduce((sum, cell) => sum + (cell?.errors ?? 0), 0);
  }
}
