// Bundles the extension-host suite (src/test/host) into out/host/: index.js (the
// `extensionTestsPath` entry, mocha bundled in) and one *.host.js per test file. Only `vscode`
// stays external: the host provides it.
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const HOST_SRC = path.join(root, 'src', 'test', 'host');
export const HOST_OUT = path.join(root, 'out', 'host');

export async function buildHostTests() {
  const tests = readdirSync(HOST_SRC).filter((name) => name.endsWith('.host.ts'));
  rmSync(HOST_OUT, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: [
      ...['index.ts', ...tests].map((name) => path.join(HOST_SRC, name)),
      // The fake OpenAI-compatible server, run by the big-run test in a process of its own.
      { in: path.join(root, 'testFixtures', 'openai-server', 'main.ts'), out: 'openai-server' },
    ],
    outdir: HOST_OUT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['vscode'],
    // mocha's parallel mode resolves worker files at run time; the host suite runs serially.
    logOverride: { 'require-resolve-not-external': 'silent' },
    logLevel: 'warning',
  });
  return tests.length;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = await buildHostTests();
  console.log(`host tests: bundled ${count} test file(s) into ${path.relative(root, HOST_OUT)}/`);
}
