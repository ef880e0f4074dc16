// Reads just enough of an ONNX file (protobuf) to expose each layer's new key/value positions as extra
// graph outputs. Decoding then fetches those few positions instead of the whole `present.*` cache,
// which onnxruntime-node would copy into fresh JavaScript buffers at every step (most of a batched
// step's cost), and keeps the cache in buffers of its own.
//
// The model handed to onnxruntime is the graph alone: its weights stay where they are, referenced as
// external data at their offsets in the original file, so that they are neither read here nor copied.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

// Field numbers from onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const ATTRIBUTE_NAME = 1;
const ATTRIBUTE_INT = 3;
const ATTRIBUTE_TYPE = 20;
const ATTRIBUTE_TYPE_INT = 2;
const VALUE_INFO_NAME = 1;
const VALUE_INFO_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_TYPE_ELEM = 1;
const TENSOR_TYPE_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;
const DIM_PARAM = 2;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
const DATA_TYPE_FLOAT = 1;
const DATA_TYPE_STRING = 8;
const DATA_TYPE_INT64 = 7;
const LOCATION_EXTERNAL = 1;

export interface Field {
  number: number;
  wire: number;
  /** Where the field's tag starts: [tagStart, end) is the whole field. */
  tagStart: number;
  /** A varint field's value (0 for other wire types). */
  value: number;
  /** [start, end): the field's value (for a varint, its bytes). */
  start: number;
  end: number;
}

class ProtobufError extends Error {}

function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const byte = bytes[at + i];
    if (byte === undefined) throw new ProtobufError('truncated varint');
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, next: at + i + 1 };
    scale *= 128;
  }
  throw new ProtobufError('varint longer than 10 bytes');
}

/** The fields of the message at [start, end), in order, each read by `fieldAt(position)`. */
function* walk(start: number, end: number, fieldAt: (at: number) => Field): Generator<Field> {
  for (let at = start; at < end;) {
    const field = fieldAt(at);
    if (field.end > end) throw new ProtobufError('field runs past its message');
    yield field;
    at = field.end;
  }
}

/** The fields of one message in `bytes[start, end)`, in order. */
export function fields(bytes: Uint8Array, start: number, end: number): Generator<Field> {
  return walk(start, end, (at) => fieldAt(bytes, at, 0));
}

/** The field whose tag starts at `at` of `bytes`, which begin at `offset` of the file. */
function fieldAt(bytes: Uint8Array, at: number, offset: number): Field {
  const tagStart = at + offset;
  const tag = readVarint(bytes, at);
  const number = Math.floor(tag.value / 8);
  const wire = tag.value % 8;
  const next = tag.next;
  if (wire === WIRE_VARINT) {
    const value = readVarint(bytes, next);
    return { number, wire, tagStart, value: value.value, start: next + offset, end: value.next + offset };
  }
  if (wire === WIRE_BYTES) {
    const length = readVarint(bytes, next);
    return { number, wire, tagStart, value: 0, start: length.next + offset, end: length.next + length.value + offset };
  }
  if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
    const size = wire === WIRE_FIXED64 ? 8 : 4;
    return { number, wire, tagStart, value: 0, start: next + offset, end: next + size + offset };
  }
  throw new ProtobufError(`unsupported wire type ${wire}`);
}

/**
 * A file read through a window, so that fields are walked without reading what they hold. A refill
 * allocates a new window, so bytes handed out earlier stay valid.
 */
class FileWindow {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly descriptor: number,
    readonly size: number,
  ) {}

  /** Bytes [start, end) of the file (fewer at its end). */
  bytes(start: number, end: number): Uint8Array {
    const stop = Math.min(end, this.size);
    if (start < this.windowStart || stop > this.windowStart + this.window.length) {
      const length = Math.max(stop - start, 1 << 16);
      const buffer = Buffer.allocUnsafe(Math.min(length, this.size - start));
      let read = 0;
      while (read < buffer.length) {
        const count = fs.readSync(this.descriptor, buffer, read, buffer.length - read, start + read);
        if (count === 0) throw new ProtobufError('file shorter than it says');
        read += count;
      }
      this.window = buffer;
      this.windowStart = start;
    }
    return this.window.subarray(start - this.windowStart, stop - this.windowStart);
  }

  /** The fields of the message at [start, end) of the file; values are not read. */
  fields(start: number, end: number): Generator<Field> {
    // A tag and a length take at most 20 bytes.
    return walk(start, end, (at) => fieldAt(this.bytes(at, Math.min(at + 20, end)), 0, at));
  }
}

