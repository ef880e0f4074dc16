// What the CUDA execution provider still needs on this machine. onnxruntime-node ships only CPU
// binaries; its install script fetches the CUDA provider libraries, but a packaged extension never
// runs npm, so "Chainscope: Set up CUDA" runs that script where the extension's copy of it lives.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Placed beside the binding by `ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install`. */
export const PROVIDER_LIBRARIES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];
/** What onnxruntime 1.2x's CUDA provider loads from the system: CUDA 12 (runtime, cuBLAS) and cuDNN 9. */
export const SYSTEM_LIBRARIES = ['libcudart.so.12', 'libcublas.so.12', 'libcudnn.so.9'];

export interface CudaSetup {
  /** onnxruntime-node publishes CUDA provider libraries for Linux x64 only. */
  supported: boolean;
  /** onnxruntime-node's folder, where its install script runs. */
  runtimeFolder?: string;
  /** Provider libraries not yet beside the binding. */
  missingProviders: string[];
  /** CUDA and cuDNN libraries the dynamic loader cannot find. */
  missingSystem: string[];
  /** Run in `runtimeFolder` to fetch the provider libraries. */
  installCommand: string;
  installEnvironment: Record<string, string>;
}

/** onnxruntime-node's folder as this bundle resolves it (dist/node_modules in a packaged extension). */
export function findRuntimeFolder(): string | undefined {
  try {
    return path.dirname(require.resolve('onnxruntime-node/package.json'));
  } catch {
    return undefined;
  }
}

/** The library names the dynamic loader knows: its cache (`ldconfig -p`) and LD_LIBRARY_PATH. */
export function loadableLibraries(environment: NodeJS.ProcessEnv = process.env): Set<string> {
  const names = new Set<string>();
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try {
      const listing = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
      for (const line of listing.split('\n')) {
        const name = /^\s*(\S+)\s+\(/.exec(line)?.[1];
        if (name) names.add(name);
      }
      break;
    } catch {
      // Not at this path (or not on Linux): try the next.
    }
  }
  for (const folder of (environment.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)) {
    try {
      for (const file of fs.readdirSync(folder)) names.add(file);
    } catch {
      // A folder that does not exist holds nothing.
    }
  }
  return names;
}

export function cudaSetup(
  runtimeFolder = findRuntimeFolder(),
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
  loadable: () => Set<string> = loadableLibraries,
): CudaSetup {
  const supported = platform === 'linux' && arch === 'x64';
  const binaryFolder = runtimeFolder ? path.join(runtimeFolder, 'bin', 'napi-v6', 'linux', 'x64') : undefined;
  const missingProviders = supported
    ? PROVIDER_LIBRARIES.filter((file) => !binaryFolder || !fs.existsSync(path.join(binaryFolder, file)))
    : [];
  const known = supported ? loadable() : new Set<string>();
  const missingSystem = supported ? SYSTEM_LIBRARIES.filter((name) => !known.has(name)) : [];
  return {
    supported,
    ...(runtimeFolder ? { runtimeFolder } : {}),
    missingProviders,
    missingSystem,
    installCommand: runtimeFolder && installerDependenciesPresent(runtimeFolder) ? INSTALL : `${INSTALL_DEPENDENCIES} && ${INSTALL}`,
    installEnvironment: { ONNXRUNTIME_NODE_INSTALL: 'cuda12' },
  };
}

const INSTALL = 'node script/install';
// The packaged extension ships onnxruntime-node without its install script's own dependencies
// (a zip reader, a proxy agent): fetch those first, without onnxruntime-node's development scripts.
const INSTALL_DEPENDENCIES = 'npm install --omit=dev --no-package-lock --no-audit --no-fund --ignore-scripts';
const INSTALLER_DEPENDENCIES = ['adm-zip', 'global-agent'];

function installerDependenciesPresent(runtimeFolder: string): boolean {
  try {
    for (const name of INSTALLER_DEPENDENCIES) require.resolve(name, { paths: [runtimeFolder] });
    return true;
  } catch {
    return false;
  }
}

/** The steps, as plain text for the log and the CLI. */
export function describeCudaSetup(setup: CudaSetup): string[] {
  if (!setup.supported) return ['onnxruntime-node has a CUDA execution provider on Linux x64 only: here local models run on the CPU.'];
  const lines: string[] = [];
  if (setup.missingSystem.length > 0) {
    lines.push(
      `Not found by the dynamic loader: ${setup.missingSystem.join(', ')}. Install the CUDA 12 runtime and cuBLAS, and cuDNN 9 (NVIDIA's packages), or add their folders to LD_LIBRARY_PATH.`,
    );
  } else {
    lines.push('CUDA 12 and cuDNN 9 libraries: found.');
  }
  if (!setup.runtimeFolder) lines.push('onnxruntime-node could not be found beside the extension.');
  else if (setup.missingProviders.length > 0) {
    lines.push(
      `onnxruntime's CUDA provider libraries are missing (${setup.missingProviders.join(', ')}). Fetch them once from NuGet (needs Node.js, npm and the internet):`,
    );
    lines.push(
      `  cd ${setup.runtimeFolder} && ${Object.entries(setup.installEnvironment)
        .map(([key, value]) => `${key}=${value}`)
        .join(' ')} ${setup.installCommand}`,
    );
  } else {
    lines.push(`onnxruntime's CUDA provider libraries: installed in ${setup.runtimeFolder}.`);
  }
  lines.push(
    'Then reload the VS Code window (the CLI picks them up on its next run): with executionProvider auto (the default) or cuda, local models start on the GPU, and the log says which provider each model uses.',
  );
  return lines;
}
