import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadPrompt, nodeFileSystem, type LoadedPrompt } from '../prompt/load';
import { LiveSummary } from './live';
import { compareVariants, comparePair, holm, mcnemarExact, pairedBootstrap, pairSeed, PAIRED_METHOD, type PairedCell } from './paired';
import { summarizeRun } from './results';
import { RUN_FILE_SCHEMA, type CompletionRecord, type ParsedRunFile } from './store';

const root = path.resolve(__dirname, '../../..');

const close = (actual: number, expected: number, what = 'value', tolerance = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} ≠ ${expected}`);

/** 2·Σ_{i ≤ k} C(n, i) / 2ⁿ in exact integers (BigInt), capped at 1: the reference the float code must meet. */
function exactTwoSided(b: number, c: number): number {
  const n = b + c;
  let term = 1n;
  let sum = 1n;
  for (let i = 0; i < Math.min(b, c); i++) {
    term = (term * BigInt(n - i)) / BigInt(i + 1);
    sum += term;
  }
  // 2·sum/2ⁿ to 15 significant digits: scale before dividing.
  const scale = 10n ** 18n;
  return Math.min(1, Number((2n * sum * scale) / 2n ** BigInt(n)) / Number(scale));
}

describe('paired comparisons', () => {
  describe('mcnemarExact', () => {
    it('matches R: binom.test(2, 12) = 0.03857, binom.test(3, 10) = 0.3438', () => {
      // R 4.x: binom.test(2, 12)$p.value = 0.03857422 = 2·(1 + 12 + 66)/4096 = 158/4096; the textbook b = 10, c = 2.
      close(mcnemarExact(2, 10), 158 / 4096, 'b=2, c=10');
      close(mcnemarExact(10, 2), 0.03857421875, 'b=10, c=2');
      // binom.test(3, 10)$p.value = 0.34375 = 2·(1 + 10 + 45 + 120)/1024.
      close(mcnemarExact(3, 7), 0.34375, 'b=3, c=7');
      close(mcnemarExact(7, 3), 0.34375, 'b=7, c=3');
      // mcnemar.test's exact form is the binomial test of the discordant pairs: 0 vs 6 → 2/64.
      close(mcnemarExact(0, 6), 0.03125, 'b=0, c=6');
      close(mcnemarExact(0, 5), 0.0625, 'b=0, c=5');
    });

    it('is 1 without discordant cases, for a tie, and for one discordant case', () => {
      assert.equal(mcnemarExact(0, 0), 1);
      assert.equal(mcnemarExact(5, 5), 1); // 2·P(X ≤ 5 | 10) = 2·638/1024 > 1
      assert.equal(mcnemarExact(1, 0), 1);
    });

    it('stays exact for hundreds of discordant cases (against BigInt arithmetic)', () => {
      for (const [b, c] of [
        [80, 120],
        [450, 550],
        [20, 21],
      ] as const) {
        const expected = exactTwoSided(b, c);
        assert.ok(
          Math.abs(mcnemarExact(b, c) - expected) <= 1e-12 + 1e-9 * expected,
          `b=${b}, c=${c}: ${mcnemarExact(b, c)} ≠ ${expected}`,
        );
      }
      assert.ok(mcnemarExact(450, 550) < 0.01 && mcnemarExact(450, 550) > 0.001);
    });
  });

  describe('holm', () => {
    it('steps down and keeps the adjusted values monotone: 0.01, 0.04, 0.03 → 0.03, 0.06, 0.06', () => {
      // Sorted 0.01, 0.03, 0.04: 3·0.01 = 0.03; 2·0.03 = 0.06; 1·0.04 = 0.04 → max(0.06, 0.04) = 0.06.
      const adjusted = holm([0.01, 0.04, 0.03]);
      [0.03, 0.06, 0.06].forEach((expected, i) => close(adjusted[i] as number, expected, `p[${i}]`));
    });

    it('caps at 1 and leaves one test alone', () => {
      assert.deepEqual(holm([0.5, 0.9]), [1, 1]);
      assert.deepEqual(holm([0.2]), [0.2]);
      assert.deepEqual(holm([]), []);
    });
  });

  describe('pairedBootstrap', () => {
    it('is the same for the same seed', () => {
      assert.deepEqual(pairedBootstrap(6, 2, 20, 42), pairedBootstrap(6, 2, 20, 42));
      assert.deepEqual(pairSeed(7, 'a', 'b'), pairSeed(7, 'a', 'b'));
      assert.notEqual(pairSeed(7, 'a', 'b'), pairSeed(7, 'b', 'a'));
      assert.notEqual(pairSeed(7, 'a', 'b'), pairSeed(8, 'a', 'b'));
    });

    it('covers the observed difference and narrows as the cases grow', () => {
      const small = pairedBootstrap(6, 2, 20, 1);
      const large = pairedBootstrap(60, 20, 200, 1);
      for (const interval of [small, large]) assert.ok(interval.low <= 0.2 && 0.2 <= interval.high, JSON.stringify(interval));
      assert.ok(
        large.high - large.low < small.high - small.low,
        `${JSON.stringify(large)} should be narrower than ${JSON.stringify(small)}`,
      );
    });

    it('has about the normal width at many cases: 2·1.96·√((ψ − Δ²)/n)', () => {
      // n = 2000, ψ = 0.4, Δ = 0.2: SD = √(0.36/2000) = 0.013416; width ≈ 0.0526.
      const { low, high } = pairedBootstrap(600, 200, 2000, 3);
      close(high - low, 2 * 1.959964 * Math.sqrt(0.36 / 2000), 'width', 0.006);
      close((low + high) / 2, 0.2, 'centre', 0.004);
    });

    it('is a point at 0 without discordant cases', () => {
      assert.deepEqual(pairedBootstrap(0, 0, 30, 5), { low: 0, high: 0 });
    });
  });

  describe('comparePair', () => {
    it('warns when the difference is under the detectable one, with the cases that would resolve it', () => {
      // 8 cases, 1 discordant: Δ = ψ = 0.125. Connor at Δ = ψ: (1.959964·√0.125 + 0.841621·√0.109375)² / 0.015625
      // = (0.692952 + 0.278338)² / 0.015625 = 60.38 → 61 cases. The MDE for 8 cases lies where Δ > ψ, with ψ = Δ:
      // (1.959964 + 0.841621·√(1 − Δ))² / Δ = 8 → Δ ≈ 0.7222 (check: √0.2778 = 0.52707; (1.959964 + 0.44359)² / 0.7222 = 7.9993).
      const pair = comparePair('a', 'b', 1, 0, 8, 1);
      close(pair.difference, 0.125);
      close(pair.minimumDetectableEffect, 0.7222, 'MDE', 1e-4);
      assert.equal(pair.method, PAIRED_METHOD);
      assert.equal(pair.warning, '8 cases cannot resolve a difference of 12.5 points; about 61 cases would');
      assert.match(
        comparePair('a', 'b', 0, 0, 8, 1).warning ?? '',
        /^8 cases show no difference; the smallest they can resolve is about 72.2 points$/,
      );
      // 40 of 50 one way: Δ = 0.8 far beyond what 50 cases resolve.
      assert.equal(comparePair('a', 'b', 40, 0, 50, 1).warning, undefined);
    });
  });

  describe('compareVariants', () => {
    const cell = (variant: string, caseId: string, majorityPass: boolean, chains = 1): PairedCell => ({
      variant,
      caseId,
      majorityPass,
      chains: Array.from({ length: chains }),
    });

    it('compares every later variant with each earlier one, or each with the baseline, Holm over the pairs', () => {
      const cells = [
        ...['1', '2', '3', '4', '5', '6'].map((id) => cell('x', id, false)),
        ...['1', '2', '3', '4', '5', '6'].map((id) => cell('y', id, true)),
        ...['1', '2', '3', '4', '5', '6'].map((id) => cell('z', id, id === '1')),
      ];
      const all = compareVariants(['x', 'y', 'z'], cells, { seed: 1 });
      assert.deepEqual(
        all.map((pair) => [pair.a, pair.b, pair.aOnly, pair.bOnly, pair.cases]),
        [
          ['y', 'x', 6, 0, 6],
          ['z', 'x', 1, 0, 6],
          ['z', 'y', 0, 5, 6],
        ],
      );
      // p: 2/64, 1, 2/32; Holm (sorted 0.03125, 0.0625, 1): 0.09375, 0.125, 1.
      close(all[0]?.pValue ?? NaN, 0.03125);
      close(all[0]?.pAdjusted ?? NaN, 0.09375);
      close(all[1]?.pAdjusted ?? NaN, 1);
      close(all[2]?.pAdjusted ?? NaN, 0.125);
      const baseline = compareVariants(['x', 'y', 'z'], cells, { seed: 1, baseline: 'y' });
      assert.deepEqual(
        baseline.map((pair) => [pair.a, pair.b]),
        [
          ['x', 'y'],
          ['z', 'y'],
        ],
      );
      // A baseline outside the run: every pair.
      assert.equal(compareVariants(['x', 'y', 'z'], cells, { baseline: 'w' }).length, 3);
    });

    it('pairs only cases both variants have a chain for, and leaves out a pair with none', () => {
      const cells = [cell('x', '1', true), cell('x', '2', true), cell('y', '1', false), cell('y', '2', true, 0), cell('z', '3', true)];
      const pairs = compareVariants(['x', 'y', 'z'], cells);
      assert.deepEqual(
        pairs.map((pair) => [pair.a, pair.b, pair.cases, pair.aOnly, pair.bOnly]),
        [['y', 'x', 1, 0, 1]],
      );
    });
  });

  describe('through summarizeRun', () => {
    async function load(): Promise<LoadedPrompt> {
      const text = `---
