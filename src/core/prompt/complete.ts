import { BACKEND_NAMES } from '../backends/endpoints';
import {
  ATTACKS_KEYS,
  CASE_KEYS,
  CONFIG_KEYS,
  DEFENCE_KEYS,
  DATASET_KEYS,
  EXAMPLE_KEYS,
  EXTRACT_KEYS,
  SCORER_KEYS,
  CLUSTER_KEYS,
  TEXT_FORMAT_KEYS,
  TOP_LEVEL_KEYS,
  VARIANT_KEYS,
} from './parse';
import { LineIndex } from './text';
import {
  ATTACK_SUITES,
  DEFENCE_TYPES,
  DETECTOR_TYPES,
  EXTRACTOR_TYPES,
  PROMPT_KINDS,
  SCORER_TYPES,
  TOT_EVALUATORS,
  VARIANT_KINDS,
  type Position,
  type PromptDocument,
  type Range,
} from './types';

export type CompletionKind = 'property' | 'value' | 'variable' | 'function';

export interface CompletionItem {
  label: string;
  kind: CompletionKind;
  detail?: string;
  /** Text to insert; defaults to the label. */
  insertText?: string;
  /** Markdown shown beside the item: what a key does and an example. */
  documentation?: string;
  /** Text the item replaces, when more than the word at the cursor (`openai:gpt` holds a colon). */
  range?: Range;
}

const KEYS_BY_PARENT: Record<string, readonly string[]> = {
  '': TOP_LEVEL_KEYS,
  config: CONFIG_KEYS,
  variants: VARIANT_KEYS,
  examples: EXAMPLE_KEYS,
  cases: CASE_KEYS,
  dataset: DATASET_KEYS,
  extract: EXTRACT_KEYS,
  scorer: SCORER_KEYS,
  text_format: TEXT_FORMAT_KEYS,
  cluster: CLUSTER_KEYS,
  attacks: ATTACKS_KEYS,
  defences: DEFENCE_KEYS,
  defenses: DEFENCE_KEYS,
};

const KEY_DETAILS: Record<string, string> = {
  model: 'backend and model, e.g. local:arith-tiny, openai:gpt-4o-mini or openai-compatible:<model> for your own server',
  config: 'sampling: temperature, top_p, max_tokens, stop, seed',
  samples: 'reasoning chains sampled per case and variant: a number, or {max: 16, stop: adaptive} to stop once the vote is settled',
  variants: 'zero-shot, one-shot, few-shot, zero-shot-cot, few-shot-cot',
  examples: 'demonstrations: input, reasoning, output',
  cases: 'test cases: input and expected',
  dataset: 'cases from a .jsonl or .csv file',
  extract: 'how the answer is pulled out of a completion',
  scorer: 'how an answer is compared with the expected one',
  threshold: 'score a chain needs to pass (0–1)',
  baseline: 'the variant the others are compared with',
  text_format: 'Q:/A: layout for base models',
  cluster: 'group near-identical free-text answers in the results (similarity: 0–1)',
  budget: 'the most the run may cost, in the price table currency; needs config.max_tokens',
  attacks: 'prompt-injection attacks run against every variant: built-in suites and your own',
  defences: 'defences, each wrapping every variant as <variant>+<defence>',
  defenses: 'defences, each wrapping every variant as <variant>+<defence>',
  // Reasoning shapes' keys (variants); defaults in docs/prompt-format.md, "Reasoning shapes".
  base: 'the prompting style a reasoning shape renders its requests in (default: few-shot-cot with worked examples, else zero-shot-cot)',
  breadth: 'tree-of-thought: candidate thoughts per kept state (default 3)',
  beam: 'tree-of-thought: states kept per depth (default 2)',
  depth: 'tree-of-thought: thoughts before the answer (default 3)',
  delimiter: 'tree-of-thought: what ends a thought (default a new line; ". " for sentences)',
  evaluator: 'tree-of-thought: vote, value or scorer (default vote)',
  chains: 'graph-of-thought 3, universal-self-consistency 5, self-verification 5: chains generated first',
  refinements: 'graph-of-thought: refinements of the merged solution (default 1)',
  value_samples: 'tree-of-thought: ratings per state, or samples of a vote prompt (default 3)',
  verify_samples: 'self-verification: checks per chain (default 1)',
};

