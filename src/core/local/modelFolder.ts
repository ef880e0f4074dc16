import * as fs from 'node:fs';
import * as path from 'node:path';
import { readGraphSignature, type GraphSignature } from './onnxGraph';

/** What the loader needs from `config.json`, normalized across GPT-2 and Llama/Qwen2/Phi-3 exports. */
export interface ModelConfig {
  modelType: string;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositions: number;
  eosTokenIds: number[];
  /** `chat` or `text`: how prompts reach the model (config `chainscope.input`, else chat when a template exists). */
  input: 'chat' | 'text';
}

export interface ModelFolder {
  directory: string;
  name: string;
  config: ModelConfig;
  onnxFile: string;
  /** The weights' precision, from the file's name (model.onnx fp32, model_quantized.onnx 8-bit, model_q4.onnx 4-bit…). */
  precision: Exclude<ModelPrecision, 'auto'>;
  tokenizer: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  chatTemplate?: string;
  generation: { temperature?: number; topK?: number; topP?: number; maxNewTokens?: number };
}

/** A model folder that cannot be used, with what is wrong in words a person can act on. */
export class ModelFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFolderError';
  }
}

/**
 * ONNX files in the order we prefer them: full precision, then quantized exports whose key/value cache
 * stays float32, then float16 exports (their cache is float16, which the decoder does not keep).
 */
const ONNX_CANDIDATES = [
  'model.onnx',
  'model_quantized.onnx',
  'model_q8.onnx',
  'model_int8.onnx',
  'model_uint8.onnx',
  'model_q4.onnx',
  'decoder_model_merged.onnx',
  'model_fp16.onnx',
  'model_q4f16.onnx',
];

/** Which export of a model to run: `auto` takes the first of ONNX_CANDIDATES that the folder has. */
export type ModelPrecision = 'auto' | 'fp32' | 'q8' | 'q4' | 'fp16' | 'q4f16';

/** The precisions the settings and the CLI offer: the exports whose key/value cache is float32. */
export const LOCAL_PRECISIONS = ['auto', 'fp32', 'q8', 'q4'] as const;
export type LocalPrecision = (typeof LOCAL_PRECISIONS)[number];

/** The file names each precision goes by in Optimum / transformers.js exports, in the order we look for them. */
export const PRECISION_FILES: Record<Exclude<ModelPrecision, 'auto'>, string[]> = {
  fp32: ['model.onnx', 'decoder_model_merged.onnx'],
  q8: ['model_quantized.onnx', 'model_q8.onnx', 'model_int8.onnx', 'model_uint8.onnx'],
  q4: ['model_q4.onnx'],
  fp16: ['model_fp16.onnx'],
  q4f16: ['model_q4f16.onnx'],
};

function precisionOf(file: string): Exclude<ModelPrecision, 'auto'> {
  const found = (Object.entries(PRECISION_FILES) as [Exclude<ModelPrecision, 'auto'>, string[]][]).find(([, names]) =>
    names.includes(file),
  );
  return found?.[0] ?? 'fp32';
}

