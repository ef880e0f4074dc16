import type { Example, PromptDocument, PromptKind, Variant } from './types';

// Which examples a variant shows and how their answers read: shared by the renderer and the parser's
// identical-variants check, without pulling Dotprompt into the parser.

/** The prompting style a variant's requests are rendered in: its own kind, or a reasoning shape's base. */
export function promptKindOf(variant: Pick<Variant, 'kind' | 'shape'>): PromptKind {
  return variant.shape?.base ?? (variant.kind as PromptKind);
}

/** The examples a variant shows, in file order. */
export function examplesFor(document: PromptDocument, variant: Variant): Example[] {
  switch (promptKindOf(variant)) {
    case 'zero-shot':
    case 'zero-shot-cot':
      return [];
    case 'one-shot':
      return document.examples.slice(0, 1);
    case 'few-shot':
      return document.examples.slice(0, variant.k ?? document.examples.length);
    case 'few-shot-cot': {
      const withReasoning = document.examples.filter((example) => example.reasoning !== undefined);
      return withReasoning.slice(0, variant.k ?? withReasoning.length);
    }
  }
}

/** What an example's answer turn says: its output, preceded by its reasoning in chain-of-thought variants. */
export function exampleAnswer(example: Example, variant: Variant): string {
  if (promptKindOf(variant) === 'few-shot-cot' && example.reasoning) return `${example.reasoning.trim()} ${example.output.trim()}`;
  return example.output.trim();
}
