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

/** Prompting styles: one request per chain. */
export const PROMPT_KINDS = ['zero-shot', 'one-shot', 'few-shot', 'zero-shot-cot', 'few-shot-cot'] as const;
export type PromptKind = (typeof PROMPT_KINDS)[number];
/** Reasoning shapes: several requests per chain, on top of a prompting style (src/core/shapes/). */
export const SHAPE_KINDS = ['tree-of-thought', 'graph-of-thought', 'universal-self-consistency', 'self-verification', 'step-back'] as const;
export type ShapeKind = (typeof SHAPE_KINDS)[number];
export const VARIANT_KINDS = [...PROMPT_KINDS, ...SHAPE_KINDS] as const;
export type VariantKind = (typeof VARIANT_KINDS)[number];

export const TOT_EVALUATORS = ['vote', 'value', 'scorer'] as const;
export type TotEvaluator = (typeof TOT_EVALUATORS)[number];

/**
 * A reasoning shape's settings (`variants: [{type: tree-of-thought, breadth: 3, …}]`); each has a default
 * (src/core/shapes/defaults.ts), and every prompt it uses can be overridden.
 */
export interface ShapeOptions {
  /** The prompting style its requests are rendered in (default: few-shot-cot when examples have reasoning, else zero-shot-cot). */
  base: PromptKind;
  /** tree-of-thought: candidate thoughts proposed from each kept state (k). */
  breadth?: number;
  /** tree-of-thought: states kept at each depth (b). */
  beam?: number;
  /** tree-of-thought: thoughts before the answer (d). */
  depth?: number;
  /** tree-of-thought: what ends a thought in a sampled continuation (default: a new line; `. ` for sentence steps). */
  delimiter?: string;
  /** tree-of-thought: how candidates are rated. */
  evaluator?: TotEvaluator;
  /** tree-of-thought: a prompt that proposes next thoughts (default: sampled continuations of the state). */
  proposePrompt?: string;
  /** tree-of-thought, evaluator vote: a prompt that votes for the best candidate (default: how often a thought was proposed). */
  votePrompt?: string;
  /** tree-of-thought, evaluator value: the prompt that rates a state (sure / likely / impossible). */
  valuePrompt?: string;
  /** tree-of-thought, evaluator value: ratings sampled per state. */
  valueSamples?: number;
  /** tree-of-thought, evaluator scorer: a CommonJS file rating partial states (score(state, context) → 0…1). */
  scorerFile?: string;
  /** graph-of-thought, universal-self-consistency, self-verification: chains generated first (k or n). */
  chains?: number;
  /** graph-of-thought: the prompt merging chains into one improved solution. */
  aggregatePrompt?: string;
  /** graph-of-thought: refinements of the aggregate (r). */
  refinements?: number;
  /** graph-of-thought: the prompt refining a solution. */
  refinePrompt?: string;
  /** universal-self-consistency: the prompt asking which response is most consistent with the others. */
  pickPrompt?: string;
  /** self-verification: the prompt checking one chain's answer. */
  verifyPrompt?: string;
  /** self-verification: verification samples per chain. */
  verifySamples?: number;
  /** step-back: the prompt asking for the principle behind the question. */
  stepBackPrompt?: string;
  /** step-back: how the principle is put before the question. */
  principlePrompt?: string;
}

export const EXTRACTOR_TYPES = ['auto', 'text', 'line', 'number', 'choice', 'regex', 'json', 'answer'] as const;
export type ExtractorType = (typeof EXTRACTOR_TYPES)[number];

export const SCORER_TYPES = ['exact', 'contains', 'regex', 'numeric', 'field-f1', 'token-f1', 'json', 'custom', 'judge'] as const;
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
  /** A reasoning shape's settings; set exactly when `kind` is one of SHAPE_KINDS. */
  shape?: ShapeOptions;
  /** Set on a defended variant (`<base>+<defence>`), made from `defences:`. */
  defence?: DefenceSpec;
  /** The variant a defended one wraps. */
  base?: string;
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
  /** A human verdict on the case's outputs (`label:`), to measure a judge against. */
  label?: boolean;
  /** Set on an attacked copy of a case (`<case>~<attack>`), made from `attacks:`. */
  attack?: { spec: AttackSpec; baseCase: string };
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
  /** `judge`: the model-graded scorer's settings. */
  judge?: JudgeSpec;
  range?: Range;
}

