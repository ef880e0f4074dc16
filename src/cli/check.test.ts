import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { runCheck } from './check';

const root = path.resolve(__dirname, '../..');

async function check(...targets: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runCheck(
    targets.map((t) => path.join(root, t)),
    (line) => lines.push(line),
  );
  return { code, lines: lines.map((line) => line.replace(`${root}/`, '')) };
}

describe('chainscope check', () => {
  before(function () {
    this.timeout(60_000);
    execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root });
  });

  it('passes every shipped prompt', async () => {
    const { code, lines } = await check('prompts');
    assert.equal(code, 0, lines.join('\n'));
    assert.match(lines.at(-1) ?? '', /^Checked \d+ prompt files: 0 errors, 0 warnings\.$/);
  });

  it('prints each problem of a broken file as file:line:col and exits 1', async () => {
    const { code, lines } = await check('testFixtures/broken/problems.prompt');
    assert.equal(code, 1);
    const located = lines
      .slice(0, -1)
      .map((line) => line.replace(/^.*?(testFixtures\/broken\/\S+?:\d+:\d+: \w+): .*?(\[[\w-]+\])$/, '$1 $2'));
    assert.deepEqual(located, [
      'testFixtures/broken/problems.prompt:3:1: warning [unknown-key]',
      'testFixtures/broken/problems.prompt:6:3: warning [unknown-key]',
      'testFixtures/broken/problems.prompt:7:23: error [unknown-variant]',
      'testFixtures/broken/problems.prompt:8:10: error [unknown-extractor]',
      'testFixtures/broken/problems.prompt:9:9: error [unknown-scorer]',
      'testFixtures/broken/problems.prompt:10:10: error [missing-file]',
      'testFixtures/broken/problems.prompt:15:5: error [missing-expected]',
      'testFixtures/broken/problems.prompt:22:9: error [undefined-variable]',
    ]);
    assert.equal(lines.at(-1), 'Checked 1 prompt file: 6 errors, 2 warnings.');
  });

  it('names the dataset file and line of bad rows', async () => {
    const { lines } = await check('testFixtures/broken/bad-dataset.prompt');
    assert.ok(
      lines.some((line) => /testFixtures\/broken\/bad-rows\.jsonl:2:1: error: bad-rows\.jsonl:2: invalid JSON/.test(line)),
      lines.join('\n'),
    );
    assert.ok(lines.some((line) => /testFixtures\/broken\/bad-rows\.jsonl:4:1: error: .*no value for question/.test(line)));
  });

  it('runs as a command and exits 1 on errors, 0 when clean, 2 on bad usage', () => {
    const cli = path.join(root, 'dist/cli.js');
    const broken = spawnSync(process.execPath, [cli, 'check', 'testFixtures/broken'], { cwd: root, encoding: 'utf8' });
    assert.equal(broken.status, 1);
    assert.match(broken.stdout, /^testFixtures\/broken\/template-error\.prompt:6:1: error: Template syntax error/m);
    assert.match(broken.stdout, /^testFixtures\/broken\/yaml-error\.prompt:5:5: error: YAML:/m);
    const clean = spawnSync(process.execPath, [cli, 'check', 'prompts', 'testFixtures/dotprompt'], { cwd: root, encoding: 'utf8' });
    assert.equal(clean.status, 0, clean.stdout);
    const usage = spawnSync(process.execPath, [cli, 'frobnicate'], { cwd: root, encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /unknown command 'frobnicate'/);
    const missing = spawnSync(process.execPath, [cli, 'check', 'no/such/dir'], { cwd: root, encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stdout, /no\/such\/dir: error: no such file or folder/);
  });

  it('chainscope cuda says what the CUDA provider lacks, exiting 0 only when nothing is missing', () => {
    const cli = path.join(root, 'dist/cli.js');
    const result = spawnSync(process.execPath, [cli, 'cuda'], { cwd: root, encoding: 'utf8' });
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      assert.equal(result.status, 1);
      assert.match(result.stdout, /Linux x64 only/);
      return;
    }
    const missing = /Not found by the dynamic loader|are missing/.test(result.stdout);
    assert.equal(result.status, missing ? 1 : 0, result.stdout);
    // This checkout's onnxruntime-node has no CUDA provider unless someone fetched it.
    if (/provider libraries are missing/.test(result.stdout))
      assert.match(result.stdout, /cd .*node_modules\/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 node script\/install/);
    assert.match(result.stdout, /^Then reload the VS Code window/m);
  });
});
