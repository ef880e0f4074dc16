import type { Backend } from '../backend';
import { redactUrl } from '../redact';
import type { ExecutionProviderSetting } from '../local/generator';
import type { LocalPrecision } from '../local/modelFolder';
import { LocalBackend, resolveLocalModel } from './local';
import { BatchBackend, type BatchSettings } from './batch';
import { OpenAIBackend, type OpenAIBackendOptions } from './openai';
import { baseUrlList, ReplicaBackend } from './replicas';

export interface BackendOptions {
  /** `openai`, `azure`, `ollama`, `vllm`, `lmstudio`, `llamacpp`, `local`, or a base URL. */
  backend?: string;
  model?: string;
  /** One base URL, or several replicas of one model separated by commas. */
  baseUrl?: string;
  /** The prompt file's `model` (`openai:gpt-4o-mini`), used for whatever the options leave open. */
  modelReference?: string;
  promptDirectory?: string;
  env: Record<string, string | undefined>;
  /** A key from the editor's SecretStorage; the CLI reads the environment. */
  apiKey?: string;
  /** Azure OpenAI: the editor's settings; left open, AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_VERSION apply. */
  azure?: { endpoint?: string; apiVersion?: string };
  input?: 'chat' | 'text';
  timeoutMs?: number;
  maxAttempts?: number;
  concurrency?: number;
  /** Replicas: how long one that failed gets no requests (default 30 s). */
  replicaCooldownMs?: number;
  log?: (message: string) => void;
  /** Send the run through the provider's Batch API (OpenAI, Azure OpenAI, or a server that serves one). */
  batch?: BatchSettings;
  /** Local models: execution provider, which export (precision), GPU, threads, and more folders to look for models in. */
  local?: {
    executionProvider?: ExecutionProviderSetting;
    precision?: LocalPrecision;
    deviceId?: number;
    threads?: number;
    modelDirectories?: string[];
  };
}

export { BACKEND_NAMES, DEFAULT_AZURE_API_VERSION, ENDPOINTS } from './endpoints';
import { BACKEND_NAMES, baseUrlProblem, DEFAULT_AZURE_API_VERSION, ENDPOINTS } from './endpoints';
export { baseUrlList, endpointStatsSince, ReplicaBackend } from './replicas';
export { formatModelReference, parseModelReference, type ModelReference } from './reference';
import { parseModelReference } from './reference';

/** Azure's endpoint and API version: the options first (--base-url, then the editor's settings), then the environment, then the default. */
export function azureSettings(options: Pick<BackendOptions, 'baseUrl' | 'azure' | 'env'>): {
  endpoint: string | undefined;
  apiVersion: string;
} {
  const { env } = options;
  return {
    endpoint: options.baseUrl || options.azure?.endpoint || env.AZURE_OPENAI_ENDPOINT || undefined,
    apiVersion: options.azure?.apiVersion || env.AZURE_OPENAI_API_VERSION || env.OPENAI_API_VERSION || DEFAULT_AZURE_API_VERSION,
  };
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

  if (name === 'local' && options.batch)
    throw new Error('Batch runs go to a remote Batch API (openai, azure, or a compatible server): a local model has none.');
  if (name === 'local') {
    const directory = resolveLocalModel(model, options.promptDirectory, options.local?.modelDirectories);
    const log = options.log;
    return new LocalBackend({
      directory,
      ...(options.local?.executionProvider ? { executionProvider: options.local.executionProvider } : {}),
      ...(options.local?.precision ? { precision: options.local.precision } : {}),
      ...(options.local?.deviceId !== undefined ? { deviceId: options.local.deviceId } : {}),
      ...(options.local?.threads !== undefined ? { threads: options.local.threads } : {}),
      ...(log ? { log: (level: 'info' | 'warn', message: string) => log(`${level}: ${message}`) } : {}),
    });
  }
  const endpoint = ENDPOINTS[name];
  if (!endpoint) {
    throw new Error(
      `Unknown backend '${name}' (from ${options.backend ? '--backend' : `model: ${options.modelReference ?? ''}`}): use one of ${BACKEND_NAMES.join(', ')}, or a base URL.`,
    );
  }
  const env = options.env;
  const apiKey = options.apiKey ?? (endpoint.keyVariable ? env[endpoint.keyVariable] : undefined) ?? endpoint.defaultKey;
  if (!apiKey) {
    throw new Error(
      `No API key for ${name}: set ${endpoint.keyVariable ?? 'the key'} in the environment (or use "Chainscope: Set API Key" in VS Code).`,
    );
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
    const { endpoint: azureEndpoint, apiVersion } = azureSettings(options);
    if (!azureEndpoint)
      throw new Error(
        'Azure OpenAI needs an endpoint: set AZURE_OPENAI_ENDPOINT or pass --base-url https://<resource>.openai.azure.com/ (in VS Code: chainscope.azure.endpoint).',
      );
    if (baseUrlList(azureEndpoint).length > 1)
      throw new Error(`Azure OpenAI takes one endpoint, not a list of replicas (got ${baseUrlList(azureEndpoint).length}).`);
    return remote({ ...common, azure: { endpoint: azureEndpoint, deployment: model, apiVersion } }, options.batch);
  }
  const urls = baseUrlList(baseUrl);
  if (urls.length > 1) {
    // A batch goes to one provider's Files and Batches APIs: replicas have nothing to spread.
    if (options.batch) throw new Error(`--batch takes one endpoint, not a list of replicas (got ${urls.length}).`);
    return replicaBackend(urls, common, options);
  }
  const url = baseUrl ?? (name === 'openai' ? env.OPENAI_BASE_URL : undefined) ?? endpoint.baseUrl;
  if (name === 'openai-compatible' && !url)
    throw new Error(
      "The 'openai-compatible' backend needs the server's URL: --base-url, or in VS Code the chainscope.compatible.baseUrl setting (the model picker's 'OpenAI-compatible server…' sets it).",
    );
  return Promise.resolve(remote({ ...common, ...(url ? { baseUrl: url } : {}) }, options.batch));
}

function remote(options: OpenAIBackendOptions, batch: BatchSettings | undefined): Backend {
  return batch ? new BatchBackend({ ...options, batch }) : new OpenAIBackend(options);
}

/** Several base URLs of one model: one client per replica, each trying once, the wrapper trying elsewhere. */
function replicaBackend(urls: string[], common: ConstructorParameters<typeof OpenAIBackend>[0], options: BackendOptions): ReplicaBackend {
  for (const url of urls) {
    const problem = baseUrlProblem(url);
    // The URL is shown only when it carries no credentials.
    if (problem) throw new Error(`A replica's base URL is not usable (${redactUrl(url)}): ${problem}.`);
  }
  const { maxConcurrency: _total, ...each } = common;
  const perReplica = options.concurrency ? Math.max(1, Math.ceil(options.concurrency / urls.length)) : undefined;
  return new ReplicaBackend(
    urls.map(
      (url) =>
        new OpenAIBackend({ ...each, baseUrl: url, maxAttempts: 1, ...(perReplica !== undefined ? { maxConcurrency: perReplica } : {}) }),
    ),
    {
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
      ...(options.replicaCooldownMs !== undefined ? { cooldownMs: options.replicaCooldownMs } : {}),
      ...(common.log ? { log: common.log } : {}),
    },
  );
}
