// One chain of a reasoning shape (tree of thought, …): the shape's requests go to the backend through here, each
// answered request is appended to the run file as a node record at once (a resumed run replays it), cached like any
// completion, and charged; the chain's record carries the whole trace and the usage of every request.
import { BackendError, type Backend, type CompletionRequest, type Usage } from '../backend';
import { sentSampling } from '../backends/parameters';
import type { ChatMessage, RenderedPrompt } from '../prompt/render';
import type { Case, PromptDocument, ShapeKind, Variant } from '../prompt/types';
import { apiSeed, chainSeed } from '../random';
import { runnerFor } from '../shapes';
import { resolveShapeOptions } from '../shapes/defaults';
import { ShapeFailure, type ShapeContext, type ShapeOutput, type ShapeRequest } from '../shapes/types';
import { completionKey, type CompletionCache } from './cache';
import { normalizeAnswer } from './normalize';
import { extractChain } from './reasoning';
import type { CompletionRecord, NodeRecord } from './store';

export interface ShapeChainOptions {
  backend: Backend;
  /** The prompt file's sampling, without the prompt. */
  parameters: Omit<CompletionRequest, 'messages' | 'text' | 'n' | 'firstSample'>;
  document: PromptDocument;
  variant: Variant;
  testCase: Case;
  rendered: RenderedPrompt;
  sample: number;
  /** The run's seed: each request of the chain gets a seed of its own from it. */
  runSeed?: number;
  signal: AbortSignal;
  cache?: CompletionCache;
  /** This chain's requests answered in an earlier session, by request id. */
  replay: ReadonlyMap<string, ShapeOutput[]>;
  onNode: (record: NodeRecord) => void;
  charge?: (usage: Usage) => void;
  /** The scorer evaluator of tree of thought: a partial state's rating, 0…1. */
  rateState?: (state: string) => Promise<number>;
}

/** Whether a variant is a reasoning shape, run by runShapeChain rather than as one request per chain. */
export function isShape(variant: Pick<Variant, 'shape'>): boolean {
  return variant.shape !== undefined;
}

/** The key of a chain's requests in the replay map of a resumed run. */
export function nodeKey(variant: string, caseId: string, sample: number): string {
  return `${variant}\u0000${caseId}\u0000${sample}`;
}

/**
 * Runs one chain of a shape. Never throws for what a chain can fail of (a failed request the shape cannot do
 * without): that is a failed record with the trace so far. A fatal backend error (a rejected key) is thrown on.
 */
