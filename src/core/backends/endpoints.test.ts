import * as assert from 'node:assert/strict';
import { baseUrlListProblem, baseUrlProblem } from './endpoints';

describe('baseUrlProblem', () => {
  it('accepts http(s) URLs with a host', () => {
    for (const url of [
      'http://127.0.0.1:8000/v1',
      'https://gateway.example.com/openai/v1',
      ' http://localhost:1234/v1 ',
      'http://user:pw@host/v1',
    ])
      assert.equal(baseUrlProblem(url), undefined, url);
  });

  it('says what is wrong with anything else', () => {
    assert.match(baseUrlProblem(' ') ?? '', /Write the server's URL/);
    assert.match(baseUrlProblem('127.0.0.1:8000/v1') ?? '', /Start it with http:\/\/ or https:\/\//);
    assert.match(baseUrlProblem('localhost:8000') ?? '', /Start it with http:\/\/ or https:\/\//);
    assert.match(baseUrlProblem('ftp://host/v1') ?? '', /not ftp:\/\//);
    assert.match(baseUrlProblem('file:///tmp/v1') ?? '', /not file:\/\//);
    assert.match(baseUrlProblem('http://') ?? '', /Not a URL/);
    assert.match(baseUrlProblem('http://exa mple.com') ?? '', /Not a URL/);
  });
});

describe('baseUrlListProblem', () => {
  it('accepts one URL or several replicas separated by commas, and names the one at fault', () => {
    assert.equal(baseUrlListProblem('http://127.0.0.1:8000/v1'), undefined);
    assert.equal(baseUrlListProblem('http://gpu1:8000/v1, http://gpu2:8000/v1,'), undefined);
    assert.match(baseUrlListProblem('http://gpu1:8000/v1, gpu2:8000/v1') ?? '', /^URL 2 of 2: Start it with http/);
    assert.match(baseUrlListProblem(' , ') ?? '', /Write the server's URL/);
    assert.match(baseUrlListProblem('gpu1:8000') ?? '', /Start it with http/);
  });
});
