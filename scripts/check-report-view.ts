// Checks the results view on a big run: a synthetic HTML report of 5,000 cases × 3 variants, opened in
// headless Chromium. The page must load quickly, draw only the rows in view, scroll, search, move focus
// across rows not drawn yet, and open a cell's drawer with its chains. Then the same view as the editor's
// panel, fed the extension's messages by hand: a live run's progress and Cancel, chains fetched on
// opening, a small saved state, and honest status (stalled, lost, interrupted after a reload).
//   npm run build && npx tsx scripts/check-report-view.ts [--chromium /usr/bin/chromium] [--keep out.html]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { makeReport } from '../src/core/eval/report';
import {
  RESULT_SCHEMA,
  type Accuracy,
  type CellResult,
  type ChainResult,
  type RunResult,
  type VariantSummary,
} from '../src/core/eval/results';
import { answerClusters } from '../src/core/eval/clusters';
import { renderHtmlReport } from '../src/core/report/html';
import { splitResult } from '../src/core/eval/cellSummary';
import { compareVariants } from '../src/core/eval/paired';
import { compareRuns, sideOfResult, type Comparison } from '../src/core/eval/compare';
import type { FromWebview, SavedPanelState, ToWebview } from '../src/shared/protocol';
import type { TraceNode } from '../src/core/shapes/types';

const CASES = 5000;
const SAMPLES = 5;
const VARIANTS = ['direct', 'cot', 'cot-sc'];

const argument = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
};

function accuracy(value: number, trials: number): Accuracy {
  const se = Math.sqrt((value * (1 - value)) / trials);
  return {
    value,
    successes: Math.round(value * trials),
    trials,
    low: Math.max(0, value - 2 * se),
    high: Math.min(1, value + 2 * se),
    method: 'wilson',
    se,
    cases: CASES,
    effectiveTrials: trials,
  };
}

