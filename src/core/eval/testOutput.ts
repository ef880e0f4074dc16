// What the Test Explorer shows of a cell: its verdict, and for a failure the case, the expected and
// majority answers and the chain that gave the majority. Pure, so the editor's adapter only forwards it.
import type { CellResult } from './results';

export interface CellTestOutput {
  outcome: 'passed' | 'failed';
  /** The failure's message (the Test Explorer's peek); absent for a pass. */
  message?: string;
  expected: string;
  actual: string;
  /** The run's output for this cell, with the CRLF line endings the test output terminal needs. */
  output: string;
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '(none)');
}

/** The chain a reader should see: one that gave the majority answer, else the first. */
function representative(cell: CellResult): CellResult['chains'][number] | undefined {
  return cell.chains.find((chain) => chain.answer !== undefined && chain.answer === cell.majority) ?? cell.chains[0];
}

/** The Test Explorer's view of a cell with chains (cells without any are skipped or errored by the caller). */
export function cellTestOutput(cell: CellResult): CellTestOutput {
  const expected = cell.expected === undefined ? '(none)' : show(cell.expected);
  const actual = cell.majority ?? '(no answer)';
  const title = `${cell.variant} / ${cell.caseName ?? cell.caseId}`;
  const agreement = `${(cell.agreement * 100).toFixed(0)}% of ${cell.chains.length} chains`;
  if (cell.majorityPass) {
    return { outcome: 'passed', expected, actual, output: `✓ ${title}: ${actual} (${agreement})\r\n` };
  }
  const chain = representative(cell);
  const allFailed = cell.errors === cell.chains.length;
  const message = allFailed
    ? `All ${cell.errors} chains failed: ${cell.chains[0]?.error ?? ''}`
    : `Majority answer ${cell.majority === undefined ? '(none)' : JSON.stringify(cell.majority)} (agreement ${agreement}), expected ${expected}. ${chain?.reason ?? ''}`.trim();
  const lines = [
    `✗ ${title}`,
    `  case:     ${cell.caseName ?? cell.caseId} ${JSON.stringify(cell.input)}`,
    `  expected: ${expected}`,
    `  majority: ${actual} (${agreement})`,
    ...(allFailed ? [`  error:    ${cell.chains[0]?.error ?? ''}`] : []),
    ...(chain && !allFailed
      ? [
          `  chain #${chain.sample + 1}${chain.answer !== undefined ? ` (answer ${chain.answer})` : ' (no answer)'}:`,
          ...chain.text.split(/\r?\n/).map((line) => `    ${line}`),
        ]
      : []),
    ...(chain?.answerText ? ['  answer stage:', ...chain.answerText.split(/\r?\n/).map((line) => `    ${line}`)] : []),
  ];
  return {
    outcome: 'failed',
    message: chain && !allFailed ? `${message}\n\nChain #${chain.sample + 1}:\n${chain.text}` : message,
    expected,
    actual,
    output: lines.join('\r\n') + '\r\n',
  };
}
