import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeServer, type FakeServer } from '../../testFixtures/openai-server/server';

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'dist/cli.js');
const CANARIES = ['canaryuser', 'CANARYPASS', 'CANARYKEY', 'CANARYENVKEY'];

function filesUnder(folder: string): string[] {
  return fs
    .readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

describe('chainscope eval keeps credentials in --base-url and the key out of every artifact', function () {
  this.timeout(60_000);
  let server: FakeServer | undefined;
  let folder: string;

  before(() => execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root }));
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-secrets-'));
  });
  afterEach(async () => {
    await server?.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('sends them to the server, and no output, run file, cache or report contains them', async () => {
    server = await startFakeServer({ answers: [{ match: 'question', answers: ['The answer is 42.'] }] });
    // A failing case puts the endpoint into error messages, which are stored in every artifact.
    server.inject({ kind: 'not-found', when: 'fault-404', times: Infinity });
    const baseUrl = `${server.url.replace('://', '://canaryuser:CANARYPASS@')}?api-key=CANARYKEY`;
    const args = [
      'eval',
      'testFixtures/remote/secrets.prompt',
      '--backend',
      'openai-compatible',
      '--base-url',
      baseUrl,
      '--runs-dir',
      path.join(folder, 'runs'),
    ];
    const reports = [
      '--json',
      path.join(folder, 'out.json'),
      '--html',
      path.join(folder, 'out.html'),
      '--junit',
      path.join(folder, 'out.xml'),
    ];
    const finished = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, ...args, ...reports], {
        cwd: root,
        env: { ...process.env, OPENAI_API_KEY: 'CANARYENVKEY' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.ok(finished.code !== null && [0, 1, 3].includes(finished.code), `exit ${String(finished.code)}: ${finished.stderr}`);
    // The credentials did their job: the query and Basic auth reached the server, on the right path.
    const ok = server.requests.find((request) => !request.prompt.includes('fault-404'));
    assert.equal(ok?.path, '/v1/chat/completions');
    assert.equal(ok.query, '?api-key=CANARYKEY');
    assert.equal(ok.authorization, `Basic ${Buffer.from('canaryuser:CANARYPASS').toString('base64')}`);

    const artifacts = filesUnder(folder);
    for (const required of ['out.json', 'out.html', 'out.xml'])
      assert.ok(artifacts.includes(path.join(folder, required)), `${required} written`);
    assert.ok(
      artifacts.some((file) => file.includes(`${path.sep}runs${path.sep}`)),
      'a run file',
    );
    assert.ok(
      artifacts.some((file) => file.includes(`${path.sep}cache${path.sep}`)),
      'a cache file',
    );
    const texts = new Map([
      ['stdout', finished.stdout],
      ['stderr', finished.stderr],
      ...artifacts.map((file): [string, string] => [file, fs.readFileSync(file, 'utf8')]),
    ]);
    for (const [where, text] of texts) {
      for (const canary of CANARIES) assert.ok(!text.includes(canary), `${canary} in ${where}`);
    }
    // Not vacuous: the failing case's message names the endpoint, redacted, in the stored results.
    assert.match(texts.get(path.join(folder, 'out.json')) ?? '', /\*\*\*@127\.0\.0\.1:\d+\/v1\?api-key=\*\*\*/);
  });
});
