// Entry point loaded by VS Code's extension host (`extensionTestsPath`): runs every compiled
// `*.host.js` next to this file with mocha, prints spec lines and writes a JSON report that the
// code-server runner reads (its extension host's stdout is not ours to capture).
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import { JsonFileReporter } from './reporter';

const TIMEOUT_MS = 20_000;

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'tdd',
    color: false,
    timeout: TIMEOUT_MS,
    reporter: JsonFileReporter,
    ...(process.env.CHAINSCOPE_HOST_GREP ? { grep: process.env.CHAINSCOPE_HOST_GREP } : {}),
  });
  for (const file of testFiles(__dirname)) mocha.addFile(file);
  return new Promise((resolve, reject) => {
    mocha.run((failures) => {
      if (failures > 0) reject(new Error(`${failures} extension-host test(s) failed`));
      else resolve();
    });
  });
}

function testFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.host.js'))
    .sort()
    .map((name) => path.join(dir, name));
}
