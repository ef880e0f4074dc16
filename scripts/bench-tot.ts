// Benchmark (not a test) of prefix reuse in a step-level tree-of-thought search on the embedded model:
// what the local backend's prefix cache saves against prefilling every prompt whole.
//
// Per problem (the first N of testFixtures/uncertainty/heldout-500.jsonl), the prompt is the few-shot
// chain-of-thought prompt of prompts/arithmetic.prompt's two examples plus the thoughts so far. At each
// depth, every kept state makes one request of n = breadth continuations stopped at ". " (siblings share one
// prefill), and the `beam` most frequent continuations become the next states. Several problems run at
// once, so their requests interleave in the worker as the engine's cells do. The search runs twice through
// LocalBackend, prefix cache on and off, and then times a prefill of a child's new tokens against one of a
// single token, which bounds what caching each finished chain as well could still save.
//
//   npx tsx scripts/bench-tot.ts [--problems 100] [--concurrency 4] [--depth 3] [--beam 2] [--breadth 3]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Completion, CompletionRequest } from '../src/core/backend';
import { LocalBackend } from '../src/core/backends/local';
import { LocalModel } from '../src/core/local/generator';
import { parsePrompt } from '../src/core/prompt/parse';

const root = path.resolve(__dirname, '..');
const MODEL = path.join(root, 'testFixtures/models/arith-tiny');
const PROBLEMS = path.join(root, 'testFixtures/uncertainty/heldout-500.jsonl');
const EXAMPLES = path.join(root, 'prompts/arithmetic.prompt');
const SEED = 7;
const TEMPERATURE = 0.7;
/** A thought is one arithmetic step; a few more tokens than the longest ("The answer is 123.") leave room. */
const THOUGHT_TOKENS = 16;

interface Options {
  problems: number;
  concurrency: number;
  depth: number;
  beam: number;
  breadth: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { problems: 100, concurrency: 4, depth: 3, beam: 2, breadth: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '') as keyof Options;
    const value = Number(argv[i + 1]);
    if (!(key in options) || !Number.isInteger(value) || value < 1)
      throw new Error(
        `bench-tot: bad argument ${argv[i] ?? ''} ${argv[i + 1] ?? ''} (--problems, --concurrency, --depth, --beam, --breadth: positive integers)`,
      );
    options[key] = value;
  }
  return options;
}

/** `Q: …\nA: reasoning output` blocks of the prompt file's examples, each followed by a blank line. */
function fewShotPrefix(): string {
  const { document } = parsePrompt(fs.readFileSync(EXAMPLES, 'utf8'));
  return document.examples
    .map((example) => {
      const question = Object.values(example.input).find((value): value is string => typeof value === 'string') ?? '';
      return `Q: ${question}\nA: ${example.reasoning ? `${example.reasoning} ` : ''}${example.output}\n\n`;
    })
    .join('');
}

