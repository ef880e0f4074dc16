import * as vscode from 'vscode';
import { Backends, ModelChoice } from './backends';
import { registerCodeLenses } from './codelens';
import { registerCommands } from './commands';
import { onSettingsChanged } from './config';
import { PromptDiagnostics } from './diagnostics';
import { adoptLegacyPromptFiles, PromptDocuments } from './documents';
import { Evaluations } from './evaluation';
import { registerLanguageFeatures } from './languageFeatures';
import { Logger } from './log';
import { registerResultsPanelSerializer } from './panel';
import { registerQuickFixes } from './quickFixes';
import type { SettingsImpact } from './settingsImpact';
import { ApiKeys, registerApiKeyCommands } from './secrets';
import { registerModelStatus } from './statusBar';
import { PromptTests } from './testing';

/** What the extension hands to its tests and to other extensions. */
export interface ChainscopeApi {
  activationMs: number;
  backends: Backends;
  evaluations: Evaluations;
  tests: PromptTests;
}

/** Activation wires parts together and nothing more: parsing, tokenizers and models load on first use. */
export function activate(context: vscode.ExtensionContext): ChainscopeApi {
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
    context.subscriptions.push(adoptLegacyPromptFiles(log));
    context.subscriptions.push(...registerLanguageFeatures(documents, models));
    context.subscriptions.push(...registerQuickFixes(documents));
    context.subscriptions.push(...registerCodeLenses(documents, models));
    context.subscriptions.push(...registerCommands(documents, diagnostics, evaluations, log, context.extensionUri, models));
    context.subscriptions.push(...registerApiKeyCommands(keys, log));
    context.subscriptions.push(...registerModelStatus(documents, models));
    context.subscriptions.push(registerResultsPanelSerializer(context.extensionUri, log, (runFile) => evaluations.loadRun(runFile)));
    const tests = new PromptTests(documents, evaluations, log);
    context.subscriptions.push(tests);
    context.subscriptions.push(
      onSettingsChanged((impact) => reloadFor(impact, { diagnostics, backends, models, log })),
      // A key reaches only its provider's backends.
      keys.onDidChange((endpoint) => void backends.dropRemote(endpoint)),
    );
    const activationMs = performance.now() - started;
    log.info('activate', `activated in ${activationMs.toFixed(1)} ms`);
    return { activationMs, backends, evaluations, tests };
  } catch (error) {
    // One message for the user, the stack in the log, and VS Code marks the extension failed.
    log.error('activate', error);
    const message = error instanceof Error ? error.message : String(error);
    void vscode.window.showErrorMessage(`Chainscope failed to start: ${message}`, 'Show Log').then((choice) => {
      if (choice) log.show();
    });
    throw error;
  }
}

/** Reloads what a settings change reaches, and nothing else: a price change keeps the local model loaded. */
function reloadFor(
  impact: SettingsImpact,
  parts: { diagnostics: PromptDiagnostics; backends: Backends; models: ModelChoice; log: Logger },
): void {
  const reloaded = (Object.keys(impact) as (keyof SettingsImpact)[]).filter((part) => impact[part]);
  if (reloaded.length > 0) parts.log.debug('settings', `reloading ${reloaded.join(', ')}`);
  if (impact.diagnostics) parts.diagnostics.refreshAll();
  if (impact.remoteBackends) void parts.backends.dropRemote();
  if (impact.localBackend) void parts.backends.dropLocal();
  if (impact.modelChoice) parts.models.defaultChanged();
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
