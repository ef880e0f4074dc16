// The cell detail drawer: one cell's votes and every chain, beside the matrix where the user is. It shows
// the cell's summary at once and its chains when they arrive (they are fetched on demand).
import type { AnswerCluster, CellResult, ChainResult } from '../../src/core/eval/results';
import type { CellPrompt, CellSummary } from '../../src/shared/protocol';
import { cellKey } from '../../src/core/eval/keys';
import { formatValue, h, percent } from './dom';
import { cellState } from './matrix';
import { traceBlock } from './trace';

export interface DrawerContent {
  variant: string;
  caseId: string;
  summary: CellSummary | undefined;
  /** The case's variants, for switching without closing. */
  siblings: { variant: string; cell: CellSummary | undefined }[];
  /** The whole cell once fetched; undefined while loading. */
  cell: CellResult | undefined;
  /** The cell's rendered prompt once fetched (Show prompt). */
  prompt?: CellPrompt | undefined;
}

export interface DrawerCallbacks {
  onClose: () => void;
  onSwitch: (variant: string) => void;
  onReveal?: (file: string, line: number) => void;
  /** The reader opened Show prompt (absent: no prompt to show, as in the HTML report). */
  onShowPrompt?: () => void;
}

let drawers = 0;

export class Drawer {
  readonly element: HTMLElement;
  private readonly title: HTMLElement;
  private readonly content: HTMLElement;
  private readonly closeButton: HTMLElement;
  private shownCell: CellResult | undefined;
  private shownKey = '';
  private bodyKey: CellResult | string | undefined;
  private readonly info = h('div');
  /** The case's inputs: the same for every variant, so kept (with the reader's selection) across variant switches. */
  private readonly inputs = h('div');
  private inputsShown: { caseId: string; shows: 'none' | 'preview' | 'full' } | undefined;
  private readonly stats = h('div');
  /** Show prompt: a disclosure whose prompt is fetched when opened; it stays open from cell to cell. */
  private readonly promptDetails: HTMLDetailsElement | undefined;
  private readonly promptBody = h('div', { class: 'prompt-body', 'data-testid': 'prompt' });
  private promptKey: CellPrompt | string | undefined;
  private readonly body = h('div');

