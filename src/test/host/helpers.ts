// Shared helpers for the extension-host suite: locate the extension and its fixtures, open
// documents, and wait on real VS Code events (with a deadline so a missing feature fails, not hangs).
import * as path from 'node:path';
import * as vscode from 'vscode';
import packageJson from '../../../package.json';

/** `publisher.name` from package.json: the id VS Code knows the extension by. */
export const EXTENSION_ID = `${packageJson.publisher}.${packageJson.name}`;

/** Commands every build must register; later issues append to this list. */
export const REQUIRED_COMMANDS: readonly string[] = [
  'chainscope.checkDocument',
  'chainscope.showTokenCounts',
  'chainscope.evaluate',
  'chainscope.evaluateCase',
  'chainscope.evaluateVariant',
  'chainscope.showResults',
  'chainscope.selectModel',
  'chainscope.setApiKey',
  'chainscope.clearApiKey',
  'chainscope.showLog',
  'chainscope.setupCuda',
];

/** Commands declared in package.json `contributes.commands`. */
export const CONTRIBUTED_COMMANDS: readonly string[] = packageJson.contributes.commands.map((c) => c.command);

const DEFAULT_WAIT_MS = 10_000;

export function extension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded in this host`);
  return ext;
}

export function fixtureUri(name: string): vscode.Uri {
  return vscode.Uri.file(path.join(extension().extensionPath, 'testFixtures', 'host', name));
}

export async function openFixture(name: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(fixtureUri(name));
  return vscode.window.showTextDocument(document);
}

/** Range of the `occurrence`-th (0-based) match of `needle` in the document, searched from `after`. */
export function rangeOf(document: vscode.TextDocument, needle: string, after = ''): vscode.Range {
  const text = document.getText();
  const from = after ? text.indexOf(after) : 0;
  if (from < 0) throw new Error(`anchor ${JSON.stringify(after)} not in ${document.uri.fsPath}`);
  const start = text.indexOf(needle, from);
  if (start < 0) throw new Error(`${JSON.stringify(needle)} not in ${document.uri.fsPath}`);
  return new vscode.Range(document.positionAt(start), document.positionAt(start + needle.length));
}

/** Resolves with the diagnostics of `uri` once `accept` holds, now or after a change event. */
export function waitForDiagnostics(
  uri: vscode.Uri,
  accept: (diagnostics: readonly vscode.Diagnostic[]) => boolean,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<readonly vscode.Diagnostic[]> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const current = vscode.languages.getDiagnostics(uri);
      if (!accept(current)) return false;
      finish();
      resolve(current);
      return true;
    };
    const subscription = vscode.languages.onDidChangeDiagnostics((event) => {
      if (event.uris.some((changed) => changed.toString() === uri.toString())) check();
    });
    const timer = setTimeout(() => {
      finish();
      const seen = vscode.languages.getDiagnostics(uri).map(describeDiagnostic);
      reject(new Error(`diagnostics of ${path.basename(uri.fsPath)} did not match in ${timeoutMs} ms; have: ${JSON.stringify(seen)}`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      subscription.dispose();
    };
    check();
  });
}

/**
 * Waits until the extension is active. The API has no activation event, so this polls with a
 * deadline; activation itself is triggered by the caller (e.g. by opening a `.prompt` file).
 */
export async function waitForActivation(ext: vscode.Extension<unknown>, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ext.isActive) {
    if (Date.now() > deadline) throw new Error(`${ext.id} not active after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls `condition` every 50 ms until it holds; fails naming `what` after the deadline. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Opens a fixture and waits until the extension has activated for it. */
export async function openActivated(name: string): Promise<vscode.TextEditor> {
  const editor = await openFixture(name);
  await waitForActivation(extension());
  return editor;
}

export function describeDiagnostic(d: vscode.Diagnostic): string {
  const { start, end } = d.range;
  const severity = vscode.DiagnosticSeverity[d.severity];
  return `${severity} ${start.line}:${start.character}-${end.line}:${end.character} [${d.source ?? ''}] ${d.message}`;
}

