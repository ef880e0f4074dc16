import * as assert from 'node:assert/strict';
import { redactSecrets, redactUrl } from './redact';

describe('redactUrl', () => {
  it('masks userinfo and secret query parameters, keeping the rest of the URL', () => {
    assert.equal(redactUrl('http://user:pw@host:8000/v1'), 'http://***@host:8000/v1');
    assert.equal(redactUrl('https://token@host/v1'), 'https://***@host/v1');
    assert.equal(redactUrl('https://u:p@ss@host/v1'), 'https://***@host/v1', 'an unescaped @ in the password');
    assert.equal(redactUrl('https://host/v1?api-key=abc&model=x'), 'https://host/v1?api-key=***&model=x');
    assert.equal(
      redactUrl('https://host/v1?api_key=a&key=b&access_token=c&sig=d&Signature=e&password=f&client_secret=g&code=h&sv=2024#frag'),
      'https://host/v1?api_key=***&key=***&access_token=***&sig=***&Signature=***&password=***&client_secret=***&code=***&sv=2024#frag',
    );
    assert.equal(redactUrl('https://host/v1?api%2Dkey=abc'), 'https://host/v1?api%2Dkey=***');
  });

  it('leaves URLs without secrets and strings that are no URL alone', () => {
    for (const text of ['http://127.0.0.1:11434/v1', 'https://host/v1?model=x&n=2', 'not a url', '', 'a@b', '?key', 'host:8000/v1'])
      assert.equal(redactUrl(text), text);
  });
});

describe('redactSecrets', () => {
  it('redacts every URL inside a message, keeping the punctuation around it', () => {
    assert.equal(
      redactSecrets('Request cannot be constructed from a URL that includes credentials: http://u:PW@127.0.0.1:1/v1/chat/completions'),
      'Request cannot be constructed from a URL that includes credentials: http://***@127.0.0.1:1/v1/chat/completions',
    );
    assert.equal(
      redactSecrets('cannot reach (https://h/v1?api-key=K), then http://a:b@c.'),
      'cannot reach (https://h/v1?api-key=***), then http://***@c.',
    );
    assert.equal(redactSecrets('no urls: key=value'), 'no urls: key=value');
  });
});
