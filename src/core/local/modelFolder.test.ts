import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelFolderError, readModelFolder } from './modelFolder';

const root = path.resolve(__dirname, '../../..');
const MODEL = path.join(root, 'testFixtures/models/arith-tiny');

describe('readModelFolder', () => {
  let folder: string;
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-model-'));
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  /** A copy of the embedded model whose config.json has `changes` applied (undefined deletes a key). */
  function modelWith(changes: Record<string, unknown>): string {
    const copy = path.join(folder, 'arith-tiny');
    fs.cpSync(MODEL, copy, { recursive: true });
    const config = JSON.parse(fs.readFileSync(path.join(copy, 'config.json'), 'utf8')) as Record<string, unknown>;
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) delete config[key];
      else config[key] = value;
    }
    // JSON.stringify writes Infinity as null: a literal 1e999 is what a hand-edited file holds.
    fs.writeFileSync(path.join(copy, 'config.json'), JSON.stringify(config, null, 1).replace('"__inf__"', '1e999'));
    return copy;
  }

  /** Runs readModelFolder, expecting a ModelFolderError; returns its message and how long the refusal took. */
  function refusal(directory: string): { message: string; ms: number } {
    const started = performance.now();
    try {
      readModelFolder(directory);
    } catch (error) {
      assert.ok(error instanceof ModelFolderError, String(error));
      return { message: error.message, ms: performance.now() - started };
    }
    assert.fail('the folder was accepted');
  }

  it('reads the embedded model, whose config matches its graph', () => {
    const model = readModelFolder(MODEL);
    assert.deepEqual([model.config.layers, model.config.kvHeads, model.config.headDim, model.config.vocabSize], [4, 2, 32, 511]);
  });

  it('loads the export of the precision asked for, and says which exports there are when it is missing', () => {
    assert.equal(readModelFolder(MODEL).precision, 'fp32');
    assert.equal(readModelFolder(MODEL, 'fp32').onnxFile, path.join(MODEL, 'onnx/model.onnx'));
    const copy = path.join(folder, 'only-fp32');
    fs.cpSync(MODEL, copy, { recursive: true });
    for (const file of fs.readdirSync(path.join(copy, 'onnx'))) if (file !== 'model.onnx') fs.rmSync(path.join(copy, 'onnx', file));
    assert.throws(
      () => readModelFolder(copy, 'q4'),
      (error: unknown) =>
        error instanceof ModelFolderError &&
        error.message ===
          `${path.join(copy, 'onnx')} has no q4 export (model_q4.onnx); it has model.onnx. Pick another precision, or make one with scripts/model/quantize.py.`,
    );
    fs.renameSync(path.join(copy, 'onnx/model.onnx'), path.join(copy, 'onnx/model_quantized.onnx'));
    assert.equal(readModelFolder(copy).precision, 'q8');
  });

  it('refuses a layer count the graph does not have in milliseconds, naming the file, key, value and graph', () => {
    const directory = modelWith({ num_hidden_layers: 999 });
    const { message, ms } = refusal(directory);
    assert.equal(
      message,
      `${path.join(directory, 'config.json')}: num_hidden_layers is 999, but ${path.join(directory, 'onnx/model.onnx')} has past_key_values inputs for 4 layers. The config does not belong to this export.`,
    );
    assert.ok(ms < 1000, `${ms} ms`);
  });

  it('refuses absurd, fractional and non-finite sizes before anything is sized by them', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ num_hidden_layers: 1e9 }, /num_hidden_layers is 1000000000; it must be a whole number from 1 to 1,000\./],
      [{ num_hidden_layers: 2.5 }, /num_hidden_layers is 2\.5; it must be a whole number/],
      [{ vocab_size: '__inf__' }, /vocab_size is Infinity; it must be a whole number/],
      [{ num_attention_heads: -4 }, /num_attention_heads is -4;/],
      [
        { max_position_embeddings: 1e15 },
        /max_position_embeddings is 1000000000000000; it must be a whole number from 1 to 1,000,000,000\./,
      ],
    ];
    for (const [changes, expected] of cases) {
      const { message, ms } = refusal(modelWith(changes));
      assert.match(message, expected);
      assert.ok(ms < 1000, `${ms} ms`);
      fs.rmSync(path.join(folder, 'arith-tiny'), { recursive: true });
    }
  });

  it('refuses heads, head size and vocabulary that disagree with the cache inputs and logits', () => {
    assert.match(
      refusal(modelWith({ num_key_value_heads: 4 })).message,
      /num_key_value_heads is 4, but .* has 2 key\/value heads \(past_key_values\.0\.key is \[batch_size, 2, past_sequence_length, 32\]\)/,
    );
    fs.rmSync(path.join(folder, 'arith-tiny'), { recursive: true });
    assert.match(refusal(modelWith({ head_dim: 64 })).message, /head_dim is 64, but .* has heads of 32/);
    fs.rmSync(path.join(folder, 'arith-tiny'), { recursive: true });
    // Without head_dim it comes from hidden_size / num_attention_heads, and the message says so.
    assert.match(refusal(modelWith({ head_dim: undefined, hidden_size: 256 })).message, /hidden_size \/ num_attention_heads is 64, but/);
    fs.rmSync(path.join(folder, 'arith-tiny'), { recursive: true });
    assert.match(refusal(modelWith({ vocab_size: 50_000 })).message, /vocab_size is 50000, but .* gives logits over 511 tokens/);
  });

  it('says an empty model folder is empty, and a file is not a folder', () => {
    assert.match(refusal(folder).message, new RegExp(`^The model folder ${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is empty`));
    const file = path.join(folder, 'config.json');
    fs.writeFileSync(file, '{}');
    assert.equal(refusal(file).message, `${file} is a file, not a model folder.`);
  });
});