function syntheticRun(): RunResult {
  const cells: CellResult[] = [];
  for (let i = 0; i < CASES; i++) {
    const expected = String(i % 97);
    VARIANTS.forEach((variant, v) => {
      // Every fourth case: the chain-of-thought variants disagree; the direct variant is wrong on odd cases.
      const answers = Array.from({ length: SAMPLES }, (_, sample) =>
        String(i % 4 === 0 && v > 0 ? (i + sample) % 97 : (i + (v === 0 && i % 2 === 1 ? 1 : 0)) % 97),
      );
      const counts = new Map<string, number>();
      for (const answer of answers) counts.set(answer, (counts.get(answer) ?? 0) + 1);
      const distinct = [...counts].map(([answer, count]) => ({ answer, count })).sort((a, b) => b.count - a.count);
      const majority = distinct[0]?.answer;
      cells.push({
        variant,
        caseId: `case-${i}`,
        caseName: `synthetic case ${i}`,
        input: { question: `What is ${i} + 1?`, n: i },
        expected,
        location: { file: '/tmp/synthetic.jsonl', line: i },
        chains: answers.map((answer, sample) => {
          const text = `Step by step for case ${i}, chain ${sample}: the answer is ${answer}.`;
          const start = text.lastIndexOf(answer);
          return {
            sample,
            text,
            finishReason: 'stop',
            latencyMs: 10,
            answer,
            span: [start, start + answer.length] as [number, number],
            score: answer === expected ? 1 : 0,
            pass: answer === expected,
            reason: answer === expected ? 'equal' : `${answer} ≠ ${expected}`,
            promptTokens: 10,
            completionTokens: 12,
            // A reasoning model's thoughts, with markup that must stay text.
            ...(i === 0 && sample === 1 ? { reasoning: REASONING } : {}),
            // A tree of thought's trace, with markup that must stay text.
            ...(i === 0 && variant === 'cot' && sample === 2 ? { trace: TRACE } : {}),
          };
        }),
        majority,
        majorityPass: majority === expected,
        majorityScore: majority === expected ? 1 : 0,
        agreement: (distinct[0]?.count ?? 0) / SAMPLES,
        entropy: 0,
        distinct,
        clusters: answerClusters(
          answers.map(
            (answer, sample) => ({ sample, text: `Step by step for case ${i}, chain ${sample}: the answer is ${answer}.` }) as ChainResult,
          ),
          answers,
          distinct.map((entry) => entry.answer),
          (answer) => answer,
          (answer) => answer === expected,
        ),
        majAtK: [],
        invalid: 0,
        errors: 0,
        missing: 0,
      });
    });
  }
  const variants: VariantSummary[] = VARIANTS.map((name, v) => {
    const value = 0.3 + 0.2 * v;
    const interval = accuracy(value, CASES);
    return {
      name,
      kind: 'prompt',
      cases: CASES,
      chains: CASES * SAMPLES,
      singleChain: accuracy(value, CASES * SAMPLES),
      majorityVote: interval,
      majAtK: Array.from({ length: SAMPLES }, (_, k) => value + k * 0.01),
      majAtKIntervals: Array.from({ length: SAMPLES }, () => interval),
      meanScore: value,
      meanScoreInterval: interval,
      meanAgreement: 0.7,
      meanEntropy: 0.8,
      invalidRate: 0,
      promptTokens: 10 * CASES * SAMPLES,
      completionTokens: 12 * CASES * SAMPLES,
      reasoningTokens: 0,
      meanLatencyMs: 10,
      cost: null,
      settledEarly: 0,
      chainsUsed: 0,
      chainsSaved: 0,
      tokensSaved: 0,
      costSaved: null,
      tokensPerCorrect: (22 * CASES * SAMPLES) / Math.max(1, Math.round(value * CASES)),
      costPerCorrect: null,
    };
  });
  const chains = CASES * SAMPLES * VARIANTS.length;
  return {
    schema: RESULT_SCHEMA,
    runId: 'synthetic-big-run',
    runFile: '/tmp/synthetic-big-run.jsonl',
    promptFile: '/tmp/synthetic.prompt',
    promptName: 'synthetic big run',
    backend: { id: 'synthetic', model: 'none' },
    status: 'completed',
    coverage: { expected: chains, finished: chains, failed: 0, missing: 0, cached: 0 },
    startedAt: new Date(0).toISOString(),
    samples: SAMPLES,
    sampling: {},
    adjustments: [],
    batches: [{ id: 'batch_synthetic_1', status: 'completed', requests: 3000, completed: 2990, failed: 10 }],
    spent: 1.25,
    budget: 2,
    endpoints: [
      { endpoint: 'http://replica-a:8000/v1', requests: 1510, failures: 3, meanLatencyMs: 420, pacedMs: 0, cooldowns: 1 },
      { endpoint: 'http://replica-b:8000/v1', requests: 1493, failures: 0, meanLatencyMs: 380, pacedMs: 1200 },
    ],
    extract: 'number',
    scorer: 'numeric',
    threshold: 1,
    variants,
    comparisons: compareVariants(VARIANTS, cells, { seed: 1 }),
    cells,
  };
}

/**
 * The synthetic run against an earlier one that differed on 200 odd cases of `direct` (right then: a
 * significant regression) and on cases 1–3 of `cot` (wrong then: 3 fixes, not significant); 201 cases changed.
 */
function syntheticComparison(result: RunResult): Comparison {
  const flipped = (cell: CellResult): boolean => {
    const i = Number(cell.caseId.slice('case-'.length));
    return (cell.variant === 'direct' && i % 2 === 1 && i < 400) || (cell.variant === 'cot' && i >= 1 && i <= 3);
  };
  const earlier = {
    ...result,
    runId: 'synthetic-earlier-run',
    cells: result.cells.map((cell) => (flipped(cell) ? { ...cell, majorityPass: !cell.majorityPass } : cell)),
  };
  return compareRuns(sideOfResult(earlier, { seed: 1 }), sideOfResult(result, { seed: 1 }));
}

const REASONING = '<b>Think</b> first: 0 + 1 = 1, so the answer is 1.';

