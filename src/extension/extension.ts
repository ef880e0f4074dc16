import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { onSettingsChanged } from './config';
import { PromptDiagnostics } from './diagnostics';
import { PromptDocuments } from './documents';
import { registerLanguageFeatures } from './languageFeatures';
import { Logger } from './log';

/** Activation wires parts together and nothing more: parsing and tokenizers load on first use. */
export function activate(context: vscode.ExtensionContext): { activationMs: number } {
  const started = performance.now();
  const log = new Logger();
  context.subscriptions.push(log);
  try {
    const documents = new PromptDocuments();
    const diagnostics = new PromptDiagnostics(documents, log);
    context.subscriptions.push(documents, diagnostics);
    context.subscriptions.push(...registerLanguageFeatures(documents));
    context.subscriptions.push(...registerCommands(documents, diagnostics, log));
    context.subscriptions.push(onSettingsChanged(() => diagnostics.refreshAll()));
  } catch (error) {
    log.error('activate', error);
    void vscode.window.showErrorMessage(`Chainscope failed to start: ${error instanceof Error ? error.message : String(error)}. See "Chainscope: Show Log".`);
  }
  const activationMs = performance.now() - started;
  log.info('activate', `activated in ${activationMs.toFixed(1)} ms`);
  return { activationMs };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
