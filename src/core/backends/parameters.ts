// What each OpenAI-wire provider is sent for a prompt's sampling settings, in one place, with no SDK so
// that `chainscope check` can use it. The backend (openai.ts) builds request bodies from it and learns
// from 400s what a server refuses (see `unsupportedParameter`).
import type { Adjustment } from '../backend';
import type { Sampling } from '../prompt/types';

export type { Adjustment };

/** How one provider takes the settings. */
export interface ParameterPolicy {
  /** The chat endpoint's name for the completion-token limit (text completions always take `max_tokens`). */
  tokenLimit: 'max_tokens' | 'max_completion_tokens';
  /** Where the provider's own documentation says so, for the next person to check. */
  source: string;
}

/**
 * Per provider. OpenAI deprecated `max_tokens` for `max_completion_tokens` (its reasoning models refuse the
 * old name); Azure follows it from API version 2024-09-01-preview on. vLLM takes both. Ollama's, LM Studio's
 * and llama.cpp's OpenAI-compatible servers document `max_tokens`; a server that refuses a name is learned
 * from at run time (the first 400 renames it), so third-party servers keep the conservative name.
 * Checked against the providers' documentation as remembered on 2026-11-28 (no web access when written).
 */
export const PARAMETER_POLICIES: Record<string, ParameterPolicy> = {
  openai: { tokenLimit: 'max_completion_tokens', source: 'platform.openai.com/docs/api-reference/chat/create' },
  azure: { tokenLimit: 'max_completion_tokens', source: 'learn.microsoft.com/azure/ai-services/openai/reference' },
  vllm: { tokenLimit: 'max_tokens', source: 'docs.vllm.ai serving/openai_compatible_server (both names accepted)' },
  ollama: { tokenLimit: 'max_tokens', source: 'github.com/ollama/ollama docs/openai.md' },
  lmstudio: { tokenLimit: 'max_tokens', source: 'lmstudio.ai/docs/app/api/endpoints/openai' },
  llamacpp: { tokenLimit: 'max_tokens', source: 'github.com/ggml-org/llama.cpp tools/server/README.md' },
  'openai-compatible': { tokenLimit: 'max_tokens', source: 'unknown server: the OpenAI spec’s long-standing name' },
};

/**
 * OpenAI's reasoning models by name (o1, o3, o4-mini, gpt-5 and their dated or sized versions): they refuse
 * `max_tokens` and any temperature or top_p but the default 1. gpt-5-chat is the non-reasoning chat model.
 */
