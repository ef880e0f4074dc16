// A chain's trace (a list of nodes linked by their parents) laid out as a tree for reading: each node under its
// first parent, a graph of thought's merge noted rather than drawn twice. Pure, so the panel and tests share it.
import type { TraceNode } from '../shapes/types';

export interface TraceTreeNode {
  node: TraceNode;
  children: TraceTreeNode[];
  /** All of a node's parents when it has several (a merge): it is drawn under the first one only. */
  merges: string[];
  /** The merges this node is a later parent of: they are drawn under another parent, so the node names them. */
  feeds: string[];
}

export interface TraceTree {
  roots: TraceTreeNode[];
  nodes: number;
  /** Nodes with `kept: false`. */
  pruned: number;
  onPath: number;
  promptTokens: number;
  completionTokens: number;
}

/**
 * Lays a trace out as a tree. A node goes under its first parent found in the trace; one whose parents are all
 * unknown is a root. Links that would close a cycle (never written by a shape, but results files are read from
 * disk) are cut, so every node is drawn exactly once.
 */
export function traceTree(trace: readonly TraceNode[]): TraceTree {
  const byId = new Map<string, number>();
  trace.forEach((node, index) => {
    if (!byId.has(node.id)) byId.set(node.id, index);
  });
  const parentOf: (number | undefined)[] = trace.map((node, index) => {
    for (const id of node.parents) {
      const parent = byId.get(id);
      if (parent !== undefined && parent !== index) return parent;
    }
    return undefined;
  });
  // Cut each cycle at the first of its nodes met in trace order.
  for (let index = 0; index < trace.length; index++) {
    const seen = new Set<number>([index]);
    for (let at = parentOf[index]; at !== undefined; at = parentOf[at]) {
      if (seen.has(at)) {
        if (at === index) parentOf[index] = undefined;
        break;
      }
      seen.add(at);
    }
  }
  const laid: TraceTreeNode[] = trace.map((node) => ({
    node,
    children: [],
    merges: node.parents.length > 1 ? [...node.parents] : [],
    feeds: [],
  }));
  laid.forEach((entry, index) => {
    for (const id of entry.node.parents) {
      const parent = byId.get(id);
      const feeds = parent === undefined || parent === parentOf[index] || parent === index ? undefined : laid[parent]?.feeds;
      if (feeds && !feeds.includes(entry.node.id)) feeds.push(entry.node.id);
    }
  });
  const roots: TraceTreeNode[] = [];
  laid.forEach((entry, index) => {
    const parent = parentOf[index];
    if (parent === undefined) roots.push(entry);
    else laid[parent]?.children.push(entry);
  });
  return {
    roots,
    nodes: trace.length,
    pruned: trace.filter((node) => node.kept === false).length,
    onPath: trace.filter((node) => node.onPath === true).length,
    promptTokens: trace.reduce((sum, node) => sum + node.promptTokens, 0),
    completionTokens: trace.reduce((sum, node) => sum + node.completionTokens, 0),
  };
}

/** Whether a node or any node below it is on the path to the answer: such a node stays open when collapsed to the path. */
export function leadsToAnswer(entry: TraceTreeNode): boolean {
  return entry.node.onPath === true || entry.children.some(leadsToAnswer);
}
