import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunResult } from '../core/eval/results';
import type { CompletionRecord, RunHeader } from '../core/eval/store';
import type { Prices } from '../core/eval/results';
import { core } from './core';
import type { LoadedPrompt } from '../core/prompt/load';
import type { Backends, ModelChoice } from './backends';
import { readSettings } from './config';
import type { PromptDocuments } from './documents';
import type { Logger } from './log';
import { ResultsPanel } from './panel';

export interface EvaluateRequest {
  uri: vscode.Uri;
  variants?: string[];
  cases?: string[];
  /** Continue this run file instead of starting a new run. */
  resume?: string;
  /** Test Explorer passes its own cancellation; otherwise a progress notification offers one. */
  token?: vscode.CancellationToken;
  showPanel?: boolean;
}

const PARTIAL_UPDATE_MS = 250;

/** Runs evaluations from the editor: progress, cancellation, partial results in the panel, run files. */
export class Evaluations implements vscode.Disposable {
  private readonly latest = new Map<string, RunResult>();
  private readonly finished = new vscode.EventEmitter<{ uri: vscode.Uri; result: RunResult }>();
  readonly onDidFinish = this.finished.event;
  private running = 0;

  constructor(
    private readonly documents: PromptDocuments,
    private readonly backends: Backends,
    private readonly models: ModelChoice,
    private readonly log: Logger,
    private readonly extensionUri: vscode.Uri,
  ) {}

  get busy(): boolean {
    return this.running > 0;
  }

  latestResult(uri: vscode.Uri): RunResult | undefined {
    return this.latest.get(uri.toString());
  }

  /** The most recent run of any file in this session. */
  lastResult(): RunResult | undefined {
    return [...this.latest.values()].at(-1);
  }

  private runsDirectory(uri: vscode.Uri): string {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const setting = readSettings(uri).runsDirectory;
    return path.resolve(folder ? folder.uri.fsPath : path.dirname(uri.fsPath), setting);
  }