/** Two depths of a tree of thought: one branch kept, one pruned with a child of its own, an answer merging both. */
const TRACE: TraceNode[] = [
  {
    id: 'd1.1',
    parents: [],
    role: 'propose',
    text: '<b>Add</b> one',
    score: 0.9,
    kept: true,
    onPath: true,
    depth: 1,
    promptTokens: 20,
    completionTokens: 4,
  },
  { id: 'd1.2', parents: [], role: 'propose', text: 'Guess', score: 0.1, kept: false, depth: 1, promptTokens: 0, completionTokens: 4 },
  {
    id: 'd2.1',
    parents: ['d1.1'],
    role: 'propose',
    text: '0 + 1 = 1',
    score: 1,
    kept: true,
    onPath: true,
    depth: 2,
    promptTokens: 24,
    completionTokens: 5,
  },
  {
    id: 'd2.2',
    parents: ['d1.1'],
    role: 'propose',
    text: '0 + 1 = 2',
    score: 0,
    kept: false,
    depth: 2,
    promptTokens: 0,
    completionTokens: 5,
  },
  { id: 'd2.3', parents: ['d1.2'], role: 'propose', text: 'Maybe 3', kept: false, depth: 2, promptTokens: 24, completionTokens: 3 },
  {
    id: 'answer',
    parents: ['d2.1', 'd1.2'],
    role: 'answer',
    text: 'The answer is 1.',
    onPath: true,
    promptTokens: 30,
    completionTokens: 6,
  },
];

const failures: string[] = [];
const check = (ok: boolean, what: string): void => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

