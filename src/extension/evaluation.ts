import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Backend } from '../core/backend';
import type { RunResult } from '../core/eval/results';
import type { SessionOutcome } from '../core/eval/session';
import type { LiveSession, LiveSessionEvent } from '../core/eval/liveSession';
import { core } from './core';
import type { LoadedPrompt } from '../core/prompt/load';
import type { Backends, ModelChoice } from './backends';
import { readSettings } from './config';
import type { PromptDocuments } from './documents';
import type { Logger } from './log';
import { cellKey } from '../core/eval/keys';
import { promptRenderer, ResultsPanel, resultSource, type PanelSource, type PromptRenderer, type RunComparer } from './panel';
import type { RunListing } from '../core/eval/store';
import {
  HEARTBEAT_MS,
  MAX_CELLS_PER_MESSAGE,
  MAX_RUN_CHOICES,
  type CellSummary,
  type RunOverview,
  type RunProgress,
} from '../shared/protocol';

export interface EvaluateRequest {
  uri: vscode.Uri;
  variants?: string[];
  cases?: string[];
  /** Continue this run file instead of starting a new run. */
  resume?: string;
  /** Resume even though the prompt file changed since the run started (the user said so). */
  force?: boolean;
  /** A budget over the prompt file's `budget` (raised after a budget stop, without editing the file). */
  maxCost?: number;
  /** Test Explorer passes its own cancellation; otherwise the panel's Cancel button, or a progress notification without a panel. */
  token?: vscode.CancellationToken;
  showPanel?: boolean;
  /** Started by the Test Explorer, which reports the outcome itself. */
  fromTests?: boolean;
  /** Send the run through the provider's Batch API ("Submit as Batch"); a resumed batch run is one anyway. */
  batch?: boolean;
}

/** Whether requests would need a proxy that only VS Code's own patching of the extension host applies. */
function proxyInUse(httpProxy: string): boolean {
  return (
    httpProxy !== '' ||
    ['HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY'].some((name) => Boolean(process.env[name] ?? process.env[name.toLowerCase()]))
  );
}

/** The first `count` entries of a map, in insertion order (the oldest changes go first). */
function* take<K, V>(map: ReadonlyMap<K, V>, count: number): Generator<[K, V]> {
  if (count <= 0) return;
  let taken = 0;
  for (const entry of map) {
    yield entry;
    if (++taken >= count) return;
  }
}

/** Runs evaluations from the editor: progress, cancellation, partial results in the panel, run files. */
export class Evaluations implements vscode.Disposable {
  private readonly latest = new Map<string, RunResult>();
  /** The prompt each latest result was run from, by the same key: the drawer renders its cells' prompts. */
  private readonly latestPrompts = new Map<string, PromptRenderer>();
  /** Runs going on in this extension host, by run file: a restored panel shows them live. */
  private readonly live = new Map<string, PanelSource>();
  /** Runs going on: cancelled when the extension host shuts down, so their files end as cancelled, not mid-run. */
  private readonly controllers = new Set<AbortController>();
  private readonly finished = new vscode.EventEmitter<{ uri: vscode.Uri; result: RunResult; fromTests: boolean }>();
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

