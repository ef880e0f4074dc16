import * as vscode from 'vscode';
import { ENCODINGS, type EncodingName } from '../core/tokens';

/** Every setting Chainscope reads, typed, in one place. */
export interface ChainscopeSettings {
  tokenizerEncoding: EncodingName | 'auto';
  diagnosticsEnabled: boolean;
}

export function readSettings(scope?: vscode.ConfigurationScope): ChainscopeSettings {
  const config = vscode.workspace.getConfiguration('chainscope', scope);
  const encoding = config.get<string>('tokenizer.encoding', 'auto');
  return {
    tokenizerEncoding: (ENCODINGS as readonly string[]).includes(encoding) ? (encoding as EncodingName) : 'auto',
    diagnosticsEnabled: config.get<boolean>('diagnostics.enabled', true),
  };
}

export function onSettingsChanged(listener: () => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((event) => {
    if (event.affectsConfiguration('chainscope')) listener();
  });
}
