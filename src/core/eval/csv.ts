import type { RunResult } from './results';

function cell(value: unknown): string {
  const text = value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  // Quote everything that could split a row or be read as a formula by a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) || safe !== text ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * One row per chain, with its cell's majority and agreement, for spreadsheets. After `case`, one
 * `input.<name>` column per input (template variable) any case of the run has, in first-seen order:
 * strings as written, other values as JSON, empty where a case lacks it.
 */
export function resultsToCsv(result: RunResult): string {
  const inputs: string[] = [];
  const seen = new Set<string>();
  for (const c of result.cells)
    for (const name of Object.keys(c.input ?? {}))
      if (!seen.has(name)) {
        seen.add(name);
        inputs.push(name);
      }
  const header = [
    'variant',
    'case',
    ...inputs.map((name) => `input.${name}`),
    'sample',
    'expected',
    'answer',
    'pass',
    'score',
    'majority',
    'majority_pass',
    'agreement',
    'entropy',
    'prompt_tokens',
    'completion_tokens',
    'latency_ms',
    'error',
    'completion',
  ];
  const rows = [header.map(cell).join(',')];
  for (const c of result.cells) {
    const values = inputs.map((name) => (c.input && Object.hasOwn(c.input, name) ? c.input[name] : undefined));
    for (const chain of c.chains) {
      rows.push(
        [
          c.variant,
          c.caseName ?? c.caseId,
          ...values,
          chain.sample,
          c.expected,
          chain.answer,
          chain.pass,
          chain.score,
          c.majority,
          c.majorityPass,
          c.agreement,
          c.entropy,
          chain.promptTokens,
          chain.completionTokens,
          chain.latencyMs,
          chain.error,
          chain.text,
        ]
          .map(cell)
          .join(','),
      );
    }
  }
  return `${rows.join('\n')}\n`;
}
