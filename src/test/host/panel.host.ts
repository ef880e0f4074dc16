// The run from the editor: CodeLens → evaluation → results panel, against a real OpenAI-compatible
// HTTP server on 127.0.0.1 started inside the extension host. The browser side of the runner reads
// the webview's DOM and checks it against the run's JSON (see verifyPanel in helpers.ts).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { gullibleModel } from '../../../testFixtures/openai-server/gullible';
import { startFakeServer, type FakeServer } from '../../../testFixtures/openai-server/server';
import type { RunResult } from '../../core/eval/results';
import type { ChainscopeApi } from '../../extension/extension';
import { extension, fixtureUri, hoverText, openActivated, panelNumbers, rangeOf, verifyPanel } from './helpers';

const MARKUP_ANSWER = '<script>window.pwned = 1</script><img src=x onerror=alert(1)>';

suite('Evaluating from the editor', () => {
  let server: FakeServer;

  suiteSetup(async () => {
    server = await startFakeServer({
      answers: [
        { match: 'render', answers: ['<img src=x onerror=alert(1)>', MARKUP_ANSWER] },
        { match: 'say four', answers: ['4', '4', 'four'] },
        { match: 'always seven', answers: ['The answer is 7.'] },
      ],
    });
    await vscode.workspace.getConfiguration('chainscope').update('compatible.baseUrl', server.url, vscode.ConfigurationTarget.Global);
    // Run files go to the runner's temp folder, not into the fixtures.
    if (process.env.CHAINSCOPE_HOST_ARTIFACTS) {
      await vscode.workspace
        .getConfiguration('chainscope')
        .update('runsDirectory', path.join(process.env.CHAINSCOPE_HOST_ARTIFACTS, 'runs'), vscode.ConfigurationTarget.Global);
    }
  });

  suiteTeardown(async () => {
    // Leave no editor or panel behind: the next window on this workspace would restore them.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.getConfiguration('chainscope').update('runsDirectory', undefined, vscode.ConfigurationTarget.Global);
    await vscode.workspace.getConfiguration('chainscope').update('compatible.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    await server.close();
  });

  test('the document CodeLens says what Evaluate will do, and runs it into the results panel', async () => {
    const editor = await openActivated('xss.prompt');
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', editor.document.uri, 20);
    const titles = lenses.map((lens) => lens.command?.title ?? '(unresolved)');
    const evaluate = lenses.find((lens) => lens.command?.command === 'chainscope.evaluate');
    assert.ok(evaluate?.command, `no resolved Evaluate lens among ${JSON.stringify(titles)}`);
    assert.match(
      evaluate.command.title,
      /^▶ Evaluate \(2 cases × 2 variants × 3 chains, ≈\d+ prompt tokens\) on openai-compatible:fake-model$/,
    );
    assert.equal(titles.filter((title) => title === '▶ Evaluate case').length, 2);
    assert.equal(titles.filter((title) => title === '▶ This variant').length, 2);

    const result = await vscode.commands.executeCommand<RunResult>(
      evaluate.command.command,
      ...((evaluate.command.arguments ?? []) as unknown[]),
    );
    assert.equal(result.status, 'completed');
    assert.equal(result.cells.length, 4);
    assert.equal(server.requests.length, 4, 'one request of n = 3 per case and variant');
    const markup = result.cells.find((cell) => cell.caseName === 'markup' && cell.variant === 'zero-shot');
    const chain = markup?.chains.find((c) => c.text === MARKUP_ANSWER) ?? markup?.chains[0];
    assert.ok(markup && chain);

    // Model output and expected values are shown as text: the browser side checks the DOM.
    const verdict = await verifyPanel('xss', {
      runId: result.runId,
      variants: panelNumbers(result),
      chain: { variant: markup.variant, caseId: markup.caseId, sample: chain.sample, text: chain.text },
      // The case's input in the matrix, and the prompt the cell sent (its markup as text), in the drawer.
      caseInput: { caseId: markup.caseId, includes: 'question: render <b>this</b>' },
      prompt: [{ role: 'user', includes: 'render <b>this</b>' }],
      literals: [
        '<img src=x onerror=alert(1)>',
        ...(markup.chains.some((c) => c.text === MARKUP_ANSWER) ? ['<script>window.pwned = 1</script>'] : []),
      ],
      screenshot: 'panel-xss.png',
    });
    // Only the code-server runner has a browser to read the webview with.
    if (verdict !== 'no-browser') assert.equal(verdict, 'ok');
  });

  test('the shipped arithmetic prompt runs on the embedded local model from its CodeLens, and the panel shows the run', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const document = await vscode.workspace.openTextDocument(path.join(extension().extensionPath, 'prompts', 'arithmetic.prompt'));
    await vscode.window.showTextDocument(document);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', document.uri, 1);
    const evaluate = lenses.find((lens) => lens.command?.command === 'chainscope.evaluate');
    assert.ok(evaluate?.command);
    assert.match(evaluate.command.title, /^▶ Evaluate \(40 cases × 4 variants × 8 chains, ≈[\d,]+ prompt tokens\) on local:arith-tiny$/);
    const result = await vscode.commands.executeCommand<RunResult>(
      evaluate.command.command,
      ...((evaluate.command.arguments ?? []) as unknown[]),
    );
    assert.equal(result.status, 'completed');
    assert.equal(result.backend.id, 'local');
    assert.equal(
      result.cells.reduce((sum, cell) => sum + cell.chains.length, 0),
      40 * 4 * 8,
    );
    // The model's point: chains of thought beat direct answers.
    const accuracy = new Map(result.variants.map((variant) => [variant.name, variant.singleChain.value]));
    assert.ok((accuracy.get('zero-shot-cot') ?? 0) > (accuracy.get('zero-shot') ?? 1));
    assert.ok(result.variants.every((variant) => variant.singleChain.method === 'clustered' && variant.majorityVote.method === 'wilson'));
    // The panel alone on screen for its screenshot: close the prompt's editor (the panel kept no focus).
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    const cell = result.cells.find((c) => c.variant === 'few-shot-cot' && c.chains.length === 8) as RunResult['cells'][number];
    const chain = cell.chains[3] as RunResult['cells'][number]['chains'][number];
    const question = String(cell.input.question);
    const verdict = await verifyPanel('arithmetic', {
      runId: result.runId,
      variants: panelNumbers(result),
      chain: { variant: cell.variant, caseId: cell.caseId, sample: chain.sample, text: chain.text },
      // The case's question, not just data/arithmetic.jsonl:N; the few-shot CoT prompt with an example and that question.
      caseInput: { caseId: cell.caseId, includes: question.slice(0, 40) },
      prompt: [{ includes: 'Tom has 12 apples.' }, { includes: question }],
      // The panel says how its intervals were made (clustered by case; Wilson for the majority vote).
      shows: [{ testId: 'interval-note', includes: 'clustered by case' }],
      screenshot: 'panel-arithmetic.png',
    });
    if (verdict !== 'no-browser') assert.equal(verdict, 'ok');

    // The panel as wide as a split editor, a medium one and a maximized one, the sidebar closed.
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    await vscode.commands.executeCommand('workbench.action.closePanel');
    const widths = await verifyPanel('arithmetic-widths', {
      runId: result.runId,
      variants: panelNumbers(result),
      widths: [500, 800, 1400],
    });
    if (widths !== 'no-browser') assert.equal(widths, 'ok');

    // Closed and re-opened, the panel shows the same run again.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('chainscope.showResults', document.uri);
    const reopened = await verifyPanel('arithmetic-reopened', {
      runId: result.runId,
      variants: panelNumbers(result),
      chain: { variant: cell.variant, caseId: cell.caseId, sample: chain.sample, text: chain.text },
    });
    if (reopened !== 'no-browser') assert.equal(reopened, 'ok');
  });

  test('a fatal error stops the run, and the panel says why and how many chains are kept', async () => {
    server.inject({ kind: 'not-found', when: 'render', times: 1 });
    const result = await vscode.commands.executeCommand<RunResult>('chainscope.evaluate', fixtureUri('xss.prompt'));
    assert.equal(result.status, 'failed');
    assert.match(result.error ?? '', /not found \(404\)/);
    // The 3 chains of the refused request are missing, never scored as wrong answers.
    assert.ok(result.coverage.missing >= 3, JSON.stringify(result.coverage));
    assert.equal(result.coverage.failed, 0);
    const verdict = await verifyPanel('fatal', {
      runId: result.runId,
      status: 'failed',
      variants: panelNumbers(result),
      shows: [
        { testId: 'run-error', includes: 'Stopped: model or deployment' },
        // The first test ran this prompt: the panel names the run it compares with.
        { testId: 'comparison-note', includes: 'Compared with run host-xss-' },
      ],
      screenshot: 'panel-fatal.png',
    });
    if (verdict !== 'no-browser') assert.equal(verdict, 'ok');
  });

  test('a reasoning model gets the settings it takes, and the panel says which were not sent', async () => {
    const reasoning = await startFakeServer({ reasoningModels: ['gpt-5-mini'], answers: [{ match: 'say four', answers: ['4'] }] });
    const config = vscode.workspace.getConfiguration('chainscope');
    try {
      await config.update('compatible.baseUrl', reasoning.url, vscode.ConfigurationTarget.Global);
      const result = await vscode.commands.executeCommand<RunResult>('chainscope.evaluate', fixtureUri('reasoning.prompt'));
      assert.equal(result.status, 'completed');
      assert.equal(result.coverage.failed, 0);
      assert.ok(
        reasoning.requests.every((request) => request.temperature === undefined),
        'no temperature sent to gpt-5-mini',
      );
      const verdict = await verifyPanel('reasoning', {
        runId: result.runId,
        variants: panelNumbers(result),
        shows: [{ testId: 'run-adjustments', includes: 'temperature 0.7 from the file was not sent' }],
      });
      if (verdict !== 'no-browser') assert.equal(verdict, 'ok');
    } finally {
      await config.update('compatible.baseUrl', server.url, vscode.ConfigurationTarget.Global);
      await reasoning.close();
    }
  });

  test('a tree of thought runs on the embedded model from its CodeLens, and the drawer draws its trace', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const document = await vscode.workspace.openTextDocument(path.join(extension().extensionPath, 'prompts', 'arithmetic-tot.prompt'));
    await vscode.window.showTextDocument(document);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', document.uri, 1);
    const evaluate = lenses.find((lens) => lens.command?.command === 'chainscope.evaluate');
    assert.ok(evaluate?.command);
    assert.match(evaluate.command.title, /^▶ Evaluate \(40 cases × 2 variants × 1 chains, ≈[\d,]+ prompt tokens\) on local:arith-tiny$/);
    const result = await vscode.commands.executeCommand<RunResult>(
      evaluate.command.command,
      ...((evaluate.command.arguments ?? []) as unknown[]),
    );
    assert.equal(result.status, 'completed');
    const tot = result.cells.filter((cell) => cell.variant === 'tot-vote');
    assert.equal(tot.length, 40);
    assert.ok(tot.every((cell) => (cell.chains[0]?.trace?.length ?? 0) > 0));
    // A tree with a pruned candidate, so the drawer has something dimmed to show.
    const cell = tot.find((candidate) => candidate.chains[0]?.trace?.some((node) => node.kept === false)) ?? tot[0];
    const chain = cell?.chains[0];
    assert.ok(cell && chain);
    const onPath = chain.trace?.find((node) => node.onPath)?.text ?? '';
    const tokens = (name: string) => result.variants.find((variant) => variant.name === name)?.completionTokens ?? 0;
    assert.ok(tokens('tot-vote') > tokens('few-shot-cot'), 'a tree generates more than one chain');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    const verdict = await verifyPanel('tot', {
      runId: result.runId,
      variants: panelNumbers(result),
      chain: { variant: cell.variant, caseId: cell.caseId, sample: chain.sample, text: chain.text },
      chainShows: [
        { testId: 'chain-trace', includes: 'on path' },
        { testId: 'trace-tree', includes: onPath },
      ],
      screenshot: 'panel-tot.png',
    });
    if (verdict !== 'no-browser') assert.equal(verdict, 'ok');
  });

  test('prompt attacks run from the editor: the panel shows attack success per defence and what each defence costs', async () => {
    const gullible = await startFakeServer({ respond: gullibleModel() });
    const config = vscode.workspace.getConfiguration('chainscope');
    try {
      await config.update('compatible.baseUrl', gullible.url, vscode.ConfigurationTarget.Global);
      const result = await vscode.commands.executeCommand<RunResult>('chainscope.evaluate', fixtureUri('attacks.prompt'));
      assert.equal(result.status, 'completed');
      const security = result.security;
      assert.ok(security);
      assert.equal(security.attacks.length, 8);
      // 2 clean cases and 2 × 8 attacked ones, under zero-shot and its two defences.
      assert.equal(result.cells.length, 18 * 3);
      const overall = (defence: string) => security.overall.find((row) => row.variant === 'zero-shot' && row.defence === defence);
      assert.equal(overall('none')?.rate, 1);
      assert.equal(overall('xml-tags')?.rate, 0);
      assert.equal(overall('sandwich')?.rate, 0);
      // Accuracy counts the 2 clean cases only.
      assert.ok(result.variants.every((variant) => variant.cases === 2));
      const verdict = await verifyPanel('attacks', {
        runId: result.runId,
        variants: panelNumbers(result),
        shows: [
          { testId: 'security', includes: '8 attacks into sentence' },
          { testId: 'overall-row', includes: 'All attacks' },
          { testId: 'overall-row', includes: '100%' },
          { testId: 'utility-row', includes: 'Accuracy, normal cases' },
        ],
        screenshot: 'panel-attacks.png',
      });
      if (verdict !== 'no-browser') assert.equal(verdict, 'ok');
    } finally {
      await config.update('compatible.baseUrl', server.url, vscode.ConfigurationTarget.Global);
      await gullible.close();
    }
  });

  test('an adaptive run stops a settled case early, and the panel says how many chains were used and saved', async () => {
    const result = await vscode.commands.executeCommand<RunResult>('chainscope.evaluate', fixtureUri('adaptive.prompt'));
    assert.equal(result.status, 'completed');
    assert.equal(result.stop?.rule, 'adaptive');
    const steady = result.cells.find((cell) => cell.caseName === 'steady');
    assert.equal(steady?.settledAt, 4);
    assert.equal(steady?.chains.length, 4);
    const variant = result.variants[0] as RunResult['variants'][number];
    assert.ok(variant.chainsSaved >= 4, `saved ${variant.chainsSaved}`);
    const verdict = await verifyPanel('adaptive', {
      runId: result.runId,
      variants: panelNumbers(result),
      shows: [
        { testId: 'adaptive-note', includes: `${variant.chains} of ${variant.chains + variant.chainsSaved} chains` },
        { testId: 'adaptive-note', includes: 'Adaptive-Consistency' },
      ],
    });
    if (verdict !== 'no-browser') assert.equal(verdict, 'ok');
  });

  test('Test Explorer lists cases × variants, and running one reports pass or fail', async () => {
    const api = extension().exports as ChainscopeApi;
    const file = await api.tests.itemsFor(fixtureUri('xss.prompt'));
    const cases: string[] = [];
    file.children.forEach((item) => cases.push(item.label));
    assert.deepEqual(cases, ['markup', 'four']);
    const four = [
      ...(function* () {
        const found: vscode.TestItem[] = [];
        file.children.forEach((item) => found.push(item));
        yield* found;
      })(),
    ].find((item) => item.label === 'four');
    assert.ok(four);
    const variants: vscode.TestItem[] = [];
    four.children.forEach((item) => variants.push(item));
    assert.deepEqual(
      variants.map((item) => item.label),
      ['zero-shot', 'few-shot'],
    );
    const document = await vscode.workspace.openTextDocument(fixtureUri('xss.prompt'));
    assert.equal(four.range?.start.line, rangeOf(document, 'name: four').start.line);

    const before = server.requests.length;
    await api.tests.runItems([variants[0] as vscode.TestItem]);
    assert.equal(server.requests.length - before, 1, 'only the chosen case and variant ran');
    const outcome = api.tests.outcomes.get((variants[0] as vscode.TestItem).id);
    // "4", "4", "four": the majority answer is 4 whatever the draw order, unless the draw gave "four" twice.
    assert.ok(outcome === 'passed' || outcome === 'failed', `outcome ${String(outcome)}`);
    const result = api.evaluations.latestResult(fixtureUri('xss.prompt'));
    const cell = result?.cells.find((c) => c.caseName === 'four' && c.variant === 'zero-shot');
    assert.equal(outcome, cell?.majorityPass ? 'passed' : 'failed');
  });
  /** The file's leaves (case × variant items) by `case/variant` label. */
  async function leavesOf(api: ChainscopeApi, uri: vscode.Uri): Promise<Map<string, vscode.TestItem>> {
    const file = await api.tests.itemsFor(uri);
    const leaves = new Map<string, vscode.TestItem>();
    file.children.forEach((caseItem) => caseItem.children.forEach((leaf) => leaves.set(`${caseItem.label}/${leaf.label}`, leaf)));
    return leaves;
  }

  test('a failing test shows the case, the expected and majority answers and the chain, with a diff message at the case', async () => {
    const api = extension().exports as ChainscopeApi;
    const uri = fixtureUri('failing.prompt');
    const wrong = (await leavesOf(api, uri)).get('wrong/zero-shot');
    assert.ok(wrong);
    await api.tests.runItems([wrong]);
    assert.equal(api.tests.outcomes.get(wrong.id), 'failed');
    const report = api.tests.reports.get(wrong.id);
    assert.ok(report?.message, 'a failure carries a message');
    // The test output terminal takes CRLF line endings.
    assert.doesNotMatch(report.output.replace(/\r\n/g, ''), /\n/);
    const lines = report.output.split('\r\n');
    assert.equal(lines[0], '✗ zero-shot / wrong');
    assert.ok(lines.includes('  expected: 8'), report.output);
    assert.ok(lines.includes('  majority: 7 (100% of 2 chains)'), report.output);
    assert.ok(lines.includes('    The answer is 7.'), 'the chain is in the output');
    assert.equal(report.message.expectedOutput, '8');
    assert.equal(report.message.actualOutput, '7');
    assert.match(typeof report.message.message === 'string' ? report.message.message : report.message.message.value, /The answer is 7\./);
    const document = await vscode.workspace.openTextDocument(uri);
    assert.equal(report.message.location?.uri.toString(), uri.toString());
    assert.equal(report.message.location?.range.start.line, rangeOf(document, 'name: wrong').start.line);
  });

  test('a run started from the CodeLens updates the Test Explorer results', async () => {
    const api = extension().exports as ChainscopeApi;
    const uri = fixtureUri('failing.prompt');
    const leaves = await leavesOf(api, uri);
    const wrong = leaves.get('wrong/zero-shot');
    const right = leaves.get('right/zero-shot');
    assert.ok(wrong && right);
    api.tests.outcomes.delete(wrong.id);
    api.tests.outcomes.delete(right.id);
    const editor = await openActivated('failing.prompt');
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', editor.document.uri, 20);
    const evaluate = lenses.find((lens) => lens.command?.command === 'chainscope.evaluate');
    assert.ok(evaluate?.command);
    const result = await vscode.commands.executeCommand<RunResult>(
      evaluate.command.command,
      ...((evaluate.command.arguments ?? []) as unknown[]),
    );
    assert.equal(result.status, 'completed');
    // Recorded as the run finishes, asynchronously.
    const deadline = Date.now() + 10_000;
    while ((!api.tests.outcomes.has(wrong.id) || !api.tests.outcomes.has(right.id)) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(api.tests.outcomes.get(wrong.id), 'failed');
    assert.equal(api.tests.outcomes.get(right.id), 'passed');
    assert.match(api.tests.reports.get(wrong.id)?.output ?? '', /The answer is 7\./);
  });

  test("the hover's token counts on the local-model prompt are the prompt tokens its run reported", async function () {
    const api = extension().exports as ChainscopeApi;
    const uri = vscode.Uri.file(path.join(extension().extensionPath, 'prompts', 'arithmetic.prompt'));
    const result = api.evaluations.latestResult(uri);
    // The arithmetic run above; reported as skipped (not passed) when a grep left it out.
    if (!result) this.skip();
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      uri,
      rangeOf(document, '{{question}}').start,
    );
    const text = hovers.map(hoverText).join('\n');
    assert.match(text, /counted with local model's tokenizer: arith-tiny/);
    for (const variant of ['zero-shot', 'few-shot', 'zero-shot-cot', 'few-shot-cot']) {
      const row = new RegExp(`\\| ${variant} \\| \\d+ \\| (\\d+) \\| [\\d.]+ \\|`).exec(text);
      assert.ok(row, `no row for ${variant} in ${text}`);
      // The hover's first case is the dataset's first row.
      const first: RunResult['cells'][number] | undefined = result.cells
        .filter((cell) => cell.variant === variant)
        .sort((a, b) => a.location.line - b.location.line)[0];
      assert.equal(Number(row[1]), first?.chains[0]?.promptTokens, `${variant}: hover ${row[1]}, run ${first?.chains[0]?.promptTokens}`);
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
