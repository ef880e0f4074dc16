import type { ExtractorSpec } from '../prompt/types';
import type { FinishReason } from '../backend';
import { extractAnswer, type ExtractedAnswer } from './extract';

/** A completion's text split into the model's `<think>` reasoning and its answer. */
export interface SplitText {
  /** The text after the reasoning: what answers are extracted from. */
  answer: string;
  /** Where `answer` starts in the text, so spans found in it point into the whole text. */
  offset: number;
  /** The reasoning inside `<think>…</think>`, trimmed; absent when the text has none. */
  reasoning?: string;
  /** A `<think>` that never closed: the model stopped while still reasoning. */
  unclosed?: boolean;
}

const OPEN = '<think>';
const CLOSE = '</think>';

/**
 * Splits off the `<think>…</think>` block reasoning models (DeepSeek-R1, Qwen3, QwQ) write before their
 * answer. The answer is what follows the last `</think>`; a `</think>` without `<think>` counts too, since
 * chat templates often put the opening tag in the prompt. An unclosed `<think>` leaves no answer.
 */
export function splitReasoning(text: string): SplitText {
  const close = text.lastIndexOf(CLOSE);
  if (close >= 0) {
    const open = text.indexOf(OPEN);
    const start = open >= 0 && open < close ? open + OPEN.length : 0;
    const offset = close + CLOSE.length;
    return { answer: text.slice(offset), offset, reasoning: text.slice(start, close).trim() };
  }
  const open = text.indexOf(OPEN);
  if (open >= 0) return { answer: '', offset: text.length, reasoning: text.slice(open + OPEN.length).trim(), unclosed: true };
  return { answer: text, offset: 0 };
}

/** What a chain needs to be read: its text (or second-stage answer), its separate reasoning, how it finished. */
export interface ChainText {
  text: string;
  answerText?: string;
  reasoning?: string;
  finishReason?: FinishReason;
}

/**
 * The chain's answer, extracted from its text without the reasoning (spans point into `answerText ?? text`), and
 * the reasoning it carries: `reasoning_content` sent apart, else its `<think>` block. A chain still reasoning
 * when it stopped (an unclosed `<think>`, or reasoning and no answer cut at max_tokens) is incomplete: no answer.
 */
export function extractChain(chain: ChainText, spec: ExtractorSpec): { extracted: ExtractedAnswer; reasoning?: string } {
  const source = chain.answerText ?? chain.text;
  const split = splitReasoning(source);
  // The chain's own think block when the answer stage's text is read.
  const thought = chain.answerText !== undefined ? splitReasoning(chain.text).reasoning : split.reasoning;
  const reasoning = joinReasoning(chain.reasoning, thought);
  const withReasoning = (extracted: ExtractedAnswer): { extracted: ExtractedAnswer; reasoning?: string } =>
    reasoning !== undefined ? { extracted, reasoning } : { extracted };
  if (split.unclosed)
    return withReasoning({
      valid: false,
      reason: `incomplete chain: its <think> block never closed${chain.finishReason === 'length' ? ' (max_tokens ran out while it was reasoning)' : ''}`,
    });
  if (chain.finishReason === 'length' && reasoning !== undefined && split.answer.trim() === '')
    return withReasoning({ valid: false, reason: 'incomplete chain: max_tokens ran out while the model was reasoning, before any answer' });
  const extracted = extractAnswer(split.answer, spec);
  if (!extracted.valid || split.offset === 0) return withReasoning(extracted);
  return withReasoning({ ...extracted, span: [extracted.span[0] + split.offset, extracted.span[1] + split.offset] });
}

function joinReasoning(sent: string | undefined, thought: string | undefined): string | undefined {
  const parts = [sent, thought].filter((part): part is string => part !== undefined && part.trim() !== '');
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}
