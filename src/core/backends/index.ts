import type { Backend } from '../backend';
import type { ExecutionProviderSetting } from '../local/generator';
import { LocalBackend, resolveLocalModel } from './local';
import { OpenAIBackend } from './openai';

export interface BackendOptions {
  /** `openai`, `azure`, `ollama`, `vllm`, `lmstudio`, `llamacpp`, `local`, or a base URL. */
  backend?: string;
  model?: string;
  baseUrl?: string;
  /** The prompt file's `model` (`openai:gpt-4o-mini`), used for whatever the options leave open. */
  modelReference?: string;
  promptDirectory?: string;
  env: Record<string, string | undefined>;
  /** A key from the editor's SecretStorage; the CLI reads the environment. */
  apiKey?: string;
  input?: 'chat' | 'text';
  timeoutMs?: number;
  maxAttempts?: number;
  concurrency?: number;
  log?: (message: string) => void;
  /** Local models: execution provider, GPU, threads, and more folders to look for models in. */
  local?: { executionProvider?: ExecutionProviderSetting; deviceId?: number; threads?: number; modelDirectories?: string[] };
}

export { ENDPOINTS } from './endpoints';
import { ENDPOINTS } from './endpoints';

export const BACKEND_NAMES = [...Object.keys(ENDPOINTS), 'local'];

/** Splits `provider:model` (or Dotprompt's `provider/model`) into its parts. */
export function parseModelReference(reference: string | undefined): { provider?: string; model?: string } {
  if (!reference) return {};
  const match = /^([a-z][\w-]*)[:/](.+)$/i.exec(reference.trim());
  if (!match) return { model: reference.trim() };
  return { provider: (match[1] ?? '').toLowerCase(), model: match[2] ?? '' };
}

/** Builds the backend a run asks for, or explains what is missing. */
export async function createBackend(options: BackendOptions): Promise<Backend> {
  const reference = parseModelReference(options.modelReference);
  let name = options.backend ?? reference.provider;
  let baseUrl = options.baseUrl;
  if (name && /^https?:\/\//.test(name)) {
    baseUrl = name;
    name = 'openai-compatible';
  }
  if (!name) throw new Error("No backend: the prompt has no 'model: <provider>:<model>' and no --backend was given.");
  const model = options.model ?? reference.model;
  if (!model) throw new Error(`No model: give one with --model or in the prompt's 'model' (e.g. ${name}:<model>).`);

  if (name === 'local') {
    const directory = resolveLocalModel(model, options.promptDirectory, options.local?.modelDirectories);
    const log = options.log;
    return new LocalBackend({
      directory,
      ...(options.local?.executionProvider ? { executionProvider: options.local.executionProvider } : {}),
      ...(options.local?.deviceId !== undefined ? { deviceId: options.local.deviceId } : {}),
      ...(options.local?.threads !== undefined ? { threads: options.local.threads } : {}),
      ...(log ? { log: (level: 'info' | 'warn', message: string) => log(`${level}: ${message}`) } : {}),
    });
  }
  const endpoint = ENDPOINTS[name];
  if (!endpoint) {
    throw new Error(`Unknown backend '${name}' (from ${options.backend ? '--backend' : `model: ${options.modelReference ?? ''}`}): use one of ${BACKEND_NAMES.join(', ')}, or a base URL.`);
  }
  const env = options.env;
  const apiKey = options.apiKey ?? (endpoint.keyVariable ? env[endpoint.keyVariable] : undefined) ?? endpoint.defaultKey;
  if (!apiKey) {
    throw new Error(`No API key for ${name}: set ${endpoint.keyVariable ?? 'the key'} in the environment (or use "Chainscope: Set API Key" in VS Code).`);
  }
  const log = options.log;
  const common = {
    id: name,
    model,
    apiKey,
    ...(options.input ? { input: options.input } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.concurrency ? { maxConcurrency: options.concurrency } : {}),
    ...(log ? { log: (level: 'info' | 'warn', message: string) => log(`${level}: ${message}`) } : {}),
  };
  if (name === 'azure') {
    const azureEndpoint = baseUrl ?? env.AZURE_OPENAI_ENDPOINT;
    if (!azureEndpoint) throw new Error('Azure OpenAI needs an endpoint: set AZURE_OPENAI_ENDPOINT or pass --base-url https://<resource>.openai.azure.com/.');
    const apiVersion = env.AZURE_OPENAI_API_VERSION ?? env.OPENAI_API_VERSION ?? '2024-10-21';
    return new OpenAIBackend({ ...common, azure: { endpoint: azureEndpoint, deployment: model, apiVersion } });
  }
  const url = baseUrl ?? (name === 'openai' ? env.OPENAI_BASE_URL : undefined) ?? endpoint.baseUrl;
  if (name === 'openai-compatible' && !url) throw new Error("The 'openai-compatible' backend needs --base-url.");
  return Promise.resolve(new OpenAIBackend({ ...common, ...(url ? { baseUrl: url } : {}) }));
}