const decoder = new TextDecoder();
const text = (bytes: Uint8Array, field: Field): string => decoder.decode(bytes.subarray(field.start, field.end));

/** A varint field as int64: ten-byte encodings are negative numbers (two's complement), beyond a double's precision. */
function int64(bytes: Uint8Array, field: Field): number {
  let value = 0n;
  for (let i = field.end - 1; i >= field.start; i--) value = (value << 7n) | BigInt((bytes[i] as number) & 0x7f);
  return Number(BigInt.asIntN(64, value));
}

interface GraphNode {
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  axis?: number;
}

function readNode(bytes: Uint8Array, start: number, end: number): GraphNode {
  const node: GraphNode = { opType: '', domain: '', inputs: [], outputs: [] };
  for (const field of fields(bytes, start, end)) {
    if (field.wire !== WIRE_BYTES) continue;
    if (field.number === NODE_INPUT) node.inputs.push(text(bytes, field));
    else if (field.number === NODE_OUTPUT) node.outputs.push(text(bytes, field));
    else if (field.number === NODE_OP_TYPE) node.opType = text(bytes, field);
    else if (field.number === NODE_DOMAIN) node.domain = text(bytes, field);
    else if (field.number === NODE_ATTRIBUTE) {
      let name = '';
      let value: number | undefined;
      for (const attribute of fields(bytes, field.start, field.end)) {
        if (attribute.number === ATTRIBUTE_NAME && attribute.wire === WIRE_BYTES) name = text(bytes, attribute);
        else if (attribute.number === ATTRIBUTE_INT && attribute.wire === WIRE_VARINT) value = int64(bytes, attribute);
      }
      if (name === 'axis' && value !== undefined) node.axis = value;
    }
  }
  return node;
}

/** The element type of a ValueInfoProto's tensor type (1 = float32, 10 = float16), if stated. */
function elementType(bytes: Uint8Array, start: number, end: number): number | undefined {
  for (const field of fields(bytes, start, end)) {
    if (field.number !== VALUE_INFO_TYPE || field.wire !== WIRE_BYTES) continue;
    for (const type of fields(bytes, field.start, field.end)) {
      if (type.number !== TYPE_TENSOR || type.wire !== WIRE_BYTES) continue;
      for (const tensor of fields(bytes, type.start, type.end))
        if (tensor.number === TENSOR_TYPE_ELEM && tensor.wire === WIRE_VARINT) return tensor.value;
    }
  }
  return undefined;
}

export function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

export function lengthDelimited(number: number, payload: readonly number[] | Uint8Array): number[] {
  return [...varint(number * 8 + WIRE_BYTES), ...varint(payload.length), ...payload];
}

/** A graph output with a name and a tensor element type, shape left to onnxruntime's inference. */
function valueInfo(name: string, elemType: number): number[] {
  const tensorType = [...varint(TENSOR_TYPE_ELEM * 8 + WIRE_VARINT), ...varint(elemType)];
  return [
    ...lengthDelimited(VALUE_INFO_NAME, new TextEncoder().encode(name)),
    ...lengthDelimited(VALUE_INFO_TYPE, lengthDelimited(TYPE_TENSOR, tensorType)),
  ];
}

/**
 * Names of the sampling head added after `logits`: the last position's logits, and their softmax at the
 * temperature fed in `inverseTemperature` ([1], float). Sampling then reads probabilities that
 * onnxruntime's vectorized softmax computed, and prefill no longer copies out every prompt position's logits.
 */
export interface SamplingHead {
  lastLogits: string;
  probabilities: string;
  inverseTemperature: string;
}

export const SAMPLING_HEAD: SamplingHead = {
  lastLogits: 'chainscope.last_logits',
  probabilities: 'chainscope.probabilities',
  inverseTemperature: 'chainscope.inverse_temperature',
};