samples: 2
config: {seed: 11}
variants: [zero-shot, zero-shot-cot, {type: zero-shot-cot, name: other, trigger: Think it through.}]
cases:
  - {name: a, input: "x", expected: 7}
  - {name: b, input: "y", expected: 7}
  - {name: c, input: "z", expected: 7}
  - {name: d, input: "w", expected: 7}
extract: text
scorer: exact
---
{{q}}
`;
      const loaded = await loadPrompt(path.join(root, 'pairs.prompt'), text, nodeFileSystem);
      assert.deepEqual(loaded.diagnostics, []);
      return loaded;
    }

    const record = (variant: string, caseId: string, sample: number, text: string): CompletionRecord => ({
      type: 'completion',
      variant,
      caseId,
      sample,
      text,
      finishReason: 'stop',
      usage: { promptTokens: 0, completionTokens: 0 },
      latencyMs: 0,
    });

    function runOf(loaded: LoadedPrompt): ParsedRunFile {
      // Majority verdicts: zero-shot right on a; zero-shot-cot on a, b, c; other on a, b, and no chain for d.
      const answers: [string, string, string[]][] = [
        ['zero-shot', 'a', ['7', '7']],
        ['zero-shot', 'b', ['5', '5']],
        ['zero-shot', 'c', ['5', '7']], // a tie: the first answer (5) wins
        ['zero-shot', 'd', ['5', '5']],
        ['zero-shot-cot', 'a', ['7', '7']],
        ['zero-shot-cot', 'b', ['7', '5']],
        ['zero-shot-cot', 'c', ['7', '7']],
        ['zero-shot-cot', 'd', ['4', '4']],
        ['other', 'a', ['7', '7']],
        ['other', 'b', ['7', '7']],
        ['other', 'c', ['1', '1']],
      ];
      return {
        header: {
          type: 'run',
          schema: RUN_FILE_SCHEMA,
          id: 'run-pairs',
          promptFile: loaded.file,
          promptHash: '0123456789abcdef',
          backend: { id: 'scripted', model: 'script-1', input: 'text' },
          sampling: loaded.document.sampling,
          samples: 2,
          seed: 11,
          variants: loaded.document.variants.map((variant) => variant.name),
          cases: loaded.cases.map((testCase) => testCase.id),
          startedAt: '2024-05-01T12:00:00.000Z',
        },
        completions: answers.flatMap(([variant, caseId, texts]) => texts.map((text, sample) => record(variant, caseId, sample, text))),
        end: { type: 'end', status: 'completed', at: '2024-05-01T12:01:00.000Z' },
        skipped: [],
      };
    }

    it('compares the variants of a run on their paired cases, the same from the live summary', async () => {
      const loaded = await load();
      const run = runOf(loaded);
      const result = summarizeRun(loaded.document, loaded.cases, run);
      const comparisons = result.comparisons ?? [];
      // zero-shot-cot − zero-shot: 4 cases, b and c only cot → +2/4, p = 2·¼ = 0.5.
      // other − zero-shot: 3 cases (other has no chain for d), b only other → +1/3, p = 1.
      // other − zero-shot-cot: 3 cases, c only cot → −1/3, p = 1. Holm: 0.5·3 → 1.
      assert.deepEqual(
        comparisons.map((pair) => [pair.a, pair.b, pair.cases, pair.aOnly, pair.bOnly, pair.pValue, pair.pAdjusted]),
        [
          ['zero-shot-cot', 'zero-shot', 4, 2, 0, 0.5, 1],
          ['other', 'zero-shot', 3, 1, 0, 1, 1],
          ['other', 'zero-shot-cot', 3, 0, 1, 1, 1],
        ],
      );
      close(comparisons[0]?.difference ?? NaN, 0.5);
      close(comparisons[2]?.difference ?? NaN, -1 / 3);
      for (const pair of comparisons) {
        assert.ok(pair.low <= pair.difference && pair.difference <= pair.high, JSON.stringify(pair));
        assert.match(pair.warning ?? '', /cases cannot resolve a difference of/);
      }
      // Reproducible (seeded by the run's seed), and the live summary's final result agrees.
      assert.deepEqual(summarizeRun(loaded.document, loaded.cases, run).comparisons, comparisons);
      assert.deepEqual(LiveSummary.fromRun(loaded.document, loaded.cases, run).result().comparisons, comparisons);
      // Not in the live overview.
      assert.equal('comparisons' in LiveSummary.fromRun(loaded.document, loaded.cases, run).overview(), false);
      // A baseline compares each variant with it only.
      const withBaseline = summarizeRun({ ...loaded.document, baseline: 'zero-shot' }, loaded.cases, run).comparisons ?? [];
      assert.deepEqual(
        withBaseline.map((pair) => [pair.a, pair.b]),
        [
          ['zero-shot-cot', 'zero-shot'],
          ['other', 'zero-shot'],
        ],
      );
    });

    it('has no comparisons with one variant', async () => {
      const loaded = await load();
      const run = runOf(loaded);
      const one = { ...run, header: { ...run.header, variants: ['zero-shot'] } };
      assert.equal(summarizeRun(loaded.document, loaded.cases, one).comparisons, undefined);
    });
  });
});
