import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFakeServer, type CannedAnswer, type FakeServer } from '../../../testFixtures/openai-server/server';
import { OpenAIBackend } from '../backends/openai';
import { loadPrompt, nodeFileSystem } from '../prompt/load';
import { parsePrompt } from '../prompt/parse';
import type { JudgeSpec } from '../prompt/types';
import type { JudgeVerdict } from '../security/types';
import {
  fleissKappa,
  judgeBackendOptions,
  judgeModelReference,
  judgeRequest,
  judgeSpecFor,
  labelAgreement,
  parseVerdict,
  renderRubric,
  summarizeJudge,
  verdictOf,
  JUDGE_VERDICT_SCHEMA,
} from './judge';
import { CompletionCache } from './cache';
import { summarizeRun } from './results';
import { runEvaluation } from './run';

const SPEC: JudgeSpec = { rubric: 'Is {{output}} a fair answer to {{input}} (reference {{expected}})?', repeats: 3, temperature: 0 };
const verdict = (pass: boolean | undefined, extra: Partial<JudgeVerdict> = {}): JudgeVerdict => ({
  ...(pass === undefined ? { invalid: 'no JSON object in the output' } : { pass }),
  promptTokens: 10,
  completionTokens: 5,
  ...extra,
});

describe('judge: requests and verdicts', () => {
  it('fills the rubric in one pass: template syntax inside the model output stays as written', () => {
    const text = renderRubric(SPEC.rubric, { input: { q: 'two plus two' }, expected: 4, output: 'It is {{expected}} {{input}}' });
    assert.equal(text, 'Is It is {{expected}} {{input}} a fair answer to two plus two (reference 4)?');
    // Without {{output}} the subject is appended; several variables read as `name: value` lines.
    const appended = renderRubric('Polite?', { input: { a: 'x', b: 2 }, output: 'Hi' });
    assert.equal(appended, 'Polite?\n\nInput:\na: x\nb: 2\n\nResponse to grade:\nHi');
  });

  it('builds a greedy, seeded request per repeat with the verdict schema', () => {
    const request = judgeRequest({ ...SPEC, seed: 7 }, { input: { q: 'x' }, output: 'y' }, 'chat', 2);
    assert.equal(request.n, 1);
    assert.equal(request.temperature, 0);
    assert.equal(request.seed, 9);
    assert.equal(request.maxTokens, 256);
    assert.deepEqual(request.responseFormat, { name: 'judge_verdict', schema: JUDGE_VERDICT_SCHEMA });
    assert.equal(request.messages?.[0]?.role, 'system');
    assert.match(request.messages?.[1]?.content ?? '', /^Is y a fair answer to x \(reference \)\?/);
    const text = judgeRequest({ ...SPEC, maxTokens: 40, temperature: 0.5 }, { input: { q: 'x' }, output: 'y' }, 'text', 0);
    assert.equal(text.messages, undefined);
    assert.match(text.text ?? '', /JSON verdict:$/);
    assert.equal(text.seed, 0);
    assert.equal(text.maxTokens, 40);
    assert.equal(text.temperature, 0.5);
  });

  it('reads the last complete JSON object, in a fence or after a preamble', () => {
    assert.deepEqual(parseVerdict('{"verdict": "pass", "score": 0.75, "reason": "right"}'), { pass: true, score: 0.75, reason: 'right' });
    assert.deepEqual(parseVerdict('Let me check.\n```json\n{"verdict": "fail"}\n```'), { pass: false });
    // A draft object first, the final one last; braces inside strings do not count.
    assert.deepEqual(parseVerdict('{"verdict": "pass"} on reflection: {"verdict": "fail", "reason": "a } in {text"}'), {
      pass: false,
      reason: 'a } in {text',
    });
    assert.deepEqual(parseVerdict('{"verdict": "pass", "score": null}'), { pass: true });
  });

  it('says why an output is not a verdict', () => {
    const invalid = (text: string): string | undefined => parseVerdict(text).invalid;
    assert.equal(invalid('The answer is fine.'), 'no JSON object in the output');
    assert.equal(invalid('{"verdict": "pass", "reason": "cut'), 'no complete JSON object in the output (cut off?)');
    // Engines that give a position get the exact place, the others the object's start.
    assert.match(
      invalid('ok\n{"verdict": pass}') ?? '',
      /^the JSON object does not parse: .*(at line 2 column 13|starts at line 2 column 1\))$/,
    );
    assert.equal(invalid('{"score": 1}'), 'the JSON object has no "verdict"');
    assert.equal(invalid('{"verdict": "maybe"}'), 'the verdict is "maybe", not "pass" or "fail"');
    assert.equal(invalid('{"verdict": "pass", "score": "high"}'), 'the score is "high", not a number');
    assert.equal(invalid('{"verdict": "pass", "score": 2}'), 'the score 2 is outside [0, 1]');
    assert.equal(invalid('[{"verdict": "pass"}]'), undefined);
  });

  it('votes: the majority of valid verdicts, a tie fails, scores averaged (1/0 without a score)', () => {
    const majority = verdictOf([verdict(true, { score: 0.9, reason: 'good' }), verdict(false), verdict(true), verdict(undefined)]);
    // Valid: pass 0.9, fail (0), pass (1): mean (0.9 + 0 + 1) / 3 = 0.6333…
    assert.equal(majority?.pass, true);
    assert.ok(Math.abs((majority?.score ?? 0) - 1.9 / 3) < 1e-12);
    assert.equal(majority?.reason, 'good (2 of 3 verdicts pass)');
    const tie = verdictOf([verdict(true), verdict(false, { reason: 'wrong' })]);
    assert.equal(tie?.pass, false);
    assert.equal(tie?.reason, "the judge's verdicts are split 1–1: a tie counts as fail (wrong)");
    assert.equal(verdictOf([verdict(undefined)]), undefined);
  });

  it('finds the judge of a case: the scorer, or an attack detector with its own rubric', () => {
    const judged = parsePrompt('---\nscorer: {type: judge, rubric: "R {{output}}", repeats: 2}\n---\n{{q}}\n').document;
    const base = { id: 'a', input: {}, range: judged.scorer.range ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } };
    assert.equal(judgeSpecFor(judged, base)?.rubric, 'R {{output}}');
    const attack = (detector: { type: 'judge'; rubric: string } | { type: 'contains'; value: string }) => ({
      ...base,
      attack: { baseCase: 'a', spec: { id: 'x', suite: 'custom' as const, text: 't', into: 'q', position: 'append' as const, detector } },
    });
    assert.deepEqual(judgeSpecFor(judged, attack({ type: 'judge', rubric: 'Leaked?' })), { ...judged.scorer.judge, rubric: 'Leaked?' });
    assert.equal(judgeSpecFor(judged, attack({ type: 'contains', value: 'PWNED' })), undefined);
    const plain = parsePrompt('---\nscorer: exact\n---\n{{q}}\n').document;
    assert.deepEqual(judgeSpecFor(plain, attack({ type: 'judge', rubric: 'Leaked?' })), { repeats: 1, temperature: 0, rubric: 'Leaked?' });
    assert.equal(judgeSpecFor(plain, base), undefined);
  });
});

