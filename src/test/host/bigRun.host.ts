// A big run from the editor, as a user starts it: the evaluation runs in this extension host against
// the fake OpenAI-compatible server in a process of its own, while the browser side types into an open
// editor. The test asserts the run completes, the panel shows its final numbers and the extension
// host's memory stays bounded; `npm run bench` runs it at 80,000 chains and reads the timings it writes.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { writeBigRun } from '../../../testFixtures/bigRun/make';
import { spawnFakeServer, type ServerProcess } from '../../../testFixtures/openai-server/process';
import type { RunResult } from '../../core/eval/results';
import { panelNumbers, startTyping, verifyPanel } from './helpers';

const CASES = Number(process.env.CHAINSCOPE_BIG_CASES ?? 2000);
const SAMPLES = Number(process.env.CHAINSCOPE_BIG_SAMPLES ?? 8);
/** The target for the 80,000-chain run; the scaled-down test must stay under it too. */
const HOST_RSS_LIMIT_MB = 1024;
/** How long the bench types with no run going, for its reference figure. */
const IDLE_TYPING_MS = 6_000;

/** The fake server in a process of its own, so that its work is not counted as the extension host's. */
function startServerProcess(answersFile: string): Promise<ServerProcess> {
  // Electron's binary runs as plain Node with ELECTRON_RUN_AS_NODE (the test-electron runner).
  return spawnFakeServer([path.join(__dirname, 'openai-server.js'), answersFile], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
}

/** A CPU profile of this extension host (`npm run bench` with CHAINSCOPE_BENCH_PROFILE=file): resolves to a function that stops it. */
async function startProfile(): Promise<() => Promise<unknown>> {
  const inspector = await import('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    session.disconnect();
    return profile;
  };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** When the run file says the run ended. */
function endedAt(runFile: string): number {
  const last = fs.readFileSync(runFile, 'utf8').trimEnd().split('\n').at(-1) ?? '{}';
  return Date.parse((JSON.parse(last) as { at?: string }).at ?? '');
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/**
 * The extension host's resident memory with its evaluation processes' (on Linux a background evaluation
 * runs in a process of its own: its memory counts as the host's here).
 */
function rssWithChildren(): number {
  let total = process.memoryUsage().rss;
  if (process.platform !== 'linux') return total;
  try {
    const pageSize = 4096;
    for (const task of fs.readdirSync('/proc/self/task'))
      for (const child of fs.readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean))
        if (fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('sessionWorker'))
          total += Number(fs.readFileSync(`/proc/${child}/statm`, 'utf8').split(' ')[1]) * pageSize;
  } catch {
    // a child that ended between the reads
  }
  return total;
}

suite('A big run from the editor', () => {
  const folder = path.join(process.env.CHAINSCOPE_HOST_ARTIFACTS ?? os.tmpdir(), 'big-run');
  let server: ServerProcess | undefined;

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const config = vscode.workspace.getConfiguration('chainscope');
    await config.update('runsDirectory', undefined, vscode.ConfigurationTarget.Global);
    await config.update('compatible.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    server?.stop();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  test(`${CASES.toLocaleString('en-US')} cases × ${SAMPLES} chains finish, the panel shows the final numbers, and the host's memory stays bounded`, async function () {
    this.timeout(600_000);
    const big = writeBigRun(folder, CASES, SAMPLES);
    server = process.env.CHAINSCOPE_BIG_SERVER
      ? { url: process.env.CHAINSCOPE_BIG_SERVER, stop: () => undefined }
      : await startServerProcess(big.answersFile);
    const config = vscode.workspace.getConfiguration('chainscope');
    await config.update('compatible.baseUrl', server.url, vscode.ConfigurationTarget.Global);
    await config.update('runsDirectory', path.join(folder, 'runs'), vscode.ConfigurationTarget.Global);

    // As a user has it while iterating: the prompt open in an editor (its CodeLens starts the run), the
    // results panel beside it from an earlier, small run (the window's first webview also installs its
    // service worker, seconds on this machine: not the big run's cost), and another editor to type in
    // during the run, where each keystroke's arrival here is timed against its key press.
    const promptDocument = await vscode.workspace.openTextDocument(big.promptFile);
    await vscode.window.showTextDocument(promptDocument, vscode.ViewColumn.One);
    await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', promptDocument.uri, 1);
    const small = writeBigRun(path.join(folder, 'small'), 3, 2);
    const warmUp = await vscode.commands.executeCommand<RunResult>('chainscope.evaluate', vscode.Uri.file(small.promptFile));
    assert.equal(warmUp?.status, 'completed');
    const shown = await verifyPanel('big-warm-up', {
      runId: warmUp.runId,
      variants: panelNumbers(warmUp),
    });
    if (shown !== 'no-browser') assert.equal(shown, 'ok');
    const typingFile = path.join(folder, 'typing.txt');
    fs.writeFileSync(typingFile, '');
    const typingDocument = await vscode.workspace.openTextDocument(typingFile);
    await vscode.window.showTextDocument(typingDocument, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
    const arrivals: number[] = [];
    const listening = vscode.workspace.onDidChangeTextDocument((event) => {
      if (event.document !== typingDocument) return;
      const now = Date.now();
      for (let i = 0; i < event.contentChanges.length; i++) arrivals.push(now);
    });
    // Typing first, until it flows (an editor's first keys load what typing needs): the run's keys are then timed.
    const typing = await startTyping('big');
    const profiler = process.env.CHAINSCOPE_BENCH_PROFILE ? await startProfile() : undefined;
    if (process.env.CHAINSCOPE_HOST_ARTIFACTS) await until(() => arrivals.length >= 20, 20_000, 'typed keys reach the extension host');
    // The bench's reference: the same typing into the same window with no run going, just before it.
    const idleFrom = Date.now();
    if (process.env.CHAINSCOPE_BENCH_OUT) await new Promise((resolve) => setTimeout(resolve, IDLE_TYPING_MS));
    const started = Date.now();
    let peakRss = rssWithChildren();
    // The extension host's own event-loop delay: what typing, saving and other extensions wait behind.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    // When the host's loop was held up (over 50 ms), for the bench's timeline.
    const stalls: [number, number][] = [];
    let lastBeat = Date.now();
    const beat = setInterval(() => {
      const now = Date.now();
      if (now - lastBeat > 60) stalls.push([lastBeat - started, now - lastBeat]);
      lastBeat = now;
    }, 10);
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssWithChildren())), 100);

    let result: RunResult;
    let wallMs: number;
    let ended = 0;
    try {
      result = await vscode.commands.executeCommand<RunResult>('chainscope.evaluate', vscode.Uri.file(big.promptFile));
      ended = Date.now();
      wallMs = ended - started;
    } finally {
      clearInterval(sampler);
      clearInterval(beat);
      loopDelay.disable();
      listening.dispose();
    }
    const presses = await typing.stop();
    if (profiler && process.env.CHAINSCOPE_BENCH_PROFILE)
      fs.writeFileSync(process.env.CHAINSCOPE_BENCH_PROFILE, JSON.stringify({ started, profile: await profiler() }));

    assert.ok(result, 'the run returned no result');
    assert.equal(result.status, 'completed', result.error);
    assert.deepEqual(result.coverage, { expected: big.chains, finished: big.chains, failed: 0, missing: 0, cached: 0 });
    assert.equal(result.cells.length, CASES);
    const cell = result.cells[Math.floor(CASES / 2)] as RunResult['cells'][number];
    const chain = cell.chains[SAMPLES - 1] as RunResult['cells'][number]['chains'][number];
    const panel = await verifyPanel('big', {
      runId: result.runId,
      cases: CASES,
      variants: panelNumbers(result),
      chain: { variant: cell.variant, caseId: cell.caseId, sample: chain.sample, text: chain.text },
      screenshot: 'panel-big.png',
    });
    if (panel !== 'no-browser') assert.equal(panel, 'ok');
    const peakRssMB = Math.round(peakRss / 2 ** 20);
    assert.ok(peakRssMB <= HOST_RSS_LIMIT_MB, `the extension host peaked at ${peakRssMB} MB during the run`);

    if (process.env.CHAINSCOPE_BENCH_OUT) {
      // The keys pressed while the run went on, each with the time its change reached this host.
      const during = presses
        .slice(0, arrivals.length)
        .map((pressedAt, i) => [pressedAt, (arrivals[i] as number) - pressedAt] as const)
        .filter(([pressedAt]) => pressedAt >= started && pressedAt <= ended);
      const delays = during.map(([, delay]) => delay);
      const idle = presses
        .slice(0, arrivals.length)
        .map((pressedAt, i) => [pressedAt, (arrivals[i] as number) - pressedAt] as const)
        .filter(([pressedAt]) => pressedAt >= idleFrom && pressedAt < started)
        .map(([, delay]) => delay);
      const panelShown = JSON.parse(
        fs.readFileSync(path.join(process.env.CHAINSCOPE_HOST_ARTIFACTS ?? '', 'panel-big.json.seen'), 'utf8'),
      ) as {
        drawnAt: number;
        receivedAt?: number;
      };
      const runEnded = endedAt(result.runFile);
      fs.writeFileSync(
        process.env.CHAINSCOPE_BENCH_OUT,
        JSON.stringify({
          chains: big.chains,
          wallMs,
          hostPeakRssMB: peakRssMB,
          typingP99Ms: percentile(delays, 99),
          typingMedianMs: percentile(delays, 50),
          typingMaxMs: Math.max(...delays),
          typingIdleP99Ms: percentile(idle, 99),
          typingIdleMedianMs: percentile(idle, 50),
          typingIdleKeys: idle.length,
          keystrokes: presses.filter((pressedAt) => pressedAt >= started && pressedAt <= ended).length,
          keystrokesArrived: delays.length,
          // From the end record the run wrote to when the webview drew the final state.
          panelFinalMs: panelShown.drawnAt - runEnded,
          panelFinalReceivedMs: panelShown.receivedAt === undefined ? null : panelShown.receivedAt - runEnded,
          commandReturnedMs: ended - runEnded,
          hostLoopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e6),
          hostLoopDelayMaxMs: Math.round(loopDelay.max / 1e6),
          // When each key was pressed (ms after the run started) and how long it took to arrive.
          typingTimeline: during.map(([pressedAt, delay]) => [pressedAt - started, delay]),
          hostStalls: stalls,
          startedAt: started,
        }),
      );
    }
  });

  test('Cancel in the panel stops a big run; its finished chains are kept and the panel says so', async function () {
    this.timeout(120_000);
    if (!process.env.CHAINSCOPE_HOST_ARTIFACTS) this.skip(); // the button is clicked by the runner's browser side
    const big = writeBigRun(path.join(folder, 'cancel'), CASES, SAMPLES);
    const runs = path.join(folder, 'runs');
    const seen = new Set(fs.existsSync(runs) ? fs.readdirSync(runs) : []);
    const running = vscode.commands.executeCommand<RunResult>('chainscope.evaluate', vscode.Uri.file(big.promptFile));
    await until(
      () => fs.existsSync(runs) && fs.readdirSync(runs).some((name) => name.startsWith('big-run-') && !seen.has(name)),
      30_000,
      'the run starts',
    );
    const runId = (fs.readdirSync(runs).find((name) => name.startsWith('big-run-') && !seen.has(name)) ?? '').replace(/\.jsonl$/, '');
    const clicked = await verifyPanel('big-cancel', { runId, status: 'running', variants: [], click: 'run-cancel' });
    assert.equal(clicked, 'ok');
    const result = await running;
    assert.equal(result.status, 'cancelled');
    assert.ok(result.coverage.finished > 0 && result.coverage.finished < big.chains, JSON.stringify(result.coverage));
    // Every chain the run reports finished is in its file: cancelling lost nothing.
    const lines = fs.readFileSync(result.runFile, 'utf8').trimEnd().split('\n');
    assert.equal(lines.filter((line) => line.includes('"type":"completion"')).length, result.coverage.finished + result.coverage.failed);
    const shown = await verifyPanel('big-cancelled', {
      runId: result.runId,
      status: 'cancelled',
      variants: panelNumbers(result),
    });
    assert.equal(shown, 'ok');
  });
});
