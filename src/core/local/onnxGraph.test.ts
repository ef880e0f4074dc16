import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalModel } from './generator';
import {
  exposeCacheUpdates,
  fields,
  SAMPLING_HEAD,
  lengthDelimited,
  readStepWeights,
  varint,
  weightReadProbe,
  WIRE_BYTES,
  WIRE_VARINT,
  type Field,
} from './onnxGraph';

const root = path.resolve(__dirname, '../../..');
const MODEL = path.join(root, 'testFixtures/models/arith-tiny');
const GOLDEN = [132, 106, 207, 230, 163, 82, 163, 104, 218, 230, 134, 82, 304, 317, 347, 134, 82];
const reference = JSON.parse(fs.readFileSync(path.join(root, 'testFixtures/models/arith-tiny.reference.json'), 'utf8')) as {
  prompt_ids: number[];
};

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const message = (...parts: (number[] | Uint8Array)[]): Uint8Array => Buffer.concat(parts.map((part) => Uint8Array.from(part)));
const stringField = (number: number, text: string): number[] => lengthDelimited(number, utf8(text));
/** An int64 field; negative values take ten bytes (two's complement). */
function intField(number: number, value: number): number[] {
  const bytes: number[] = [];
  let rest = BigInt.asUintN(64, BigInt(value));
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return [...varint(number * 8 + WIRE_VARINT), ...bytes];
}
/** A field copied as it was: its tag and its bytes. */
function copyField(bytes: Uint8Array, field: Field): Uint8Array {
  if (field.wire === WIRE_BYTES) return Uint8Array.from(lengthDelimited(field.number, bytes.subarray(field.start, field.end)));
  return message(varint(field.number * 8 + field.wire), bytes.subarray(field.start, field.end));
}

/** A one-layer graph: present.0.key made by `op` from past_key_values.0.key and a new key. */
function tinyGraph(op: string, axis: number): Uint8Array {
  const node = message(
    stringField(1, 'past_key_values.0.key'),
    stringField(1, 'new_key'),
    stringField(2, 'present.0.key'),
    stringField(4, op),
    lengthDelimited(5, [...stringField(1, 'axis'), ...intField(3, axis)]),
  );
  const tensorFloat = lengthDelimited(2, lengthDelimited(1, intField(1, 1)));
  const graph = message(
    lengthDelimited(1, node),
    lengthDelimited(11, [...stringField(1, 'past_key_values.0.key'), ...tensorFloat]),
    lengthDelimited(12, [...stringField(1, 'present.0.key'), ...tensorFloat]),
  );
  return message(intField(1, 8), lengthDelimited(7, graph));
}

function graphOutputs(model: Uint8Array): string[] {
  const names: string[] = [];
  for (const field of fields(model, 0, model.length)) {
    if (field.number !== 7) continue;
    for (const graphField of fields(model, field.start, field.end)) {
      if (graphField.number !== 12) continue;
      for (const info of fields(model, graphField.start, graphField.end))
        if (info.number === 1) names.push(new TextDecoder().decode(model.subarray(info.start, info.end)));
    }
  }
  return names;
}

/** The external-data references of a model's initializers. */
function externalReferences(model: Uint8Array): { location: string; offset: number; length: number }[] {
  const references: { location: string; offset: number; length: number }[] = [];
  const decode = (bytes: Uint8Array, field: Field): string => new TextDecoder().decode(bytes.subarray(field.start, field.end));
  for (const field of fields(model, 0, model.length)) {
    if (field.number !== 7) continue;
    for (const graphField of fields(model, field.start, field.end)) {
      if (graphField.number !== 5) continue;
      const entries = new Map<string, string>();
      const tensorFields = [...fields(model, graphField.start, graphField.end)];
      const name = tensorFields.find((tensorField) => tensorField.number === 8);
      // The sampling head's own one-number initializer is the only one written inline.
      const ours = !!name && decode(model, name).startsWith('chainscope.');
      for (const tensorField of tensorFields) {
        if (!ours) assert.notEqual(tensorField.number, 9, 'an initializer still holds raw_data');
        if (tensorField.number !== 13) continue;
        const [key, value] = [...fields(model, tensorField.start, tensorField.end)].map((entry) => decode(model, entry));
        entries.set(key ?? '', value ?? '');
      }
      if (entries.size > 0)
        references.push({
          location: entries.get('location') ?? '',
          offset: Number(entries.get('offset')),
          length: Number(entries.get('length')),
        });
    }
  }
  return references;
}

