// Pieces every shape shares: how a follow-up prompt is sent, how a request's tokens go onto its nodes.
import type { ChatMessage } from '../prompt/render';
import type { ShapeContext, ShapeOutput, ShapeRequest, TraceNode, TraceRole } from './types';

/** What a base model is cued with after a prompt that stands alone (it has no chat template to say "your turn"). */
const TEXT_ANSWER_CUE = '\nAnswer:';

/** A prompt sent on its own (a rating, a pick, a check): it quotes what it needs, the case's turns would only distract. */
export function standalone(context: ShapeContext, prompt: string): Pick<ShapeRequest, 'messages' | 'text'> {
  if (context.input === 'text') return { text: `${prompt}${TEXT_ANSWER_CUE}` };
  return { messages: [{ role: 'user', content: prompt }] };
}

/** A prompt that carries on the case's conversation (propose, merge, refine, finish): the system turn and examples still apply. */
export function followUp(context: ShapeContext, prompt: string): Pick<ShapeRequest, 'messages' | 'text'> {
  if (context.input === 'text') return standalone(context, prompt);
  const turn: ChatMessage = { role: 'user', content: prompt };
  return { messages: [...context.rendered.messages, turn] };
}

/**
 * Prompt tokens of a request as its backend counts them: the sum over its samples (an OpenAI-style server splits the
 * request's prompt tokens over its choices; the local backend counts each row's), so a trace sums to its chain's usage.
 */
export function requestPromptTokens(outputs: readonly ShapeOutput[]): number {
  return outputs.reduce((sum, output) => sum + output.promptTokens, 0);
}

/** One node per sample of a request, its prompt tokens on the first node only. */
export function nodesOf(
  outputs: readonly ShapeOutput[],
  request: string,
  role: TraceRole,
  id: (index: number) => string,
  parents: string[],
): TraceNode[] {
  const promptTokens = requestPromptTokens(outputs);
  return outputs.map((output, index) => ({
    id: id(index),
    parents,
    role,
    text: output.error ? '' : output.text,
    request,
    promptTokens: index === 0 ? promptTokens : 0,
    completionTokens: output.completionTokens,
    ...(output.error ? { error: output.error } : {}),
  }));
}

/** One node standing for a whole request (ratings, votes, a pick): its samples' text and tokens together. */
export function requestNode(outputs: readonly ShapeOutput[], request: string, role: TraceRole, parents: string[], text: string): TraceNode {
  const failed = outputs.length > 0 && outputs.every((output) => output.error);
  return {
    id: request,
    parents,
    role,
    text,
    request,
    promptTokens: requestPromptTokens(outputs),
    completionTokens: outputs.reduce((sum, output) => sum + output.completionTokens, 0),
    ...(failed ? { error: outputs.find((output) => output.error)?.error ?? 'the request failed' } : {}),
  };
}

/** `Label 1:\n…\n\nLabel 2:\n…`: how chains are listed for a merge, a pick or a vote. */
export function numbered(label: string, texts: readonly string[]): string {
  return texts.map((text, index) => `${label} ${index + 1}:\n${text.trim()}`).join('\n\n');
}

/** Marks the nodes with these ids as on the path to the answer. */
export function markPath(trace: TraceNode[], ids: Iterable<string>): void {
  const onPath = new Set(ids);
  for (const node of trace) if (onPath.has(node.id)) node.onPath = true;
}

/** The case's own prompt, as a plain chain of the variant would send it. */
export function basePrompt(context: ShapeContext): Pick<ShapeRequest, 'messages' | 'text'> {
  return context.input === 'text' ? { text: context.rendered.text } : { messages: context.rendered.messages };
}
