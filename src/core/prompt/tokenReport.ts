import { renderVariant } from './render';
import { countChatTokens, countTokens, encodingForModel, type EncodingName } from '../tokens';
import type { Case, PromptDocument, Variant } from './types';

export interface VariantTokens {
  variant: Variant;
  /** Tokens of the chat request for the first case (messages plus framing). */
  chatTokens: number;
  /** Tokens of the plain-text prompt for the first case. */
  textTokens: number;
  /** Mean chat tokens over the cases measured. */
  meanChatTokens: number;
  casesMeasured: number;
  examples: number;
}

export interface TokenReport {
  encoding: EncodingName;
  rows: VariantTokens[];
}

/** Token counts of each variant, over the first `maxCases` cases (rendering every row of a big dataset is wasteful). */
export async function tokenReport(
  document: PromptDocument,
  cases: readonly Case[],
  options: { encoding?: EncodingName; maxCases?: number; variants?: readonly Variant[] } = {},
): Promise<TokenReport> {
  const encoding = options.encoding ?? encodingForModel(document.model);
  const measured =
    cases.length > 0
      ? cases.slice(0, options.maxCases ?? 20)
      : [{ id: 'defaults', input: {}, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }];
  const rows: VariantTokens[] = [];
  for (const variant of options.variants ?? document.variants) {
    let total = 0;
    let first: { chat: number; text: number; examples: number } | undefined;
    for (const testCase of measured) {
      const rendered = await renderVariant(document, variant, testCase.input);
      const chat = countChatTokens(rendered.messages, encoding);
      total += chat;
      first ??= { chat, text: countTokens(rendered.text, encoding), examples: rendered.examples.length };
    }
    rows.push({
      variant,
      chatTokens: first?.chat ?? 0,
      textTokens: first?.text ?? 0,
      meanChatTokens: total / measured.length,
      casesMeasured: measured.length,
      examples: first?.examples ?? 0,
    });
  }
  return { encoding, rows };
}
