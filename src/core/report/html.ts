import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPORT_DATA_ELEMENT_ID, type EvalReport } from '../eval/report';

/** Where the built webview (`panel.js`, `panel.css`) lives: next to the bundle, or in dist/ from source. */
export function webviewAssetsDirectory(): string {
  const candidates = [path.join(__dirname, 'webview'), path.resolve(__dirname, '../../../dist/webview')];
  const found = candidates.find((candidate) => fs.existsSync(path.join(candidate, 'panel.js')));
  if (!found) throw new Error(`The results view is not built (looked in ${candidates.join(', ')}): run 'npm run build'.`);
  return found;
}

/** The editor's colours, for a report opened in a browser: light and dark like VS Code's default themes. */
const THEME = `
:root { color-scheme: light dark; }
body {
  --vscode-font-family: system-ui, -apple-system, "Segoe UI", sans-serif; --vscode-font-size: 13px;
  --vscode-editor-font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; --vscode-editor-font-size: 12px;
  --vscode-foreground: #3b3b3b; --vscode-descriptionForeground: #717171; --vscode-editor-background: #ffffff;
  --vscode-editorWidget-background: #f8f8f8; --vscode-editorWidget-border: #e5e5e5; --vscode-panel-border: #e5e5e5;
  --vscode-input-background: #eeeeee; --vscode-focusBorder: #005fb8; --vscode-textLink-foreground: #005fb8;
  --vscode-button-secondaryForeground: #3b3b3b; --vscode-button-secondaryBackground: #e5e5e5; --vscode-button-secondaryHoverBackground: #cccccc;
  --vscode-testing-iconPassed: #388a34; --vscode-testing-iconFailed: #c72e0f; --vscode-errorForeground: #c72e0f; --vscode-editorWarning-foreground: #bf8803;
  --vscode-editor-findMatchHighlightBackground: #ea5c0055; --vscode-charts-blue: #1a85ff; --vscode-charts-orange: #d18616;
  --vscode-charts-green: #388a34; --vscode-charts-purple: #652d90; --vscode-charts-red: #e51400; --vscode-charts-yellow: #bf8803;
}
@media (prefers-color-scheme: dark) {
  body {
    --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-editor-background: #1f1f1f;
    --vscode-editorWidget-background: #202020; --vscode-editorWidget-border: #454545; --vscode-panel-border: #2b2b2b;
    --vscode-input-background: #313131; --vscode-focusBorder: #0078d4; --vscode-textLink-foreground: #4daafc;
    --vscode-button-secondaryForeground: #cccccc; --vscode-button-secondaryBackground: #313131; --vscode-button-secondaryHoverBackground: #3c3c3c;
    --vscode-testing-iconPassed: #73c991; --vscode-testing-iconFailed: #f14c4c; --vscode-errorForeground: #f85149; --vscode-editorWarning-foreground: #cca700;
    --vscode-editor-findMatchHighlightBackground: #ea5c0055; --vscode-charts-blue: #3794ff; --vscode-charts-orange: #d18616;
    --vscode-charts-green: #89d185; --vscode-charts-purple: #b180d7; --vscode-charts-red: #f14c4c; --vscode-charts-yellow: #cca700;
  }
}`;

/** JSON that is safe inside a <script> element: no "</script>" or "<!--" can end it early. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch);
}

/** One self-contained file: the panel's own script and styles inlined, the results as inert JSON. */
export function renderHtmlReport(report: EvalReport): string {
  const assets = webviewAssetsDirectory();
  const script = fs.readFileSync(path.join(assets, 'panel.js'), 'utf8').replace(/<\/script/gi, '<\\/script');
  const styles = fs.readFileSync(path.join(assets, 'panel.css'), 'utf8');
  const nonce = randomBytes(16).toString('base64');
  const title = report.runs.map((run) => run.promptName ?? path.basename(run.promptFile)).join(', ') || 'Chainscope report';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Chainscope">
<title>Chainscope — ${escapeHtml(title)}</title>
<style>${THEME}
${styles}</style>
</head>
<body>
<main id="app"></main>
<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">${scriptSafeJson(report)}</script>
<script nonce="${nonce}">${script}</script>
</body>
</html>
`;
}
