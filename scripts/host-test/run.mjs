/* global document, window, getComputedStyle, fetch, AbortSignal -- the first three inside page.waitForFunction callbacks (browser), the others Node's */
// `npm run test:host`: runs the extension-host suite (out/host) inside a real VS Code.
//   - @vscode/test-electron where VS Code can be had (VSCODE_EXECUTABLE_PATH, or its download server answers);
//   - otherwise code-server + Debian Chromium + playwright-core, which works offline here.
// Then, in the same code-server, browser-level checks through the UI, with screenshots under artifacts/.
// Exits non-zero when a test fails, the suite cannot start, or a process it started outlives it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildHostTests, HOST_OUT } from './build.mjs';
import { describe, ensurePrerequisites } from './prerequisites.mjs';
import { CHROMIUM, CHROMIUM_ARGS, findWebviewFrame, processesInGroup, processesMentioning, startCodeServer } from './code-server.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const ARTIFACTS = path.join(root, 'artifacts');
const WORKSPACE = path.join(root, 'testFixtures', 'host');

const { values } = parseArgs({
  options: {
    runner: { type: 'string', default: process.env.CHAINSCOPE_HOST_RUNNER ?? 'auto' },
    fail: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '300' },
    'skip-ui': { type: 'boolean', default: false },
  },
});
const overallTimeoutMs = Number(values.timeout) * 1000;
const log = (message) => console.error(`host tests: ${message}`);

function printReport(report) {
  for (const test of report.tests) {
    const mark = test.state === 'passed' ? '✔' : test.state === 'pending' ? '-' : '✘';
    console.log(`  ${mark} ${test.fullTitle}${test.durationMs > 75 ? ` (${test.durationMs} ms)` : ''}`);
    if (test.error)
      console.log(
        test.error
          .split('\n')
          .map((line) => `      ${line}`)
          .join('\n'),
      );
  }
  // The plain closing line CI reads, in any language.
  console.log(`host: ${report.passes} passed, ${report.failures} failed${report.pending ? `, ${report.pending} skipped` : ''}`);
}

async function canDownloadVsCode() {
  if (process.env.VSCODE_EXECUTABLE_PATH) return true;
  try {
    // An HTTP answer, not just DNS: proxies and firewalls can resolve a host they will not let through.
    const response = await fetch('https://update.code.visualstudio.com/api/releases/stable', {
      method: 'HEAD',
      signal: AbortSignal.timeout(3_000),
    });
    return response.status < 500;
  } catch {
    return false;
  }
}

