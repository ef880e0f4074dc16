// Step-back prompting (Zheng et al. 2023): ask for the principle behind the question first, then answer with it in view.
import { fillPrompt } from './defaults';
import { requestNode, standalone } from './common';
import { ShapeFailure, type ShapeContext, type ShapeRequest, type TraceNode } from './types';
import type { ShapeRunner } from './index';
import type { ChatMessage } from '../prompt/render';

export const runStepBack: ShapeRunner = async (context) => {
  const trace: TraceNode[] = [];
  const abstractPrompt = fillPrompt(context.options.stepBackPrompt, { question: context.question });
  const abstracted = await context.generate({ id: 'abstract', ...standalone(context, abstractPrompt), n: 1 });
  const principle = abstracted[0]?.error ? '' : (abstracted[0]?.text.trim() ?? '');
  const abstractNode = requestNode(abstracted, 'abstract', 'abstract', [], principle);
  abstractNode.onPath = true;
  trace.push(abstractNode);
  if (abstractNode.error || !principle)
    throw new ShapeFailure(`Step-back: no principle came back${abstractNode.error ? `: ${abstractNode.error}` : ''}.`, trace);

  const answered = await context.generate({ id: 'answer', ...withPrinciple(context, principle), n: 1 });
  const text = answered[0]?.error ? '' : (answered[0]?.text ?? '');
  const answerNode = requestNode(answered, 'answer', 'answer', ['abstract'], text);
  answerNode.onPath = true;
  trace.push(answerNode);
  if (answerNode.error) throw new ShapeFailure(`Step-back: the answer request failed: ${answerNode.error}`, trace);
  return { text, trace };
};

/**
 * The case's prompt with the principle before the question: chat puts the principle prompt in the last user turn (the
 * turn as rendered is its question); a base model's text is the question, so the principle prompt wraps all of it.
 */
export function withPrinciple(context: ShapeContext, principle: string): Pick<ShapeRequest, 'messages' | 'text'> {
  const { principlePrompt } = context.options;
  if (context.input === 'text') return { text: fillPrompt(principlePrompt, { principle, question: context.rendered.text }) };
  const messages: ChatMessage[] = [...context.rendered.messages];
  let last = -1;
  for (let i = messages.length - 1; i >= 0; i--)
    if (messages[i]?.role === 'user') {
      last = i;
      break;
    }
  if (last < 0)
    return { messages: [...messages, { role: 'user', content: fillPrompt(principlePrompt, { principle, question: context.question }) }] };
  const turn = messages[last] as ChatMessage;
  messages[last] = { ...turn, content: fillPrompt(principlePrompt, { principle, question: turn.content }) };
  return { messages };
}
