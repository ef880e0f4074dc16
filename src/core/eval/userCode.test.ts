import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { parsePrompt } from '../prompt/parse';
import { scoreWithCustomScorer, summarizeRun } from './results';
import type { CompletionRecord, ParsedRunFile } from './store';

// Code and patterns from a prompt file, run over a whole run: neither may hang it or throw out of it.

const fixtures = path.resolve(__dirname, '../../../testFixtures/scorers');

function runOf(text: string, outputs: string[]): { document: ReturnType<typeof parsePrompt>['document']; run: ParsedRunFile } {
  const { document } = parsePrompt(text);
  const completions: CompletionRecord[] = outputs.map((output, sample) => ({
    type: 'completion',
    variant: 'zero-shot',
    caseId: document.cases[0]?.id ?? '',
    sample,
    text: output,
    finishReason: 'stop',
    usage: { promptTokens: 1, completionTokens: 1 },
    latencyMs: 1,
  }));
  const header = {
    type: 'run',
    schema: 'chainscope.run/1',
    id: 'r',
    promptFile: 'p.prompt',
    promptHash: '',
    backend: { id: 'x', model: 'y', input: 'text' },
    sampling: document.sampling,
    samples: outputs.length,
    variants: ['zero-shot'],
    cases: document.cases.map((kase) => kase.id),
    startedAt: '',
  } as unknown as ParsedRunFile['header'];
  return { document, run: { header, completions, skipped: [] } };
}

describe('user code and patterns over a run', () => {
  it('summarizes a run whose regex times out on some chains: those chains are invalid, the others scored', () => {
    const { document, run } = runOf(
      "---\nvariants: [zero-shot]\ncases: [{input: {}, expected: aaa}]\nextract: {type: regex, pattern: '(a+)+b'}\n---\nx\n",
      ['aaab', 'a'.repeat(40), 'aaab'],
    );
    const started = performance.now();
    const result = summarizeRun(document, document.cases, run);
    assert.ok(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)} ms`);
    const chains = result.cells[0]?.chains ?? [];
    assert.deepEqual(
      chains.map((chain) => chain.answer),
      ['aaa', undefined, 'aaa'],
    );
    assert.match(chains[1]?.reason ?? '', /the regex timed out after \d+ ms on this output/);
    assert.equal(result.cells[0]?.majority, 'aaa');
  });

  it('scores every chain with a custom scorer in a trusted workspace, and refuses an untrusted one', async () => {
    const { document, run } = runOf(
      "---\nvariants: [zero-shot]\ncases: [{input: {}, expected: '7'}]\nextract: number\nscorer: {type: custom, file: async.js}\n---\nx\n",
      ['7', '8'],
    );
    const scores = await scoreWithCustomScorer(document, document.cases, run, fixtures, true);
    assert.deepEqual(
      [...scores.values()].map((score) => score.pass),
      [true, false],
    );
    await assert.rejects(scoreWithCustomScorer(document, document.cases, run, fixtures, false), /not trusted/);
  });
});