function readProblems(count: number): { question: string; answer: number }[] {
  return fs
    .readFileSync(PROBLEMS, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .slice(0, count)
    .map((line) => JSON.parse(line) as { question: string; answer: number });
}

interface SearchTotals {
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  wallMs: number;
  solved: number;
  /** Every request's continuations, in order: both runs must draw the same ones. */
  continuations: string[];
}

/** The tree search over all problems, `concurrency` at a time, through one backend. */
async function search(
  backend: LocalBackend,
  prefix: string,
  problems: { question: string; answer: number }[],
  options: Options,
): Promise<SearchTotals> {
  const totals: SearchTotals = {
    requests: 0,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    wallMs: 0,
    solved: 0,
    continuations: [],
  };
  const byProblem: string[][] = problems.map(() => []);
  const signal = new AbortController().signal;
  const solve = async (problem: { question: string; answer: number }, index: number): Promise<void> => {
    const prompt = `${prefix}Q: ${problem.question}\nA:`;
    let states = [''];
    let answer: number | undefined;
    for (let depth = 0; depth < options.depth && states.length > 0; depth++) {
      const counts = new Map<string, { state: string; count: number }>();
      for (const [stateIndex, state] of states.entries()) {
        const request: CompletionRequest = {
          text: prompt + state,
          n: options.breadth,
          firstSample: 0,
          temperature: TEMPERATURE,
          seed: SEED + 1_000 * index + 10 * depth + stateIndex,
          maxTokens: THOUGHT_TOKENS,
          stop: ['. '],
        };
        const chains: Completion[] = [];
        for await (const chain of backend.complete(request, { signal })) chains.push(chain);
        chains.sort((a, b) => a.sample - b.sample);
        const usage = chains[0]?.usage;
        totals.requests++;
        // Every chain reports the request's prompt, prefilled once for all of them.
        totals.promptTokens += usage?.promptTokens ?? 0;
        totals.cachedTokens += usage?.cachedTokens ?? 0;
        for (const chain of chains) {
          totals.completionTokens += chain.usage.completionTokens;
          byProblem[index]?.push(chain.text);
          // The stop string is cut off: the step's own period goes back on.
          const thought = chain.text.replace(/\.?\s*$/, '.');
          const next = state + thought;
          const seen = counts.get(next) ?? { state: next, count: 0 };
          seen.count++;
          counts.set(next, seen);
        }
      }
      const ranked = [...counts.values()].sort((a, b) => b.count - a.count).slice(0, options.beam);
      const finished = ranked.find((entry) => /The answer is/.test(entry.state));
      if (finished && answer === undefined) answer = Number(/The answer is\s*(-?\d+)/.exec(finished.state)?.[1]);
      states = ranked.filter((entry) => !/The answer is/.test(entry.state)).map((entry) => entry.state);
    }
    if (answer === problem.answer) totals.solved++;
  };
  const started = performance.now();
  let next = 0;
  const lanes = Array.from({ length: Math.min(options.concurrency, problems.length) }, async () => {
    while (next < problems.length) {
      const index = next++;
      await solve(problems[index] as { question: string; answer: number }, index);
    }
  });
  await Promise.all(lanes);
  totals.wallMs = performance.now() - started;
  totals.continuations = byProblem.flat();
  return totals;
}

/**
 * Median prefill time of a child prompt's new tokens against a single new token, both after a cached parent:
 * the most that also caching finished chains (so that only the last token is left to run) could save a request.
 */
async function childPrefillMs(prefix: string, question: string): Promise<{ newTokens: number; childMs: number; oneTokenMs: number }> {
  const model = await LocalModel.load(MODEL, { executionProvider: 'cpu' });
  try {
    const parent = model.encode(`${prefix}Q: ${question}\nA:`);
    const thought = model.encode(`${prefix}Q: ${question}\nA: 12 - 8 = 4.`).slice(parent.length);
    const time = async (ids: number[]): Promise<number> => {
      const outcome = await model.generate(
        { promptIds: ids, n: 1, firstSample: 0, maxNewTokens: 1, sampling: { temperature: 0, topK: 0, topP: 1 }, stop: [] },
        () => false,
        () => undefined,
      );
      return outcome.prefillMs;
    };
    const child: number[] = [];
    const one: number[] = [];
    for (let i = 0; i < 21; i++) {
      // Each time a parent not seen before (its last token varies), prefilled first, then its child.
      const base = [...parent, 10 + i];
      await time(base);
      child.push(await time([...base, ...thought]));
      await time(base);
      one.push(await time([...base, thought[0] as number]));
    }
    const median = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1] as number;
    return { newTokens: thought.length, childMs: median(child), oneTokenMs: median(one) };
  } finally {
    await model.dispose();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const prefix = fewShotPrefix();
  const problems = readProblems(options.problems);
  const warmUp = readProblems(500).slice(-2);
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(
    `\nTree-of-thought prefix reuse (LocalBackend, arith-tiny, CPU: ${os.cpus().length} × ${cpu}): ${problems.length} problems, ` +
      `depth ${options.depth}, beam ${options.beam}, ${options.breadth} continuations a request, ${options.concurrency} problems at once`,
  );
  const runs: Record<'on' | 'off', SearchTotals> = {} as Record<'on' | 'off', SearchTotals>;
  for (const mode of ['on', 'off'] as const) {
    const backend = new LocalBackend({ directory: MODEL, executionProvider: 'cpu', ...(mode === 'off' ? { prefixCache: false } : {}) });
    try {
      await backend.load();
      // A warm-up on problems outside the measured ones: the first requests of a session run slower.
      await search(backend, prefix, warmUp, { ...options, concurrency: 1 });
      runs[mode] = await search(backend, prefix, problems, options);
    } finally {
      await backend.dispose();
    }
  }
  const rows = (['on', 'off'] as const).map((mode) => {
    const run = runs[mode];
    const computed = run.promptTokens - run.cachedTokens;
    return { mode, run, computed };
  });
  console.log('  prefix cache   wall      requests   prompt tokens   prefilled   from cache   generated   solved');
  for (const { mode, run, computed } of rows)
    console.log(
      `  ${mode.padEnd(12)} ${(run.wallMs / 1000).toFixed(1).padStart(6)} s ${String(run.requests).padStart(9)} ${String(run.promptTokens).padStart(15)} ` +
        `${String(computed).padStart(11)} ${String(run.cachedTokens).padStart(12)} ${String(run.completionTokens).padStart(11)} ${String(run.solved).padStart(8)}`,
    );
  const [on, off] = rows as [(typeof rows)[number], (typeof rows)[number]];
  const same =
    on.run.continuations.length === off.run.continuations.length &&
    on.run.continuations.every((text, i) => text === off.run.continuations[i]);
  const prefillRatio = off.computed / Math.max(1, on.computed);
  const wallRatio = off.run.wallMs / on.run.wallMs;
  console.log(
    `  the cache prefills ${prefillRatio.toFixed(1)}× fewer prompt tokens (${((100 * on.run.cachedTokens) / on.run.promptTokens).toFixed(1)}% served from it), ` +
      `wall time ${wallRatio.toFixed(2)}× shorter; the same continuations in both runs: ${same ? 'yes' : 'NO'}`,
  );
  const child = await childPrefillMs(prefix, problems[0]?.question ?? '');
  const perRequest = on.computed / on.run.requests;
  const bound = (on.run.requests * Math.max(0, child.childMs - child.oneTokenMs)) / 1000;
  console.log(
    `  with the cache on a request prefills ${perRequest.toFixed(1)} tokens; a child's ${child.newTokens} new tokens take ${child.childMs.toFixed(2)} ms ` +
      `against ${child.oneTokenMs.toFixed(2)} ms for one: caching finished chains too could save at most ~${bound.toFixed(2)} s of the ${(on.run.wallMs / 1000).toFixed(1)} s`,
  );
  console.log(
    JSON.stringify({
      device: 'cpu',
      cores: os.cpus().length,
      cpu,
      options,
      tot: Object.fromEntries(
        rows.map(({ mode, run, computed }) => [
          mode,
          {
            wallMs: Math.round(run.wallMs),
            requests: run.requests,
            promptTokens: run.promptTokens,
            prefilledTokens: computed,
            cachedTokens: run.cachedTokens,
            completionTokens: run.completionTokens,
            solved: run.solved,
          },
        ]),
      ),
      prefillRatio: Number(prefillRatio.toFixed(2)),
      wallRatio: Number(wallRatio.toFixed(3)),
      sameContinuations: same,
      childPrefill: {
        newTokens: child.newTokens,
        childMs: Number(child.childMs.toFixed(3)),
        oneTokenMs: Number(child.oneTokenMs.toFixed(3)),
      },
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
