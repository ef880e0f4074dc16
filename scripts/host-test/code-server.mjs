/* global fetch */
// Starts code-server on 127.0.0.1 in its own process group with throwaway state, and stops it whole.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureCodeServer } from './install.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url, deadlineMs, child) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited early with code ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`code-server did not answer ${url}/healthz within ${deadlineMs / 1000} s`);
}

function vscodeSockets() {
  return new Set(fs.readdirSync(os.tmpdir()).filter((name) => /^vscode-.*\.sock$/.test(name)));
}

/**
 * Starts code-server with the smoke-test driver (needed for test payloads) and fresh user data.
 * Returns its URL, a helper to build workbench URLs, and `stop()` which ends the whole process group
 * and removes every temporary file it made.
 */
export async function startCodeServer({ workspace, log = console.error, env = {}, vsix }) {
  const { node, entry } = ensureCodeServer(log);
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-code-server-'));
  const dirs = Object.fromEntries(
    ['user-data', 'extensions', 'xdg-data', 'xdg-config', 'xdg-cache'].map((name) => [name, path.join(temp, name)]),
  );
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(path.join(dirs['user-data'], 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(dirs['user-data'], 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'chat.disableAIFeatures': true,
        'extensions.autoUpdate': false,
        'extensions.autoCheckUpdates': false,
        'telemetry.telemetryLevel': 'off',
        'security.workspace.trust.enabled': false,
        'workbench.tips.enabled': false,
        'editor.codeLens': true,
        // The tests' servers open ports; code-server's port detection would otherwise scan for them from
        // the extension host (spawning processes there) and offer to forward each one.
        'remote.autoForwardPorts': false,
      },
      null,
      2,
    ),
  );
  if (vsix) {
    // Installed the way a user installs a file: code-server --install-extension.
    const installed = spawnSync(
      node,
      [entry, '--install-extension', vsix, '--extensions-dir', dirs.extensions, '--user-data-dir', dirs['user-data']],
      {
        encoding: 'utf8',
        env: { ...process.env, XDG_DATA_HOME: dirs['xdg-data'], XDG_CONFIG_HOME: dirs['xdg-config'], XDG_CACHE_HOME: dirs['xdg-cache'] },
      },
    );
    if (installed.status !== 0) {
      fs.rmSync(temp, { recursive: true, force: true });
      throw new Error(`code-server --install-extension ${vsix} failed:\n${installed.stdout}\n${installed.stderr}`);
    }
    log(installed.stdout.trim().split('\n').at(-1) ?? 'installed');
  }
  const port = await freePort();
  const config = path.join(temp, 'config.yaml');
  fs.writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const socketsBefore = vscodeSockets();
  const logFile = path.join(temp, 'code-server.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    node,
    [
      entry,
      '--config',
      config,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--user-data-dir',
      dirs['user-data'],
      '--extensions-dir',
      dirs.extensions,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--vscode-option',
      'enable-smoke-test-driver',
      workspace,
    ],
    {
      // Its own process group, so stop() can end code-server and every extension host it forked.
      detached: true,
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        ...env,
        XDG_DATA_HOME: dirs['xdg-data'],
        XDG_CONFIG_HOME: dirs['xdg-config'],
        XDG_CACHE_HOME: dirs['xdg-cache'],
      },
    },
  );
  fs.closeSync(out);
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const group = -child.pid;
    try {
      process.kill(group, 'SIGTERM');
    } catch {
      // already gone
    }
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && groupAlive(child.pid)) await new Promise((resolve) => setTimeout(resolve, 100));
    if (groupAlive(child.pid)) {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // already gone
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    for (const socket of vscodeSockets()) if (!socketsBefore.has(socket)) fs.rmSync(path.join(os.tmpdir(), socket), { force: true });
    fs.rmSync(temp, { recursive: true, force: true });
  };
  try {
    await waitForHealth(url, 60_000, child);
  } catch (error) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n') : '';
    await stop();
    throw new Error(`${error.message}\n${tail}`, { cause: error });
  }
  const remote = (file) => `vscode-remote://remote${file}`;
  const workbenchUrl = ({ folder = workspace, payload = [] } = {}) =>
    `${url}/?folder=${encodeURIComponent(folder)}${payload.length ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`;
  return { url, port, pid: child.pid, temp, logFile, remote, workbenchUrl, stop };
}

/** Whether any process of the group led by `pid` is still alive. */
export function groupAlive(pid) {
  return processesInGroup(pid).length > 0;
}

export function processesInGroup(pgid) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name "(…)": state, ppid, pgrp.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Processes whose command line mentions `needle` (a temp folder of ours): leftovers if any remain. */
export function processesMentioning(needle) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) found.push(`${entry}: ${cmdline.slice(0, 160)}`);
    } catch {
      // gone
    }
  }
  return found;
}

/** The webview frame (two levels deep in the workbench) that shows `selector`, once one does. */
export async function findWebviewFrame(page, selector, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames().filter((candidate) => candidate.url().includes('/webview/'))) {
      if (await frame.$(selector).catch(() => null)) return frame;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return undefined;
}
