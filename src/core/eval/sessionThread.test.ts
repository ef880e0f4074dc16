import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeServer, type FakeServer } from '../../../testFixtures/openai-server/server';
import { loadPrompt, nodeFileSystem } from '../prompt/load';
import type { LiveSessionEvent, SessionPoll } from './liveSession';
import { summarizeRun } from './results';
import { RunSetupError } from './run';
import { InvalidPromptError } from './session';
import { BACKGROUND_NICE, ThreadedSession, type SessionThreadOptions } from './sessionThread';
import { RunFile } from './store';

const CASES = 12;
const PROMPT = `---
name: sums
samples: 4
seed: 7
variants: [zero-shot, zero-shot-cot]
cases:
${Array.from({ length: CASES }, (_, i) => `  - {input: "What is ${i} + 1?", expected: ${i + 1}}`).join('\n')}
extract: number
scorer: exact
---
{{input}}
`;

describe('ThreadedSession (an evaluation in a worker thread)', function () {
  this.timeout(60_000);
  let folder: string;
  let server: FakeServer;
  beforeEach(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-thread-'));
    // Right or one off, so that cells disagree and votes matter; streamed slowly enough to poll mid-run.
    const answers = Array.from({ length: CASES }, (_, i) => ({
      match: `What is ${i} + 1?`,
      answers: [`So the answer is ${i + 1}.`, `The answer is ${i + 1}.`, `I get ${i + 2}.`],
    }));
    server = await startFakeServer({ apiKey: 'test-key', answers, chunkDelayMs: 5 });
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  const options = (extra: Partial<SessionThreadOptions> = {}): SessionThreadOptions => ({
    promptFile: path.join(folder, 'sums.prompt'),
    promptText: PROMPT,
    backend: { backend: server.url, model: 'fake', apiKey: 'test-key', concurrency: 4 },
    runsDirectory: path.join(folder, 'runs'),
    trusted: true,
    ...extra,
  });

  // A background session runs in a process of its own on Linux: both ways must behave the same.
  for (const background of [false, true])
    it(`runs the whole evaluation in the ${background ? 'background session' : 'thread'}: live polls, a cell with its chains, and the same result as a fresh summary of its file`, async () => {
      const events: LiveSessionEvent[] = [];
      const session = new ThreadedSession(options({ background }), (event) => events.push(event));
      const polls: SessionPoll[] = [];
      let opened: Awaited<ReturnType<ThreadedSession['cell']>>;
      const poller = setInterval(() => {
        void session.poll(true).then(async (poll) => {
          polls.push(poll);
          const cell = poll.cells.find((candidate) => candidate.chains > 0);
          if (cell && !opened) opened = await session.cell(cell.variant, cell.caseId);
        });
      }, 20);
      const { result } = await session.run().finally(() => clearInterval(poller));

      const start = events.find((event) => event.type === 'start');
      assert.ok(start, 'the start event crosses the thread');
      assert.equal(start.header.cases.length, CASES);
      assert.ok(
        polls.some((poll) => poll.overview !== undefined && poll.cells.length > 0),
        'polls saw the run going on',
      );
      assert.equal(
        polls.reduce((sum, poll) => sum + poll.records, 0) <= CASES * 2 * 4,
        true,
        'each record is counted once at most across polls',
      );
      assert.ok(opened && opened.chains.length > 0, 'a cell opened mid-run comes with its chains');

      const run = RunFile.open(result.runFile).read();
      assert.equal(run.completions.length, CASES * 2 * 4);
      const loaded = await loadPrompt(path.join(folder, 'sums.prompt'), PROMPT, nodeFileSystem);
      const expected = summarizeRun(loaded.document, loaded.cases, run, undefined);
      const rounded = (value: unknown): unknown =>
        JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)));
      assert.deepEqual(rounded(result), rounded({ ...expected, runFile: result.runFile }));
      // Some answers are wrong, some right: the result is not trivially all or nothing.
      const accuracy = result.variants[0]?.singleChain.value ?? -1;
      assert.ok(accuracy > 0 && accuracy < 1, `single-chain accuracy ${accuracy}`);
      assert.equal(await session.cell('zero-shot', result.cells[0]?.caseId ?? ''), undefined, 'nothing answers once the thread is gone');
    });

  for (const background of [false, true])
    it(`stops on the signal and keeps every finished chain (${background ? 'background session' : 'thread'})`, async () => {
      const controller = new AbortController();
      let started = false;
      const session = new ThreadedSession(
        options({ background }),
        (event) => {
          if (event.type === 'start') started = true;
        },
        controller.signal,
      );
      const poller = setInterval(() => {
        void session.poll(false).then((poll) => {
          if (started && (poll.progress?.done ?? 0) >= 8) controller.abort();
        });
      }, 10);
      const { result } = await session.run().finally(() => clearInterval(poller));
      assert.equal(result.status, 'cancelled');
      const kept = RunFile.open(result.runFile).read();
      assert.ok(kept.completions.length >= 8 && kept.completions.length < CASES * 2 * 4, `${kept.completions.length} chains kept`);
      assert.equal(result.coverage.finished, kept.completions.filter((record) => !record.error).length);
    });

  it('takes a budget into the thread: the run stops at it and the result says what was spent', async () => {
    const text = PROMPT.replace('seed: 7\n', 'seed: 7\nconfig: {max_tokens: 10}\n');
    // $0.001 an output token: a request of 4 chains may cost $0.04; two in flight book $0.08, a third would pass $0.1.
    const session = new ThreadedSession(
      options({ promptText: text, maxCost: 0.1, priceTable: { fake: { input: 0, output: 1000 } } }),
      () => undefined,
    );
    const { result } = await session.run();
    assert.equal(result.status, 'budget');
    assert.equal(result.budget, 0.1);
    assert.equal(server.requests.length, 2);
    assert.ok(result.spent !== undefined && result.spent > 0 && result.spent <= 0.1, String(result.spent));
    assert.equal(result.coverage.finished, 8);
  });

  it('brings setup errors back as the errors presenters tell apart', async () => {
    await assert.rejects(
      new ThreadedSession(options({ promptText: PROMPT.replace('samples: 4', 'samples: -1'), background: true }), () => undefined).run(),
      (error: unknown) => error instanceof InvalidPromptError && error.diagnostics.length > 0 && error.file.endsWith('sums.prompt'),
    );
    const { result } = await new ThreadedSession(options(), () => undefined).run();
    await assert.rejects(
      new ThreadedSession(options({ promptText: PROMPT.replace('seed: 7', 'seed: 8'), resume: result.runFile }), () => undefined).run(),
      (error: unknown) => error instanceof RunSetupError && error.forcible,
    );
    await assert.rejects(
      new ThreadedSession(options({ backend: { backend: 'no-such-backend', model: 'x' } }), () => undefined).run(),
      /Unknown backend 'no-such-backend'/,
    );
  });

  it('runs a background session on Linux in a process of its own, at the lowest priority and in a scheduling group of its own', async function () {
    if (process.platform !== 'linux') this.skip();
    const ownGroup = fs.readFileSync('/proc/self/autogroup', 'utf8').trim();
    let seen: { nice: number; group: string; parent: number } | undefined;
    const session = new ThreadedSession(options({ background: true }), (event) => {
      if (event.type !== 'start' || seen) return;
      const stat = fs.readFileSync(`/proc/${session.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      seen = {
        nice: Number(fields[16]),
        group: fs.readFileSync(`/proc/${session.pid}/autogroup`, 'utf8').trim(),
        parent: Number(fields[1]),
      };
    });
    assert.notEqual(session.pid, process.pid);
    const { result } = await session.run();
    assert.equal(result.status, 'completed');
    assert.ok(seen, 'the session started');
    assert.equal(seen.nice, BACKGROUND_NICE);
    // Its own session (setsid) is its own autogroup, whose weight is that of nice 19.
    assert.notEqual(seen.group.split(' ')[0], ownGroup.split(' ')[0]);
    assert.match(seen.group, new RegExp(`nice ${BACKGROUND_NICE}$`));
    const self = fs.readFileSync('/proc/self/stat', 'utf8');
    assert.equal(Number(self.slice(self.lastIndexOf(')') + 2).split(' ')[16]), 0, 'the caller keeps its priority');
    assert.equal(fs.readFileSync('/proc/self/autogroup', 'utf8').trim(), ownGroup, "and its group's");
  });

  it('fails the run, instead of waiting for ever, when the evaluation process is killed', async function () {
    if (process.platform !== 'linux') this.skip();
    let killed = false;
    const session = new ThreadedSession(options({ background: true }), (event) => {
      if (event.type === 'start' && !killed) {
        killed = true;
        process.kill(session.pid, 'SIGKILL');
      }
    });
    await assert.rejects(session.run(), /the evaluation thread stopped \(exit code null\) before the run ended/);
    assert.ok(killed);
    assert.equal(await session.cell('zero-shot', 'c0'), undefined, 'a view asking afterwards gets nothing, at once');
  });

  it('runs a foreground session in a thread of the caller', async () => {
    const session = new ThreadedSession(options({ background: false }), () => undefined);
    assert.equal(session.pid, process.pid);
    assert.equal((await session.run()).result.status, 'completed');
  });
});
