// Benchmarks (not tests): parser speed on a 5,000-case file, a million-row dataset, refusing an absurd
// local model config, and extension activation time.
// Prints a table and a JSON line. Run with `npm run bench`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadPrompt, nodeFileSystem } from '../src/core/prompt/load';
import { parsePrompt } from '../src/core/prompt/parse';
import { LocalModel } from '../src/core/local/generator';

const root = path.resolve(__dirname, '..');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function timeRuns(runs: number, work: () => void): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    work();
    times.push(performance.now() - start);
  }
  return times;
}

function bigPrompt(cases: number): string {
  const lines = ['---', 'name: big', 'samples: 4', 'variants: [zero-shot, few-shot, zero-shot-cot]', 'examples:'];
  for (let i = 0; i < 3; i++) lines.push(`  - input: {question: "What is ${i} + ${i}?"}`, `    output: "The answer is ${2 * i}."`);
  lines.push('cases:');
  for (let i = 0; i < cases; i++)
    lines.push(
      `  - name: case-${i}`,
      `    input: {question: "Tom has ${i} apples and buys ${i % 7} more. How many now?"}`,
      `    expected: ${i + (i % 7)}`,
    );
  lines.push('extract: number', 'scorer: numeric', '---', '{{role "system"}}', 'Solve it.', '{{role "user"}}', '{{question}}', '');
  return lines.join('\n');
}