/** @vscode/test-electron: a downloaded (or given) VS Code runs the same suite. */
async function runElectron(env) {
  const { runTests } = await import('@vscode/test-electron');
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-electron-'));
  const reportFile = path.join(temp, 'report.json');
  try {
    await withTimeout(
      runTests({
        ...(process.env.VSCODE_EXECUTABLE_PATH ? { vscodeExecutablePath: process.env.VSCODE_EXECUTABLE_PATH } : {}),
        extensionDevelopmentPath: root,
        extensionTestsPath: path.join(HOST_OUT, 'index'),
        launchArgs: [WORKSPACE, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome'],
        extensionTestsEnv: { ...env, CHAINSCOPE_HOST_REPORT: reportFile },
      }),
      overallTimeoutMs,
      'VS Code (test-electron)',
    );
    return JSON.parse(fs.readFileSync(reportFile, 'utf8'));
  } catch (error) {
    // runTests rejects when a test fails; the report then still says which.
    if (!fs.existsSync(reportFile)) throw error;
    return JSON.parse(fs.readFileSync(reportFile, 'utf8'));
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

async function withTimeout(promise, ms, what) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the suite in code-server's extension host through the workbench's smoke-test driver. */
async function runSuiteInCodeServer(browser, server, env) {
  const reportFile = path.join(server.temp, 'report.json');
  const page = await browser.newPage();
  let resolveExit;
  const exited = new Promise((resolve) => (resolveExit = resolve));
  await page.exposeFunction('codeAutomationLog', () => undefined);
  await page.exposeFunction('codeAutomationExit', (code) => resolveExit(code));
  page.on('pageerror', (error) => log(`page error: ${error.message}`));
  const payload = [
    ['extensionDevelopmentPath', server.remote(root)],
    ['extensionTestsPath', server.remote(path.join(HOST_OUT, 'index'))],
    ['skipWelcome', 'true'],
    ['skipReleaseNotes', 'true'],
    ['extensionEnvironment', JSON.stringify({ ...env, CHAINSCOPE_HOST_REPORT: reportFile, CHAINSCOPE_HOST_ARTIFACTS: server.temp })],
  ];
  await page.goto(server.workbenchUrl({ payload }));
  // Host tests ask for webview checks through files; answer them while the suite runs.
  let suiteDone = false;
  const answering = answerPanelRequests(page, server.temp, () => suiteDone);
  const code = await withTimeout(exited, overallTimeoutMs, 'the extension-host suite').finally(() => {
    suiteDone = true;
  });
  await answering;
  await page.close();
  if (!fs.existsSync(reportFile))
    throw new Error(`the suite exited with code ${code} and wrote no report (did the extension host start? see ${server.logFile})`);
  return JSON.parse(fs.readFileSync(reportFile, 'utf8'));
}

/**
 * Waits for `panel-<name>.json` requests from host tests and answers each with `ok` or what was wrong
 * (and `.seen`: when the panel first showed the run); starts typing for `typing-<name>.json` requests.
 */
async function answerPanelRequests(page, directory, finished) {
  const answered = new Set();
  const typing = [];
  while (!finished()) {
    for (const name of fs.readdirSync(directory).filter((name) => /^typing-[\w-]+\.json$/.test(name) && !answered.has(name))) {
      answered.add(name);
      typing.push(typeUntilStopped(page, path.join(directory, name)));
    }
    const requests = fs.readdirSync(directory).filter((name) => /^panel-[\w-]+\.json$/.test(name) && !answered.has(name));
    for (const name of requests) {
      answered.add(name);
      const file = path.join(directory, name);
      let verdict = 'ok';
      try {
        const { seenAt, receivedAt } = await verifyPanel(page, JSON.parse(fs.readFileSync(file, 'utf8')));
        fs.writeFileSync(`${file}.seen`, JSON.stringify({ drawnAt: seenAt, receivedAt }));
      } catch (error) {
        verdict = error.message;
      }
      fs.writeFileSync(`${file}.checked`, verdict);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await Promise.all(typing);
}

/** Types '.' into whatever has focus (an editor the test opened) every `intervalMs` until `<request minus .json>.stop` appears. */
async function typeUntilStopped(page, request) {
  const { intervalMs } = JSON.parse(fs.readFileSync(request, 'utf8'));
  const stop = request.replace(/\.json$/, '.stop');
  const presses = [];
  // `npm run bench` with CHAINSCOPE_BENCH_PROFILE: the window's CPU profile while typing, beside the extension host's.
  const cdp = process.env.CHAINSCOPE_BENCH_PROFILE ? await page.context().newCDPSession(page) : undefined;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
    await cdp.send('Profiler.start');
  }
  const profileStart = Date.now();
  try {
    while (!fs.existsSync(stop)) {
      const pressedAt = Date.now();
      // Not a word character: no suggestion widget opens to swallow keys.
      await page.keyboard.press('Period');
      presses.push(pressedAt);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - pressedAt))));
    }
  } finally {
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      fs.writeFileSync(`${process.env.CHAINSCOPE_BENCH_PROFILE}.window.json`, JSON.stringify({ started: profileStart, profile }));
    }
    fs.writeFileSync(`${request}.checked`, JSON.stringify({ presses }));
  }
}

