import type { Prices } from './eval/results';

/**
 * List prices in USD per million tokens (input, cached input, output) of common models, as published by their
 * providers; they change, so users override or extend them (setting `chainscope.prices`, CLI `--prices`).
 * The Batch API's prices are half of these for every model listed (OpenAI's and Azure's batch discount,
 * batchPrices); an entry may state its own `batchInput`/`batchOutput`.
 */
export const DEFAULT_PRICES: Record<string, Prices> = {
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
  'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'o3-mini': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4 },
  // Reasoning models bill their hidden reasoning as output tokens (inside completion_tokens).
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'gpt-5-pro': { input: 15, output: 120 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
};

/** Backends that run on the user's own hardware cost nothing per token. */
const FREE_BACKENDS = new Set(['local', 'ollama', 'vllm', 'lmstudio', 'llamacpp']);

/** The price of a model: an exact entry, else the longest entry the model name starts with (dated snapshots). */
export function priceFor(
  backendId: string,
  model: string,
  table: Record<string, Prices> = DEFAULT_PRICES,
  mode: 'online' | 'batch' = 'online',
): Prices | undefined {
  if (FREE_BACKENDS.has(backendId)) return { input: 0, output: 0 };
  const prefix = Object.keys(table)
    .filter((name) => model.startsWith(`${name}-`))
    .sort((a, b) => b.length - a.length)[0];
  const prices = table[model] ?? (prefix ? table[prefix] : undefined);
  return prices && mode === 'batch' ? batchPrices(prices) : prices;
}

/** The Batch API's prices of a table entry: its own, else half the online ones (a user's entry may give only those). */
export function batchPrices(prices: Prices): Prices {
  // The batch discount covers cached prompt tokens too.
  const cachedInput =
    prices.cachedInput === undefined ? undefined : prices.cachedInput * ((prices.batchInput ?? prices.input / 2) / prices.input);
  return {
    input: prices.batchInput ?? prices.input / 2,
    output: prices.batchOutput ?? prices.output / 2,
    ...(cachedInput !== undefined && Number.isFinite(cachedInput) ? { cachedInput } : {}),
  };
}

/** Token counts as billed: cached prompt tokens are part of `promptTokens`, reasoning tokens part of `completionTokens`. */
export interface BilledTokens {
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
}

/**
 * The cost of `tokens` in the table's currency: cached prompt tokens at `cachedInput` (the input price where the
 * model has none), the rest at `input`; output, reasoning included, at `output` (reasoning is never added twice).
 */
export function costOf(tokens: BilledTokens, prices: Prices): number {
  const cached = Math.min(Math.max(0, tokens.cachedTokens ?? 0), tokens.promptTokens);
  return (
    ((tokens.promptTokens - cached) * prices.input +
      cached * (prices.cachedInput ?? prices.input) +
      tokens.completionTokens * prices.output) /
    1_000_000
  );
}

/** The worst case of one request: every prompt token at the full input price (no cache), n chains of `maxTokens` each. */
export function worstCaseCost(promptTokens: number, n: number, maxTokens: number, prices: Prices): number {
  return costOf({ promptTokens, completionTokens: n * maxTokens }, prices);
}
