// Deterministic tokens for canaries, known-answer keys and random-sequence fences: the same prompt gives the
// same token, so cached and resumed chains were asked exactly what new ones are.

/** FNV-1a over the text, twice with different offsets, as base-36 digits: `PREFIX-xxxxxxxx`. */
export function stableToken(prefix: string, seedText: string, length = 8): string {
  let digits = '';
  for (let round = 0; digits.length < length; round++) {
    let hash = 2166136261 ^ round;
    for (let i = 0; i < seedText.length; i++) hash = Math.imul(hash ^ seedText.charCodeAt(i), 16777619);
    digits += (hash >>> 0).toString(36);
  }
  return `${prefix}-${digits.slice(0, length).toUpperCase()}`;
}

/** The secret planted in the system turn of an attacked prompt; a prompt leak shows it. */
export function defaultCanary(seedText: string): string {
  return stableToken('CANARY', `canary\n${seedText}`);
}

/** What a prompt's canary, keys and fences derive from: they differ between prompts and stay put between runs. */
export function securitySeed(document: { name?: string; template: string }): string {
  return document.name ?? document.template;
}
