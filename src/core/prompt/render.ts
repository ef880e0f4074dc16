import { Dotprompt, type Message, type PromptFunction } from 'dotprompt';
import { exampleAnswer, examplesFor, promptKindOf } from './examples';
import { variableText } from './text';
import type { AttackSpec, Case, DefenceSpec, Example, PromptDocument, Variant, Vars } from './types';
import { defaultInstruction, defendInput, defendMessages } from '../security/defences';
import { securitySeed } from '../security/seeded';
import { applyAttack, canarySentence } from '../security/suites';

export { exampleAnswer, examplesFor };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One variant of one case, ready for a chat model (`messages`) or a base model (`text`). */
export interface RenderedPrompt {
  variant: Variant;
  messages: ChatMessage[];
  text: string;
  /** The examples shown, in order. */
  examples: Example[];
}

const dotprompt = new Dotprompt();
const compiled = new Map<string, Promise<PromptFunction>>();

/** Renders the Handlebars body with Dotprompt, so `{{role}}`, `{{history}}` and its helpers behave as in Dotprompt. */
export async function renderTemplate(template: string, vars: Vars): Promise<ChatMessage[]> {
  let render = compiled.get(template);
  if (!render) {
    render = dotprompt.compile(template);
    compiled.set(template, render);
    // Bounded: the editor re-renders as the user types.
    if (compiled.size > 64) compiled.delete(compiled.keys().next().value as string);
  }
  const rendered = await (await render)({ input: vars });
  return rendered.messages.map(toChatMessage).filter((message) => message.content.length > 0 || message.role !== 'system');
}

function toChatMessage(message: Message): ChatMessage {
  const role = message.role === 'model' ? 'assistant' : message.role === 'system' ? 'system' : message.role === 'user' ? 'user' : 'user';
  const content = message.content
    .map((part) =>
      'text' in part && typeof part.text === 'string' ? part.text : 'media' in part && part.media ? `[media: ${part.media.url}]` : '',
    )
    .join('')
    .trim();
  return { role, content };
}

/**
 * Renders one variant for one case. Examples become user/assistant turns before the final user turn;
 * the plain-text form lays the same turns out as `Q: … / A: …` blocks (configurable in `text_format`).
 */
export async function renderVariant(document: PromptDocument, variant: Variant, vars: Vars, attack?: AttackSpec): Promise<RenderedPrompt> {
  const defence = variant.defence;
  const seedText = securitySeed(document);
  const untrusted = defence ? (defence.into ?? document.attacks?.into ?? soleVariable(document)) : undefined;
  // A defence wraps the untrusted variable (here, in examples too, so they look like the query) or the user turn (below).
  const withDefaults = (input: Vars): Vars => {
    const all = { ...document.inputDefaults, ...input };
    if (!defence || untrusted === undefined || untrusted === 'user' || !(untrusted in all)) return all;
    return { ...all, [untrusted]: defendInput(defence, variableText(all[untrusted]), seedText) };
  };
  const messages = await renderTemplate(document.template, withDefaults(vars));
  const examples = examplesFor(document, variant);

  // The query is the last user turn (or the last turn of any role when there is no user turn).
  let queryIndex = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'user') {
      queryIndex = i;
      break;
    }
  }
  if (queryIndex < 0) queryIndex = messages.length - 1;
  let preamble = queryIndex >= 0 ? messages.slice(0, queryIndex) : [];
  let query = queryIndex >= 0 ? (messages[queryIndex] as ChatMessage) : { role: 'user' as const, content: '' };
  let after = queryIndex >= 0 ? messages.slice(queryIndex + 1) : [];
  // Direct injection: the attacker writes the user turn.
  if (attack?.into === 'user') query = { ...query, content: applyAttack(query.content, attack) };
  if (defence && untrusted === 'user') query = { ...query, content: defendInput(defence, query.content, seedText) };
  if (document.attacks || defence) {
    // The canary sits in the system turn of every attacked prompt's cells, clean ones too, so they compare.
    const secured = secureTurns([...preamble, query, ...after], preamble.length, {
      ...(document.attacks ? { canary: document.attacks.canary } : {}),
      ...(defence ? { defence, into: untrusted ?? 'user', seedText } : {}),
    });
    preamble = secured.messages.slice(0, secured.queryIndex);
    query = secured.messages[secured.queryIndex] as ChatMessage;
    after = secured.messages.slice(secured.queryIndex + 1);
  }

  const exampleTurns: ChatMessage[] = [];
  for (const example of examples) {
    const exampleMessages = await renderTemplate(document.template, withDefaults(example.input));
    const exampleQuery = [...exampleMessages].reverse().find((message) => message.role === 'user') ?? exampleMessages.at(-1);
    exampleTurns.push(
      { role: 'user', content: exampleQuery?.content ?? '' },
      { role: 'assistant', content: exampleAnswer(example, variant) },
    );
  }

  const trigger = promptKindOf(variant) === 'zero-shot-cot' ? (variant.trigger ?? '').trim() : '';
  const finalQuery: ChatMessage = trigger ? { role: query.role, content: `${query.content}\n\n${trigger}` } : query;
  const chat = [...preamble, ...exampleTurns, finalQuery, ...after];

  return { variant, messages: chat, text: toPlainText(document, preamble, exampleTurns, query, after, trigger), examples };
}

