import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Completion } from '../backend';
import { LocalModel, type GeneratedChain, type GenerateRequest } from '../local/generator';
import { checkModelInputs, ModelFolderError, readModelFolder } from '../local/modelFolder';
import { LocalBackend, resolveLocalModel } from './local';
import { runEvaluation } from '../eval/run';
import { loadPrompt, nodeFileSystem } from '../prompt/load';

const root = path.resolve(__dirname, '../../..');
const MODEL = path.join(root, 'testFixtures/models/arith-tiny');
/** Written by scripts/model/export.py from the PyTorch model: tokenizer ids, prefill logits, first steps. */
const reference = JSON.parse(fs.readFileSync(path.join(root, 'testFixtures/models/arith-tiny.reference.json'), 'utf8')) as {
  tokenizer_cases: { text: string; ids: number[] }[];
  prompt: string;
  prompt_ids: number[];
  prefill_last_logits: number[];
  next_id: number;
  step_logits: number[];
};
/** Greedy continuation of the reference prompt; it is also what the training text has there. */
const GOLDEN = [132, 106, 207, 230, 163, 82, 163, 104, 218, 230, 134, 82, 304, 317, 347, 134, 82];

const greedy = { temperature: 0, topK: 0, topP: 1 };

function request(overrides: Partial<GenerateRequest>): GenerateRequest {
  return { promptIds: reference.prompt_ids, n: 1, firstSample: 0, maxNewTokens: 40, sampling: greedy, stop: [], ...overrides };
}