function readJson(directory: string, file: string, required: true): Record<string, unknown>;
function readJson(directory: string, file: string, required: false): Record<string, unknown> | undefined;
function readJson(directory: string, file: string, required: boolean): Record<string, unknown> | undefined {
  const full = path.join(directory, file);
  if (!fs.existsSync(full)) {
    if (required) throw new ModelFolderError(`The model folder ${directory} has no ${file}.`);
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(fs.readFileSync(full, 'utf8'));
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ModelFolderError(`${full} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Upper bounds far above any released model: config.json sizes arrays and loops, so a value like
 * num_hidden_layers: 1e9 must be refused before it is used, not after 25 s and 2 GB.
 */
const CONFIG_LIMITS: Record<string, number> = {
  num_hidden_layers: 1_000,
  n_layer: 1_000,
  num_attention_heads: 10_000,
  n_head: 10_000,
  num_key_value_heads: 10_000,
  hidden_size: 1_000_000,
  n_embd: 1_000_000,
  head_dim: 65_536,
  vocab_size: 10_000_000,
  max_position_embeddings: 1_000_000_000,
  n_positions: 1_000_000_000,
  n_ctx: 1_000_000_000,
};

/** The first of `names` that config.json sets (null counts as unset), checked: a whole number from 1 to its limit. */
function optionalInteger(config: Record<string, unknown>, names: string[], file: string): { value: number; key: string } | undefined {
  for (const name of names) {
    const value = config[name];
    if (value === undefined || value === null) continue;
    const limit = CONFIG_LIMITS[name] ?? Number.MAX_SAFE_INTEGER;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > limit) {
      throw new ModelFolderError(
        `${file}: ${name} is ${typeof value === 'number' ? String(value) : JSON.stringify(value)}; it must be a whole number from 1 to ${limit.toLocaleString('en-US')}.`,
      );
    }
    return { value, key: name };
  }
  return undefined;
}

function integer(config: Record<string, unknown>, names: string[], file: string): { value: number; key: string } {
  const found = optionalInteger(config, names, file);
  if (!found) throw new ModelFolderError(`${file} has no ${names.join(' / ')} (a positive whole number).`);
  return found;
}

/** Which config.json key each size came from, to name it when the graph disagrees. */
type ConfigKeys = Record<'layers' | 'kvHeads' | 'headDim' | 'vocabSize', string>;

/**
 * config.json against the ONNX graph's own inputs and outputs, before anything is allocated from it:
 * one past_key_values.N.key/value pair per layer, cache inputs [batch, kvHeads, past, headDim], logits [batch, sequence, vocab].
 */
export function checkConfigAgainstGraph(
  config: ModelConfig,
  keys: ConfigKeys,
  graph: GraphSignature,
  configFile: string,
  onnxFile: string,
): void {
  const layers = new Set<number>();
  for (const name of graph.inputs.keys()) {
    const match = /^past_key_values\.(\d+)\.(?:key|value)$/.exec(name);
    if (match) layers.add(Number(match[1]));
  }
  const mismatch = (key: string, value: number, graphSays: string): ModelFolderError =>
    new ModelFolderError(`${configFile}: ${key} is ${value}, but ${onnxFile} ${graphSays}. The config does not belong to this export.`);
  // L distinct indices all below L are exactly 0…L-1.
  if (layers.size > 0 && (layers.size !== config.layers || [...layers].some((layer) => layer >= config.layers))) {
    throw mismatch(keys.layers, config.layers, `has past_key_values inputs for ${layers.size} layers`);
  }
  const cache = graph.inputs.get('past_key_values.0.key')?.dims;
  if (cache?.length === 4) {
    const [, heads, , headDim] = cache;
    if (typeof heads === 'number' && heads !== config.kvHeads)
      throw mismatch(keys.kvHeads, config.kvHeads, `has ${heads} key/value heads (past_key_values.0.key is [${cache.join(', ')}])`);
    if (typeof headDim === 'number' && headDim !== config.headDim)
      throw mismatch(keys.headDim, config.headDim, `has heads of ${headDim} (past_key_values.0.key is [${cache.join(', ')}])`);
  }
  const logits = graph.outputs.get('logits')?.dims;
  const vocab = logits?.[logits.length - 1];
  if (typeof vocab === 'number' && vocab !== config.vocabSize)
    throw mismatch(keys.vocabSize, config.vocabSize, `gives logits over ${vocab} tokens`);
}

/**
 * Reads a model folder in the Hugging Face Optimum / transformers.js layout: config.json, tokenizer.json,
 * tokenizer_config.json (with `chat_template`), optional generation_config.json and onnx/model*.onnx
 * (external `.onnx_data` weights are picked up by onnxruntime from beside the model).
 */
export function readModelFolder(directory: string, precision: ModelPrecision = 'auto'): ModelFolder {
  if (!fs.existsSync(directory)) throw new ModelFolderError(`Model folder not found: ${directory}`);
  if (!fs.statSync(directory).isDirectory()) throw new ModelFolderError(`${directory} is a file, not a model folder.`);
  if (fs.readdirSync(directory).length === 0)
    throw new ModelFolderError(
      `The model folder ${directory} is empty: it needs config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx.`,
    );
  const raw = readJson(directory, 'config.json', true);
  const configFile = path.join(directory, 'config.json');
  const heads = integer(raw, ['num_attention_heads', 'n_head'], configFile);
  const hidden = integer(raw, ['hidden_size', 'n_embd'], configFile);
  const headDimSet = optionalInteger(raw, ['head_dim'], configFile);
  const headDim = headDimSet?.value ?? hidden.value / heads.value;
  if (!Number.isInteger(headDim))
    throw new ModelFolderError(
      `${configFile}: hidden_size ${hidden.value} is not a multiple of ${heads.value} heads, and there is no head_dim.`,
    );
  const layers = integer(raw, ['num_hidden_layers', 'n_layer'], configFile);
  const kvHeads = optionalInteger(raw, ['num_key_value_heads'], configFile) ?? heads;
  const vocabSize = integer(raw, ['vocab_size'], configFile);
  const maxPositions = optionalInteger(raw, ['max_position_embeddings', 'n_positions', 'n_ctx'], configFile);
  const eos = raw.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.filter((id): id is number => typeof id === 'number') : typeof eos === 'number' ? [eos] : [];
  const tokenizer = readJson(directory, 'tokenizer.json', true);
  const tokenizerConfig = readJson(directory, 'tokenizer_config.json', true);
  const chatTemplate = typeof tokenizerConfig.chat_template === 'string' ? tokenizerConfig.chat_template : undefined;
  const hint = (raw.chainscope as { input?: unknown } | undefined)?.input;
  const config: ModelConfig = {
    modelType: typeof raw.model_type === 'string' ? raw.model_type : 'unknown',
    layers: layers.value,
    heads: heads.value,
    kvHeads: kvHeads.value,
    headDim,
    vocabSize: vocabSize.value,
    maxPositions: maxPositions?.value ?? 2048,
    eosTokenIds,
    input: hint === 'text' || hint === 'chat' ? hint : chatTemplate ? 'chat' : 'text',
  };

  const onnxDirectory = path.join(directory, 'onnx');
  if (!fs.existsSync(onnxDirectory)) throw new ModelFolderError(`The model folder ${directory} has no onnx/ folder with model.onnx.`);
  const wanted = precision === 'auto' ? ONNX_CANDIDATES : PRECISION_FILES[precision];
  const onnxName = wanted.find((name) => fs.existsSync(path.join(onnxDirectory, name)));
  if (!onnxName && precision !== 'auto') {
    const present = fs.readdirSync(onnxDirectory).filter((name) => name.endsWith('.onnx'));
    throw new ModelFolderError(
      `${onnxDirectory} has no ${precision} export (${wanted.join(' or ')})${present.length ? `; it has ${present.join(', ')}` : ''}. Pick another precision, or make one with scripts/model/quantize.py.`,
    );
  }
  if (!onnxName) {
    const present = fs.readdirSync(onnxDirectory).filter((name) => name.endsWith('.onnx'));
    throw new ModelFolderError(
      `No usable ONNX file in ${onnxDirectory}: expected ${ONNX_CANDIDATES.slice(0, 3).join(', ')}…${present.length ? ` (found ${present.join(', ')})` : ''}.`,
    );
  }
  const onnxFile = path.join(onnxDirectory, onnxName);
  const graph = readGraphSignature(onnxFile);
  const keys: ConfigKeys = {
    layers: layers.key,
    kvHeads: kvHeads.key,
    headDim: headDimSet?.key ?? `${hidden.key} / ${heads.key}`,
    vocabSize: vocabSize.key,
  };
  if (graph) checkConfigAgainstGraph(config, keys, graph, configFile, onnxFile);
  const generationRaw = readJson(directory, 'generation_config.json', false) ?? {};
  const generation: ModelFolder['generation'] = {};
  if (typeof generationRaw.temperature === 'number') generation.temperature = generationRaw.temperature;
  if (typeof generationRaw.top_k === 'number') generation.topK = generationRaw.top_k;
  if (typeof generationRaw.top_p === 'number') generation.topP = generationRaw.top_p;
  if (typeof generationRaw.max_new_tokens === 'number') generation.maxNewTokens = generationRaw.max_new_tokens;
  // generation_config may name more end-of-generation tokens than config.json (e.g. an end-of-turn token).
  const fromGeneration = generationRaw.eos_token_id;
  const more =
    typeof fromGeneration === 'number'
      ? [fromGeneration]
      : Array.isArray(fromGeneration)
        ? fromGeneration.filter((id): id is number => typeof id === 'number')
        : [];
  config.eosTokenIds = [...new Set([...config.eosTokenIds, ...more])];
  return {
    directory,
    name: path.basename(directory),
    config,
    onnxFile,
    precision: precisionOf(onnxName),
    tokenizer,
    tokenizerConfig,
    ...(chatTemplate ? { chatTemplate } : {}),
    generation,
  };
}

/** Inputs a decoder export may declare, and which of them the generator feeds. */
export function checkModelInputs(
  inputNames: readonly string[],
  outputNames: readonly string[],
  config: ModelConfig,
  file: string,
  inputTypes: ReadonlyMap<string, string> = new Map(),
): { positionIds: boolean } {
  const known = new Set(['input_ids', 'attention_mask', 'position_ids']);
  // Matched by pattern, not by a set of every layer's names: the layer count comes from config.json.
  const isCache = (name: string): boolean => {
    const match = /^past_key_values\.(\d+)\.(?:key|value)$/.exec(name);
    return !!match && Number(match[1]) < config.layers;
  };
  const unknown = inputNames.filter((name) => !known.has(name) && !isCache(name));
  if (unknown.length > 0)
    throw new ModelFolderError(
      `${file} has inputs the loader does not understand: ${unknown.join(', ')} (expected input_ids, attention_mask, position_ids and past_key_values.N.key/value).`,
    );
  if (!inputNames.includes('input_ids')) throw new ModelFolderError(`${file} has no input_ids input.`);
  if (!inputNames.includes(`past_key_values.0.key`))
    throw new ModelFolderError(`${file} takes no past_key_values: export it with a KV cache (Optimum's "text-generation-with-past").`);
  if (!outputNames.includes('logits') || !outputNames.includes('present.0.key'))
    throw new ModelFolderError(`${file} must output logits and present.N.key/value.`);
  const cacheType = inputTypes.get('past_key_values.0.key');
  if (cacheType !== undefined && cacheType !== 'float32') {
    throw new ModelFolderError(
      `${file} keeps its key/value cache in ${cacheType}; the local decoder keeps float32 caches: use the model.onnx, model_quantized.onnx or model_q4.onnx export of the same model.`,
    );
  }
  return { positionIds: inputNames.includes('position_ids') };
}