describe('judge: its backend', () => {
  it("is another backend only for another model, built from the run's options", () => {
    const backend = { id: 'openai', model: 'gpt-4o-mini' };
    assert.equal(judgeModelReference(undefined, backend), undefined);
    assert.equal(judgeModelReference('gpt-4o-mini', backend), undefined);
    assert.equal(judgeModelReference('openai:gpt-4o-mini', backend), undefined);
    assert.equal(judgeModelReference('gpt-4o', backend), 'openai:gpt-4o');
    assert.equal(judgeModelReference('local:arith-tiny', backend), 'local:arith-tiny');
    const run = { backend: 'vllm', model: 'qwen', baseUrl: 'http://gpu:8000/v1', batch: {}, timeoutMs: 5 };
    // A bare name: the run's provider and endpoint, another model, never through the Batch API.
    assert.deepEqual(judgeBackendOptions(run, 'llama'), { backend: 'vllm', model: 'llama', baseUrl: 'http://gpu:8000/v1', timeoutMs: 5 });
    // Another provider: its own endpoint, not the run's base URL; the same provider keeps it.
    assert.deepEqual(judgeBackendOptions(run, 'openai:gpt-4o'), { modelReference: 'openai:gpt-4o', timeoutMs: 5 });
    assert.deepEqual(judgeBackendOptions(run, 'vllm:llama'), { modelReference: 'vllm:llama', baseUrl: 'http://gpu:8000/v1', timeoutMs: 5 });
  });
});

