// A big run from the editor, as a user starts it: the evaluation runs in this extension host against
// the fake OpenAI-compatible server in a process of its own, while the browser side types into an open
// editor. The test asserts the run completes, the panel shows its final numbers and the extension
// host's memory stays bounded; `npm run bench` runs it at 80,000 chains and reads the timings it writes.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as vscode from 'vscode';
import { writeBigRun } from '../../../testFixtures/bigRun/make';
import type { RunResult } from '../../core/eval/results';
import { startTyping, verifyPanel } from './helpers';

const CASES = Number(process.env.CHAINSCOPE_BIG_CASES ?? 2000);
const SAMPLES = Number(process.env.CHAINSCOPE_BIG_SAMPLES ?? 8);
/** The target for the 80,000-chain run; the scaled-down test must stay under it too. */
const HOST_RSS_LIMIT_MB = 1024;

/** The fake server in a process of its own, so that its work is not counted as the extension host's. */
async function startServerProcess(answersFile: string): Promise<{ url: string; stop: () => void }> {
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, 'openai-server.js'), answersFile], {
    // Electron's binary runs as plain Node with this (the test-electron runner).
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => resolve(line.trim()));
    child.once('exit', (code) => reject(new Error(`the fake server exited with code ${String(code)} before it listened`)));
  });
  return { url, stop: () => child.kill() };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

suite('A big run from the editor', () => {
  const folder = path.join(process.env.CHAINSCOPE_HOST_ARTIFACTS ?? os.tmpdir(), 'big-run');
  let server: { url: string; stop: () => void } | undefined;

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

    // An editor to type in during the run: each keystroke's arrival here is timed against its key press.
    const typingFile = path.join(folder, 'typing.txt');
    fs.writeFileSync(typingFile, '');
    const typingDocument = await vscode.workspace.openTextDocument(typingFile);
    await vscode.window.showTextDocument(typingDocument, { preserveFocus: false });
    const arrivals: number[] = [];
    const listening = vscode.workspace.onDidChangeTextDocument((event) => {
      if (event.document === typingDocument) for (const _change of event.contentChanges) arrivals.push(Date.now());
    });
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    const typing = await startTyping('big');

    let result: RunResult;
    let wallMs: number;
    let finishedAt: number;
    try {
      const started = Date.now();
      result = await vscode.commands.executeCommand<RunResult>('chainscope.evaluate', vscode.Uri.file(big.promptFile));
      finishedAt = Date.now();
      wallMs = finishedAt - started;
    } finally {
      clearInterval(sampler);
      listening.dispose();
    }
    const presses = await typing.stop();

    assert.ok(result, 'the run returned no result');
    assert.equal(result.status, 'completed', result.error);
    assert.deepEqual(result.coverage, { expected: big.chains, finished: big.chains, failed: 0, missing: 0, cached: 0 });
    assert.equal(result.cells.length, CASES);
    const cell = result.cells[Math.floor(CASES / 2)] as RunResult['cells'][number];
    const chain = cell.chains[SAMPLES - 1] as RunResult['cells'][number]['chains'][number];
    const panel = await verifyPanel('big', {
      runId: result.runId,
      variants: result.variants.map((variant) => ({
        name: variant.name,
        single: variant.singleChain.value,
        majority: variant.majorityVote.value,
      })),
      chain: { variant: cell.variant, caseId: cell.caseId, sample: chain.sample, text: chain.text },
      screenshot: 'panel-big.png',
    });
    if (panel !== 'no-browser') assert.equal(panel, 'ok');
    const peakRssMB = Math.round(peakRss / 2 ** 20);
    assert.ok(peakRssMB <= HOST_RSS_LIMIT_MB, `the extension host peaked at ${peakRssMB} MB during the run`);

    if (process.env.CHAINSCOPE_BENCH_OUT) {
      const delays = presses.slice(0, arrivals.length).map((pressedAt, i) => (arrivals[i] as number) - pressedAt);
      const panelShownAt = Number(fs.readFileSync(path.join(process.env.CHAINSCOPE_HOST_ARTIFACTS ?? '', 'panel-big.json.seen'), 'utf8'));
      fs.writeFileSync(
        process.env.CHAINSCOPE_BENCH_OUT,
        JSON.stringify({
          chains: big.chains,
          wallMs,
          hostPeakRssMB: peakRssMB,
          typingP99Ms: percentile(delays, 99),
          typingMaxMs: Math.max(...delays),
          keystrokes: presses.length,
          keystrokesArrived: arrivals.length,
          panelFinalMs: panelShownAt - finishedAt,
        }),
      );
    }
  });
});