/** Reads the results webview: per-variant accuracies, a chain's text, literal markup, then a screenshot. */
async function verifyPanel(page, expected) {
  const status = expected.status ?? 'completed';
  const frame = await findWebviewFrame(page, `[data-testid="run-meta"][data-run-id="${expected.runId}"][data-status="${status}"]`, 30_000);
  if (!frame) throw new Error(`no webview shows run ${expected.runId} as ${status}`);
  // What a person does in the panel, once it shows the run (Cancel on a live run, say).
  if (expected.click) await frame.click(`[data-testid="${expected.click}"]`, { timeout: 10_000 });
  // All cases drawn into the matrix, when the test says how many: the final render, not just the header.
  if (expected.cases !== undefined)
    await frame.waitForFunction(
      (cases) => document.querySelector('[data-testid="matrix-count"]')?.textContent?.replace(/,/g, '') === `${cases} cases`,
      expected.cases,
      { timeout: 30_000 },
    );
  // When the webview had drawn the finished run whole (it marks that moment), else when it was seen.
  const seenAt = Number(await frame.getAttribute('body', 'data-final-drawn-at')) || Date.now();
  const receivedAt = Number(await frame.getAttribute('body', 'data-final-received-at')) || undefined;
  for (const { testId, includes } of expected.shows ?? []) {
    const shown = (await frame.textContent(`[data-testid="${testId}"]`, { timeout: 10_000 })) ?? '';
    if (!shown.includes(includes))
      throw new Error(`the panel's ${testId} reads ${JSON.stringify(shown)}, without ${JSON.stringify(includes)}`);
  }
  for (const variant of expected.variants) {
    const row = `[data-testid="variant-row"][data-variant="${variant.name}"]`;
    for (const [which, value] of [
      ['single', variant.single],
      ['majority', variant.majority],
    ]) {
      const shown = Number(await frame.getAttribute(`${row} [data-testid="${which}-accuracy"]`, 'data-value'));
      if (Math.abs(shown - value) > 1e-12)
        throw new Error(`${variant.name}: the panel shows ${which}-chain accuracy ${shown}, the run says ${value}`);
    }
  }
  if (expected.caseInput) {
    // The case column shows each case's inputs, and the search reads them: search by the input text itself.
    const { caseId, includes } = expected.caseInput;
    await frame.fill('[data-testid="matrix-search"]', includes);
    await frame.waitForSelector(`[data-testid="cell"][data-case="${caseId}"]`, { timeout: 10_000 });
    const shown = await frame.evaluate(
      (id) =>
        [...document.querySelectorAll('[data-testid="cell"]')]
          .find((cell) => cell.getAttribute('data-case') === id)
          ?.closest('[role="row"]')
          ?.querySelector('[data-testid="case-input"]')?.textContent ?? '',
      caseId,
    );
    if (!shown.includes(includes))
      throw new Error(`the case column of ${caseId} reads ${JSON.stringify(shown)}, without ${JSON.stringify(includes)}`);
    await frame.fill('[data-testid="matrix-search"]', '');
  }
  if (expected.chain) {
    // The matrix draws only the rows in view: a cell not drawn yet is found by searching for its case.
    const cell = `[data-testid="cell"][data-variant="${expected.chain.variant}"][data-case="${expected.chain.caseId}"]`;
    if (!(await frame.$(cell))) {
      await frame.fill('[data-testid="matrix-search"]', expected.chain.caseId);
      await frame.waitForSelector(cell, { timeout: 10_000 });
    }
    await frame.click(cell);
    // The cell's chains are fetched when it is opened: wait for them in the drawer.
    const chainText = `[data-testid="cell-drawer"] [data-testid="chain"][data-sample="${expected.chain.sample}"] [data-testid="chain-text"]`;
    await frame.waitForSelector(chainText, { timeout: 10_000 });
    const text = await frame.textContent(chainText);
    if (text !== expected.chain.text)
      throw new Error(`chain ${expected.chain.sample} reads ${JSON.stringify(text)}, the run has ${JSON.stringify(expected.chain.text)}`);
    // What the open chain's card must show besides its text (a reasoning shape's trace).
    for (const { testId, includes } of expected.chainShows ?? []) {
      const selector = `[data-testid="cell-drawer"] [data-testid="chain"][data-sample="${expected.chain.sample}"] [data-testid="${testId}"]`;
      await frame.waitForSelector(selector, { timeout: 10_000 });
      const shown = (await frame.textContent(selector)) ?? '';
      if (!shown.includes(includes))
        throw new Error(`the open chain's ${testId} reads ${JSON.stringify(shown)}, without ${JSON.stringify(includes)}`);
    }
  }
  if (expected.prompt) {
    // Show prompt asks the extension to render the open cell's prompt; it comes back as text, turn by turn.
    await frame.click('[data-testid="cell-drawer"] [data-testid="show-prompt"]');
    await frame.waitForSelector(
      '[data-testid="prompt"] [data-testid="prompt-message"], [data-testid="prompt"] [data-testid="prompt-text"], [data-testid="prompt"] [data-testid="prompt-error"]',
      { timeout: 10_000 },
    );
    const error = await frame.$('[data-testid="prompt"] [data-testid="prompt-error"]');
    if (error) throw new Error(`Show prompt says: ${await error.textContent()}`);
    const turns = await frame.evaluate(() => [
      ...[...document.querySelectorAll('[data-testid="prompt"] [data-testid="prompt-message"]')].map((turn) => ({
        role: turn.getAttribute('data-role'),
        text: turn.querySelector('pre')?.textContent ?? '',
      })),
      ...[...document.querySelectorAll('[data-testid="prompt"] [data-testid="prompt-text"]')].map((text) => ({
        role: null,
        text: text.textContent ?? '',
      })),
    ]);
    for (const { role, includes } of expected.prompt)
      if (!turns.some((turn) => (role === undefined || turn.role === role) && turn.text.includes(includes)))
        throw new Error(`the rendered prompt has no ${role ?? 'turn'} with ${JSON.stringify(includes)}: ${JSON.stringify(turns)}`);
  }
  const body = await frame.evaluate(() => document.body.textContent ?? '');
  for (const literal of expected.literals ?? [])
    if (!body.includes(literal)) throw new Error(`the panel does not show ${JSON.stringify(literal)} as text`);
  const injected = await frame.evaluate(() => ({
    images: document.querySelectorAll('#app img').length,
    scripts: document.querySelectorAll('#app script').length,
    pwned: Boolean(globalThis.pwned),
  }));
  if (injected.images > 0 || injected.scripts > 0 || injected.pwned)
    throw new Error(`model output became markup: ${JSON.stringify(injected)}`);
  if (expected.screenshot) {
    // A tall window so the panel shows the table, the maj@k chart, the matrix and the open cell's drawer at once.
    const size = page.viewportSize();
    await page.setViewportSize({ width: 1400, height: 2600 });
    if (expected.chain) await frame.waitForSelector('[data-testid="cell-drawer"] [data-testid="chain"]', { timeout: 10_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, expected.screenshot) });
    if (size) await page.setViewportSize(size);
  }
  if (expected.widths) await checkWidths(page, frame, expected.widths);
  return { seenAt, receivedAt };
}

