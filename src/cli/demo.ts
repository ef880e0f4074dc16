import { tokenReport } from '../core/prompt/tokenReport';
import { findPromptFiles, formatDiagnostic, loadPromptFile } from './check';

/** Until the engine lands: each shipped prompt's variants and what they cost in tokens. */
export async function runDemo(folder: string, out: (line: string) => void): Promise<number> {
  const { files } = await findPromptFiles([folder]);
  let failed = false;
  for (const file of files) {
    const loaded = await loadPromptFile(file);
    const { document } = loaded;
    const report = await tokenReport(document, loaded.cases);
    out(
      `\n${file}  (${document.model ?? 'no model'}: ${loaded.cases.length} cases × ${document.variants.length} variants × ${document.samples} samples; tokens in ${report.tokenizer})`,
    );
    for (const diagnostic of loaded.diagnostics.filter((d) => d.severity === 'error')) {
      out(`  ${formatDiagnostic(file, diagnostic)}`);
      failed = true;
    }
    out(`  ${'variant'.padEnd(16)} ${'examples'.padStart(8)} ${'chat'.padStart(6)} ${'text'.padStart(6)} ${'mean chat'.padStart(10)}`);
    for (const row of report.rows) {
      out(
        `  ${row.variant.name.padEnd(16)} ${String(row.examples).padStart(8)} ${String(row.chatTokens).padStart(6)} ${String(row.textTokens).padStart(6)} ${row.meanChatTokens.toFixed(1).padStart(10)}`,
      );
    }
  }
  return failed ? 1 : 0;
}
