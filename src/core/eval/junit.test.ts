import * as assert from 'node:assert/strict';
import { junitReport } from './junit';
import type { CellResult, ChainResult, RunResult } from './results';

/** Characters XML 1.0's Char production allows (tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, U+10000–U+10FFFF). */
const XML_CHAR = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

/** A small well-formedness check: allowed characters, balanced tags, quoted attributes, known entities. */
function assertWellFormed(xml: string): void {
  assert.ok(XML_CHAR.test(xml), `a character XML forbids at ${xml.search(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u)}`);
  const body = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const stack: string[] = [];
  const entity = /&(?:lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;
  const checkText = (text: string): void => {
    assert.ok(!text.includes('<'), `'<' in text: ${text}`);
    for (let at = text.indexOf('&'); at >= 0; at = text.indexOf('&', at + 1)) {
      entity.lastIndex = at;
      assert.ok(entity.test(text), `a bare '&' in: ${text}`);
    }
  };
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/y;
  let at = 0;
  while (at < body.length) {
    const open = body.indexOf('<', at);
    checkText(body.slice(at, open < 0 ? body.length : open));
    if (open < 0) break;
    tag.lastIndex = open;
    const match = tag.exec(body);
    assert.ok(match, `a malformed tag at: ${body.slice(open, open + 60)}`);
    const [whole, closing, name = '', attributes = '', selfClosing] = match;
    for (const value of attributes.match(/"[^"]*"/g) ?? []) checkText(value.slice(1, -1));
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes another element`);
    else if (!selfClosing) stack.push(name);
    at = open + whole.length;
  }
  assert.deepEqual(stack, [], 'every element is closed');
}

function chain(text: string, pass: boolean): ChainResult {
  return {
    sample: 0,
    text,
    score: pass ? 1 : 0,
    pass,
    reason: '',
    finishReason: 'stop',
    promptTokens: 1,
    completionTokens: 1,
    latencyMs: 10,
  };
}

function cell(caseName: string, text: string, pass: boolean, expected: unknown): CellResult {
  return {
    variant: 'v\u0001"1"',
    caseId: caseName,
    caseName,
    input: {},
    expected,
    location: { file: 'p.prompt', line: 0 },
    chains: [chain(text, pass)],
    majority: text,
    majorityPass: pass,
    majorityScore: pass ? 1 : 0,
    agreement: 1,
    entropy: 0,
    distinct: [],
    clusters: [{ answer: text, samples: [0], count: 1, pass, majority: true }],
    majAtK: [],
    invalid: 0,
    errors: 0,
    missing: 0,
  };
}

describe('junitReport', () => {
  it('writes well-formed XML whatever the model wrote: forbidden characters dropped, the rest escaped', () => {
    const nasty = 'a\u0000b\u0008c\u000Bd\u001Fe\uFFFEf\uFFFFg\uD800h\uDC00i <x> & "q" \'s\' \uD83D\uDE00 tab\tnl\ncr\r';
    const result = {
      promptName: `name ${nasty}`,
      promptFile: 'p.prompt',
      variants: [{ name: 'v\u0001"1"' }],
      cells: [cell(`case ${nasty}`, `chain ${nasty}`, false, `expected ${nasty}`), cell('passes \uFFFF', 'ok', true, 'ok')],
    } as unknown as RunResult;
    const xml = junitReport([result]);
    assertWellFormed(xml);
    assert.match(xml, /<testsuites name="chainscope" tests="2" failures="1">/);
    // What is allowed survives: escaped markup, the emoji (a surrogate pair), tab and newlines.
    assert.ok(xml.includes('chain abcdefghi &lt;x&gt; &amp; &quot;q&quot; &apos;s&apos; \uD83D\uDE00 tab\tnl\ncr\r</failure>'), xml);
    assert.ok(xml.includes('name="passes "'));
  });

  it('the checker itself rejects what XML forbids', () => {
    assert.throws(() => assertWellFormed('<a>\uFFFE</a>'));
    assert.throws(() => assertWellFormed('<a>\uD800</a>'));
    assert.throws(() => assertWellFormed('<a>x & y</a>'));
    assert.throws(() => assertWellFormed('<a><b></a>'));
    assertWellFormed('<?xml version="1.0"?>\n<a x="1"><b/>&amp;\uD83D\uDE00</a>');
  });
});
