import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { root, runCli } from '../../testFixtures/cli';
import { startFakeServer, type FakeServer } from '../../testFixtures/openai-server/server';
import { parseRunFile } from '../core/eval/store';
import type { EvalReport } from './eval';

/** The results JSON less what names one run rather than its results: ids, paths, times, and latencies (wall clock). */
function comparable(report: EvalReport): unknown {
  // `endpoints` counts one invocation's requests: the merge sent none.
  const drop = new Set(['runId', 'runFile', 'startedAt', 'generatedAt', 'latencyMs', 'meanLatencyMs', 'shard', 'merged', 'endpoints']);
  return JSON.parse(JSON.stringify(report, (key, value: unknown) => (drop.has(key) ? undefined : value)));
}

const onlyRunFile = (folder: string): string => {
  const files = fs.readdirSync(folder).filter((name) => name.endsWith('.jsonl'));
  assert.equal(files.length, 1, `one run file in ${folder}: ${files.join(', ')}`);
  return path.join(folder, files[0] as string);
};

describe('chainscope eval --shard and chainscope merge (CLI against a real OpenAI-compatible HTTP server)', function () {
  this.timeout(60_000);
  let server: FakeServer;
  let folder: string;
  /** Shard i's run file (1-based), made once for every test. */
  const shards: string[] = [];
  const evalArgs = (...more: string[]): string[] => [
    'eval',
    'prompts/ner-zh.prompt',
    '--backend',
    server.url,
    '--model',
    'fake',
    '--no-cache',
    '--quiet',
    ...more,
  ];

  before(async () => {
    execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root });
    const answers = JSON.parse(fs.readFileSync(path.join(root, 'testFixtures/openai-server/ner-answers.json'), 'utf8')) as {
      match: string;
      answers: string[];
    }[];
    server = await startFakeServer({ apiKey: 'test-key', answers });
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-shard-'));
    for (const index of [1, 2, 3]) {
      const runs = path.join(folder, `shard-${index}`);
      const finished = await runCli(evalArgs('--seed', '42', '--shard', `${index}/3`, '--runs-dir', runs));
      assert.equal(finished.code, 0, finished.stderr);
      assert.match(finished.stderr, new RegExp(`shard ${index}/3: case ${index} of 3`));
      assert.match(finished.stdout, /1 cases × 3 variants × 5 chains \(completed\)/);
      shards.push(onlyRunFile(runs));
    }
  });
  after(async () => {
    await server.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('splits the cases across the shards, each shard file holding its own with the run seed and i/n', () => {
    const headers = shards.map((file) => parseRunFile(fs.readFileSync(file, 'utf8')).header);
    assert.deepEqual(
      headers.map((header) => [header.cases, header.seed, header.shard?.index, header.shard?.count, header.shard?.totalCases]),
      [
        [['张三'], 42, 1, 3, 3],
        [['李四'], 42, 2, 3, 3],
        [['王芳'], 42, 3, 3, 3],
      ],
    );
    // Every cell's chains whole in its shard: 3 variants × 5 chains.
    for (const file of shards) assert.equal(parseRunFile(fs.readFileSync(file, 'utf8')).completions.length, 15);
  });

  it('merges 3 shards into the result of the unsharded run: the same summary, cells and JSON', async () => {
    const fullJson = path.join(folder, 'full.json');
    const requestsBefore = server.requests.length;
    const full = await runCli(evalArgs('--seed', '42', '--runs-dir', path.join(folder, 'full'), '--json', fullJson));
    assert.equal(full.code, 0, full.stderr);
    // The shards sent as many requests as the whole run: one per cell.
    assert.equal(server.requests.length - requestsBefore, 9);

    const mergedJson = path.join(folder, 'merged.json');
    const junit = path.join(folder, 'merged.xml');
    const html = path.join(folder, 'merged.html');
    const mergedRuns = path.join(folder, 'merged');
    // Given in any order.
    const merged = await runCli([
      'merge',
      shards[2] as string,
      shards[0] as string,
      shards[1] as string,
      '--runs-dir',
      mergedRuns,
      '--json',
      mergedJson,
      '--junit',
      junit,
      '--html',
      html,
    ]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stdout, /^merged 3 of 3 shards/m);
    assert.match(merged.stdout, /3 cases × 3 variants × 5 chains \(completed\)/);
    // The same summary table, line for line (latency aside).
    const table = (stdout: string): string[] =>
      stdout
        .split('\n')
        .filter((line) => /^ {2}(zero|one|few)-shot /.test(line) || /^ {4}\S+ − \S+ /.test(line))
        .map((line) => line.replace(/ +\d+ ms/, ' N ms'));
    assert.equal(table(full.stdout).length, 6);
    assert.deepEqual(table(merged.stdout), table(full.stdout));

    const fullReport = JSON.parse(fs.readFileSync(fullJson, 'utf8')) as EvalReport;
    const mergedReport = JSON.parse(fs.readFileSync(mergedJson, 'utf8')) as EvalReport;
    assert.equal(mergedReport.runs[0]?.cells.length, 9);
    assert.deepEqual(comparable(mergedReport), comparable(fullReport));
    assert.deepEqual(
      mergedReport.runs[0]?.merged?.shards.map((shard) => shard.index),
      [1, 2, 3],
    );
    assert.match(fs.readFileSync(junit, 'utf8'), /<testsuites/);
    assert.ok(fs.statSync(html).size > 1000);

    // The merged run file is an ordinary run file of the whole run: resuming it finds nothing to request.
    const runFile = onlyRunFile(mergedRuns);
    const run = parseRunFile(fs.readFileSync(runFile, 'utf8'));
    assert.deepEqual(run.header.cases, ['张三', '李四', '王芳']);
    assert.equal(run.header.shard, undefined);
    assert.equal(run.completions.length, 45);
    assert.equal(run.end?.status, 'completed');
    assert.ok(run.verdicts);
    const requestsBeforeResume = server.requests.length;
    const resumed = await runCli(evalArgs('--resume', runFile, '--runs-dir', mergedRuns));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(server.requests.length, requestsBeforeResume);
  });

  it('refuses a bad --shard, naming the flag, and a shard without a fixed seed, before any request', async () => {
    const requestsBefore = server.requests.length;
    for (const [value, message] of [
      ['0/3', /--shard i must be a whole number from 1 to n \(3\), got '0\/3'/],
      ['4/3', /--shard i must be a whole number from 1 to n \(3\)/],
      ['2', /--shard must be i\/n/],
      ['1.5/3', /--shard must be i\/n/],
    ] as const) {
      const finished = await runCli(evalArgs('--seed', '1', '--shard', value, '--runs-dir', path.join(folder, 'bad')));
      assert.equal(finished.code, 2, value);
      assert.match(finished.stderr, message);
    }
    const noSeed = await runCli(evalArgs('--shard', '1/2', '--runs-dir', path.join(folder, 'bad')));
    assert.equal(noSeed.code, 2);
    assert.match(
      noSeed.stderr,
      /a sharded run needs a fixed seed shared by every shard: set 'seed:' in the prompt's config or pass the same --seed N/i,
    );
    const withResume = await runCli(evalArgs('--shard', '1/2', '--resume', shards[0] as string));
    assert.equal(withResume.code, 2);
    assert.match(withResume.stderr, /--resume continues the shard its run file records: leave out --shard/);
    assert.equal(server.requests.length, requestsBefore);
  });

  it('refuses missing shards, naming them, and merges the given ones with --allow-partial (exit 3, said in the output)', async () => {
    const missing = await runCli(['merge', shards[0] as string, shards[1] as string, '--runs-dir', path.join(folder, 'partial')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing shard 3\/3: give every shard's run file, or --allow-partial to merge the 2 given/);
    assert.equal(fs.existsSync(path.join(folder, 'partial')), false);

    const json = path.join(folder, 'partial.json');
    const partial = await runCli([
      'merge',
      shards[0] as string,
      shards[2] as string,
      '--allow-partial',
      '--runs-dir',
      path.join(folder, 'partial'),
      '--json',
      json,
    ]);
    assert.equal(partial.code, 3, partial.stderr);
    assert.match(partial.stdout, /^merged 2 of 3 shards/m);
    assert.match(partial.stdout, /partial merge \(--allow-partial\): shard 2\/3 missing; their cases are not in this result/);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as EvalReport;
    assert.deepEqual(report.runs[0]?.merged?.missing, [2]);
    assert.deepEqual([...new Set(report.runs[0]?.cells.map((cell) => cell.caseId))], ['张三', '王芳']);
  });

  it('refuses a shard given twice, shards of other settings, of another prompt, and a changed prompt file', async () => {
    const again = path.join(folder, 'again');
    assert.equal((await runCli(evalArgs('--seed', '42', '--shard', '2/3', '--runs-dir', again))).code, 0);
    const twice = await runCli(['merge', ...shards, onlyRunFile(again)]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /shard 2\/3 is given twice \(.+\.jsonl and .+\.jsonl\)/);

    const samples = path.join(folder, 'samples');
    assert.equal((await runCli(evalArgs('--seed', '42', '--samples', '3', '--shard', '3/3', '--runs-dir', samples))).code, 0);
    const settings = await runCli(['merge', shards[0] as string, shards[1] as string, onlyRunFile(samples)]);
    assert.equal(settings.code, 2);
    assert.match(settings.stderr, /were run with different settings: samples 3 vs 5/);

    const seed = path.join(folder, 'seed');
    assert.equal((await runCli(evalArgs('--seed', '7', '--shard', '3/3', '--runs-dir', seed))).code, 0);
    const seeds = await runCli(['merge', shards[0] as string, shards[1] as string, onlyRunFile(seed)]);
    assert.equal(seeds.code, 2);
    assert.match(seeds.stderr, /were run with different settings: seed 7 vs 42/);

    // Another prompt: the same file with one more line.
    const otherPrompt = path.join(folder, 'ner-other.prompt');
    fs.writeFileSync(otherPrompt, `${fs.readFileSync(path.join(root, 'prompts/ner-zh.prompt'), 'utf8')}# edited\n`);
    const other = path.join(folder, 'other');
    const otherArgs = evalArgs('--seed', '42', '--shard', '3/3', '--runs-dir', other);
    otherArgs[1] = otherPrompt;
    assert.equal((await runCli(otherArgs)).code, 0);
    const prompts = await runCli(['merge', shards[0] as string, shards[1] as string, onlyRunFile(other)]);
    assert.equal(prompts.code, 2);
    assert.match(prompts.stderr, /is of another prompt than .+ \(prompt hash \w+ vs \w+; .+ner-other\.prompt vs .+ner-zh\.prompt\)/);

    // The right shards, scored with a prompt file that changed since they ran.
    const changed = await runCli(['merge', ...shards, '--prompt', otherPrompt, '--runs-dir', path.join(folder, 'changed')]);
    assert.equal(changed.code, 2);
    assert.match(changed.stderr, /ner-other\.prompt differs from the prompt the shards ran/);

    const none = await runCli(['merge']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /chainscope merge: give the run files of the shards to merge/);
  });
});
