import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';

import type { EncodingName } from './encodings';

export { ENCODINGS, type EncodingName } from './encodings';

/** Picks the tokenizer OpenAI uses for a model name; `o200k_base` (GPT-4o and later) when unknown. */
export function encodingForModel(model: string | undefined): EncodingName {
  const name = (model ?? '').toLowerCase().replace(/^[a-z-]+[:/]/, '');
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o\d|chatgpt-4o|gpt-oss)/.test(name)) return 'o200k_base';
  if (/^(gpt-4|gpt-3\.5|gpt-35|text-embedding-(ada|3))/.test(name)) return 'cl100k_base';
  if (/^(text-davinci-00[23]|code-)/.test(name)) return 'p50k_base';
  if (/^(davinci|curie|babbage|ada|gpt2|gpt-2)/.test(name)) return 'r50k_base';
  return 'o200k_base';
}

const loaded = new Map<EncodingName, Tiktoken>();

/**
 * Loads an encoding on first use (o200k_base's ranks take ~0.8 s to load here, so never on activation).
 * The ranks come from the packaged copy next to the bundle, or from node_modules when run from source.
 */
export function getEncoding(name: EncodingName): Tiktoken {
  let encoding = loaded.get(name);
  if (!encoding) {
    encoding = new Tiktoken(loadRanks(name));
    loaded.set(name, encoding);
  }
  return encoding;
}

function loadRanks(name: EncodingName): TiktokenBPE {
  const bundled = path.join(__dirname, 'tiktoken', `${name}.json`);
  if (fs.existsSync(bundled)) return JSON.parse(fs.readFileSync(bundled, 'utf8')) as TiktokenBPE;
  // Computed so that the bundler leaves the multi-megabyte rank tables out of the bundle.
  const specifier = ['js-tiktoken', 'ranks', name].join('/');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy, synchronous load is the point here
  const ranks = require(specifier) as { default?: TiktokenBPE } & TiktokenBPE;
  return ranks.default ?? ranks;
}

export function countTokens(text: string, encoding: EncodingName = 'o200k_base'): number {
  // Special-token text in a prompt is counted as plain text, as an API counts user content.
  return getEncoding(encoding).encode(text, [], []).length;
}

/** Chat messages cost their content plus a few framing tokens each (OpenAI's published accounting). */
export function countChatTokens(messages: readonly { role: string; content: string }[], encoding: EncodingName = 'o200k_base'): number {
  const perMessage = 3;
  const replyPrimer = 3;
  let total = replyPrimer;
  for (const message of messages) total += perMessage + countTokens(message.content, encoding) + countTokens(message.role, encoding);
  return total;
}
