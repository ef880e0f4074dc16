// Which parts of the extension a settings change reaches, and which setting holds each server's base URL.
// Kept free of `vscode` so the tables are tested in plain mocha, against package.json.

/** What to reload after a change of `chainscope.*` settings. */
export interface SettingsImpact {
  /** Drop the remote backends (their endpoints, timeouts, retries and concurrency are fixed at construction). */
  remoteBackends: boolean;
  /** Dispose the local model session: its worker, ONNX session and cache. */
  localBackend: boolean;
  /** The model a run would use changed: CodeLens titles and the status bar. */
  modelChoice: boolean;
  diagnostics: boolean;
}

/** The base-URL setting (under `chainscope.`) of each provider but Azure, whose endpoint is `azure.endpoint`. */
export const BASE_URL_SETTINGS: Readonly<Record<string, string>> = {
  openai: 'openai.baseUrl',
  'openai-compatible': 'compatible.baseUrl',
  ollama: 'ollama.baseUrl',
  vllm: 'vllm.baseUrl',
  lmstudio: 'lmstudio.baseUrl',
  llamacpp: 'llamacpp.baseUrl',
};

/** Setting sections (under `chainscope.`) by what they reach; a section covers the settings below it. */
export const SETTING_SECTIONS: Record<keyof SettingsImpact, readonly string[]> = {
  remoteBackends: [...Object.values(BASE_URL_SETTINGS), 'azure', 'concurrency', 'requestTimeoutSeconds', 'maxAttempts'],
  localBackend: ['local'],
  modelChoice: ['defaultModel'],
  diagnostics: ['diagnostics'],
};

/** Settings read on every use (a run, a hover), so a change needs no reload. */
export const READ_ON_USE: readonly string[] = ['prices', 'runsDirectory', 'tokenizer.encoding', 'backgroundThread'];

/** `affects` answers for a section under `chainscope.`, as `event.affectsConfiguration('chainscope.' + section)` does. */
export function settingsImpact(affects: (section: string) => boolean): SettingsImpact {
  const any = (sections: readonly string[]): boolean => sections.some((section) => affects(section));
  return {
    remoteBackends: any(SETTING_SECTIONS.remoteBackends),
    localBackend: any(SETTING_SECTIONS.localBackend),
    modelChoice: any(SETTING_SECTIONS.modelChoice),
    diagnostics: any(SETTING_SECTIONS.diagnostics),
  };
}
