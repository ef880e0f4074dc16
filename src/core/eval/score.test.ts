import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ScorerSpec } from '../prompt/types';
import type { ExtractedAnswer } from './extract';
import { loadCustomScorer as loadScorer, parseFields, scoreAnswer } from './score';

const answer = (value: string): ExtractedAnswer => ({ valid: true, value, span: [0, value.length] });

describe('scoreAnswer', () => {
  const cases: [string, ScorerSpec, string, unknown, number, boolean][] = [
    ['exact ignores case, spacing and a final period', { type: 'exact' }, ' The Cat. ', 'the cat', 1, true],
    ['exact compares numbers by value', { type: 'exact' }, '14.0', 14, 1, true],
    ['exact fails on a different answer', { type: 'exact' }, 'dog', 'cat', 0, false],
    ['exact can be case sensitive', { type: 'exact', caseSensitive: true }, 'Cat', 'cat', 0, false],
    ['contains', { type: 'contains' }, 'It is Paris, France', 'paris', 1, true],
    ['regex needs no expected value', { type: 'regex', pattern: '^\\d{4}$' }, '2024', undefined, 1, true],
    ['numeric with tolerance', { type: 'numeric', tolerance: 0.01 }, '3.141', '3.14', 1, true],
    ['numeric outside tolerance', { type: 'numeric' }, '3.141', 3.14, 0, false],
    ['numeric with a non-number answer', { type: 'numeric' }, 'many', 3, 0, false],
    ['json ignores key order', { type: 'json' }, '{"b": [1, 2], "a": "x"}', { a: 'x', b: [1, 2] }, 1, true],
    ['json from a string expectation', { type: 'json' }, '[1,2]', '[1, 2]', 1, true],
    ['json mismatch', { type: 'json' }, '{"a": 1}', { a: 2 }, 0, false],
    ['exact needs an expected value', { type: 'exact' }, 'cat', undefined, 0, false],
    ['contains ignores width and case', { type: 'contains' }, 'ＩＴ ＩＳ Paris', 'it is paris.', 1, true],
    ['contains compares text, not numbers', { type: 'contains' }, 'about 1,000 apples', '1,000', 1, true],
    ['contains needs an expected value', { type: 'contains' }, 'anything', undefined, 0, false],
    ['contains can be case sensitive', { type: 'contains', caseSensitive: true }, 'PARIS', 'Paris', 0, false],
    ['regex without a pattern fails', { type: 'regex' }, '2024', undefined, 0, false],
    ['regex with an invalid pattern fails', { type: 'regex', pattern: '(' }, '2024', undefined, 0, false],
    ['numeric reads units and separators', { type: 'numeric' }, '1,234 km', '1234', 1, true],
    ['numeric with a non-number expected', { type: 'numeric' }, '3', 'three', 0, false],
    ['json string field meets a plain expected string', { type: 'json' }, 'Paris', 'Paris', 1, true],
    [
      'json nested key order',
      { type: 'json' },
      '{"a": {"y": 1, "x": [2, {"q": null}]}}',
      '{"a": {"x": [2, {"q": null}], "y": 1}}',
      1,
      true,
    ],
    ['json arrays keep their order', { type: 'json' }, '[1, 2]', [2, 1], 0, false],
    ['token F1, SQuAD-style', { type: 'token-f1' }, 'the big red apple', 'a red apple', 0.8, false],
    ['token F1 per character for CJK', { type: 'token-f1' }, '北京大学', '北京', 2 / 3, false],
    ['token F1 of two empty answers', { type: 'token-f1' }, 'the', 'a', 1, true],
    ['exact folds full-width forms (NFKC)', { type: 'exact' }, 'ＡＢＣ－１２', 'abc-12', 1, true],
    ['exact folds full-width punctuation', { type: 'exact' }, '（是）', '(是)', 1, true],
    ['exact: a Chinese numeral is its value', { type: 'exact' }, '十二', 12, 1, true],
    ['exact: full-width digits', { type: 'exact' }, '４２', '42', 1, true],
    ['numeric reads Chinese numerals', { type: 'numeric' }, '一万二千', 12000, 1, true],
    ['numeric: a Chinese expected value', { type: 'numeric' }, '12', '十二', 1, true],
    ['numeric: 零下三度', { type: 'numeric' }, '零下三度', -3, 1, true],
    ['numeric: a fraction meets the fraction', { type: 'numeric' }, '1/3', '1/3', 1, true],
    ['numeric: a fraction meets the decimal it rounds to', { type: 'numeric' }, '1/3', 0.333, 1, true],
    ['numeric: 2/3 rounds to 0.667', { type: 'numeric' }, '2/3', '0.667', 1, true],
    ['numeric: a fraction not rounding to the decimal', { type: 'numeric' }, '1/3', '0.334', 0, false],
    ['numeric: a written decimal gets no rounding', { type: 'numeric' }, '0.3333', '0.333', 0, false],
  ];
  for (const [title, spec, got, expected, score, pass] of cases) {
    it(title, () => {
      const scored = scoreAnswer(answer(got), expected, spec, 1);
      assert.equal(Number(scored.score.toFixed(6)), Number(score.toFixed(6)), scored.reason);
      assert.equal(scored.pass, pass);
      assert.ok(scored.reason.length > 0);
    });
  }

  it('field F1 over key:value pairs (the NER prompt), full-width punctuation and spacing ignored', () => {
    const expected = '人物:张三,时间:2020年,组织机构:北京大学';
    const perfect = scoreAnswer(answer('人物：张三，时间：2020 年，组织机构：北京大学'), expected, { type: 'field-f1' }, 0.99);
    assert.equal(perfect.score, 1);
    assert.equal(perfect.pass, true);
    // Two of three fields: precision 1, recall 2/3, F1 0.8.
    const partial = scoreAnswer(answer('人物:张三,时间:2020年'), expected, { type: 'field-f1' }, 0.99);
    assert.equal(Number(partial.score.toFixed(6)), 0.8);
    assert.equal(partial.pass, false);
    assert.match(partial.reason, /missing 组织机构:北京大学/);
    const wrong = scoreAnswer(answer('人物:李四,时间:2020年,组织机构:北京大学,地点:北京'), expected, { type: 'field-f1' }, 0.5);
    // 2 right of 4 predicted, 2 of 3 gold: P 0.5, R 2/3 → F1 4/7.
    assert.equal(Number(wrong.score.toFixed(6)), Number((4 / 7).toFixed(6)));
    assert.equal(wrong.pass, true);
    assert.match(wrong.reason, /extra 人物:李四, 地点:北京/);
  });

  // The layouts, as Chinese models write them, and English ones.
  const layouts: [string, string][] = [
    ['one per line', '人物:张三\n时间:2020年\n组织机构:北京大学'],
    ['after a preamble', '实体如下：人物:张三,时间:2020年,组织机构:北京大学'],
    ['a list with full-width colons', '- 人物：张三\n- 时间：2020年\n- 组织机构：北京大学'],
    [
      'numbered, with a preamble line and a closing sentence',
      '实体如下：\n1. 人物：张三\n2. 时间：2020年\n3. 组织机构：北京大学\n以上就是全部实体。',
    ],
    ['numbered with 、', '1、人物：张三\n2、时间：2020年\n3、组织机构：北京大学'],
    ['（1） markers, bold keys and spaced values', '（1）**人物**：张三\n（2）时间：2020 年\n（3）组织机构：北京大学。'],
    ['bullets •', '• 人物: 张三\n• 时间: 2020年\n• 组织机构: 北京大学'],
    ['a code fence and ；', '```\n人物:张三；时间:2020年；组织机构:北京大学\n```'],
    ['a sentence after 。', '人物：张三，时间：2020年，组织机构：北京大学。这是我的答案'],
    ['an English answer phrase first', 'Answer: 人物:张三,时间:2020年,组织机构:北京大学'],
  ];
  for (const [layout, text] of layouts) {
    it(`field F1 reads fields ${layout}`, () => {
      const scored = scoreAnswer(answer(text), '人物:张三,时间:2020年,组织机构:北京大学', { type: 'field-f1' }, 0.99);
      assert.equal(scored.score, 1, scored.reason);
      assert.equal(scored.pass, true);
    });
  }

  it('field F1 reads English layouts too', () => {
    const expected = 'person: Ada, year: 1843, org: Royal Society';
    for (const text of [
      'Person: Ada\nYear: 1843\nOrg: Royal Society',
      'The entities are: person: Ada; year: 1843; org: Royal Society.',
      '* **person**: Ada\n* year: 1843\n* org: Royal Society',
    ]) {
      const scored = scoreAnswer(answer(text), expected, { type: 'field-f1' }, 1);
      assert.equal(scored.score, 1, `${text}: ${scored.reason}`);
    }
  });

  it('field F1 keeps a colon inside a value, and ignores a preamble line', () => {
    assert.deepEqual(parseFields('时间:10:30,地点:北京'), [
      ['时间', '10:30'],
      ['地点', '北京'],
    ]);
    assert.deepEqual(parseFields('以下是结果\n人物:张三\n这些就是全部'), [['人物', '张三']]);
    assert.deepEqual(parseFields('张三毕业于北京大学。'), []);
  });

  it('field F1 takes an object as expected, and drops a final 。', () => {
    const scored = scoreAnswer(
      answer('人物：张三、李四；组织机构：北京大学。'),
      { 人物: ['张三', '李四'], 组织机构: '北京大学' },
      { type: 'field-f1' },
      1,
    );
    assert.equal(scored.score, 1, scored.reason);
  });

  it('reads values without a key as more values of the key before', () => {
    assert.deepEqual(parseFields('人物:张三,李四;时间:今天'), [
      ['人物', '张三'],
      ['人物', '李四'],
      ['时间', '今天'],
    ]);
  });

  it('fails an invalid answer with its reason', () => {
    const scored = scoreAnswer({ valid: false, reason: 'no number in the completion' }, 3, { type: 'numeric' }, 1);
    assert.deepEqual(scored, { pass: false, score: 0, reason: 'no answer found: no number in the completion' });
  });
});

