import * as vscode from 'vscode';
import { BACKEND_NAMES, baseUrlListProblem } from '../core/backends/endpoints';
import { formatModelReference, parseModelReference } from '../core/backends/reference';
import { redactUrl } from '../core/redact';
import type { ModelChoice } from './backends';
import { readSettings, storeBaseUrl } from './config';
import { isPromptDocument, type PromptDocuments } from './documents';
import { BASE_URL_SETTINGS } from './settingsImpact';

const SUGGESTED_MODELS = [
  'local:arith-tiny',
  'openai:gpt-4o-mini',
  'openai:gpt-4.1-mini',
  'azure:<deployment>',
  'ollama:llama3.2',
  'vllm:<model>',
  'lmstudio:<model>',
  'llamacpp:<model>',
];

const COMPATIBLE = 'openai-compatible';

/** What `chainscope.selectModel` may be given, from a keybinding's `args` or a test, instead of asking. */
export interface ModelSelection {
  /** `backend:model`; null: each prompt's own model again. */
  model: string | null;
  /** The server's base URL, stored in the backend's base-URL setting (e.g. `chainscope.compatible.baseUrl`). */
  baseUrl?: string;
}

function validateModelReference(value: string): string | undefined {
  const { provider, model } = parseModelReference(value);
  if (provider === undefined || !model) return 'Write it as backend:model';
  if (/[<>]/.test(model)) return 'Put the model name in place of <…>';
  return BACKEND_NAMES.includes(provider) ? undefined : `Unknown backend '${provider}': use one of ${BACKEND_NAMES.join(', ')}`;
}

/** Stores the selection's base URL, then pins its model; refuses, saying why, what could not run. */
async function applySelection(models: ModelChoice, selection: ModelSelection): Promise<string | undefined> {
  // Keybinding args are JSON the user wrote: anything but a string (or null) is refused below.
  const model =
    typeof selection.model === 'string'
      ? selection.model.trim() || undefined
      : selection.model === null
        ? undefined
        : String(selection.model);
  const problem = model === undefined ? undefined : validateModelReference(model);
  if (problem) throw new Error(`Chainscope: ${problem} (got '${model}')`);
  if (selection.baseUrl !== undefined) {
    const provider = parseModelReference(model).provider;
    if (provider === undefined || !BASE_URL_SETTINGS[provider]) throw new Error(`Chainscope: a base URL needs a model of a server backend`);
    const urlProblem = baseUrlListProblem(String(selection.baseUrl));
    if (urlProblem) throw new Error(`Chainscope: ${urlProblem}`);
    await storeBaseUrl(provider, String(selection.baseUrl).trim());
  }
  await models.pin(model === undefined ? undefined : formatModelReference(parseModelReference(model)));
  return models.pinned;
}

/** Asks for an OpenAI-compatible server's URL and the model it serves; undefined when dismissed. */
async function askCompatibleServer(currentModel: string | undefined): Promise<ModelSelection | undefined> {
  const stored = readSettings().baseUrls[COMPATIBLE];
  const baseUrl = await vscode.window.showInputBox({
    title: 'OpenAI-compatible server (1/2): base URL',
    prompt: 'Where its OpenAI API answers, e.g. http://127.0.0.1:8000/v1 (kept in chainscope.compatible.baseUrl)',
    value: stored ?? 'http://127.0.0.1:8000/v1',
    ignoreFocusOut: true,
    validateInput: baseUrlListProblem,
  });
  if (baseUrl === undefined) return undefined;
  const current = parseModelReference(currentModel);
  const name = await vscode.window.showInputBox({
    title: 'OpenAI-compatible server (2/2): model',
    // Each replica's URL redacted on its own: one pass over the list would miss credentials after the first.
    prompt: `The model's name on ${baseUrl
      .split(',')
      .map((url) => url.trim())
      .filter(Boolean)
      .map(redactUrl)
      .join(', ')}, as its /v1/models lists it`,
    value: current.provider === COMPATIBLE ? current.model : '',
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() ? undefined : 'Name the model'),
  });
  if (name === undefined) return undefined;
  return { model: `${COMPATIBLE}:${name.trim()}`, baseUrl };
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
  const select = vscode.commands.registerCommand('chainscope.selectModel', async (selection?: ModelSelection) => {
    // Menus pass a URI: only a `{model}` object skips the picker.
    if (selection && typeof selection === 'object' && 'model' in selection) return applySelection(models, selection);
    const editor = vscode.window.activeTextEditor;
    const prompt = isPromptDocument(editor?.document) ? (await documents.get(editor.document)).document : undefined;
    const own = prompt?.model;
    const current = models.resolve(prompt);
    const server = readSettings().baseUrls[COMPATIBLE];
    type Pick = vscode.QuickPickItem & { model?: string | null; server?: true };
    // The current model first, marked, wherever it comes from.
    const listed = [...new Set([current, ...(own ? [own] : []), ...SUGGESTED_MODELS])];
    const picks: Pick[] = [
      ...(models.pinned ? [{ label: "$(discard) Use each prompt's own model", model: null }] : []),
      ...listed.map((model): Pick => {
        const notes = [
          model === current ? '$(check) current' : '',
          model === models.pinned ? 'chosen for this workspace' : model === own ? "the prompt's model" : '',
          model === current && !models.pinned && !own ? 'chainscope.defaultModel' : '',
        ];
        return { label: model, description: notes.filter(Boolean).join(' · '), model };
      }),
      {
        label: '$(server) OpenAI-compatible server…',
        description: server ? redactUrl(server) : 'its URL and model',
        detail: 'Any server that speaks the OpenAI API: llama.cpp, LM Studio, vLLM, TGI, SGLang, a gateway',
        server: true,
      },
      { label: '$(edit) Other…', description: 'backend:model, e.g. vllm:Qwen/Qwen2.5-1.5B-Instruct' },
    ];
    const pick = await vscode.window.showQuickPick(picks, {
      title: 'Chainscope: model for evaluations',
      placeHolder: `now: ${current}${models.pinned ? ' (chosen for this workspace)' : ''}`,
    });
    if (!pick) return models.pinned;
    let chosen: ModelSelection | undefined;
    if (pick.server) {
      chosen = await askCompatibleServer(current);
    } else if (pick.model === null) {
      chosen = { model: null };
    } else if (pick.model !== undefined && !pick.model.includes('<')) {
      chosen = { model: pick.model };
    } else {
      // "Other…", or a suggestion whose model is to be named (`vllm:<model>`).
      const model = await vscode.window.showInputBox({
        title: 'Model reference',
        prompt: 'backend:model',
        value: pick.model?.replace(/<[^>]*>/g, '') ?? models.pinned ?? own ?? '',
        validateInput: validateModelReference,
      });
      if (model === undefined) return models.pinned;
      // Your own server needs its URL too, unless one is set.
      chosen = parseModelReference(model).provider === COMPATIBLE && !server ? await askCompatibleServer(model) : { model };
    }
    if (!chosen) return models.pinned;
    try {
      return await applySelection(models, chosen);
    } catch (error) {
      void vscode.window.showErrorMessage(error instanceof Error ? error.message : String(error));
      return models.pinned;
    }
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
