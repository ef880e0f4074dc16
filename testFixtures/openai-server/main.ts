// Runs the fake OpenAI-compatible server on its own: `npx tsx testFixtures/openai-server/main.ts [answers.json] [port]`.
// Prints the base URL; stops on Ctrl-C.
import * as fs from 'node:fs';
import { startFakeServer, type CannedAnswer } from './server';

async function main(): Promise<void> {
  const [answersFile] = process.argv.slice(2);
  const answers = answersFile ? (JSON.parse(fs.readFileSync(answersFile, 'utf8')) as CannedAnswer[]) : [];
  const server = await startFakeServer({ answers });
  process.stdout.write(`${server.url}\n`);
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