  async evaluate(request: EvaluateRequest): Promise<RunResult | undefined> {
    const document = await vscode.workspace.openTextDocument(request.uri);
    const loaded = await this.documents.get(document);
    const errors = loaded.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
    if (errors.length > 0) {
      void vscode.window.showErrorMessage(`Chainscope: ${path.basename(request.uri.fsPath)} has ${errors.length} problem(s) to fix before it can be evaluated.`, 'Show Problems').then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.actions.view.problems');
      });
      return undefined;
    }
    const model = this.models.resolve(loaded.document);
    let backend;
    try {
      backend = await this.backends.forModel(model);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.warn('evaluate', message);
      const actions = /API key/i.test(message) ? ['Set API Key'] : ['Choose Model'];
      void vscode.window.showErrorMessage(`Chainscope: ${message}`, ...actions).then((choice) => {
        if (choice === 'Set API Key') void vscode.commands.executeCommand('chainscope.setApiKey');
        if (choice === 'Choose Model') void vscode.commands.executeCommand('chainscope.selectModel');
      });
      return undefined;
    }

    const runsDirectory = this.runsDirectory(request.uri);
    const previousFile = request.resume ? undefined : core().latestRunFile(runsDirectory, loaded.file);
    const prices = core().priceFor(backend.id, backend.model, { ...core().DEFAULT_PRICES, ...readSettings().prices });
    const panel = request.showPanel === false ? undefined : ResultsPanel.show(this.extensionUri, this.log);
    this.running++;
    try {
      const run = (token: vscode.CancellationToken, progress?: vscode.Progress<{ message?: string; increment?: number }>) =>
        this.execute(request, document.getText(), loaded, backend, runsDirectory, previousFile, prices, token, progress, panel);
      const result = request.token
        ? await run(request.token)
        : await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: `Chainscope: ${loaded.document.name ?? path.basename(request.uri.fsPath)} on ${backend.id}:${backend.model}`, cancellable: true },
            (progress, token) => run(token, progress),
          );
      // Re-inserted so that the map's order is the order runs finished in.
      this.latest.delete(request.uri.toString());
      this.latest.set(request.uri.toString(), result);
      this.finished.fire({ uri: request.uri, result });
      if (result.status === 'cancelled') {
        void vscode.window.showInformationMessage(`Chainscope: cancelled — the ${result.cells.reduce((sum, cell) => sum + cell.chains.length, 0)} finished chains are kept.`, 'Resume').then((choice) => {
          if (choice === 'Resume') void this.evaluate({ uri: request.uri, resume: result.runFile });
        });
      }
      return result;
    } catch (error) {
      this.log.error('evaluate', error);
      void vscode.window.showErrorMessage(`Chainscope: the run failed: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    } finally {
      this.running--;
    }
  }

  private async execute(
    request: EvaluateRequest,
    text: string,
    loaded: LoadedPrompt,
    backend: Awaited<ReturnType<Backends['forModel']>>,
    runsDirectory: string,
    previousFile: string | undefined,
    prices: Prices | undefined,
    token: vscode.CancellationToken,
    progress: vscode.Progress<{ message?: string; increment?: number }> | undefined,
    panel: ResultsPanel | undefined,
  ): Promise<RunResult> {
    const controller = new AbortController();
    const cancellation = token.onCancellationRequested(() => controller.abort());
    let header: RunHeader | undefined;
    let runFilePath = '';
    const records: CompletionRecord[] = [];
    let lastUpdate = 0;
    let lastPercent = 0;
    const showPartial = (force = false): void => {
      if (!panel || !header) return;
      const now = Date.now();
      if (!force && now - lastUpdate < PARTIAL_UPDATE_MS) return;
      lastUpdate = now;
      const result = core().summarizeRun(loaded.document, loaded.cases, { header, completions: records, skippedLines: [] }, prices);
      result.runFile = runFilePath;
      panel.update({ result, progress: { done: records.length, total: header.variants.length * header.cases.length * header.samples } });
    };
    try {
      const outcome = await core().runEvaluation({
        loaded,
        promptText: text,
        backend,
        runsDirectory,
        ...(request.variants ? { variants: request.variants } : {}),
        ...(request.cases ? { cases: request.cases } : {}),
        ...(request.resume ? { resume: request.resume } : {}),
        signal: controller.signal,
        onStart: (started, file, previous) => {
          header = started;
          runFilePath = file;
          for (const record of previous) if (!record.error) records.push(record); // no push(...): a resumed run may hold millions
          this.log.info('evaluate', `run ${started.id}: ${started.variants.length} variants × ${started.cases.length} cases × ${started.samples} chains on ${backend.id}:${backend.model} → ${file}`);
          showPartial(true);
        },
        onRecord: (record) => {
          records.push(record);
          if (record.error) this.log.warn('evaluate', `${record.variant} / ${record.case} #${record.sample}: ${record.error}`);
          showPartial();
        },
        onProgress: (event) => {
          if (!progress || event.total === 0) return;
          const percent = (event.done / event.total) * 100;
          const eta = event.etaMs !== undefined && event.done < event.total ? ` · ${Math.ceil(event.etaMs / 1000)} s left` : '';
          const streaming = event.streamedChars > 0 ? ` · ${event.streamedChars.toLocaleString('en-US')} characters streaming` : '';
          progress.report({ message: `${event.done}/${event.total} chains${event.failed ? ` (${event.failed} failed)` : ''}${streaming}${eta}`, increment: percent - lastPercent });
          lastPercent = percent;
        },
        onWarning: (message) => {
          this.log.warn('evaluate', message);
          void vscode.window.showWarningMessage(`Chainscope: ${message}`);
        },
      });
      let customScores;
      if (loaded.document.scorer.type === 'custom') {
        // Custom scorers run the workspace's code: only in a trusted workspace (loadCustomScorer refuses otherwise).
        customScores = await core().scoreWithCustomScorer(loaded.document, loaded.cases, outcome.run, path.dirname(loaded.file), vscode.workspace.isTrusted);
      }
      const result = core().summarizeRun(loaded.document, loaded.cases, outcome.run, prices, customScores);
      result.runFile = outcome.runFile;
      let comparison;
      if (previousFile && fs.existsSync(previousFile)) {
        try {
          const previous = core().summarizeRun(loaded.document, loaded.cases, core().RunFile.open(previousFile).read(), prices);
          comparison = core().compareRuns(previous, result);
        } catch (error) {
          this.log.warn('evaluate', `previous run not comparable: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      panel?.update({ result, ...(comparison ? { comparison } : {}) });
      this.log.info('evaluate', `run ${result.runId} ${result.status}: ${result.variants.map((v) => `${v.name} ${(v.majorityVote.value * 100).toFixed(1)}%`).join(', ')}`);
      return result;
    } finally {
      cancellation.dispose();
    }
  }

  dispose(): void {
    this.finished.dispose();
  }
}