async function benchParse() {
  const text = bigPrompt(5000);
  parsePrompt(text); // warm-up: JIT and module initialisation are not what we measure
  const times = timeRuns(15, () => {
    const { document, diagnostics } = parsePrompt(text);
    if (document.cases.length !== 5000 || diagnostics.length > 0) throw new Error('benchmark document did not parse cleanly');
  });

  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-bench-'));
  try {
    const rows = Array.from({ length: 5000 }, (_, i) =>
      JSON.stringify({ question: `Sam has ${i} cards and gets ${i % 5} more. How many?`, answer: i + (i % 5) }),
    );
    fs.writeFileSync(path.join(folder, 'cases.jsonl'), rows.join('\n'));
    const promptText = '---\nscorer: numeric\ndataset: {path: cases.jsonl, expected: answer}\n---\n{{question}}\n';
    const file = path.join(folder, 'data.prompt');
    await loadPrompt(file, promptText, nodeFileSystem);
    const datasetTimes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const start = performance.now();
      const loaded = await loadPrompt(file, promptText, nodeFileSystem);
      datasetTimes.push(performance.now() - start);
      if (loaded.cases.length !== 5000) throw new Error('dataset did not load');
    }
    return { bytes: text.length, parseMs: median(times), parseMinMs: Math.min(...times), datasetLoadMs: median(datasetTimes) };
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * Loads a 1,000,000-row dataset (JSONL, then CSV) as `check` and `eval` do, each in a fresh Node process
 * so that its peak RSS is its own. The files are generated in a temp folder.
 */
function benchMillionRows() {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-bench-rows-'));
  try {
    const rows = 1_000_000;
    const jsonl = fs.openSync(path.join(folder, 'rows.jsonl'), 'w');
    const csv = fs.openSync(path.join(folder, 'rows.csv'), 'w');
    fs.writeSync(csv, 'question,answer\n');
    for (let start = 0; start < rows; start += 10_000) {
      const json: string[] = [];
      const comma: string[] = [];
      for (let i = start; i < start + 10_000; i++) {
        json.push(JSON.stringify({ question: `Sam has ${i} cards and gets ${i % 5} more. How many?`, answer: i + (i % 5) }));
        comma.push(`Sam has ${i} cards and gets ${i % 5} more. How many?,${i + (i % 5)}`);
      }
      fs.writeSync(jsonl, `${json.join('\n')}\n`);
      fs.writeSync(csv, `${comma.join('\n')}\n`);
    }
    fs.closeSync(jsonl);
    fs.closeSync(csv);
    const probe = path.join(folder, 'probe.ts');
    fs.writeFileSync(
      probe,
      `
      import { loadPrompt, nodeFileSystem } from ${JSON.stringify(path.join(root, 'src/core/prompt/load'))};
      const file = process.argv[2] as string;
      const before = process.memoryUsage().rss;
      const start = performance.now();
      loadPrompt(${JSON.stringify(path.join(folder, 'data.prompt'))}, \`---\\nscorer: numeric\\ndataset: {path: \${file}, expected: answer}\\n---\\n{{question}}\\n\`, nodeFileSystem).then((loaded) => {
        const ms = performance.now() - start;
        if (loaded.cases.length !== ${rows} || loaded.diagnostics.length > 0) throw new Error('the dataset did not load cleanly');
        process.stdout.write(JSON.stringify({ ms, startRssMiB: before / 2 ** 20, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
      });
    `,
    );
    const run = (file: string) => {
      const result = spawnSync(process.execPath, ['--import', 'tsx', probe, file], { cwd: root, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(result.stderr);
      return {
        ...(JSON.parse(result.stdout) as { ms: number; startRssMiB: number; peakRssMiB: number }),
        fileMiB: fs.statSync(path.join(folder, file)).size / 2 ** 20,
      };
    };
    return { rows, jsonl: run('rows.jsonl'), csv: run('rows.csv') };
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** How long the local backend takes to refuse a config.json with num_hidden_layers: 1e9 (it used to run 25 s and 2 GB). */
async function benchAbsurdConfig() {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-bench-model-'));
  try {
    const model = path.join(folder, 'arith-tiny');
    fs.cpSync(path.join(root, 'testFixtures/models/arith-tiny'), model, { recursive: true });
    const config = JSON.parse(fs.readFileSync(path.join(model, 'config.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(model, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 1e9 }));
    const start = performance.now();
    const refused = await LocalModel.load(model, { executionProvider: 'cpu' }).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    const ms = performance.now() - start;
    if (!refused?.includes('num_hidden_layers is 1000000000')) throw new Error(`the absurd config was not refused: ${refused ?? 'loaded'}`);
    return { ms };
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** Loads the bundled extension in a fresh Node process against a recording `vscode` stub and times require + activate. */
function benchActivation() {
  const bundle = path.join(root, 'dist/extension.js');
  // The API names the bundle reads from \`vscode\`: the stub must list them for esbuild's ESM interop to copy.
  const names = [...new Set([...fs.readFileSync(bundle, 'utf8').matchAll(/\bvscode\d*\.(\w+)/g)].map((m) => m[1]))];
  const probe = `
    const Module = require('module');
    const names = ${JSON.stringify(names)};
    const target = function () {};
    const stub = new Proxy(target, {
      get: (_t, key) => key === 'textDocuments' ? [] : key === 'then' || typeof key === 'symbol' ? undefined : stub,
      apply: () => stub,
      construct: () => stub,
      ownKeys: () => [...new Set([...Reflect.ownKeys(target), ...names])],
      getOwnPropertyDescriptor: (_t, key) => Reflect.getOwnPropertyDescriptor(target, key) ?? { value: stub, configurable: true, enumerable: true, writable: true },
    });
    const load = Module._load;
    Module._load = function (request, ...rest) { return request === 'vscode' ? stub : load.call(this, request, ...rest); };
    const t0 = performance.now();
    const extension = require(${JSON.stringify(bundle)});
    const t1 = performance.now();
    const context = { subscriptions: [], secrets: stub, workspaceState: stub, globalState: stub, extensionUri: stub };
    extension.activate(context);
    const t2 = performance.now();
    require(${JSON.stringify(path.join(root, 'dist/core.js'))});
    const t3 = performance.now();
    process.stdout.write(JSON.stringify({ requireMs: t1 - t0, activateMs: t2 - t1, registrations: context.subscriptions.length, coreMs: t3 - t2 }));
  `;
  const samples = [];
  for (let i = 0; i < 7; i++) {
    const result = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(result.stderr);
    samples.push(JSON.parse(result.stdout) as { requireMs: number; activateMs: number; registrations: number; coreMs: number });
  }
  const bundleBytes = fs.statSync(path.join(root, 'dist/extension.js')).size;
  return {
    requireMs: median(samples.map((s) => s.requireMs)),
    activateMs: median(samples.map((s) => s.activateMs)),
    totalMs: median(samples.map((s) => s.requireMs + s.activateMs)),
    registrations: samples[0]?.registrations ?? 0,
    coreMs: median(samples.map((s) => s.coreMs)),
    bundleBytes,
  };
}

async function main(): Promise<void> {
  const parse = await benchParse();
  const million = benchMillionRows();
  const absurdConfig = await benchAbsurdConfig();
  const activation = benchActivation();
  const rows: [string, string, string][] = [
    [
      'parse 5,000-case .prompt',
      `${parse.parseMs.toFixed(1)} ms`,
      `target < 100 ms (min ${parse.parseMinMs.toFixed(1)} ms, ${(parse.bytes / 1024).toFixed(0)} KiB)`,
    ],
    ['load 5,000-row JSONL dataset', `${parse.datasetLoadMs.toFixed(1)} ms`, 'parse + read + row checks'],
    ...(['jsonl', 'csv'] as const).map((kind): [string, string, string] => {
      const run = million[kind];
      return [
        `load 1,000,000-row ${kind.toUpperCase()} dataset`,
        `${run.ms.toFixed(0)} ms`,
        `peak RSS ${run.peakRssMiB.toFixed(0)} MiB (${run.startRssMiB.toFixed(0)} MiB at start, ${run.fileMiB.toFixed(0)} MiB file)`,
      ];
    }),
    ['refuse config.json with 1e9 layers', `${absurdConfig.ms.toFixed(1)} ms`, 'was 25 s and 2 GB'],
    ['activation: require bundle', `${activation.requireMs.toFixed(1)} ms`, `${(activation.bundleBytes / 1024).toFixed(0)} KiB bundle`],
    ['activation: activate()', `${activation.activateMs.toFixed(1)} ms`, `${activation.registrations} registrations`],
    ['activation: total', `${activation.totalMs.toFixed(1)} ms`, 'target < 50 ms'],
    ['first use: load the engine', `${activation.coreMs.toFixed(1)} ms`, 'dist/core.js, on the first parse after activation'],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`Chainscope benchmarks (${os.cpus().length} cores, Node ${process.version})`);
  for (const [name, value, note] of rows) console.log(`  ${name.padEnd(width)}  ${value.padStart(10)}  ${note}`);
  console.log(JSON.stringify({ parse, million, absurdConfig, activation }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
