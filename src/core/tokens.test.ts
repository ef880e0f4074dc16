import * as assert from 'node:assert/strict';
import { countChatTokens, countTokens, encodingForModel, getEncoding } from './tokens';

describe('tokens', () => {
  it('picks the encoding from the model name', () => {
    assert.equal(encodingForModel('openai:gpt-4o-mini'), 'o200k_base');
    assert.equal(encodingForModel('gpt-4.1'), 'o200k_base');
    assert.equal(encodingForModel('azure/gpt-4'), 'cl100k_base');
    assert.equal(encodingForModel('gpt-3.5-turbo'), 'cl100k_base');
    assert.equal(encodingForModel('text-davinci-003'), 'p50k_base');
    assert.equal(encodingForModel('local:arith-tiny'), 'o200k_base');
    assert.equal(encodingForModel(undefined), 'o200k_base');
  });

  it('counts tokens as OpenAI tokenizers do', () => {
    // Reference counts from OpenAI's tokenizer documentation examples.
    assert.equal(countTokens('tiktoken is great!', 'cl100k_base'), 6);
    assert.equal(countTokens('hello world', 'o200k_base'), 2);
    assert.equal(countTokens('', 'o200k_base'), 0);
    const encoding = getEncoding('o200k_base');
    const text = '请提取下面这句话中的人物、时间、组织机构 3 类命名实体。';
    assert.equal(encoding.decode(encoding.encode(text)), text);
  });

  it('treats special-token text in prompts as plain text', () => {
    assert.ok(countTokens('<|endoftext|>', 'cl100k_base') > 1);
  });

  it('adds framing tokens per chat message', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello world' },
    ];
    const content = countTokens('Be brief.') + countTokens('hello world') + countTokens('system') + countTokens('user');
    assert.equal(countChatTokens(messages), content + 3 * messages.length + 3);
  });
});
