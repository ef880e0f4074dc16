import * as assert from 'node:assert/strict';
import type { TraceNode } from '../shapes/types';
import { leadsToAnswer, traceTree, type TraceTreeNode } from './traceTree';

const node = (id: string, parents: string[], extra: Partial<TraceNode> = {}): TraceNode => ({
  id,
  parents,
  role: 'propose',
  text: id,
  promptTokens: 10,
  completionTokens: 5,
  ...extra,
});

/** The tree as nested ids, for comparing shapes: "a(b,c(d))". */
function outline(entries: TraceTreeNode[]): string {
  return entries.map((entry) => (entry.children.length > 0 ? `${entry.node.id}(${outline(entry.children)})` : entry.node.id)).join(',');
}

describe('traceTree (a chain trace laid out for the panel)', () => {
  it('nests a tree of thought by parent, counts pruned and on-path nodes and adds up the tokens', () => {
    const tree = traceTree([
      node('d1.1', [], { kept: true, onPath: true }),
      node('d1.2', [], { kept: false }),
      node('d2.1', ['d1.1'], { kept: true, onPath: true }),
      node('d2.2', ['d1.1'], { kept: false }),
      node('answer', ['d2.1'], { role: 'answer', onPath: true, promptTokens: 30 }),
    ]);
    assert.equal(outline(tree.roots), 'd1.1(d2.1(answer),d2.2),d1.2');
    assert.deepEqual(
      { nodes: tree.nodes, pruned: tree.pruned, onPath: tree.onPath, prompt: tree.promptTokens, output: tree.completionTokens },
      { nodes: 5, pruned: 2, onPath: 3, prompt: 70, output: 25 },
    );
    assert.deepEqual(
      tree.roots.map((root) => leadsToAnswer(root)),
      [true, false],
    );
  });

  it('draws a graph of thought’s merge once, under its first parent, naming every parent; the others name the merge', () => {
    const tree = traceTree([
      node('chain-1', [], { role: 'sample' }),
      node('chain-2', [], { role: 'sample' }),
      node('chain-3', [], { role: 'sample' }),
      node('aggregate', ['chain-1', 'chain-2', 'chain-3'], { role: 'aggregate' }),
      node('refine', ['aggregate'], { role: 'refine' }),
    ]);
    assert.equal(outline(tree.roots), 'chain-1(aggregate(refine)),chain-2,chain-3');
    const aggregate = tree.roots[0]?.children[0];
    assert.deepEqual(aggregate?.merges, ['chain-1', 'chain-2', 'chain-3']);
    assert.deepEqual(
      tree.roots.map((root) => root.feeds),
      [[], ['aggregate'], ['aggregate']],
    );
    assert.deepEqual(aggregate?.children[0]?.merges, [], 'one parent is no merge');
  });

  it('draws every node once even when parents are unknown, repeated or form a cycle', () => {
    const tree = traceTree([
      node('a', ['c']),
      node('b', ['a']),
      node('c', ['b']),
      node('lost', ['nowhere']),
      node('self', ['self']),
      node('a', []),
    ]);
    assert.equal(outline(tree.roots), 'a(b(c)),lost,self,a');
    assert.equal(tree.nodes, 6);
  });
});