describe('judge: agreement statistics', () => {
  it("Fleiss' kappa against hand-computed values", () => {
    // 4 chains × 3 repeats: (3,0) (2,1) (0,3) (1,2) as (pass, fail).
    // P_i = (p² + f² − 3) / 6: 1, 1/3, 1, 1/3 → mean 2/3. Pass share 6/12 = 1/2 → chance 1/4 + 1/4 = 1/2.
    // κ = (2/3 − 1/2) / (1 − 1/2) = 1/3.
    const kappa = fleissKappa(
      [
        { passes: 3, fails: 0 },
        { passes: 2, fails: 1 },
        { passes: 0, fails: 3 },
        { passes: 1, fails: 2 },
      ],
      3,
    );
    assert.ok(Math.abs((kappa ?? NaN) - 1 / 3) < 1e-12);
    // Every rating pass: chance agreement 1, kappa undefined.
    assert.equal(fleissKappa([{ passes: 2, fails: 0 }], 2), null);
    assert.equal(fleissKappa([], 3), null);
  });

  it("Cohen's kappa, TPR and FPR against hand-computed values", () => {
    // Confusion: TP 3, FN 1, FP 1, TN 5 (10 chains). Agreement (3 + 5) / 10 = 0.8.
    // Labels pass 4/10, judge pass 4/10: chance 0.4·0.4 + 0.6·0.6 = 0.52. κ = (0.8 − 0.52) / 0.48 = 0.58333…
    // TPR 3/4 = 0.75, FPR 1/6.
    const chains = [
      ...Array.from({ length: 3 }, () => ({ verdicts: [verdict(true)], label: true })),
      { verdicts: [verdict(false)], label: true },
      { verdicts: [verdict(true)], label: false },
      ...Array.from({ length: 5 }, () => ({ verdicts: [verdict(false)], label: false })),
      // No valid verdict: left out.
      { verdicts: [verdict(undefined)], label: true },
    ];
    const agreement = labelAgreement(chains);
    assert.deepEqual(agreement.confusion, { truePositive: 3, falsePositive: 1, trueNegative: 5, falseNegative: 1 });
    assert.equal(agreement.chains, 10);
    assert.equal(agreement.agreement, 0.8);
    assert.ok(Math.abs((agreement.kappa ?? NaN) - 0.28 / 0.48) < 1e-12);
    assert.equal(agreement.truePositiveRate, 0.75);
    assert.equal(agreement.falsePositiveRate, 1 / 6);
    // One class on both sides: kappa undefined; no negatives: no FPR.
    const one = labelAgreement([{ verdicts: [verdict(true)], label: true }]);
    assert.equal(one.kappa, null);
    assert.equal(one.falsePositiveRate, null);
  });

  it('summarizes validity, self-agreement and labels', () => {
    // Chain 1: pass pass fail (2/3 agree); chain 2: fail fail invalid (2/2); chain 3: all invalid.
    // Self-agreement over chains with ≥ 2 valid: (2/3 + 1) / 2 = 5/6. Fleiss over chain 1 alone: P = 1/3,
    // pass share 2/3, chance 4/9 + 1/9 = 5/9, κ = (1/3 − 5/9) / (4/9) = −1/2.
    const summary = summarizeJudge(
      [
        { verdicts: [verdict(true), verdict(true), verdict(false)], label: true },
        { verdicts: [verdict(false), verdict(false), verdict(undefined)] },
        { verdicts: [verdict(undefined), verdict(undefined), verdict(undefined)] },
      ],
      'openai:judge',
      3,
    );
    assert.equal(summary.chains, 3);
    assert.equal(summary.invalidChains, 1);
    assert.equal(summary.verdicts, 9);
    assert.equal(summary.invalidVerdicts, 4);
    assert.ok(Math.abs((summary.selfAgreement ?? NaN) - 5 / 6) < 1e-12);
    assert.ok(Math.abs((summary.fleissKappa ?? NaN) + 0.5) < 1e-12);
    assert.equal(summary.labels?.chains, 1);
    assert.equal(summary.promptTokens, 90);
    assert.equal(summary.completionTokens, 45);
    const once = summarizeJudge([{ verdicts: [verdict(true)] }], 'm', 1);
    assert.equal(once.selfAgreement, null);
    assert.equal(once.fleissKappa, null);
    assert.equal(once.labels, undefined);
  });
});

