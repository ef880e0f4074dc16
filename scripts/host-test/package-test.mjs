// `npm run test:package`: builds the linux-x64 VSIX, installs it into code-server with
// --install-extension (no extension development path: the packaged extension on its own), opens a shipped
// .prompt file through the UI, clicks the ▶ Evaluate CodeLens and reads the finished run from the results
// webview. Screenshots go to artifacts/.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHROMIUM, CHROMIUM_ARGS, findWebviewFrame, processesInGroup, processesMentioning, startCodeServer } from './code-server.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const ARTIFACTS = path.join(root, 'artifacts');
const log = (message) => console.error(`package test: ${message}`);

function buildVsix() {
  const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'package.mjs'), '--target', 'linux-x64'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) throw new Error('npm run package failed');
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  return path.join(ARTIFACTS, 'vsix', `chainscope-linux-x64-${version}.vsix`);
}

/** The VSIX's file list: only this platform's binaries, no source maps, sources, tests or training scripts. */
async function checkContents(vsix) {
  const { default: yauzl } = await import('yauzl');
  const entries = await new Promise((resolve, reject) => {
    yauzl.open(vsix, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      const names = [];
      zip.on('entry', (entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolve(names));
      zip.readEntry();
    });
  });
  const forbidden = [
    /\.map$/,
    /\.ts$/,
    /(^|\/)src\//,
    /\.test\./,
    /\/test\//,
    /scripts\/model/,
    /\.py$/,
    /napi-v6\/(?!linux\/x64\/)/,
    /\.vscode-test/,
    /artifacts\//,
  ];
  const bad = entries.filter((name) => forbidden.some((pattern) => pattern.test(name)));
  if (bad.length > 0) throw new Error(`the VSIX holds files it should not: ${bad.slice(0, 10).join(', ')}`);
  for (const needed of [
    'extension/dist/extension.js',
    'extension/dist/core.js',
    'extension/dist/localWorker.js',
    'extension/dist/scorerWorker.js',
    'extension/dist/webview/panel.js',
    'extension/dist/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
    'extension/dist/node_modules/onnxruntime-node/script/install.js',
    'extension/testFixtures/models/arith-tiny/onnx/model.onnx',
    'extension/syntaxes/prompt.tmLanguage.json',
    'extension/dist/tiktoken/o200k_base.json',
  ]) {
    if (!entries.includes(needed)) throw new Error(`the VSIX lacks ${needed}`);
  }
  return entries.length;
}

