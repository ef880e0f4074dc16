import * as assert from 'node:assert/strict';
import { ENDPOINTS } from './endpoints';
import {
  isReasoningModel,
  noLessons,
  PARAMETER_POLICIES,
  sentSampling,
  unsupportedParameter,
  wireParameters,
  type Adjustment,
} from './parameters';

const FILE = { temperature: 0.7, topP: 0.9, maxTokens: 256, seed: 5, stop: ['END'], n: 4 };

describe('parameter policy (what each OpenAI-wire provider is sent)', () => {
  it('has one entry for every OpenAI-wire endpoint', () => {
    assert.deepEqual(Object.keys(PARAMETER_POLICIES).sort(), Object.keys(ENDPOINTS).sort());
  });

  const expected: [string, string][] = [
    ['openai', 'max_completion_tokens'],
    ['azure', 'max_completion_tokens'],
    ['vllm', 'max_tokens'],
    ['ollama', 'max_tokens'],
    ['lmstudio', 'max_tokens'],
    ['llamacpp', 'max_tokens'],
    ['openai-compatible', 'max_tokens'],
  ];
  for (const [provider, limit] of expected) {
    it(`${provider}: gpt-4o-mini gets the file's settings unchanged, the limit as ${limit}`, () => {
      const { body, adjustments } = wireParameters(provider, 'gpt-4o-mini', 'chat', FILE);
      assert.deepEqual(body, { n: 4, temperature: 0.7, top_p: 0.9, [limit]: 256, stop: ['END'], seed: 5 });
      assert.deepEqual(adjustments, []);
    });
  }

  it('sends max_tokens to the legacy text completions endpoint, which has no other name', () => {
    assert.deepEqual(wireParameters('openai', 'davinci-002', 'text', { maxTokens: 16 }).body, { max_tokens: 16 });
  });

  it('knows OpenAI reasoning models by name, and not their chat or look-alike names', () => {
    for (const model of [
      'o1',
      'o1-mini',
      'o3',
      'o3-mini-2025-01-31',
      'o4-mini',
      'gpt-5',
      'gpt-5-mini',
      'gpt-5-nano',
      'gpt-5.1',
      'openai/gpt-5-mini',
    ])
      assert.equal(isReasoningModel(model), true, model);
    for (const model of ['gpt-4o-mini', 'gpt-4.1', 'gpt-5-chat-latest', 'o10', 'llama3', 'gpt-50'])
      assert.equal(isReasoningModel(model), false, model);
  });

  it('leaves out what a reasoning model refuses, on any provider, and says so in one line', () => {
    for (const provider of ['openai', 'azure', 'openai-compatible']) {
      const { body, adjustments } = wireParameters(provider, 'gpt-5-mini', 'chat', { ...FILE, reasoningEffort: 'low' });
      assert.deepEqual(body, { n: 4, max_completion_tokens: 256, stop: ['END'], seed: 5, reasoning_effort: 'low' });
      assert.deepEqual(
        adjustments.map((adjustment) => [adjustment.parameter, adjustment.setting, adjustment.value, adjustment.action, adjustment.reason]),
        [
          ['temperature', 'temperature', 0.7, 'omitted', 'model'],
          ['top_p', 'topP', 0.9, 'omitted', 'model'],
        ],
      );
      assert.equal(
        adjustments[0]?.message,
        'gpt-5-mini samples at its fixed temperature 1 and top_p 1; temperature 0.7 and top_p 0.9 from the file were not sent',
      );
      assert.equal(adjustments[1]?.message, adjustments[0]?.message);
    }
    const single = wireParameters('openai', 'gpt-5-mini', 'chat', { temperature: 0.7 }).adjustments;
    assert.deepEqual(
      single.map((adjustment) => adjustment.message),
      ['gpt-5-mini samples at its fixed temperature 1; temperature 0.7 from the file was not sent'],
    );
  });

  it('sends no temperature 1 to a reasoning model and reports nothing: it samples at 1 anyway', () => {
    assert.deepEqual(wireParameters('openai', 'o4-mini', 'chat', { temperature: 1, topP: 1 }), { body: {}, adjustments: [] });
  });

  it('applies lessons: a refused field is left out, a renamed one sent under its new name, each reported with the value', () => {
    const lessons = noLessons();
    const omitted: Adjustment = { parameter: 'seed', setting: 'seed', action: 'omitted', reason: 'rejected', message: 'no seed' };
    const renamed: Adjustment = {
      parameter: 'max_tokens',
      setting: 'maxTokens',
      action: 'renamed',
      sentAs: 'max_completion_tokens',
      reason: 'rejected',
      message: 'renamed',
    };
    lessons.omit.set('seed', omitted);
    lessons.rename.set('max_tokens', renamed);
    const { body, adjustments } = wireParameters('vllm', 'my-model', 'chat', { maxTokens: 64, seed: 3, temperature: 0.5 }, lessons);
    assert.deepEqual(body, { temperature: 0.5, max_completion_tokens: 64 });
    assert.deepEqual(adjustments, [
      { ...renamed, value: 64 },
      { ...omitted, value: 3 },
    ]);
    assert.deepEqual(sentSampling({ maxTokens: 64, seed: 3, temperature: 0.5 }, adjustments), { maxTokens: 64, temperature: 0.5 });
  });
});

describe('unsupportedParameter (reading a 400)', () => {
  const sent = { temperature: 0.7, max_tokens: 256, top_p: 0.9, seed: 1 };

  it("reads OpenAI's max_tokens refusal as a rename to the name it gives", () => {
    assert.deepEqual(
      unsupportedParameter(
        {
          status: 400,
          param: 'max_tokens',
          code: 'unsupported_parameter',
          message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        },
        sent,
      ),
      { parameter: 'max_tokens', action: 'rename', sentAs: 'max_completion_tokens' },
    );
  });

  it("reads OpenAI's unsupported temperature value as a field to leave out", () => {
    assert.deepEqual(
      unsupportedParameter(
        {
          status: 400,
          param: 'temperature',
          code: 'unsupported_value',
          message: "Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is supported.",
        },
        sent,
      ),
      { parameter: 'temperature', action: 'omit' },
    );
  });

  it('reads the field from the message when there is no param: OpenAI without it, Azure, others', () => {
    assert.deepEqual(
      unsupportedParameter({ status: 400, message: "Unsupported value: 'top_p' does not support 0.9 with this model." }, sent),
      { parameter: 'top_p', action: 'omit' },
    );
    assert.deepEqual(
      unsupportedParameter(
        { status: 400, message: 'Unrecognized request argument supplied: max_completion_tokens' },
        { max_completion_tokens: 10 },
      ),
      { parameter: 'max_completion_tokens', action: 'rename', sentAs: 'max_tokens' },
    );
    assert.deepEqual(unsupportedParameter({ status: 400, message: 'unknown field `seed`' }, sent), { parameter: 'seed', action: 'omit' });
  });

  it('is no lesson when the 400 names nothing that was sent, or is another error', () => {
    assert.equal(unsupportedParameter({ status: 400, message: "Unsupported parameter: 'logprobs'" }, sent), undefined);
    assert.equal(unsupportedParameter({ status: 400, message: "This model's maximum context length is 128 tokens." }, sent), undefined);
    assert.equal(unsupportedParameter({ status: 400, param: 'temperature', message: 'temperature must be at most 2' }, sent), undefined);
    assert.equal(unsupportedParameter({ status: 500, param: 'temperature', message: 'Unsupported value' }, sent), undefined);
  });
});