function soleVariable(document: PromptDocument): string | undefined {
  const names = [...new Set(document.templateVariables.map((variable) => variable.name))];
  return names.length === 1 ? names[0] : undefined;
}

/**
 * The turns with the canary planted in the system turn and the defence's own turns (its note in the system turn,
 * a sandwich after the query), and where the query turn ended up (a system turn may have been added first).
 */
function secureTurns(
  turns: ChatMessage[],
  queryIndex: number,
  options: { canary?: string; defence?: DefenceSpec; into?: string; seedText?: string },
): { messages: ChatMessage[]; queryIndex: number } {
  let messages = turns;
  let index = queryIndex;
  if (options.canary !== undefined) {
    const system = messages.findIndex((message) => message.role === 'system');
    const sentence = canarySentence(options.canary);
    if (system >= 0)
      messages = messages.map((message, i) => (i === system ? { ...message, content: `${message.content}\n\n${sentence}` } : message));
    else {
      messages = [{ role: 'system', content: sentence }, ...messages];
      index++;
    }
  }
  if (options.defence) {
    const before = messages.length;
    messages = defendMessages(options.defence, messages, {
      into: options.into ?? 'user',
      instruction: options.defence.instruction ?? defaultInstruction(turns),
      seedText: options.seedText ?? '',
    });
    // A defence adds at most a system turn at the start; the query stays the last user turn.
    index += messages.length - before;
  }
  return { messages, queryIndex: index };
}

function toPlainText(
  document: PromptDocument,
  preamble: ChatMessage[],
  exampleTurns: ChatMessage[],
  query: ChatMessage,
  after: ChatMessage[],
  trigger: string,
): string {
  const { inputPrefix, outputPrefix, separator } = document.textFormat;
  const blocks: string[] = [];
  const turns = [...preamble.filter((message) => message.role !== 'system'), ...exampleTurns];
  const system = preamble
    .filter((message) => message.role === 'system')
    .map((message) => message.content)
    .join('\n');
  if (system) blocks.push(system);
  for (let i = 0; i < turns.length; i++) {
    const turn = turns[i] as ChatMessage;
    const next = turns[i + 1];
    if (turn.role === 'user' && next?.role === 'assistant') {
      blocks.push(`${inputPrefix}${turn.content}\n${outputPrefix} ${next.content}`);
      i++;
    } else if (turn.role === 'assistant') {
      blocks.push(`${outputPrefix} ${turn.content}`);
    } else {
      blocks.push(`${inputPrefix}${turn.content}`);
    }
  }
  const answerStart = trigger ? `${outputPrefix} ${trigger}` : outputPrefix;
  const trailing = after.map((message) => message.content).join('\n');
  blocks.push(`${inputPrefix}${query.content}${trailing ? `\n${trailing}` : ''}\n${answerStart}`);
  return blocks.join(separator);
}

/** One cell's prompt as its run sent it, for the reader: chat turns with their roles, or a base model's text. */
export interface CellPrompt {
  /** What the backend took: `chat` sends `messages`, `text` sends `text`. */
  input: 'chat' | 'text';
  messages?: ChatMessage[];
  text?: string;
  /** Zero-shot CoT with an answer prompt: the second turn, sent after each chain. */
  answerPrompt?: string;
  /** Why there is no prompt (the variant or case is gone from the prompt file, or the template fails). */
  error?: string;
  /** Set by the caller: the prompt file changed since the run, so this is how it renders now, not what was sent. */
  changed?: boolean;
}

/** Renders one cell's prompt with the renderer the run uses (renderVariant), in the form its backend took. */
export async function renderCellPrompt(
  document: PromptDocument,
  cases: readonly Case[],
  variantName: string,
  caseId: string,
  input: 'chat' | 'text',
): Promise<CellPrompt> {
  const variant = document.variants.find((candidate) => candidate.name === variantName);
  if (!variant) return { input, error: `The prompt file has no variant '${variantName}' any more.` };
  const testCase = cases.find((candidate) => candidate.id === caseId);
  if (!testCase) return { input, error: `The prompt file has no case '${caseId}' any more.` };
  try {
    const rendered = await renderVariant(document, variant, testCase.input, testCase.attack?.spec);
    return {
      input,
      ...(input === 'chat' ? { messages: rendered.messages } : { text: rendered.text }),
      ...(variant.kind === 'zero-shot-cot' && variant.answerPrompt ? { answerPrompt: variant.answerPrompt } : {}),
    };
  } catch (error) {
    return { input, error: `The prompt does not render: ${error instanceof Error ? error.message : String(error)}` };
  }
}