/**
 * The same model with every initializer of 1 KiB or more moved to onnx/model.onnx_data, as exporters
 * write models over 2 GB (TensorProto: raw_data 9, external_data 13, data_location 14).
 */
function withExternalData(source: string, target: string): { onnxBytes: number; dataBytes: number } {
  const model = new Uint8Array(fs.readFileSync(path.join(source, 'onnx/model.onnx')));
  const data: Uint8Array[] = [];
  let offset = 0;
  const modelParts: Uint8Array[] = [];
  for (const field of fields(model, 0, model.length)) {
    if (field.number !== 7) {
      modelParts.push(copyField(model, field));
      continue;
    }
    const graphParts: Uint8Array[] = [];
    for (const graphField of fields(model, field.start, field.end)) {
      const raw = graphField.number === 5 ? [...fields(model, graphField.start, graphField.end)].find((f) => f.number === 9) : undefined;
      if (!raw || raw.end - raw.start < 1024) {
        graphParts.push(copyField(model, graphField));
        continue;
      }
      const tensorParts = [...fields(model, graphField.start, graphField.end)]
        .filter((f) => f.number !== 9)
        .map((f) => copyField(model, f));
      const entry = (key: string, value: string): number[] => lengthDelimited(13, [...stringField(1, key), ...stringField(2, value)]);
      const length = raw.end - raw.start;
      tensorParts.push(
        Uint8Array.from([
          ...entry('location', 'model.onnx_data'),
          ...entry('offset', String(offset)),
          ...entry('length', String(length)),
          ...intField(14, 1),
        ]),
      );
      data.push(model.subarray(raw.start, raw.end));
      offset += length;
      graphParts.push(Uint8Array.from(lengthDelimited(5, message(...tensorParts))));
    }
    modelParts.push(Uint8Array.from(lengthDelimited(7, message(...graphParts))));
  }
  fs.mkdirSync(path.join(target, 'onnx'), { recursive: true });
  for (const file of fs.readdirSync(source)) if (file.endsWith('.json')) fs.copyFileSync(path.join(source, file), path.join(target, file));
  const onnx = message(...modelParts);
  fs.writeFileSync(path.join(target, 'onnx/model.onnx'), onnx);
  fs.writeFileSync(path.join(target, 'onnx/model.onnx_data'), message(...data));
  return { onnxBytes: onnx.length, dataBytes: offset };
}