/**
 * The panel at each width (its webview's, in CSS px): the window is resized until the webview is that wide.
 * Then, inside the webview: the page never scrolls sideways, and every variant's card shows its headline
 * numbers within the width. A screenshot of the webview alone: artifacts/panel-<width>.png.
 */
async function checkWidths(page, frame, widths) {
  const size = page.viewportSize();
  const height = 1000;
  // An open drawer would cover what is measured.
  if (await frame.$('[data-testid="cell-drawer"]:not([hidden])')) await frame.click('[data-testid="drawer-close"]');
  try {
    for (const width of widths) {
      let inner = 0;
      for (let attempt = 0; attempt < 5; attempt++) {
        inner = await frame.evaluate(() => document.documentElement.clientWidth);
        if (Math.abs(inner - width) <= 2) break;
        const viewport = page.viewportSize() ?? { width: 1400, height };
        await page.setViewportSize({ width: Math.max(320, viewport.width + width - inner), height });
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
      if (Math.abs(inner - width) > 20) throw new Error(`the webview could not be made ${width} px wide (it is ${inner} px)`);
      // From the top, as the panel opens; the chart follows a ResizeObserver, the matrix its scroll box: let both settle.
      await frame.evaluate(() => window.scrollTo(0, 0));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const seen = await frame.evaluate(() => {
        const root = document.scrollingElement ?? document.documentElement;
        const cards = [...document.querySelectorAll('[data-testid="variant-card"]')];
        const outside = cards
          .filter((card) => {
            const box = card.getBoundingClientRect();
            const numbers = ['card-single', 'card-majority'].map((id) => card.querySelector(`[data-testid="${id}"]`));
            return (
              box.width === 0 ||
              box.left < 0 ||
              box.right > window.innerWidth ||
              box.bottom > window.innerHeight ||
              numbers.some((number) => !number || number.getBoundingClientRect().right > window.innerWidth)
            );
          })
          .map((card) => card.getAttribute('data-variant'));
        return { scroll: root.scrollWidth, client: root.clientWidth, cards: cards.length, outside };
      });
      if (seen.scroll > seen.client + 1)
        throw new Error(`at ${width} px the panel scrolls sideways: its page is ${seen.scroll} px wide in ${seen.client} px`);
      if (seen.cards === 0 || seen.outside.length > 0)
        throw new Error(
          `at ${width} px not every variant's headline numbers are in view: ${seen.cards} cards, outside: ${seen.outside.join(', ')}`,
        );
      const box = await (await frame.frameElement()).boundingBox();
      await page.screenshot({ path: path.join(ARTIFACTS, `panel-${width}.png`), ...(box ? { clip: box } : {}) });
    }
  } finally {
    if (size) await page.setViewportSize(size);
  }
}

/** What a person does: open a .prompt file through Quick Open and look at the editor. */
async function checkUi(browser, server) {
  const checks = [];
  const page = await browser.newPage();
  try {
    await page.exposeFunction('codeAutomationLog', () => undefined);
    await page.exposeFunction('codeAutomationExit', () => undefined);
    // A fresh copy of the workspace: a new window state, so nothing the suite left open is restored.
    const folder = path.join(server.temp, 'ui-workspace');
    fs.cpSync(WORKSPACE, folder, { recursive: true });
    await page.goto(
      server.workbenchUrl({
        folder,
        payload: [
          ['extensionDevelopmentPath', server.remote(root)],
          ['skipWelcome', 'true'],
          ['skipReleaseNotes', 'true'],
        ],
      }),
    );
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    // Quick Open, type the file name, Enter: the way a person opens it.
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget:not([style*="display: none"]) input', { timeout: 20_000 });
    await page.keyboard.type('good.prompt');
    await page.waitForSelector('.quick-input-list .monaco-list-row', { timeout: 20_000 });
    await page.keyboard.press('Enter');
    await page
      .waitForFunction(
        () => [...document.querySelectorAll('.monaco-editor .view-lines')].some((lines) => lines.textContent?.includes('host-good')),
        null,
        { timeout: 30_000 },
      )
      .catch(async (error) => {
        await page.screenshot({ path: path.join(ARTIFACTS, 'ui-failure.png') }).catch(() => undefined);
        throw new Error(`good.prompt did not show in an editor (see artifacts/ui-failure.png): ${error.message}`);
      });
    checks.push('opened good.prompt through Quick Open; the editor shows its text');
    const tab = await page.textContent('.tabs-container .tab.active');
    if (!tab?.includes('good.prompt')) throw new Error(`the active tab is '${tab}', not good.prompt`);
    checks.push('the active tab is good.prompt');
    // Highlighting: the grammar gives `role` another colour than plain text (tokenizing is asynchronous).
    const highlighted = () => {
      const spans = [...document.querySelectorAll('.monaco-editor .view-lines span span')];
      const role = spans.find((span) => span.textContent?.trim() === 'role');
      // Monaco renders spaces as U+00A0 in view lines.
      const plain = spans.find((span) => span.textContent?.replace(/\u00a0/g, ' ').includes('Add the numbers'));
      return Boolean(role && plain && getComputedStyle(role).color !== getComputedStyle(plain).color);
    };
    try {
      await page.waitForFunction(highlighted, null, { timeout: 30_000 });
    } catch (error) {
      const seen = await page.evaluate(() =>
        [...document.querySelectorAll('.monaco-editor .view-lines span span')]
          .slice(-12)
          .map((span) => `${span.className}:${span.textContent}:${getComputedStyle(span).color}`),
      );
      throw new Error(`no highlighting seen: ${error.message}\n${seen.join('\n')}`, { cause: error });
    }
    checks.push('the grammar highlights role markers');
    // The lenses good.prompt must show; CHAINSCOPE_EXPECT_CODELENS replaces the list.
    const expectedLenses = (
      process.env.CHAINSCOPE_EXPECT_CODELENS ?? '▶ Evaluate (3 cases × 2 variants × 3 chains,▶ Evaluate case,▶ This variant'
    )
      .split(',')
      .map((text) => text.trim())
      .filter(Boolean);
    for (const lens of expectedLenses) {
      await page.waitForFunction(
        (text) => [...document.querySelectorAll('.codelens-decoration')].some((node) => node.textContent?.includes(text)),
        lens,
        { timeout: 30_000 },
      );
      checks.push(`CodeLens '${lens}' is rendered`);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor.png') });
    checks.push('screenshot artifacts/editor.png');
  } finally {
    await page.close();
  }
  return checks;
}

async function runWithCodeServer(env) {
  const { chromium } = await import('playwright-core');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  const server = await startCodeServer({ workspace: WORKSPACE, log });
  const browserData = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-chromium-'));
  let browser;
  let report;
  const uiChecks = [];
  let uiError;
  try {
    browser = await chromium.launchPersistentContext(browserData, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
    });
    report = await runSuiteInCodeServer(browser, server, env);
    if (!values['skip-ui']) {
      try {
        uiChecks.push(...(await withTimeout(checkUi(browser, server), 120_000, 'the browser-level checks')));
      } catch (error) {
        uiError = error;
      }
    }
  } finally {
    await browser?.close().catch(() => undefined);
    await server.stop();
    fs.rmSync(browserData, { recursive: true, force: true });
  }
  // Nothing we started may outlive the run.
  const leftovers = [
    ...processesInGroup(server.pid).map((pid) => `${pid} (code-server group)`),
    ...processesMentioning(server.temp),
    ...processesMentioning(browserData),
  ];
  return { report, uiChecks, uiError, leftovers };
}

/** The results view on a big run, as the HTML report shows it (scripts/check-report-view.ts): virtualized, navigable. */
function checkReportView() {
  const check = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'scripts', 'check-report-view.ts'), '--chromium', CHROMIUM],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  const lines = `${check.stdout ?? ''}${check.stderr ?? ''}`.split('\n').filter(Boolean);
  for (const line of lines) {
    const passed = line.startsWith('ok ');
    console.log(`  ${passed ? '✔' : '✘'} ui: report view: ${line.replace(/^(ok|FAIL|not ok)\s+/, '')}`);
  }
  return { ok: check.status === 0 };
}

