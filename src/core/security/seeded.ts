// Deterministic tokens for canaries, known-answer keys and random-sequence fences: the same prompt renders the
// same text on every run (cache keys and replays stay stable), yet the token cannot be guessed from the attack text.
import { seededRandom } from '../random';

/** FNV-1a over the UTF-8 bytes, 32 bits. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

export const HEX_DIGITS = '0123456789abcdef';
/** Letters and digits without look-alikes (0/O, 1/l/I), so a model copying the token has no reason to alter it. */
export const TOKEN_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** `length` characters of `alphabet` drawn from a stream seeded by the text: the same text, the same token. */
export function seededToken(seedText: string, length: number, alphabet: string = HEX_DIGITS): string {
  const next = seededRandom(fnv1a32(seedText));
  let token = '';
  for (let i = 0; i < length; i++) token += alphabet[Math.floor(next() * alphabet.length)];
  return token;
}

/** What a prompt's canary, keys and fences derive from: they differ between prompts and stay put between runs. */
export function securitySeed(document: { name?: string; template: string }): string {
  return document.name ?? document.template;
}
