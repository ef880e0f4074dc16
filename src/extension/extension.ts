import * as vscode from 'vscode';
import { Backends, ModelChoice } from './backends';
import { registerCodeLenses } from './codelens';
import { registerCommands } from './commands';
import { onSettingsChanged } from './config';
import { PromptDiagnostics } from './diagnostics';
import { PromptDocuments } from './documents';
import { Evaluations } from './evaluation';
import { registerLanguageFeatures } from './languageFeatures';
import { Logger } from './log';
import { registerResultsPanelSerializer } from './panel';
import { ApiKeys, registerApiKeyCommands } from './secrets';
import { registerModelStatus } from './statusBar';
import { PromptTests } from './testing';

/** What the extension hands to its tests and to other extensions. */
export interface ChainscopeApi {
  activationMs: number;
  evaluations: Evaluations;
  tests: PromptTests;
}

/** Activation wires parts together and nothing more: parsing, tokenizers and models load on first use. */
export function activate(context: vscode.ExtensionContext): ChainscopeApi | undefined {
  const started = performance.now();
  const log = new Logger();
  context.subscriptions.push(log);
  try {
    const documents = new PromptDocuments();
    const diagnostics = new PromptDiagnostics(documents, log);
    const keys = new ApiKeys(context.secrets);
    const models = new ModelChoice(context.workspaceState);
    const backends = new Backends(keys, log);
    const evaluations = new Evaluations(documents, backends, models, log, context.extensionUri);
    context.subscriptions.push(documents, diagnostics, models, backends, evaluations);
    context.subscriptions.push(...registerLanguageFeatures(documents));
    context.subscriptions.push(...registerCodeLenses(documents, models));
    context.subscriptions.push(...registerCommands(documents, diagnostics, evaluations, log, context.extensionUri));
    context.subscriptions.push(...registerApiKeyCommands(keys, log));
    context.subscriptions.push(...registerModelStatus(documents, models));
    context.subscriptions.push(registerResultsPanelSerializer(context.extensionUri, log));
    const tests = new PromptTests(documents, evaluations, log);
    context.subscriptions.push(tests);
    context.subscriptions.push(
      onSettingsChanged(() => {
        diagnostics.refreshAll();
        void backends.reset();
      }),
      context.secrets.onDidChange(() => void backends.reset()),
    );
    const activationMs = performance.now() - started;
    log.info('activate', `activated in ${activationMs.toFixed(1)} ms`);
    return { activationMs, evaluations, tests };
  } catch (error) {
    log.error('activate', error);
    void vscode.window.showErrorMessage(`Chainscope failed to start: ${error instanceof Error ? error.message : String(error)}. See "Chainscope: Show Log".`);
    return undefined;
  }
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
