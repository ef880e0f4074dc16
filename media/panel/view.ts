// Renders a run's results into the DOM. Model output and case data are only ever set as text
// (textContent / text nodes), never parsed as HTML.
import uPlot from 'uplot';
import type { Accuracy, CellResult, ChainResult, Interval, RunResult, VariantSummary } from '../../src/core/eval/results';
import type { PanelState } from '../../src/shared/protocol';
import { cellKey } from '../../src/core/eval/keys';

type Child = Node | string | number | null | undefined | false;

/** Creates an element; strings become text nodes, so no markup from data can ever be interpreted. */
export function h(tag: string, attributes: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith('on')) continue; // event handlers are attached with addEventListener only
    if (name === 'style') {
      // Through the CSSOM: a strict CSP blocks style attributes but not element.style.
      for (const declaration of String(value).split(';')) {
        const [property, ...rest] = declaration.split(':');
        if (property && rest.length > 0) element.style.setProperty(property.trim(), rest.join(':').trim());
      }
      continue;
    }
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return element;
}

const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;

/** What an interval rests on, in words (docs/uncertainty.md), for titles and screen readers. */
export function describeInterval(interval: Interval, scale: 'percent' | 'score' = 'percent'): string {
  const format = scale === 'percent' ? percent : (value: number): string => value.toFixed(3);
  const range = `95% interval ${format(interval.low)}–${format(interval.high)}`;
  if (interval.method === 'wilson') return `${range}: Wilson score interval over ${interval.cases} cases (one outcome each)`;
  if (interval.cases < 2) return `${range}: one case, no spread between cases to measure — it speaks of that case only`;
  const error = interval.se === null ? '' : scale === 'percent' ? `${(interval.se * 100).toFixed(2)} points` : interval.se.toFixed(4);
  const se = error === '' ? '' : `, standard error ${error}`;
  return `${range}: clustered by case over ${interval.cases} cases${se}, effective sample size ${interval.effectiveTrials.toFixed(1)}`;
}

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
  onSelect?: (selection: { variant: string; caseId: string } | undefined) => void;
}