export function isReasoningModel(model: string): boolean {
  const name = model.toLowerCase().replace(/^.*\//, '');
  if (/^gpt-5(\.\d+)?-chat/.test(name)) return false;
  return /^(o1|o3|o4)(-|$)/.test(name) || /^gpt-5(\.\d+)?(-|$)/.test(name);
}

/** Settings a reasoning model samples with at fixed values: sending anything else is a 400. */
export const REASONING_FIXED: readonly { setting: 'temperature' | 'topP'; wire: string; fixed: number }[] = [
  { setting: 'temperature', wire: 'temperature', fixed: 1 },
  { setting: 'topP', wire: 'top_p', fixed: 1 },
];

/** The prompt file's name of each setting sent, for messages: `temperature 0.7`, `top_p 0.9`. */
const FILE_NAMES: Record<string, string> = {
  temperature: 'temperature',
  topP: 'top_p',
  maxTokens: 'max_tokens',
  seed: 'seed',
  stop: 'stop',
  reasoningEffort: 'reasoning_effort',
};

/** A request's fields under their wire names: the body the backend sends, less the prompt and streaming. */
export type WireParameters = Record<string, unknown>;

/** What the server has refused so far (per backend: one endpoint and model): dropped fields, renamed ones. */
export interface Lessons {
  omit: Map<string, Adjustment>;
  rename: Map<string, Adjustment>;
}

export function noLessons(): Lessons {
  return { omit: new Map(), rename: new Map() };
}

/**
 * The wire fields for a request's settings and what was changed on the way: the provider's token-limit
 * name, a reasoning model's fixed settings left out, and what the server refused before.
 */
export function wireParameters(
  provider: string,
  model: string,
  input: 'chat' | 'text',
  sampling: Sampling & { n?: number },
  lessons: Lessons = noLessons(),
): { body: WireParameters; adjustments: Adjustment[] } {
  const reasoning = isReasoningModel(model);
  // A model named like OpenAI's reasoning models is served as OpenAI serves them, also behind a proxy.
  const tokenLimit =
    input === 'text' ? 'max_tokens' : reasoning ? 'max_completion_tokens' : (PARAMETER_POLICIES[provider]?.tokenLimit ?? 'max_tokens');
  const wanted: [string, unknown][] = [
    ['n', sampling.n],
    ['temperature', sampling.temperature],
    ['top_p', sampling.topP],
    [tokenLimit, sampling.maxTokens],
    ['stop', sampling.stop !== undefined && sampling.stop.length > 0 ? sampling.stop.slice(0, 4) : undefined],
    ['seed', sampling.seed],
    ['reasoning_effort', sampling.reasoningEffort],
  ];
  const body: WireParameters = {};
  const adjustments: Adjustment[] = [];
  const fixed: Adjustment[] = [];
  for (const [wire, value] of wanted) {
    if (value === undefined) continue;
    const rule = reasoning ? REASONING_FIXED.find((entry) => entry.wire === wire) : undefined;
    if (rule) {
      // Left out even at the default: the model samples at it anyway, and nothing is to report.
      if (value !== rule.fixed)
        fixed.push({ parameter: wire, setting: rule.setting, value, action: 'omitted', reason: 'model', message: '' });
      continue;
    }
    const renamed = lessons.rename.get(wire);
    if (renamed?.sentAs) {
      adjustments.push({ ...renamed, value });
      body[renamed.sentAs] = value;
      continue;
    }
    const omitted = lessons.omit.get(wire);
    if (omitted) {
      adjustments.push({ ...omitted, value });
      continue;
    }
    body[wire] = value;
  }
  if (fixed.length > 0) {
    const settings = fixed.map((entry) => `${FILE_NAMES[entry.setting ?? ''] ?? entry.parameter} ${String(entry.value)}`);
    const fixedValues = fixed.map((entry) => `${entry.parameter} 1`).join(' and ');
    const message = `${model} samples at its fixed ${fixedValues}; ${settings.join(' and ')} from the file ${fixed.length === 1 ? 'was' : 'were'} not sent`;
    adjustments.unshift(...fixed.map((entry) => ({ ...entry, message })));
  }
  return { body, adjustments };
}

/** What a set of adjustments leaves of the file's settings: what was actually sent (renames change no value). */
export function sentSampling(sampling: Sampling, adjustments: readonly Adjustment[]): Sampling {
  const sent: Sampling = { ...sampling };
  for (const adjustment of adjustments) if (adjustment.action === 'omitted' && adjustment.setting) delete sent[adjustment.setting];
  return sent;
}

/** A 400's `param`, `code` and message, as OpenAI sends them in `{error: {...}}`. */
export interface RejectedRequest {
  status: number;
  param?: string | null;
  code?: string | null;
  message: string;
}

/**
 * The request field a 400 refuses, and what to do: `rename` when the server names the field to use
 * instead (OpenAI: "Use 'max_completion_tokens' instead."), else `omit`. Undefined when the error names
 * no field that was sent: then it is an ordinary rejected request.
 */
export function unsupportedParameter(
  error: RejectedRequest,
  sent: WireParameters,
): { parameter: string; action: 'omit' | 'rename'; sentAs?: string } | undefined {
  if (error.status !== 400 && error.status !== 422) return undefined;
  const message = error.message;
  const named =
    (typeof error.param === 'string' && error.param in sent ? error.param : undefined) ??
    // OpenAI: "Unsupported parameter: 'max_tokens' …", "Unsupported value: 'temperature' does not support 0.7 …";
    // Azure: "Unrecognized request argument supplied: max_completion_tokens"; others: "unknown field `top_p`".
    /(?:unsupported (?:parameter|value)|unrecognized request argument supplied|unknown (?:field|parameter)|not supported)[:\s]*['"`]?([a-z_]+)['"`]?/i.exec(
      message,
    )?.[1] ??
    /['"`]([a-z_]+)['"`] is not supported/i.exec(message)?.[1];
  const looksUnsupported =
    /unsupported_(parameter|value)|unknown_parameter/.test(error.code ?? '') ||
    /unsupported|unrecognized|not supported|unknown (field|parameter)|extra (fields|inputs) not permitted|only the default/i.test(message);
  if (!named || !(named in sent) || !looksUnsupported) return undefined;
  const limits = ['max_tokens', 'max_completion_tokens'];
  if (limits.includes(named)) {
    const instead = /use ['"`]?([a-z_]+)['"`]? instead/i.exec(message)?.[1];
    const other = limits.find((name) => name !== named) as string;
    // The limit matters (a chain could run on for ever): rename it rather than drop it, unless both names failed.
    if (!(other in sent)) return { parameter: named, action: 'rename', sentAs: instead && limits.includes(instead) ? instead : other };
  }
  return { parameter: named, action: 'omit' };
}

/** The one-line report of a lesson learned from a 400. */
export function lessonMessage(
  model: string,
  endpoint: string,
  lesson: { parameter: string; action: 'omit' | 'rename'; sentAs?: string },
  value: unknown,
  detail: string,
): string {
  const shown = lesson.parameter === 'stop' || Array.isArray(value) ? JSON.stringify(value) : String(value);
  return lesson.action === 'rename'
    ? `${model} at ${endpoint} does not take ${lesson.parameter} (400: ${detail}); the limit was sent as ${lesson.sentAs ?? ''} for the rest of the run`
    : `${model} at ${endpoint} refused ${lesson.parameter} ${shown} (400: ${detail}); it was not sent for the rest of the run`;
}
