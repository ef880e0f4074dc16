import { renderVariant, type ChatMessage, type RenderedPrompt } from './render';
import { ENCODING_FAMILIES } from '../encodings';
import { resolveLocalModel } from '../backends/local';
import { parseModelReference } from '../backends/reference';
import { folderTokenizer, type FolderTokenizer } from '../local/tokenizer';
import { countChatTokens, countTokens, encodingForModel, type EncodingName } from '../tokens';
import type { Case, PromptDocument, Variant } from './types';

/** Counts a rendered prompt's tokens with one tokenizer, and says which. */
export interface TokenCounter {
  /** `o200k_base, gpt-4o family` or `local model's tokenizer: arith-tiny`. */
  label: string;
  /** The OpenAI encoding counted with; absent for a local model's own tokenizer. */
  encoding?: EncodingName;
  /** A local model's counts are exact: what its run reports as prompt tokens. */
  exact: boolean;
  chat(messages: readonly ChatMessage[]): number;
  text(text: string): number;
  /** Tokens the model is sent: the chat request (estimated framing) for API models, the model's own input for local ones. */
  prompt(rendered: RenderedPrompt): number;
}

export function encodingCounter(encoding: EncodingName): TokenCounter {
  return {
    label: `${encoding}, ${ENCODING_FAMILIES[encoding]}`,
    encoding,
    exact: false,
    chat: (messages) => countChatTokens(messages, encoding),
    text: (text) => countTokens(text, encoding),
    prompt: (rendered) => countChatTokens(rendered.messages, encoding),
  };
}

/** Counts as a local model's worker encodes a run's requests (modelPrompt, then promptIds). */
export function localCounter({ tokenizer, input }: FolderTokenizer): TokenCounter {
  const text = (value: string): number => tokenizer.promptIds({ text: value }).length;
  return {
    label: `local model's tokenizer: ${tokenizer.name}`,
    exact: true,
    chat: (messages) => (input === 'chat' ? tokenizer.promptIds({ messages }).length : text(messages.map((m) => m.content).join('\n\n'))),
    text,
    // The run sends messages to a chat model and the rendered text to a text model (run.ts promptOf).
    prompt: (rendered) => (input === 'chat' ? tokenizer.promptIds({ messages: rendered.messages }).length : text(rendered.text)),
  };
}

/**
 * The counter for the model a run would use: a local model's own tokenizer (loaded once per folder, see
 * folderTokenizer), else the model's OpenAI encoding. `encoding` forces one (a setting other than auto).
 * A local model whose tokenizer cannot be read falls back to o200k_base and says why in `problem`.
 */
export async function counterForModel(
  model: string | undefined,
  options: { encoding?: EncodingName; promptDirectory?: string; modelDirectories?: readonly string[] } = {},
): Promise<{ counter: TokenCounter; problem?: string }> {
  if (options.encoding) return { counter: encodingCounter(options.encoding) };
  const reference = parseModelReference(model);
  if (!reference.isLocal) return { counter: encodingCounter(encodingForModel(model)) };
  try {
    const directory = resolveLocalModel(reference.model, options.promptDirectory, options.modelDirectories);
    return { counter: localCounter(await folderTokenizer(directory)) };
  } catch (error) {
    return { counter: encodingCounter('o200k_base'), problem: error instanceof Error ? error.message : String(error) };
  }
}

export interface VariantTokens {
  variant: Variant;
  /** Tokens the model is sent for the first case (see TokenCounter.prompt). */
  promptTokens: number;
  /** Tokens of the chat request for the first case (messages plus framing). */
  chatTokens: number;
  /** Tokens of the plain-text prompt for the first case. */
  textTokens: number;
  /** Mean prompt tokens over the cases measured. */
  meanPromptTokens: number;
  /** Mean chat tokens over the cases measured. */
  meanChatTokens: number;
  casesMeasured: number;
  examples: number;
}

export interface TokenReport {
  /** Which tokenizer counted, in words. */
  tokenizer: string;
  /** The OpenAI encoding, when one counted. */
  encoding?: EncodingName;
  exact: boolean;
  rows: VariantTokens[];
}

/** Token counts of each variant, over the first `maxCases` cases (rendering every row of a big dataset is wasteful). */
export async function tokenReport(
  document: PromptDocument,
  cases: readonly Case[],
  options: { encoding?: EncodingName; counter?: TokenCounter; maxCases?: number; variants?: readonly Variant[] } = {},
): Promise<TokenReport> {
  const counter = options.counter ?? encodingCounter(options.encoding ?? encodingForModel(document.model));
  const measured =
    cases.length > 0
      ? cases.slice(0, options.maxCases ?? 20)
      : [{ id: 'defaults', input: {}, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }];
  const rows: VariantTokens[] = [];
  for (const variant of options.variants ?? document.variants) {
    let totalChat = 0;
    let totalPrompt = 0;
    let first: { prompt: number; chat: number; text: number; examples: number } | undefined;
    for (const testCase of measured) {
      const rendered = await renderVariant(document, variant, testCase.input, testCase.attack?.spec);
      const chat = counter.chat(rendered.messages);
      const prompt = counter.prompt(rendered);
      totalChat += chat;
      totalPrompt += prompt;
      first ??= { prompt, chat, text: counter.text(rendered.text), examples: rendered.examples.length };
    }
    rows.push({
      variant,
      promptTokens: first?.prompt ?? 0,
      chatTokens: first?.chat ?? 0,
      textTokens: first?.text ?? 0,
      meanPromptTokens: totalPrompt / measured.length,
      meanChatTokens: totalChat / measured.length,
      casesMeasured: measured.length,
      examples: first?.examples ?? 0,
    });
  }
  return { tokenizer: counter.label, ...(counter.encoding ? { encoding: counter.encoding } : {}), exact: counter.exact, rows };
}