/** At 1 per token: room for some cases' chains and verdicts, not for all four. */
const BUDGET = 3000;

const JUDGED_PROMPT = `---
name: judged
samples: 2
config: {temperature: 0.7, seed: 5}
variants: [zero-shot]
cases:
  - {name: a, input: "topic alpha", label: pass}
  - {name: b, input: "topic beta", label: fail}
  - {name: c, input: "topic gamma", label: true}
  - {name: d, input: "topic delta", label: false}
extract: text
scorer: {type: judge, model: "openai:judge-model", repeats: 3, rubric: "GRADE {{input}}: is this a fair essay? {{output}}"}
---
Write about {{q}}
`;

// The judge's repeat r is sent with seed r: `bySeed` scripts its three verdicts per case.
const JUDGE_ANSWERS: CannedAnswer[] = [
  {
    match: 'GRADE topic alpha',
    bySeed: true,
    answers: [
      '{"verdict":"pass","score":1,"reason":"good"}',
      '```json\n{"verdict": "pass", "score": 0.8}\n```',
      'Hmm. {"verdict":"fail","score":0.2}',
    ],
  },
  { match: 'GRADE topic beta', bySeed: true, answers: ['{"verdict":"fail","score":0,"reason":"off topic"}'] },
  {
    match: 'GRADE topic gamma',
    bySeed: true,
    answers: ['The essay looks fine to me.', '{"verdict":"maybe"}', '{"verdict":"pass","score":2}'],
  },
  {
    match: 'GRADE topic delta',
    bySeed: true,
    answers: ['{"verdict":"pass","score":0.9}', '{"verdict":"pass"}', '{"verdict":"pass","score":0.7}'],
  },
  ...['alpha', 'beta', 'gamma', 'delta'].map((topic) => ({ match: `Write about topic ${topic}`, answers: [`An essay on ${topic}.`] })),
];