async function main(): Promise<void> {
  const file = argument('--keep') ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-view-')), 'big-report.html');
  const run = syntheticRun();
  fs.writeFileSync(file, renderHtmlReport(makeReport([run], new Map([[run.runId, syntheticComparison(run)]]))));
  const browser = await chromium.launch({ executablePath: argument('--chromium') ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    const started = Date.now();
    await page.goto(`file://${file}`);
    await page.waitForSelector('[data-testid="cell"]');
    const loadMs = Date.now() - started;
    check(loadMs < 5000, `the report of ${CASES} cases loads in ${loadMs} ms`);
    const drawn = (): Promise<number> => page.$$eval('[data-testid="cell"]', (cells) => cells.length);
    const first = await drawn();
    check(first > 0 && first < 300, `${first} cells drawn of ${CASES * VARIANTS.length}`);
    check((await page.textContent('[data-testid="matrix-count"]')) === `${CASES} cases`, 'the count says 5000 cases');
    await checkWidths(page, 'report');
    const caseInput = await page.evaluate(
      `document.querySelector('[data-testid="cell"][data-case="case-7"]')?.closest('[role="row"]')?.querySelector('[data-testid="case-input"]')?.textContent`,
    );
    check(caseInput === 'question: What is 7 + 1? · n: 7', `the case column shows the case's inputs under its name (${String(caseInput)})`);
    const pairs = await page.$$eval('[data-testid="pair-row"]', (rows: { getAttribute: (name: string) => string | null }[]) =>
      rows.map((row) => `${row.getAttribute('data-a')} − ${row.getAttribute('data-b')} p=${row.getAttribute('data-p')}`),
    );
    const expectedPairs = (syntheticRun().comparisons ?? []).map((pair) => `${pair.a} − ${pair.b} p=${pair.pValue}`);
    check(pairs.length === 3 && pairs.join() === expectedPairs.join(), `"Is A better than B?" shows the 3 pairs: ${pairs.join('; ')}`);
    const deltas = await page.$$eval('[data-testid="comparison-delta"]', (found: { className: string; title: string }[]) =>
      found.map((delta) => `${delta.className}:${delta.title.includes('McNemar')}`),
    );
    check(
      deltas.join() === 'worse:true,neutral:true,neutral:true',
      `against the earlier run: the significant regression red, the 3 fixes and no change neutral, the test in the tooltip (${deltas.join(', ')})`,
    );
    check(
      (await page.textContent('[data-testid="comparison-note"]'))?.includes('synthetic-earlier-run') === true,
      'the comparison names the earlier run',
    );
    const badges = await page.$$eval('[data-testid="cell-change"]', (found: { getAttribute: (name: string) => string | null }[]) =>
      found.map((badge) => badge.getAttribute('data-change')),
    );
    check(
      badges.includes('regressed') && badges.includes('fixed'),
      `flipped cells carry ▲/▼ (${badges.length} drawn: ${[...new Set(badges)].join(', ')})`,
    );

    await page.evaluate("document.querySelector('.matrix-scroll').scrollTop = 44 * 3000");
    await page.waitForSelector('[data-testid="cell"][data-case="case-3005"]', { timeout: 2000 });
    check((await drawn()) < 300, 'scrolled to case 3000: its rows are drawn, still few cells');

    await page.evaluate("document.querySelector('.matrix-scroll').scrollTop = 0");
    await page.click('[data-testid="cell"][data-case="case-0"][data-variant="cot"]');
    await page.waitForSelector('[data-testid="cell-drawer"]:not([hidden]) [data-testid="chain"]', { timeout: 2000 });
    const text = await page.textContent('[data-testid="cell-drawer"] [data-testid="chain"][data-sample="1"] [data-testid="chain-text"]');
    check(text === syntheticRun().cells[1]?.chains[1]?.text, 'clicking a cell opens the drawer with its chains');
    const reasoning = await page.textContent(
      '[data-testid="cell-drawer"] [data-testid="chain"][data-sample="1"] [data-testid="chain-reasoning"] .reasoning-text',
    );
    const reasoningMarkup = await page.$('[data-testid="cell-drawer"] [data-testid="chain-reasoning"] b');
    check(
      reasoning === REASONING && reasoningMarkup === null,
      `a chain's reasoning is in the drawer, folded, its markup as text (${String(reasoning)})`,
    );
    const trace = '[data-testid="cell-drawer"] [data-testid="chain"][data-sample="2"] [data-testid="chain-trace"]';
    const traceNode = (id: string): string => `${trace} [data-testid="trace-node"][data-node="${id}"]`;
    const merges = (await page.textContent(`${traceNode('answer')} .trace-text`)) ?? '';
    check(
      (await page.$$(`${trace} [data-testid="trace-node"]`)).length === TRACE.length &&
        (await page.$$(`${trace} [data-testid="trace-pruned"]`)).length === 3 &&
        (await page.$(`${trace} b`)) === null &&
        merges.includes('merges d2.1, d1.2') &&
        (await page.isVisible(traceNode('d2.3'))),
      `a shape's chain shows its trace in full: every node once, pruned ones marked, a merge named, markup as text (${merges})`,
    );
    await page.click(`${trace} [data-testid="trace-collapse"]`);
    const collapsed = [await page.isVisible(traceNode('d2.2')), await page.isVisible(traceNode('d2.3'))];
    await page.click(`${trace} [data-testid="trace-expand"]`);
    check(
      collapsed[0] === true && collapsed[1] === false && (await page.isVisible(traceNode('d2.3'))),
      `Collapse to path closes the branches off the path, Expand all opens them (${collapsed.join(', ')})`,
    );
    const spent = (await page.textContent('[data-testid="run-coverage"]')) ?? '';
    check(/spent \$1\.25\d* of a \$2(\.0+)? budget/.test(spent), `the run says what it spent against its budget (${spent})`);
    const endpoints = (await page.textContent('[data-testid="run-endpoints"]')) ?? '';
    check(
      endpoints.includes('http://replica-a:8000/v1: 1510 requests, 3 failed') &&
        endpoints.includes('taken out 1× after failing') &&
        endpoints.includes('paced by rate limit 1.2 s'),
      `replicas: each endpoint's requests, failures, cool-downs and pacing (${endpoints})`,
    );
    const batches = (await page.textContent('[data-testid="run-batches"]')) ?? '';
    check(
      batches.includes('batch_synthetic_1 completed (3000 requests, 2990 completed, 10 failed)'),
      `a Batch API run names its batches and their counts (${batches})`,
    );
    const inputs = await page.textContent('[data-testid="cell-drawer"] [data-testid="drawer-input"]');
    check(inputs === 'questionWhat is 0 + 1?n0', `the drawer lists the case's inputs by name (${String(inputs)})`);
    const strip = await page.$$eval('[data-testid="cell-drawer"] [data-testid="case-variant"]', (rows: { textContent: string | null }[]) =>
      rows.map((row) => row.textContent ?? ''),
    );
    check(strip.length === VARIANTS.length, `the drawer shows the case in every variant, side by side: ${strip.join(' | ')}`);
    const winner = (await page.textContent('[data-testid="cell-drawer"] [data-testid="winner"]')) ?? '';
    check(/majority 0 — 1 of 5 chains; ✓ correct \(expected 0\)/.test(winner), `the winner and why, in words: ${winner}`);
    await page.click('[data-testid="cell-drawer"] [data-testid="case-variant"][data-variant="direct"] td:last-child');
    await page.waitForTimeout(50);
    const switched = (await page.textContent('[data-testid="cell-drawer"] h2')) ?? '';
    check(switched.endsWith('· direct'), `a row of that strip switches the drawer to its variant (${switched})`);
    await page.setViewportSize({ width: 800, height: 1000 });
    await page.waitForSelector('[data-testid="cell-drawer"] [data-testid="chain"]', { timeout: 2000 });
    await page.screenshot({ path: path.join('artifacts', 'report-drawer.png') });
    await page.setViewportSize({ width: 1400, height: 1000 });
    await page.click('[data-testid="cell-drawer"] [data-switch-variant="cot"]');
    await page.waitForSelector('[data-testid="cell-drawer"] [data-testid="chain"][data-sample="4"]', { timeout: 2000 });
    check(
      (await page.$$('[data-testid="prompt-details"]')).length === 0,
      'the report offers no Show prompt: it has no prompt file to render',
    );
    // Case 0 of a chain-of-thought variant: every chain its own answer, so one cluster each, the first seen winning.
    const clusters = await page.evaluate<string[]>(
      `[...document.querySelectorAll('[data-testid="cell-drawer"] [data-testid="cluster"]')].map((g) => g.dataset.answer + '×' + g.dataset.count)`,
    );
    check(
      clusters.length === SAMPLES && clusters[0] === '0×1',
      `the drawer groups the chains by answer (${clusters.slice(0, 3).join(', ')}…)`,
    );
    const parting = await page.textContent('[data-testid="cluster"][data-answer="1"] [data-testid="diverge"]');
    check(parting === '1:', `a runner-up's first chain marks where it parts from the winner's (${parting})`);
    const points = await page.$$eval('[data-testid="cost-accuracy"] [data-testid="cost-point"]', (found) => found.length);
    check(points === VARIANTS.length, `accuracy against cost: one point per variant (${points})`);
    await page.keyboard.press('Escape');
    check(await page.isHidden('[data-testid="cell-drawer"]'), 'Escape closes the drawer');
    // A string, evaluated in the page: this project's scripts are typed without the DOM.
    const focused = async (): Promise<unknown> => page.evaluate('document.activeElement?.dataset.case');
    check((await focused()) === 'case-0', 'focus returns to the cell');

    for (let i = 0; i < 40; i++) await page.keyboard.press('ArrowDown');
    check((await focused()) === 'case-40', 'ArrowDown moves focus across rows not drawn at first');
    await page.keyboard.press('Control+End');
    check((await focused()) === `case-${CASES - 1}`, 'Ctrl+End reaches the last case');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="cell-drawer"]:not([hidden]) [data-testid="chain"]', { timeout: 2000 });
    check((await page.textContent('[data-testid="cell-drawer"] h2'))?.includes(`synthetic case ${CASES - 1}`) === true, 'Enter opens it');
    await page.click('[data-testid="drawer-close"]');

    await page.fill('[data-testid="matrix-search"]', 'case-4321');
    await page.waitForSelector('[data-testid="cell"][data-case="case-4321"]', { timeout: 2000 });
    check((await page.textContent('[data-testid="matrix-count"]')) === `1 of ${CASES} cases`, 'search by case id finds one case');
    // Another case than the last search's, so the wait sees this search applied.
    await page.fill('[data-testid="matrix-search"]', 'what is 4322 + 1');
    await page.waitForSelector('[data-testid="cell"][data-case="case-4322"]', { timeout: 2000 });
    check((await page.textContent('[data-testid="matrix-count"]')) === `1 of ${CASES} cases`, 'search by input text finds the case');
    await page.fill('[data-testid="matrix-search"]', '');
    await page.selectOption('[data-testid="matrix-filter"]', 'disagreement');
    await page.selectOption('[data-testid="matrix-sort"]', 'agreement');
    await page.waitForTimeout(100);
    const count = (await page.textContent('[data-testid="matrix-count"]')) ?? '';
    check(count === `${CASES / 4} of ${CASES} cases`, `filtering to disagreement: ${count}`);
    await page.selectOption('[data-testid="matrix-filter"]', 'changed');
    await page.waitForTimeout(100);
    const changed = (await page.textContent('[data-testid="matrix-count"]')) ?? '';
    check(changed === `201 of ${CASES} cases`, `filtering to the cases changed since the compared run: ${changed}`);
    check(errors.length === 0, `no errors in the page${errors.length ? `: ${errors.join('; ')}` : ''}`);
    await checkLivePanel(browser);
  } finally {
    await browser.close();
    if (!argument('--keep')) fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.log(`${failures.length} check(s) failed`);
    process.exitCode = 1;
  }
}

