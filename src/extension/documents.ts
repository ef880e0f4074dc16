import * as vscode from 'vscode';
import type { FileSystem, LoadedPrompt } from '../core/prompt/load';
import { core } from './core';

export const PROMPT_SELECTOR: vscode.DocumentSelector = { language: 'prompt' };

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
