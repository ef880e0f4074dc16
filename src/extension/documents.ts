import * as vscode from 'vscode';
import type { FileSystem, LoadedPrompt } from '../core/prompt/load';
import { core } from './core';
import { isLegacyPromptFile, LANGUAGE_ID, LEGACY_LANGUAGE_ID } from './languageId';
import type { Logger } from './log';

export const PROMPT_SELECTOR: vscode.DocumentSelector = { language: LANGUAGE_ID };

export function isPromptDocument(document: vscode.TextDocument | undefined): document is vscode.TextDocument {
  return document?.languageId === LANGUAGE_ID;
}

/**
 * Gives `.prompt` files still opened as `prompt` (an association from before `dotprompt`) our language,
 * now and as they open; VS Code reopens each under the new id, so every feature sees it.
 */
export function adoptLegacyPromptFiles(log: Logger): vscode.Disposable {
  const adopt = (document: vscode.TextDocument): void => {
    if (!isLegacyPromptFile(document.languageId, document.uri.path)) return;
    vscode.languages.setTextDocumentLanguage(document, LANGUAGE_ID).then(
      () => log.info('language', `${document.uri.path} was opened as '${LEGACY_LANGUAGE_ID}' (files.associations?): now '${LANGUAGE_ID}'`),
      (error: unknown) => log.error('language', error),
    );
  };
  for (const document of vscode.workspace.textDocuments) adopt(document);
  return vscode.workspace.onDidOpenTextDocument(adopt);
}

/** Reads files through VS Code, so unsaved dataset edits and remote workspaces are seen. */
const workspaceFileSystem: FileSystem = {
  async readFile(file) {
    const open = vscode.workspace.textDocuments.find((document) => document.uri.fsPath === file);
    if (open) return open.getText();
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.file(file)));
  },
  async exists(file) {
    try {
      return (await vscode.workspace.fs.stat(vscode.Uri.file(file))).type === vscode.FileType.File;
    } catch {
      return false;
    }
  },
  async kind(file) {
    try {
      // A flag set: a link to a file is File | SymbolicLink.
      const { type } = await vscode.workspace.fs.stat(vscode.Uri.file(file));
      return type & vscode.FileType.File ? 'file' : type & vscode.FileType.Directory ? 'folder' : 'other';
    } catch {
      return 'missing';
    }
  },
};

/** Parses each open `.prompt` document once per version; every feature asks here. */
export class PromptDocuments implements vscode.Disposable {
  private readonly cache = new Map<string, { version: number; loaded: Promise<LoadedPrompt> }>();
  private readonly closeListener = vscode.workspace.onDidCloseTextDocument((document) => this.cache.delete(document.uri.toString()));

  get(document: vscode.TextDocument): Promise<LoadedPrompt> {
    const key = document.uri.toString();
    const cached = this.cache.get(key);
    if (cached && cached.version === document.version) return cached.loaded;
    const loaded = core().loadPrompt(document.uri.fsPath, document.getText(), workspaceFileSystem);
    this.cache.set(key, { version: document.version, loaded });
    return loaded;
  }

  /** Forgets cached results, e.g. when a dataset next to a prompt changes. */
  invalidate(): void {
    this.cache.clear();
  }

  dispose(): void {
    this.closeListener.dispose();
    this.cache.clear();
  }
}
