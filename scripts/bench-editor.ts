// The editor's big run (issue: big runs in the editor): 5,000 cases × 16 chains (80,000 chains) against
// the fake OpenAI-compatible server in its own process, first from the CLI, then from ▶ Evaluate in a real
// VS Code (code-server + Chromium, the host tests' runner) while the browser types into an open editor.
// Prints the two wall times side by side, the extension host's peak RSS, the typing delay and how long
// the panel took to show the final result, and a JSON line {"editor": {...}}.
// CHAINSCOPE_BENCH_CASES / CHAINSCOPE_BENCH_SAMPLES change the size.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeBigRun } from '../testFixtures/bigRun/make';
import { spawnFakeServer, type ServerProcess } from '../testFixtures/openai-server/process';

const root = path.resolve(__dirname, '..');
const cases = Number(process.env.CHAINSCOPE_BENCH_CASES ?? 5000);
const samples = Number(process.env.CHAINSCOPE_BENCH_SAMPLES ?? 16);

interface EditorFigures {
  chains: number;
  wallMs: number;
  hostPeakRssMB: number;
  typingP99Ms: number;
  typingMedianMs: number;
  typingMaxMs: number;
  /** The same typing in the same window just before the run (no run going): what the window itself costs. */
  typingIdleP99Ms: number;
  typingIdleMedianMs: number;
  typingIdleKeys: number;
  keystrokes: number;
  keystrokesArrived: number;
  panelFinalMs: number;
  hostLoopDelayP99Ms: number;
  hostLoopDelayMaxMs: number;
  typingTimeline: [number, number][];
  hostStalls: [number, number][];
  /** When the run started (ms since the epoch), for lining the timeline up with other records. */
  startedAt: number;
}

/** The fake server in its own process, with the big run's answers; resolves with its base URL. */
function startServer(answersFile: string): Promise<ServerProcess> {
  return spawnFakeServer(['--import', 'tsx', path.join(root, 'testFixtures/openai-server/main.ts'), answersFile], { cwd: root });
}

/** The CLI on the same run: wall time and peak RSS of its process (GNU time is not assumed). */
function runCli(promptFile: string, url: string): { wallMs: number } {
  const started = performance.now();
  const cli = spawnSync(
    process.execPath,
    [path.join(root, 'dist/cli.js'), 'eval', promptFile, '--no-cache', '--quiet', '--base-url', url],
    {
      cwd: path.dirname(promptFile),
      encoding: 'utf8',
    },
  );
  const wallMs = performance.now() - started;
  if (cli.status !== 0) throw new Error(`the CLI run failed (exit ${String(cli.status)}): ${cli.stderr}`);
  return { wallMs };
}

/** The editor: the host suite's big-run test at full size, in code-server; it writes its figures to a file. */
function runEditor(url: string, out: string): EditorFigures {
  const host = spawnSync(
    process.execPath,
    [path.join(root, 'scripts/host-test/run.mjs'), '--skip-ui', '--runner', 'code-server', '--timeout', '900'],
    {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        CHAINSCOPE_HOST_GREP: 'A big run from the editor',
        CHAINSCOPE_BIG_CASES: String(cases),
        CHAINSCOPE_BIG_SAMPLES: String(samples),
        CHAINSCOPE_BIG_SERVER: url,
        CHAINSCOPE_BENCH_OUT: out,
      },
    },
  );
  if (host.status !== 0 || !fs.existsSync(out)) throw new Error('the editor run failed (see above)');
  return JSON.parse(fs.readFileSync(out, 'utf8')) as EditorFigures;
}

async function main(): Promise<void> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-bench-editor-'));
  const big = writeBigRun(folder, cases, samples);
  const server = await startServer(big.answersFile);
  try {
    const cli = runCli(big.promptFile, server.url);
    const editor = runEditor(server.url, path.join(folder, 'editor.json'));
    const machine = `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    console.log(
      `Big run in the editor (${machine}): ${cases.toLocaleString('en-US')} cases × ${samples} chains = ${editor.chains.toLocaleString('en-US')} chains`,
    );
    const rows: [string, string, string][] = [
      ['CLI wall time', `${(cli.wallMs / 1000).toFixed(1)} s`, 'the same run against the same server'],
      ['editor wall time', `${(editor.wallMs / 1000).toFixed(1)} s`, `${(editor.wallMs / cli.wallMs).toFixed(2)}× the CLI's (target ≤ 2×)`],
      [
        'extension host peak RSS',
        `${editor.hostPeakRssMB} MB`,
        'with its evaluation process, sampled every 100 ms during the run (target ≤ 1,024 MB)',
      ],
      [
        'typing delay p99',
        `${editor.typingP99Ms} ms`,
        `key press → the change in the extension host; ${editor.keystrokesArrived}/${editor.keystrokes} keys, max ${editor.typingMaxMs} ms (target ≤ 100 ms)`,
      ],
      [
        'typing delay idle',
        `${editor.typingIdleP99Ms} ms`,
        `p99 of ${editor.typingIdleKeys} keys just before the run, no run going (median ${editor.typingIdleMedianMs} ms; during the run ${editor.typingMedianMs} ms)`,
      ],
      ['extension host event-loop delay', `${editor.hostLoopDelayP99Ms} ms`, `p99 during the run, max ${editor.hostLoopDelayMaxMs} ms`],
      ['panel final render', `${editor.panelFinalMs} ms`, "the run's end → the finished run drawn in the panel (target ≤ 2,000 ms)"],
    ];
    const width = Math.max(...rows.map(([name]) => name.length));
    for (const [name, value, note] of rows) console.log(`  ${name.padEnd(width)}  ${value.padStart(9)}  ${note}`);
    const { typingTimeline, hostStalls, startedAt, ...figures } = editor;
    // For finding what held typing up: each key (ms into the run, delay) and each stall of the host's loop (start, length).
    if (process.env.CHAINSCOPE_BENCH_TIMELINE)
      fs.writeFileSync(process.env.CHAINSCOPE_BENCH_TIMELINE, JSON.stringify({ startedAt, typing: typingTimeline, hostStalls }));
    console.log(JSON.stringify({ editor: { ...figures, cliWallMs: Math.round(cli.wallMs) } }));
  } finally {
    server.stop();
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
