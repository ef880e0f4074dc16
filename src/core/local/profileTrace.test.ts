import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalModel } from './generator';
import { profiledRuns, stepProfile, typicalDecodeRun, type TraceEvent } from './profileTrace';

// An excerpt of a real trace: arith-tiny, onnxruntime-node 1.30 on the CPU, a 20-token prompt and two
// decode steps at batch 2; the prefill's run is left out, and a few kernels of each step are kept.
const root = path.resolve(__dirname, '../../..');
const excerpt = JSON.parse(fs.readFileSync(path.join(root, 'testFixtures/ort-profile-excerpt.json'), 'utf8')) as TraceEvent[];

describe('onnxruntime profile traces', () => {
  it('finds each run and sums its kernels by operator', () => {
    const runs = profiledRuns(excerpt);
    assert.equal(runs.length, 2);
    const [first] = runs;
    assert.ok(first);
    assert.equal(first.startUs, 69228);
    assert.ok(Math.abs(first.wallMs - 3.113) < 1e-9);
    assert.deepEqual(
      first.operators.map(({ op, ms, count }) => [op, Math.round(ms * 1000), count]),
      [
        ['Gather', 46, 2],
        ['SimplifiedLayerNormalization', 27, 2],
        ['MatMul', 21, 2],
        ['Concat', 17, 2],
        ['Softmax', 14, 2],
      ],
    );
    assert.equal(Math.round(first.kernelMs * 1000), 125);
    assert.deepEqual(first.providers, ['CPUExecutionProvider']);
  });

  it('leaves out fences and kernels outside any run', () => {
    const extra: TraceEvent[] = [
      { cat: 'Node', name: 'x_fence_before', ts: 69300, dur: 500, args: { op_name: 'MatMul' } },
      { cat: 'Node', name: 'y_kernel_time', ts: 10, dur: 500, args: { op_name: 'MatMul' } },
    ];
    const [first] = profiledRuns([...excerpt, ...extra]);
    assert.equal(Math.round((first?.kernelMs ?? 0) * 1000), 125);
  });

  it('reports a step with its top operators, the rest and the time outside kernels', () => {
    const run = profiledRuns(excerpt)[1];
    assert.ok(run);
    const profile = stepProfile(run, 2);
    assert.deepEqual(
      profile.top.map((entry) => entry.op),
      ['Gather', 'SimplifiedLayerNormalization', 'other'],
    );
    // Second step: Gather 23+7, layer norms 15+10, the rest 8+6+10+8+7+6.
    assert.deepEqual(
      profile.top.map((entry) => Math.round(entry.ms * 1000)),
      [30, 25, 45],
    );
    assert.ok(Math.abs(profile.top.reduce((sum, entry) => sum + entry.share, 0) - 1) < 1e-9);
    assert.ok(Math.abs(profile.outsideKernelsMs - (3.028 - 0.1)) < 1e-9);
  });

  it('takes a middle decode step, never the first run (the prefill)', () => {
    const run = (startUs: number, wallMs: number) => ({ startUs, wallMs, kernelMs: 0, operators: [], providers: [] });
    const runs = [run(0, 100), run(1, 9), run(2, 30), run(3, 10)];
    assert.equal(typicalDecodeRun(runs)?.startUs, 3);
    assert.equal(typicalDecodeRun([run(0, 100)]), undefined);
  });

  it('reads the trace of a model loaded with profile: true, one run per forward pass', async () => {
    const model = await LocalModel.load(path.join(root, 'testFixtures/models/arith-tiny'), { executionProvider: 'cpu', profile: true });
    let file: string | undefined;
    try {
      await model.generate(
        {
          promptIds: Array.from({ length: 20 }, (_, i) => 5 + i),
          n: 2,
          firstSample: 0,
          maxNewTokens: 4,
          minNewTokens: 4,
          sampling: { temperature: 1, topK: 0, topP: 1 },
          seed: 1,
          stop: [],
        },
        () => false,
        () => undefined,
      );
      file = model.endProfiling();
      assert.equal(model.endProfiling(), undefined, 'a second end has no profile to give');
    } finally {
      await model.dispose();
    }
    assert.ok(file);
    try {
      const runs = profiledRuns(JSON.parse(fs.readFileSync(file, 'utf8')) as TraceEvent[]);
      // The prefill, then at least two decode steps.
      assert.ok(runs.length >= 3, `${runs.length} runs`);
      for (const run of runs) {
        assert.ok(run.kernelMs > 0 && run.kernelMs <= run.wallMs, JSON.stringify(run));
        assert.ok(run.operators.some((entry) => entry.op === 'MatMul'));
        assert.deepEqual(run.providers, ['CPUExecutionProvider']);
      }
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  it('has no profile to end for a model loaded without one', async () => {
    const model = await LocalModel.load(path.join(root, 'testFixtures/models/arith-tiny'), { executionProvider: 'cpu' });
    try {
      assert.equal(model.endProfiling(), undefined);
    } finally {
      await model.dispose();
    }
  });
});