describe('the regex scorer', () => {
  it('stops a backtracking pattern and fails the chain with the reason', () => {
    const started = performance.now();
    const scored = scoreAnswer(answer('a'.repeat(40)), undefined, { type: 'regex', pattern: '(a+)+b' }, 1);
    assert.ok(performance.now() - started < 1000, `took ${Math.round(performance.now() - started)} ms`);
    assert.equal(scored.pass, false);
    assert.equal(scored.score, 0);
    assert.match(scored.reason, /^the regex timed out after \d+ ms on this answer \(nested quantifiers\?\)$/);
    assert.equal(scoreAnswer(answer('aab'), undefined, { type: 'regex', pattern: '(a+)+b' }, 1).pass, true);
  });
});

describe('loadCustomScorer', () => {
  const fixtures = path.resolve(__dirname, '../../../testFixtures/scorers');
  let folder: string;
  // Every scorer's worker thread is ended after its test, pass or fail: none may outlive mocha.
  const loaded: { dispose(): Promise<void> }[] = [];
  const loadCustomScorer = async (...args: Parameters<typeof loadScorer>): ReturnType<typeof loadScorer> => {
    const scorer = await loadScorer(...args);
    loaded.push(scorer);
    return scorer;
  };
  afterEach(async () => {
    await Promise.all(loaded.splice(0).map((scorer) => scorer.dispose()));
  });
  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-scorer-'));
    fs.writeFileSync(
      path.join(folder, 'length.js'),
      'module.exports.score = (answer, expected) => ({ pass: answer.length === expected, score: answer.length === expected ? 1 : 0, reason: `length ${answer.length}` });',
    );
    fs.writeFileSync(path.join(folder, 'boom.js'), 'module.exports = () => { throw new Error("kaboom"); };');
    fs.writeFileSync(path.join(folder, 'nothing.js'), 'module.exports = { value: 1 };');
    fs.writeFileSync(
      path.join(folder, 'shapes.js'),
      `module.exports.default = async (answer) => ({
      bool: true, half: 0.5, big: 5, nan: NaN, str: 'yes', empty: {}, passOnly: { pass: false, reason: 'judged' }, undef: undefined,
    })[answer];`,
    );
    fs.writeFileSync(path.join(folder, 'stuck.js'), 'module.exports = () => new Promise(() => {});');
    fs.writeFileSync(path.join(folder, 'syntax.js'), 'module.exports = (;');
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('runs a trusted scorer and validates what it returns', async () => {
    const scorer = await loadCustomScorer(path.join(folder, 'length.js'), true);
    assert.deepEqual(await scorer('abcd', 4, { completion: 'abcd', caseId: 'x' }), { pass: true, score: 1, reason: 'length 4' });
    assert.equal((await scorer('ab', 4, { completion: 'ab', caseId: 'x' })).pass, false);
  });

  it('turns a throwing scorer into a failing chain, not a crash', async () => {
    const scorer = await loadCustomScorer(path.join(folder, 'boom.js'), true);
    assert.deepEqual(await scorer('a', 'b', { completion: 'a', caseId: 'x' }), {
      pass: false,
      score: 0,
      reason: 'custom scorer threw: kaboom',
    });
  });

  it('reads booleans, numbers and objects, and fails what it cannot read', async () => {
    const scorer = await loadCustomScorer(path.join(folder, 'shapes.js'), true, 0.5);
    const context = { completion: '', caseId: 'x' };
    const table: [string, boolean, number, RegExp][] = [
      ['bool', true, 1, /pass/],
      ['half', true, 0.5, /0\.5/],
      ['passOnly', false, 0, /judged/],
      ['big', false, 0, /returned 5/],
      ['nan', false, 0, /returned NaN/],
      ['str', false, 0, /returned string/],
      ['empty', false, 0, /without pass or score/],
      ['undef', false, 0, /returned undefined/],
    ];
    for (const [input, pass, score, reason] of table) {
      const scored = await scorer(input, undefined, context);
      assert.equal(scored.pass, pass, input);
      assert.equal(scored.score, score, input);
      assert.match(scored.reason, reason);
    }
  });

  it('fails a scorer that never answers instead of hanging the run', async () => {
    const scorer = await loadCustomScorer(path.join(folder, 'stuck.js'), true, 1, 50);
    assert.deepEqual(await scorer('a', 'b', { completion: 'a', caseId: 'x' }), {
      pass: false,
      score: 0,
      reason: 'custom scorer timed out: no result within 50 ms',
    });
  });

  it('stops a synchronous busy loop at the deadline and goes on with the next chain', async () => {
    const scorer = await loadCustomScorer(path.join(fixtures, 'busy.js'), true, 1, 300);
    const context = { completion: '', caseId: 'x' };
    const started = performance.now();
    assert.deepEqual(await scorer('spin', 'x', context), {
      pass: false,
      score: 0,
      reason: 'custom scorer timed out: no result within 300 ms',
    });
    assert.ok(performance.now() - started < 3000, `stopped after ${Math.round(performance.now() - started)} ms`);
    assert.deepEqual(await scorer('x', 'x', context), { pass: true, score: 1, reason: 'custom scorer: pass' });
    assert.equal((await scorer('y', 'x', context)).pass, false);
  });

  it('still runs an asynchronous scorer', async () => {
    const scorer = await loadCustomScorer(path.join(fixtures, 'async.js'), true);
    assert.deepEqual(await scorer('a', 'a', { completion: 'a', caseId: 'c1' }), { pass: true, score: 1, reason: 'async on c1' });
    assert.equal((await scorer('a', 'b', { completion: 'a', caseId: 'c2' })).pass, false);
  });

  it('reloads an edited scorer file', async () => {
    const file = path.join(folder, 'edited.js');
    fs.writeFileSync(file, 'module.exports = () => false;');
    assert.equal((await (await loadCustomScorer(file, true))('a', 'a', { completion: 'a', caseId: 'x' })).pass, false);
    fs.writeFileSync(file, 'module.exports = () => true;');
    assert.equal((await (await loadCustomScorer(file, true))('a', 'a', { completion: 'a', caseId: 'x' })).pass, true);
  });

  it('refuses to run code in an untrusted workspace, and files without a function', async () => {
    await assert.rejects(loadCustomScorer(path.join(folder, 'missing.js'), true), /not found/);
    await assert.rejects(loadCustomScorer(path.join(folder, 'syntax.js'), true), /failed to load/);
    await assert.rejects(loadCustomScorer(path.join(folder, 'length.js'), false), /not trusted/);
    await assert.rejects(loadCustomScorer(path.join(folder, 'nothing.js'), true), /exports no function/);
  });
});
