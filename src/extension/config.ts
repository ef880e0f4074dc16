import * as vscode from 'vscode';
import type { Prices } from '../core/eval/results';
import { DEFAULT_AZURE_API_VERSION } from '../core/backends/endpoints';
import { ENCODINGS, type EncodingName } from '../core/encodings';
import { settingsImpact, type SettingsImpact } from './settingsImpact';

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
  local: { executionProvider: 'auto' | 'cuda' | 'cpu'; deviceId: number; threads: number; modelDirectories: string[] };
  /** Remote runs in a worker thread at background priority (chainscope.backgroundThread). */
  backgroundThread: boolean;
  /** VS Code's own proxy setting (http.proxy): its proxy support reaches the extension host's thread only. */
  httpProxy: string;
}

export function readSettings(scope?: vscode.ConfigurationScope): ChainscopeSettings {
  const config = vscode.workspace.getConfiguration('chainscope', scope);
  const encoding = config.get<string>('tokenizer.encoding', 'auto');
  const baseUrls: Record<string, string> = {};
  for (const endpoint of ['openai', 'compatible', 'ollama', 'vllm']) {
    const url = config.get<string>(`${endpoint}.baseUrl`, '').trim();
    if (url) baseUrls[endpoint === 'compatible' ? 'openai-compatible' : endpoint] = url;
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
      deviceId: config.get<number>('local.deviceId', 0),
      threads: config.get<number>('local.threads', 0),
      modelDirectories: config.get<string[]>('local.modelDirectories', []),
    },
    backgroundThread: config.get<boolean>('backgroundThread', true),
    httpProxy: vscode.workspace.getConfiguration('http').get<string>('proxy', '').trim(),
  };
}

/** Calls `listener` with what a change of Chainscope's settings reaches (see settingsImpact.ts). */
export function onSettingsChanged(listener: (impact: SettingsImpact) => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((event) => {
    if (event.affectsConfiguration('chainscope'))
      listener(settingsImpact((section) => event.affectsConfiguration(`chainscope.${section}`)));
  });
}
