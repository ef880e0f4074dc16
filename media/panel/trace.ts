// A reasoning shape's trace under its chain: the tree (or graph) of thoughts as nested, collapsible lists, pruned
// branches dimmed, the path to the answer marked. Model output is set as text only.
import type { TraceNode } from '../../src/core/shapes/types';
import { leadsToAnswer, traceTree, type TraceTreeNode } from '../../src/core/report/traceTree';
import { h } from './dom';

/** Up to this many nodes a trace opens in full; a bigger one opens along the path to the answer only. */
const OPEN_IN_FULL = 40;

/** The Trace block of a chain; null for a chain without one. */
export function traceBlock(trace: readonly TraceNode[] | undefined): HTMLElement | null {
  if (!trace || trace.length === 0) return null;
  const tree = traceTree(trace);
  const openAll = tree.nodes <= OPEN_IN_FULL;
  const list = h('ul', { class: 'trace-tree', 'data-testid': 'trace-tree' }, ...tree.roots.map((entry) => traceItem(entry, openAll)));
  const expand = h('button', { type: 'button', class: 'link', 'data-testid': 'trace-expand' }, 'Expand all');
  const collapse = h(
    'button',
    { type: 'button', class: 'link', 'data-testid': 'trace-collapse', title: 'Close every node off the path to the answer' },
    tree.onPath > 0 ? 'Collapse to path' : 'Collapse all',
  );
  expand.addEventListener('click', () => {
    for (const details of list.querySelectorAll('details')) details.open = true;
  });
  collapse.addEventListener('click', () => {
    for (const details of list.querySelectorAll<HTMLDetailsElement>('details')) details.open = details.dataset.leadsToAnswer === 'true';
  });
  const tokens = tree.promptTokens + tree.completionTokens;
  const counts = [
    `${tree.nodes} node${tree.nodes === 1 ? '' : 's'}`,
    tree.pruned > 0 ? `${tree.pruned} pruned` : '',
    `${tokens.toLocaleString('en-US')} tok`,
  ].filter(Boolean);
  return h(
    'section',
    { class: 'trace', 'data-testid': 'chain-trace', 'aria-label': 'Trace of this chain' },
    h(
      'div',
      { class: 'trace-head' },
      h('span', { class: 'trace-title' }, 'Trace'),
      h(
        'span',
        {
          class: 'trace-counts',
          title: `${tree.promptTokens.toLocaleString('en-US')} prompt + ${tree.completionTokens.toLocaleString('en-US')} output tokens`,
        },
        counts.join(' · '),
      ),
      h('span', { class: 'trace-controls' }, expand, collapse),
    ),
    list,
  );
}

function traceItem(entry: TraceTreeNode, openAll: boolean): HTMLElement {
  const { node } = entry;
  const classes = ['trace-node', node.kept === false ? 'trace-pruned' : '', node.onPath ? 'trace-path' : ''].filter(Boolean).join(' ');
  const attributes = { class: classes, 'data-testid': 'trace-node', 'data-node': node.id, 'data-role': node.role };
  if (entry.children.length === 0) return h('li', attributes, h('div', { class: 'trace-line' }, ...nodeLine(entry)));
  const leads = leadsToAnswer(entry);
  const details = h(
    'details',
    { open: openAll || leads, 'data-leads-to-answer': leads ? 'true' : 'false' },
    h('summary', { class: 'trace-line' }, ...nodeLine(entry)),
    h('ul', {}, ...entry.children.map((child) => traceItem(child, openAll))),
  );
  return h('li', attributes, details);
}

/** One node on one line: role, id, its text clipped to two lines (all of it on click and in the tooltip), then score and tokens. */
function nodeLine({ node, merges, feeds }: TraceTreeNode): HTMLElement[] {
  const text = h(
    'span',
    { class: 'trace-text', title: node.text },
    h('span', { class: 'trace-id' }, node.id),
    merges.length > 0 ? h('span', { class: 'trace-merges' }, `merges ${merges.join(', ')}`) : null,
    feeds.length > 0 ? h('span', { class: 'trace-feeds' }, `merged into ${feeds.join(', ')}`) : null,
    node.error !== undefined ? h('span', { class: 'error' }, `failed: ${node.error}`) : node.text,
  );
  text.addEventListener('click', (event) => {
    // Only a clipped text (or one shown in full) takes the click; otherwise it opens or closes the node as usual.
    if (!text.classList.contains('trace-full') && text.scrollHeight <= text.clientHeight) return;
    event.preventDefault();
    text.classList.toggle('trace-full');
  });
  const tokens = node.promptTokens + node.completionTokens;
  return [
    h('span', { class: `trace-role trace-role-${node.role}` }, node.role),
    text,
    h(
      'span',
      { class: 'trace-meta' },
      node.score !== undefined ? h('span', { class: 'trace-score' }, `score ${formatScore(node.score)}`) : null,
      h(
        'span',
        {
          class: 'trace-tokens',
          title: `${node.promptTokens} prompt + ${node.completionTokens} output tokens: this node's share of its request`,
        },
        `${tokens.toLocaleString('en-US')} tok`,
      ),
      node.kept === false ? h('span', { class: 'trace-flag', 'data-testid': 'trace-pruned' }, 'pruned') : null,
      node.onPath ? h('span', { class: 'trace-flag trace-flag-path', 'data-testid': 'trace-on-path' }, 'on path') : null,
    ),
  ];
}

/** A vote count as it is, a rating with two decimals. */
function formatScore(score: number): string {
  return Number.isInteger(score) ? String(score) : score.toFixed(2);
}
