// A local model's own tokenizer and chat template, apart from its ONNX session: the worker encodes
// prompts with it, and the editor counts prompt tokens with it (without loading the model).
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFolderError } from './modelFolder';

/** What a request gives the model: chat messages (rendered with the model's template) or plain text. */
export interface ModelPrompt {
  messages?: readonly { role: string; content: string }[];
  text?: string;
}

export interface TokenizerFiles {
  name: string;
  tokenizer: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  chatTemplate?: string;
}

export class LocalTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly template: Template | undefined;
  readonly name: string;

  constructor(private readonly files: TokenizerFiles) {
    this.name = files.name;
    this.tokenizer = new Tokenizer(files.tokenizer, files.tokenizerConfig);
    this.template = files.chatTemplate ? new Template(files.chatTemplate) : undefined;
  }

  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: true });
  }

  /** The model's chat template, as transformers renders it, with the generation prompt. */
  renderChat(messages: readonly { role: string; content: string }[]): string {
    if (!this.template) throw new ModelFolderError(`${this.name} has no chat_template in tokenizer_config.json: use the text form.`);
    const special = (key: string): string | undefined => {
      const value = this.files.tokenizerConfig[key];
      return typeof value === 'string' ? value : (value as { content?: string } | undefined)?.content;
    };
    return this.template.render({
      messages,
      add_generation_prompt: true,
      bos_token: special('bos_token') ?? '',
      eos_token: special('eos_token') ?? '',
    });
  }

  /** The token ids the model is given for a prompt: the one place the worker and the editor's counts agree on. */
  promptIds(prompt: ModelPrompt): number[] {
    return this.encode(prompt.messages ? this.renderChat(prompt.messages) : (prompt.text ?? ''));
  }
}

/**
 * What a local backend sends for a run's request: chat messages to a chat model, else plain text
 * (a chat's contents joined when only messages are given).
 */
export function modelPrompt(input: 'chat' | 'text', request: ModelPrompt): ModelPrompt {
  return request.messages && input === 'chat'
    ? { messages: request.messages }
    : { text: request.text ?? request.messages?.map((message) => message.content).join('\n\n') ?? '' };
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await fs.promises.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFolderError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A model folder's tokenizer and input form, read without its ONNX graph. */
export interface FolderTokenizer {
  tokenizer: LocalTokenizer;
  input: 'chat' | 'text';
}

/** Same rule as readModelFolder: config `chainscope.input`, else chat when the tokenizer has a template. */
async function loadFolderTokenizer(directory: string): Promise<FolderTokenizer> {
  const [config, tokenizer, tokenizerConfig] = await Promise.all(
    ['config.json', 'tokenizer.json', 'tokenizer_config.json'].map((file) => readJson(path.join(directory, file))),
  );
  const chatTemplate = typeof tokenizerConfig?.chat_template === 'string' ? tokenizerConfig.chat_template : undefined;
  const hint = (config?.chainscope as { input?: unknown } | undefined)?.input;
  return {
    tokenizer: new LocalTokenizer({
      name: path.basename(directory),
      tokenizer: tokenizer ?? {},
      tokenizerConfig: tokenizerConfig ?? {},
      ...(chatTemplate ? { chatTemplate } : {}),
    }),
    input: hint === 'text' || hint === 'chat' ? hint : chatTemplate ? 'chat' : 'text',
  };
}

interface CacheEntry {
  stamp: string;
  loading: Promise<FolderTokenizer>;
}

const cache = new Map<string, CacheEntry>();
const CACHE_LIMIT = 4;

async function stampOf(directory: string): Promise<string> {
  const stats = await Promise.all(
    ['config.json', 'tokenizer.json', 'tokenizer_config.json'].map((file) =>
      fs.promises.stat(path.join(directory, file)).then(
        (stat) => `${stat.mtimeMs}:${stat.size}`,
        () => 'missing',
      ),
    ),
  );
  return stats.join('|');
}

/**
 * A model folder's tokenizer, loaded once per folder (a large tokenizer.json takes a while to parse) and
 * again only when its files change. The files are read asynchronously; a failed load is not kept.
 */
export async function folderTokenizer(directory: string): Promise<FolderTokenizer> {
  const stamp = await stampOf(directory);
  const cached = cache.get(directory);
  if (cached?.stamp === stamp) return cached.loading;
  const entry: CacheEntry = { stamp, loading: loadFolderTokenizer(directory) };
  cache.delete(directory);
  cache.set(directory, entry);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  entry.loading.catch(() => {
    if (cache.get(directory) === entry) cache.delete(directory);
  });
  return entry.loading;
}
