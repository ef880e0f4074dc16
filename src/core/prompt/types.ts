// The typed model of a `.prompt` file. Positions are 0-based (line, character), like LSP and VS Code.

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type Severity = 'error' | 'warning' | 'info' | 'hint';

export interface Diagnostic {
  range: Range;
  severity: Severity;
  message: string;
  /** Stable identifier of the check, e.g. `unknown-key`. */
  code: string;
  /** File the diagnostic belongs to when it is not the `.prompt` file itself (a dataset). */
  file?: string;
  /** A machine-readable suggestion (the editor offers it as a quick fix): replace `range` with `replacement`. */
  fix?: Fix;
}

/** One text edit that applies a diagnostic's suggestion, in the same file as the diagnostic. */
export interface Fix {
  /** What the quick fix is called, e.g. `Change to 'samples'`. */
  title: string;
  range: Range;
  replacement: string;
}

export const VARIANT_KINDS = ['zero-shot', 'one-shot', 'few-shot', 'zero-shot-cot', 'few-shot-cot'] as const;
export type VariantKind = (typeof VARIANT_KINDS)[number];

export const EXTRACTOR_TYPES = ['auto', 'text', 'line', 'number', 'choice', 'regex', 'json', 'answer'] as const;
export type ExtractorType = (typeof EXTRACTOR_TYPES)[number];

export const SCORER_TYPES = ['exact', 'contains', 'regex', 'numeric', 'field-f1', 'token-f1', 'json', 'custom'] as const;
export type ScorerType = (typeof SCORER_TYPES)[number];

/** Scorers that compare against a case's `expected` value. */
export const SCORERS_NEEDING_EXPECTED: ReadonlySet<ScorerType> = new Set(['exact', 'contains', 'numeric', 'field-f1', 'token-f1', 'json']);

export interface Sampling {
  temperature?: number;
  topP?: number;
  topK?: number;
  maxTokens?: number;
  stop?: string[];
  seed?: number;
  /** OpenAI's `reasoning_effort` (`minimal`, `low`, `medium`, `high`, …) for reasoning models; passed through as written. */
  reasoningEffort?: string;
}

export interface Variant {
  /** Unique name shown in results; defaults to the kind. */
  name: string;
  kind: VariantKind;
  /** Number of examples for few-shot kinds (default: all). */
  k?: number;
  /** Zero-shot CoT trigger phrase. */
  trigger?: string;
  /** Optional second prompt that pulls the answer out of a chain (Kojima et al.). */
  answerPrompt?: string;
  range: Range;
}

export type Vars = Record<string, unknown>;

export interface Example {
  input: Vars;
  reasoning?: string;
  output: string;
  range: Range;
}

export interface Case {
  /** Stable id within the document: the name, or `case-N` (1-based), or `file:line` for dataset rows. */
  id: string;
  name?: string;
  input: Vars;
  expected?: unknown;
  range: Range;
  /** Where the case came from when it was loaded from a dataset file. */
  origin?: { file: string; line: number };
}

export interface DatasetRef {
  path: string;
  /** Column or field holding the expected answer (default `expected`, then `answer`). */
  expectedField?: string;
  /** Maps template variables to dataset columns when their names differ. */
  inputMap?: Record<string, string>;
  limit?: number;
  range: Range;
}

export interface ExtractorSpec {
  type: ExtractorType;
  pattern?: string;
  flags?: string;
  group?: number;
  match?: 'first' | 'last';
  path?: string;
  choices?: string[];
  range?: Range;
}

export interface ScorerSpec {
  type: ScorerType;
  tolerance?: number;
  pattern?: string;
  caseSensitive?: boolean;
  file?: string;
  range?: Range;
}

/** `cluster:` how the result view groups free-text answers (never the vote). */
export interface ClusterSpec {
  /** Answers whose token F1 with a cluster's most frequent answer is at least this share one cluster (0 < similarity ≤ 1). */
  similarity: number;
  range?: Range;
}

/** How chat turns collapse into one string for base models without a chat template. */
export interface TextFormat {
  inputPrefix: string;
  outputPrefix: string;
  separator: string;
}

export interface TemplateVariable {
  name: string;
  range: Range;
}

/** How a case's chains are drawn when `samples` is a mapping: in rounds, until the vote is settled (src/core/eval/adaptive.ts). */
export interface StopRule {
  rule: 'adaptive' | 'window';
  /** Chains of the first round: no case stops before them. */
  min: number;
  /** Chains added by each later round (one request of n, or one local batch). */
  batch: number;
  /** `adaptive`: the posterior probability that the leading answer is the majority needed to stop. */
  confidence: number;
  /** `window`: how many last chains must agree. */
  window: number;
}

export interface PromptDocument {
  name?: string;
  description?: string;
  /** Model reference such as `local:arith-tiny` or `openai:gpt-4o-mini`. */
  model?: string;
  modelRange?: Range;
  sampling: Sampling;
  /** Chains per case and variant; with `stop`, the most a case may draw. */
  samples: number;
  /** Set when `samples` is a mapping with an adaptive or window rule. */
  stop?: StopRule;
  variants: Variant[];
  /** True when `variants` was not written and the defaults were chosen. */
  variantsDefaulted: boolean;
  examples: Example[];
  cases: Case[];
  datasets: DatasetRef[];
  extract: ExtractorSpec;
  scorer: ScorerSpec;
  threshold: number;
  /** The variant the others are compared with (`baseline:`); without it every pair of variants is compared. */
  baseline?: string;
  baselineRange?: Range;
  /** Answer clusters of the result view (`cluster:`); absent: one cluster per distinct normalized answer. */
  cluster?: ClusterSpec;
  /** `budget:` the most a run may cost, in the price table's currency (a CLI `--max-cost` overrides it). */
  budget?: number;
  textFormat: TextFormat;
  /** Default values of template variables (Dotprompt `input.default`). */
  inputDefaults: Vars;
  /** The Handlebars body, after the frontmatter. */
  template: string;
  /** Line of the file where the body starts. */
  templateLine: number;
  templateVariables: TemplateVariable[];
  /** Lines of the frontmatter including its `---` fences; undefined when the file has none. */
  frontmatterRange?: Range;
  /** Top-level frontmatter keys: the key's range and the range of the key with its value. */
  keyRanges: Record<string, { key: Range; full: Range }>;
  /** The frontmatter as plain data, for tools that want keys this model does not type. */
  frontmatter: Record<string, unknown>;
}

export interface ParseResult {
  document: PromptDocument;
  diagnostics: Diagnostic[];
}