async function main() {
  const started = Date.now();
  const vsix = buildVsix();
  const fileCount = await checkContents(vsix);
  const { chromium } = await import('playwright-core');
  // A workspace that is not the source tree: the shipped prompts, copied.
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-packaged-'));
  fs.cpSync(path.join(root, 'prompts'), workspace, { recursive: true });
  const server = await startCodeServer({ workspace, log, vsix });
  const browserData = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-chromium-'));
  const checks = [`the VSIX holds ${fileCount} files: linux-x64 binaries only, no maps, sources, tests or training scripts`];
  let failure;
  let browser;
  try {
    browser = await chromium.launchPersistentContext(browserData, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1000 },
    });
    const page = await browser.newPage();
    await page.goto(server.workbenchUrl({ folder: workspace }));
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await page.click('.part.statusbar', { position: { x: 5, y: 5 } }).catch(() => undefined);
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget input', { timeout: 20_000 });
    await page.keyboard.type('arithmetic.prompt');
    await page.waitForSelector('.quick-input-list .monaco-list-row', { timeout: 20_000 });
    await page.keyboard.press('Enter');
    const lens = page.locator('.codelens-decoration a', { hasText: '▶ Evaluate (' }).first();
    await lens.waitFor({ timeout: 60_000 });
    checks.push(`the installed extension shows '${(await lens.textContent())?.trim()}'`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'packaged-editor.png') });
    await lens.click();
    // The run finishes in the results webview: find its frame and read it.
    const frame = await findWebviewFrame(page, '[data-testid="run-meta"][data-status="completed"]', 120_000);
    if (!frame) throw new Error('no completed run appeared in the results panel within 120 s');
    const meta = await frame.textContent('[data-testid="run-meta"]');
    if (!meta?.includes('local:arith-tiny')) throw new Error(`the run did not use the embedded model: ${meta}`);
    const accuracies = await frame.$$eval('[data-testid="variant-row"]', (rows) =>
      rows.map((row) => ({
        variant: row.getAttribute('data-variant'),
        single: Number(row.querySelector('[data-testid="single-accuracy"]')?.getAttribute('data-value')),
      })),
    );
    if (accuracies.length !== 4 || accuracies.some((a) => !(a.single >= 0 && a.single <= 1)))
      throw new Error(`unexpected accuracies ${JSON.stringify(accuracies)}`);
    const byVariant = Object.fromEntries(accuracies.map((a) => [a.variant, a.single]));
    if (!(byVariant['zero-shot-cot'] > byVariant['zero-shot']))
      throw new Error(`chain of thought did not beat direct answers: ${JSON.stringify(byVariant)}`);
    checks.push(`the panel shows the finished run: ${accuracies.map((a) => `${a.variant} ${(a.single * 100).toFixed(1)}%`).join(', ')}`);
    await page.setViewportSize({ width: 1400, height: 2000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'packaged-panel.png') });
    checks.push('screenshots artifacts/packaged-editor.png, artifacts/packaged-panel.png');
    // Set up CUDA from the Command Palette: this machine has no GPU, so it must name what is missing.
    const runCommand = async (title) => {
      await page.click('.part.statusbar', { position: { x: 5, y: 5 } }).catch(() => undefined);
      await page.keyboard.press('F1');
      await page.waitForSelector('.quick-input-widget input', { timeout: 20_000 });
      await page.keyboard.type(title);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 20_000 });
      await page.keyboard.press('Enter');
    };
    await runCommand('Chainscope: Set up CUDA');
    // Headless, the workbench may keep new notifications out of the toasts: read the notification center.
    await runCommand('Notifications: Show Notifications');
    const notice = page.locator('.notifications-center .notification-list-item', { hasText: 'the CUDA execution provider needs' }).first();
    await notice.waitFor({ timeout: 30_000 }).catch(async (error) => {
      await page.screenshot({ path: path.join(ARTIFACTS, 'packaged-cuda-failure.png') });
      throw error;
    });
    const noticeText = (await notice.textContent()) ?? '';
    for (const expected of ['libcudnn.so.9', 'libonnxruntime_providers_cuda.so', 'Fetch provider libraries in a terminal']) {
      if (!noticeText.includes(expected)) throw new Error(`Set up CUDA did not mention ${expected}: ${noticeText}`);
    }
    checks.push(`Set up CUDA names what is missing and offers to fetch it: '${noticeText.replace(/\s+/g, ' ').trim().slice(0, 160)}…'`);
  } catch (error) {
    failure = error;
  } finally {
    await browser?.close().catch(() => undefined);
    await server.stop();
    fs.rmSync(browserData, { recursive: true, force: true });
    fs.rmSync(workspace, { recursive: true, force: true });
  }
  const leftovers = [...processesInGroup(server.pid), ...processesMentioning(server.temp)];
  for (const check of checks) console.log(`  ✔ ${check}`);
  if (failure) console.log(`  ✘ ${failure.message}`);
  if (leftovers.length) console.log(`  ✘ processes outlived the run: ${leftovers.join(', ')}`);
  const failed = Boolean(failure) || leftovers.length > 0;
  console.log(`package: ${checks.length} passed, ${failed ? 1 : 0} failed`);
  log(`${failed ? 'FAILED' : 'passed'} in ${Math.round((Date.now() - started) / 1000)} s`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(`package test: ${error.stack ?? error.message}`);
  process.exitCode = 1;
});
