import * as fs from 'node:fs';
import * as path from 'node:path';

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
const ONNX_CANDIDATES = ['model.onnx', 'model_quantized.onnx', 'model_q8.onnx', 'model_int8.onnx', 'model_q4.onnx', 'decoder_model_merged.onnx', 'model_fp16.onnx', 'model_q4f16.onnx'];

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

function integer(config: Record<string, unknown>, names: string[], file: string): number {
  for (const name of names) {
    const value = config[name];
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  }
  throw new ModelFolderError(`${file} has no ${names.join(' / ')} (a positive whole number).`);
}

function optionalInteger(config: Record<string, unknown>, names: string[]): number | undefined {
  for (const name of names) {
    const value = config[name];
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  }
  return undefined;
}

/**
 * Reads a model folder in the Hugging Face Optimum / transformers.js layout: config.json, tokenizer.json,
 * tokenizer_config.json (with `chat_template`), optional generation_config.json and onnx/model*.onnx
 * (external `.onnx_data` weights are picked up by onnxruntime from beside the model).
 */
export function readModelFolder(directory: string): ModelFolder {
  if (!fs.existsSync(directory) || !fs.statSync(directory).isDirectory()) throw new ModelFolderError(`Model folder not found: ${directory}`);
  const raw = readJson(directory, 'config.json', true);
  const configFile = path.join(directory, 'config.json');
  const heads = integer(raw, ['num_attention_heads', 'n_head'], configFile);
  const hidden = integer(raw, ['hidden_size', 'n_embd'], configFile);
  const headDim = optionalInteger(raw, ['head_dim']) ?? hidden / heads;
  if (!Number.isInteger(headDim)) throw new ModelFolderError(`${configFile}: hidden_size ${hidden} is not a multiple of ${heads} heads, and there is no head_dim.`);
  const eos = raw.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.filter((id): id is number => typeof id === 'number') : typeof eos === 'number' ? [eos] : [];
  const tokenizer = readJson(directory, 'tokenizer.json', true);
  const tokenizerConfig = readJson(directory, 'tokenizer_config.json', true);
  const chatTemplate = typeof tokenizerConfig.chat_template === 'string' ? tokenizerConfig.chat_template : undefined;
  const hint = (raw.chainscope as { input?: unknown } | undefined)?.input;
  const config: ModelConfig = {
    modelType: typeof raw.model_type === 'string' ? raw.model_type : 'unknown',
    layers: integer(raw, ['num_hidden_layers', 'n_layer'], configFile),
    heads,
    kvHeads: optionalInteger(raw, ['num_key_value_heads']) ?? heads,
    headDim,
    vocabSize: integer(raw, ['vocab_size'], configFile),
    maxPositions: optionalInteger(raw, ['max_position_embeddings', 'n_positions', 'n_ctx']) ?? 2048,
    eosTokenIds,
    input: hint === 'text' || hint === 'chat' ? hint : chatTemplate ? 'chat' : 'text',
  };

  const onnxDirectory = path.join(directory, 'onnx');
  if (!fs.existsSync(onnxDirectory)) throw new ModelFolderError(`The model folder ${directory} has no onnx/ folder with model.onnx.`);
  const onnxName = ONNX_CANDIDATES.find((name) => fs.existsSync(path.join(onnxDirectory, name)));
  if (!onnxName) {
    const present = fs.readdirSync(onnxDirectory).filter((name) => name.endsWith('.onnx'));
    throw new ModelFolderError(`No usable ONNX file in ${onnxDirectory}: expected ${ONNX_CANDIDATES.slice(0, 3).join(', ')}…${present.length ? ` (found ${present.join(', ')})` : ''}.`);
  }
  const generationRaw = readJson(directory, 'generation_config.json', false) ?? {};
  const generation: ModelFolder['generation'] = {};
  if (typeof generationRaw.temperature === 'number') generation.temperature = generationRaw.temperature;
  if (typeof generationRaw.top_k === 'number') generation.topK = generationRaw.top_k;
  if (typeof generationRaw.top_p === 'number') generation.topP = generationRaw.top_p;
  if (typeof generationRaw.max_new_tokens === 'number') generation.maxNewTokens = generationRaw.max_new_tokens;
  // generation_config may name more end-of-generation tokens than config.json (e.g. an end-of-turn token).
  const fromGeneration = generationRaw.eos_token_id;
  const more = typeof fromGeneration === 'number' ? [fromGeneration] : Array.isArray(fromGeneration) ? fromGeneration.filter((id): id is number => typeof id === 'number') : [];
  config.eosTokenIds = [...new Set([...config.eosTokenIds, ...more])];
  return { directory, name: path.basename(directory), config, onnxFile: path.join(onnxDirectory, onnxName), tokenizer, tokenizerConfig, ...(chatTemplate ? { chatTemplate } : {}), generation };
}

/** Inputs a decoder export may declare, and which of them the generator feeds. */
export function checkModelInputs(inputNames: readonly string[], outputNames: readonly string[], config: ModelConfig, file: string, inputTypes: ReadonlyMap<string, string> = new Map()): { positionIds: boolean } {
  const known = new Set(['input_ids', 'attention_mask', 'position_ids']);
  for (let layer = 0; layer < config.layers; layer++) {
    known.add(`past_key_values.${layer}.key`);
    known.add(`past_key_values.${layer}.value`);
  }
  const unknown = inputNames.filter((name) => !known.has(name));
  if (unknown.length > 0) throw new ModelFolderError(`${file} has inputs the loader does not understand: ${unknown.join(', ')} (expected input_ids, attention_mask, position_ids and past_key_values.N.key/value).`);
  if (!inputNames.includes('input_ids')) throw new ModelFolderError(`${file} has no input_ids input.`);
  if (!inputNames.includes(`past_key_values.0.key`)) throw new ModelFolderError(`${file} takes no past_key_values: export it with a KV cache (Optimum's "text-generation-with-past").`);
  if (!outputNames.includes('logits') || !outputNames.includes('present.0.key')) throw new ModelFolderError(`${file} must output logits and present.N.key/value.`);
  const cacheType = inputTypes.get('past_key_values.0.key');
  if (cacheType !== undefined && cacheType !== 'float32') {
    throw new ModelFolderError(`${file} keeps its key/value cache in ${cacheType}; the local decoder keeps float32 caches: use the model.onnx, model_quantized.onnx or model_q4.onnx export of the same model.`);
  }
  return { positionIds: inputNames.includes('position_ids') };
}
