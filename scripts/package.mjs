// `npm run package`: one VSIX per platform that onnxruntime-node ships binaries for. Each holds the
// minified bundles, the webview, the grammar, snippets, examples, the embedded model, the tokenizer rank
// tables, and onnxruntime-node with only its own platform's binaries (staged into dist/node_modules,
// where the bundles' require('onnxruntime-node') finds it). Prints each file's size.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const OUT = path.join(root, 'artifacts', 'vsix');
const STAGE = path.join(root, 'dist', 'node_modules');

/** VS Code target → onnxruntime-node's binary folder. */
export const TARGETS = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
};

const { values } = parseArgs({ options: { target: { type: 'string', multiple: true } } });
const targets = values.target ?? Object.keys(TARGETS);

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed`);
}

function copy(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true });
}

/** The tokenizer rank tables as JSON next to the bundles (src/core/tokens.ts reads them from there). */
function writeRankTables() {
  const folder = path.join(root, 'dist', 'tiktoken');
  fs.mkdirSync(folder, { recursive: true });
  for (const name of ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base']) {
    const ranks = require(`js-tiktoken/ranks/${name}`);
    fs.writeFileSync(path.join(folder, `${name}.json`), JSON.stringify(ranks.default ?? ranks));
  }
}

/** onnxruntime-node and onnxruntime-common, with the binaries of one platform only. */
function stageOnnxRuntime(binaries) {
  fs.rmSync(STAGE, { recursive: true, force: true });
  const node = path.dirname(require.resolve('onnxruntime-node/package.json'));
  // onnxruntime-common exports no package.json: find its folder from its entry point.
  const commonEntry = require.resolve('onnxruntime-common', { paths: [node] });
  const common = commonEntry.slice(0, commonEntry.lastIndexOf(`${path.sep}dist${path.sep}`));
  copy(path.join(node, 'package.json'), path.join(STAGE, 'onnxruntime-node', 'package.json'));
  copy(path.join(node, 'dist'), path.join(STAGE, 'onnxruntime-node', 'dist'));
  copy(path.join(node, 'bin', 'napi-v6', binaries), path.join(STAGE, 'onnxruntime-node', 'bin', 'napi-v6', binaries));
  // The CUDA provider libraries are fetched by its install script (README, "CUDA"); ship that script too.
  for (const file of fs.readdirSync(path.join(node, 'script')).filter((name) => /^install.*\.js$/.test(name))) {
    copy(path.join(node, 'script', file), path.join(STAGE, 'onnxruntime-node', 'script', file));
  }
  copy(path.join(common, 'package.json'), path.join(STAGE, 'onnxruntime-common', 'package.json'));
  copy(path.join(common, 'dist', 'cjs'), path.join(STAGE, 'onnxruntime-common', 'dist', 'cjs'));
  for (const file of fs.readdirSync(STAGE, { recursive: true })) {
    if (String(file).endsWith('.map') || String(file).endsWith('.d.ts')) fs.rmSync(path.join(STAGE, String(file)));
  }
}

/**
 * The README for the Marketplace: links into the repository (prompts/, docs/) have no public home to point
 * at, so they become plain text; everything else stays as written.
 */
function marketplaceReadme() {
  const text = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const file = path.join(root, 'dist', 'README.md');
  // Screenshots live in the repository only; links into it become their text.
  const withoutImages = text.replace(/^!\[[^\]]*\]\((?!https?:)[^)]+\)\s*$/gm, '');
  fs.writeFileSync(file, withoutImages.replace(/\[([^\]]+)\]\((?!https?:|#)[^)]+\)/g, '$1'));
  return file;
}

function main() {
  run(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--production']);
  writeRankTables();
  fs.mkdirSync(OUT, { recursive: true });
  const readme = marketplaceReadme();
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  const sizes = [];
  try {
    for (const target of targets) {
      const binaries = TARGETS[target];
      if (!binaries) throw new Error(`unknown target ${target} (one of ${Object.keys(TARGETS).join(', ')})`);
      stageOnnxRuntime(binaries);
      const file = path.join(OUT, `chainscope-${target}-${version}.vsix`);
      run(process.execPath, [
        require.resolve('@vscode/vsce/vsce'),
        'package',
        '--target',
        target,
        '--no-dependencies',
        '--allow-missing-repository',
        '--readme-path',
        path.relative(root, readme),
        '--out',
        file,
      ]);
      sizes.push({ target, file: path.relative(root, file), megabytes: fs.statSync(file).size / 1024 / 1024 });
    }
  } finally {
    fs.rmSync(STAGE, { recursive: true, force: true });
  }
  console.log('\nVSIX files:');
  for (const { target, file, megabytes } of sizes)
    console.log(
      `  ${target.padEnd(13)} ${megabytes.toFixed(1).padStart(6)} MB  ${file}${target === 'linux-x64' ? `  (budget 40 MB: ${megabytes < 40 ? 'ok' : 'OVER'})` : ''}`,
    );
  if (sizes.some(({ target, megabytes }) => target === 'linux-x64' && megabytes >= 40)) process.exitCode = 1;
}

main();