  /** The latest result of `uri` (else of any file) in this session. */
  latestFor(uri: vscode.Uri | undefined): RunResult | undefined {
    const key = uri ? uri.toString() : [...this.latest.keys()].at(-1);
    return key === undefined ? undefined : this.latest.get(key);
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
      void vscode.window
        .showErrorMessage(
          `Chainscope: ${path.basename(request.uri.fsPath)} has ${errors.length} problem(s) to fix before it can be evaluated.`,
          'Show Problems',
        )
        .then((choice) => {
          if (choice) void vscode.commands.executeCommand('workbench.actions.view.problems');
        });
      return undefined;
    }
    const model = this.models.resolve(loaded.document);
    if (request.resume && core().headerOf(request.resume)?.batch) request = { ...request, batch: true };
    let backend;
    try {
      // A batch backend is the run's own: it keeps the run's batches.
      backend = request.batch
        ? await core().createBackend({
            ...(await this.backends.options(model)),
            batch: {},
            env: process.env,
            log: (message) => this.log.info('backend', message),
          })
        : await this.backends.forModel(model);
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
    const panel = request.showPanel === false ? undefined : ResultsPanel.show(this.extensionUri, this.log);
    this.running++;
    try {
      const run = (token: vscode.CancellationToken, progress?: vscode.Progress<{ message?: string; increment?: number }>) =>
        this.execute(request, document.getText(), loaded, backend, runsDirectory, token, progress, panel);
      // A notification, not the status bar: the status bar's spinner repaints all run long, which on a
      // small machine (software rendering) delays typing far more than a toast updated once a second.
      const outcome = request.token
        ? await run(request.token)
        : await vscode.window.withProgress(
            {
              location: vscode.ProgressLocation.Notification,
              title: `Chainscope: ${loaded.document.name ?? path.basename(request.uri.fsPath)} on ${backend.id}:${backend.model}`,
              cancellable: true,
            },
            (progress, token) => run(token, progress),
          );
      const { result } = outcome;
      // Re-inserted so that the map's order is the order runs finished in.
      this.latest.delete(request.uri.toString());
      this.latest.set(request.uri.toString(), result);
      this.latestPrompts.set(request.uri.toString(), promptRenderer(loaded, backend.input));
      this.finished.fire({ uri: request.uri, result, fromTests: request.fromTests === true });
      this.announce(request, result);
      return result;
    } catch (error) {
      if (error instanceof core().RunSetupError) {
        this.log.warn('evaluate', error.message);
        if (error.forcible && request.resume) {
          void vscode.window.showWarningMessage(`Chainscope: ${error.message}`, 'Resume Anyway').then((choice) => {
            if (choice) void this.evaluate({ ...request, force: true });
          });
        } else {
          void vscode.window.showErrorMessage(`Chainscope: ${error.message}`);
        }
        return undefined;
      }
      this.log.error('evaluate', error);
      void vscode.window.showErrorMessage(`Chainscope: the run failed: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    } finally {
      this.running--;
    }
  }

  /** Says how a run ended when it did not simply complete: cancelled, stopped by a fatal error, or with failed chains. */
  private announce(request: EvaluateRequest, result: RunResult): void {
    const resume = (choice: string | undefined): void => {
      if (choice === 'Resume') void this.evaluate({ uri: request.uri, resume: result.runFile });
      if (choice === 'Set API Key') void vscode.commands.executeCommand('chainscope.setApiKey');
    };
    if (result.status === 'cancelled') {
      void vscode.window
        .showInformationMessage(
          `Chainscope: cancelled — the ${result.coverage.finished + result.coverage.failed} finished chains are kept.`,
          'Resume',
        )
        .then(resume);
    } else if (result.status === 'budget') {
      // Raising `budget:` in the file would change the prompt the run was sampled from: the new amount is asked for.
      void vscode.window
        .showWarningMessage(`Chainscope: the run stopped: ${result.error ?? 'the budget was reached'}`, 'Raise Budget and Resume')
        .then(async (choice) => {
          if (choice !== 'Raise Budget and Resume') return;
          const amount = await vscode.window.showInputBox({
            title: 'Budget for the whole run, what it spent so far included',
            value: String(Math.max((result.budget ?? 0) * 2, result.spent ?? 0)),
            validateInput: (value) => (Number(value) > 0 && Number.isFinite(Number(value)) ? undefined : 'An amount above 0, such as 5'),
          });
          if (amount !== undefined) void this.evaluate({ uri: request.uri, resume: result.runFile, maxCost: Number(amount) });
        });
    } else if (result.status === 'failed') {
      const actions = /\b401\b|API key/i.test(result.error ?? '') ? ['Set API Key', 'Resume'] : ['Resume'];
      void vscode.window
        .showErrorMessage(
          `Chainscope: the run stopped: ${result.error ?? 'unknown error'}. ${result.coverage.finished} of ${result.coverage.expected} chains are kept.`,
          ...actions,
        )
        .then(resume);
    } else if (result.coverage.failed > 0) {
      void vscode.window
        .showWarningMessage(
          `Chainscope: ${result.coverage.failed} of ${result.coverage.expected} chains failed (see the log); the results are incomplete.`,
          'Resume',
        )
        .then(resume);
    }
  }

  private async execute(
    request: EvaluateRequest,
    text: string,
    loaded: LoadedPrompt,
    backend: Backend,
    runsDirectory: string,
    token: vscode.CancellationToken,
    progress: vscode.Progress<{ message?: string; increment?: number }> | undefined,
    panel: ResultsPanel | undefined,
  ): Promise<SessionOutcome> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const cancellation = token.onCancellationRequested(() => controller.abort());
    let latest: RunProgress | undefined;
    let overview: RunOverview | undefined;
    let reportedPercent = 0;
    let runFile = '';
    // Cells changed since the panel last took some, latest summary of each: bounded by the run's cells.
    const pendingCells = new Map<string, CellSummary>();
    // A batch's chains come back together, hours later maybe: the notification says why it stands still.
    const batchNote = request.batch ? 'batch in progress · ' : '';
    const onEvent = (event: LiveSessionEvent): void => {
      switch (event.type) {
        case 'start': {
          const { header } = event;
          runFile = event.runFile;
          overview = event.overview;
          const cellCount = header.variants.length * header.cases.length;
          this.log.info(
            'evaluate',
            `run ${header.id}: ${header.variants.length} variants × ${header.cases.length} cases × ${header.samples} chains on ${backend.id}:${backend.model} → ${event.runFile}${threaded ? ` (in the background: ${process.platform === 'linux' ? 'a process' : 'a thread'} at the lowest priority)` : ''}`,
          );
          const source: PanelSource = {
            runId: header.id,
            run: () => ({
              overview: overview ?? event.overview,
              live: true,
              cellCount,
              ...(latest ? { progress: latest } : {}),
            }),
            // Cells with chains only: thousands of empty ones would weigh on the window as the run starts.
            allCells: () => live.allCells(),
            cell: (variant, caseId) => live.cell(variant, caseId),
            prompt: promptRenderer(loaded, header.backend.input),
            result: () => undefined,
            cancel: () => {
              this.log.info('evaluate', `run ${header.id} cancelled from the results panel`);
              controller.abort();
            },
          };
          this.live.set(event.runFile, source);
          // A measured bar from the start: the indeterminate one animates (repaints) until the first report.
          progress?.report({ message: `${batchNote}0/${cellCount * header.samples} chains`, increment: 0 });
          panel?.attach(source);
          break;
        }
        case 'warning':
          this.log.warn('evaluate', event.message);
          void vscode.window.showWarningMessage(`Chainscope: ${event.message}`);
          break;
        case 'log':
          this.log.info('backend', event.message);
          break;
      }
    };
    // A remote model's requests, streaming and scoring take a core on a big run: at background priority
    // (a worker thread; on Linux a process of its own, see sessionThread.ts) they leave this thread, which
    // also serves typing, free. A local model's inference has its thread already; VS Code's proxy
    // support reaches this thread only.
    const settings = readSettings();
    const threaded = backend.id !== 'local' && settings.backgroundThread && !proxyInUse(settings.httpProxy);
    const selection = {
      ...(request.variants ? { variants: request.variants } : {}),
      ...(request.cases ? { cases: request.cases } : {}),
      ...(request.resume ? { resume: request.resume } : {}),
      ...(request.force ? { force: true } : {}),
      ...(request.maxCost !== undefined ? { maxCost: request.maxCost } : {}),
      priceTable: settings.prices,
      // Custom scorers run the workspace's code: only in a trusted workspace (the scorer refuses otherwise).
      trusted: vscode.workspace.isTrusted,
    };
    // A judge on another model than the run's gets a backend of its own, built the way the run's is.
    const judgeReference = core().judgeModelReference(loaded.document.scorer.judge?.model, backend);
    // In this thread a local judge is a backend of its own: the cache holds one local model, the run's.
    const localJudge =
      !threaded && judgeReference && core().parseModelReference(judgeReference).isLocal
        ? await core().createBackend({
            ...(await this.backends.options(judgeReference)),
            env: process.env,
            log: (message) => this.log.info('backend', message),
          })
        : undefined;
    const live: LiveSession = threaded
      ? new (core().ThreadedSession)(
          {
            ...selection,
            promptFile: loaded.file,
            promptText: text,
            backend: {
              ...(await this.backends.options(this.models.resolve(loaded.document))),
              ...(request.batch ? { batch: {} } : {}),
            },
            ...(judgeReference ? { judge: await this.backends.options(judgeReference) } : {}),
            runsDirectory,
            background: true,
          },
          onEvent,
          controller.signal,
        )
      : core().startSession(
          {
            ...selection,
            loaded,
            promptText: text,
            backend,
            ...(judgeReference ? { judge: localJudge ?? (await this.backends.forModel(judgeReference)) } : {}),
            runsDirectory,
            signal: controller.signal,
          },
          onEvent,
        );

    // Everything the user sees of a live run moves on this clock, never per record: the notification,
    // the panel's overview, its changed cells (while it keeps up) and the heartbeat that says the run lives.
    let polling = false;
    const tick = async (): Promise<void> => {
      const target = panel && ResultsPanel.open === panel && runFile ? panel : undefined;
      // Without a panel nothing reads the live cells: they are summarized once, in the final result.
      const poll = await live.poll(target !== undefined);
      for (const failure of poll.failures) this.log.warn('evaluate', failure);
      if (poll.progress) latest = poll.progress;
      if (latest && progress && latest.total > 0) {
        const percent = (latest.done / latest.total) * 100;
        const eta = latest.etaMs !== undefined && latest.done < latest.total ? ` · ${Math.ceil(latest.etaMs / 1000)} s left` : '';
        const pacedMs = (latest.pacedUntil ?? 0) - Date.now();
        const paced = pacedMs > 0 ? ` · paced by rate limit: ${(pacedMs / 1000).toFixed(1)} s` : '';
        progress.report({
          message: `${batchNote}${latest.done}/${latest.total} chains${latest.failed ? ` (${latest.failed} failed)` : ''}${eta}${paced}`,
          increment: percent - reportedPercent,
        });
        reportedPercent = percent;
      }
      if (poll.overview) overview = poll.overview;
      for (const cell of poll.cells) pendingCells.set(cellKey(cell.variant, cell.caseId), cell);
      if (!target || ResultsPanel.open !== target) return;
      if (poll.records > 0) target.sendOverview();
      if (pendingCells.size > 0) {
        const batch = [...take(pendingCells, 2 * MAX_CELLS_PER_MESSAGE)];
        if (target.sendCells(batch.map(([, cell]) => cell))) for (const [key] of batch) pendingCells.delete(key);
      }
      if (latest) target.sendProgress(latest);
    };
    // The panel's heartbeat too (src/shared/protocol.ts): often enough to feel live, rarely enough to leave
    // the window free for typing. A poll still unanswered (a thread busy between batches) is not doubled.
    const clock = setInterval(() => {
      if (polling) return;
      polling = true;
      tick()
        .catch((error: unknown) => this.log.error('evaluate', error))
        .finally(() => (polling = false));
    }, HEARTBEAT_MS);
    try {
      const outcome = await live.run();
      const { result, comparison, split } = outcome;
      if (panel && ResultsPanel.open === panel)
        panel.attach(
          resultSource(result, comparison, {
            prompt: promptRenderer(loaded, backend.input),
            comparer: this.comparer(result, loaded),
            ...(split ? { split } : {}),
          }),
        );
      this.log.info(
        'evaluate',
        `run ${result.runId} ${result.status}: ${result.variants.map((v) => `${v.name} ${(v.majorityVote.value * 100).toFixed(1)}%`).join(', ')}`,
      );
      return outcome;
    } catch (error) {
      panel?.sendLost(error instanceof Error ? error.message : String(error));
      throw error;
    } finally {
      clearInterval(clock);
      void localJudge?.dispose?.();
      this.live.delete(runFile);
      this.controllers.delete(controller);
      cancellation.dispose();
    }
  }

  /** A run's results read back from its file (a panel restored after a reload), or the live run itself. */
  async loadRun(runFile: string): Promise<PanelSource> {
    const live = this.live.get(runFile);
    if (live) return live;
    const { RunFile, summarizeRun, scoreWithCustomScorer } = core();
    const run = RunFile.open(runFile).read();
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(run.header.promptFile));
    const loaded = await this.documents.get(document);
    const customScores =
      loaded.document.scorer.type === 'custom' && vscode.workspace.isTrusted
        ? await scoreWithCustomScorer(loaded.document, loaded.cases, run, path.dirname(loaded.file), true)
        : undefined;
    const prices = core().priceFor(
      run.header.backend.id,
      run.header.backend.model,
      { ...core().DEFAULT_PRICES, ...readSettings().prices },
      run.header.batch ? 'batch' : 'online',
    );
    const result = summarizeRun(loaded.document, loaded.cases, run, prices, customScores);
    result.runFile = runFile;
    const changed = core().hashText(document.getText()) !== run.header.promptHash;
    return resultSource(result, undefined, {
      prompt: promptRenderer(loaded, run.header.backend.input, changed),
      comparer: this.comparer(result, loaded),
    });
  }

  /** A finished result for the panel, with its cells' prompts and the run picker (neither when the prompt cannot be read now). */
  async panelSource(result: RunResult): Promise<PanelSource> {
    try {
      const document = await vscode.workspace.openTextDocument(vscode.Uri.file(result.promptFile));
      const prompt = this.latestPrompts.get(document.uri.toString());
      return resultSource(result, undefined, {
        ...(prompt ? { prompt } : {}),
        comparer: this.comparer(result, await this.documents.get(document)),
      });
    } catch (error) {
      this.log.warn('panel', `no run picker for ${result.runId}: ${error instanceof Error ? error.message : String(error)}`);
      return resultSource(result);
    }
  }

  /** The run picker's side: earlier runs of the result's prompt in its run file's folder, and the comparison with one. */
  private comparer(result: RunResult, loaded: LoadedPrompt): RunComparer {
    const { listRunFiles, headerOf, compareWithRunFile } = core();
    let listed: RunListing[] = [];
    return {
      list: () => {
        // Headers and last lines only: listing never reads a big run's chains.
        listed = listRunFiles(path.dirname(result.runFile), result.promptFile, { except: result.runFile, limit: MAX_RUN_CHOICES }).filter(
          (run) => run.startedAt < result.startedAt,
        );
        return listed.map((run) => ({
          id: run.id,
          startedAt: run.startedAt,
          model: run.model,
          cases: run.cases,
          samples: run.samples,
          ...(run.accuracy ? { accuracy: run.accuracy.map(({ variant, value }) => ({ variant, value })) } : {}),
        }));
      },
      compare: async (previousRunId) => {
        const previous = listed.find((run) => run.id === previousRunId);
        if (!previous) throw new Error(`no earlier run ${previousRunId} of this prompt`);
        const header = headerOf(result.runFile);
        return compareWithRunFile(previous.file, result, header ?? {}, { loaded, trusted: vscode.workspace.isTrusted });
      },
    };
  }

  dispose(): void {
    for (const controller of this.controllers) controller.abort();
    this.finished.dispose();
  }
}