/** The panel page as VS Code serves it, with a stand-in for the webview API that records what it is told. */
/**
 * The view at 500, 800 and 1400 px: the page never scrolls sideways, every variant's card with its headline
 * numbers lies within the width, and the maj@k chart follows the width. Screenshots: artifacts/<name>-<width>.png.
 */
export async function checkWidths(page: import('playwright-core').Page, name: string): Promise<void> {
  const before = page.viewportSize();
  for (const width of [500, 800, 1400]) {
    await page.setViewportSize({ width, height: before?.height ?? 1000 });
    await page.waitForTimeout(200);
    const seen = await page.evaluate<{ scroll: number; client: number; cards: number; outside: string[]; chart: number }>(`(() => {
      const page = document.scrollingElement;
      const cards = [...document.querySelectorAll('[data-testid="variant-card"]')];
      const outside = cards
        .filter((card) => {
          const box = card.getBoundingClientRect();
          const numbers = ['card-single', 'card-majority'].map((id) => card.querySelector('[data-testid="' + id + '"]'));
          return box.left < 0 || box.right > innerWidth || box.width === 0 || numbers.some((n) => !n || n.getBoundingClientRect().right > innerWidth);
        })
        .map((card) => card.dataset.variant);
      const chart = document.querySelector('[data-testid="majk-chart"] .uplot')?.getBoundingClientRect().width ?? 0;
      return { scroll: page.scrollWidth, client: page.clientWidth, cards: cards.length, outside, chart };
    })()`);
    check(seen.scroll <= seen.client + 1, `${name} at ${width} px: no sideways scrolling of the page (${seen.scroll} ≤ ${seen.client})`);
    check(
      seen.cards > 0 && seen.outside.length === 0,
      `${name} at ${width} px: ${seen.cards} variant cards with their headline numbers in view${seen.outside.length ? `; not: ${seen.outside.join(', ')}` : ''}`,
    );
    check(seen.chart > 0 && seen.chart <= seen.client, `${name} at ${width} px: the maj@k chart is ${Math.round(seen.chart)} px wide`);
    fs.mkdirSync('artifacts', { recursive: true });
    await page.screenshot({ path: path.join('artifacts', `${name}-${width}.png`) });
  }
  if (before) await page.setViewportSize(before);
  await page.waitForTimeout(100);
}

