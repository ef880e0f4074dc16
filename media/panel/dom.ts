// Small DOM helpers shared by the parts of the results view. Model output and case data are only ever
// set as text (text nodes), never parsed as HTML.
import type { Interval } from '../../src/core/eval/results';

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

export const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;

export function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A duration in words, for an ETA or a silence: "12 s", "3 min", "1 h 5 min". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

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

/**
 * A "Columns" menu: one checkbox per column, checked when shown. It is built once and kept, so toggling
 * a column never closes it or moves focus; `onChange` hides or shows the column in place.
 */
export function columnChooser(
  testId: string,
  onChange: (key: string, shown: boolean) => void,
): {
  element: HTMLDetailsElement;
  setOptions: (options: readonly { key: string; title: string }[], hidden: ReadonlySet<string>) => void;
} {
  const list = h('div', { class: 'column-list', role: 'group', 'aria-label': 'Columns shown' });
  const element = h('details', { class: 'column-menu', 'data-testid': testId }, h('summary', {}, 'Columns'), list) as HTMLDetailsElement;
  let shownKeys = '';
  const boxes = new Map<string, HTMLInputElement>();
  return {
    element,
    setOptions: (options, hidden) => {
      // The same columns: only their checks are set, so the box the user is on keeps its focus.
      const keys = options.map(({ key, title }) => `${key}\u0000${title}`).join('\u0001');
      if (keys !== shownKeys) {
        shownKeys = keys;
        boxes.clear();
        list.replaceChildren(
          ...options.map(({ key, title }) => {
            const box = h('input', { type: 'checkbox', 'data-column-key': key }) as HTMLInputElement;
            box.addEventListener('change', () => onChange(key, box.checked));
            boxes.set(key, box);
            return h('label', { title }, box, ` ${title}`);
          }),
        );
      }
      for (const [key, box] of boxes) box.checked = !hidden.has(key);
    },
  };
}
