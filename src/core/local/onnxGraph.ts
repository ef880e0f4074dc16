// Reads just enough of an ONNX file (protobuf) to expose each layer's new key/value positions as extra
// graph outputs. Decoding then fetches those few positions instead of the whole `present.*` cache,
// which onnxruntime-node would copy into fresh JavaScript buffers at every step (most of a batched
// step's cost), and keeps the cache in buffers of its own.
import * as fs from 'node:fs';

export const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

// Field numbers from onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const ATTRIBUTE_NAME = 1;
const ATTRIBUTE_INT = 3;
const VALUE_INFO_NAME = 1;
const VALUE_INFO_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_TYPE_ELEM = 1;

export interface Field {
  number: number;
  wire: number;
  /** The varint's value, or the start of a length-delimited or fixed-size value. */
  value: number;
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

/** The fields of one message in `bytes[start, end)`, in file order. */
export function* fields(bytes: Uint8Array, start: number, end: number): Generator<Field> {
  let at = start;
  while (at < end) {
    const tag = readVarint(bytes, at);
    const number = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    at = tag.next;
    if (wire === WIRE_VARINT) {
      const varint = readVarint(bytes, at);
      yield { number, wire, value: varint.value, start: at, end: varint.next };
      at = varint.next;
    } else if (wire === WIRE_BYTES) {
      const length = readVarint(bytes, at);
      const valueEnd = length.next + length.value;
      if (valueEnd > end) throw new ProtobufError('length-delimited field runs past its message');
      yield { number, wire, value: length.next, start: length.next, end: valueEnd };
      at = valueEnd;
    } else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      const size = wire === WIRE_FIXED64 ? 8 : 4;
      yield { number, wire, value: at, start: at, end: at + size };
      at += size;
    } else {
      throw new ProtobufError(`unsupported wire type ${wire}`);
    }
  }
  if (at !== end) throw new ProtobufError('message overruns its length');
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
      for (const tensor of fields(bytes, type.start, type.end)) if (tensor.number === TENSOR_TYPE_ELEM && tensor.wire === WIRE_VARINT) return tensor.value;
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
  return [...lengthDelimited(VALUE_INFO_NAME, new TextEncoder().encode(name)), ...lengthDelimited(VALUE_INFO_TYPE, lengthDelimited(TYPE_TENSOR, tensorType))];
}

export interface CacheUpdateOutputs {
  /** past_key_values.* input → the graph value holding that step's new positions ([batch, kvHeads, new, headDim]). */
  updates: Map<string, string>;
  /** The model with those values added as graph outputs. */
  bytes: Uint8Array;
}

/**
 * Finds, for every `past_key_values.*` input, the Concat along the sequence axis that makes its
 * `present.*` output from it and the new positions, and returns the model with those new positions
 * as extra outputs. Undefined when any layer does not follow that pattern (fused attention
 * operators, for instance): the caller then reads the `present.*` outputs as they are.
 *
 * The extra outputs go in a second `graph` field appended to the file: protobuf merges repeated
 * occurrences of a message field, so the original bytes are not rewritten, only read once.
 */
export function exposeCacheUpdates(file: string): CacheUpdateOutputs | undefined {
  const size = fs.statSync(file).size;
  // Room for the suffix in the same buffer, so that the model is not copied a second time.
  const slack = 1 << 16;
  // Unzeroed: every byte up to `size` is read from the file, and the suffix is written after it.
  const bytes = Buffer.allocUnsafe(size + slack);
  const descriptor = fs.openSync(file, 'r');
  try {
    let read = 0;
    while (read < size) {
      const count = fs.readSync(descriptor, bytes, read, size - read, read);
      if (count === 0) break;
      read += count;
    }
    if (read !== size) return undefined;
  } finally {
    fs.closeSync(descriptor);
  }
  const suffix = cacheUpdateSuffix(bytes, size);
  if (!suffix || suffix.bytes.length > slack) return undefined;
  bytes.set(suffix.bytes, size);
  return { updates: suffix.updates, bytes: bytes.subarray(0, size + suffix.bytes.length) };
}

/** The protobuf bytes to append to `model[0, size)` and the outputs they add; exported for tests. */
export function cacheUpdateSuffix(model: Uint8Array, size = model.length): { updates: Map<string, string>; bytes: Uint8Array } | undefined {
  try {
    const graphs = [...fields(model, 0, size)].filter((field) => field.number === MODEL_GRAPH && field.wire === WIRE_BYTES);
    const graph = graphs[0];
    if (graphs.length !== 1 || !graph) return undefined;
    const producers = new Map<string, GraphNode>();
    const inputs = new Set<string>();
    const outputs = new Map<string, number | undefined>();
    for (const field of fields(model, graph.start, graph.end)) {
      if (field.wire !== WIRE_BYTES) continue;
      if (field.number === GRAPH_NODE) {
        const node = readNode(model, field.start, field.end);
        for (const output of node.outputs) producers.set(output, node);
      } else if (field.number === GRAPH_INPUT || field.number === GRAPH_OUTPUT) {
        let name = '';
        for (const info of fields(model, field.start, field.end)) if (info.number === VALUE_INFO_NAME && info.wire === WIRE_BYTES) name = text(model, info);
        if (field.number === GRAPH_INPUT) inputs.add(name);
        else outputs.set(name, elementType(model, field.start, field.end));
      }
    }
    const pasts = [...inputs].filter((name) => name.startsWith('past_key_values.'));
    if (pasts.length === 0) return undefined;
    const updates = new Map<string, string>();
    const added: number[] = [];
    for (const past of pasts) {
      const present = past.replace('past_key_values', 'present');
      const elemType = outputs.get(present);
      if (elemType === undefined) return undefined;
      let node = producers.get(present);
      while (node && node.opType === 'Identity' && node.domain === '' && node.inputs[0]) node = producers.get(node.inputs[0]);
      if (!node || node.opType !== 'Concat' || node.domain !== '' || node.inputs.length !== 2) return undefined;
      if (node.inputs[0] !== past || !(node.axis === 2 || node.axis === -2)) return undefined;
      const fresh = node.inputs[1] as string;
      if (inputs.has(fresh)) return undefined;
      updates.set(past, fresh);
      if (!outputs.has(fresh)) added.push(...lengthDelimited(GRAPH_OUTPUT, valueInfo(fresh, elemType)));
    }
    return { updates, bytes: Uint8Array.from(lengthDelimited(MODEL_GRAPH, added)) };
  } catch (error) {
    if (error instanceof ProtobufError) return undefined;
    throw error;
  }
}