/** An example of each top-level key, shown as the completion's documentation under its detail. */
const KEY_EXAMPLES: Record<string, string> = {
  model: 'model: local:arith-tiny\n# your own server (chainscope.compatible.baseUrl):\nmodel: openai-compatible:qwen2.5-7b-instruct',
  config: 'config:\n  temperature: 0.7\n  max_tokens: 256',
  samples: 'samples: 8\n# or\nsamples: {max: 16, stop: adaptive}',
  variants: 'variants: [zero-shot, few-shot, zero-shot-cot]',
  examples: 'examples:\n  - input: {question: "2 + 2"}\n    reasoning: Two plus two is four.\n    output: "4"',
  cases: 'cases:\n  - input: {question: "3 + 4"}\n    expected: 7',
  dataset: 'dataset: {path: data/questions.jsonl, expected: answer}',
  extract: 'extract: number\n# or\nextract: {type: choice, choices: [yes, no]}',
  scorer: 'scorer: {type: numeric, tolerance: 0.01}',
  threshold: 'threshold: 0.5',
  baseline: 'baseline: zero-shot',
  text_format: 'text_format: {input_prefix: "Q: ", output_prefix: "A:"}',
  cluster: 'cluster: {similarity: 0.8}',
  budget: 'budget: 5  # stops before passing $5; needs config.max_tokens',
  attacks: 'attacks:\n  into: document   # the untrusted variable, or user\n  suites: all      # or [instruction-override, prompt-leak, …]',
  defences: 'defences: [xml-tags, sandwich, datamarking]',
};

function keyDocumentation(key: string): string | undefined {
  const example = KEY_EXAMPLES[key];
  return example === undefined ? undefined : `${KEY_DETAILS[key] ?? ''}\n\n\`\`\`yaml\n${example}\n\`\`\``;
}

const MODEL_SUGGESTIONS = ['local:arith-tiny', 'openai:gpt-4o-mini', 'ollama:llama3.2'];

/** What each `model:` prefix runs on: one per backend (tested), so a new backend is offered as well. */
const PROVIDER_DETAILS: Record<string, string> = {
  local: 'an ONNX model run in the editor, e.g. local:arith-tiny',
  openai: 'OpenAI (key: Chainscope: Set API Key, or OPENAI_API_KEY)',
  azure: 'an Azure OpenAI deployment (chainscope.azure.endpoint)',
  ollama: 'an Ollama server (chainscope.ollama.baseUrl)',
  vllm: 'a vLLM server (chainscope.vllm.baseUrl)',
  lmstudio: 'an LM Studio server (chainscope.lmstudio.baseUrl)',
  llamacpp: 'a llama.cpp server (chainscope.llamacpp.baseUrl)',
  'openai-compatible': 'your own OpenAI-compatible server (chainscope.compatible.baseUrl; the model picker sets it)',
};
const HELPERS = ['role "system"', 'role "user"', 'role "model"', '#if', '#each', '#unless', 'json', 'history', 'section', 'media url='];

/**
 * Completions at a position: keys for the mapping the cursor is in, names for `variants`, `scorer`
 * and `extract`, and template variables inside `{{ }}` in the body.
 */
