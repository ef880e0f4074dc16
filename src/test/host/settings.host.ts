// A settings change reloads only what it reaches: the local model session outlives a price change.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ChainscopeApi } from '../../extension/extension';
import { extension, openActivated } from './helpers';

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
});
