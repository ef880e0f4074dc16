import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CellResult, RunResult } from '../core/eval/results';
import { cellKey } from '../core/eval/keys';
import { cellTestOutput } from '../core/eval/testOutput';
import type { LoadedPrompt } from '../core/prompt/load';
import { toRange } from './convert';
import { isPromptDocument, type PromptDocuments } from './documents';
import type { Evaluations } from './evaluation';
import type { Logger } from './log';

/** The most cells a run started outside the Test Explorer may record there (see recordFinished). */
const MAX_RECORDED_CELLS = 1000;

/** Test ids: the file URI, then `<uri>::<case>` and `<uri>::<case>::<variant>` (VS Code forbids NUL in ids). */
interface ItemData {
  uri: vscode.Uri;
  caseId?: string;
  variant?: string;
}

/**
 * Each `.prompt` file is a test; its cases are children, each with one child per variant. Running them
 * evaluates those cells; a cell passes when its majority answer passes the scorer and threshold.
 */
export class PromptTests implements vscode.Disposable {
  private readonly controller = vscode.tests.createTestController('chainscope', 'Chainscope prompts');
  private readonly data = new WeakMap<vscode.TestItem, ItemData>();
  private readonly disposables: vscode.Disposable[] = [this.controller];
  /** The last outcome reported for each leaf (`file\0case\0variant`), for diagnostics and tests. */
  readonly outcomes = new Map<string, 'passed' | 'failed' | 'errored' | 'skipped'>();
  /** What the last report of each leaf showed: its output and, for a failure, its message. */
  readonly reports = new Map<string, { output: string; message?: vscode.TestMessage }>();
  private profile: vscode.TestRunProfile | undefined;

