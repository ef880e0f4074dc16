import { renderVariant } from '../core/prompt/render';
import { countChatTokens, countTokens, encodingForModel } from '../core/tokens';
import { findPromptFiles, formatDiagnostic, loadPromptFile } from './check';

/** Until the engine lands: each shipped prompt's variants and what they cost in tokens. */
export async function runDemo(folder: string, out: (line: string) => void): Promise<number> {
  const { files } = await findPromptFiles([folder]);
  let failed = false;
  for (const file of files) {
    const loaded = await loadPromptFile(file);
    const { document } = loaded;
    const encoding = encodingForModel(document.model);
    out(`\n${file}  (${document.model ?? 'no model'}, ${loaded.cases.length} cases × ${document.variants.length} variants × ${document.samples} samples, ${encoding})`);
    for (const diagnostic of loaded.diagnostics.filter((d) => d.severity === 'error')) {
      out(`  ${formatDiagnostic(file, diagnostic)}`);
      failed = true;
    }
    const first = loaded.cases[0];
    if (!first) continue;
    out(`  ${'variant'.padEnd(16)} ${'chat tokens'.padStart(11)} ${'text tokens'.padStart(11)}  examples`);
    for (const variant of document.variants) {
      const rendered = await renderVariant(document, variant, first.input);
      out(`  ${variant.name.padEnd(16)} ${String(countChatTokens(rendered.messages, encoding)).padStart(11)} ${String(countTokens(rendered.text, encoding)).padStart(11)}  ${rendered.examples.length}`);
    }
  }
  return failed ? 1 : 0;
}