describe('judge: runs against the fake OpenAI server', function () {
  this.timeout(20_000);
  let server: FakeServer;
  let folder: string;
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-judge-'));
  });
  afterEach(async () => {
    await server?.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  const run = async (options: { refuse?: { param: string }[] } = {}) => {
    server = await startFakeServer({ apiKey: 'k', answers: JUDGE_ANSWERS, ...options });
    const file = path.join(folder, 'judged.prompt');
    const loaded = await loadPrompt(file, JUDGED_PROMPT, nodeFileSystem);
    assert.deepEqual(
      loaded.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    const backend = (model: string) => new OpenAIBackend({ id: 'openai', model, apiKey: 'k', baseUrl: server.url, backoffMs: 1 });
    const outcome = await runEvaluation({
      loaded,
      promptText: JUDGED_PROMPT,
      backend: backend('model-under-test'),
      judge: backend('judge-model'),
      runsDirectory: path.join(folder, 'runs'),
      concurrency: 2,
    });
    assert.equal(outcome.status, 'completed');
    return { loaded, outcome, result: summarizeRun(loaded.document, loaded.cases, outcome.run) };
  };

  it('judges every chain 3 times on the judge model, scores from the verdicts, and measures the judge', async () => {
    const { outcome, result } = await run();
    const judgeRequests = server.requests.filter((request) => request.prompt.includes('GRADE'));
    // 4 cases × 2 chains × 3 repeats, all on the judge's model, greedy, seeds 0, 1, 2, with the verdict schema.
    assert.equal(judgeRequests.length, 24);
    assert.ok(judgeRequests.every((request) => request.model === 'judge-model' && request.temperature === 0));
    assert.deepEqual([...new Set(judgeRequests.map((request) => request.seed))].sort(), [0, 1, 2]);
    assert.deepEqual(judgeRequests[0]?.response_format, {
      type: 'json_schema',
      json_schema: { name: 'judge_verdict', schema: JUDGE_VERDICT_SCHEMA, strict: true },
    });
    assert.ok(
      server.requests.filter((request) => !request.prompt.includes('GRADE')).every((request) => request.model === 'model-under-test'),
    );
    assert.ok(outcome.run.completions.every((record) => record.judge?.length === 3));

    const chain = (caseId: string) => result.cells.find((cell) => cell.caseId === caseId)?.chains[0];
    // a: pass, pass (from the fence), fail after a preamble: majority pass, score (1 + 0.8 + 0.2) / 3.
    assert.equal(chain('a')?.pass, true);
    assert.ok(Math.abs((chain('a')?.score ?? 0) - 2 / 3) < 1e-12);
    assert.equal(chain('a')?.reason, 'good (2 of 3 verdicts pass)');
    assert.equal(chain('b')?.pass, false);
    // c: prose, an unknown verdict, a score out of range: every verdict invalid, each saying why.
    assert.deepEqual(
      chain('c')?.judge?.map((entry) => entry.invalid),
      ['no JSON object in the output', 'the verdict is "maybe", not "pass" or "fail"', 'the score 2 is outside [0, 1]'],
    );
    assert.equal(chain('c')?.pass, false);
    assert.equal(chain('c')?.reason, 'the judge gave no valid verdict: no JSON object in the output');
    assert.equal(result.cells.find((cell) => cell.caseId === 'a')?.majorityPass, true);
    assert.equal(result.cells.find((cell) => cell.caseId === 'd')?.majorityPass, true);

    // Chains: a (2 pass, 1 fail) ×2, b (0, 3) ×2, d (3, 0) ×2, c all invalid ×2.
    // Self-agreement: (2/3 + 2/3 + 1 + 1 + 1 + 1) / 6 = 8/9.
    // Fleiss over the 6 chains with 3 valid: P_i = 1/3, 1/3, 1, 1, 1, 1 → mean 7/9; pass share 10/18 = 5/9,
    // chance 25/81 + 16/81 = 41/81; κ = (63/81 − 41/81) / (40/81) = 22/40 = 0.55.
    // Labels (c left out, no valid verdict): a TP ×2, b TN ×2, d FP ×2. Agreement 4/6; labels pass 1/3,
    // judge pass 2/3: chance 1/3·2/3 + 2/3·1/3 = 4/9; Cohen κ = (2/3 − 4/9) / (5/9) = 0.4. TPR 2/2, FPR 2/4.
    const judge = result.judge;
    assert.equal(judge?.model, 'openai:judge-model');
    assert.equal(judge?.repeats, 3);
    assert.equal(judge?.chains, 8);
    assert.equal(judge?.invalidChains, 2);
    assert.equal(judge?.verdicts, 24);
    assert.equal(judge?.invalidVerdicts, 6);
    assert.ok(Math.abs((judge?.selfAgreement ?? NaN) - 8 / 9) < 1e-12);
    assert.ok(Math.abs((judge?.fleissKappa ?? NaN) - 0.55) < 1e-12);
    assert.equal(judge?.labels?.chains, 6);
    assert.ok(Math.abs((judge?.labels?.agreement ?? NaN) - 2 / 3) < 1e-12);
    assert.ok(Math.abs((judge?.labels?.kappa ?? NaN) - 0.4) < 1e-12);
    assert.equal(judge?.labels?.truePositiveRate, 1);
    assert.equal(judge?.labels?.falsePositiveRate, 0.5);
    assert.deepEqual(judge?.labels?.confusion, { truePositive: 2, falsePositive: 2, trueNegative: 2, falseNegative: 0 });
    assert.ok((judge?.promptTokens ?? 0) > 0);
  });

  it('judges cache replays too, and charges the judge to the budget when it is the run’s own backend', async () => {
    server = await startFakeServer({ apiKey: 'k', answers: JUDGE_ANSWERS });
    const text = JUDGED_PROMPT.replace('model: "openai:judge-model", ', '');
    const loaded = await loadPrompt(path.join(folder, 'judged.prompt'), text, nodeFileSystem);
    const backend = new OpenAIBackend({ id: 'openai', model: 'model-under-test', apiKey: 'k', baseUrl: server.url, backoffMs: 1 });
    const cache = new CompletionCache(path.join(folder, 'cache.jsonl'));
    const prices = { input: 1_000_000, output: 1_000_000 };
    const once = () =>
      runEvaluation({ loaded, promptText: text, backend, runsDirectory: path.join(folder, 'runs'), cache, prices, seed: 1 });
    const first = await once();
    const tokens = (records: typeof first.run.completions, judged: boolean) =>
      records.reduce(
        (sum, record) =>
          sum +
          (record.cached ? 0 : record.usage.promptTokens + record.usage.completionTokens) +
          (judged ? (record.judge ?? []).reduce((inner, verdict) => inner + verdict.promptTokens + verdict.completionTokens, 0) : 0),
        0,
      );
    // At 1 per token, what was spent is every token of the chains and of the judge's verdicts.
    assert.equal(first.run.end?.spent, tokens(first.run.completions, true));
    assert.ok(tokens(first.run.completions, true) > tokens(first.run.completions, false));
    const judgedBefore = server.requests.filter((request) => request.prompt.includes('GRADE')).length;
    const second = await once();
    assert.ok(second.run.completions.every((record) => record.cached && record.judge?.length === 3));
    assert.equal(server.requests.filter((request) => request.prompt.includes('GRADE')).length, judgedBefore * 2);
    assert.equal(second.run.end?.spent, tokens(second.run.completions, true));
    assert.equal(summarizeRun(loaded.document, loaded.cases, second.run).judge?.model, 'openai:model-under-test');
  });

  it("books the judge's worst case with its chain's: a budget is never passed", async () => {
    server = await startFakeServer({ apiKey: 'k', answers: JUDGE_ANSWERS });
    const text = JUDGED_PROMPT.replace('model: "openai:judge-model", ', '').replace('seed: 5}', 'seed: 5, max_tokens: 20}');
    const loaded = await loadPrompt(path.join(folder, 'judged.prompt'), text, nodeFileSystem);
    const backend = new OpenAIBackend({ id: 'openai', model: 'model-under-test', apiKey: 'k', baseUrl: server.url, backoffMs: 1 });
    const outcome = await runEvaluation({
      loaded,
      promptText: text,
      backend,
      runsDirectory: path.join(folder, 'runs'),
      prices: { input: 1_000_000, output: 1_000_000 },
      maxCost: BUDGET,
      concurrency: 1,
    });
    assert.equal(outcome.status, 'budget');
    assert.ok(outcome.run.completions.length > 0 && outcome.run.completions.every((record) => record.judge?.length === 3));
    assert.ok((outcome.run.end?.spent ?? Infinity) <= BUDGET);
  });

  it('sends no response_format again once the server refused it, and reads the plain JSON', async () => {
    const { result } = await run({ refuse: [{ param: 'response_format' }] });
    const judgeRequests = server.requests.filter((request) => request.prompt.includes('GRADE'));
    // Requests already in flight when the first 400 came back are refused too; every later one goes without it.
    const refused = judgeRequests.filter((request) => request.response_format !== undefined);
    assert.ok(refused.length >= 1 && refused.every((request) => request.refused === 'response_format'));
    assert.equal(judgeRequests.filter((request) => request.response_format === undefined).length, 24);
    assert.equal(result.judge?.invalidVerdicts, 6);
  });
});