export async function runShapeChain(options: ShapeChainOptions): Promise<CompletionRecord> {
  const started = Date.now();
  const { backend, variant, testCase, document } = options;
  const usage: Usage = { promptTokens: 0, completionTokens: 0 };
  let cachedTokens = 0;
  const context: ShapeContext = {
    variant,
    options: resolveShapeOptions(variant.kind as ShapeKind, variant.shape ?? {}, document),
    rendered: options.rendered,
    input: backend.input,
    question: lastUserTurn(options.rendered.messages),
    stop: document.sampling.stop ?? [],
    generate: async (request) => {
      const outputs = await generate(options, request);
      for (const output of outputs) {
        usage.promptTokens += output.promptTokens;
        usage.completionTokens += output.completionTokens;
      }
      return outputs;
    },
    answerOf: (text) => {
      const { extracted } = extractChain({ text, finishReason: 'stop' }, document.extract);
      return extracted.valid ? normalizeAnswer(extracted.value, { caseSensitive: document.scorer.caseSensitive === true }) : undefined;
    },
    isFinal: (text) => {
      // An explicit answer phrase, or what the prompt's own extractor reads when it reads only deliberate answers.
      const spec = ['regex', 'json', 'choice'].includes(document.extract.type) ? document.extract : { type: 'answer' as const };
      return extractChain({ text, finishReason: 'stop' }, spec).extracted.valid;
    },
    ...(options.rateState ? { rateState: options.rateState } : {}),
    signal: options.signal,
  };
  const base = { type: 'completion' as const, variant: variant.name, caseId: testCase.id, sample: options.sample };
  try {
    const result = await runnerFor(variant.kind as ShapeKind)(context);
    return {
      ...base,
      text: result.text,
      finishReason: 'stop',
      usage: { ...usage, ...(cachedTokens > 0 ? { cachedTokens } : {}) },
      latencyMs: Date.now() - started,
      trace: result.trace,
    };
  } catch (error) {
    if (error instanceof BackendError && error.fatal) throw error;
    const message = error instanceof Error ? error.message : String(error);
    return {
      ...base,
      text: '',
      finishReason: options.signal.aborted ? 'cancelled' : 'error',
      usage,
      latencyMs: Date.now() - started,
      error: message,
      ...(error instanceof ShapeFailure ? { trace: error.trace } : {}),
    };
  }

  /** One request: replayed, from the cache, or sent; recorded as a node as soon as it is answered. */
  async function generate(chain: ShapeChainOptions, request: ShapeRequest): Promise<ShapeOutput[]> {
    const replayed = chain.replay.get(request.id);
    if (replayed && replayed.length === request.n && replayed.every((output) => output.error === undefined)) return replayed;
    const prompt = promptOf(chain.backend, request);
    const parameters = {
      ...chain.parameters,
      ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
      ...(request.stop !== undefined ? { stop: request.stop } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    };
    const seeds =
      chain.runSeed === undefined
        ? undefined
        : Array.from({ length: request.n }, (_, i) =>
            chainSeed(chain.runSeed as number, variant.name, `${testCase.id}\u0000${request.id}\u0000${i}`, chain.sample),
          );
    // Cached by what is sent, as plain chains are: a setting the model refuses is not part of the key.
    const { seed: _, ...sent } = sentSampling(parameters, chain.backend.adjustments?.(parameters) ?? []);
    const keys = Array.from({ length: request.n }, (_, i) =>
      completionKey(chain.backend, { ...sent, ...(sent.temperature === 0 || !seeds ? {} : { seed: seeds[i] }), ...prompt }, 0),
    );
    const hits = chain.cache ? keys.map((key) => chain.cache?.get(key)) : [];
    let outputs: ShapeOutput[];
    if (hits.length === request.n && hits.every((hit) => hit !== undefined)) {
      outputs = hits.map((hit) => ({
        text: hit?.text ?? '',
        finishReason: hit?.finishReason ?? 'stop',
        promptTokens: hit?.usage.promptTokens ?? 0,
        completionTokens: hit?.usage.completionTokens ?? 0,
      }));
    } else {
      outputs = await send(chain, request, parameters, prompt, seeds);
      for (const [i, output] of outputs.entries()) {
        if (output.error !== undefined || output.finishReason === 'cancelled') continue;
        chain.cache?.put({
          key: keys[i] as string,
          text: output.text,
          finishReason: output.finishReason,
          usage: { promptTokens: output.promptTokens, completionTokens: output.completionTokens },
        });
      }
    }
    if (!chain.signal.aborted)
      chain.onNode({ type: 'node', variant: variant.name, caseId: testCase.id, sample: chain.sample, request: request.id, outputs });
    return outputs;
  }

  async function send(
    chain: ShapeChainOptions,
    request: ShapeRequest,
    parameters: ShapeChainOptions['parameters'],
    prompt: Pick<CompletionRequest, 'messages' | 'text'>,
    seeds: number[] | undefined,
  ): Promise<ShapeOutput[]> {
    const outputs: (ShapeOutput | undefined)[] = Array.from({ length: request.n }, () => undefined);
    try {
      for await (const completion of chain.backend.complete(
        {
          ...parameters,
          ...prompt,
          n: request.n,
          firstSample: 0,
          ...(seeds ? { seed: apiSeed(seeds[0] as number), seeds } : {}),
        },
        { signal: chain.signal },
      )) {
        chain.charge?.(completion.usage);
        cachedTokens += completion.usage.cachedTokens ?? 0;
        if (completion.sample < 0 || completion.sample >= request.n) continue;
        outputs[completion.sample] = {
          text: completion.text,
          finishReason: completion.finishReason,
          promptTokens: completion.usage.promptTokens,
          completionTokens: completion.usage.completionTokens,
          ...(completion.error !== undefined ? { error: completion.error } : {}),
        };
      }
    } catch (error) {
      if (error instanceof BackendError && error.fatal) throw error;
      const message = error instanceof Error ? error.message : String(error);
      return outputs.map((output) => output ?? failed(message));
    }
    return outputs.map((output, i) => output ?? failed(`the backend returned no completion for sample ${i}`));
  }
}

function failed(error: string): ShapeOutput {
  return { text: '', finishReason: 'error', promptTokens: 0, completionTokens: 0, error };
}

/** The request in the form the backend takes: a shape gives chat turns, text, or both. */
function promptOf(backend: Backend, request: ShapeRequest): Pick<CompletionRequest, 'messages' | 'text'> {
  if (backend.input === 'chat') return { messages: request.messages ?? [{ role: 'user', content: request.text ?? '' }] };
  return { text: request.text ?? (request.messages ?? []).map((message) => message.content).join('\n\n') };
}

function lastUserTurn(messages: readonly ChatMessage[]): string {
  return [...messages].reverse().find((message) => message.role === 'user')?.content ?? messages.at(-1)?.content ?? '';
}
