import * as vscode from 'vscode';
import type { Diagnostic } from '../core/prompt/types';
import { toRange } from './convert';
import { PROMPT_SELECTOR, type PromptDocuments } from './documents';

/**
 * Quick fixes for diagnostics that carry a suggestion (`Diagnostic.fix`): "did you mean" names and keys, quoting a
 * value cut at a YAML comment, `choices` for a choice extractor. The suggestion comes from the parse of the
 * document's current version, matched to the diagnostics shown (by code and range) in the requested range.
 */
export class PromptQuickFixes implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] };

  constructor(private readonly documents: PromptDocuments) {}

  async provideCodeActions(
    document: vscode.TextDocument,
    range: vscode.Range | vscode.Selection,
    context: vscode.CodeActionContext,
  ): Promise<vscode.CodeAction[]> {
    if (context.only && !context.only.contains(vscode.CodeActionKind.QuickFix)) return [];
    const loaded = await this.documents.get(document);
    const own = (diagnostic: Diagnostic): boolean => !diagnostic.file || diagnostic.file === document.uri.fsPath;
    const actions: vscode.CodeAction[] = [];
    for (const diagnostic of loaded.diagnostics) {
      const fix = diagnostic.fix;
      if (!fix || !own(diagnostic)) continue;
      const diagnosticRange = toRange(diagnostic.range);
      if (!diagnosticRange.intersection(range)) continue;
      // Only for a problem shown (diagnostics can be turned off).
      const shown = context.diagnostics.find((d) => d.code === diagnostic.code && d.range.isEqual(diagnosticRange));
      if (!shown) continue;
      const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
      action.edit = new vscode.WorkspaceEdit();
      action.edit.replace(document.uri, toRange(fix.range), fix.replacement);
      action.diagnostics = [shown];
      // One suggestion per diagnostic: the preferred fix (Ctrl+. then Enter, or "Auto Fix").
      action.isPreferred = true;
      actions.push(action);
    }
    return actions;
  }
}

export function registerQuickFixes(documents: PromptDocuments): vscode.Disposable[] {
  return [vscode.languages.registerCodeActionsProvider(PROMPT_SELECTOR, new PromptQuickFixes(documents), PromptQuickFixes.metadata)];
}
