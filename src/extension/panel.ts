import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { core } from './core';
import {
  MAX_CELLS_PER_MESSAGE,
  type CellPrompt,
  type CellSummary,
  type Comparison,
  type FromWebview,
  type PanelComparison,
  type PanelRun,
  type RunChoice,
  type RunProgress,
  type SavedPanelState,
  type ToWebview,
} from '../shared/protocol';
import type { CellResult, RunResult } from '../core/eval/results';
import { cellKey } from '../core/eval/keys';
import type { LoadedPrompt } from '../core/prompt/load';
import type { SessionOutcome } from '../core/eval/session';
import type { Logger } from './log';

/** Posts the webview has not taken yet beyond which cell batches wait (a busy panel never slows the run). */
const MAX_IN_FLIGHT = 4;

export const RESULTS_VIEW_TYPE = 'chainscope.results';

/** What the panel shows: a run still going (the session's live summary) or a finished result. */
export interface PanelSource {
  readonly runId: string;
  run(): PanelRun;
  /** Every cell, chain-less: sent in batches when the panel (re)loads. */
  allCells(): Promise<CellSummary[]>;
  /** One cell with its chains, for the drawer (a live run's may come from its worker thread). */
  cell(variant: string, caseId: string): Promise<CellResult | undefined>;
  /** One cell's rendered prompt (the drawer's Show prompt); absent where the prompt is not at hand. */
  prompt?: PromptRenderer;
  /** The whole result, for exports (a live run exports what it has so far). */
  result(): RunResult | undefined;
  /** Stops a live run (its finished chains are kept). */
  cancel?(): void;
  /** The comparison shown, changed cells included (exports). */
  comparison?(): Comparison | undefined;
  /** Earlier runs of the prompt for the run picker (a finished run only). */
  earlierRuns?(): RunChoice[];
  /** Compares with the earlier run `previousRunId`: run() and allCells() show it afterwards. */
  compareWith?(previousRunId: string): Promise<void>;
}

/** Earlier runs of a result's prompt, and the comparison with one of them (the run picker). */
export interface RunComparer {
  list(): RunChoice[];
  compare(previousRunId: string): Promise<Comparison>;
}

export type PromptRenderer = (variant: string, caseId: string) => Promise<CellPrompt>;

/**
 * Renders a run's cells from the prompt as loaded, in the form its backend took. `changed`: the prompt file
 * is not the one the run sent (read back after an edit), which the drawer says.
 */
export function promptRenderer(loaded: LoadedPrompt, input: 'chat' | 'text', changed = false): PromptRenderer {
  return async (variant, caseId) => {
    const prompt = await core().renderCellPrompt(loaded.document, loaded.cases, variant, caseId, input);
    return changed ? { ...prompt, changed } : prompt;
  };
}

/** A finished (or read back) result as a panel source. */
export function resultSource(
  result: RunResult,
  comparison?: Comparison,
  { prompt, comparer, split }: { prompt?: PromptRenderer; comparer?: RunComparer; split?: SessionOutcome['split'] } = {},
): PanelSource {
  const { overview, cells } = split ?? core().splitResult(result);
  const byKey = new Map(result.cells.map((cell) => [cellKey(cell.variant, cell.caseId), cell]));
  let compared = comparison;
  // The flipped cells travel marked on their summaries: the run message stays O(variants).
  let marked = core().markChanges(cells, compared);
  const panelComparison = (): PanelComparison | undefined => {
    if (!compared) return undefined;
    const { changes: _changes, ...rest } = compared;
    return rest;
  };
  return {
    runId: result.runId,
    run: () => {
      const shown = panelComparison();
      return { overview, ...(shown ? { comparison: shown } : {}), live: false, cellCount: cells.length };
    },
    allCells: () => Promise.resolve(marked),
    cell: (variant, caseId) => Promise.resolve(byKey.get(cellKey(variant, caseId))),
    ...(prompt ? { prompt } : {}),
    result: () => result,
    comparison: () => compared,
    ...(comparer
      ? {
          earlierRuns: () => comparer.list(),
          compareWith: async (previousRunId: string) => {
            compared = await comparer.compare(previousRunId);
            marked = core().markChanges(cells, compared);
          },
        }
      : {}),
  };
}

/** Reads a run back from its file (a panel restored after a reload): the editor's Evaluations provide it. */
export type RunLoader = (runFile: string) => Promise<PanelSource>;

/**
 * The results webview: one panel, re-used for each run; restored after a reload by its serializer. Every
 * message is small whatever the run's size (src/shared/protocol.ts): cells go in batches, chains only for
 * the cell the user opens, and a webview still digesting earlier messages gets no new cell batches.
 */
