import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { core } from './core';
import type { FromWebview, PanelState, ToWebview } from '../shared/protocol';
import type { Logger } from './log';

export const RESULTS_VIEW_TYPE = 'chainscope.results';

/** The results webview: one panel, re-used for each run; restored after a reload by its serializer. */
export class ResultsPanel implements vscode.Disposable {
  private static current: ResultsPanel | undefined;
  private state: PanelState | undefined;
  private ready = false;
  private readonly disposables: vscode.Disposable[] = [];

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly log: Logger,
  ) {
    panel.webview.options = ResultsPanel.webviewOptions(extensionUri);
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: FromWebview) => this.receive(message)),
    );
  }

  static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')] };
  }

  /** Shows the panel (creating it if needed) beside the editor. */
  static show(extensionUri: vscode.Uri, log: Logger): ResultsPanel {
    if (ResultsPanel.current) {
      ResultsPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
      return ResultsPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(
      RESULTS_VIEW_TYPE,
      'Chainscope Results',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { ...ResultsPanel.webviewOptions(extensionUri), retainContextWhenHidden: true },
    );
    ResultsPanel.current = new ResultsPanel(panel, extensionUri, log);
    return ResultsPanel.current;
  }

  /** Re-attaches a panel VS Code restored after a restart; its webview state holds the last results. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, log: Logger, state: { state?: PanelState } | undefined): void {
    ResultsPanel.current?.dispose();
    ResultsPanel.current = new ResultsPanel(panel, extensionUri, log);
    if (state?.state) ResultsPanel.current.state = state.state;
  }

  update(state: PanelState): void {
    this.state = state;
    this.post({ type: 'state', state });
  }

  private post(message: ToWebview): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private receive(message: FromWebview): void {
    switch (message.type) {
      case 'ready':
        // The webview (re)loaded: send it everything it needs.
        this.ready = true;
        if (this.state) this.post({ type: 'state', state: this.state });
        break;
      case 'reveal':
        void this.reveal(message.file, message.line);
        break;
      case 'export':
        void this.export(message.format).catch((error: unknown) => {
          this.log.error('panel', error);
          void vscode.window.showErrorMessage(`Chainscope: export failed: ${error instanceof Error ? error.message : String(error)}`);
        });
        break;
    }
  }

  private async reveal(file: string, line: number): Promise<void> {
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    const position = new vscode.Position(line, 0);
    await vscode.window.showTextDocument(document, { selection: new vscode.Range(position, position), viewColumn: vscode.ViewColumn.One });
  }

  private async export(format: 'csv' | 'json' | 'html'): Promise<void> {
    const result = this.state?.result;
    if (!result) return;
    const base = path.join(path.dirname(result.promptFile), `${result.promptName ?? 'results'}-${result.runId.slice(-12)}.${format}`);
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(base), filters: { [format.toUpperCase()]: [format] } });
    if (!target) return;
    const comparison = this.state?.comparison;
    const report = core().makeReport([result], new Map(comparison ? [[result.runId, comparison]] : []));
    const content =
      format === 'csv'
        ? core().resultsToCsv(result)
        : format === 'json'
          ? `${JSON.stringify(report, null, 2)}\n`
          : core().renderHtmlReport(report);
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(content));
    this.log.info('panel', `exported ${format.toUpperCase()} to ${target.fsPath}`);
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const asset = (name: string): vscode.Uri => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', name));
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource} data:; font-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${asset('panel.css').toString()}">
<title>Chainscope Results</title>
</head>
<body>
<main id="app"><p>Waiting for results…</p></main>
<script nonce="${nonce}" src="${asset('panel.js').toString()}"></script>
</body>
</html>`;
  }

  dispose(): void {
    if (ResultsPanel.current === this) ResultsPanel.current = undefined;
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
    this.panel.dispose();
  }
}

export function registerResultsPanelSerializer(extensionUri: vscode.Uri, log: Logger): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(RESULTS_VIEW_TYPE, {
    deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
      ResultsPanel.revive(panel, extensionUri, log, state as { state?: PanelState } | undefined);
      return Promise.resolve();
    },
  });
}
