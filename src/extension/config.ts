import * as vscode from 'vscode';
import type { Prices } from '../core/eval/results';
import { DEFAULT_AZURE_API_VERSION } from '../core/backends/endpoints';
import { ENCODINGS, type EncodingName } from '../core/encodings';
import type { LocalPrecision } from '../core/local/modelFolder';
import { BASE_URL_SETTINGS, settingsImpact, type SettingsImpact } from './settingsImpact';

// As LOCAL_PRECISIONS in core/local/modelFolder.ts (a type import only: that module stays out of this bundle's path).
const LOCAL_PRECISIONS: readonly LocalPrecision[] = ['auto', 'fp32', 'q8', 'q4'];

/** Every setting Chainscope reads, typed, in one place. */
export interface ChainscopeSettings {
  tokenizerEncoding: EncodingName | 'auto';
  diagnosticsEnabled: boolean;
  defaultModel: string;
  baseUrls: Record<string, string>;
  azure: { endpoint: string; apiVersion: string };
  concurrency: number;
  requestTimeoutMs: number;
  maxAttempts: number;
  prices: Record<string, Prices>;
  runsDirectory: string;
  local: {
    executionProvider: 'auto' | 'cuda' | 'cpu';
    precision: LocalPrecision;
    deviceId: number;
    threads: number;
    modelDirectories: string[];
  };
  /** Remote runs in the background at the lowest priority: a worker thread, on Linux a process (chainscope.backgroundThread). */
  backgroundThread: boolean;
  /** VS Code's own proxy setting (http.proxy): its proxy support reaches the extension host's thread only. */
  httpProxy: string;
}

export function readSettings(scope?: vscode.ConfigurationScope): ChainscopeSettings {
  const config = vscode.workspace.getConfiguration('chainscope', scope);
  const encoding = config.get<string>('tokenizer.encoding', 'auto');
  const baseUrls: Record<string, string> = {};
  for (const [provider, key] of Object.entries(BASE_URL_SETTINGS)) {
    const url = config.get<string>(key, '').trim();
    if (url) baseUrls[provider] = url;
  }
  return {
    tokenizerEncoding: (ENCODINGS as readonly string[]).includes(encoding) ? (encoding as EncodingName) : 'auto',
    diagnosticsEnabled: config.get<boolean>('diagnostics.enabled', true),
    defaultModel: config.get<string>('defaultModel', 'local:arith-tiny'),
    baseUrls,
    azure: {
      endpoint: config.get<string>('azure.endpoint', ''),
      apiVersion: config.get<string>('azure.apiVersion', DEFAULT_AZURE_API_VERSION),
    },
    concurrency: Math.max(1, config.get<number>('concurrency', 4)),
    requestTimeoutMs: Math.max(1, config.get<number>('requestTimeoutSeconds', 60)) * 1000,
    maxAttempts: Math.max(1, config.get<number>('maxAttempts', 4)),
    prices: config.get<Record<string, Prices>>('prices', {}),
    runsDirectory: config.get<string>('runsDirectory', '.chainscope/runs'),
    local: {
      executionProvider:
        (['auto', 'cuda', 'cpu'] as const).find((value) => value === config.get<string>('local.executionProvider')) ?? 'auto',
      precision: LOCAL_PRECISIONS.find((value) => value === config.get<string>('local.precision')) ?? 'auto',
      deviceId: config.get<number>('local.deviceId', 0),
      threads: config.get<number>('local.threads', 0),
      modelDirectories: config.get<string[]>('local.modelDirectories', []),
    },
    backgroundThread: config.get<boolean>('backgroundThread', true),
    httpProxy: vscode.workspace.getConfiguration('http').get<string>('proxy', '').trim(),
  };
}

/**
 * Stores a provider's base URL where it takes effect: beside a value the workspace already sets, else in
 * the user's settings (a URL may carry credentials, and workspace settings are often committed).
 */
export async function storeBaseUrl(provider: string, url: string): Promise<void> {
  const key = BASE_URL_SETTINGS[provider];
  if (!key) throw new Error(`'${provider}' has no base-URL setting`);
  const config = vscode.workspace.getConfiguration('chainscope');
  const inspected = config.inspect<string>(key);
  const target = inspected?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await config.update(key, url, target);
}

/** Calls `listener` with what a change of Chainscope's settings reaches (see settingsImpact.ts). */
export function onSettingsChanged(listener: (impact: SettingsImpact) => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((event) => {
    if (event.affectsConfiguration('chainscope'))
      listener(settingsImpact((section) => event.affectsConfiguration(`chainscope.${section}`)));
  });
}
