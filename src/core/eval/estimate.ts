import type { LoadedPrompt } from '../prompt/load';
import type { ShapeKind } from '../prompt/types';
import { resolveShapeOptions } from '../shapes/defaults';
import { shapeWork } from '../shapes/work';
import { renderVariant } from '../prompt/render';
import { isReasoningModel } from '../backends/parameters';
import { countChatTokens, countTokens, encodingForModel } from '../tokens';
import type { Prices } from './results';

export interface RunEstimate {
  chains: number;
  requests: number;
  promptTokens: number;
  /** Upper bound: every chain runs to max_tokens (for reasoning models, hidden reasoning and the answer together). */
  maxCompletionTokens?: number;
  /** The model reasons before it answers: its completion budget (max_completion_tokens) is shared with the reasoning. */
  reasoning?: boolean;
  /**
   * Upper bound in the price table's currency, when the model has a price and max_tokens is set: the worst case,
   * every chain at max_tokens and no prompt token served from the provider's cache.
   */
  maxCost?: number;
  /** The run's budget, when it has one: the run stops before it could pass it. */
  budget?: number;
  /** The worst case is above the budget: the run may stop before every chain is drawn. */
  overBudget?: boolean;
}

/**
 * What a run will send before it starts: prompt tokens of every cell (billed once per request of n chains)
 * counted with js-tiktoken, and the completion budget from max_tokens.
 */
export async function estimateRun(
  loaded: LoadedPrompt,
  options: {
    input: 'chat' | 'text';
    model: string;
    samples?: number;
    variants?: readonly string[];
    cases?: readonly string[];
    prices?: Prices;
    /** The run's budget (`--max-cost`, the file's `budget`). */
    budget?: number;
  },
): Promise<RunEstimate> {
  const document = loaded.document;
  const samples = options.samples ?? document.samples;
  const encoding = encodingForModel(options.model);
  const variants = document.variants.filter((variant) => !options.variants || options.variants.includes(variant.name));
  const cases = loaded.cases.filter((testCase) => !options.cases || options.cases.includes(testCase.id));
  let promptTokens = 0;
  let requests = 0;
  let generations = 0;
  for (const variant of variants) {
    // A reasoning shape makes several requests per chain: each bills about its case's prompt, and generates up to max_tokens.
    const work = variant.shape
      ? shapeWork(variant.kind as ShapeKind, resolveShapeOptions(variant.kind as ShapeKind, variant.shape, document))
      : undefined;
    for (const testCase of cases) {
      const rendered = await renderVariant(document, variant, testCase.input, testCase.attack?.spec);
      const tokens = options.input === 'chat' ? countChatTokens(rendered.messages, encoding) : countTokens(rendered.text, encoding);
      promptTokens += work ? tokens * work.requests * samples : tokens;
      requests += work ? work.requests * samples : 1;
      generations += work ? work.generations * samples : samples;
    }
  }
  const chains = variants.length * cases.length * samples;
  const maxTokens = document.sampling.maxTokens;
  const estimate: RunEstimate = { chains, requests, promptTokens, ...(isReasoningModel(options.model) ? { reasoning: true } : {}) };
  if (maxTokens !== undefined) {
    estimate.maxCompletionTokens = generations * maxTokens;
    // Reasoning is billed as output and bounded by the same limit, so the bound holds for reasoning models too.
    if (options.prices)
      estimate.maxCost = (promptTokens * options.prices.input + estimate.maxCompletionTokens * options.prices.output) / 1_000_000;
  }
  if (options.budget !== undefined) {
    estimate.budget = options.budget;
    if (estimate.maxCost === undefined || estimate.maxCost > options.budget) estimate.overBudget = true;
  }
  return estimate;
}
