/** Tokenizer encodings Chainscope can count with (kept apart from tokens.ts so listing them loads nothing). */
export const ENCODINGS = ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base'] as const;
export type EncodingName = (typeof ENCODINGS)[number];

/** The models each encoding belongs to, to name it for people. */
export const ENCODING_FAMILIES: Record<EncodingName, string> = {
  o200k_base: 'gpt-4o family',
  cl100k_base: 'gpt-4 and gpt-3.5 family',
  p50k_base: 'text-davinci-003 family',
  r50k_base: 'gpt-3 family',
};
