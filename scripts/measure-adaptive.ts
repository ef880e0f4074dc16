// Adaptive against fixed self-consistency on the embedded model (issue: self-consistency that decides):
// the 500 held-out problems of scripts/model, few-shot chain of thought at temperature 0.8, every case
// drawing 16 chains against cases stopping once their vote settles (samples: {max: 16, stop: adaptive}).
// One run seed for both: a case's first k chains are the same chains in both runs, so the comparison is
// paired case by case and differs only by where sampling stopped. Prints a table and a JSON line.
//   npm run build && npx tsx scripts/measure-adaptive.ts [--seeds 7,11] [--configs "stop: adaptive;stop: adaptive, batch: 1"]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EvalReport } from '../src/cli/eval';
import { wilson } from '../src/core/eval/stats';
import { mcnemarExact, pairedBootstrap } from '../src/core/eval/paired';

const root = path.resolve(__dirname, '..');
const argument = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
};
const seeds = (argument('--seeds') ?? '7').split(',').map(Number);
/** The `samples` mappings to compare with a fixed 16, each `max: 16, <config>`. */
const configs = (argument('--configs') ?? 'stop: adaptive').split(';').map((config) => config.trim());

function prompt(samples: string, seed: number): string {
  const source = fs.readFileSync(path.join(root, 'prompts/arithmetic.prompt'), 'utf8');
  const examples = /^examples:\n((?: {2}.*\n)+)/m.exec(source)?.[1] ?? '';
  return [
    '---',
    'name: heldout-adaptive',
    'model: local:arith-tiny',
    `config: {temperature: 0.8, max_tokens: 48, stop: ["\\n\\n"], seed: ${seed}}`,
    `samples: ${samples}`,
    'variants: [few-shot-cot]',
    `examples:\n${examples.trimEnd()}`,
    'dataset:',
    `  path: ${path.join(root, 'testFixtures/uncertainty/heldout-500.jsonl')}`,
    '  expected: answer',
    '  input: {question: question}',
    'extract: number',
    'scorer: numeric',
    '---',
    '{{question}}',
    '',
  ].join('\n');
}

function run(folder: string, name: string, text: string): EvalReport['runs'][number] {
  const file = path.join(folder, `${name}.prompt`);
  fs.writeFileSync(file, text);
  const json = path.join(folder, `${name}.json`);
  const result = spawnSync(
    process.execPath,
    [path.join(root, 'dist/cli.js'), 'eval', file, '--no-cache', '--quiet', '--json', json, '--runs-dir', path.join(folder, 'runs')],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (!fs.existsSync(json)) throw new Error(`${name}: the run wrote no results (exit ${String(result.status)}): ${result.stderr}`);
  return (JSON.parse(fs.readFileSync(json, 'utf8')) as EvalReport).runs[0] as EvalReport['runs'][number];
}

const rows: Record<string, unknown>[] = [];
for (const seed of seeds) {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-adaptive-'));
  try {
    const fixed = run(folder, 'fixed', prompt('16', seed));
    configs.forEach((config, index) => {
      const adaptive = run(folder, `adaptive-${index}`, prompt(`{max: 16, ${config}}`, seed));
      const pass = (result: typeof fixed): Map<string, number> =>
        new Map(result.cells.map((cell) => [cell.caseId, cell.majorityPass ? 1 : 0]));
      const fixedPass = pass(fixed);
      const adaptivePass = pass(adaptive);
      const ids = [...fixedPass.keys()].filter((id) => adaptivePass.has(id));
      const a = ids.map((id) => adaptivePass.get(id) as number);
      const b = ids.map((id) => fixedPass.get(id) as number);
      const onlyAdaptive = ids.filter((_, i) => a[i] === 1 && b[i] === 0).length;
      const onlyFixed = ids.filter((_, i) => a[i] === 0 && b[i] === 1).length;
      const fixedVariant = fixed.variants[0] as (typeof fixed.variants)[number];
      const adaptiveVariant = adaptive.variants[0] as (typeof adaptive.variants)[number];
      const accuracy = (variant: typeof fixedVariant) => {
        const interval = wilson(variant.majorityVote.successes, variant.majorityVote.trials);
        return { value: variant.majorityVote.value, low: interval.low, high: interval.high };
      };
      const { low, high } = pairedBootstrap(onlyAdaptive, onlyFixed, ids.length, seed);
      rows.push({
        seed,
        config,
        cases: ids.length,
        fixedChains: fixedVariant.chains,
        adaptiveChains: adaptiveVariant.chains,
        chainsSavedShare: 1 - adaptiveVariant.chains / fixedVariant.chains,
        fixedTokens: fixedVariant.completionTokens,
        adaptiveTokens: adaptiveVariant.completionTokens,
        fixedMajority: accuracy(fixedVariant),
        adaptiveMajority: accuracy(adaptiveVariant),
        difference: a.reduce((sum, x) => sum + x, 0) / ids.length - b.reduce((sum, x) => sum + x, 0) / ids.length,
        differenceInterval: [low, high],
        onlyAdaptive,
        onlyFixed,
        mcnemarP: mcnemarExact(onlyAdaptive, onlyFixed),
        settledEarly: adaptiveVariant.settledEarly,
        singleChainFixed: fixedVariant.singleChain.value,
      });
    });
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

const pct = (value: number): string => `${(value * 100).toFixed(1)}%`;
console.log(
  `Adaptive sampling against a fixed 16 chains — 500 held-out problems, few-shot CoT, temperature 0.8, arith-tiny (${os.cpus().length} cores)`,
);
for (const row of rows) {
  const r = row as {
    seed: number;
    config: string;
    fixedChains: number;
    adaptiveChains: number;
    chainsSavedShare: number;
    fixedMajority: { value: number; low: number; high: number };
    adaptiveMajority: { value: number; low: number; high: number };
    difference: number;
    differenceInterval: [number, number];
    onlyAdaptive: number;
    onlyFixed: number;
    mcnemarP: number;
  };
  console.log(
    `  seed ${r.seed}, {max: 16, ${r.config}}: chains ${r.fixedChains} → ${r.adaptiveChains} (${pct(r.chainsSavedShare)} fewer); majority vote ${pct(r.fixedMajority.value)} [${pct(r.fixedMajority.low)}–${pct(r.fixedMajority.high)}] → ${pct(r.adaptiveMajority.value)} [${pct(r.adaptiveMajority.low)}–${pct(r.adaptiveMajority.high)}]; paired difference ${(r.difference * 100).toFixed(1)} pt [${(r.differenceInterval[0] * 100).toFixed(1)}, ${(r.differenceInterval[1] * 100).toFixed(1)}], discordant ${r.onlyAdaptive} vs ${r.onlyFixed}, McNemar p = ${r.mcnemarP.toFixed(3)}`,
  );
}
console.log(JSON.stringify({ adaptive: rows }));