/**
 * A model-graded verdict (`scorer: {type: judge}`, or an attack detector of type judge): a rubric prompt sent to
 * a judge model, which answers with structured output `{"verdict": "pass" | "fail", "score": 0…1, "reason": "…"}`.
 */
export interface JudgeSpec {
  /** Model reference of the judge (`openai:gpt-4o`, `local:arith-tiny`); absent: the model under test. */
  model?: string;
  /** What the judge checks. Handlebars with `{{input}}` (the case's variables as text), `{{expected}}`, `{{output}}`. */
  rubric: string;
  /** Verdicts per chain: their majority decides, their spread is the judge's self-agreement. */
  repeats: number;
  temperature: number;
  seed?: number;
  maxTokens?: number;
  range?: Range;
}

/** Built-in attack suites (src/core/security/suites.ts). */
export const ATTACK_SUITES = [
  'instruction-override',
  'prompt-leak',
  'goal-hijack',
  'role-play',
  'payload-splitting',
  'obfuscation',
  'delimiter-escape',
  'reasoning-dos',
] as const;
export type AttackSuite = (typeof ATTACK_SUITES)[number];

export const DETECTOR_TYPES = ['canary', 'contains', 'regex', 'token-growth', 'scorer-fails', 'judge'] as const;
export type DetectorType = (typeof DETECTOR_TYPES)[number];

/** When an attacked chain counts as a successful attack. */
export interface DetectorSpec {
  type: DetectorType;
  /** `contains`: the text whose presence means the attack worked. */
  value?: string;
  /** `regex`. */
  pattern?: string;
  flags?: string;
  caseSensitive?: boolean;
  /** `token-growth`: success when completion tokens exceed factor × the clean case's mean. */
  factor?: number;
  /** `judge`: what the judge checks; a `pass` verdict means the attack worked. */
  rubric?: string;
}

/** One attack: text injected into the untrusted variable (indirect) or as the user turn (`into: user`, direct). */
export interface AttackSpec {
  /** Stable id, unique in the prompt: `suite/name` for built-ins, the given name for custom ones. */
  id: string;
  suite: AttackSuite | 'custom';
  /** The injected text, with `{{canary}}` and `{{target}}` already filled in. */
  text: string;
  /** A template variable, or `user` for the user turn. */
  into: string;
  /** Where the text goes in the variable's value or the user turn. */
  position: 'append' | 'prepend' | 'replace';
  detector: DetectorSpec;
  /** Language of the attack text (`en`, `zh`), for obfuscation by language. */
  language?: string;
  /** One line on what the attack tries. */
  description?: string;
  range?: Range;
}

/** `attacks:` of the frontmatter. */
export interface AttacksConfig {
  /** The untrusted template variable (indirect injection), or `user` (direct injection). */
  into: string;
  suites: AttackSuite[];
  /** Attacks written in the file. */
  custom: AttackSpec[];
  /** Ids of the cases attacked (default: all). */
  cases?: string[];
  /** Secret planted in the system turn; a prompt-leak succeeds when it appears. */
  canary: string;
  /** The string a goal hijack makes the model say. */
  target: string;
  /** Reasoning DoS: token growth factor over the clean case that counts as success. */
  growth: number;
  range: Range;
}

export const DEFENCE_TYPES = ['delimiters', 'xml-tags', 'random-sequence', 'sandwich', 'reminder', 'datamarking', 'known-answer'] as const;
export type DefenceType = (typeof DEFENCE_TYPES)[number];

/** `defences:` of the frontmatter: each wraps every variant, as variant `<variant>+<name>`. */
export interface DefenceSpec {
  /** Unique name (default: the type). */
  name: string;
  type: DefenceType;
  /** The untrusted variable it protects (default: `attacks.into`; `user`: the whole user turn). */
  into?: string;
  /** `delimiters`: the fences (default `"""`). */
  open?: string;
  close?: string;
  /** `xml-tags`: the tag name (default `untrusted_input`). */
  tag?: string;
  /** `datamarking`: the character interleaved between words (default `^`). */
  marker?: string;
  /** `sandwich`, `reminder`: the instruction repeated (default: the system turn, else the prompt's first line). */
  instruction?: string;
  /** `known-answer`: the key the model must write first (default: derived from the prompt). */
  key?: string;
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
  /** `attacks:` prompt-injection attacks run against every variant. */
  attacks?: AttacksConfig;
  /** `defences:` each wraps every variant. */
  defences: DefenceSpec[];
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
