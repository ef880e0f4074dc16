// Extension-host tests of the editor support, run inside a real VS Code (code-server or Electron).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  describeDiagnostic,
  describeRange,
  extension,
  findSymbol,
  fixtureUri,
  hoverText,
  openActivated,
  rangeOf,
  REQUIRED_COMMANDS,
  waitForDiagnostics,
  waitUntil,
} from './helpers';

suite('Chainscope in a real VS Code', () => {
  test('opening a .prompt file activates the extension with the dotprompt language', async () => {
    const editor = await openActivated('good.prompt');
    assert.equal(editor.document.languageId, 'dotprompt');
    assert.equal(extension().isActive, true);
  });

  test("VS Code's own *.prompt.md files are not Chainscope's", async () => {
    await openActivated('good.prompt');
    const document = await vscode.workspace.openTextDocument(fixtureUri('review.prompt.md'));
    await vscode.window.showTextDocument(document);
    assert.notEqual(document.languageId, 'dotprompt');
    const position = rangeOf(document, 'variants').start;
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, position);
    assert.doesNotMatch(hovers.map(hoverText).join('\n'), /Prompt tokens/, "Chainscope's token hover answered on a .prompt.md file");
  });

  test("a .prompt file opened under the old id 'prompt' is switched to dotprompt", async function () {
    // The id is VS Code's (its prompt files); a VS Code without them cannot open a file under it.
    if (!(await vscode.languages.getLanguages()).includes('prompt')) this.skip();
    const editor = await openActivated('good.prompt');
    const uri = editor.document.uri.toString();
    const opened: string[] = [];
    const listener = vscode.workspace.onDidOpenTextDocument((d) => {
      if (d.uri.toString() === uri) opened.push(d.languageId);
    });
    const current = (): vscode.TextDocument | undefined => vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
    try {
      await vscode.languages.setTextDocumentLanguage(editor.document, 'prompt');
      await waitUntil(
        () => opened.includes('prompt') && current()?.languageId === 'dotprompt',
        "good.prompt, opened as 'prompt', is dotprompt again",
      );
    } finally {
      listener.dispose();
    }
    // And it is checked like any other.
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      editor.document.uri,
      rangeOf(current() ?? editor.document, 'question', '{{role "user"}}').start,
    );
    assert.match(hovers.map(hoverText).join('\n'), /tokens/);
  });

  test('diagnostics of a broken file appear with exact ranges', async () => {
    const editor = await openActivated('broken.prompt');
    const document = editor.document;
    const diagnostics = await waitForDiagnostics(document.uri, (list) => list.length >= 3);
    const shown = diagnostics.map(describeDiagnostic);
    const find = (pattern: RegExp): vscode.Diagnostic => {
      const found = diagnostics.find((d) => pattern.test(d.message));
      assert.ok(found, `no diagnostic matching ${pattern}; have ${JSON.stringify(shown)}`);
      return found;
    };
    const typo = find(/did you mean 'samples'/);
    assert.equal(typo.severity, vscode.DiagnosticSeverity.Warning);
    assert.equal(describeRange(typo.range), describeRange(rangeOf(document, 'smaples')));
    const scorer = find(/did you mean 'exact'/);
    assert.equal(scorer.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(describeRange(scorer.range), describeRange(rangeOf(document, 'exakt')));
    const variable = find(/'topic' is not defined/);
    assert.equal(describeRange(variable.range), describeRange(rangeOf(document, 'topic', '---\n{{role')));
    assert.ok(diagnostics.every((d) => d.source === 'chainscope'));
  });

  test('hover over the template shows token counts of each variant', async () => {
    const editor = await openActivated('good.prompt');
    const position = rangeOf(editor.document, 'question', '{{role "user"}}').start;
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', editor.document.uri, position);
    const text = hovers.map(hoverText).join('\n');
    assert.match(text, /tokens/);
    assert.match(text, /counted with o200k_base, gpt-4o family/);
    assert.match(text, /\| zero-shot \| 0 \| \d+ \| \d+ \|/);
    assert.match(text, /\| few-shot \| 1 \| \d+ \| \d+ \|/);
  });

  test("hover on a local model's prompt counts with that model's tokenizer and names it", async () => {
    await openActivated('good.prompt');
    const document = await vscode.workspace.openTextDocument(path.join(extension().extensionPath, 'prompts', 'arithmetic.prompt'));
    await vscode.window.showTextDocument(document);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      document.uri,
      rangeOf(document, '{{question}}').start,
    );
    const text = hovers.map(hoverText).join('\n');
    assert.match(text, /counted with local model's tokenizer: arith-tiny/);
    assert.doesNotMatch(text, /o200k_base/);
    // One count per variant (what the model is sent), and its mean over the first 20 cases.
    assert.match(text, /\| variant \| examples \| prompt tokens \| mean \|/);
    const zeroShot = /\| zero-shot \| 0 \| (\d+) \| [\d.]+ \|/.exec(text);
    const fewShot = /\| few-shot \| 2 \| (\d+) \| [\d.]+ \|/.exec(text);
    assert.ok(zeroShot && fewShot, text);
    assert.ok(Number(fewShot[1]) > Number(zeroShot[1]), 'the examples cost tokens');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('the outline lists the cases', async () => {
    const editor = await openActivated('good.prompt');
    const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>(
      'vscode.executeDocumentSymbolProvider',
      editor.document.uri,
    );
    const cases = findSymbol(symbols, 'cases');
    assert.ok(cases, `no 'cases' symbol in ${JSON.stringify(symbols.map((s) => s.name))}`);
    assert.deepEqual(
      cases.children.map((c) => c.name),
      ['small', 'large', 'case 3'],
    );
    assert.equal(cases.children[0]?.range.start.line, rangeOf(editor.document, 'name: small').start.line);
  });

  test('the commands are registered', async () => {
    await openActivated('good.prompt');
    const commands = await vscode.commands.getCommands(true);
    for (const command of REQUIRED_COMMANDS) assert.ok(commands.includes(command), `${command} is not registered`);
  });

  test('Set up CUDA says what this machine lacks and where the provider libraries would go', async () => {
    await openActivated('good.prompt');
    const setup = await vscode.commands.executeCommand<{
      supported: boolean;
      runtimeFolder?: string;
      missingProviders: string[];
      missingSystem: string[];
      installCommand: string;
    }>('chainscope.setupCuda');
    assert.equal(setup.supported, process.platform === 'linux' && process.arch === 'x64');
    if (setup.supported) {
      // The test machines have no GPU: the CUDA runtime and onnxruntime's provider libraries are absent.
      assert.match(setup.runtimeFolder ?? '', /onnxruntime-node$/);
      assert.ok(fs.existsSync(path.join(setup.runtimeFolder ?? '', 'script', 'install.js')), 'the install script ships beside the binding');
      assert.deepEqual(setup.missingProviders, ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so']);
      assert.ok(setup.missingSystem.includes('libcudnn.so.9'));
      assert.match(setup.installCommand, /node script\/install$/);
    }
  });

  test('completion offers keys and variable names', async () => {
    const editor = await openActivated('good.prompt');
    const position = rangeOf(editor.document, '{{question}}').start.translate(0, 2);
    const list = await vscode.commands.executeCommand<vscode.CompletionList>(
      'vscode.executeCompletionItemProvider',
      editor.document.uri,
      position,
      '{',
    );
    const labels = list.items.map((item) => (typeof item.label === 'string' ? item.label : item.label.label));
    assert.ok(labels.includes('question'), JSON.stringify(labels.slice(0, 20)));
  });

  test('"did you mean" diagnostics offer a quick fix that applies the suggestion', async () => {
    const editor = await openActivated('broken.prompt');
    const document = editor.document;
    await waitForDiagnostics(document.uri, (list) => list.some((d) => /did you mean 'samples'/.test(d.message)));
    const actionsAt = (range: vscode.Range) =>
      vscode.commands.executeCommand<vscode.CodeAction[]>(
        'vscode.executeCodeActionProvider',
        document.uri,
        range,
        vscode.CodeActionKind.QuickFix.value,
      );
    const samples = (await actionsAt(rangeOf(document, 'smaples'))).filter((action) => action.title === "Change to 'samples'");
    assert.equal(samples.length, 1);
    const scorer = await actionsAt(rangeOf(document, 'exakt'));
    assert.deepEqual(
      scorer.map((action) => action.title),
      ["Change to 'exact'"],
    );
    const fix = samples[0];
    assert.ok(fix?.edit, 'the quick fix carries an edit');
    assert.equal(fix.isPreferred, true);
    try {
      assert.ok(await vscode.workspace.applyEdit(fix.edit));
      assert.match(document.lineAt(2).text, /^samples: 3$/);
    } finally {
      // Back to the fixture as it is on disk, for the other tests.
      await vscode.window.showTextDocument(document);
      await vscode.commands.executeCommand('workbench.action.files.revert');
    }
    assert.match(document.lineAt(2).text, /^smaples: 3$/);
  });

  test('a fixture outside the workspace still gets checked on open', async () => {
    const document = await vscode.workspace.openTextDocument(fixtureUri('broken.prompt'));
    const diagnostics = await waitForDiagnostics(document.uri, (list) => list.length > 0);
    assert.ok(diagnostics.length > 0);
  });

  if (process.env.CHAINSCOPE_HOST_FAIL === '1') {
    // Proves that a failing host test fails the run (the runners are checked with this on).
    test('deliberately failing test (CHAINSCOPE_HOST_FAIL=1)', () => {
      assert.fail('this test fails on purpose');
    });
  }
});
