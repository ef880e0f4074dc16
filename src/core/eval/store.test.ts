import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listRunFiles, parseRunFile, RUN_FILE_SCHEMA, type RunHeader, type VerdictsRecord } from './store';

const header = (id: string, promptFile = '/p/a.prompt'): RunHeader => ({
  type: 'run',
  schema: RUN_FILE_SCHEMA,
  id,
  promptFile,
  promptHash: 'h',
  backend: { id: 'x', model: 'y', input: 'chat' },
  sampling: {},
  seed: 1,
  samples: 2,
  variants: ['v'],
  cases: ['a', 'b'],
  startedAt: `2026-01-0${id.slice(-1)}T00:00:00.000Z`,
});
const completion = {
  type: 'completion',
  variant: 'v',
  caseId: 'a',
  sample: 0,
  text: '4',
  finishReason: 'stop',
  usage: { promptTokens: 1, completionTokens: 1 },
  latencyMs: 1,
};
const verdicts: VerdictsRecord = { type: 'verdicts', at: 't', accuracy: [{ variant: 'v', value: 0.5, cases: 2 }], pass: { v: '10' } };
const lines = (...records: object[]): string => records.map((record) => `${JSON.stringify(record)}\n`).join('');

describe('run files: the verdicts line and the run list', () => {
  let folder: string;
  beforeEach(() => (folder = fs.mkdtempSync(path.join(os.tmpdir(), 'chainscope-store-'))));
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('reads the last verdicts line, and drops it when chains follow it (a resumed run not scored again)', () => {
    assert.deepEqual(parseRunFile(lines(header('r1'), completion, verdicts)).verdicts, verdicts);
    const resumed = parseRunFile(lines(header('r1'), completion, verdicts, { ...completion, caseId: 'b' }));
    assert.equal(resumed.verdicts, undefined);
    assert.deepEqual(resumed.skipped, []);
  });

  it("lists a prompt's runs newest first from their first and last lines, the accuracy only when stored", () => {
    const write = (name: string, content: string, mtime: number): void => {
      const file = path.join(folder, `${name}.jsonl`);
      fs.writeFileSync(file, content);
      fs.utimesSync(file, mtime, mtime);
    };
    write('r1', lines(header('r1'), completion, verdicts), 1000);
    write('r2', lines(header('r2'), completion), 2000);
    write('r3', lines(header('r3', '/p/other.prompt'), completion, verdicts), 3000);
    write('r4', lines(header('r4'), completion, verdicts), 4000);
    const listed = listRunFiles(folder, '/p/a.prompt', { except: path.join(folder, 'r4.jsonl') });
    assert.deepEqual(
      listed.map((run) => [run.id, run.model, run.cases, run.samples, run.accuracy?.[0]?.value]),
      [
        ['r2', 'x:y', 2, 2, undefined],
        ['r1', 'x:y', 2, 2, 0.5],
      ],
    );
    assert.equal(listRunFiles(folder, '/p/a.prompt', { limit: 1 }).length, 1);
  });
});