async function main() {
  const started = Date.now();
  // Runs from earlier sessions in the fixture workspace would clutter the window under test.
  fs.rmSync(path.join(WORKSPACE, '.chainscope'), { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('the extension did not build');
  await buildHostTests();
  const env = values.fail ? { CHAINSCOPE_HOST_FAIL: '1' } : {};

  let runner = values.runner;
  if (runner === 'auto') runner = (await canDownloadVsCode()) ? 'electron' : 'code-server';
  log(`runner: ${runner}`);
  let failed;
  if (runner === 'electron') {
    const report = await runElectron(env);
    printReport(report);
    failed = report.failures > 0 || report.passes === 0;
  } else {
    // code-server needs system packages: installed here where possible, else named in one line.
    const prerequisites = ensurePrerequisites();
    if (prerequisites.missing.length > 0) {
      if (process.env.CI) throw new Error(describe(prerequisites));
      log(`skipped — ${describe(prerequisites)}`);
      return;
    }
    const { report, uiChecks, uiError, leftovers } = await runWithCodeServer(env);
    printReport(report);
    for (const check of uiChecks) console.log(`  ✔ ui: ${check}`);
    if (uiError) console.log(`  ✘ ui: ${uiError.message}`);
    const reportView = values['skip-ui'] ? { ok: true } : checkReportView();
    if (leftovers.length > 0) console.log(`  ✘ processes outlived the run:\n    ${leftovers.join('\n    ')}`);
    else console.log('  ✔ no process started by the tests outlives them');
    failed = report.failures > 0 || report.passes === 0 || Boolean(uiError) || !reportView.ok || leftovers.length > 0;
  }
  log(`${failed ? 'FAILED' : 'passed'} in ${Math.round((Date.now() - started) / 1000)} s`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(`host tests: ${error.stack ?? error.message}`);
  process.exitCode = 1;
});