export function completionsAt(text: string, position: Position, document: PromptDocument): CompletionItem[] {
  const index = new LineIndex(text);
  const line = index.lineText(position.line);
  const before = line.slice(0, position.character);

  if (position.line >= document.templateLine || !document.frontmatterRange) {
    return /\{\{[^}]*$/.test(before) ? variableCompletions(document) : [];
  }
  if (position.line <= document.frontmatterRange.start.line) return [];

  const valueMatch = /^(\s*)(?:-\s+)?([\w.-]+):\s*(?:\[.*,\s*|\[\s*)?[\w.:-]*$/.exec(before);
  const listItemMatch = /^(\s*)-\s+[\w-]*$/.exec(before);
  const keyMatch = /^(\s*)(?:-\s+)?[\w.-]*$/.exec(before);
  const parents = parentPath(index, position.line, indentOf(before));

  if (valueMatch) {
    const key = valueMatch[2] ?? '';
    const parent = parents.at(-1) ?? '';
    // `baseline:` names one of this file's variants (the defaults included).
    if (key === 'baseline' && parents.length === 0) return document.variants.map((variant) => ({ label: variant.name, kind: 'value' }));
    if (key === 'model' && parents.length === 0) {
      const typed = /[\w.:-]*$/.exec(before)?.[0] ?? '';
      const range = { start: { line: position.line, character: position.character - typed.length }, end: position };
      return modelCompletions().map((item) => ({ ...item, range }));
    }
    return valueCompletions(key, parent);
  }
  if (listItemMatch && parents.at(-1) === 'variants' && parents.length === 1) {
    return VARIANT_KINDS.map((kind) => ({ label: kind, kind: 'value' }));
  }
  if (keyMatch) {
    const container = parents.at(-1) ?? '';
    if (parents.length >= 2 && (container === 'input' || container === 'vars') && (parents[0] === 'cases' || parents[0] === 'examples')) {
      return variableCompletions(document)
        .filter((item) => item.kind === 'variable')
        .map((item) => ({ ...item, insertText: `${item.label}: ` }));
    }
    const keys = KEYS_BY_PARENT[parents.length <= 1 ? container : ''] ?? [];
    if (parents.length > 1) return [];
    return keys.map((key) => {
      const item: CompletionItem = { label: key, kind: 'property', detail: KEY_DETAILS[key] ?? '', insertText: `${key}: ` };
      const documentation = parents.length === 0 ? keyDocumentation(key) : undefined;
      if (documentation) item.documentation = documentation;
      return item;
    });
  }
  return [];
}

function valueCompletions(key: string, parent: string): CompletionItem[] {
  const values = (list: readonly string[]): CompletionItem[] => list.map((label) => ({ label, kind: 'value' }));
  // A tree of thought's `scorer` is a file, not a scorer type.
  if (key === 'scorer' && parent === 'variants') return [];
  if (key === 'base' && parent === 'variants') return values(PROMPT_KINDS);
  if (key === 'evaluator' && parent === 'variants') return values(TOT_EVALUATORS);
  if (key === 'scorer' || (key === 'type' && parent === 'scorer')) return values(SCORER_TYPES);
  if (key === 'extract' || (key === 'type' && parent === 'extract')) return values(EXTRACTOR_TYPES);
  if (key === 'variants' || (key === 'type' && parent === 'variants')) return values(VARIANT_KINDS);
  if (key === 'match') return values(['last', 'first']);
  if ((key === 'suites' && parent === 'attacks') || key === 'attacks')
    return values([...ATTACK_SUITES, ...(key === 'suites' ? ['all'] : [])]);
  if (key === 'defences' || key === 'defenses' || (key === 'type' && (parent === 'defences' || parent === 'defenses')))
    return values(DEFENCE_TYPES);
  if (key === 'detect' || (key === 'type' && parent === 'detect')) return values(DETECTOR_TYPES);
  if (key === 'position') return values(['append', 'prepend', 'replace']);
  if (key === 'label' && parent === 'cases') return values(['pass', 'fail']);
  return [];
}

/** Every backend's prefix, then a few whole references. */
function modelCompletions(): CompletionItem[] {
  return [
    ...BACKEND_NAMES.map((name): CompletionItem => ({ label: `${name}:`, kind: 'value', detail: PROVIDER_DETAILS[name] ?? '' })),
    ...MODEL_SUGGESTIONS.map((label): CompletionItem => ({ label, kind: 'value' })),
  ];
}

function variableCompletions(document: PromptDocument): CompletionItem[] {
  const names = new Set<string>();
  for (const variable of document.templateVariables) names.add(variable.name);
  for (const owner of [...document.cases, ...document.examples]) for (const name of Object.keys(owner.input)) names.add(name);
  for (const name of Object.keys(document.inputDefaults)) names.add(name);
  const variables: CompletionItem[] = [...names].sort().map((name) => ({ label: name, kind: 'variable', detail: 'template variable' }));
  return [...variables, ...HELPERS.map((helper): CompletionItem => ({ label: helper, kind: 'function', detail: 'Dotprompt helper' }))];
}

function indentOf(text: string): number {
  const match = /^(\s*)(-\s+)?/.exec(text);
  return (match?.[1]?.length ?? 0) + (match?.[2]?.length ?? 0);
}

/** The keys enclosing a line, from the outermost, found by walking up to lines of smaller indentation. */
function parentPath(index: LineIndex, line: number, indent: number): string[] {
  const path: string[] = [];
  let limit = indent;
  for (let current = line - 1; current >= 0 && limit > 0; current--) {
    const text = index.lineText(current);
    if (text.trim() === '' || text.trimStart().startsWith('#') || text.startsWith('---')) continue;
    const own = /^(\s*)/.exec(text)?.[1]?.length ?? 0;
    const keyed = /^(\s*)(-\s+)?([\w.-]+):/.exec(text);
    const item = /^(\s*)-\s/.exec(text);
    if (item && own < limit) {
      // A list item's first key (`- input:`) opens a block for the lines indented below it.
      const itemKeyIndent = own + (keyed?.[2]?.length ?? 0);
      if (keyed?.[3] && itemKeyIndent < limit && /:\s*$/.test(text)) path.unshift(keyed[3]);
      limit = own;
      continue;
    }
    if (keyed && own < limit) {
      path.unshift(keyed[3] ?? '');
      limit = own;
    }
  }
  return path;
}
