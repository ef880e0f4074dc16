// A settings change reloads only what it reaches: the local model session outlives a price change.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ChainscopeApi } from '../../extension/extension';
import { extension, fixtureUri, openActivated } from './helpers';

/** Changes a global setting and resolves once every configuration listener, the extension's first, has run. */
async function setGlobal(key: string, value: unknown): Promise<void> {
  const changed = new Promise<void>((resolve) => {
    const subscription = vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration(`chainscope.${key}`)) return;
      subscription.dispose();
      resolve();
    });
  });
  await vscode.workspace.getConfiguration('chainscope').update(key, value, vscode.ConfigurationTarget.Global);
  await changed;
}

suite('Settings changes', () => {
  teardown(async () => {
    for (const key of ['prices', 'local.threads', 'concurrency'])
      await vscode.workspace.getConfiguration('chainscope').update(key, undefined, vscode.ConfigurationTarget.Global);
  });

  test('keep the backends a setting does not reach, and rebuild those it does', async () => {
    await openActivated('good.prompt');
    const { backends } = extension().exports as ChainscopeApi;
    const local = await backends.forModel('local:arith-tiny');
    const remote = await backends.forModel('ollama:llama3.2');

    await setGlobal('prices', { 'llama3.2': { input: 1, output: 2 } });
    assert.equal(await backends.forModel('local:arith-tiny'), local, 'a price change disposed the local session');
    assert.equal(await backends.forModel('ollama:llama3.2'), remote);

    await setGlobal('local.threads', 1);
    const reloaded = await backends.forModel('local:arith-tiny');
    assert.notEqual(reloaded, local, 'chainscope.local.threads did not reload the local session');
    assert.equal(await backends.forModel('ollama:llama3.2'), remote, 'a local setting dropped a remote backend');

    await setGlobal('concurrency', 2);
    assert.notEqual(await backends.forModel('ollama:llama3.2'), remote);
    assert.equal(await backends.forModel('local:arith-tiny'), reloaded, 'a remote setting disposed the local session');
  });

  test("the model picker's server choice stores the URL and pins the model", async () => {
    await openActivated('good.prompt');
    const { backends } = extension().exports as ChainscopeApi;
    const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('chainscope');
    const before = config().inspect<string>('compatible.baseUrl')?.globalValue;
    const url = 'http://127.0.0.1:9/v1';
    try {
      // What "OpenAI-compatible server…" applies once its two questions are answered (a keybinding's args too).
      const pinned = await vscode.commands.executeCommand<string | undefined>('chainscope.selectModel', {
        model: 'openai-compatible:qwen2.5-7b',
        baseUrl: url,
      });
      assert.equal(pinned, 'openai-compatible:qwen2.5-7b');
      assert.equal(config().get('compatible.baseUrl'), url);
      assert.equal(config().inspect('compatible.baseUrl')?.globalValue, url, "stored in the user's settings, not the workspace's");
      // The backend is built from it (without the URL it throws), and the CodeLens names the pinned model.
      await backends.forModel('openai-compatible:qwen2.5-7b');
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>(
        'vscode.executeCodeLensProvider',
        fixtureUri('good.prompt'),
        20,
      );
      const titles = lenses.map((lens) => lens.command?.title ?? '');
      assert.ok(
        titles.some((title) => title.endsWith(' on openai-compatible:qwen2.5-7b')),
        JSON.stringify(titles),
      );

      // Anything but http(s) is refused, and changes nothing.
      await assert.rejects(
        Promise.resolve(
          vscode.commands.executeCommand('chainscope.selectModel', { model: 'openai-compatible:other', baseUrl: '127.0.0.1:8000/v1' }),
        ),
        /http:\/\/ or https:\/\//,
      );
      await assert.rejects(
        Promise.resolve(
          vscode.commands.executeCommand('chainscope.selectModel', { model: 'openai-compatible:other', baseUrl: 'ftp://host/v1' }),
        ),
        /not ftp:/,
      );
      assert.equal(config().get('compatible.baseUrl'), url);

      // LM Studio's URL is a setting like the others.
      const lmstudio = await vscode.commands.executeCommand<string | undefined>('chainscope.selectModel', {
        model: 'lmstudio:qwen',
        baseUrl: 'http://127.0.0.1:9/lmstudio/v1',
      });
      assert.equal(lmstudio, 'lmstudio:qwen');
      assert.equal(config().get('lmstudio.baseUrl'), 'http://127.0.0.1:9/lmstudio/v1');
    } finally {
      await vscode.commands.executeCommand('chainscope.selectModel', { model: null });
      await config().update('compatible.baseUrl', before, vscode.ConfigurationTarget.Global);
      await config().update('lmstudio.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    }
    assert.equal(await vscode.commands.executeCommand('chainscope.selectModel', { model: null }), undefined);
  });
});
