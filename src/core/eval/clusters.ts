// Answer clusters of a cell: its chains grouped by the answer they reach, the vote's winner first, and where
// each runner-up's reasoning first parts from the winner's. A view of the vote, never an input to it.
import type { ChainResult } from './results';
import { answerTokens } from './score';

/** Where two chains' texts first differ, on whitespace-separated word tokens. */
export interface Divergence {
  /** Index of the first word token that differs (= the shorter text's token count when one is a prefix of the other). */
  token: number;
  /** Character offset of that token in this cluster's first chain (`text`); its length when the text ended there. */
  offset: number;
  /** Character offset of that token in the winner's first chain. */
  winnerOffset: number;
}

/** One group of a cell's chains that reach the same answer (or, for `invalid`, no answer). */
export interface AnswerCluster {
  /** The answer as the vote shows it (its first spelling); for a similarity cluster, its most frequent answer's. Absent on the invalid group. */
  answer?: string;
  /** Similarity grouping only: the distinct answers the cluster holds (first spellings, most frequent first), when more than one. */
  answers?: string[];
  /** The chains' sample indices, ascending. */
  samples: number[];
  count: number;
  /** The verdict of `answer`, as the vote scores it (the majority's verdict for the winner); false for the invalid group. */
  pass: boolean;
  /** On the cluster holding the vote's majority answer (always the first). */
  majority?: true;
  /** The chains without an answer: always last. */
  invalid?: true;
  /** Where this cluster's first chain first differs from the winner's first chain; absent on the winner and where a chain failed. */
  divergesAt?: Divergence;
}

/** Word tokens with their offsets. */
function wordTokens(text: string): { word: string; offset: number }[] {
  const tokens: { word: string; offset: number }[] = [];
  for (const match of text.matchAll(/\S+/g)) tokens.push({ word: match[0], offset: match.index ?? 0 });
  return tokens;
}

/**
 * The first word token where `a` and `b` differ, with its character offset in each (the text's length where
 * one has run out); undefined when they have the same words. Pure: whitespace between words is not compared.
 */
export function firstDivergence(a: string, b: string): { token: number; offsetA: number; offsetB: number } | undefined {
  const left = wordTokens(a);
  const right = wordTokens(b);
  const shared = Math.min(left.length, right.length);
  let token = 0;
  while (token < shared && left[token]?.word === right[token]?.word) token++;
  if (token === left.length && token === right.length) return undefined;
  return { token, offsetA: left[token]?.offset ?? a.length, offsetB: right[token]?.offset ?? b.length };
}

/** SQuAD-style token F1 of two answers (the token-f1 scorer's tokens); 1 when both have no tokens. */
export function answerSimilarity(a: string, b: string): number {
  const left = answerTokens(a);
  const right = answerTokens(b);
  if (left.length === 0 && right.length === 0) return 1;
  const remaining = new Map<string, number>();
  for (const token of right) remaining.set(token, (remaining.get(token) ?? 0) + 1);
  let common = 0;
  for (const token of left) {
    const count = remaining.get(token) ?? 0;
    if (count > 0) {
      common++;
      remaining.set(token, count - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / left.length;
  const recall = common / right.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * The clusters of a cell. `keys[i]` is chain i's normalized answer (undefined: invalid), `order` the vote's
 * distinct keys (most frequent first, ties first seen), `spelling` a key's first spelling, `verdict` a key's
 * pass as the vote scores it. With `similarity`, distinct answers are grouped greedily in vote order: each
 * joins the first (most frequent) cluster whose representative answer has token F1 ≥ similarity with it,
 * or starts its own; clusters then sort by size, ties first seen, the one holding the majority first.
 */
export function answerClusters(
  chains: readonly ChainResult[],
  keys: readonly (string | undefined)[],
  order: readonly string[],
  spelling: (key: string) => string,
  verdict: (key: string) => boolean,
  similarity?: number,
): AnswerCluster[] {
  const chainsOf = new Map<string, number[]>();
  const invalid: number[] = [];
  keys.forEach((key, index) => {
    if (key === undefined) invalid.push(index);
    else {
      const list = chainsOf.get(key);
      if (list) list.push(index);
      else chainsOf.set(key, [index]);
    }
  });
  // Groups of distinct keys, the first of each its representative.
  const groups: string[][] = [];
  for (const key of order) {
    const group =
      similarity === undefined
        ? undefined
        : groups.find((members) => answerSimilarity(spelling(members[0] as string), spelling(key)) >= similarity);
    if (group) group.push(key);
    else groups.push([key]);
  }
  const valid = groups.map((members) => {
    const indices = members.flatMap((key) => chainsOf.get(key) ?? []).sort((a, b) => a - b);
    return { members, indices };
  });
  if (similarity !== undefined)
    valid.sort(
      (a, b) =>
        Number(b.members.includes(order[0] as string)) - Number(a.members.includes(order[0] as string)) ||
        b.indices.length - a.indices.length ||
        (a.indices[0] as number) - (b.indices[0] as number),
    );
  const clusters: AnswerCluster[] = valid.map(({ members, indices }, i) => ({
    answer: spelling(members[0] as string),
    ...(members.length > 1 ? { answers: members.map(spelling) } : {}),
    samples: indices.map((index) => (chains[index] as ChainResult).sample),
    count: indices.length,
    pass: verdict(members[0] as string),
    ...(i === 0 ? { majority: true as const } : {}),
  }));
  if (invalid.length > 0)
    clusters.push({
      samples: invalid.map((index) => (chains[index] as ChainResult).sample),
      count: invalid.length,
      pass: false,
      invalid: true,
    });
  // Where each runner-up's first chain parts from the winner's first chain.
  const winner = valid[0] ? chains[valid[0].indices[0] as number] : undefined;
  if (winner) {
    const firsts = [...valid.map(({ indices }) => indices[0] as number), invalid[0]];
    clusters.forEach((cluster, i) => {
      if (i === 0) return;
      const chain = firsts[i] === undefined ? undefined : chains[firsts[i]];
      if (!chain || chain.error !== undefined) return;
      const divergence = firstDivergence(winner.text, chain.text);
      if (divergence) cluster.divergesAt = { token: divergence.token, offset: divergence.offsetB, winnerOffset: divergence.offsetA };
    });
  }
  return clusters;
}
