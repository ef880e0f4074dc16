import * as assert from 'node:assert/strict';
import { formatModelReference, parseModelReference, type ModelReference } from './reference';

describe('parseModelReference', () => {
  const cases: [string | undefined, ModelReference][] = [
    ['openai:gpt-4o-mini', { provider: 'openai', model: 'gpt-4o-mini', isLocal: false }],
    ['googleai/gemini-1.5-pro', { provider: 'googleai', model: 'gemini-1.5-pro', isLocal: false }],
    ['OpenAI:GPT-4o', { provider: 'openai', model: 'GPT-4o', isLocal: false }],
    ['gpt-4o-mini', { provider: undefined, model: 'gpt-4o-mini', isLocal: false }],
    ['llama3.2:3b', { provider: undefined, model: 'llama3.2:3b', isLocal: false }],
    ['ollama:llama3.2:3b', { provider: 'ollama', model: 'llama3.2:3b', isLocal: false }],
    ['vllm:Qwen/Qwen2.5-1.5B-Instruct', { provider: 'vllm', model: 'Qwen/Qwen2.5-1.5B-Instruct', isLocal: false }],
    ['local:arith-tiny', { provider: 'local', model: 'arith-tiny', isLocal: true }],
    ['local:models/my-export/onnx', { provider: 'local', model: 'models/my-export/onnx', isLocal: true }],
    ['local:/opt/models/qwen', { provider: 'local', model: '/opt/models/qwen', isLocal: true }],
    ['local/arith-tiny', { provider: 'local', model: 'arith-tiny', isLocal: true }],
    ['  local : arith-tiny \n', { provider: undefined, model: 'local : arith-tiny', isLocal: false }],
    ['  openai: gpt-4o  ', { provider: 'openai', model: 'gpt-4o', isLocal: false }],
    ['openai:', { provider: 'openai', model: '', isLocal: false }],
    ['', { provider: undefined, model: '', isLocal: false }],
    ['   ', { provider: undefined, model: '', isLocal: false }],
    [undefined, { provider: undefined, model: '', isLocal: false }],
    ['http://127.0.0.1:8000/v1', { provider: undefined, model: 'http://127.0.0.1:8000/v1', isLocal: false }],
    ['https://example.com/model', { provider: undefined, model: 'https://example.com/model', isLocal: false }],
  ];
  for (const [reference, expected] of cases) {
    it(`reads ${JSON.stringify(reference)}`, () => assert.deepEqual(parseModelReference(reference), expected));
  }

  it('formats a reference back to provider:model, which parses to the same', () => {
    assert.equal(formatModelReference(parseModelReference('local/models/x')), 'local:models/x');
    assert.equal(formatModelReference(parseModelReference('gpt-4o')), 'gpt-4o');
    for (const [reference] of cases) {
      const parsed = parseModelReference(reference);
      if (parsed.provider !== undefined && parsed.model) assert.deepEqual(parseModelReference(formatModelReference(parsed)), parsed);
    }
  });
});