async function chainsOf(
  model: LocalModel,
  overrides: Partial<GenerateRequest>,
  trace?: Parameters<LocalModel['generate']>[3],
): Promise<GeneratedChain[]> {
  const chains: GeneratedChain[] = [];
  await model.generate(
    request(overrides),
    () => false,
    (chain) => chains.push(chain),
    trace,
  );
  return chains.sort((a, b) => a.sample - b.sample);
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe('local model on onnxruntime-node (the embedded arith-tiny)', function () {
  this.timeout(60_000);
  let model: LocalModel;

  before(async () => {
    model = await LocalModel.load(MODEL, { executionProvider: 'cpu' });
  });
  after(() => model.dispose());

  it('tokenizes exactly as the Python tokenizer that trained it', () => {
    for (const { text, ids } of reference.tokenizer_cases)
      assert.deepEqual(
        model.encode(text.replace(/<\/s>$/, '')),
        ids.filter((id) => id !== 2),
      );
    assert.deepEqual(model.encode(reference.prompt), reference.prompt_ids);
  });

  it('computes the same next-token logits as PyTorch (within 1e-4), prefill and first decoding step', async () => {
    const steps: Float32Array[] = [];
    await chainsOf(model, { maxNewTokens: 2 }, { onLogits: (_step, rows) => steps.push(Float32Array.from(rows[0]?.logits ?? [])) });
    assert.ok(
      maxDifference(steps[0] as Float32Array, reference.prefill_last_logits) < 1e-4,
      `prefill differs by ${maxDifference(steps[0] as Float32Array, reference.prefill_last_logits)}`,
    );
    assert.ok(
      maxDifference(steps[1] as Float32Array, reference.step_logits) < 1e-4,
      `step 1 differs by ${maxDifference(steps[1] as Float32Array, reference.step_logits)}`,
    );
  });

  it('decodes greedily to the golden token sequence and stops at the end-of-answer token', async () => {
    const [chain] = await chainsOf(model, {});
    assert.equal(chain?.tokens[0], reference.next_id);
    assert.deepEqual(chain?.tokens, GOLDEN);
    assert.equal(chain?.text, ' 12 - 8 = 4. 4 + 9 = 13. The answer is 13.');
    assert.equal(chain?.finishReason, 'stop');
  });

  it('reproduces samples from a seed, and another seed draws others', async () => {
    const sampling = { temperature: 1.2, topK: 0, topP: 1 };
    const first = await chainsOf(model, { n: 6, seed: 11, sampling });
    const again = await chainsOf(model, { n: 6, seed: 11, sampling });
    assert.deepEqual(
      again.map((c) => c.tokens),
      first.map((c) => c.tokens),
    );
    const other = await chainsOf(model, { n: 6, seed: 12, sampling });
    assert.notDeepEqual(
      other.map((c) => c.tokens),
      first.map((c) => c.tokens),
    );
  });

  it('decodes 8 chains in one batch exactly as 8 separate runs at the same seeds (token for token)', async () => {
    // Hot enough that chains differ: this model is near-certain on the reference prompt at temperature 1.
    const sampling = { temperature: 1.5, topK: 20, topP: 0.95 };
    const batched = await chainsOf(model, { n: 8, seed: 3, sampling });
    assert.equal(batched.length, 8);
    for (let sample = 0; sample < 8; sample++) {
      const [alone] = await chainsOf(model, { n: 1, firstSample: sample, seed: 3, sampling });
      assert.deepEqual(alone?.tokens, batched[sample]?.tokens, `chain ${sample}`);
    }
    // The chains differ from each other: a batch is not one chain copied.
    assert.ok(new Set(batched.map((c) => c.text)).size > 1);
  });

  it('keeps batched next-token logits within 1e-4 of single-row logits at every step', async () => {
    const sampling = { temperature: 1, topK: 0, topP: 1 };
    const batchedSteps = new Map<number, Float32Array[]>();
    await chainsOf(
      model,
      { n: 4, seed: 9, sampling },
      {
        onLogits: (step, rows) =>
          rows.forEach((row) => batchedSteps.set(row.sample, [...(batchedSteps.get(row.sample) ?? []), Float32Array.from(row.logits)])),
      },
    );
    for (let sample = 0; sample < 4; sample++) {
      const alone: Float32Array[] = [];
      await chainsOf(
        model,
        { n: 1, firstSample: sample, seed: 9, sampling },
        { onLogits: (_step, rows) => alone.push(Float32Array.from(rows[0]?.logits ?? [])) },
      );
      const together = batchedSteps.get(sample) ?? [];
      assert.equal(together.length, alone.length);
      together.forEach((logits, step) =>
        assert.ok(maxDifference(logits, alone[step] as Float32Array) < 1e-4, `chain ${sample} step ${step}`),
      );
    }
  });

  it('honours stop strings and max tokens', async () => {
    const [stopped] = await chainsOf(model, { stop: [' ='] });
    assert.equal(stopped?.text, ' 12 - 8');
    assert.equal(stopped?.finishReason, 'stop');
    const [cut] = await chainsOf(model, { maxNewTokens: 3 });
    assert.deepEqual(cut?.tokens, GOLDEN.slice(0, 3));
    assert.equal(cut?.finishReason, 'length');
  });

  it('stops within one step when cancelled', async () => {
    let steps = 0;
    const chains: GeneratedChain[] = [];
    const outcome = await model.generate(
      request({ n: 4, seed: 1, sampling: { temperature: 1, topK: 0, topP: 1 } }),
      () => steps >= 3,
      (chain) => chains.push(chain),
      { onLogits: () => steps++ },
    );
    assert.equal(outcome.cancelled, true);
    assert.equal(steps, 3);
    assert.deepEqual(chains, []);
  });

  it('reuses the prefilled prefix that prompts share', async () => {
    const shared = reference.prompt_ids.slice(0, 20);
    await chainsOf(model, { promptIds: [...shared, ...reference.prompt_ids.slice(20)], maxNewTokens: 1 });
    const other = [...shared, ...model.encode(' Then he loses 2.\nA:')];
    const outcome = await model.generate(
      request({ promptIds: other, maxNewTokens: 1 }),
      () => false,
      () => undefined,
    );
    assert.equal(outcome.reusedTokens, 20);
  });

  it("reads only each step's new cache positions into a cache with masked empty slots, with the same logits and chains as reading the whole present cache", async () => {
    assert.equal(model.info.cacheReads, 'new-positions');
    const whole = await LocalModel.load(MODEL, { executionProvider: 'cpu', readWholeCache: true });
    try {
      assert.equal(whole.info.cacheReads, 'present');
      const sampling = { temperature: 1, topK: 0, topP: 1 };
      // A prompt sharing 20 tokens with one already prefilled: the cached prefix is cut and extended.
      const promptIds = [...reference.prompt_ids.slice(0, 20), ...model.encode(' Then she finds 7 more.\nA:')];
      const traced = async (subject: LocalModel): Promise<{ chains: GeneratedChain[]; logits: Float32Array[] }> => {
        const logits: Float32Array[] = [];
        const chains = await chainsOf(
          subject,
          // 40 tokens: the decoding cache runs out of empty slots twice and moves to a longer stride.
          { promptIds, n: 5, seed: 21, sampling, minNewTokens: 40 },
          { onLogits: (_step, rows) => rows.forEach((row) => logits.push(Float32Array.from(row.logits))) },
        );
        return { chains, logits };
      };
      await chainsOf(model, { maxNewTokens: 1 });
      const ours = await traced(model);
      const theirs = await traced(whole);
      assert.deepEqual(
        ours.chains.map((c) => c.tokens),
        theirs.chains.map((c) => c.tokens),
      );
      assert.equal(ours.logits.length, theirs.logits.length);
      // Within the batched-vs-single tolerance: the empty, masked slots of our cache lengthen the attention's sums.
      ours.logits.forEach((logits, i) =>
        assert.ok(
          maxDifference(logits, theirs.logits[i] as Float32Array) <= 1e-4,
          `logits ${i} differ by ${maxDifference(logits, theirs.logits[i] as Float32Array)}`,
        ),
      );
      assert.ok(
        ours.chains.every((c) => c.tokens.length >= 40),
        'chains long enough to exercise the growing cache',
      );
    } finally {
      await whole.dispose();
    }
  });

  it("samples the whole vocabulary from the graph's softmax, drawing the chains JavaScript's softmax draws, end-of-sequence held off too", async () => {
    assert.equal(model.info.sampling, 'graph-softmax');
    // Hot enough that the draws, not the model's certainty, decide most tokens.
    const sampling = { temperature: 2, topK: 0, topP: 1 };
    // A trace asks for every step's logits, which keeps sampling in JavaScript: the reference here.
    const fromGraph = await chainsOf(model, { n: 8, seed: 5, sampling, minNewTokens: 10 });
    const fromJavaScript = await chainsOf(model, { n: 8, seed: 5, sampling, minNewTokens: 10 }, { onLogits: () => undefined });
    assert.deepEqual(
      fromGraph.map((c) => c.tokens),
      fromJavaScript.map((c) => c.tokens),
    );
    assert.ok(fromGraph.every((c) => c.tokens.length >= 10));
    assert.ok(new Set(fromGraph.map((c) => c.text)).size > 1, 'the chains differ');
  });

  it('refuses a prompt longer than the context with the numbers', async () => {
    await assert.rejects(
      chainsOf(model, { promptIds: new Array<number>(1100).fill(82) }),
      /1100 tokens, longer than arith-tiny's context of 1024 positions/,
    );
  });
});

describe('model folders that cannot be used', () => {
  let folder: string;
  const copy = (): string => {
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-model-'));
    fs.cpSync(MODEL, target, { recursive: true });
    return target;
  };
  afterEach(() => folder && fs.rmSync(folder, { recursive: true, force: true }));

  it('says which file is missing or broken', () => {
    folder = copy();
    fs.rmSync(path.join(folder, 'tokenizer.json'));
    assert.throws(
      () => readModelFolder(folder),
      (error: Error) => error instanceof ModelFolderError && /has no tokenizer\.json/.test(error.message),
    );
    fs.writeFileSync(path.join(folder, 'config.json'), '{ not json');
    assert.throws(() => readModelFolder(folder), /config\.json is not valid JSON/);
    fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ model_type: 'llama', vocab_size: 10 }));
    assert.throws(() => readModelFolder(folder), /has no num_attention_heads/);
  });

  it('says when there is no ONNX file, and which ones it saw', () => {
    folder = copy();
    for (const file of fs.readdirSync(path.join(folder, 'onnx'))) if (file !== 'model.onnx') fs.rmSync(path.join(folder, 'onnx', file));
    fs.renameSync(path.join(folder, 'onnx', 'model.onnx'), path.join(folder, 'onnx', 'weird.onnx'));
    assert.throws(() => readModelFolder(folder), /No usable ONNX file .* \(found weird\.onnx\)/);
    fs.rmSync(path.join(folder, 'onnx'), { recursive: true });
    assert.throws(() => readModelFolder(folder), /has no onnx\/ folder/);
    assert.throws(() => readModelFolder(path.join(folder, 'nope')), /Model folder not found/);
  });

  it('names inputs the loader does not understand, and exports without a KV cache', () => {
    const config = readModelFolder(MODEL).config;
    const inputs = [
      'input_ids',
      'attention_mask',
      'position_ids',
      ...Array.from({ length: config.layers }, (_, i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]).flat(),
    ];
    const outputs = ['logits', 'present.0.key'];
    assert.deepEqual(checkModelInputs(inputs, outputs, config, 'model.onnx'), { positionIds: true });
    assert.deepEqual(
      checkModelInputs(
        inputs.filter((name) => name !== 'position_ids'),
        outputs,
        config,
        'model.onnx',
      ),
      { positionIds: false },
    );
    assert.throws(
      () => checkModelInputs([...inputs, 'token_type_ids'], outputs, config, 'model.onnx'),
      /inputs the loader does not understand: token_type_ids/,
    );
    assert.throws(() => checkModelInputs(['input_ids', 'attention_mask'], ['logits'], config, 'model.onnx'), /no past_key_values/);
    const float16 = new Map(inputs.map((name) => [name, name.startsWith('past_') ? 'float16' : 'int64']));
    assert.throws(
      () => checkModelInputs(inputs, outputs, config, 'model_fp16.onnx', float16),
      /model_fp16\.onnx keeps its key\/value cache in float16; .*use the model\.onnx/,
    );
    assert.deepEqual(
      checkModelInputs(
        inputs,
        outputs,
        config,
        'model.onnx',
        new Map(inputs.map((name) => [name, name.startsWith('past_') ? 'float32' : 'int64'])),
      ),
      { positionIds: true },
    );
  });

  it('resolves local:<name> to the shipped model and explains a missing one', () => {
    assert.equal(resolveLocalModel('arith-tiny'), MODEL);
    assert.throws(() => resolveLocalModel('no-such-model'), /Local model 'no-such-model' not found/);
  });
});

