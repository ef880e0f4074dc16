// Known OpenAI-compatible endpoints: kept apart from the backends so listing them loads no SDK.

export interface Endpoint {
  baseUrl?: string;
  keyVariable?: string;
  /** Local servers accept any key; the SDK still wants one. */
  defaultKey?: string;
}

export const ENDPOINTS: Record<string, Endpoint> = {
  openai: { keyVariable: 'OPENAI_API_KEY' },
  azure: { keyVariable: 'AZURE_OPENAI_API_KEY' },
  ollama: { baseUrl: 'http://127.0.0.1:11434/v1', defaultKey: 'ollama' },
  vllm: { baseUrl: 'http://127.0.0.1:8000/v1', keyVariable: 'VLLM_API_KEY', defaultKey: 'EMPTY' },
  lmstudio: { baseUrl: 'http://127.0.0.1:1234/v1', defaultKey: 'lm-studio' },
  llamacpp: { baseUrl: 'http://127.0.0.1:8080/v1', defaultKey: 'none' },
  'openai-compatible': { keyVariable: 'OPENAI_API_KEY', defaultKey: 'none' },
};

/** Every backend a model reference may name. */
export const BACKEND_NAMES = [...Object.keys(ENDPOINTS), 'local'];

/** Azure OpenAI's API version when neither the options nor the environment give one; package.json's setting default matches it (tested). */
export const DEFAULT_AZURE_API_VERSION = '2024-10-21';

/** Why `text` cannot be a server's base URL, or undefined when it can: an http(s) URL with a host. */
export function baseUrlProblem(text: string): string | undefined {
  const example = 'e.g. http://127.0.0.1:8000/v1';
  const trimmed = text.trim();
  if (!trimmed) return `Write the server's URL, ${example}`;
  if (!trimmed.includes('://')) return `Start it with http:// or https://, ${example}`;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return `Not a URL: write it as ${example}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `Use http:// or https://, not ${url.protocol}//`;
  return url.hostname ? undefined : 'The URL needs a host';
}

/** Like baseUrlProblem for a setting that may list several replicas separated by commas: names the one at fault. */
export function baseUrlListProblem(text: string): string | undefined {
  if (!text.includes(',')) return baseUrlProblem(text);
  const urls = text.split(',').map((part) => part.trim());
  for (const [index, url] of urls.entries()) {
    if (!url) continue;
    const problem = baseUrlProblem(url);
    if (problem) return `URL ${index + 1} of ${urls.filter(Boolean).length}: ${problem}`;
  }
  return urls.some(Boolean) ? undefined : baseUrlProblem('');
}
