import * as vscode from 'vscode';
import type { CudaSetup } from '../core/local/cudaSetup';
import { core } from './core';
import type { PromptDiagnostics } from './diagnostics';
import { isPromptDocument, type PromptDocuments } from './documents';
import type { Evaluations } from './evaluation';
import type { ModelChoice } from './backends';
import { tokenCounterFor } from './languageFeatures';
import type { Logger } from './log';
import { ResultsPanel } from './panel';

function activePromptEditor(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  return isPromptDocument(editor?.document) ? editor : undefined;
}

/** Commands stay registered when they cannot act, and say why. */
export function registerCommands(
  documents: PromptDocuments,
  diagnostics: PromptDiagnostics,
  evaluations: Evaluations,
  log: Logger,
  extensionUri: vscode.Uri,
  models: ModelChoice,
): vscode.Disposable[] {
  const target = (uri?: vscode.Uri): vscode.Uri | undefined => {
    const resolved = uri instanceof vscode.Uri ? uri : activePromptEditor()?.document.uri;
    if (!resolved) void vscode.window.showInformationMessage('Chainscope: open a .prompt file to evaluate it.');
    return resolved;
  };
  return [
    vscode.commands.registerCommand('chainscope.evaluate', (uri?: vscode.Uri) => {
      const resolved = target(uri);
      return resolved ? evaluations.evaluate({ uri: resolved }) : undefined;
    }),
    vscode.commands.registerCommand('chainscope.submitBatch', (uri?: vscode.Uri) => {
      const resolved = target(uri);
      return resolved ? evaluations.evaluate({ uri: resolved, batch: true }) : undefined;
    }),
    vscode.commands.registerCommand('chainscope.evaluateCase', async (uri?: vscode.Uri, caseId?: string) => {
      const resolved = target(uri);
      if (!resolved) return undefined;
      let chosen = caseId;
      if (!chosen) {
        const loaded = await documents.get(await vscode.workspace.openTextDocument(resolved));
        chosen = (
          await vscode.window.showQuickPick(
            loaded.cases.map((testCase) => ({ label: testCase.name ?? testCase.id, id: testCase.id })),
            { title: 'Evaluate which case?' },
          )
        )?.id;
      }
      return chosen ? evaluations.evaluate({ uri: resolved, cases: [chosen] }) : undefined;
    }),
    vscode.commands.registerCommand('chainscope.evaluateVariant', async (uri?: vscode.Uri, variant?: string) => {
      const resolved = target(uri);
      if (!resolved) return undefined;
      let chosen = variant;
      if (!chosen) {
        const loaded = await documents.get(await vscode.workspace.openTextDocument(resolved));
        chosen = (
          await vscode.window.showQuickPick(
            loaded.document.variants.map((v) => ({ label: v.name, description: v.kind })),
            { title: 'Evaluate which variant?' },
          )
        )?.label;
      }
      return chosen ? evaluations.evaluate({ uri: resolved, variants: [chosen] }) : undefined;
    }),
    vscode.commands.registerCommand('chainscope.checkDocument', async (uri?: vscode.Uri) => {
      const document = uri ? await vscode.workspace.openTextDocument(uri) : activePromptEditor()?.document;
      if (!document) {
        void vscode.window.showInformationMessage('Chainscope: open a .prompt file to check it.');
        return [];
      }
      const problems = await diagnostics.update(document);
      const errors = problems.filter((problem) => problem.severity === vscode.DiagnosticSeverity.Error).length;
      void vscode.window.setStatusBarMessage(`Chainscope: ${errors} error(s), ${problems.length - errors} other problem(s)`, 5000);
      return problems;
    }),
    vscode.commands.registerCommand('chainscope.showTokenCounts', async (uri?: vscode.Uri) => {
      const document = uri ? await vscode.workspace.openTextDocument(uri) : activePromptEditor()?.document;
      if (!document) {
        void vscode.window.showInformationMessage('Chainscope: open a .prompt file to count its tokens.');
        return undefined;
      }
      const loaded = await documents.get(document);
      const { counter } = await tokenCounterFor(document.uri, loaded.document, models);
      const report = await core().tokenReport(loaded.document, loaded.cases, { counter });
      const items = report.rows.map((row) => ({
        label: row.variant.name,
        description: report.exact ? `${row.promptTokens} prompt tokens` : `${row.chatTokens} chat tokens · ${row.textTokens} text tokens`,
        detail: `${row.examples} examples · mean ${row.meanChatTokens.toFixed(1)} over ${row.casesMeasured} cases (${report.tokenizer})`,
      }));
      log.info('tokens', items.map((item) => `${item.label}: ${item.description}`).join('; '));
      void vscode.window.showQuickPick(items, { title: `Token counts (${report.tokenizer})`, canPickMany: false });
      return report.rows.map((row) => ({
        variant: row.variant.name,
        promptTokens: row.promptTokens,
        chatTokens: row.chatTokens,
        textTokens: row.textTokens,
        tokenizer: report.tokenizer,
      }));
    }),
    vscode.commands.registerCommand('chainscope.showResults', (uri?: vscode.Uri) => {
      const resolved = uri instanceof vscode.Uri ? uri : activePromptEditor()?.document.uri;
      const result = evaluations.latestFor(resolved);
      if (!result) {
        void vscode.window.showInformationMessage('Chainscope: no results yet in this session — run ▶ Evaluate first.');
        return;
      }
      const panel = ResultsPanel.show(extensionUri, log);
      void evaluations.panelSource(result).then((source) => ResultsPanel.open === panel && panel.attach(source));
    }),
    vscode.commands.registerCommand('chainscope.showLog', () => log.show()),
    vscode.commands.registerCommand('chainscope.setupCuda', () => setUpCuda(log)),
  ];
}

/**
 * Says what the CUDA execution provider still lacks here and offers to fetch onnxruntime's provider
 * libraries in a terminal (the extension's copy of onnxruntime-node never ran npm's install script).
 * Returns what it found, without waiting for the user's answer.
 */
function setUpCuda(log: Logger): CudaSetup {
  const { cudaSetup, describeCudaSetup } = core();
  const setup = cudaSetup();
  const steps = describeCudaSetup(setup);
  for (const line of steps) log.info('cuda', line);
  if (!setup.supported) {
    void vscode.window.showInformationMessage(`Chainscope: ${steps[0] ?? ''}`);
    return setup;
  }
  if (setup.missingProviders.length === 0 && setup.missingSystem.length === 0) {
    void vscode.window.showInformationMessage(
      "Chainscope: CUDA 12, cuDNN 9 and onnxruntime's CUDA provider are all here. Local models use the GPU with chainscope.local.executionProvider = auto or cuda (reload the window if a model is already loaded).",
    );
    return setup;
  }
  const install = 'Fetch provider libraries in a terminal';
  const show = 'Show the steps';
  const actions = setup.missingProviders.length > 0 && setup.runtimeFolder ? [install, show] : [show];
  const missing = [...setup.missingSystem, ...setup.missingProviders].join(', ');
  void vscode.window.showWarningMessage(`Chainscope: the CUDA execution provider needs ${missing}.`, ...actions).then((choice) => {
    if (choice === install && setup.runtimeFolder) {
      const terminal = vscode.window.createTerminal({ name: 'Chainscope: CUDA', cwd: setup.runtimeFolder, env: setup.installEnvironment });
      terminal.sendText(setup.installCommand);
      terminal.show();
      log.info('cuda', `fetching the provider libraries in a terminal (${setup.runtimeFolder}); reload the window when it is done`);
    } else if (choice === show) {
      log.show();
    }
  });
  return setup;
}
