/** Tokenizer encodings Chainscope can count with (kept apart from tokens.ts so listing them loads nothing). */
export const ENCODINGS = ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base'] as const;
export type EncodingName = (typeof ENCODINGS)[number];
