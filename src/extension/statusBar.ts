import * as vscode from 'vscode';
import { BACKEND_NAMES } from '../core/backends/endpoints';
import { parseModelReference } from '../core/backends/reference';
import type { ModelChoice } from './backends';
import { isPromptDocument, type PromptDocuments } from './documents';

const SUGGESTED_MODELS = [
  'local:arith-tiny',
  'openai:gpt-4o-mini',
  'openai:gpt-4.1-mini',
  'azure:<deployment>',
  'ollama:llama3.2',
  'vllm:<model>',
];

function validateModelReference(value: string): string | undefined {
  const { provider, model } = parseModelReference(value);
  if (provider === undefined || !model) return 'Write it as backend:model';
  return BACKEND_NAMES.includes(provider) ? undefined : `Unknown backend '${provider}': use one of ${BACKEND_NAMES.join(', ')}`;
}

/** Shows the model a run would use for the active prompt; clicking switches it. */
export function registerModelStatus(documents: PromptDocuments, models: ModelChoice): vscode.Disposable[] {
  const item = vscode.window.createStatusBarItem('chainscope.model', vscode.StatusBarAlignment.Right, 100);
  item.name = 'Chainscope Model';
  item.command = 'chainscope.selectModel';
  const refresh = async (): Promise<void> => {
    const editor = vscode.window.activeTextEditor;
    if (!isPromptDocument(editor?.document)) {
      item.hide();
      return;
    }
    const loaded = await documents.get(editor.document);
    const model = models.resolve(loaded.document);
    item.text = `$(beaker) ${model}`;
    item.tooltip = new vscode.MarkdownString(
      `Chainscope evaluates with **${model}**${models.pinned ? ' (chosen for this workspace)' : loaded.document.model ? " (the prompt's model)" : ' (chainscope.defaultModel)'}.\n\nClick to switch.`,
    );
    item.show();
  };
  const select = vscode.commands.registerCommand('chainscope.selectModel', async () => {
    const editor = vscode.window.activeTextEditor;
    const own = isPromptDocument(editor?.document) ? (await documents.get(editor.document)).document.model : undefined;
    const picks: (vscode.QuickPickItem & { model?: string | null })[] = [
      ...(models.pinned ? [{ label: "$(discard) Use each prompt's own model", model: null }] : []),
      ...(own ? [{ label: own, description: "the prompt's model", model: own }] : []),
      ...SUGGESTED_MODELS.filter((model) => model !== own).map((model) => ({ label: model, model })),
      { label: '$(edit) Other…', description: 'backend:model, e.g. vllm:Qwen/Qwen2.5-1.5B-Instruct' },
    ];
    const pick = await vscode.window.showQuickPick(picks, {
      title: 'Chainscope: model for evaluations',
      placeHolder: models.pinned ? `now: ${models.pinned}` : 'the prompt decides by default',
    });
    if (!pick) return;
    let model = pick.model;
    if (model === undefined) {
      model = await vscode.window.showInputBox({
        title: 'Model reference',
        prompt: 'backend:model',
        value: models.pinned ?? own ?? '',
        validateInput: validateModelReference,
      });
      if (!model) return;
    }
    await models.pin(
      model === null
        ? undefined
        : model
            .trim()
            .replace(/<[^>]*>/g, '')
            .trim() || undefined,
    );
  });
  void refresh();
  return [
    item,
    select,
    vscode.window.onDidChangeActiveTextEditor(() => void refresh()),
    vscode.workspace.onDidChangeTextDocument((event) => {
      if (event.document === vscode.window.activeTextEditor?.document) void refresh();
    }),
    models.onDidChange(() => void refresh()),
  ];
}
