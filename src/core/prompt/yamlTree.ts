import { CORE_SCHEMA, load, YAMLException } from 'js-yaml';

// A YAML tree with source offsets, built from js-yaml's compose events. js-yaml parses a 5,000-case
// file several times faster than a full CST library, and its open/close events carry the positions we need.

interface NodeBase {
  /** Offsets in the YAML text: first character of the node, and just past its last. */
  start: number;
  end: number;
  /** The node as plain data (aliases resolved). */
  value: unknown;
}

export interface YamlScalar extends NodeBase {
  kind: 'scalar';
}

export interface YamlPair {
  key: YamlNode;
  value: YamlNode | null;
}

export interface YamlMap extends NodeBase {
  kind: 'map';
  pairs: YamlPair[];
}

export interface YamlSeq extends NodeBase {
  kind: 'seq';
  items: YamlNode[];
}

export type YamlNode = YamlScalar | YamlMap | YamlSeq;

export interface YamlError {
  message: string;
  /** Set when the YAML parsed but is refused (too many nodes through aliases). */
  code?: 'yaml-aliases';
  start: number;
  end: number;
}

export function isMap(node: YamlNode | null | undefined): node is YamlMap {
  return node?.kind === 'map';
}

export function isSeq(node: YamlNode | null | undefined): node is YamlSeq {
  return node?.kind === 'seq';
}

export function isScalar(node: YamlNode | null | undefined): node is YamlScalar {
  return node?.kind === 'scalar';
}

interface ComposeState {
  position: number;
  kind: string | null;
  result: unknown;
}

interface Frame {
  start: number;
  children: YamlNode[];
}

/** Skips spaces, line breaks and comments forward from `offset`. */
function skipBlank(text: string, offset: number, limit: number): number {
  let i = offset;
  while (i < limit) {
    const ch = text.charCodeAt(i);
    if (ch === 32 || ch === 9 || ch === 10 || ch === 13) i++;
    else if (ch === 35 /* # */ && (i === 0 || /\s/.test(text[i - 1] ?? ' '))) {
      while (i < limit && text.charCodeAt(i) !== 10) i++;
    } else break;
  }
  return i;
}

/** Backs up over trailing spaces and line breaks. */
function trimEnd(text: string, start: number, end: number): number {
  let i = end;
  while (i > start && /\s/.test(text[i - 1] ?? '')) i--;
  return i;
}

/**
 * Most nodes that aliases may stand for, all aliases together. js-yaml shares the anchored object, so the
 * parse stays small, but anything that walks the data (rendering, JSON, structured clone) visits every copy:
 * ten levels of ten aliases (a "billion laughs") is 10^10 nodes.
 */
export const MAX_ALIAS_NODES = 100_000;

class AliasLimit extends Error {}

export function parseYamlTree(text: string): { root?: YamlNode; error?: YamlError } {
  const stack: Frame[] = [{ start: 0, children: [] }];
  // Nodes in each collection once its aliases are expanded, and the total that aliases stand for so far.
  const sizes = new WeakMap<object, number>();
  // The node read for each anchored collection, so an alias to it reads as a map or list too.
  const nodes = new WeakMap<object, YamlMap | YamlSeq>();
  const sizeOf = (node: YamlNode): number => (typeof node.value === 'object' && node.value !== null ? (sizes.get(node.value) ?? 1) : 1);
  let aliased = 0;
  let refused: YamlError | undefined;
  const listener = (event: 'open' | 'close', state: ComposeState): void => {
    if (event === 'open') {
      stack.push({ start: state.position, children: [] });
      return;
    }
    const frame = stack.pop();
    const parent = stack[stack.length - 1];
    if (!frame || !parent) return;
    // A flow collection read while js-yaml looked for a block-mapping key arrives wrapped in a second,
    // identical node: keep the inner one.
    const only = frame.children.length === 1 ? frame.children[0] : undefined;
    if (only && typeof state.result === 'object' && state.result !== null && only.value === state.result) {
      parent.children.push(only);
      return;
    }
    const start = skipBlank(text, frame.start, state.position);
    const end = Math.max(start, trimEnd(text, start, state.position));
    let node: YamlNode;
    if (state.kind === 'mapping') {
      const children = frame.children;
      // js-yaml may try one more key that turns out empty: an odd child at the end is not a key.
      if (children.length % 2 === 1 && isEmpty(children[children.length - 1])) children.pop();
      const pairs: YamlPair[] = [];
      for (let i = 0; i + 1 < children.length + 1; i += 2) {
        const key = children[i];
        if (key) pairs.push({ key, value: children[i + 1] ?? null });
      }
      node = { kind: 'map', start, end, value: state.result, pairs };
    } else if (state.kind === 'sequence') {
      node = {
        kind: 'seq',
        start,
        end,
        value: state.result,
        items: frame.children.filter((child, i, all) => !(i === all.length - 1 && isEmpty(child) && all.length > 0 && child.start >= end)),
      };
    } else {
      node = { kind: 'scalar', start, end, value: state.result };
    }
    if (node.kind !== 'scalar') {
      let size = 1;
      for (const child of frame.children) size += sizeOf(child);
      if (typeof node.value === 'object' && node.value !== null) {
        sizes.set(node.value, size);
        nodes.set(node.value, node);
      }
    } else if (typeof node.value === 'object' && node.value !== null) {
      // A scalar-shaped node holding a collection is an alias (`*name`).
      aliased += sizeOf(node);
      if (aliased > MAX_ALIAS_NODES) {
        const name = text.slice(start, end);
        refused = {
          code: 'yaml-aliases',
          start,
          end,
          message: `Aliases here expand to more than ${MAX_ALIAS_NODES.toLocaleString('en-US')} nodes (at ${name}): the YAML is refused (an alias bomb?). Write the values out, or alias smaller parts.`,
        };
        // Stop js-yaml at once: the rest of the document only adds to the expansion.
        throw new AliasLimit();
      }
      // The alias's own place, the anchored node's contents (whose places are in the anchor's definition).
      const anchored = nodes.get(node.value);
      if (anchored) node = { ...anchored, start, end };
    }
    parent.children.push(node);
  };

  try {
    load(text, { schema: CORE_SCHEMA, listener: listener, json: false });
  } catch (error) {
    if (error instanceof AliasLimit && refused) return { error: refused };
    if (error instanceof YAMLException) {
      const position = Math.min(error.mark?.position ?? 0, text.length);
      const lineEnd = text.indexOf('\n', position);
      const end = Math.max(position + 1, lineEnd < 0 ? text.length : Math.min(lineEnd, position + 1));
      return {
        error: {
          message: error.reason || error.message,
          start: Math.min(position, Math.max(0, text.length - 1)),
          end: Math.min(end, text.length),
        },
      };
    }
    throw error;
  }
  const top = stack[0]?.children ?? [];
  return { root: top[top.length - 1] };
}

function isEmpty(node: YamlNode | undefined): boolean {
  return !!node && node.kind === 'scalar' && node.value === null && node.start === node.end;
}
