import * as vscode from 'vscode';
import { ENDPOINTS } from '../core/backends/endpoints';
import type { Logger } from './log';

const SECRET_PREFIX = 'chainscope.apiKey.';

/** API keys live only in VS Code's SecretStorage (the OS keychain), one per endpoint. */
export class ApiKeys {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  get(endpoint: string): Thenable<string | undefined> {
    return this.secrets.get(SECRET_PREFIX + endpoint);
  }

  store(endpoint: string, key: string): Thenable<void> {
    return this.secrets.store(SECRET_PREFIX + endpoint, key);
  }

  delete(endpoint: string): Thenable<void> {
    return this.secrets.delete(SECRET_PREFIX + endpoint);
  }

  /** Fires with the endpoint whose key was stored or removed. */
  onDidChange(listener: (endpoint: string) => void): vscode.Disposable {
    return this.secrets.onDidChange((event) => {
      if (event.key.startsWith(SECRET_PREFIX)) listener(event.key.slice(SECRET_PREFIX.length));
    });
  }
}

export function registerApiKeyCommands(keys: ApiKeys, log: Logger): vscode.Disposable[] {
  const pickEndpoint = async (title: string): Promise<string | undefined> => {
    const pick = await vscode.window.showQuickPick(
      Object.keys(ENDPOINTS).map((endpoint) => ({ label: endpoint, description: ENDPOINTS[endpoint]?.baseUrl ?? '' })),
      { title, placeHolder: 'Which endpoint is the key for?' },
    );
    return pick?.label;
  };
  return [
    vscode.commands.registerCommand('chainscope.setApiKey', async (endpointArgument?: string) => {
      const endpoint = endpointArgument ?? (await pickEndpoint('Chainscope: Set API Key'));
      if (!endpoint) return;
      const key = await vscode.window.showInputBox({
        title: `API key for ${endpoint}`,
        prompt: 'Stored in VS Code secret storage (your OS keychain), never in settings.',
        password: true,
        ignoreFocusOut: true,
        validateInput: (value) => (value.trim() === '' ? 'The key is empty.' : undefined),
      });
      if (!key) return;
      await keys.store(endpoint, key.trim());
      // The key itself is never logged.
      log.info('secrets', `API key for ${endpoint} stored`);
      void vscode.window.showInformationMessage(`Chainscope: API key for ${endpoint} stored.`);
    }),
    vscode.commands.registerCommand('chainscope.clearApiKey', async (endpointArgument?: string) => {
      const endpoint = endpointArgument ?? (await pickEndpoint('Chainscope: Clear API Key'));
      if (!endpoint) return;
      await keys.delete(endpoint);
      log.info('secrets', `API key for ${endpoint} removed`);
    }),
  ];
}
