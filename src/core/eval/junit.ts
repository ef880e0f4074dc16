import type { RunResult } from './results';

/**
 * Characters XML 1.0 forbids (C0 controls but tab, LF and CR; U+FFFE and U+FFFF; lone surrogates, which the
 * `u` flag tells apart from pairs): model output can hold any of them, and one makes the whole report unreadable.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is matched
const FORBIDDEN_IN_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\p{Cs}]/gu;

function escapeXml(text: string): string {
  return text
    .replace(FORBIDDEN_IN_XML, '')
    .replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch] ?? ch);
}

/** JUnit XML: one suite per prompt and variant, one test per case, passing when its majority answer passes. */
export function junitReport(results: readonly RunResult[]): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  for (const result of results) {
    for (const variant of result.variants) {
      const cells = result.cells.filter((cell) => cell.variant === variant.name);
      const cases = cells.map((cell) => {
        const name = escapeXml(cell.caseName ?? cell.caseId);
        const time = (cell.chains.reduce((sum, chain) => sum + chain.latencyMs, 0) / 1000).toFixed(3);
        if (cell.majorityPass)
          return `    <testcase classname="${escapeXml(`${result.promptName ?? result.promptFile}.${variant.name}`)}" name="${name}" time="${time}"/>`;
        const message = `expected ${JSON.stringify(cell.expected)}, majority answer ${cell.majority === undefined ? '(none)' : JSON.stringify(cell.majority)} (agreement ${(cell.agreement * 100).toFixed(0)}%)`;
        const firstChain = cell.chains.find((chain) => !chain.pass)?.text ?? '';
        return `    <testcase classname="${escapeXml(`${result.promptName ?? result.promptFile}.${variant.name}`)}" name="${name}" time="${time}">\n      <failure message="${escapeXml(message)}">${escapeXml(firstChain)}</failure>\n    </testcase>`;
      });
      const failed = cells.filter((cell) => !cell.majorityPass).length;
      tests += cells.length;
      failures += failed;
      suites.push(
        `  <testsuite name="${escapeXml(`${result.promptName ?? result.promptFile} / ${variant.name}`)}" tests="${cells.length}" failures="${failed}">\n${cases.join('\n')}\n  </testsuite>`,
      );
    }
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="chainscope" tests="${tests}" failures="${failures}">\n${suites.join('\n')}\n</testsuites>\n`;
}