export function describeRange(r: vscode.Range): string {
  return `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;
}

/** Plain text of a hover's contents, whatever form each part takes. */
export function hoverText(hover: vscode.Hover): string {
  return hover.contents.map((part) => (typeof part === 'string' ? part : part.value)).join('\n');
}

/** Depth-first search of a document symbol tree. */
export function findSymbol(symbols: readonly vscode.DocumentSymbol[], name: string): vscode.DocumentSymbol | undefined {
  for (const symbol of symbols) {
    if (symbol.name === name) return symbol;
    const inChild = findSymbol(symbol.children, name);
    if (inChild) return inChild;
  }
  return undefined;
}

/** What the browser side of the runner checks in the results webview. */
export interface PanelExpectation {
  runId: string;
  /** The run status the panel must show (default: completed). */
  status?: 'completed' | 'cancelled' | 'failed' | 'running';
  /** A control (by data-testid) to click once the panel shows the run in that status. */
  click?: string;
  /** How many cases the matrix must list before the panel counts as shown. */
  cases?: number;
  variants: { name: string; single: number; majority: number }[];
  chain?: { variant: string; caseId: string; sample: number; text: string };
  /** A case whose inputs the matrix's case column must show: found by searching for `includes`, its preview must contain it. */
  caseInput?: { caseId: string; includes: string };
  /**
   * With `chain`: Show prompt in its cell's drawer must show the rendered prompt, each text in a turn of that role
   * (chat), or anywhere in it without a role (chat or a base model's text).
   */
  prompt?: { role?: 'system' | 'user' | 'assistant'; includes: string }[];
  /** Elements (by data-testid) whose text must include the given text. */
  shows?: { testId: string; includes: string }[];
  /** With `chain`: elements (by data-testid) of the open chain's card whose text must include the given text. */
  chainShows?: { testId: string; includes: string }[];
  /** Texts that must appear literally (model output and expected values are never markup). */
  literals?: string[];
  screenshot?: string;
  /**
   * Widths (CSS px of the webview) to check the panel at: no sideways scrolling of its page, every variant's
   * headline numbers in view; a screenshot of the webview at each, artifacts/panel-<width>.png.
   */
  widths?: number[];
}

/** What the panel must show of each variant of a run: its single-chain and majority-vote accuracy. */
export function panelNumbers(result: {
  variants: readonly { name: string; singleChain: { value: number }; majorityVote: { value: number } }[];
}) {
  return result.variants.map((variant) => ({
    name: variant.name,
    single: variant.singleChain.value,
    majority: variant.majorityVote.value,
  }));
}

/**
 * Asks the runner's browser side to check the results webview against `expected`, through files in
 * CHAINSCOPE_HOST_ARTIFACTS (only the code-server runner has a browser: elsewhere this says so).
 */
export async function verifyPanel(name: string, expected: PanelExpectation, timeoutMs = 60_000): Promise<string> {
  const directory = process.env.CHAINSCOPE_HOST_ARTIFACTS;
  if (!directory) return 'no-browser';
  const fs = await import('node:fs');
  const request = path.join(directory, `panel-${name}.json`);
  const answer = `${request}.checked`;
  // Written whole, then renamed: the runner never reads half a file.
  fs.writeFileSync(`${request}.part`, JSON.stringify(expected));
  fs.renameSync(`${request}.part`, request);
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(answer)) {
    if (Date.now() > deadline) throw new Error(`the browser side did not check the panel within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return fs.readFileSync(answer, 'utf8');
}

/**
 * Asks the runner's browser side to type into the focused editor (a key every 50 ms) until `stop()`,
 * which resolves with the time of each key press (ms since the epoch). Without a browser: no presses.
 */
export async function startTyping(name: string): Promise<{ stop: () => Promise<number[]> }> {
  const directory = process.env.CHAINSCOPE_HOST_ARTIFACTS;
  if (!directory) return { stop: () => Promise.resolve([]) };
  const fs = await import('node:fs');
  const request = path.join(directory, `typing-${name}.json`);
  fs.writeFileSync(`${request}.part`, JSON.stringify({ intervalMs: 50 }));
  fs.renameSync(`${request}.part`, request);
  return {
    stop: async () => {
      fs.writeFileSync(path.join(directory, `typing-${name}.stop`), '');
      const answer = `${request}.checked`;
      const deadline = Date.now() + 30_000;
      while (!fs.existsSync(answer)) {
        if (Date.now() > deadline) throw new Error('the browser side did not stop typing within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return (JSON.parse(fs.readFileSync(answer, 'utf8')) as { presses: number[] }).presses;
    },
  };
}
