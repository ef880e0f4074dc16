import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

describe('npm install settings', () => {
  it('.npmrc holds only settings npm knows (npm warns that unknown ones stop working in its next major)', function () {
    this.timeout(30_000);
    const npm = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['config', 'get', 'fund'], {
      cwd: root,
      encoding: 'utf8',
      shell: process.platform === 'win32',
    });
    if (npm.error) this.skip();
    assert.equal(npm.status, 0, npm.stderr);
    assert.doesNotMatch(npm.stderr, /Unknown project config/);
  });

  it('runs no dependency install script on any npm version (npm 10 ignores allowScripts)', function () {
    this.timeout(30_000);
    const npm = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['config', 'get', 'ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      shell: process.platform === 'win32',
      // The project's .npmrc must decide, not a variable an outer `npm run` exported.
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_/i.test(name))),
    });
    if (npm.error) this.skip();
    assert.equal(npm.stdout.trim(), 'true', npm.stderr);
  });

  it("skips onnxruntime-node's install script (a CUDA download) and reviews every other one", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    assert.equal(manifest.allowScripts?.['onnxruntime-node'], false);
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([where]) => where.replace(/^.*node_modules\//, ''));
    assert.ok(withScripts.includes('onnxruntime-node'));
    for (const name of withScripts)
      assert.equal(
        typeof manifest.allowScripts?.[name],
        'boolean',
        `${name} has an install script: approve or deny it in package.json's allowScripts`,
      );
  });
});
