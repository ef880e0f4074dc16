// The language of `.prompt` files. Kept free of `vscode` so it is tested in plain mocha, against package.json.

/** Our own id: `prompt` is VS Code's, for its `*.prompt.md` files, whose hovers and completions would mix with ours. */
export const LANGUAGE_ID = 'dotprompt';

/** Chainscope's id before `dotprompt`; a user's `files.associations` may still map `*.prompt` to it. */
export const LEGACY_LANGUAGE_ID = 'prompt';

/** A `.prompt` file opened under the old id, to be switched to ours; never a `.prompt.md`, which is VS Code's. */
export function isLegacyPromptFile(languageId: string, path: string): boolean {
  return languageId === LEGACY_LANGUAGE_ID && /\.prompt$/i.test(path);
}
