import type { Backend, Completion, CompletionOptions, CompletionRequest } from '../src/core/backend';

/** An in-process backend that answers from a function of (prompt, sample), with optional pacing. */
export class ScriptedBackend implements Backend {
  readonly id = 'scripted';
  readonly model = 'script-1';
  readonly input = 'text' as const;
  readonly maxConcurrency = 2;
  requests: CompletionRequest[] = [];

  constructor(
    private readonly answer: (text: string, sample: number) => string | Error,
    private readonly delayMs = 0,
    readonly endpoint = 'in-process',
  ) {}

  async *complete(request: CompletionRequest, options: CompletionOptions): AsyncIterable<Completion> {
    this.requests.push(request);
    for (let i = 0; i < request.n; i++) {
      if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      if (options.signal.aborted) return;
      const sample = request.firstSample + i;
      const answer = this.answer(request.text ?? '', sample);
      if (answer instanceof Error) throw answer;
      yield { sample, text: answer, finishReason: 'stop', usage: { promptTokens: 10, completionTokens: 5 }, latencyMs: this.delayMs };
    }
  }
}