  constructor(private readonly callbacks: DrawerCallbacks) {
    const titleId = `cell-drawer-title-${++drawers}`;
    this.title = h('h2', { id: titleId });
    this.closeButton = h(
      'button',
      { type: 'button', class: 'drawer-close', 'aria-label': 'Close', title: 'Close (Escape)', 'data-testid': 'drawer-close' },
      '✕',
    );
    this.closeButton.addEventListener('click', () => this.callbacks.onClose());
    if (callbacks.onShowPrompt) {
      this.promptDetails = h(
        'details',
        { class: 'prompt', 'data-testid': 'prompt-details' },
        h('summary', { 'data-testid': 'show-prompt' }, 'Show prompt'),
        this.promptBody,
      ) as HTMLDetailsElement;
      this.promptDetails.addEventListener('toggle', () => {
        if (this.promptDetails?.open) this.callbacks.onShowPrompt?.();
      });
    }
    this.content = h('div', { class: 'drawer-content' }, this.info, this.stats, this.inputs, this.promptDetails ?? null, this.body);
    this.element = h(
      'aside',
      { class: 'drawer', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': titleId, 'data-testid': 'cell-drawer', hidden: true },
      h('div', { class: 'drawer-head' }, this.title, this.closeButton),
      this.content,
    );
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  focus(): void {
    this.closeButton.focus();
  }

  /** Whether Show prompt is open: the view then fetches the prompt of each cell shown. */
  get promptOpen(): boolean {
    return this.promptDetails?.open === true;
  }

  close(): void {
    this.element.hidden = true;
    this.info.replaceChildren();
    this.inputs.replaceChildren();
    this.inputsShown = undefined;
    this.stats.replaceChildren();
    this.promptBody.replaceChildren();
    this.promptKey = undefined;
    this.body.replaceChildren();
    this.bodyKey = undefined;
    this.shownCell = undefined;
    this.shownKey = '';
  }

  /** Shows a cell; keeps the reader's scroll position when it is the same cell, refreshed. */
  show(content: DrawerContent): void {
    const key = cellKey(content.variant, content.caseId);
    const same = key === this.shownKey;
    const scroll = same ? this.content.scrollTop : 0;
    // A variant switched from the strip keeps the keyboard there: its button is focused again once redrawn.
    const active = document.activeElement as HTMLElement | null;
    const focusedVariant = active && this.element.contains(active) ? active.dataset?.switchVariant : undefined;
    this.element.hidden = false;
    this.shownKey = key;
    this.shownCell = content.cell;
    const { summary } = content;
    const caseName = summary?.caseName ?? content.caseId;
    this.title.textContent = `${caseName} · ${content.variant}`;
    const expected = summary?.expected ?? content.cell?.expected;
    const location = summary?.location ?? content.cell?.location;
    let reveal: HTMLElement | null = null;
    if (location && this.callbacks.onReveal) {
      reveal = h('button', { type: 'button', class: 'link', 'data-testid': 'reveal-case' }, 'Show in editor ↗');
      reveal.addEventListener('click', () => this.callbacks.onReveal?.(location.file, location.line));
    } else if (location) {
      reveal = h('span', { class: 'location' }, `${location.file.split(/[\\/]/).pop() ?? location.file}:${location.line + 1}`);
    }
    const caseInfo = h(
      'p',
      { class: 'meta drawer-case' },
      h('span', { class: 'case-id' }, summary?.caseName ? `${summary.caseName} (${content.caseId})` : content.caseId),
      ' · expected ',
      h('code', { 'data-testid': 'expected' }, expected === undefined ? '—' : formatValue(expected)),
      reveal ? ' · ' : null,
      reveal,
      attackLine(summary?.attack ?? content.cell?.attack, summary?.defence ?? content.cell?.defence),
    );
    const tabs = caseAcrossVariants(content.siblings, content.variant, (variant) => this.callbacks.onSwitch(variant));
    const stats = summary ?? content.cell;
    const statsLine = stats ? winnerLine(stats, summary?.chains ?? content.cell?.chains.length ?? 0, expected, summary) : null;
    // The chains are redrawn only when another fetch of them arrives: a reader's selection survives other updates.
    const bodyKey = content.cell ? content.cell : summary && summary.chains === 0 ? 'No chains yet.' : 'Loading chains…';
    if (!same || bodyKey !== this.bodyKey) {
      this.bodyKey = bodyKey;
      this.body.replaceChildren(
        ...(content.cell
          ? [this.histogram(content.cell), chainsByCluster(content.cell)]
          : [h('p', { class: 'loading', 'data-testid': 'drawer-loading', role: 'status' }, bodyKey as string)]),
      );
    }
    // The whole inputs come with the cell, the one-line preview until then; a variant switch keeps what the case shows.
    const input = content.cell?.input;
    const shows = input ? 'full' : summary?.inputPreview ? 'preview' : 'none';
    const before = this.inputsShown?.caseId === content.caseId ? this.inputsShown.shows : undefined;
    if (before === undefined || (before !== 'full' && shows !== 'none' && shows !== before)) {
      this.inputsShown = { caseId: content.caseId, shows };
      this.inputs.replaceChildren(caseInputs(input, summary?.inputPreview) ?? '');
    }
    const promptKey = content.prompt ?? 'Rendering the prompt…';
    if (this.promptDetails && (!same || promptKey !== this.promptKey)) {
      this.promptKey = promptKey;
      this.promptBody.replaceChildren(
        ...(content.prompt ? promptView(content.prompt) : [h('p', { class: 'loading', role: 'status' }, promptKey as string)]),
      );
    }
    this.info.replaceChildren(caseInfo);
    this.stats.replaceChildren(tabs, statsLine ?? '');
    this.content.scrollTop = scroll;
    if (focusedVariant) this.content.querySelector<HTMLElement>(`[data-switch-variant="${CSS.escape(focusedVariant)}"]`)?.focus();
  }

  /** The cell on show, if its chains are. */
  get cell(): CellResult | undefined {
    return this.shownCell;
  }

  private histogram(cell: CellResult): HTMLElement {
    const total = Math.max(1, cell.chains.length);
    const passes = new Map<string, boolean>();
    for (const chain of cell.chains)
      if (chain.answer !== undefined) passes.set(chain.answer, (passes.get(chain.answer) ?? false) || chain.pass);
    const row = (answer: string, count: number, kind: string, mark: string): HTMLElement =>
      h(
        'div',
        { class: `vote ${kind}` },
        h('span', { class: 'vote-answer', title: answer }, answer),
        h('span', { class: `vote-mark ${mark === '✓' ? 'verdict-pass' : mark === '✗' ? 'verdict-fail' : ''}` }, mark),
        h('span', { class: 'vote-bar' }, h('span', { style: `width:${(count / total) * 100}%` })),
        h('span', { class: 'vote-count' }, `${count}`),
      );
    return h(
      'div',
      { class: 'histogram', 'data-testid': 'vote-histogram' },
      ...cell.distinct.map((entry) => {
        const pass = passes.get(entry.answer);
        const majority = entry.answer === cell.majority;
        const kind = majority ? (cell.majorityPass ? 'vote-majority vote-pass' : 'vote-majority vote-fail') : 'vote-other';
        return row(entry.answer, entry.count, kind, pass === undefined ? '' : pass ? '✓' : '✗');
      }),
      cell.invalid > 0 ? row('(no answer)', cell.invalid, 'vote-invalid', '') : null,
    );
  }
}

/**
 * The case in every variant side by side: verdict, majority answer, agreement and chains, one row per
 * variant; a row switches the drawer to that variant (its button keeps keyboard access).
 */
function caseAcrossVariants(siblings: DrawerContent['siblings'], current: string, onSwitch: (variant: string) => void): HTMLElement {
  const rows = siblings.map(({ variant, cell }) => {
    const state = cellState(cell);
    const button = h(
      'button',
      {
        type: 'button',
        class: 'link variant-tab',
        'aria-pressed': variant === current ? 'true' : 'false',
        'data-switch-variant': variant,
        title: variant,
      },
      variant,
    );
    const row = h(
      'tr',
      { class: `cell-${state}${variant === current ? ' current' : ''}`, 'data-testid': 'case-variant', 'data-variant': variant },
      h('th', { scope: 'row' }, button),
      h(
        'td',
        { class: `mark ${state === 'pass' ? 'verdict-pass' : state === 'fail' ? 'verdict-fail' : ''}` },
        state === 'pending' ? '…' : state === 'pass' ? '✓' : '✗',
      ),
      h(
        'td',
        { class: 'strip-answer', title: cell?.majority ?? '' },
        h('code', {}, cell?.majority ?? (cell && cell.chains > 0 ? '(none)' : '')),
      ),
      h('td', {}, cell && cell.chains > 0 ? percent(cell.agreement) : ''),
      h('td', {}, cell ? String(cell.chains) : ''),
    );
    // The whole row is a target for the pointer; the button is the one for the keyboard.
    row.addEventListener('click', (event) => {
      if (event.target !== button) onSwitch(variant);
    });
    button.addEventListener('click', () => onSwitch(variant));
    return row;
  });
  return h(
    'table',
    { class: 'case-variants', 'data-testid': 'case-variants', 'aria-label': 'This case in every variant' },
    h('thead', {}, h('tr', {}, ...['Variant', '', 'Majority', 'Agreement', 'Chains'].map((title) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, ...rows),
  );
}

/** The winner and why, in words: "majority 13 — 6 of 8 chains; correct (expected 13)". */
function winnerLine(
  stats: { majority?: string | undefined; majorityPass: boolean; agreement: number; entropy: number },
  chains: number,
  expected: unknown,
  summary: CellSummary | undefined,
): HTMLElement {
  if (chains === 0) return h('div', { class: 'winner', 'data-testid': 'winner' }, h('p', { class: 'winner-line' }, 'No chains yet.'));
  const votes = Math.round(stats.agreement * chains);
  // A live cell's verdict can still turn: it is said to be so far.
  const sofar = summary && summary.missing > 0 ? ' so far' : '';
  const expectedText = expected === undefined ? '' : ` (expected ${formatValue(expected)})`;
  const details = [
    `agreement ${percent(stats.agreement)}`,
    `entropy ${stats.entropy.toFixed(2)} bits`,
    summary && summary.errors > 0 ? `${summary.errors} failed` : '',
    summary && summary.missing > 0 ? `${summary.missing} not run yet` : '',
  ].filter(Boolean);
  return h(
    'div',
    { class: 'winner', 'data-testid': 'winner' },
    h(
      'p',
      { class: 'winner-line' },
      stats.majority === undefined
        ? `No majority — no chain of ${chains} gave an answer${sofar}; wrong${expectedText}`
        : h(
            'span',
            {},
            'majority ',
            h('code', { class: stats.majorityPass ? 'verdict-pass' : 'verdict-fail', 'data-testid': 'majority' }, stats.majority),
          ),
      stats.majority === undefined ? null : ` — ${votes} of ${chains} chain${chains === 1 ? '' : 's'}${sofar}; `,
      stats.majority === undefined
        ? null
        : h('strong', { class: stats.majorityPass ? 'verdict-pass' : 'verdict-fail' }, stats.majorityPass ? '✓ correct' : '✗ wrong'),
      stats.majority === undefined ? null : expectedText,
    ),
    h('p', { class: 'meta' }, details.join(' · ')),
  );
}

/** The case's inputs, one per variable in their order, each value as text; the preview while the cell is on its way. */
function caseInputs(input: Record<string, unknown> | undefined, preview: string | undefined): HTMLElement | null {
  if (!input) return preview ? h('p', { class: 'meta case-inputs', 'data-testid': 'drawer-input' }, preview) : null;
  const entries = Object.entries(input);
  if (entries.length === 0) return null;
  return h(
    'dl',
    { class: 'case-inputs', 'data-testid': 'drawer-input', 'aria-label': 'Inputs of this case' },
    ...entries.flatMap(([name, value]) => [
      h('dt', {}, name),
      h('dd', {}, h('pre', { class: 'input-value' }, typeof value === 'string' ? value : JSON.stringify(value, null, 2))),
    ]),
  );
}

/** A rendered prompt as the model got it: each chat turn under its role, or the base model's one text; all as text. */
function promptView(prompt: CellPrompt): HTMLElement[] {
  if (prompt.error !== undefined) return [h('p', { class: 'error', 'data-testid': 'prompt-error' }, prompt.error)];
  const messages = prompt.messages ?? [];
  return [
    h(
      'p',
      { class: 'meta' },
      prompt.input === 'chat'
        ? `${messages.length} chat message${messages.length === 1 ? '' : 's'}, as sent to the model`
        : 'One text, as sent to the base model',
      prompt.changed ? ' — rendered from the prompt file as it is now: it changed since this run.' : '',
    ),
    ...(prompt.input === 'chat'
      ? messages.map((message) =>
          h(
            'div',
            { class: `prompt-message prompt-${message.role}`, 'data-testid': 'prompt-message', 'data-role': message.role },
            h('div', { class: 'prompt-role' }, message.role),
            h('pre', { class: 'prompt-text' }, message.content),
          ),
        )
      : [h('pre', { class: 'prompt-text', 'data-testid': 'prompt-text' }, prompt.text ?? '')]),
    ...(prompt.answerPrompt !== undefined
      ? [h('p', { class: 'meta' }, 'Then, after each chain:'), h('pre', { class: 'prompt-text' }, prompt.answerPrompt)]
      : []),
  ];
}

/**
 * The chains grouped by answer cluster: the winner's first, then the runners-up, then "(no answer)", each a
 * collapsible group whose header shows the answer, its chains and its verdict. In each runner-up's first
 * chain the word where it parts from the winner's first chain is marked. A result without clusters (an
 * older one) lists its chains as they are.
 */
export function chainsByCluster(cell: CellResult): HTMLElement {
  if (!cell.clusters) return h('div', { class: 'chains' }, ...cell.chains.map((chain) => chainCard(chain)));
  const bySample = new Map(cell.chains.map((chain) => [chain.sample, chain]));
  const winner = cell.clusters.find((cluster) => cluster.majority);
  return h(
    'div',
    { class: 'chains clusters' },
    ...cell.clusters.map((cluster) => {
      const chains = cluster.samples.map((sample) => bySample.get(sample)).filter((chain) => chain !== undefined);
      return h(
        'details',
        {
          class: `cluster ${cluster.majority ? 'cluster-majority' : cluster.invalid ? 'cluster-invalid' : 'cluster-other'}`,
          'data-testid': 'cluster',
          'data-answer': cluster.answer ?? '',
          'data-count': cluster.count,
          open: true,
        },
        clusterHeader(cluster, winner),
        ...chains.map((chain, i) => chainCard(chain, i === 0 ? cluster.divergesAt?.offset : undefined)),
      );
    }),
  );
}

function clusterHeader(cluster: AnswerCluster, winner: AnswerCluster | undefined): HTMLElement {
  const mark = cluster.invalid ? '' : cluster.pass ? '✓' : '✗';
  const first = cluster.samples[0];
  const winnerFirst = winner?.samples[0];
  return h(
    'summary',
    {},
    h('span', { class: `mark ${mark === '✓' ? 'verdict-pass' : mark === '✗' ? 'verdict-fail' : ''}` }, mark),
    ' ',
    h('code', { class: 'cluster-answer' }, cluster.answer ?? '(no answer)'),
    h(
      'span',
      { class: 'cluster-meta' },
      ` · ${cluster.count} chain${cluster.count === 1 ? '' : 's'}${cluster.majority ? ' · majority' : ''}`,
      cluster.answers ? ` · also ${cluster.answers.slice(1).join(' · ')}` : '',
      cluster.divergesAt && first !== undefined && winnerFirst !== undefined
        ? ` · #${first + 1} parts from #${winnerFirst + 1} at word ${cluster.divergesAt.token + 1}`
        : '',
    ),
  );
}

/** One chain: its text with the extracted answer marked by its span, as text only; `diverge`: an offset in its `text` to mark the word at. */
export function chainCard(chain: ChainResult, diverge?: number): HTMLElement {
  const source = chain.answerText ?? chain.text;
  const body = h('pre', { class: 'chain-text', 'data-testid': 'chain-text' });
  const prefix = chain.answerText !== undefined ? `${chain.text}\n\n` : '';
  const full = prefix + source;
  const answer = chain.span ? [prefix.length + chain.span[0], prefix.length + chain.span[1]] : undefined;
  const word = diverge === undefined ? undefined : /\S+/.exec(chain.text.slice(diverge));
  const parting = word && diverge !== undefined ? [diverge + word.index, diverge + word.index + word[0].length] : undefined;
  // Cut the text where a mark starts or ends; each piece is text, wrapped in the marks it lies in.
  const cuts = [...new Set([0, full.length, ...(answer ?? []), ...(parting ?? [])])].sort((a, b) => a - b);
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [from, to] = [cuts[i] as number, cuts[i + 1] as number];
    if (from >= to) continue;
    let piece: Node = document.createTextNode(full.slice(from, to));
    if (parting && from >= (parting[0] as number) && to <= (parting[1] as number))
      piece = h(
        'mark',
        { class: 'diverge', 'data-testid': 'diverge', title: 'Where this chain first parts from the winning chain' },
        piece,
      );
    if (answer && from >= (answer[0] as number) && to <= (answer[1] as number)) piece = h('mark', { class: 'answer' }, piece);
    body.append(piece);
  }
  return h(
    'article',
    {
      class: `chain ${chain.pass ? 'chain-pass' : 'chain-fail'}${chain.trace?.length ? ' chain-traced' : ''}`,
      'data-testid': 'chain',
      'data-sample': chain.sample,
    },
    h(
      'header',
      {},
      h('span', { class: 'mark' }, chain.pass ? '✓' : '✗'),
      ` #${chain.sample + 1} `,
      h('code', { class: 'answer-value' }, chain.answer ?? '(no answer)'),
      h(
        'span',
        { class: 'chain-meta' },
        ` ${chain.completionTokens} tok${chain.reasoningTokens ? ` (${chain.reasoningTokens} reasoning)` : ''} · ${Math.round(chain.latencyMs)} ms${chain.cached ? ' · cached' : ''}${chain.finishReason === 'length' ? ' · cut at max_tokens' : ''}`,
      ),
    ),
    chain.error ? h('p', { class: 'error' }, chain.error) : null,
    attackOutcome(chain.attack),
    reasoningBlock(chain),
    body,
    h('p', { class: 'reason' }, chain.reason),
    judgeVerdicts(chain.judge),
    traceBlock(chain.trace),
  );
}

/** An attacked case's attack and the defence of its variant, after the case line. */
function attackLine(attack: CellResult['attack'], defence: string | undefined): HTMLElement | null {
  if (!attack && (defence === undefined || defence === 'none')) return null;
  return h(
    'span',
    { class: 'drawer-attack', 'data-testid': 'drawer-attack' },
    attack ? ` · attack ${attack.id} (${attack.suite}) on case ${attack.baseCase}` : null,
    defence !== undefined && defence !== 'none' ? ` · defence ${defence}` : null,
  );
}

/** Whether the attack worked in this chain, and the detector's reason. */
function attackOutcome(attack: ChainResult['attack']): HTMLElement | null {
  if (!attack) return null;
  const outcome = attack.success === undefined ? 'undecided' : attack.success ? 'worked' : 'blocked';
  return h(
    'p',
    { class: `attack-outcome attack-${outcome}`, 'data-testid': 'chain-attack', 'data-outcome': outcome },
    h('span', { class: 'attack-verdict' }, `attack ${outcome}`),
    `: ${attack.reason}`,
  );
}

/** The judge's verdicts on this chain, one per repeat: pass, fail or invalid, with its reason. */
function judgeVerdicts(verdicts: ChainResult['judge']): HTMLElement | null {
  if (!verdicts || verdicts.length === 0) return null;
  return h(
    'ol',
    { class: 'judge-verdicts', 'data-testid': 'judge-verdicts', title: 'The judge’s verdicts on this chain; their majority decides' },
    ...verdicts.map((verdict) => {
      const kind = verdict.invalid !== undefined || verdict.pass === undefined ? 'invalid' : verdict.pass ? 'pass' : 'fail';
      const score = verdict.score !== undefined ? ` ${verdict.score.toFixed(2)}` : '';
      const why = kind === 'invalid' ? (verdict.invalid ?? '') : (verdict.reason ?? '');
      return h('li', { 'data-verdict': kind }, h('span', { class: `verdict-${kind}` }, `judge: ${kind}${score}`), why ? ` — ${why}` : null);
    }),
  );
}

/** The chain's reasoning (`reasoning_content`, or its `<think>` block), folded: it is long, and the answer is not read from it. */
function reasoningBlock(chain: ChainResult): HTMLElement | null {
  if (chain.reasoning === undefined) return null;
  return h(
    'details',
    { class: 'reasoning', 'data-testid': 'chain-reasoning' },
    h('summary', {}, `reasoning · ${chain.reasoning.length.toLocaleString('en-US')} characters`),
    h('pre', { class: 'reasoning-text' }, chain.reasoning),
  );
}
