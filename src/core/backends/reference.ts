// The model reference (`openai:gpt-4o-mini`) parsed in one place; kept free of the backends so the
// extension's activation bundle can read it without loading an SDK.

export interface ModelReference {
  /** The backend, lower-cased (`openai`, `local`), or undefined for a bare model name. */
  provider: string | undefined;
  /** What the backend is asked for: a model name, a deployment, or for `local` a name or folder. */
  model: string;
  isLocal: boolean;
}

/** Splits `provider:model` (or Dotprompt's `provider/model`) at its first separator. */
export function parseModelReference(reference: string | undefined): ModelReference {
  const text = (reference ?? '').trim();
  // A URL's scheme is no provider.
  const match = /^[a-z][\w+.-]*:\/\//i.test(text) ? null : /^([a-z][\w-]*)[:/](.*)$/i.exec(text);
  if (!match) return { provider: undefined, model: text, isLocal: false };
  const provider = (match[1] ?? '').toLowerCase();
  return { provider, model: (match[2] ?? '').trim(), isLocal: provider === 'local' };
}

/** The canonical `provider:model` spelling, e.g. for the picker and for cache keys. */
export function formatModelReference(reference: Pick<ModelReference, 'provider' | 'model'>): string {
  return reference.provider === undefined ? reference.model : `${reference.provider}:${reference.model}`;
}
