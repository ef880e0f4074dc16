import * as vscode from 'vscode';
import { readSettings } from './config';
import { toDiagnostic } from './convert';
import { isPromptDocument, type PromptDocuments } from './documents';
import type { Logger } from './log';

const DEBOUNCE_MS = 200;

/** Keeps the Problems view in step with open `.prompt` files and the datasets they read. */
export class PromptDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('chainscope');
  private readonly disposables: vscode.Disposable[] = [this.collection];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Dataset files that received diagnostics on behalf of each prompt, to clear them later. */
  private readonly datasetUris = new Map<string, vscode.Uri[]>();

  constructor(
    private readonly documents: PromptDocuments,
    private readonly log: Logger,
  ) {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((document) => this.schedule(document, 0)),
      vscode.workspace.onDidChangeTextDocument((event) => this.schedule(event.document, DEBOUNCE_MS)),
      vscode.workspace.onDidCloseTextDocument((document) => this.clear(document.uri)),
    );
    const datasets = vscode.workspace.createFileSystemWatcher('**/*.{jsonl,ndjson,csv,js,cjs,mjs}');
    const refresh = (): void => {
      this.documents.invalidate();
      this.refreshAll();
    };
    this.disposables.push(datasets, datasets.onDidChange(refresh), datasets.onDidCreate(refresh), datasets.onDidDelete(refresh));
    this.refreshAll();
  }

  refreshAll(): void {
    for (const document of vscode.workspace.textDocuments) this.schedule(document, 0);
  }

  private schedule(document: vscode.TextDocument, delay: number): void {
    if (!isPromptDocument(document)) return;
    const key = document.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.update(document).catch((error: unknown) => this.log.error('diagnostics', error));
      }, delay),
    );
  }

  async update(document: vscode.TextDocument): Promise<readonly vscode.Diagnostic[]> {
    const key = document.uri.toString();
    if (!readSettings(document.uri).diagnosticsEnabled) {
      this.clear(document.uri);
      return [];
    }
    const version = document.version;
    const loaded = await this.documents.get(document);
    // A newer edit already scheduled its own update.
    if (document.version !== version || document.isClosed) return this.collection.get(document.uri) ?? [];

    const own: vscode.Diagnostic[] = [];
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const diagnostic of loaded.diagnostics) {
      if (diagnostic.file && diagnostic.file !== document.uri.fsPath) {
        const list = byFile.get(diagnostic.file) ?? [];
        list.push(toDiagnostic(diagnostic));
        byFile.set(diagnostic.file, list);
      } else {
        own.push(toDiagnostic(diagnostic));
      }
    }
    for (const uri of this.datasetUris.get(key) ?? []) this.collection.delete(uri);
    const datasetUris = [...byFile.keys()].map((file) => vscode.Uri.file(file));
    datasetUris.forEach((uri, i) => this.collection.set(uri, byFile.get([...byFile.keys()][i] ?? '') ?? []));
    this.datasetUris.set(key, datasetUris);
    this.collection.set(document.uri, own);
    this.log.debug('diagnostics', `${vscode.workspace.asRelativePath(document.uri)}: ${own.length} problem(s)`);
    return own;
  }

  private clear(uri: vscode.Uri): void {
    const key = uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.collection.delete(uri);
    for (const datasetUri of this.datasetUris.get(key) ?? []) this.collection.delete(datasetUri);
    this.datasetUris.delete(key);
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    for (const disposable of this.disposables) disposable.dispose();
  }
}