describe('LocalBackend (worker thread)', function () {
  this.timeout(60_000);
  before(() => execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root }));
  // A failed assertion must not leave a worker thread (or a timer) keeping mocha alive.
  const started: LocalBackend[] = [];
  const start = (options: ConstructorParameters<typeof LocalBackend>[0]): LocalBackend => {
    const backend = new LocalBackend(options);
    started.push(backend);
    return backend;
  };
  let timer: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(timer);
    await Promise.all(started.splice(0).map((backend) => backend.dispose()));
  });

  it('samples n chains in its worker, streams them, and releases the session on dispose', async () => {
    const backend = start({ directory: MODEL, executionProvider: 'auto' });
    assert.equal(backend.input, 'text');
    const info = await backend.load();
    assert.equal(info.provider, 'cpu');
    assert.match(info.fallbackReason ?? '', /.+/, 'auto says why it is not on CUDA');
    const chains: Completion[] = [];
    for await (const chain of backend.complete(
      { text: reference.prompt, n: 4, firstSample: 0, temperature: 0.8, seed: 5, maxTokens: 40 },
      { signal: new AbortController().signal },
    ))
      chains.push(chain);
    assert.deepEqual(chains.map((c) => c.sample).sort(), [0, 1, 2, 3]);
    assert.ok(chains.every((c) => c.usage.promptTokens === reference.prompt_ids.length && c.usage.completionTokens > 0));
    // The main thread stays free while the worker decodes. Counting timer ticks against a fixed threshold
    // failed on a loaded machine; instead, the main thread must turn during generation, and its longest
    // wait must be a fraction of the generation (decoding on the main thread would make it all of it).
    // Both scale with the machine's speed, since the worker slows down with it.
    const turns: number[] = [];
    const turn = (): void => {
      turns.push(performance.now());
      timer = setTimeout(turn, 1);
    };
    const sent = performance.now();
    timer = setTimeout(turn, 1);
    for await (const chain of backend.complete(
      { text: reference.prompt, n: 64, firstSample: 0, temperature: 1.5, seed: 1, maxTokens: 200, stop: [] },
      { signal: new AbortController().signal },
    ))
      void chain;
    const done = performance.now();
    clearTimeout(timer);
    const during = turns.filter((at) => at < done);
    const moments = [sent, ...during, done];
    const longestWait = Math.max(...moments.slice(1).map((at, i) => at - (moments[i] as number)));
    const generation = `generation took ${(done - sent).toFixed(0)} ms; the main thread turned ${during.length} times, its longest wait ${longestWait.toFixed(0)} ms`;
    assert.ok(during.length >= 2, generation);
    assert.ok(longestWait < (done - sent) / 2, generation);
    await backend.dispose();
  });

  it('cancels a request in flight', async () => {
    const backend = start({ directory: MODEL, executionProvider: 'cpu' });
    const controller = new AbortController();
    const chains: Completion[] = [];
    const run = (async () => {
      for await (const chain of backend.complete(
        { text: reference.prompt, n: 16, firstSample: 0, temperature: 1, seed: 1, maxTokens: 400, stop: [] },
        { signal: controller.signal },
      ))
        chains.push(chain);
    })();
    await backend.load();
    controller.abort();
    await run;
    assert.ok(chains.length < 16);
    await backend.dispose();
  });

  it('stops a run at the first request when the model cannot be loaded', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-model-'));
    try {
      fs.cpSync(MODEL, folder, { recursive: true });
      // The folder reads fine (config, tokenizer, an ONNX file), but the graph itself is garbage.
      fs.writeFileSync(path.join(folder, 'onnx', 'model.onnx'), Buffer.from('not an onnx graph at all'));
      const backend = start({ directory: folder, executionProvider: 'cpu' });
      const text = `---\nsamples: 2\nconfig: {temperature: 0.7}\nvariants: [zero-shot]\ncases:\n  - {input: "1 + 1", expected: 2}\n  - {input: "2 + 2", expected: 4}\nextract: number\n---\n{{q}}\n`;
      const loaded = await loadPrompt(path.join(folder, 'sums.prompt'), text, nodeFileSystem);
      const outcome = await runEvaluation({ loaded, promptText: text, backend, runsDirectory: path.join(folder, 'runs'), concurrency: 1 });
      assert.equal(outcome.status, 'failed');
      assert.match(outcome.error ?? '', /could not be loaded/);
      assert.equal(outcome.run.completions.length, 0, 'no chain is recorded as a wrong answer');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('reports a broken model folder clearly instead of crashing', () => {
    assert.throws(() => new LocalBackend({ directory: path.join(root, 'testFixtures') }), /has no config\.json/);
  });
});