function node(opType: string, name: string, inputs: string[], outputs: string[], intAttributes: Record<string, number> = {}): number[] {
  const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);
  const attributes = Object.entries(intAttributes).flatMap(([key, value]) =>
    lengthDelimited(NODE_ATTRIBUTE, [
      ...lengthDelimited(ATTRIBUTE_NAME, bytes(key)),
      // Negative ints are ten-byte two's complement varints.
      ...varint(ATTRIBUTE_INT * 8 + WIRE_VARINT),
      ...int64Varint(value),
      ...varint(ATTRIBUTE_TYPE * 8 + WIRE_VARINT),
      ATTRIBUTE_TYPE_INT,
    ]),
  );
  return lengthDelimited(GRAPH_NODE, [
    ...inputs.flatMap((input) => lengthDelimited(NODE_INPUT, bytes(input))),
    ...outputs.flatMap((output) => lengthDelimited(NODE_OUTPUT, bytes(output))),
    ...lengthDelimited(NODE_NAME, bytes(name)),
    ...lengthDelimited(NODE_OP_TYPE, bytes(opType)),
    ...attributes,
  ]);
}

function int64Varint(value: number): number[] {
  if (value >= 0) return varint(value);
  const out: number[] = [];
  let rest = BigInt.asUintN(64, BigInt(value));
  while (rest >= 0x80n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return out;
}

/** A one-element int64 initializer. */
function int64Initializer(name: string, value: number): number[] {
  const raw = new Uint8Array(8);
  new DataView(raw.buffer).setBigInt64(0, BigInt(value), true);
  return lengthDelimited(GRAPH_INITIALIZER, [
    ...varint(TENSOR_DIMS * 8 + WIRE_VARINT),
    1,
    ...varint(TENSOR_DATA_TYPE * 8 + WIRE_VARINT),
    DATA_TYPE_INT64,
    ...lengthDelimited(TENSOR_NAME, new TextEncoder().encode(name)),
    ...lengthDelimited(TENSOR_RAW_DATA, raw),
  ]);
}

/** The nodes, initializer, input and outputs of the sampling head (see SamplingHead). */
function samplingHead(head: SamplingHead): number[] {
  const lastPosition = 'chainscope.last_position';
  const scaled = 'chainscope.scaled_logits';
  return [
    ...int64Initializer(lastPosition, -1),
    ...node('Gather', 'chainscope/last_logits', ['logits', lastPosition], [head.lastLogits], { axis: 1 }),
    ...node('Mul', 'chainscope/scale', [head.lastLogits, head.inverseTemperature], [scaled]),
    // axis -1 means the vocabulary in every opset (before 13 it flattens [batch, 1] in front of it).
    ...node('Softmax', 'chainscope/softmax', [scaled], [head.probabilities], { axis: -1 }),
    ...lengthDelimited(GRAPH_INPUT, valueInfo(head.inverseTemperature, DATA_TYPE_FLOAT)),
    ...lengthDelimited(GRAPH_OUTPUT, valueInfo(head.lastLogits, DATA_TYPE_FLOAT)),
    ...lengthDelimited(GRAPH_OUTPUT, valueInfo(head.probabilities, DATA_TYPE_FLOAT)),
  ];
}

export interface CacheUpdateOutputs {
  /** past_key_values.* input → the graph value holding that step's new positions ([batch, kvHeads, new, headDim]). */
  updates: Map<string, string>;
  /** Present when `logits` is float32 [batch, sequence, vocab]: see SamplingHead. */
  head?: SamplingHead;
  /**
   * The model with those values added as graph outputs and its weights referenced in the original file:
   * load it with session option `session.model_external_initializers_file_folder_path` = that file's folder.
   */
  bytes: Uint8Array;
}

/** What the cache analysis needs from a graph: who makes each value, its inputs, its outputs' types. */
class GraphSummary {
  readonly producers = new Map<string, GraphNode>();
  readonly inputs = new Set<string>();
  readonly outputs = new Map<string, number | undefined>();

  add(number: number, bytes: Uint8Array): void {
    if (number === GRAPH_NODE) {
      const node = readNode(bytes, 0, bytes.length);
      for (const output of node.outputs) this.producers.set(output, node);
    } else if (number === GRAPH_INPUT || number === GRAPH_OUTPUT) {
      let name = '';
      for (const info of fields(bytes, 0, bytes.length))
        if (info.number === VALUE_INFO_NAME && info.wire === WIRE_BYTES) name = text(bytes, info);
      if (number === GRAPH_INPUT) this.inputs.add(name);
      else this.outputs.set(name, elementType(bytes, 0, bytes.length));
    }
  }

  /**
   * For every `past_key_values.*` input, the Concat along the sequence axis that makes its `present.*`
   * output from it and the new positions; undefined when any layer does not follow that pattern
   * (fused attention operators, for instance).
   */
  cacheUpdates(): { updates: Map<string, string>; outputs: number[] } | undefined {
    const pasts = [...this.inputs].filter((name) => name.startsWith('past_key_values.'));
    if (pasts.length === 0) return undefined;
    const updates = new Map<string, string>();
    const outputs: number[] = [];
    for (const past of pasts) {
      const present = past.replace('past_key_values', 'present');
      const elemType = this.outputs.get(present);
      if (elemType === undefined) return undefined;
      let node = this.producers.get(present);
      while (node && node.opType === 'Identity' && node.domain === '' && node.inputs[0]) node = this.producers.get(node.inputs[0]);
      if (!node || node.opType !== 'Concat' || node.domain !== '' || node.inputs.length !== 2) return undefined;
      if (node.inputs[0] !== past || !(node.axis === 2 || node.axis === -2)) return undefined;
      const fresh = node.inputs[1] as string;
      if (this.inputs.has(fresh)) return undefined;
      updates.set(past, fresh);
      if (!this.outputs.has(fresh)) outputs.push(...lengthDelimited(GRAPH_OUTPUT, valueInfo(fresh, elemType)));
    }
    return { updates, outputs };
  }
}

/** A TensorProto whose raw_data becomes a reference to where it lies in `location` (the model file itself). */
function externalized(file: FileWindow, initializer: Field, location: string): Uint8Array | undefined {
  const kept: Uint8Array[] = [];
  let raw: Field | undefined;
  let dataType = 0;
  for (const field of file.fields(initializer.start, initializer.end)) {
    if (field.number === TENSOR_RAW_DATA && field.wire === WIRE_BYTES) {
      raw = field;
      continue;
    }
    if (field.number === TENSOR_DATA_TYPE && field.wire === WIRE_VARINT) dataType = field.value;
    kept.push(file.bytes(field.tagStart, field.end));
  }
  if (!raw || raw.end === raw.start || dataType === DATA_TYPE_STRING) return undefined;
  const entry = (key: string, value: string): number[] =>
    lengthDelimited(TENSOR_EXTERNAL_DATA, [...lengthDelimited(ENTRY_KEY, utf8(key)), ...lengthDelimited(ENTRY_VALUE, utf8(value))]);
  kept.push(
    Uint8Array.from([
      ...entry('location', location),
      ...entry('offset', String(raw.start)),
      ...entry('length', String(raw.end - raw.start)),
      ...varint(TENSOR_DATA_LOCATION * 8 + WIRE_VARINT),
      LOCATION_EXTERNAL,
    ]),
  );
  return Buffer.concat(kept);
}

const utf8 = (value: string): Uint8Array => new TextEncoder().encode(value);

/**
 * The model with each layer's new cache positions as extra outputs and its weights left in `file`, or
 * undefined when its graph does not allow it (the caller then reads the `present.*` outputs as they are)
 * or the file is not a model this reader understands.
 */
export function exposeCacheUpdates(file: string): CacheUpdateOutputs | undefined {
  const descriptor = fs.openSync(file, 'r');
  try {
    const window = new FileWindow(descriptor, fs.fstatSync(descriptor).size);
    const modelParts: Uint8Array[] = [];
    const graphParts: Uint8Array[] = [];
    const summary = new GraphSummary();
    let graphIndex: number | undefined;
    for (const field of window.fields(0, window.size)) {
      if (field.number !== MODEL_GRAPH || field.wire !== WIRE_BYTES) {
        modelParts.push(window.bytes(field.tagStart, field.end));
        continue;
      }
      if (graphIndex !== undefined) return undefined; // one graph per model
      graphIndex = modelParts.length;
      for (const graphField of window.fields(field.start, field.end)) {
        const tensor =
          graphField.number === GRAPH_INITIALIZER && graphField.wire === WIRE_BYTES
            ? externalized(window, graphField, path.basename(file))
            : undefined;
        if (tensor) {
          graphParts.push(Uint8Array.from(lengthDelimited(GRAPH_INITIALIZER, tensor)));
          continue;
        }
        graphParts.push(window.bytes(graphField.tagStart, graphField.end));
        if (graphField.wire === WIRE_BYTES) summary.add(graphField.number, window.bytes(graphField.start, graphField.end));
      }
    }
    if (graphIndex === undefined) return undefined;
    const found = summary.cacheUpdates();
    if (!found) return undefined;
    const taken = (name: string): boolean => summary.inputs.has(name) || summary.outputs.has(name) || summary.producers.has(name);
    const head = summary.outputs.get('logits') === DATA_TYPE_FLOAT && !Object.values(SAMPLING_HEAD).some(taken) ? SAMPLING_HEAD : undefined;
    const graph = Buffer.concat([...graphParts, Uint8Array.from(found.outputs), Uint8Array.from(head ? samplingHead(head) : [])]);
    modelParts.splice(graphIndex, 0, Uint8Array.from([...varint(MODEL_GRAPH * 8 + WIRE_BYTES), ...varint(graph.length)]), graph);
    return { updates: found.updates, ...(head ? { head } : {}), bytes: Buffer.concat(modelParts) };
  } catch (error) {
    if (error instanceof ProtobufError) return undefined;
    throw error;
  } finally {
    fs.closeSync(descriptor);
  }
}

/**
 * Runs `read` over the fields of the model's (first) graph in `file`, read through a window so that
 * weights are not loaded; undefined when the file has no graph or is not protobuf this reader understands.
 */
function readGraphFields<T>(file: string, read: (window: FileWindow, fields: Generator<Field>) => T): T | undefined {
  const descriptor = fs.openSync(file, 'r');
  try {
    const window = new FileWindow(descriptor, fs.fstatSync(descriptor).size);
    for (const field of window.fields(0, window.size))
      if (field.number === MODEL_GRAPH && field.wire === WIRE_BYTES) return read(window, window.fields(field.start, field.end));
    return undefined;
  } catch (error) {
    if (error instanceof ProtobufError) return undefined;
    throw error;
  } finally {
    fs.closeSync(descriptor);
  }
}

/** A graph input's or output's element type and shape: a number per fixed axis, a name per symbolic one. */
export interface TensorInfo {
  elemType?: number;
  dims?: (number | string | undefined)[];
}

export interface GraphSignature {
  inputs: Map<string, TensorInfo>;
  outputs: Map<string, TensorInfo>;
}

function tensorInfo(bytes: Uint8Array): { name: string; info: TensorInfo } {
  let name = '';
  const info: TensorInfo = {};
  for (const field of fields(bytes, 0, bytes.length)) {
    if (field.wire !== WIRE_BYTES) continue;
    if (field.number === VALUE_INFO_NAME) name = text(bytes, field);
    if (field.number !== VALUE_INFO_TYPE) continue;
    for (const type of fields(bytes, field.start, field.end)) {
      if (type.number !== TYPE_TENSOR || type.wire !== WIRE_BYTES) continue;
      for (const tensor of fields(bytes, type.start, type.end)) {
        if (tensor.number === TENSOR_TYPE_ELEM && tensor.wire === WIRE_VARINT) info.elemType = tensor.value;
        if (tensor.number !== TENSOR_TYPE_SHAPE || tensor.wire !== WIRE_BYTES) continue;
        info.dims = [];
        for (const dim of fields(bytes, tensor.start, tensor.end)) {
          if (dim.number !== SHAPE_DIM || dim.wire !== WIRE_BYTES) continue;
          let size: number | string | undefined;
          for (const part of fields(bytes, dim.start, dim.end)) {
            if (part.number === DIM_VALUE && part.wire === WIRE_VARINT) size = int64(bytes, part);
            else if (part.number === DIM_PARAM && part.wire === WIRE_BYTES) size = text(bytes, part);
          }
          info.dims.push(size);
        }
      }
    }
  }
  return { name, info };
}

/**
 * The graph's declared inputs and outputs, read through a window without reading any weights, so that
 * config.json can be checked against the graph before anything is sized by it. Undefined when the file
 * is not a model this reader understands.
 */
export function readGraphSignature(file: string): GraphSignature | undefined {
  return readGraphFields(file, (window, graphFields) => {
    const signature: GraphSignature = { inputs: new Map(), outputs: new Map() };
    for (const graphField of graphFields) {
      if ((graphField.number !== GRAPH_INPUT && graphField.number !== GRAPH_OUTPUT) || graphField.wire !== WIRE_BYTES) continue;
      const { name, info } = tensorInfo(window.bytes(graphField.start, graphField.end));
      (graphField.number === GRAPH_INPUT ? signature.inputs : signature.outputs).set(name, info);
    }
    return signature;
  });
}

/**
 * How many nodes of each operator the graph holds, keyed `opType` (default domain) or `domain:opType`,
 * read without reading the weights: which export a file is (MatMulInteger, MatMulNBits…). Undefined
 * when the file is not a model this reader understands.
 */
export function readOperatorCounts(file: string): Map<string, number> | undefined {
  return readGraphFields(file, (window, graphFields) => {
    const counts = new Map<string, number>();
    for (const graphField of graphFields) {
      if (graphField.number !== GRAPH_NODE || graphField.wire !== WIRE_BYTES) continue;
      const node = readNode(window.bytes(graphField.start, graphField.end), 0, graphField.end - graphField.start);
      const key = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}:${node.opType}` : node.opType;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  });
}

// Bytes per element of each TensorProto data type (onnx.proto's DataType); 4-bit types pack two.
const ELEMENT_BYTES: Record<number, number> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  16: 2,
  17: 1,
  18: 1,
  19: 1,
  20: 1,
  21: 0.5,
  22: 0.5,
  23: 0.5,
};

/** An initializer's name and size in bytes, from its raw_data's length, else its shape and type; its data are not read. */
function initializerSize(file: FileWindow, initializer: Field): { name: string; bytes: number } {
  let name = '';
  let raw: number | undefined;
  let dataType = 0;
  const dims: number[] = [];
  for (const field of file.fields(initializer.start, initializer.end)) {
    if (field.number === TENSOR_RAW_DATA && field.wire === WIRE_BYTES) raw = field.end - field.start;
    else if (field.number === TENSOR_DATA_TYPE && field.wire === WIRE_VARINT) dataType = field.value;
    else if (field.number === TENSOR_NAME && field.wire === WIRE_BYTES) name = decoder.decode(file.bytes(field.start, field.end));
    else if (field.number === TENSOR_DIMS && field.wire === WIRE_VARINT) dims.push(field.value);
    else if (field.number === TENSOR_DIMS && field.wire === WIRE_BYTES) {
      // Packed dims.
      const packed = file.bytes(field.start, field.end);
      for (let at = 0; at < packed.length;) {
        const dim = readVarint(packed, at);
        dims.push(dim.value);
        at = dim.next;
      }
    }
  }
  const bytes = raw ?? Math.ceil(dims.reduce((product, dim) => product * dim, 1) * (ELEMENT_BYTES[dataType] ?? 0));
  return { name, bytes };
}

/** Operators that read a few rows of their first input (an embedding table), not all of it. */
const ROW_READERS = new Set(['Gather', 'GatherBlockQuantized']);

export interface StepWeights {
  /** Bytes of the initializers that some node other than a row lookup consumes: what one forward pass reads whole. */
  stepBytes: number;
  /** Bytes of every initializer. */
  totalBytes: number;
  /** Initializers read whole, and those only looked up by rows (embeddings). */
  readWhole: number;
  lookedUp: number;
}

/**
 * How many bytes of weights one decode step reads: every initializer consumed by a node of the main
 * graph other than Gather (an embedding table gives one row per token). Weights inline or as external
 * data alike; their data are not read. Undefined when the file is not a model this reader understands.
 */
export function readStepWeights(file: string): StepWeights | undefined {
  return readGraphFields(file, (window, graphFields) => {
    const sizes = new Map<string, number>();
    const wholeReaders = new Set<string>();
    for (const graphField of graphFields) {
      if (graphField.wire !== WIRE_BYTES) continue;
      if (graphField.number === GRAPH_INITIALIZER) {
        const { name, bytes } = initializerSize(window, graphField);
        sizes.set(name, bytes);
      } else if (graphField.number === GRAPH_NODE) {
        const node = readNode(window.bytes(graphField.start, graphField.end), 0, graphField.end - graphField.start);
        // A row lookup reads its table (input 0) by rows; its other inputs (scales of a quantized table) are small.
        node.inputs.forEach((input, i) => {
          if (!(ROW_READERS.has(node.opType) && i === 0)) wholeReaders.add(input);
        });
      }
    }
    let stepBytes = 0;
    let totalBytes = 0;
    let readWhole = 0;
    for (const [name, bytes] of sizes) {
      totalBytes += bytes;
      if (wholeReaders.has(name)) {
        stepBytes += bytes;
        readWhole++;
      }
    }
    return { stepBytes, totalBytes, readWhole, lookedUp: sizes.size - readWhole };
  });
}

/**
 * A model that reads `rows × cols` float32 weights once per run, as a decode step reads its own:
 * y[1, cols] = x[1, rows] · W, with W an initializer of zeros (onnxruntime keeps it where the provider
 * computes, and cannot fold it away since x is an input). The bench times it to measure how fast this
 * machine reads weights.
 */
export function weightReadProbe(rows: number, cols: number): Uint8Array {
  const field = (number: number, value: number): number[] => [...varint(number * 8 + WIRE_VARINT), ...varint(value)];
  const name = (number: number, value: string): number[] => lengthDelimited(number, utf8(value));
  const bytes = rows * cols * 4;
  const weights = Buffer.concat([
    Uint8Array.from([...field(TENSOR_DIMS, rows), ...field(TENSOR_DIMS, cols), ...field(TENSOR_DATA_TYPE, 1), ...name(TENSOR_NAME, 'W')]),
    Uint8Array.from([...varint(TENSOR_RAW_DATA * 8 + WIRE_BYTES), ...varint(bytes)]),
    Buffer.alloc(bytes),
  ]);
  const shape = (dims: number[]): number[] =>
    lengthDelimited(
      TENSOR_TYPE_SHAPE,
      dims.flatMap((dim) => lengthDelimited(SHAPE_DIM, field(DIM_VALUE, dim))),
    );
  const value = (valueName: string, dims: number[]): number[] => [
    ...name(VALUE_INFO_NAME, valueName),
    ...lengthDelimited(VALUE_INFO_TYPE, lengthDelimited(TYPE_TENSOR, [...field(TENSOR_TYPE_ELEM, 1), ...shape(dims)])),
  ];
  const node = [...name(NODE_INPUT, 'x'), ...name(NODE_INPUT, 'W'), ...name(NODE_OUTPUT, 'y'), ...name(NODE_OP_TYPE, 'MatMul')];
  const graph = Buffer.concat([
    Uint8Array.from([...lengthDelimited(GRAPH_NODE, node), ...name(2, 'weight_read_probe')]),
    Uint8Array.from([...varint(GRAPH_INITIALIZER * 8 + WIRE_BYTES), ...varint(weights.length)]),
    weights,
    Uint8Array.from([...lengthDelimited(GRAPH_INPUT, value('x', [1, rows])), ...lengthDelimited(GRAPH_OUTPUT, value('y', [1, cols]))]),
  ]);
  // ir_version 8, opset 17.
  const header = [...field(1, 8), ...lengthDelimited(8, [...name(1, ''), ...field(2, 17)])];
  return Buffer.concat([
    Uint8Array.from(header),
    Uint8Array.from([...varint(MODEL_GRAPH * 8 + WIRE_BYTES), ...varint(graph.length)]),
    graph,
  ]);
}
