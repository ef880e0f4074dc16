// Graph of thought (Besta et al. 2024): k chains, merged into one improved solution, refined r times.
import { fillPrompt } from './defaults';
import { basePrompt, followUp, markPath, nodesOf, numbered, requestNode } from './common';
import { ShapeFailure, type TraceNode } from './types';
import type { ShapeRunner } from './index';

export const runGraphOfThought: ShapeRunner = async (context) => {
  const { chains, aggregatePrompt, refinements, refinePrompt } = context.options;
  const trace: TraceNode[] = [];
  const outputs = await context.generate({ id: 'chains', ...basePrompt(context), n: chains });
  const chainNodes = nodesOf(outputs, 'chains', 'sample', (index) => `chain-${index + 1}`, []);
  trace.push(...chainNodes);
  const good = chainNodes.filter((node) => !node.error);
  if (good.length === 0) throw new ShapeFailure('Graph of thought: every chain failed.', trace);

  const mergePrompt = fillPrompt(aggregatePrompt, {
    question: context.question,
    solutions: numbered(
      'Solution',
      good.map((node) => node.text),
    ),
  });
  const merged = await context.generate({ id: 'aggregate', ...followUp(context, mergePrompt), n: 1 });
  let last = requestNode(
    merged,
    'aggregate',
    'aggregate',
    good.map((node) => node.id),
    merged[0]?.error ? '' : (merged[0]?.text ?? ''),
  );
  trace.push(last);
  if (last.error || merged.length === 0)
    throw new ShapeFailure(`Graph of thought: the aggregate failed: ${last.error ?? 'no output'}`, trace);

  const path = [...good.map((node) => node.id), last.id];
  for (let step = 1; step <= refinements; step++) {
    const request = `refine-${step}`;
    const prompt = fillPrompt(refinePrompt, { question: context.question, solution: last.text });
    const refined = await context.generate({ id: request, ...followUp(context, prompt), n: 1 });
    const node = requestNode(refined, request, 'refine', [last.id], refined[0]?.error ? '' : (refined[0]?.text ?? ''));
    trace.push(node);
    // A failed refinement leaves the last good solution as the answer; later refinements would only repeat the failure.
    if (node.error || !node.text.trim()) break;
    last = node;
    path.push(node.id);
  }
  markPath(trace, path);
  return { text: last.text, trace };
};