export class ResultsPanel implements vscode.Disposable {
  private static current: ResultsPanel | undefined;
  private source: PanelSource | undefined;
  private ready = false;
  /** Posts not yet taken by the webview: while there are many, cell batches wait. */
  private inFlight = 0;
  private readonly disposables: vscode.Disposable[] = [];

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly log: Logger,
  ) {
    panel.webview.options = ResultsPanel.webviewOptions(extensionUri);
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: FromWebview) => this.receive(message)),
    );
  }

  static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')] };
  }

  /** The panel if one is open (a run does not open one when asked not to). */
  static get open(): ResultsPanel | undefined {
    return ResultsPanel.current;
  }

  /** Shows the panel (creating it if needed) beside the editor. */
  static show(extensionUri: vscode.Uri, log: Logger): ResultsPanel {
    if (ResultsPanel.current) {
      // Shown where it is: moving a webview to another group reloads it, and a run's updates sent meanwhile are lost.
      const { panel } = ResultsPanel.current;
      if (!panel.visible) panel.reveal(panel.viewColumn, true);
      return ResultsPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(
      RESULTS_VIEW_TYPE,
      'Chainscope Results',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { ...ResultsPanel.webviewOptions(extensionUri), retainContextWhenHidden: true },
    );
    ResultsPanel.current = new ResultsPanel(panel, extensionUri, log);
    return ResultsPanel.current;
  }

  /** Re-attaches a panel VS Code restored after a restart: its small saved state names the run file to read back. */
  static revive(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    log: Logger,
    saved: SavedPanelState | undefined,
    load: RunLoader,
  ): void {
    ResultsPanel.current?.dispose();
    const revived = new ResultsPanel(panel, extensionUri, log);
    ResultsPanel.current = revived;
    if (!saved?.runFile) return;
    load(saved.runFile).then(
      (source) => {
        if (!revived.source) revived.attach(source);
      },
      (error: unknown) =>
        log.warn('panel', `could not restore the results of ${saved.runFile}: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  get runId(): string | undefined {
    return this.source?.runId;
  }

  /** Shows a run: its overview, then all its cells in batches. */
  attach(source: PanelSource): void {
    this.source = source;
    if (this.ready) void this.sendAll();
  }

  /** Cells that changed in the attached live run: false when the webview is still busy (the caller keeps them for later). */
  sendCells(cells: readonly CellSummary[]): boolean {
    if (!this.ready || !this.source) return true;
    if (this.inFlight > MAX_IN_FLIGHT) return false;
    for (let at = 0; at < cells.length; at += MAX_CELLS_PER_MESSAGE)
      this.post({ type: 'cells', runId: this.source.runId, cells: cells.slice(at, at + MAX_CELLS_PER_MESSAGE) });
    return true;
  }

  sendProgress(progress: RunProgress): void {
    if (this.source) this.post({ type: 'progress', runId: this.source.runId, progress });
  }

  /** The overview only (headline numbers changed): cells go separately. */
  sendOverview(): void {
    if (this.ready && this.source) this.post({ type: 'run', run: this.source.run() });
  }

  /** The session producing the attached run died without a result. */
  sendLost(reason: string): void {
    if (this.source) this.post({ type: 'lost', runId: this.source.runId, reason });
  }

  private async sendAll(): Promise<void> {
    const source = this.source;
    if (!source) return;
    this.post({ type: 'run', run: source.run() });
    const cells = await source.allCells();
    // Another run was attached, or the webview reloaded, meanwhile: that one sends its own.
    if (this.source !== source || !this.ready) return;
    for (let at = 0; at < cells.length; at += MAX_CELLS_PER_MESSAGE)
      this.post({ type: 'cells', runId: source.runId, cells: cells.slice(at, at + MAX_CELLS_PER_MESSAGE) });
    if (source.earlierRuns) {
      try {
        this.post({ type: 'runs', runId: source.runId, runs: source.earlierRuns() });
      } catch (error) {
        this.log.warn('panel', `could not list earlier runs: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private async compareWith(runId: string, previousRunId: string): Promise<void> {
    const source = this.source;
    if (!source?.compareWith || source.runId !== runId) return;
    await source.compareWith(previousRunId);
    // The overview (with the comparison) and every cell (with its mark) again; the picker keeps its list.
    if (this.source === source) await this.sendAll();
  }

  private post(message: ToWebview): void {
    if (!this.ready) return;
    this.inFlight++;
    this.panel.webview.postMessage(message).then(
      () => this.inFlight--,
      () => this.inFlight--,
    );
  }

  private receive(message: FromWebview): void {
    switch (message.type) {
      case 'ready':
        // The webview (re)loaded: send it everything it needs.
        this.ready = true;
        this.inFlight = 0;
        void this.sendAll();
        break;
      case 'openCell': {
        if (!this.source || message.runId !== this.source.runId) break;
        const source = this.source;
        void source.cell(message.variant, message.caseId).then((cell) => {
          if (cell && this.source === source) this.post({ type: 'cell', runId: message.runId, cell });
        });
        break;
      }
      case 'showPrompt':
        void this.sendPrompt(message.runId, message.variant, message.caseId);
        break;
      case 'cancel':
        if (this.source && message.runId === this.source.runId) this.source.cancel?.();
        break;
      case 'compareWith':
        void this.compareWith(message.runId, message.previousRunId).catch((error: unknown) => {
          this.log.error('panel', error);
          void vscode.window.showErrorMessage(`Chainscope: comparison failed: ${error instanceof Error ? error.message : String(error)}`);
        });
        break;
      case 'reveal':
        void this.reveal(message.file, message.line);
        break;
      case 'export':
        void this.export(message.format).catch((error: unknown) => {
          this.log.error('panel', error);
          void vscode.window.showErrorMessage(`Chainscope: export failed: ${error instanceof Error ? error.message : String(error)}`);
        });
        break;
    }
  }

  private async sendPrompt(runId: string, variant: string, caseId: string): Promise<void> {
    const source = this.source;
    if (!source || runId !== source.runId) return;
    let prompt: CellPrompt;
    try {
      prompt = source.prompt
        ? await source.prompt(variant, caseId)
        : { input: 'chat', error: 'The prompt of this run is not at hand: open the run from its prompt file to see it.' };
    } catch (error) {
      this.log.error('panel', error);
      prompt = { input: 'chat', error: `The prompt could not be rendered: ${error instanceof Error ? error.message : String(error)}` };
    }
    // The panel may show another run by now.
    if (this.source?.runId === runId) this.post({ type: 'prompt', runId, variant, caseId, prompt });
  }

  private async reveal(file: string, line: number): Promise<void> {
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    const position = new vscode.Position(line, 0);
    await vscode.window.showTextDocument(document, { selection: new vscode.Range(position, position), viewColumn: vscode.ViewColumn.One });
  }

  private async export(format: 'csv' | 'json' | 'html'): Promise<void> {
    const result = this.source?.result();
    if (!result) return;
    const base = path.join(path.dirname(result.promptFile), `${result.promptName ?? 'results'}-${result.runId.slice(-12)}.${format}`);
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(base), filters: { [format.toUpperCase()]: [format] } });
    if (!target) return;
    const comparison = this.source?.comparison?.();
    const report = core().makeReport([result], new Map(comparison ? [[result.runId, comparison]] : []));
    const content =
      format === 'csv'
        ? core().resultsToCsv(result)
        : format === 'json'
          ? `${JSON.stringify(report, null, 2)}\n`
          : core().renderHtmlReport(report);
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(content));
    this.log.info('panel', `exported ${format.toUpperCase()} to ${target.fsPath}`);
    // Said where it went, with the way there: an export that lands silently is an export lost.
    const open = format === 'html' ? 'Open in Browser' : 'Open';
    const choice = await vscode.window.showInformationMessage(
      `Chainscope: exported ${format.toUpperCase()} to ${vscode.workspace.asRelativePath(target)}`,
      open,
      'Reveal in File Explorer',
    );
    if (choice === open && format === 'html') await vscode.env.openExternal(target);
    else if (choice === open) await vscode.window.showTextDocument(target, { preview: false });
    else if (choice) await vscode.commands.executeCommand('revealFileInOS', target);
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const asset = (name: string): vscode.Uri => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', name));
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource} data:; font-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${asset('panel.css').toString()}">
<title>Chainscope Results</title>
</head>
<body>
<main id="app"><p>Waiting for results…</p></main>
<script nonce="${nonce}" src="${asset('panel.js').toString()}"></script>
</body>
</html>`;
  }

  dispose(): void {
    if (ResultsPanel.current === this) ResultsPanel.current = undefined;
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
    this.panel.dispose();
  }
}

export function registerResultsPanelSerializer(extensionUri: vscode.Uri, log: Logger, load: RunLoader): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(RESULTS_VIEW_TYPE, {
    deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
      ResultsPanel.revive(panel, extensionUri, log, state as SavedPanelState | undefined, load);
      return Promise.resolve();
    },
  });
}
