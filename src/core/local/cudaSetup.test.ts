import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cudaSetup, describeCudaSetup, findRuntimeFolder, loadableLibraries, PROVIDER_LIBRARIES } from './cudaSetup';

describe('Set up CUDA (what the CUDA execution provider still needs)', () => {
  let folder: string;
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-cuda-'));
    fs.mkdirSync(path.join(folder, 'bin', 'napi-v6', 'linux', 'x64'), { recursive: true });
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('lists the missing provider and system libraries, and the command that fetches the former', () => {
    const setup = cudaSetup(folder, 'linux', 'x64', () => new Set(['libcudart.so.12']));
    assert.equal(setup.supported, true);
    assert.deepEqual(setup.missingProviders, PROVIDER_LIBRARIES);
    assert.deepEqual(setup.missingSystem, ['libcublas.so.12', 'libcudnn.so.9']);
    const text = describeCudaSetup(setup).join('\n');
    assert.match(text, /libcublas\.so\.12, libcudnn\.so\.9/);
    // A bare copy of onnxruntime-node (as packaged) first gets its install script's dependencies.
    assert.equal(
      setup.installCommand,
      'npm install --omit=dev --no-package-lock --no-audit --no-fund --ignore-scripts && node script/install',
    );
    assert.ok(text.includes(`cd ${folder} && ONNXRUNTIME_NODE_INSTALL=cuda12 npm install --omit=dev`));
  });

  it('finds provider libraries placed beside the binding and system libraries the loader knows', () => {
    for (const file of PROVIDER_LIBRARIES) fs.writeFileSync(path.join(folder, 'bin', 'napi-v6', 'linux', 'x64', file), '');
    const setup = cudaSetup(folder, 'linux', 'x64', () => new Set(['libcudart.so.12', 'libcublas.so.12', 'libcudnn.so.9']));
    assert.deepEqual(setup.missingProviders, []);
    assert.deepEqual(setup.missingSystem, []);
    assert.match(describeCudaSetup(setup).join('\n'), /installed in/);
  });

  it('says CUDA is for Linux x64 only elsewhere', () => {
    for (const [platform, arch] of [
      ['darwin', 'arm64'],
      ['win32', 'x64'],
      ['linux', 'arm64'],
    ] as const) {
      const setup = cudaSetup(folder, platform, arch, () => new Set());
      assert.equal(setup.supported, false);
      assert.match(describeCudaSetup(setup)[0] ?? '', /Linux x64 only/);
    }
  });

  it('reads LD_LIBRARY_PATH folders and finds onnxruntime-node in this checkout', () => {
    fs.writeFileSync(path.join(folder, 'libcudnn.so.9'), '');
    assert.ok(loadableLibraries({ LD_LIBRARY_PATH: `/does/not/exist:${folder}` }).has('libcudnn.so.9'));
    const checkout = findRuntimeFolder() ?? '';
    assert.ok(fs.existsSync(path.join(checkout, 'script', 'install.js')));
    // Here npm installed onnxruntime-node with its dependencies: the script runs as it is.
    assert.equal(cudaSetup(checkout, 'linux', 'x64', () => new Set()).installCommand, 'node script/install');
  });
});