  constructor(
    private readonly documents: PromptDocuments,
    private readonly evaluations: Evaluations,
    private readonly log: Logger,
  ) {
    this.controller.resolveHandler = async (item) => {
      if (!item) await this.discover();
      else await this.refreshFile(item);
    };
    this.controller.refreshHandler = () => this.discover();
    this.profile = this.controller.createRunProfile(
      'Evaluate',
      vscode.TestRunProfileKind.Run,
      (request, token) => this.run(request, token),
      true,
    );
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.prompt');
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => void this.addFile(uri)),
      watcher.onDidDelete((uri) => this.controller.items.delete(uri.toString())),
      vscode.workspace.onDidOpenTextDocument((document) => {
        if (isPromptDocument(document)) void this.addFile(document.uri);
      }),
      vscode.workspace.onDidChangeTextDocument((event) => {
        const item = this.controller.items.get(event.document.uri.toString());
        if (item) void (item.children.size > 0 ? this.refreshFile(item) : this.checkFile(item));
      }),
      // Runs started elsewhere (CodeLens, command) show in the Test Explorer too; its own runs report themselves.
      this.evaluations.onDidFinish(({ uri, result, fromTests }) => {
        if (!fromTests) this.recordFinished(uri, result).catch((error: unknown) => this.log.error('testing', error));
      }),
    );
    for (const document of vscode.workspace.textDocuments) if (isPromptDocument(document)) void this.addFile(document.uri);
  }

  private async discover(): Promise<void> {
    const files = await vscode.workspace.findFiles('**/*.prompt', '**/{node_modules,.git,.chainscope,.vscode-test}/**', 2000);
    await Promise.all(files.map((uri) => this.addFile(uri)));
  }

  /**
   * Lists a file. Its cases become items when the Test Explorer expands it (or a run needs them), not on
   * open: a dataset of 5,000 cases is 5,000 items × variants sent to the window, which stalls typing.
   */
  async addFile(uri: vscode.Uri, resolve = false): Promise<vscode.TestItem> {
    let item = this.controller.items.get(uri.toString());
    if (!item) {
      item = this.controller.createTestItem(uri.toString(), path.basename(uri.fsPath), uri);
      item.canResolveChildren = true;
      this.data.set(item, { uri });
      this.controller.items.add(item);
    }
    await (resolve || item.children.size > 0 ? this.refreshFile(item) : this.checkFile(item));
    return item;
  }

  /** The file's problems and size on its item; undefined when it could not be read. */
  private async checkFile(item: vscode.TestItem): Promise<LoadedPrompt | undefined> {
    const uri = item.uri;
    if (!uri) return undefined;
    let loaded: LoadedPrompt;
    try {
      loaded = await this.documents.get(await vscode.workspace.openTextDocument(uri));
    } catch (error) {
      item.error = error instanceof Error ? error.message : String(error);
      return undefined;
    }
    const errors = loaded.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
    item.error = errors.length > 0 ? `${errors.length} problem(s): ${errors[0]?.message ?? ''}` : undefined;
    item.description = `${loaded.cases.length} cases × ${loaded.document.variants.length} variants`;
    return loaded;
  }

  private async refreshFile(item: vscode.TestItem): Promise<void> {
    const uri = item.uri;
    const loaded = await this.checkFile(item);
    if (!uri || !loaded) return;
    const children: vscode.TestItem[] = [];
    for (const testCase of loaded.cases) {
      const location = testCase.origin ? vscode.Uri.file(testCase.origin.file) : uri;
      const caseItem = this.controller.createTestItem(`${uri.toString()}::${testCase.id}`, testCase.name ?? testCase.id, location);
      caseItem.range = testCase.origin
        ? new vscode.Range(testCase.origin.line - 1, 0, testCase.origin.line - 1, 0)
        : toRange(testCase.range);
      this.data.set(caseItem, { uri, caseId: testCase.id });
      const variants = loaded.document.variants.map((variant) => {
        const variantItem = this.controller.createTestItem(`${uri.toString()}::${testCase.id}::${variant.name}`, variant.name, location);
        variantItem.range = caseItem.range;
        variantItem.description = variant.kind === variant.name ? undefined : variant.kind;
        this.data.set(variantItem, { uri, caseId: testCase.id, variant: variant.name });
        return variantItem;
      });
      caseItem.children.replace(variants);
      children.push(caseItem);
    }
    item.children.replace(children);
  }

  /** The items VS Code shows for a file (after resolving it). */
  async itemsFor(uri: vscode.Uri): Promise<vscode.TestItem> {
    return this.addFile(uri, true);
  }

  /** Runs items through the run profile, as the Test Explorer's run button does. */
  runItems(items: readonly vscode.TestItem[]): Promise<void> {
    const source = new vscode.CancellationTokenSource();
    return Promise.resolve(this.profile?.runHandler(new vscode.TestRunRequest(items, undefined, this.profile), source.token)).finally(() =>
      source.dispose(),
    );
  }

  private leaves(item: vscode.TestItem): vscode.TestItem[] {
    if (item.children.size === 0) return [item];
    const found: vscode.TestItem[] = [];
    item.children.forEach((child) => this.leaves(child).forEach((leaf) => found.push(leaf))); // a file's leaves may be too many to spread
    return found;
  }

  private async run(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    const run = this.controller.createTestRun(request);
    const roots: vscode.TestItem[] = [];
    if (request.include) roots.push(...request.include);
    else this.controller.items.forEach((item) => roots.push(item));
    const excluded = new Set((request.exclude ?? []).map((item) => item.id));
    // Group the chosen cells by file: one evaluation per file covers them.
    const byFile = new Map<string, { uri: vscode.Uri; leaves: vscode.TestItem[] }>();
    for (const root of roots) {
      if (this.data.get(root)?.caseId === undefined && root.children.size === 0) await this.refreshFile(root);
      for (const leaf of this.leaves(root)) {
        if (excluded.has(leaf.id)) continue;
        const data = this.data.get(leaf);
        if (!data?.variant) continue;
        const group = byFile.get(data.uri.toString()) ?? { uri: data.uri, leaves: [] };
        group.leaves.push(leaf);
        byFile.set(data.uri.toString(), group);
      }
    }
    try {
      for (const { uri, leaves } of byFile.values()) {
        if (token.isCancellationRequested) break;
        for (const leaf of leaves) run.started(leaf);
        const cases = [...new Set(leaves.map((leaf) => this.data.get(leaf)?.caseId ?? ''))];
        const variants = [...new Set(leaves.map((leaf) => this.data.get(leaf)?.variant ?? ''))];
        const result = await this.evaluations.evaluate({ uri, cases, variants, token, showPanel: true, fromTests: true });
        // Looked up by key: a file of thousands of cases would otherwise be searched once per case.
        const cells = new Map(result?.cells.map((cell) => [cellKey(cell.variant, cell.caseId), cell]));
        for (const leaf of leaves) {
          const data = this.data.get(leaf);
          const cell = cells.get(cellKey(data?.variant ?? '', data?.caseId ?? ''));
          this.report(run, leaf, cell, result === undefined);
        }
      }
    } catch (error) {
      this.log.error('testing', error);
    } finally {
      run.end();
    }
  }

  /**
   * A finished run that the Test Explorer did not start: its cells become a test run of their own. Runs of
   * more than MAX_RECORDED_CELLS cells are left out: that many items sent to the window stalls typing.
   */
  async recordFinished(uri: vscode.Uri, result: RunResult): Promise<vscode.TestItem[]> {
    const cells = result.cells.filter((cell) => cell.chains.length > 0);
    if (cells.length === 0) return [];
    if (cells.length > MAX_RECORDED_CELLS) {
      this.log.info(
        'testing',
        `run ${result.runId}: ${cells.length} cells, not recorded in the Test Explorer (over ${MAX_RECORDED_CELLS})`,
      );
      return [];
    }
    const file = await this.addFile(uri, true);
    const byKey = new Map<string, vscode.TestItem>();
    for (const leaf of this.leaves(file)) {
      const data = this.data.get(leaf);
      if (data?.variant) byKey.set(cellKey(data.variant, data.caseId ?? ''), leaf);
    }
    // Matched by key: cases or variants removed since the run started have no item left to mark.
    const reported = cells.flatMap((cell) => {
      const leaf = byKey.get(cellKey(cell.variant, cell.caseId));
      return leaf ? [{ leaf, cell }] : [];
    });
    if (reported.length === 0) return [];
    const leaves = reported.map(({ leaf }) => leaf);
    const run = this.controller.createTestRun(new vscode.TestRunRequest(leaves), `${path.basename(uri.fsPath)}: run ${result.runId}`, true);
    try {
      for (const { leaf, cell } of reported) {
        run.started(leaf);
        this.report(run, leaf, cell, false);
      }
    } finally {
      run.end();
    }
    return leaves;
  }

  private report(run: vscode.TestRun, leaf: vscode.TestItem, cell: CellResult | undefined, failedToRun: boolean): void {
    if (!cell || cell.chains.length === 0) {
      if (failedToRun) run.errored(leaf, new vscode.TestMessage('The evaluation did not run: see the notification or the Chainscope log.'));
      else run.skipped(leaf);
      this.outcomes.set(leaf.id, failedToRun ? 'errored' : 'skipped');
      return;
    }
    const duration = cell.chains.reduce((sum, chain) => sum + chain.latencyMs, 0);
    const location = leaf.uri && leaf.range ? new vscode.Location(leaf.uri, leaf.range) : undefined;
    const shown = cellTestOutput(cell);
    // The test output terminal wants CRLF line endings (cellTestOutput writes them).
    run.appendOutput(shown.output, location, leaf);
    this.outcomes.set(leaf.id, shown.outcome);
    if (shown.outcome === 'passed') {
      run.passed(leaf, duration);
      this.reports.set(leaf.id, { output: shown.output });
      return;
    }
    const message = vscode.TestMessage.diff(shown.message ?? '', shown.expected, shown.actual);
    if (location) message.location = location;
    run.failed(leaf, message, duration);
    this.reports.set(leaf.id, { output: shown.output, message });
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
