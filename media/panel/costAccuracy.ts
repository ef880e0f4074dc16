// Accuracy against cost: one point per variant, x its tokens (or cost, when every variant is priced) per case,
// y its majority-vote accuracy with the 95% interval as a vertical line. Plain SVG made with DOM APIs.
import type { RunOverview } from '../../src/shared/protocol';
import { describeInterval, h, percent } from './dom';

const SVG = 'http://www.w3.org/2000/svg';
/** The maj@k chart's colours, in its order, so a variant has one colour in both charts. */
const COLOURS = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'].map((name) => `var(--vscode-charts-${name})`);

function svg(tag: string, attributes: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return element;
}

/** A round step near range/4: 1, 2 or 5 times a power of ten. */
function niceStep(range: number): number {
  const rough = range / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const scaled = rough / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

const compact = (value: number): string =>
  value >= 1e6
    ? `${(value / 1e6).toFixed(1)}M`
    : value >= 1e4
      ? `${Math.round(value / 1e3)}k`
      : value >= 1e3
        ? `${(value / 1e3).toFixed(1)}k`
        : `${Math.round(value)}`;
const money = (value: number): string =>
  value >= 1 ? `$${value.toFixed(2)}` : value >= 0.01 ? `$${value.toFixed(3)}` : `$${value.toPrecision(2)}`;

/** The chart, or null while no variant has a case. */
export function costAccuracyChart(overview: RunOverview): HTMLElement | null {
  const variants = overview.variants.filter((variant) => variant.cases > 0);
  if (variants.length === 0) return null;
  // Cost when every variant has a price and some cost is more than nothing (a local model is free); else tokens.
  const priced = variants.every((variant) => variant.cost !== null) && variants.some((variant) => (variant.cost ?? 0) > 0);
  const xOf = (variant: (typeof variants)[number]): number =>
    (priced ? (variant.cost ?? 0) : variant.promptTokens + variant.completionTokens) / variant.cases;
  const format = priced ? money : compact;
  const [width, height] = [480, 220];
  const margin = { left: 44, right: 26, top: 10, bottom: 34 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const top = Math.max(...variants.map(xOf)) || 1;
  const step = niceStep(top * 1.1);
  const xMax = Math.ceil((top * 1.1) / step) * step;
  const x = (value: number): number => margin.left + (value / xMax) * plotWidth;
  const y = (value: number): number => margin.top + (1 - value) * plotHeight;
  const grid: SVGElement[] = [];
  for (let tick = 0; tick <= xMax + step / 2; tick += step)
    grid.push(svg('text', { x: x(tick), y: height - margin.bottom + 14, 'text-anchor': 'middle', class: 'tick' }, format(tick)));
  for (const tick of [0, 0.25, 0.5, 0.75, 1])
    grid.push(
      svg('line', {
        x1: margin.left,
        x2: width - margin.right,
        y1: y(tick),
        y2: y(tick),
        class: 'axis',
        'stroke-dasharray': tick === 0 ? '' : '2 3',
      }),
      svg('text', { x: margin.left - 6, y: y(tick) + 4, 'text-anchor': 'end', class: 'tick' }, `${tick * 100}%`),
    );
  const points = variants.map((variant, i) => {
    const colour = COLOURS[i % COLOURS.length] as string;
    const accuracy = variant.majorityVote;
    const [cx, cy] = [x(xOf(variant)), y(accuracy.value)];
    const perCorrect =
      priced && variant.costPerCorrect !== null
        ? `${money(variant.costPerCorrect)} per correct case`
        : variant.tokensPerCorrect !== null
          ? `${compact(variant.tokensPerCorrect)} tokens per correct case`
          : 'no case right';
    const title = `${variant.name}: majority vote ${percent(accuracy.value)} (${describeInterval(accuracy)}); ${format(xOf(variant))} ${priced ? '' : 'tokens '}per case; ${perCorrect}`;
    const interval = svg('line', {
      x1: cx,
      x2: cx,
      y1: y(accuracy.high),
      y2: y(accuracy.low),
      'stroke-width': 2,
      'stroke-linecap': 'round',
    });
    const dot = svg('circle', { cx, cy, r: 4.5 });
    // Theme colours are CSS variables, which SVG presentation attributes do not read: set through the CSSOM.
    interval.style.setProperty('stroke', colour);
    dot.style.setProperty('fill', colour);
    const label = svg('text', { x: cx + 7, y: cy - 6, 'text-anchor': cx > width - 110 ? 'end' : 'start' }, variant.name);
    if (cx > width - 110) label.setAttribute('x', String(cx - 7));
    return svg(
      'g',
      { 'data-testid': 'cost-point', 'data-variant': variant.name, 'data-x': xOf(variant), 'data-y': accuracy.value },
      svg('title', {}, title),
      interval,
      dot,
      label,
    );
  });
  const axisLabel = priced ? 'cost per case' : 'tokens per case';
  const chart = svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-label': `Majority-vote accuracy against ${axisLabel}, one point per variant`,
    },
    ...grid,
    svg('text', { x: margin.left + plotWidth / 2, y: height - 4, 'text-anchor': 'middle', class: 'axis-label' }, `${axisLabel} →`),
    ...points,
  );
  return h(
    'section',
    { class: 'cost-accuracy', 'data-testid': 'cost-accuracy', 'aria-label': 'Accuracy against cost per variant' },
    h('h2', {}, `Accuracy against ${axisLabel} — majority vote, 95% intervals`),
    chart,
  );
}