describe('exposing the new cache positions of an ONNX decoder', function () {
  this.timeout(60_000);

  it("finds, in the embedded model, the Concat that extends each layer's key and value cache, and leaves the weights in the file", () => {
    const file = path.join(MODEL, 'onnx/model.onnx');
    const exposed = exposeCacheUpdates(file);
    assert.ok(exposed);
    const config = JSON.parse(fs.readFileSync(path.join(MODEL, 'config.json'), 'utf8')) as { num_hidden_layers: number };
    assert.equal(exposed.updates.size, 2 * config.num_hidden_layers);
    assert.match(exposed.updates.get('past_key_values.0.key') ?? '', /layers\.0\/self_attn/);
    // The original outputs, then the new positions, then the sampling head.
    const outputs = graphOutputs(exposed.bytes);
    assert.equal(outputs[0], 'logits');
    assert.deepEqual(exposed.head, SAMPLING_HEAD);
    assert.deepEqual(outputs.slice(-exposed.updates.size - 2), [
      ...exposed.updates.values(),
      SAMPLING_HEAD.lastLogits,
      SAMPLING_HEAD.probabilities,
    ]);
    // The graph alone: every initializer's bytes are referenced where they lie in model.onnx.
    const original = fs.readFileSync(file);
    const references = externalReferences(exposed.bytes);
    assert.ok(references.length > 10);
    assert.ok(exposed.bytes.length * 5 < original.length, `${exposed.bytes.length} bytes of ${original.length}`);
    for (const reference of references) {
      assert.equal(reference.location, 'model.onnx');
      assert.ok(reference.offset + reference.length <= original.length);
    }
  });

  it('leaves alone graphs that do not concatenate along the sequence axis, and files that are not a model', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-graph-'));
    const expose = (bytes: Uint8Array): ReturnType<typeof exposeCacheUpdates> => {
      const file = path.join(folder, 'model.onnx');
      fs.writeFileSync(file, bytes);
      return exposeCacheUpdates(file);
    };
    try {
      assert.deepEqual([...(expose(tinyGraph('Concat', 2))?.updates ?? [])], [['past_key_values.0.key', 'new_key']]);
      assert.ok(expose(tinyGraph('Concat', -2)));
      assert.equal(expose(tinyGraph('Concat', 1)), undefined);
      assert.equal(expose(tinyGraph('GroupQueryAttention', 2)), undefined);
      assert.equal(expose(Uint8Array.from([0x3a, 0xff, 0xff, 0x7f, 1, 2])), undefined);
      assert.equal(expose(utf8('not a model at all')), undefined);
      assert.equal(expose(new Uint8Array(0)), undefined);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('loads a model whose weights are in an external .onnx_data file, both ways of reading the cache', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-external-'));
    try {
      const target = path.join(folder, 'arith-tiny-external');
      const sizes = withExternalData(MODEL, target);
      assert.ok(sizes.onnxBytes * 5 < sizes.dataBytes, JSON.stringify(sizes));
      assert.ok(exposeCacheUpdates(path.join(target, 'onnx/model.onnx')));
      for (const readWholeCache of [false, true]) {
        const model = await LocalModel.load(target, { executionProvider: 'cpu', readWholeCache });
        try {
          assert.equal(model.info.cacheReads, readWholeCache ? 'present' : 'new-positions');
          const chains: number[][] = [];
          await model.generate(
            {
              promptIds: reference.prompt_ids,
              n: 1,
              firstSample: 0,
              maxNewTokens: 40,
              sampling: { temperature: 0, topK: 0, topP: 1 },
              stop: [],
            },
            () => false,
            (chain) => chains.push(chain.tokens),
          );
          assert.deepEqual(chains, [GOLDEN]);
        } finally {
          await model.dispose();
        }
      }
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('the weights a decode step reads', function () {
  this.timeout(60_000);

  /** A TensorProto: dims, type, name, and either raw bytes or an external-data reference. */
  function tensor(
    name: string,
    dims: number[],
    dataType: number,
    data: { raw?: number; external?: number; packedDims?: boolean },
  ): number[] {
    const dimFields = data.packedDims
      ? lengthDelimited(
          1,
          dims.flatMap((dim) => varint(dim)),
        )
      : dims.flatMap((dim) => intField(1, dim));
    const entry = (key: string, value: string): number[] => lengthDelimited(13, [...stringField(1, key), ...stringField(2, value)]);
    return [
      ...dimFields,
      ...intField(2, dataType),
      ...stringField(8, name),
      ...(data.raw !== undefined ? lengthDelimited(9, new Array<number>(data.raw).fill(1)) : []),
      ...(data.external !== undefined
        ? [...entry('location', 'model.onnx_data'), ...entry('length', String(data.external)), ...intField(14, 1)]
        : []),
    ];
  }
  const node = (op: string, inputs: string[], domain = ''): number[] =>
    lengthDelimited(1, [
      ...inputs.flatMap((input) => stringField(1, input)),
      ...stringField(2, `${op}_out`),
      ...stringField(4, op),
      ...(domain ? stringField(7, domain) : []),
    ]);

  it('counts initializers read whole, not embedding tables looked up by row, inline or external', () => {
    const graph = message(
      node('Gather', ['embed', 'input_ids']),
      node('GatherBlockQuantized', ['embed_q4', 'input_ids', 'embed_q4_scales'], 'com.microsoft'),
      node('MatMul', ['hidden', 'w']),
      node('MatMulNBits', ['hidden', 'w_q4', 'w_q4_scales'], 'com.microsoft'),
      node('Gather', ['tied', 'input_ids']),
      node('MatMul', ['hidden', 'tied']),
      lengthDelimited(5, tensor('embed', [10, 4], 1, { raw: 160 })),
      lengthDelimited(5, tensor('embed_q4', [10, 2], 2, { raw: 20 })),
      lengthDelimited(5, tensor('embed_q4_scales', [10], 1, { external: 40 })),
      lengthDelimited(5, tensor('w', [4, 3], 1, { external: 48 })),
      lengthDelimited(5, tensor('w_q4', [3, 1, 2], 2, { raw: 6, packedDims: true })),
      lengthDelimited(5, tensor('w_q4_scales', [3], 1, { external: 12, packedDims: true })),
      lengthDelimited(5, tensor('tied', [10, 4], 1, { raw: 160 })),
      lengthDelimited(5, tensor('unused', [1000], 1, { raw: 4000 })),
    );
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-weights-'));
    try {
      const file = path.join(folder, 'model.onnx');
      fs.writeFileSync(file, message(intField(1, 8), lengthDelimited(7, graph)));
      // w 48 + w_q4 6 + its scales 12 + the quantized table's scales 40 + tied 160 (a MatMul reads it whole too).
      assert.deepEqual(readStepWeights(file), { stepBytes: 266, totalBytes: 4446, readWhole: 5, lookedUp: 3 });
      fs.writeFileSync(file, 'not a model');
      assert.equal(readStepWeights(file), undefined);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('reads the embedded model alike with its weights inline or in an external .onnx_data file', () => {
    const config = JSON.parse(fs.readFileSync(path.join(MODEL, 'config.json'), 'utf8')) as { vocab_size: number; hidden_size: number };
    const inline = readStepWeights(path.join(MODEL, 'onnx/model.onnx'));
    assert.ok(inline);
    // Everything but the token embedding (vocab × hidden float32), which is looked up by row.
    assert.equal(inline.totalBytes - inline.stepBytes, config.vocab_size * config.hidden_size * 4);
    assert.equal(inline.lookedUp, 1);
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-weights-'));
    try {
      withExternalData(MODEL, path.join(folder, 'external'));
      assert.deepEqual(readStepWeights(path.join(folder, 'external/onnx/model.onnx')), inline);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('builds a weight-read probe that onnxruntime runs, and whose weights the reader counts', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- native addon, as the generator loads it
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    const probe = weightReadProbe(64, 32);
    const session = await ort.InferenceSession.create(probe, { graphOptimizationLevel: 'all' });
    try {
      const output = await session.run({ x: new ort.Tensor('float32', new Float32Array(64).fill(1), [1, 64]) });
      assert.deepEqual(output.y?.dims, [1, 32]);
      assert.deepEqual([...(output.y?.data as Float32Array)], new Array<number>(32).fill(0));
    } finally {
      await session.release();
    }
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-probe-'));
    try {
      fs.writeFileSync(path.join(folder, 'probe.onnx'), probe);
      assert.deepEqual(readStepWeights(path.join(folder, 'probe.onnx')), {
        stepBytes: 64 * 32 * 4,
        totalBytes: 64 * 32 * 4,
        readWhole: 1,
        lookedUp: 0,
      });
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
