import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadPrompt, MAX_ROW_DIAGNOSTICS, nodeFileSystem, type FileSystem } from './load';

const root = path.resolve(__dirname, '../../..');

function memoryFs(files: Record<string, string>): FileSystem {
  return {
    readFile: (file) => {
      const content = files[file];
      return content === undefined ? Promise.reject(new Error(`ENOENT ${file}`)) : Promise.resolve(content);
    },
    exists: (file) => Promise.resolve(file in files),
  };
}

describe('loadPrompt', () => {
  it('loads JSONL rows as cases, mapping columns to variables', async () => {
    const text = '---\nscorer: numeric\ndataset:\n  path: data/q.jsonl\n  expected: answer\n  input: {question: q}\n---\n{{question}}\n';
    const fs = memoryFs({ '/w/data/q.jsonl': '{"q": "1+1", "answer": 2, "tag": "easy"}\n\n{"q": "2+2", "answer": 4}\n' });
    const loaded = await loadPrompt('/w/a.prompt', text, fs);
    assert.deepEqual(loaded.diagnostics, []);
    assert.deepEqual(
      loaded.cases.map((c) => [c.id, c.input, c.expected, c.origin?.line]),
      [
        ['data/q.jsonl:1', { question: '1+1', q: '1+1', tag: 'easy' }, 2, 1],
        ['data/q.jsonl:3', { question: '2+2', q: '2+2' }, 4, 3],
      ],
    );
  });

  it("reads a row's label column as its human verdict, not as input", async () => {
    const text = '---\nscorer: {type: judge, rubric: R}\ndataset: d.csv\n---\n{{question}}\n';
    const fs = memoryFs({ '/w/d.csv': 'question,label\nq1,pass\nq2,FALSE\nq3,\nq4,maybe\n' });
    const loaded = await loadPrompt('/w/a.prompt', text, fs);
    assert.deepEqual(
      loaded.cases.map((c) => [c.input, c.label]),
      [
        [{ question: 'q1' }, true],
        [{ question: 'q2' }, false],
        [{ question: 'q3' }, undefined],
        [{ question: 'q4' }, undefined],
      ],
    );
    // A template variable named label stays input.
    const asInput = await loadPrompt('/w/b.prompt', '---\ndataset: d.csv\n---\n{{question}} {{label}}\n', fs);
    assert.deepEqual(asInput.cases[0]?.input, { question: 'q1', label: 'pass' });
    assert.equal(asInput.cases[0]?.label, undefined);
  });

  it('loads CSV with quoted fields and picks the answer column by default', async () => {
    const text = '---\ndataset: d.csv\nlimit: 1\n---\n{{question}}\n';
    const fs = memoryFs({ '/w/d.csv': 'question,answer\n"Hello, world",hi\nsecond,2\n' });
    const loaded = await loadPrompt('/w/a.prompt', text, fs);
    assert.deepEqual(
      loaded.cases.map((c) => [c.input.question, c.expected, c.origin?.line]),
      [
        ['Hello, world', 'hi', 2],
        ['second', '2', 3],
      ],
    );
    // 'limit' belongs inside the dataset mapping: at top level it is an unknown key.
    assert.deepEqual(
      loaded.diagnostics.map((d) => d.code),
      ['unknown-key'],
    );
  });

  it('names the file and line of each bad row, and skips rows missing a variable', async () => {
    const loaded = await loadPrompt(
      path.join(root, 'testFixtures/broken/bad-dataset.prompt'),
      await nodeFileSystem.readFile(path.join(root, 'testFixtures/broken/bad-dataset.prompt')),
      nodeFileSystem,
    );
    const rows = loaded.diagnostics.filter((d) => d.file?.endsWith('bad-rows.jsonl'));
    assert.deepEqual(
      rows.map((d) => d.range.start.line + 1),
      [2, 3, 4],
    );
    assert.match(rows[0]?.message ?? '', /^bad-rows\.jsonl:2: invalid JSON/);
    assert.match(rows[2]?.message ?? '', /^bad-rows\.jsonl:4: no value for question/);
    const summary = loaded.diagnostics.find((d) => d.code === 'dataset-rows');
    assert.match(summary?.message ?? '', /3 bad rows \(first at line 2\)/);
    assert.deepEqual(
      loaded.cases.map((c) => c.expected),
      [2],
    );
  });

  it('reports a missing dataset at its path, and missing columns', async () => {
    const missing = await loadPrompt('/w/a.prompt', '---\ndataset: nope.jsonl\n---\n{{q}}\n', memoryFs({}));
    assert.deepEqual(
      missing.diagnostics.map((d) => [d.code, d.range.start.line, d.range.start.character]),
      [['missing-file', 1, 9]],
    );
    const columns = await loadPrompt(
      '/w/a.prompt',
      '---\ndataset: d.jsonl\n---\n{{question}}\n',
      memoryFs({ '/w/d.jsonl': '{"questoin": "x", "expected": 1}\n' }),
    );
    assert.ok(columns.diagnostics.some((d) => d.code === 'dataset-column' && /did you mean 'questoin'/.test(d.message)));
  });

  it('reports a custom scorer file that does not exist', async () => {
    const loaded = await loadPrompt('/w/a.prompt', '---\nscorer: {type: custom, file: score.js}\n---\nx\n', memoryFs({}));
    assert.deepEqual(
      loaded.diagnostics.map((d) => d.code),
      ['missing-file'],
    );
  });

  it('loads 150,000 JSONL and CSV rows (spreading them into push() used to overflow the stack)', async function () {
    this.timeout(30_000);
    const count = 150_000;
    const jsonl: string[] = [];
    const csv = ['q,answer'];
    for (let i = 0; i < count; i++) {
      jsonl.push(`{"q": "${i} + 1", "answer": ${i + 1}}`);
      csv.push(`${i} + 1,${i + 1}`);
    }
    const fs = memoryFs({ '/w/big.jsonl': jsonl.join('\r\n'), '/w/big.csv': csv.join('\n') });
    for (const name of ['big.jsonl', 'big.csv']) {
      const loaded = await loadPrompt('/w/a.prompt', `---\nscorer: numeric\ndataset: ${name}\n---\n{{q}}\n`, fs);
      assert.deepEqual(loaded.diagnostics, [], name);
      assert.equal(loaded.cases.length, count, name);
      const last = loaded.cases[count - 1];
      assert.deepEqual(
        [last?.input.q, Number(last?.expected), last?.origin?.line],
        [`${count - 1} + 1`, count, name === 'big.csv' ? count + 1 : count],
        name,
      );
    }
  });

  it('reports the first bad rows at their lines and counts all of them in one summary', async () => {
    const lines = Array.from({ length: 250 }, (_, i) => (i % 2 === 0 ? `{"q": "ok ${i}"}` : `{"q": broken ${i}`));
    const loaded = await loadPrompt('/w/a.prompt', '---\ndataset: d.jsonl\n---\n{{q}}\n', memoryFs({ '/w/d.jsonl': lines.join('\n') }));
    const rows = loaded.diagnostics.filter((d) => d.code === 'dataset-row');
    assert.equal(rows.length, MAX_ROW_DIAGNOSTICS);
    assert.equal(rows[0]?.range.start.line, 1);
    const summary = loaded.diagnostics.filter((d) => d.code === 'dataset-rows');
    assert.equal(summary.length, 1);
    assert.match(summary[0]?.message ?? '', /has 125 bad rows \(first at line 2\); the first 100 are reported in it/);
    assert.equal(loaded.cases.length, 125);
  });

  describe('dataset files that are not UTF-8 lines, or not files', () => {
    let folder: string;
    beforeEach(() => {
      folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-load-'));
    });
    afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

    const load = (dataset: string) => loadPrompt(path.join(folder, 'a.prompt'), `---\ndataset: ${dataset}\n---\n{{q}}\n`, nodeFileSystem);
    const rows = '{"q": "1+1", "answer": 2}\n{"q": "2+2", "answer": 4}\n';

    it('says a UTF-16 dataset is UTF-16, at its path', async () => {
      fs.writeFileSync(path.join(folder, 'd.jsonl'), Buffer.from(`\uFEFF${rows}`, 'utf16le'));
      const loaded = await load('d.jsonl');
      assert.deepEqual(
        loaded.diagnostics.map((d) => [d.code, d.range.start.line, d.range.start.character, d.message]),
        [['encoding', 1, 9, 'Dataset d.jsonl: the file is UTF-16 (little-endian), not UTF-8: save it as UTF-8.']],
      );
      assert.deepEqual(loaded.cases, []);
    });

    it('says a JSONL dataset with CR-only line endings should use LF or CRLF; reads such a CSV, and a byte order mark', async () => {
      fs.writeFileSync(path.join(folder, 'cr.jsonl'), rows.replace(/\n/g, '\r'));
      const cr = await load('cr.jsonl');
      assert.deepEqual(
        cr.diagnostics.map((d) => [d.code, d.message]),
        [['encoding', 'Dataset cr.jsonl: the file uses CR-only line endings (classic Mac): save it with LF or CRLF line endings.']],
      );
      fs.writeFileSync(path.join(folder, 'cr.csv'), 'q,answer\r1+1,2\r2+2,4\r');
      fs.writeFileSync(path.join(folder, 'bom.jsonl'), `\uFEFF${rows.replace(/\n/g, '\r\n')}`);
      for (const name of ['cr.csv', 'bom.jsonl']) {
        const loaded = await load(name);
        assert.deepEqual(loaded.diagnostics, [], name);
        assert.deepEqual(
          loaded.cases.map((c) => [c.input.q, Number(c.expected)]),
          [
            ['1+1', 2],
            ['2+2', 4],
          ],
          name,
        );
      }
    });

    it('says a dataset path that is a folder is a folder, at its path', async () => {
      fs.mkdirSync(path.join(folder, 'data.jsonl'));
      const loaded = await load('data.jsonl');
      assert.deepEqual(
        loaded.diagnostics.map((d) => [d.code, d.range.start.line, d.range.start.character, d.range.end.character, d.message]),
        [['not-a-file', 1, 9, 19, 'Dataset data.jsonl is a folder, not a file.']],
      );
    });
  });
});
