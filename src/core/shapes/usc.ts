// Universal self-consistency (Chen et al. 2023): the model reads n chains and picks the one most consistent with the others.
import { fillPrompt } from './defaults';
import { basePrompt, markPath, nodesOf, numbered, requestNode, standalone } from './common';
import { ShapeFailure, type TraceNode } from './types';
import type { ShapeRunner } from './index';

/** "The most consistent response is Response 2" first; any "Response #2" / "response 2" after. */
const PICK_PHRASE = /most consistent response is\s*response\s*#?\s*(\d+)/i;
const ANY_RESPONSE = /\bresponse\s*#?\s*(\d+)/i;

/** The 1-based response number a pick names, or undefined. */
export function pickedResponse(text: string): number | undefined {
  const match = PICK_PHRASE.exec(text) ?? ANY_RESPONSE.exec(text);
  return match ? Number(match[1]) : undefined;
}

export const runUniversalSelfConsistency: ShapeRunner = async (context) => {
  const trace: TraceNode[] = [];
  const outputs = await context.generate({ id: 'chains', ...basePrompt(context), n: context.options.chains });
  const chainNodes = nodesOf(outputs, 'chains', 'sample', (index) => `chain-${index + 1}`, []);
  trace.push(...chainNodes);
  // Failed chains are left out of the list the model reads: Response N is the Nth chain that came back.
  const good = chainNodes.filter((node) => !node.error);
  const first = good[0];
  if (!first) throw new ShapeFailure('Universal self-consistency: every chain failed.', trace);
  if (good.length === 1) {
    // Nothing to pick between: the one chain is the answer.
    markPath(trace, [first.id]);
    return { text: first.text, trace };
  }

  const prompt = fillPrompt(context.options.pickPrompt, {
    question: context.question,
    responses: numbered(
      'Response',
      good.map((node) => node.text),
    ),
  });
  const picks = await context.generate({ id: 'pick', ...standalone(context, prompt), n: 1, temperature: 0 });
  const pickText = picks[0]?.error ? '' : (picks[0]?.text ?? '');
  const number = pickText ? pickedResponse(pickText) : undefined;
  const chosen = number !== undefined ? good[number - 1] : undefined;
  const why = picks[0]?.error
    ? `(the pick failed: ${picks[0].error}; the first response is the answer)`
    : number === undefined
      ? '(no response number in the pick: the first response is the answer)'
      : `(Response ${number} does not exist: the first response is the answer)`;
  const node = requestNode(
    picks,
    'pick',
    'pick',
    good.map((chain) => chain.id),
    chosen ? pickText.trim() : [pickText.trim(), why].filter(Boolean).join('\n'),
  );
  if (chosen) node.score = number;
  trace.push(node);
  const answer = chosen ?? first;
  markPath(trace, [answer.id, node.id]);
  return { text: answer.text, trace };
};