function panelPage(saved: SavedPanelState | undefined): string {
  const dist = path.resolve(__dirname, '..', 'dist', 'webview');
  const script = fs.readFileSync(path.join(dist, 'panel.js'), 'utf8').replace(/<\/script/gi, '<\\/script');
  return `<!DOCTYPE html><html><head><style>${fs.readFileSync(path.join(dist, 'panel.css'), 'utf8')}</style></head><body><main id="app"></main>
<script>window.posted = []; window.saved = []; const initial = ${JSON.stringify(saved ?? null)};
function acquireVsCodeApi() { return { postMessage: (m) => window.posted.push(m), getState: () => initial ?? undefined, setState: (s) => window.saved.push(s) }; }</script>
<script>${script}</script></body></html>`;
}

async function checkLivePanel(browser: import('playwright-core').Browser): Promise<void> {
  const result = syntheticRun();
  const { overview, cells } = splitResult(result);
  const runId = overview.runId;
  const live = { ...overview, status: 'running' as const };
  const halfDone = cells.map((cell) => ({ ...cell, chains: Math.min(cell.chains, 2), missing: SAMPLES - Math.min(cell.chains, 2) }));
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-panel-'));
  const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  try {
    const load = async (saved?: SavedPanelState): Promise<void> => {
      const file = path.join(folder, `panel-${Date.now()}.html`);
      fs.writeFileSync(file, panelPage(saved));
      await page.goto(`file://${file}`);
    };
    const send = (...messages: ToWebview[]): Promise<void> =>
      page.evaluate<void>(`for (const message of ${JSON.stringify(messages)}) window.postMessage(message, '*');`);
    const posted = (): Promise<FromWebview[]> => page.evaluate<FromWebview[]>('window.posted');
    const statusIs = (status: string, timeout = 5000): Promise<unknown> =>
      page.waitForFunction(
        `document.querySelector('[data-testid="run-meta"]')?.getAttribute('data-status') === ${JSON.stringify(status)}`,
        null,
        {
          timeout,
        },
      );
    const status = (): Promise<string | null> => page.getAttribute('[data-testid="run-meta"]', 'data-status');

    await load();
    check(
      (await posted()).some((message) => message.type === 'ready'),
      'the panel says it is ready on load',
    );
    const progress = { done: 2 * cells.length, total: SAMPLES * cells.length, failed: 0, etaMs: 60_000 };
    await send({ type: 'run', run: { overview: live, live: true, cellCount: cells.length, progress } });
    for (let at = 0; at < halfDone.length; at += 1000) await send({ type: 'cells', runId, cells: halfDone.slice(at, at + 1000) });
    await page.waitForFunction(`document.querySelector('[data-testid="matrix-count"]')?.textContent === '${CASES} cases'`);
    check((await status()) === 'running', 'a live run reads running');
    check(await page.isVisible('[data-testid="run-progress"]'), 'its progress bar shows');
    await page.click('[data-testid="run-cancel"]');
    check(
      (await posted()).some((message) => message.type === 'cancel' && message.runId === runId),
      'Cancel asks the extension to stop the run',
    );

    const open = halfDone[7] as (typeof halfDone)[number];
    await page.click(`[data-testid="cell"][data-variant="${open.variant}"][data-case="${open.caseId}"]`);
    check(
      (await posted()).some((message) => message.type === 'openCell' && message.caseId === open.caseId),
      'opening a cell asks for its chains (they never come unasked)',
    );
    const full = result.cells.find((cell) => cell.variant === open.variant && cell.caseId === open.caseId);
    if (full) await send({ type: 'cell', runId, cell: full });
    const chainsShown = await page.waitForSelector('[data-testid="cell-drawer"] [data-testid="chain"]', { timeout: 2000 }).then(
      () => true,
      () => false,
    );
    check(chainsShown, 'the drawer shows the chains that came');
    // Show prompt: asked for when opened, shown as text, turn by turn with roles.
    await page.click('[data-testid="cell-drawer"] [data-testid="show-prompt"]');
    await page.waitForTimeout(50);
    check(
      (await posted()).some(
        (message) => message.type === 'showPrompt' && message.variant === open.variant && message.caseId === open.caseId,
      ),
      "opening Show prompt asks for the cell's prompt",
    );
    const markup = `<b>What is ${open.row} + 1?</b><img src=x onerror="window.pwned=1">`;
    await send({
      type: 'prompt',
      runId,
      variant: open.variant,
      caseId: open.caseId,
      prompt: {
        input: 'chat',
        messages: [
          { role: 'system', content: 'Add the numbers.' },
          { role: 'user', content: markup },
        ],
      },
    });
    await page.waitForSelector('[data-testid="cell-drawer"] [data-testid="prompt-message"]', { timeout: 2000 }).catch(() => undefined);
    const turns = await page.evaluate<string[]>(
      `[...document.querySelectorAll('[data-testid="cell-drawer"] [data-testid="prompt-message"]')].map((m) => m.dataset.role + ':' + m.querySelector('pre').textContent)`,
    );
    const injected = await page.evaluate<number>(
      `document.querySelectorAll('[data-testid="prompt"] b, [data-testid="prompt"] img').length`,
    );
    check(
      turns.join('|') === `system:Add the numbers.|user:${markup}` && injected === 0,
      `the drawer shows the rendered prompt's turns with their roles, as text (${turns.length} turns)`,
    );
    const sibling = VARIANTS.find((variant) => variant !== open.variant) as string;
    await page.click(`[data-testid="cell-drawer"] [data-switch-variant="${sibling}"]`);
    await page.waitForTimeout(50);
    check(
      (await posted()).some((message) => message.type === 'showPrompt' && message.variant === sibling && message.caseId === open.caseId),
      'with Show prompt open, another variant of the case asks for its own prompt',
    );
    const saved = (await page.evaluate<SavedPanelState[]>('window.saved')).at(-1);
    const savedBytes = JSON.stringify(saved ?? {}).length;
    check(
      savedBytes < 1000 && saved?.runFile === overview.runFile,
      `the saved state is small (${savedBytes} bytes) and names the run file`,
    );
    // Columns: hiding a variant's column and the table's entropy is kept in the saved state, and takes them away.
    // (Clicked through the DOM: the open drawer lies over the menus, and closing it would forget the open cell.)
    const toggle = (selector: string): Promise<void> => page.dispatchEvent(selector, 'click');
    await toggle(`[data-testid="matrix-columns"] [data-column-key="variant:${sibling}"]`);
    await toggle('[data-testid="table-columns"] [data-column-key="entropy"]');
    await page.waitForTimeout(50);
    const hiddenState = (await page.evaluate<SavedPanelState[]>('window.saved')).at(-1)?.hidden ?? [];
    const headers = await page.$$eval('.matrix-head [role="columnheader"]', (found: { textContent: string | null }[]) =>
      found.map((header) => header.textContent ?? ''),
    );
    const entropyShown = await page.isVisible('[data-testid="variant-table"] th[data-column="entropy"]');
    check(
      hiddenState.join() === `matrix:variant:${sibling},table:entropy` && !headers.includes(sibling) && !entropyShown,
      `hidden columns are gone and kept in the saved state (${hiddenState.join(', ')}; matrix: ${headers.join(', ')})`,
    );
    await toggle(`[data-testid="matrix-columns"] [data-column-key="variant:${sibling}"]`);
    await toggle('[data-testid="table-columns"] [data-column-key="entropy"]');
    await page.waitForTimeout(50);
    check(
      (await page.evaluate<SavedPanelState[]>('window.saved')).at(-1)?.hidden === undefined &&
        (await page.isVisible(`.matrix-head [role="columnheader"][title="${sibling}"]`)),
      'shown again, they come back and leave the saved state',
    );

    await statusIs('stalled', 10_000);
    check(/no word from the run/.test((await page.textContent('[data-testid="run-status"]')) ?? ''), 'a silent live run reads stalled');
    await send({ type: 'progress', runId, progress });
    check((await status()) === 'running', 'word from the run again: running');
    await send({ type: 'lost', runId, reason: 'the extension host stopped' });
    check((await status()) === 'lost', 'a lost session reads lost');

    await load(saved);
    await send({ type: 'run', run: { overview: live, live: false, cellCount: cells.length } });
    const interrupted = await statusIs('interrupted').then(
      () => true,
      () => false,
    );
    check(interrupted, 'after a reload, a run no session finishes reads interrupted');
    // Another run, of one variant, in the same panel: its columns only.
    const other = { ...overview, runId: 'another-run', variants: overview.variants.slice(0, 1) };
    await send({ type: 'run', run: { overview: other, live: false, cellCount: 1 } });
    await send({
      type: 'cells',
      runId: 'another-run',
      cells: cells.filter((cell) => cell.variant === other.variants[0]?.name).slice(0, 1),
    });
    await page.waitForTimeout(100);
    const columns = await page.evaluate<string[]>(
      `[...document.querySelectorAll('.matrix-head [role="columnheader"]')].map((header) => header.textContent)`,
    );
    check(
      columns.length === 3 && columns[2] === other.variants[0]?.name,
      `a new run shows its own variants, not the last run's: ${columns.join(', ')}`,
    );
    check(
      (await posted()).some((message) => message.type === 'openCell' && message.caseId === open.caseId),
      'and the cell that was open is asked for again',
    );
    // The run picker: the earlier runs the extension lists, and the comparison the user picks is asked for.
    await send({
      type: 'runs',
      runId: 'another-run',
      runs: [{ id: 'an-earlier-run', startedAt: new Date(0).toISOString(), model: 'synthetic:none', cases: 4, samples: 1 }],
    });
    await page.waitForSelector('[data-testid="compare-picker"]', { timeout: 2000 });
    await page.selectOption('[data-testid="compare-picker"]', 'an-earlier-run');
    check(
      (await posted()).some(
        (message) => message.type === 'compareWith' && message.runId === 'another-run' && message.previousRunId === 'an-earlier-run',
      ),
      'picking an earlier run asks the extension to compare with it',
    );
  } finally {
    await page.close();
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.log(`FAIL the check could not run: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
