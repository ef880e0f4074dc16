import * as vscode from 'vscode';

// Placeholder entry: replaced by the real wiring as the foundation lands.
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Chainscope', { log: true });
  context.subscriptions.push(log);
  log.info('Chainscope activated');
}

export function deactivate(): void {}