export class ResultsView {
  private state: PanelState | undefined;
  private selected: { variant: string; caseId: string } | undefined;
  private chart: uPlot | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly callbacks: ViewCallbacks = {},
  ) {}

  render(state: PanelState, selected?: { variant: string; caseId: string }): void {
    this.state = state;
    if (selected) this.selected = selected;
    this.chart?.destroy();
    this.chart = undefined;
    const result = state.result;
    this.root.replaceChildren(
      this.header(result, state),
      this.summary(result, state),
      h(
        'section',
        { class: 'chart-section', 'aria-label': 'Majority vote accuracy against the number of chains, 95% intervals shaded' },
        h('h2', {}, 'maj@k — accuracy of the majority vote of k chains'),
        h('div', { id: 'majk-chart', 'data-testid': 'majk-chart', title: 'Shaded: 95% interval of each curve, clustered by case' }),
      ),
      this.matrix(result),
      h('section', { id: 'chain-viewer', 'data-testid': 'chain-viewer', 'aria-live': 'polite' }),
    );
    this.drawChart(result);
    const cell = this.selected
      ? result.cells.find((c) => c.variant === this.selected?.variant && c.caseId === this.selected.caseId)
      : undefined;
    this.showChains(cell ?? result.cells.find((c) => c.chains.length > 0));
  }

  private header(result: RunResult, state: PanelState): HTMLElement {
    const cases = new Set(result.cells.map((cell) => cell.caseId)).size;
    const progress = state.progress ? ` — ${state.progress.done}/${state.progress.total} chains` : '';
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
    return h(
      'header',
      {},
      h('h1', {}, result.promptName ?? result.promptFile.split(/[\\/]/).pop() ?? 'Results'),
      h(
        'p',
        { class: 'meta', 'data-testid': 'run-meta', 'data-run-id': result.runId, 'data-status': result.status },
        `${result.backend.id}:${result.backend.model} · ${cases} cases × ${result.variants.length} variants × ${result.samples} chains · ${result.extract} → ${result.scorer} · `,
        h('span', { class: `status status-${result.status}`, 'data-testid': 'run-status' }, result.status + progress),
      ),
      this.coverage(result, state),
      this.adjustments(result),
      actions,
    );
  }

  /** Why a run stopped, and which chains are missing, failed or replayed: an incomplete run never looks complete. */
  private coverage(result: RunResult, state: PanelState): HTMLElement | null {
    const { coverage } = result;
    const notes: string[] = [];
    if (coverage.failed > 0) notes.push(`${coverage.failed} of ${coverage.expected} chains failed`);
    if (coverage.missing > 0 && !state.progress) notes.push(`${coverage.missing} never ran`);
    if (coverage.cached > 0) notes.push(`${coverage.cached} replayed from the cache`);
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
  private adjustments(result: RunResult): HTMLElement | null {
    const messages = [...new Set((result.adjustments ?? []).map((adjustment) => adjustment.message))];
    if (messages.length === 0) return null;
    return h('p', { class: 'coverage', 'data-testid': 'run-adjustments' }, messages.join(' · '));
  }

  private summary(result: RunResult, state: PanelState): HTMLElement {
    const showScore = result.scorer === 'field-f1' || result.scorer === 'token-f1';
    const previous = new Map(state.comparison?.variants.map((v) => [v.name, v]) ?? []);
    const head = h(
      'tr',
      {},
      ...[
        'Variant',
        'Single chain',
        'Majority vote',
        `maj@${result.samples}`,
        'Agreement',
        'Entropy',
        'Invalid',
        ...(showScore ? ['Mean F1'] : []),
        'Tokens',
        'Latency',
        'Cost',
        ...(state.comparison ? ['vs. previous'] : []),
      ].map((title) => h('th', { scope: 'col' }, title)),
    );
    const rows = result.variants.map((variant) => {
      const before = previous.get(variant.name);
      const delta = before ? before.after - before.before : undefined;
      return h(
        'tr',
        { 'data-testid': 'variant-row', 'data-variant': variant.name },
        h('th', { scope: 'row' }, variant.name),
        h('td', {}, this.accuracyBar(variant, 'single')),
        h('td', {}, this.accuracyBar(variant, 'majority')),
        this.majAtKLast(variant),
        h('td', { 'data-value': variant.meanAgreement }, percent(variant.meanAgreement)),
        h('td', {}, variant.meanEntropy.toFixed(2)),
        h('td', {}, percent(variant.invalidRate)),
        showScore
          ? h(
              'td',
              {
                'data-testid': 'mean-score',
                'data-value': variant.meanScore,
                title: describeInterval(variant.meanScoreInterval, 'score'),
              },
              variant.meanScore.toFixed(3),
              h('span', { class: 'ci' }, ` [${variant.meanScoreInterval.low.toFixed(3)}–${variant.meanScoreInterval.high.toFixed(3)}]`),
            )
          : null,
        h(
          'td',
          variant.reasoningTokens > 0 ? { title: `${variant.reasoningTokens} of them reasoning (billed as output)` } : {},
          String(variant.promptTokens + variant.completionTokens),
        ),
        h('td', {}, `${Math.round(variant.meanLatencyMs)} ms`),
        h('td', {}, variant.cost === null ? '—' : `$${variant.cost.toFixed(4)}`),
        state.comparison
          ? h(
              'td',
              { class: delta === undefined ? '' : delta > 0 ? 'better' : delta < 0 ? 'worse' : '' },
              delta === undefined ? '—' : `${delta >= 0 ? '+' : ''}${(delta * 100).toFixed(1)} pt`,
            )
          : null,
      );
    });
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
      h('h2', {}, 'Accuracy per variant (95% intervals over cases)'),
      // Wide tables scroll in their own box: the page itself never scrolls sideways in a narrow panel.
      h('div', { class: 'table-scroll' }, h('table', { 'data-testid': 'variant-table' }, h('thead', {}, head), h('tbody', {}, ...rows))),
      note,
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
    const counts = which === 'single' ? `${accuracy.successes}/${accuracy.trials} chains` : `${accuracy.successes}/${accuracy.trials}`;
    const attributes = { 'data-testid': `${which}-accuracy`, 'data-value': accuracy.value, 'data-method': accuracy.method };
    return h(
      'span',
      { class: 'accuracy', ...attributes, title: description },
      h('span', { class: 'value' }, percent(accuracy.value)),
      bar,
      h('span', { class: 'ci' }, `${percent(accuracy.low)}–${percent(accuracy.high)} (${counts})`),
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

  private drawChart(result: RunResult): void {
    const container = this.root.querySelector<HTMLElement>('#majk-chart');
    const length = Math.max(0, ...result.variants.map((variant) => variant.majAtK.length));
    if (!container || length === 0) return;
    const xs = Array.from({ length }, (_, i) => i + 1);
    const line = (values: readonly number[]): (number | null)[] =>
      xs.map((k) => (values[k - 1] === undefined ? null : (values[k - 1] as number) * 100));
    // After the curves, each variant's upper and lower 95% bounds: series that draw nothing but a shaded band.
    const bounds = result.variants.flatMap((variant) => [
      line(variant.majAtKIntervals.map((interval) => interval.high)),
      line(variant.majAtKIntervals.map((interval) => interval.low)),
    ]);
    const data: uPlot.AlignedData = [xs, ...result.variants.map((variant) => line(variant.majAtK)), ...bounds];
    const fallbacks = ['#3794ff', '#d18616', '#388a34', '#652d90', '#e51400', '#bf8803'];
    const colours = result.variants.map((_, i) => themeColour(SERIES_COLOURS[i % 6] as string, fallbacks[i % 6] as string));
    const first = result.variants.length + 1;
    const foreground = themeColour('--vscode-foreground', '#444');
    const grid = themeColour('--vscode-editorWidget-border', '#8884');
    const axis = { stroke: foreground, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
    const width = Math.max(320, Math.min(900, container.clientWidth || 640));
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

  private matrix(result: RunResult): HTMLElement {
    const caseIds = [...new Set(result.cells.map((cell) => cell.caseId))];
    const byKey = new Map(result.cells.map((cell) => [cellKey(cell.variant, cell.caseId), cell]));
    const head = h(
      'tr',
      {},
      h('th', { scope: 'col' }, 'Case'),
      h('th', { scope: 'col' }, 'Expected'),
      ...result.variants.map((variant) => h('th', { scope: 'col' }, variant.name)),
    );
    const rows = caseIds.map((caseId, row) => {
      const first = result.cells.find((cell) => cell.caseId === caseId);
      const name = h('th', { scope: 'row' }, first?.caseName ?? caseId);
      if (first && this.callbacks.onReveal) {
        const link = h('button', { type: 'button', class: 'link', title: 'Show the case in the editor' }, '↗');
        link.addEventListener('click', () => this.callbacks.onReveal?.(first.location.file, first.location.line));
        name.append(' ', link);
      }
      return h(
        'tr',
        {},
        name,
        h('td', { class: 'expected' }, first?.expected === undefined ? '—' : formatValue(first.expected)),
        ...result.variants.map((variant, column) => {
          const cell = byKey.get(cellKey(variant.name, caseId));
          return h('td', {}, cell ? this.cellButton(cell, row, column) : '—');
        }),
      );
    });
    const table = h('table', { class: 'matrix', 'data-testid': 'matrix' }, h('thead', {}, head), h('tbody', {}, ...rows));
    table.addEventListener('keydown', (event) => this.navigate(event, caseIds.length, result.variants.length));
    return h('section', {}, h('h2', {}, 'Cases × variants — majority answer and agreement'), h('div', { class: 'table-scroll' }, table));
  }

  private cellButton(cell: CellResult, row: number, column: number): HTMLElement {
    const state = cell.chains.length === 0 ? 'pending' : cell.majorityPass ? 'pass' : 'fail';
    const mark = state === 'pending' ? '…' : state === 'pass' ? '✓' : '✗';
    const button = h(
      'button',
      {
        type: 'button',
        class: `cell cell-${state}`,
        'data-testid': 'cell',
        'data-variant': cell.variant,
        'data-case': cell.caseId,
        'data-row': row,
        'data-column': column,
        'aria-label': `${cell.variant}, ${cell.caseName ?? cell.caseId}: ${state}, majority ${cell.majority ?? 'none'}, agreement ${percent(cell.agreement)}`,
      },
      h('span', { class: 'mark' }, mark),
      h('span', { class: 'majority' }, cell.majority ?? (cell.chains.length ? '(no answer)' : '')),
      h(
        'span',
        { class: 'agreement', title: `agreement ${percent(cell.agreement)}` },
        h('span', { style: `width:${cell.agreement * 100}%` }),
      ),
      cell.errors > 0
        ? h('span', { class: 'errors', title: cell.chains.find((c) => c.error)?.error ?? '' }, `${cell.errors} failed`)
        : null,
    );
    button.addEventListener('click', () => {
      this.selected = { variant: cell.variant, caseId: cell.caseId };
      this.callbacks.onSelect?.(this.selected);
      this.showChains(cell);
    });
    return button;
  }

  /** Arrow keys move between cells of the matrix; Enter/Space open the chains (native buttons). */
  private navigate(event: KeyboardEvent, rows: number, columns: number): void {
    const target = event.target as HTMLElement;
    if (!target.dataset.row) return;
    let row = Number(target.dataset.row);
    let column = Number(target.dataset.column);
    if (event.key === 'ArrowDown') row = Math.min(rows - 1, row + 1);
    else if (event.key === 'ArrowUp') row = Math.max(0, row - 1);
    else if (event.key === 'ArrowRight') column = Math.min(columns - 1, column + 1);
    else if (event.key === 'ArrowLeft') column = Math.max(0, column - 1);
    else return;
    event.preventDefault();
    this.root.querySelector<HTMLElement>(`[data-row="${row}"][data-column="${column}"]`)?.focus();
  }

  private showChains(cell: CellResult | undefined): void {
    const viewer = this.root.querySelector<HTMLElement>('#chain-viewer');
    if (!viewer) return;
    for (const button of this.root.querySelectorAll('.cell[aria-pressed]')) button.removeAttribute('aria-pressed');
    if (!cell) {
      viewer.replaceChildren(h('p', { class: 'empty' }, 'No chains yet.'));
      return;
    }
    this.root
      .querySelector(`.cell[data-variant="${CSS.escape(cell.variant)}"][data-case="${CSS.escape(cell.caseId)}"]`)
      ?.setAttribute('aria-pressed', 'true');
    const total = Math.max(1, cell.chains.length);
    const histogram = h(
      'div',
      { class: 'histogram', 'data-testid': 'vote-histogram' },
      ...cell.distinct.map((entry) =>
        h(
          'div',
          { class: `vote ${entry.answer === cell.majority ? 'vote-majority' : ''}` },
          h('span', { class: 'vote-answer' }, entry.answer),
          h('span', { class: 'vote-bar' }, h('span', { style: `width:${(entry.count / total) * 100}%` })),
          h('span', { class: 'vote-count' }, `${entry.count}`),
        ),
      ),
      cell.invalid > 0
        ? h(
            'div',
            { class: 'vote vote-invalid' },
            h('span', { class: 'vote-answer' }, '(no answer)'),
            h('span', { class: 'vote-bar' }, h('span', { style: `width:${(cell.invalid / total) * 100}%` })),
            h('span', { class: 'vote-count' }, `${cell.invalid}`),
          )
        : null,
    );
    viewer.replaceChildren(
      h('h2', {}, `Chains — ${cell.variant} · ${cell.caseName ?? cell.caseId}`),
      h(
        'p',
        { class: 'meta' },
        'Expected ',
        h('code', { 'data-testid': 'expected' }, cell.expected === undefined ? '—' : formatValue(cell.expected)),
        ' · majority ',
        h('code', { 'data-testid': 'majority' }, cell.majority ?? '(none)'),
        ` · agreement ${percent(cell.agreement)} · entropy ${cell.entropy.toFixed(2)} bits`,
      ),
      histogram,
      h('div', { class: 'chains' }, ...cell.chains.map((chain) => this.chainCard(chain))),
    );
  }

  private chainCard(chain: ChainResult): HTMLElement {
    const source = chain.answerText ?? chain.text;
    const body = h('pre', { class: 'chain-text', 'data-testid': 'chain-text' });
    if (chain.answerText !== undefined) body.append(document.createTextNode(`${chain.text}\n\n`));
    if (chain.span) {
      const [start, end] = chain.span;
      body.append(
        document.createTextNode(source.slice(0, start)),
        h('mark', { class: 'answer' }, source.slice(start, end)),
        document.createTextNode(source.slice(end)),
      );
    } else {
      body.append(document.createTextNode(source));
    }
    return h(
      'article',
      { class: `chain ${chain.pass ? 'chain-pass' : 'chain-fail'}`, 'data-testid': 'chain', 'data-sample': chain.sample },
      h(
        'header',
        {},
        h('span', { class: 'mark' }, chain.pass ? '✓' : '✗'),
        ` #${chain.sample + 1} `,
        h('code', { class: 'answer-value' }, chain.answer ?? '(no answer)'),
        h(
          'span',
          { class: 'chain-meta' },
          ` ${chain.completionTokens} tok · ${Math.round(chain.latencyMs)} ms${chain.cached ? ' · cached' : ''}${chain.finishReason === 'length' ? ' · cut at max_tokens' : ''}`,
        ),
      ),
      chain.error ? h('p', { class: 'error' }, chain.error) : null,
      body,
      h('p', { class: 'reason' }, chain.reason),
    );
  }
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
