/* global setInterval */
// `npm run sandbox`: a real VS Code (code-server) in your browser with Chainscope loaded from source and
// prompts/ open. Nothing is installed into your own VS Code. Ctrl-C stops everything.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { startCodeServer } from './code-server.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const workspace = path.join(root, 'prompts');

const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);

const server = await startCodeServer({ workspace, log: (message) => console.error(message) });
const url = server.workbenchUrl({
  payload: [
    ['extensionDevelopmentPath', server.remote(root)],
    ['skipWelcome', 'true'],
    ['skipReleaseNotes', 'true'],
  ],
});
console.log(`\nChainscope sandbox: open ${url}\n(code-server on ${server.url}, prompts/ as the workspace; Ctrl-C stops it)\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.error('\nstopping code-server…');
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
// Stay alive until a signal arrives.
setInterval(() => undefined, 1 << 30);
