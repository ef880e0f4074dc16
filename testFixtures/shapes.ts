// A scripted ShapeContext for the shape runners' tests: `generate` answers by request id and records every request.
import type { RenderedPrompt } from '../src/core/prompt/render';
import type { ShapeKind, ShapeOptions, Variant } from '../src/core/prompt/types';
import { resolveShapeOptions } from '../src/core/shapes/defaults';
import type { ShapeContext, ShapeOutput, ShapeRequest } from '../src/core/shapes/types';

/** A scripted answer: texts (one sample each), full outputs, or a failure of the whole request. */
export type Scripted = (string | Partial<ShapeOutput>)[] | { fail: string };

export interface ScriptedContext extends ShapeContext {
  requests: ShapeRequest[];
}

const RANGE = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

export function scriptedContext(
  kind: ShapeKind,
  script: Record<string, Scripted> | ((request: ShapeRequest) => Scripted),
  setup: { input?: 'chat' | 'text'; options?: Partial<ShapeOptions>; rateState?: (state: string) => Promise<number> } = {},
): ScriptedContext {
  const question = 'What is 12 + 5 - 3?';
  const variant: Variant = {
    name: kind,
    kind,
    shape: { base: 'zero-shot-cot', ...setup.options },
    trigger: "Let's think step by step.",
    range: RANGE,
  };
  const rendered: RenderedPrompt = {
    variant,
    messages: [
      { role: 'system', content: 'Solve the arithmetic.' },
      { role: 'user', content: `${question}\n\nLet's think step by step.` },
    ],
    text: `Q: ${question}\nA: Let's think step by step.`,
    examples: [],
  };
  const requests: ShapeRequest[] = [];
  return {
    variant,
    options: resolveShapeOptions(kind, { base: 'zero-shot-cot', ...setup.options }, { examples: [] }),
    rendered,
    input: setup.input ?? 'chat',
    question,
    stop: ['\n\nQ:'],
    requests,
    generate(request) {
      requests.push(request);
      const answer = typeof script === 'function' ? script(request) : script[request.id];
      if (answer === undefined) return Promise.reject(new Error(`unscripted request ${request.id}`));
      const samples: (string | Partial<ShapeOutput>)[] =
        'fail' in answer ? Array.from({ length: request.n }, (): Partial<ShapeOutput> => ({ error: answer.fail })) : answer;
      const outputs = samples.map((sample): ShapeOutput => {
        const output = typeof sample === 'string' ? { text: sample } : sample;
        return {
          text: output.error ? '' : (output.text ?? ''),
          finishReason: output.finishReason ?? (output.error ? 'error' : 'stop'),
          promptTokens: output.promptTokens ?? 10,
          completionTokens: output.completionTokens ?? 2,
          ...(output.error ? { error: output.error } : {}),
        };
      });
      return Promise.resolve(outputs);
    },
    answerOf: (text) => /The answer is (\d+)/i.exec(text)?.[1],
    isFinal: (text) => /The answer is \d+/i.test(text),
    ...(setup.rateState ? { rateState: setup.rateState } : {}),
    signal: new AbortController().signal,
  };
}
