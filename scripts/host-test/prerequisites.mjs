// System prerequisites of the code-server runner of the host tests (a headless Chromium, and the headers
// and toolchain code-server's native addons build with). On Debian or Ubuntu, as root or with
// passwordless sudo, missing ones are installed (scripts/host-test/ci-setup.sh, idempotent); elsewhere
// this says in one line what to install. `node prerequisites.mjs` prints what it found, installed or lacks.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);

/** Debian package names; each is what the runner needs, not a convenience. */
export const PACKAGES = ['chromium', 'fonts-liberation', 'libkrb5-dev', 'pkg-config', 'build-essential', 'python3', 'ca-certificates'];

function quiet(command, args) {
  return spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function isInstalled(pkg) {
  // "install ok installed" is dpkg's status of a fully installed package.
  return quiet('dpkg-query', ['-W', '-f=${Status}', pkg]).stdout === 'install ok installed';
}

/** How packages could be installed here, or why not. */
function installer() {
  if (process.platform !== 'linux' || quiet('dpkg-query', ['--version']).error || quiet('apt-get', ['--version']).error) {
    return { can: false, why: 'not a Debian or Ubuntu system' };
  }
  if (process.getuid?.() === 0) return { can: true };
  if (quiet('sudo', ['-n', 'true']).status === 0) return { can: true };
  return { can: false, why: 'not root, and sudo asks for a password' };
}

/**
 * Checks the packages and installs the missing ones where it can.
 * Returns { found, installed, missing, hint } — `hint` is the one line that says what to do about `missing`.
 */
export function ensurePrerequisites({ install = true } = {}) {
  const debian = !quiet('dpkg-query', ['--version']).error;
  if (!debian) {
    return {
      found: [],
      installed: [],
      missing: ['chromium', 'a C/C++ toolchain', 'Kerberos headers'],
      hint: 'install Chromium (or set CHROMIUM_PATH), a C/C++ toolchain, pkg-config and the Kerberos (GSSAPI) headers, or set VSCODE_EXECUTABLE_PATH to a VS Code to test in',
    };
  }
  const before = PACKAGES.filter((pkg) => !isInstalled(pkg));
  const found = PACKAGES.filter((pkg) => !before.includes(pkg));
  if (before.length === 0 || !install) return { found, installed: [], missing: before, hint: hintFor(before) };
  const can = installer();
  if (!can.can) return { found, installed: [], missing: before, hint: `${hintFor(before)} (${can.why})` };
  const setup = spawnSync('bash', [path.join(here, 'ci-setup.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const missing = PACKAGES.filter((pkg) => !isInstalled(pkg));
  const installed = before.filter((pkg) => !missing.includes(pkg));
  return { found, installed, missing, hint: setup.status === 0 ? hintFor(missing) : `${hintFor(missing)} (apt-get failed)` };
}

function hintFor(missing) {
  return missing.length === 0 ? '' : `sudo apt-get install ${missing.join(' ')}`;
}

export function describe({ found, installed, missing, hint }) {
  const parts = [];
  if (found.length > 0) parts.push(`found ${found.join(', ')}`);
  if (installed.length > 0) parts.push(`installed ${installed.join(', ')}`);
  if (missing.length > 0) parts.push(`missing ${missing.join(', ')} — ${hint}`);
  return `prerequisites: ${parts.join('; ') || 'none needed'}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(here, 'prerequisites.mjs')) {
  console.error(describe(ensurePrerequisites()));
}
