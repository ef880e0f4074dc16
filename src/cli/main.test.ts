import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/cli.js');

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, OPENAI_API_KEY: 'test-key' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('chainscope command line', function () {
  this.timeout(60_000);
  before(() => execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root }));

  it("prints each command's own usage on -h and --help, exiting 0", () => {
    for (const command of ['check', 'eval', 'demo', 'cuda']) {
      for (const flag of ['-h', '--help']) {
        const result = run(command, flag);
        assert.equal(result.status, 0, `${command} ${flag}: ${result.stderr}`);
        assert.match(result.stdout, new RegExp(`^Usage: chainscope ${command}\\b`), `${command} ${flag}`);
        assert.equal(result.stderr, '');
      }
    }
    assert.match(run('eval', '--help').stdout, /--samples N/);
    assert.match(run('help', 'check').stdout, /^Usage: chainscope check/);
    assert.match(run('--help').stdout, /^Usage: chainscope <command>/);
  });

  it('names an unknown option in one line, with a likely fix, and exits 2 without a stack', () => {
    const typo = run('eval', 'prompts/arithmetic.prompt', '--smaples', '3');
    assert.equal(typo.status, 2);
    assert.equal(typo.stderr, "chainscope eval: unknown option '--smaples' (did you mean --samples?); see 'chainscope eval --help'\n");
    assert.equal(typo.stdout, '');
    const check = run('check', '--strict', 'prompts');
    assert.equal(check.status, 2);
    assert.match(check.stderr, /^chainscope check: unknown option '--strict'; see 'chainscope check --help'\n$/);
    const missingValue = run('eval', 'prompts/arithmetic.prompt', '--samples');
    assert.equal(missingValue.status, 2);
    assert.match(missingValue.stderr, /^chainscope eval: option '--samples <value>' argument missing; see/);
    for (const result of [typo, check, missingValue]) assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  it('rejects fractions for whole-number options and keeps the ranges', () => {
    for (const [flag, value] of [
      ['--samples', '1.5'],
      ['--concurrency', '2.5'],
      ['--threads', '1.5'],
      ['--max-attempts', '3.5'],
      ['--samples', '0'],
      ['--samples', '1e3'],
      ['--concurrency', ''],
    ]) {
      const result = run('eval', 'prompts/arithmetic.prompt', flag ?? '', value ?? '');
      assert.equal(result.status, 2, `${flag} ${value}`);
      assert.equal(result.stderr.split('\n').length, 2, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`^chainscope eval: ${flag} must be a whole number from \\d+ to \\d+, got '${value?.replace('.', '\\.')}'`),
      );
    }
    const fraction = run('eval', 'prompts/arithmetic.prompt', '--fail-under', '1.5');
    assert.equal(fraction.status, 2);
    assert.match(fraction.stderr, /--fail-under must be a number from 0 to 1, got '1\.5'/);
  });

  it('takes --force for eval', () => {
    const result = run('eval', 'no/such/file.prompt', '--force');
    assert.equal(result.status, 2);
    assert.doesNotMatch(result.stderr, /unknown option/);
    assert.match(result.stderr, /no \.prompt files match/);
  });

  it('--precision picks a local export, logs it, and names the folder and what it has when the export is missing', () => {
    const bad = run('eval', 'prompts/arithmetic.prompt', '--precision', 'int3');
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, "chainscope eval: --precision must be auto, fp32, q8, q4, got 'int3'; see 'chainscope eval --help'\n");
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-precision-'));
    try {
      const model = path.join(folder, 'arith-tiny');
      fs.cpSync(path.join(root, 'testFixtures/models/arith-tiny'), model, { recursive: true });
      fs.rmSync(path.join(model, 'onnx/model_q4.onnx'));
      const runs = path.join(folder, 'runs');
      const missing = run(
        'eval',
        'prompts/arithmetic.prompt',
        '--backend',
        'local',
        '--model',
        model,
        '--precision',
        'q4',
        '--runs-dir',
        runs,
      );
      assert.equal(missing.status, 2, missing.stderr);
      assert.equal(
        missing.stderr,
        `chainscope: ${path.join(model, 'onnx')} has no q4 export (model_q4.onnx); it has model.onnx, model_quantized.onnx. Pick another precision, or make one with scripts/model/quantize.py.\n`,
      );
      const q8 = run(
        'eval',
        'prompts/arithmetic.prompt',
        '--backend',
        'local',
        '--model',
        model,
        '--precision',
        'q8',
        '--device',
        'cpu',
        '--variants',
        'zero-shot-cot',
        '--samples',
        '1',
        '--no-cache',
        '--runs-dir',
        runs,
      );
      assert.equal(q8.status, 0, q8.stderr);
      assert.match(q8.stderr, /^info: local: arith-tiny loaded in \d+ ms on CPU, q8 \(model_quantized\.onnx\)$/m);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('check on a folder without .prompt files says so and exits 2', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-empty-'));
    try {
      fs.writeFileSync(path.join(folder, 'notes.txt'), 'no prompts here');
      const result = run('check', folder);
      assert.equal(result.status, 2);
      assert.equal(result.stderr, `chainscope check: no .prompt files in ${folder}\n`);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
