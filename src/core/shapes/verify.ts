// Self-verification: each chain's answer is checked by a verify prompt, and answers are weighted by how well they verify
// (Weng et al. 2023 score candidate answers by verification rather than count them).
import { fillPrompt } from './defaults';
import { basePrompt, markPath, nodesOf, requestNode, standalone } from './common';
import { ShapeFailure, type TraceNode } from './types';
import type { ShapeRunner } from './index';

/** A verification sample's verdict: its first yes or no; anything else is not a yes. */
export function verdictOf(text: string): boolean | undefined {
  const word = /\b(yes|no)\b/i.exec(text)?.[1]?.toLowerCase();
  return word === undefined ? undefined : word === 'yes';
}

interface Verified {
  node: TraceNode;
  answer: string;
  /** Share of verification samples that said yes (failed or unclear samples count as not yes). */
  weight: number;
}

export const runSelfVerification: ShapeRunner = async (context) => {
  const { chains, verifyPrompt, verifySamples } = context.options;
  const trace: TraceNode[] = [];
  const outputs = await context.generate({ id: 'chains', ...basePrompt(context), n: chains });
  const chainNodes = nodesOf(outputs, 'chains', 'sample', (index) => `chain-${index + 1}`, []);
  trace.push(...chainNodes);
  const good = chainNodes.filter((node) => !node.error);
  const first = good[0];
  if (!first) throw new ShapeFailure('Self-verification: every chain failed.', trace);

  const verified: Verified[] = [];
  for (const node of good) {
    const answer = context.answerOf(node.text);
    // A chain without an answer has nothing to verify and no weight.
    if (answer === undefined) continue;
    const request = `verify-${node.id}`;
    const prompt = fillPrompt(verifyPrompt, { question: context.question, solution: node.text });
    const checks = await context.generate({ id: request, ...standalone(context, prompt), n: verifySamples });
    const yes = checks.filter((check) => !check.error && verdictOf(check.text) === true).length;
    const weight = yes / verifySamples;
    node.score = weight;
    const check = requestNode(checks, request, 'verify', [node.id], checks.map((sample) => sample.text.trim()).join('\n---\n'));
    check.score = weight;
    trace.push(check);
    verified.push({ node, answer, weight });
  }
  if (verified.length === 0) {
    // No answer to weigh: the first chain stands, and its extraction fails like any chain's would.
    markPath(trace, [first.id]);
    return { text: first.text, trace };
  }

  const best = bestVerified(verified);
  markPath(trace, [best.node.id, `verify-${best.node.id}`]);
  return { text: best.node.text, trace };
};

/**
 * The answer with the largest sum of weights (ties: more chains, then the first seen), and of its chains the best
 * verified one (ties: the first).
 */
function bestVerified(verified: Verified[]): Verified {
  const answers = new Map<string, { sum: number; chains: Verified[]; order: number }>();
  for (const entry of verified) {
    const group = answers.get(entry.answer) ?? { sum: 0, chains: [], order: answers.size };
    group.sum += entry.weight;
    group.chains.push(entry);
    answers.set(entry.answer, group);
  }
  const [winner] = [...answers.values()].sort((a, b) => b.sum - a.sum || b.chains.length - a.chains.length || a.order - b.order);
  const chainsOf = (winner as { chains: Verified[] }).chains;
  return chainsOf.reduce((best, entry) => (entry.weight > best.weight ? entry : best));
}
