// Spec output for humans plus a JSON file for the runners: the code-server runner cannot read the
// extension host's stdout, so the report file is how the result (and each test line) gets out.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export interface HostTestResult {
  title: string;
  fullTitle: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs: number;
  error?: string;
}

export interface HostTestReport {
  passes: number;
  failures: number;
  pending: number;
  durationMs: number;
  tests: HostTestResult[];
}

/** Env var naming the JSON report file; the runners set it, unset means spec output only. */
export const REPORT_ENV = 'CHAINSCOPE_HOST_REPORT';

const { EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING, EVENT_RUN_END } = Mocha.Runner.constants;

export class JsonFileReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const tests: HostTestResult[] = [];
    const started = Date.now();
    runner.on(EVENT_TEST_PASS, (test) => tests.push(result(test, 'passed')));
    runner.on(EVENT_TEST_PENDING, (test) => tests.push(result(test, 'pending')));
    runner.on(EVENT_TEST_FAIL, (test, err: unknown) => tests.push(result(test, 'failed', err)));
    runner.once(EVENT_RUN_END, () => {
      const file = process.env[REPORT_ENV];
      if (!file) return;
      const count = (state: HostTestResult['state']): number => tests.filter((t) => t.state === state).length;
      const report: HostTestReport = {
        passes: count('passed'),
        failures: count('failed'),
        pending: count('pending'),
        durationMs: Date.now() - started,
        tests,
      };
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(report, null, 2));
    });
  }
}

function result(test: Mocha.Runnable, state: HostTestResult['state'], err?: unknown): HostTestResult {
  const base = { title: test.title, fullTitle: test.fullTitle(), state, durationMs: test.duration ?? 0 };
  if (err === undefined) return base;
  return { ...base, error: err instanceof Error ? (err.stack ?? err.message) : JSON.stringify(err) };
}
