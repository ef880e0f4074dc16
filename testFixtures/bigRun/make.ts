// A big run for the editor's host test and `npm run bench`: a dataset of `cases` questions, `samples`
// chains each, one variant, answered by the fake OpenAI-compatible server (testFixtures/openai-server).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CannedAnswer } from '../openai-server/server';

export interface BigRun {
  promptFile: string;
  answersFile: string;
  cases: number;
  samples: number;
  chains: number;
}

/** The answers every case draws from: the expected one (4, 5 or 6 by basket) is right for a third of the cases each. */
export const BIG_RUN_ANSWERS: CannedAnswer[] = [
  {
    match: 'apples are in basket',
    answers: [
      'Counting the apples one by one. The answer is 4.',
      'Two rows of two: 4 apples. The answer is 4.',
      'I count 5. The answer is 5.',
      'Three and three. The answer is 6.',
      'I cannot see the basket.',
    ],
  },
];

export function writeBigRun(folder: string, cases: number, samples: number): BigRun {
  fs.mkdirSync(folder, { recursive: true });
  const rows: string[] = [];
  for (let i = 0; i < cases; i++)
    rows.push(JSON.stringify({ question: `Question ${i}: how many apples are in basket ${i % 3}?`, answer: 4 + (i % 3) }));
  fs.writeFileSync(path.join(folder, 'cases.jsonl'), `${rows.join('\n')}\n`);
  const promptFile = path.join(folder, 'big-run.prompt');
  fs.writeFileSync(
    promptFile,
    [
      '---',
      'name: big-run',
      'model: openai-compatible:fake-model',
      `samples: ${samples}`,
      'config: {temperature: 0.8, max_tokens: 64}',
      'variants: [zero-shot-cot]',
      'dataset: {path: cases.jsonl, expected: answer}',
      'extract: number',
      'scorer: numeric',
      '---',
      '{{question}}',
      '',
    ].join('\n'),
  );
  const answersFile = path.join(folder, 'answers.json');
  fs.writeFileSync(answersFile, JSON.stringify(BIG_RUN_ANSWERS));
  return { promptFile, answersFile, cases, samples, chains: cases * samples };
}
