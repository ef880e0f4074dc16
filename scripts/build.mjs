// Bundles the extension and the CLI with esbuild. `vscode` is provided by the host and
// `onnxruntime-node` carries native binaries, so both stay external.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external: ['vscode', 'onnxruntime-node'],
  logLevel: 'warning',
  // ESM dependencies read import.meta.url, which a CommonJS bundle lacks: give them this file's URL.
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: "const __importMetaUrl = require('url').pathToFileURL(__filename).href;" },
};

const entries = [
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  // Loaded on first use by the extension (src/extension/core.ts), not on activation.
  { entryPoints: ['src/extension/coreEntry.ts'], outfile: 'dist/core.js' },
  // The local model's worker thread: its own file, loaded with new Worker().
  { entryPoints: ['src/core/local/worker.ts'], outfile: 'dist/localWorker.js' },
  // A prompt's custom scorer runs in this worker thread, so a scorer past its deadline can be stopped.
  { entryPoints: ['src/core/eval/scorerWorker.ts'], outfile: 'dist/scorerWorker.js' },
  // A remote model's evaluation runs in this worker thread, off the extension host's main thread.
  { entryPoints: ['src/core/eval/sessionWorker.ts'], outfile: 'dist/sessionWorker.js' },
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: `#!/usr/bin/env node\n${common.banner.js}` } },
];

// The results webview runs in a browser frame: its own bundle, plus uPlot's styles with ours.
const webview = {
  entryPoints: ['media/panel/main.ts'],
  outfile: 'dist/webview/panel.js',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  sourcemap: false,
  minify: production,
  logLevel: 'warning',
};

async function buildStyles() {
  const fs = await import('node:fs/promises');
  await fs.mkdir('dist/webview', { recursive: true });
  const css = await Promise.all(
    ['node_modules/uplot/dist/uPlot.min.css', 'media/panel/panel.css'].map((file) => fs.readFile(file, 'utf8')),
  );
  await fs.writeFile('dist/webview/panel.css', css.join('\n'));
}

if (watch) {
  for (const entry of entries) {
    const context = await esbuild.context({ ...common, ...entry });
    await context.watch();
  }
  await (await esbuild.context(webview)).watch();
  await buildStyles();
} else {
  await Promise.all([...entries.map((entry) => esbuild.build({ ...common, ...entry })), esbuild.build(webview), buildStyles()]);
}
