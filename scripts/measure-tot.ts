// Step-level tree of thought against chain-level self-consistency on the embedded model, at the same token budget
// (issue: reasoning shapes). The 500 held-out problems of scripts/model; prompts/arithmetic-tot.prompt's tot-vote
// variant (at each step 5 sampled next steps, the most frequent kept) once per problem, and its few-shot CoT with 16
// chains per problem. The budget is what a ToT search generates per problem (completion tokens): the majority vote
// of a problem's first k chains, k the whole chains that fit that budget. Same run seed, so the pairing is by problem.
// Prints a table and a JSON line.
//   npm run build && npx tsx scripts/measure-tot.ts [--seed 7] [--limit 500]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EvalReport } from '../src/cli/eval';
import { comparePair, pairSeed } from '../src/core/eval/paired';
import { normalizeAnswer } from '../src/core/eval/normalize';
import { vote, wilson } from '../src/core/eval/stats';

const root = path.resolve(__dirname, '..');
const argument = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
};
const seed = Number(argument('--seed') ?? '7');
const limit = Number(argument('--limit') ?? '500');
const MAX_CHAINS = 16;

/** The shipped prompt on the held-out problems: one variant, the given samples and seed. */
function prompt(variant: 'tot-vote' | 'few-shot-cot', samples: number): string {
  const source = fs.readFileSync(path.join(root, 'prompts/arithmetic-tot.prompt'), 'utf8');
  return source
    .replace(/^name: .*$/m, `name: heldout-${variant}`)
    .replace(/^ {2}seed: \d+$/m, `  seed: ${seed}`)
    .replace(/^samples: \d+$/m, `samples: ${samples}`)
    .replace(
      /^ {2}path: data\/arithmetic\.jsonl$/m,
      `  path: ${path.join(root, 'testFixtures/uncertainty/heldout-500.jsonl')}\n  limit: ${limit}`,
    );
}

function run(folder: string, variant: 'tot-vote' | 'few-shot-cot', samples: number): EvalReport['runs'][number] {
  const file = path.join(folder, `${variant}.prompt`);
  fs.writeFileSync(file, prompt(variant, samples));
  const json = path.join(folder, `${variant}.json`);
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [
      path.join(root, 'dist/cli.js'),
      'eval',
      file,
      '--variants',
      variant,
      '--no-cache',
      '--quiet',
      '--json',
      json,
      '--runs-dir',
      path.join(folder, 'runs'),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (!fs.existsSync(json)) throw new Error(`${variant}: the run wrote no results (exit ${String(result.status)}): ${result.stderr}`);
  console.error(`${variant}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return (JSON.parse(fs.readFileSync(json, 'utf8')) as EvalReport).runs[0] as EvalReport['runs'][number];
}

const percent = (value: number): string => `${(100 * value).toFixed(1)}%`;
const interval = (passes: number, cases: number): string => {
  const { low, high } = wilson(passes, cases);
  return `${percent(passes / cases)} [${percent(low)}–${percent(high)}]`;
};

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-tot-'));
try {
  const tot = run(folder, 'tot-vote', 1);
  const cot = run(folder, 'few-shot-cot', MAX_CHAINS);
  const totCells = new Map(tot.cells.map((cell) => [cell.caseId, cell]));
  const cotCells = new Map(cot.cells.map((cell) => [cell.caseId, cell]));
  const ids = [...totCells.keys()].filter((id) => cotCells.has(id) && (totCells.get(id)?.chains.length ?? 0) > 0);
  const totChains = ids.map((id) => totCells.get(id)?.chains[0]).filter((chain) => chain !== undefined);
  const cotChains = ids.flatMap((id) => cotCells.get(id)?.chains ?? []);
  const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
  const totGenerated = mean(totChains.map((chain) => chain.completionTokens));
  const totPrompt = mean(totChains.map((chain) => chain.promptTokens));
  const totReused = mean(totChains.map((chain) => chain.cachedTokens ?? 0));
  const chainGenerated = mean(cotChains.map((chain) => chain.completionTokens));
  const k = Math.max(1, Math.min(MAX_CHAINS, Math.round(totGenerated / chainGenerated)));
  // Each problem's vote over its first k chains, read as the run read them (normalized numbers).
  const firstK = (id: string): boolean => {
    const cell = cotCells.get(id);
    const chains = (cell?.chains ?? [])
      .slice()
      .sort((a, b) => a.sample - b.sample)
      .slice(0, k);
    const keys = chains.map((chain) => (chain.answer === undefined ? undefined : normalizeAnswer(chain.answer)));
    const voted = vote(keys).majority;
    return voted !== undefined && chains.find((chain, i) => keys[i] === voted)?.pass === true;
  };
  const totPass = ids.map((id) => totCells.get(id)?.chains[0]?.pass === true);
  const votePass = ids.map(firstK);
  const singlePass = ids.map((id) => cotCells.get(id)?.chains.find((chain) => chain.sample === 0)?.pass === true);
  const count = (values: boolean[]): number => values.filter(Boolean).length;
  const totOnly = ids.filter((_, i) => totPass[i] && !votePass[i]).length;
  const voteOnly = ids.filter((_, i) => votePass[i] && !totPass[i]).length;
  const paired = comparePair('tot-vote', `maj@${k}`, totOnly, voteOnly, ids.length, pairSeed(seed, 'tot-vote', `maj@${k}`));
  const cases = ids.length;
  console.log(`${cases} held-out problems, seed ${seed}, arith-tiny on ${os.cpus().length} CPU cores (${os.cpus()[0]?.model ?? 'cpu'})`);
  console.log(`  one chain (few-shot CoT)        ${interval(count(singlePass), cases)}   ${chainGenerated.toFixed(1)} generated tokens`);
  console.log(
    `  tree of thought (vote, b=1,k=5)  ${interval(count(totPass), cases)}   ${totGenerated.toFixed(1)} generated tokens, ${totPrompt.toFixed(0)} prompt tokens (${totReused.toFixed(0)} from the prefix cache)`,
  );
  console.log(
    `  majority of ${k} chains            ${interval(count(votePass), cases)}   ${(k * chainGenerated).toFixed(1)} generated tokens`,
  );
  console.log(
    `  ToT − maj@${k}: ${(100 * paired.difference).toFixed(1)} pt [${(100 * paired.low).toFixed(1)}, ${(100 * paired.high).toFixed(1)}], exact McNemar p=${paired.pValue.toPrecision(2)} (${totOnly} vs ${voteOnly} problems)`,
  );
  console.log(
    JSON.stringify({
      measure: 'tot',
      seed,
      cases,
      k,
      single: count(singlePass) / cases,
      tot: count(totPass) / cases,
      majority: count(votePass) / cases,
      totGenerated,
      chainGenerated,
      totPrompt,
      totReused,
      paired,
    }),
  );
} finally {
  fs.rmSync(folder, { recursive: true, force: true });
}
