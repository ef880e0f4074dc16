import { isMap, isScalar, isSeq, parseYamlTree, type YamlMap, type YamlNode, type YamlPair } from './yamlTree';
import { analyzeTemplate } from './template';
import { isReasoningModel, REASONING_FIXED } from '../backends/parameters';
import { parseModelReference } from '../backends/reference';
import { backtrackingRisk, REGEX_TIME_LIMIT_MS } from '../eval/userRegex';
import { STOP_DEFAULTS } from '../eval/adaptive';
import { closestMatch, didYouMean, encodingProblem, LineIndex } from './text';
import { examplesFor, exampleAnswer, promptKindOf } from './examples';
import { defaultShapeBase } from '../shapes/defaults';
import { defaultCanary, DEFAULT_GROWTH, DEFAULT_TARGET } from '../security/suites';
import {
  ATTACK_SUITES,
  DEFENCE_TYPES,
  DETECTOR_TYPES,
  EXTRACTOR_TYPES,
  PROMPT_KINDS,
  SCORER_TYPES,
  SHAPE_KINDS,
  TOT_EVALUATORS,
  SCORERS_NEEDING_EXPECTED,
  VARIANT_KINDS,
  type AttacksConfig,
  type AttackSpec,
  type Case,
  type DatasetRef,
  type DefenceSpec,
  type DetectorSpec,
  type Diagnostic,
  type Example,
  type ExtractorSpec,
  type Fix,
  type ParseResult,
  type PromptDocument,
  type Range,
  type Sampling,
  type JudgeSpec,
  type ScorerSpec,
  type Severity,
  type ShapeKind,
  type ShapeOptions,
  type StopRule,
  type TextFormat,
  type Variant,
  type VariantKind,
  type Vars,
} from './types';

/** Dotprompt's own frontmatter keys: accepted and passed through. */
const DOTPROMPT_KEYS = [
  'name',
  'variant',
  'version',
  'description',
  'model',
  'tools',
  'toolDefs',
  'config',
  'input',
  'output',
  'raw',
  'ext',
  'metadata',
];
/** Chainscope's evaluation keys. */
const SAMPLES_KEYS = ['max', 'stop', 'min', 'batch', 'confidence', 'window'];
const STOP_RULES = ['adaptive', 'window', 'fixed'] as const;
const EVAL_KEYS = [
  'samples',
  'variants',
  'examples',
  'cases',
  'dataset',
  'extract',
  'scorer',
  'threshold',
  'text_format',
  'baseline',
  'cluster',
  'budget',
  'attacks',
  'defences',
  'defenses',
];
export const TOP_LEVEL_KEYS = [...DOTPROMPT_KEYS, ...EVAL_KEYS];

/** Sampling keys in `config`: OpenAI-style names and Dotprompt's names for the same thing. */
const SAMPLING_ALIASES: Record<string, keyof Sampling> = {
  temperature: 'temperature',
  top_p: 'topP',
  topP: 'topP',
  top_k: 'topK',
  topK: 'topK',
  max_tokens: 'maxTokens',
  maxOutputTokens: 'maxTokens',
  stop: 'stop',
  stopSequences: 'stop',
  seed: 'seed',
  reasoning_effort: 'reasoningEffort',
  reasoningEffort: 'reasoningEffort',
};
export const CONFIG_KEYS = Object.keys(SAMPLING_ALIASES);

/** Keys every reasoning shape takes, then each shape's own (snake_case in YAML). */
const SHAPE_KEYS_BY_KIND: Record<ShapeKind, readonly string[]> = {
  'tree-of-thought': [
    'breadth',
    'beam',
    'depth',
    'delimiter',
    'evaluator',
    'propose_prompt',
    'vote_prompt',
    'value_prompt',
    'value_samples',
    'scorer',
  ],
  'graph-of-thought': ['chains', 'aggregate_prompt', 'refinements', 'refine_prompt'],
  'universal-self-consistency': ['chains', 'pick_prompt'],
  'self-verification': ['chains', 'verify_prompt', 'verify_samples'],
  'step-back': ['step_back_prompt', 'principle_prompt'],
};
export const SHAPE_KEYS = ['base', ...new Set(Object.values(SHAPE_KEYS_BY_KIND).flat())];
export const VARIANT_KEYS = ['type', 'name', 'k', 'trigger', 'answer_prompt', ...SHAPE_KEYS];
/** Shape keys holding prompts, and the option each fills. */
const SHAPE_PROMPT_KEYS = {
  propose_prompt: 'proposePrompt',
  vote_prompt: 'votePrompt',
  value_prompt: 'valuePrompt',
  aggregate_prompt: 'aggregatePrompt',
  refine_prompt: 'refinePrompt',
  pick_prompt: 'pickPrompt',
  verify_prompt: 'verifyPrompt',
  step_back_prompt: 'stepBackPrompt',
  principle_prompt: 'principlePrompt',
} as const satisfies Record<string, keyof ShapeOptions>;
/** Whole-number shape keys, the option each fills, and its range. */
const SHAPE_COUNT_KEYS = {
  breadth: ['breadth', 1, 16],
  beam: ['beam', 1, 16],
  depth: ['depth', 1, 16],
  chains: ['chains', 2, 32],
  refinements: ['refinements', 0, 8],
  value_samples: ['valueSamples', 1, 16],
  verify_samples: ['verifySamples', 1, 16],
} as const satisfies Record<string, readonly [keyof ShapeOptions, number, number]>;
export const EXAMPLE_KEYS = ['input', 'reasoning', 'output'];
export const CASE_KEYS = ['name', 'input', 'vars', 'expected', 'label'];
export const DATASET_KEYS = ['path', 'expected', 'input', 'limit'];
export const EXTRACT_KEYS = ['type', 'pattern', 'flags', 'group', 'match', 'path', 'choices'];
export const SCORER_KEYS = [
  'type',
  'tolerance',
  'pattern',
  'case_sensitive',
  'file',
  'model',
  'rubric',
  'repeats',
  'temperature',
  'seed',
  'max_tokens',
];
/** Scorer keys that only a judge takes. */
const JUDGE_KEYS = ['model', 'rubric', 'repeats', 'temperature', 'seed', 'max_tokens'];
export const MAX_JUDGE_REPEATS = 15;

/** A human label (`label:` of a case, a dataset row's `label`): true/false, pass/fail; undefined for anything else. */
export function labelValue(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const word = value.trim().toLowerCase();
  if (word === 'true' || word === 'pass') return true;
  if (word === 'false' || word === 'fail') return false;
  return undefined;
}
export const CLUSTER_KEYS = ['similarity'];
export const ATTACKS_KEYS = ['into', 'suites', 'custom', 'cases', 'canary', 'target', 'growth'];
export const ATTACK_KEYS = ['name', 'text', 'into', 'position', 'detect', 'language', 'description'];
export const DETECTOR_KEYS = ['type', 'value', 'pattern', 'flags', 'case_sensitive', 'factor', 'rubric'];
export const DEFENCE_KEYS = ['type', 'name', 'into', 'open', 'close', 'tag', 'marker', 'instruction', 'key'];

export const TEXT_FORMAT_KEYS = ['input_prefix', 'output_prefix', 'separator'];

function isShapeKind(kind: VariantKind): kind is ShapeKind {
  return (SHAPE_KINDS as readonly string[]).includes(kind);
}

export const DEFAULT_TRIGGER = "Let's think step by step.";
export const DEFAULT_TEXT_FORMAT: TextFormat = { inputPrefix: 'Q: ', outputPrefix: 'A:', separator: '\n\n' };

const FRONTMATTER_OPEN = /^\uFEFF?---[ \t]*\r?\n/;
const FRONTMATTER_CLOSE = /^---[ \t]*(?:\r?\n|$)/m;

/**
 * Parses a `.prompt` file: YAML frontmatter (Dotprompt's keys plus Chainscope's evaluation keys) and a
 * Handlebars body. Never throws: every problem becomes a diagnostic with the range it concerns.
 */
export function parsePrompt(text: string): ParseResult {
  try {
    return new PromptParser(text).parse();
  } catch (error) {
    // A bug in the parser must not take the editor or the CLI down: report it at the top of the file.
    const message = error instanceof Error ? error.message : String(error);
    return {
      document: emptyDocument(text, 0),
      diagnostics: [{ range: zeroRange(), severity: 'error', message: `Internal parser error: ${message}`, code: 'internal' }],
    };
  }
}

function zeroRange(): Range {
  return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
}

function emptyDocument(template: string, templateLine: number): PromptDocument {
  return {
    sampling: {},
    samples: 1,
    variants: [],
    variantsDefaulted: true,
    examples: [],
    cases: [],
    datasets: [],
    defences: [],
    extract: { type: 'auto' },
    scorer: { type: 'exact' },
    threshold: 1,
    textFormat: { ...DEFAULT_TEXT_FORMAT },
    inputDefaults: {},
    template,
    templateLine,
    templateVariables: [],
    keyRanges: {},
    frontmatter: {},
  };
}

class PromptParser {
  private readonly index: LineIndex;
  private readonly diagnostics: Diagnostic[] = [];
  /** Where each sampling setting is written in `config`, for diagnostics about it. */
  private readonly settingRanges = new Map<keyof Sampling, Range>();
  /** Offset of the YAML text inside the file. */
  private yamlOffset = 0;

  constructor(private readonly text: string) {
    this.index = new LineIndex(text);
  }

  parse(): ParseResult {
    // One clear diagnostic instead of a cascade of YAML errors about NULs or one endless line.
    const problem = encodingProblem(this.text);
    if (problem) {
      const lineEnd = this.text.search(/[\r\n]/);
      const range = this.index.range(0, Math.min(lineEnd < 0 ? this.text.length : lineEnd, 3));
      return { document: emptyDocument('', 0), diagnostics: [{ range, severity: 'error', code: 'encoding', message: problem.message }] };
    }
    const { yamlText, bodyOffset, frontmatterEnd } = this.splitFrontmatter();
    const body = this.text.slice(bodyOffset);
    const document = emptyDocument(body, this.index.positionAt(bodyOffset).line);
    if (frontmatterEnd !== undefined) document.frontmatterRange = this.index.range(0, frontmatterEnd);

    let root: YamlMap | undefined;
    if (yamlText !== undefined) root = this.parseYaml(yamlText, document);

    const template = analyzeTemplate(body, bodyOffset, this.index);
    for (const diagnostic of template.diagnostics) this.diagnostics.push(diagnostic);
    document.templateVariables = template.variables;

    if (root) {
      this.readFrontmatter(root, document);
      this.checkCommentTraps(root);
    }
    this.checkDocument(document);
    const byPosition = this.diagnostics.sort(
      (a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character,
    );
    return { document, diagnostics: byPosition };
  }

  // ---- structure -------------------------------------------------------------------------------

  private splitFrontmatter(): { yamlText?: string; bodyOffset: number; frontmatterEnd?: number } {
    const open = FRONTMATTER_OPEN.exec(this.text);
    if (!open) return { bodyOffset: 0 };
    const yamlStart = open[0].length;
    const rest = this.text.slice(yamlStart);
    this.yamlOffset = yamlStart;
    const close = FRONTMATTER_CLOSE.exec(rest);
    if (!close) {
      this.report(
        this.index.range(0, Math.min(3 + (this.text.startsWith('\uFEFF') ? 1 : 0), this.text.length)),
        'error',
        'frontmatter-unclosed',
        "The frontmatter starts with '---' but is never closed: add a line '---' after the YAML.",
      );
      return { yamlText: rest, bodyOffset: this.text.length };
    }
    const closeEnd = yamlStart + close.index + close[0].length;
    const fenceEnd = yamlStart + close.index + 3;
    return { yamlText: rest.slice(0, close.index), bodyOffset: closeEnd, frontmatterEnd: fenceEnd };
  }

  private parseYaml(yamlText: string, document: PromptDocument): YamlMap | undefined {
    const { root, error } = parseYamlTree(yamlText);
    if (error) {
      this.report(this.yamlRange(error.start, error.end), 'error', error.code ?? 'yaml', `YAML: ${error.message}`);
      return undefined;
    }
    if (!root || (isScalar(root) && root.value === null)) return undefined;
    if (!isMap(root)) {
      this.report(this.nodeRange(root), 'error', 'frontmatter-not-map', 'The frontmatter must be a YAML mapping of keys to values.');
      return undefined;
    }
    if (root.value && typeof root.value === 'object') document.frontmatter = root.value as Record<string, unknown>;
    return root;
  }

  private readFrontmatter(root: YamlMap, document: PromptDocument): void {
    const entries = this.entries(root, TOP_LEVEL_KEYS, 'top-level key', (key) => key.includes('.'));
    const get = (key: string) => entries.get(key);
    for (const [key, entry] of entries) {
      const keyRange = this.nodeRange(entry.key);
      const valueRange = entry.value ? this.nodeRange(entry.value) : keyRange;
      document.keyRanges[key] = { key: keyRange, full: { start: keyRange.start, end: valueRange.end } };
    }

    const name = get('name');
    if (name) document.name = this.string(name.value, 'name');
    const description = get('description');
    if (description) document.description = this.string(description.value, 'description');
    const model = get('model');
    if (model) {
      document.model = this.string(model.value, 'model');
      document.modelRange = this.nodeRange(model.value ?? model.key);
    }
    const config = get('config');
    if (config) this.readConfig(config.value, document);
    const input = get('input');
    if (input) this.readInput(input.value, document);
    const textFormat = get('text_format');
    if (textFormat) this.readTextFormat(textFormat.value, document);

    const samples = get('samples');
    if (samples) this.readSamples(samples.value, document);
    const threshold = get('threshold');
    if (threshold) document.threshold = this.number(threshold.value, 'threshold', 0, 1) ?? 1;
    const baseline = get('baseline');
    if (baseline) {
      document.baseline = this.string(baseline.value, 'baseline');
      if (document.baseline === undefined) delete document.baseline;
      else document.baselineRange = this.nodeRange(baseline.value ?? baseline.key);
    }

    const examples = get('examples');
    if (examples) document.examples = this.readExamples(examples.value, document);
    const cases = get('cases');
    if (cases) document.cases = this.readCases(cases.value, document);
    const dataset = get('dataset');
    if (dataset) document.datasets = this.readDatasets(dataset.value);
    const extract = get('extract');
    if (extract) document.extract = this.readExtractor(extract.value);
    const scorer = get('scorer');
    if (scorer) document.scorer = this.readScorer(scorer.value);

    const cluster = get('cluster');
    if (cluster) this.readCluster(cluster.value, document);
    const budget = get('budget');
    if (budget) this.readBudget(budget.key, budget.value, document);
    const attacks = get('attacks');
    if (attacks) this.readAttacks(attacks.value, document);
    const defences = get('defences') ?? get('defenses');
    if (get('defences') && get('defenses'))
      this.report(this.nodeRange(get('defenses')?.key), 'error', 'duplicate-key', "Give either 'defences' or 'defenses', not both.");
    if (defences) document.defences = this.readDefences(defences.value);

    const variants = get('variants');
    if (variants) {
      document.variants = this.readVariants(variants.value, document);
      document.variantsDefaulted = false;
    }
  }

  private readConfig(node: YamlNode | null, document: PromptDocument): void {
    const map = this.map(node, 'config');
    if (!map) return;
    const seen = new Map<keyof Sampling, string>();
    for (const pair of map.pairs) {
      const key = this.keyName(pair);
      if (key === undefined) continue;
      const field = SAMPLING_ALIASES[key];
      const keyRange = this.nodeRange(pair.key);
      if (!field) {
        // Dotprompt lets providers add their own config keys, so an unknown one is a warning.
        this.report(
          keyRange,
          'warning',
          'unknown-key',
          `Unknown config key '${key}' (Chainscope ignores it)${didYouMean(key, CONFIG_KEYS)}`,
          replaceWith(keyRange, closestMatch(key, CONFIG_KEYS)),
        );
        continue;
      }
      const previous = seen.get(field);
      if (previous) this.report(keyRange, 'warning', 'duplicate-key', `'${key}' sets the same thing as '${previous}'; the later one wins.`);
      seen.set(field, key);
      this.settingRanges.set(field, keyRange);
      const value = pair.value;
      switch (field) {
        case 'temperature':
          document.sampling.temperature = this.number(value, key, 0, 2);
          break;
        case 'topP':
          document.sampling.topP = this.number(value, key, 0, 1);
          break;
        case 'topK':
          document.sampling.topK = this.integer(value, key, 0, 1_000_000);
          break;
        case 'maxTokens':
          document.sampling.maxTokens = this.integer(value, key, 1, 10_000_000);
          break;
        case 'seed':
          document.sampling.seed = this.integer(value, key, -(2 ** 53), 2 ** 53);
          break;
        case 'stop':
          document.sampling.stop = this.stringList(value, key);
          break;
        case 'reasoningEffort':
          document.sampling.reasoningEffort = this.reasoningEffort(value, key);
          break;
      }
    }
  }

  private readInput(node: YamlNode | null, document: PromptDocument): void {
    const map = this.map(node, 'input');
    if (!map) return;
    for (const pair of map.pairs) {
      if (this.keyName(pair) !== 'default') continue;
      const value = pair.value;
      if (isMap(value)) document.inputDefaults = (this.toData(value) ?? {}) as Vars;
      else
        this.report(this.nodeRange(value ?? pair.key), 'error', 'type', "'input.default' must be a mapping of variable names to values.");
    }
  }

  private readTextFormat(node: YamlNode | null, document: PromptDocument): void {
    const entries = this.entries(this.map(node, 'text_format'), TEXT_FORMAT_KEYS, 'text_format key');
    const inputPrefix = entries.get('input_prefix');
    if (inputPrefix)
      document.textFormat.inputPrefix = this.string(inputPrefix.value, 'input_prefix', true) ?? document.textFormat.inputPrefix;
    const outputPrefix = entries.get('output_prefix');
    if (outputPrefix)
      document.textFormat.outputPrefix = this.string(outputPrefix.value, 'output_prefix', true) ?? document.textFormat.outputPrefix;
    const separator = entries.get('separator');
    if (separator) document.textFormat.separator = this.string(separator.value, 'separator', true) ?? document.textFormat.separator;
  }

  private readVariants(node: YamlNode | null, document: PromptDocument): Variant[] {
    const seq = this.seq(node, 'variants');
    if (!seq) return [];
    const variants: Variant[] = [];
    const names = new Set<string>();
    for (const item of seq.items) {
      const range = this.nodeRange(item);
      let kind: VariantKind | undefined;
      const variant: Partial<Variant> = { range };
      if (isScalar(item)) {
        kind = this.variantKind(item);
      } else if (isMap(item)) {
        const entries = this.entries(item, VARIANT_KEYS, 'variant key');
        const type = entries.get('type');
        if (type) kind = this.variantKind(type.value);
        else this.report(range, 'error', 'missing-key', `A variant needs a 'type': one of ${VARIANT_KINDS.join(', ')}.`);
        const name = entries.get('name');
        if (name) variant.name = this.string(name.value, 'name');
        const k = entries.get('k');
        if (k) variant.k = this.integer(k.value, 'k', 0, 10_000);
        const trigger = entries.get('trigger');
        if (trigger) variant.trigger = this.string(trigger.value, 'trigger');
        const answerPrompt = entries.get('answer_prompt');
        if (answerPrompt) variant.answerPrompt = this.string(answerPrompt.value, 'answer_prompt');
        if (kind && isShapeKind(kind)) variant.shape = this.readShapeOptions(kind, entries, document);
        else if (kind)
          for (const key of SHAPE_KEYS) {
            const entry = entries.get(key);
            if (entry) this.report(this.nodeRange(entry.key), 'warning', 'ignored-key', `'${key}' only applies to reasoning shapes.`);
          }
        // A shape's requests are rendered in its base style, so the base decides which of these apply.
        const style = kind ? promptKindOf({ kind, ...(variant.shape ? { shape: variant.shape } : {}) }) : undefined;
        if (style && style !== 'zero-shot-cot') {
          for (const key of ['trigger', 'answer_prompt'] as const) {
            const entry = entries.get(key);
            if (entry) this.report(this.nodeRange(entry.key), 'warning', 'ignored-key', `'${key}' only applies to zero-shot-cot variants.`);
          }
        } else if (kind && isShapeKind(kind) && answerPrompt) {
          this.report(this.nodeRange(answerPrompt.key), 'warning', 'ignored-key', "'answer_prompt' does not apply to reasoning shapes.");
        }
        if (style && !style.startsWith('few-shot') && k) {
          this.report(this.nodeRange(k.key), 'warning', 'ignored-key', "'k' only applies to few-shot variants.");
        }
      } else {
        this.report(range, 'error', 'type', 'A variant is a name (e.g. few-shot) or a mapping with a type.');
      }
      if (!kind) continue;
      variant.kind = kind;
      if (isShapeKind(kind)) variant.shape ??= { base: defaultShapeBase(document.examples) };
      if (promptKindOf({ kind, ...(variant.shape ? { shape: variant.shape } : {}) }) === 'zero-shot-cot')
        variant.trigger ??= DEFAULT_TRIGGER;
      if (variant.shape && variant.answerPrompt !== undefined) delete variant.answerPrompt;
      variant.name ??= kind;
      if (names.has(variant.name)) {
        this.report(range, 'error', 'duplicate-variant', `Variant name '${variant.name}' is used twice: give one a 'name'.`);
        continue;
      }
      names.add(variant.name);
      variants.push(variant as Variant);
    }
    if (variants.length === 0 && seq.items.length === 0) {
      this.report(this.nodeRange(seq), 'warning', 'empty', 'No variants listed: nothing will be evaluated.');
    }
    return variants;
  }

  /** A shape's own keys (others warn), ranges checked; options not written stay unset (defaults come at run time). */
  private readShapeOptions(
    kind: ShapeKind,
    entries: Map<string, { key: YamlNode; value: YamlNode | null }>,
    document: PromptDocument,
  ): ShapeOptions {
    const own = SHAPE_KEYS_BY_KIND[kind];
    const base = entries.get('base');
    const options: ShapeOptions = { base: (base && this.oneOf(base.value, PROMPT_KINDS, 'base')) || defaultShapeBase(document.examples) };
    for (const key of SHAPE_KEYS) {
      const entry = entries.get(key);
      if (!entry || key === 'base') continue;
      if (!own.includes(key)) {
        const takers = SHAPE_KINDS.filter((shape) => SHAPE_KEYS_BY_KIND[shape].includes(key));
        this.report(this.nodeRange(entry.key), 'warning', 'ignored-key', `'${key}' only applies to ${takers.join(', ')} variants.`);
        continue;
      }
      if (key in SHAPE_PROMPT_KEYS) {
        const value = this.string(entry.value, key);
        if (value !== undefined) options[SHAPE_PROMPT_KEYS[key as keyof typeof SHAPE_PROMPT_KEYS]] = value;
      } else if (key in SHAPE_COUNT_KEYS) {
        const [field, min, max] = SHAPE_COUNT_KEYS[key as keyof typeof SHAPE_COUNT_KEYS];
        const value = this.integer(entry.value, key, min, max);
        if (value !== undefined) options[field] = value;
      } else if (key === 'delimiter') {
        const value = this.string(entry.value, key);
        if (value !== undefined) options.delimiter = value;
      } else if (key === 'evaluator') {
        const value = this.oneOf(entry.value, TOT_EVALUATORS, 'evaluator');
        if (value !== undefined) options.evaluator = value;
      } else if (key === 'scorer') {
        const value = this.string(entry.value, key);
        if (value !== undefined) options.scorerFile = value;
      }
    }
    const evaluator = entries.get('evaluator');
    const scorer = entries.get('scorer');
    if (evaluator && options.evaluator === 'scorer' && options.scorerFile === undefined && !scorer)
      this.report(
        this.nodeRange(evaluator.value ?? evaluator.key),
        'error',
        'missing-key',
        "The scorer evaluator needs 'scorer': a file that rates partial states.",
      );
    if (scorer && options.scorerFile !== undefined && options.evaluator !== 'scorer')
      this.report(this.nodeRange(scorer.key), 'warning', 'ignored-key', "'scorer' only applies with 'evaluator: scorer'.");
    const votePrompt = entries.get('vote_prompt');
    if (votePrompt && options.votePrompt !== undefined && (options.evaluator ?? 'vote') !== 'vote')
      this.report(this.nodeRange(votePrompt.key), 'warning', 'ignored-key', "'vote_prompt' only applies with 'evaluator: vote'.");
    for (const key of ['value_prompt', 'value_samples'] as const) {
      const entry = entries.get(key);
      // value_samples also sets how often a vote prompt is sampled.
      const used = options.evaluator === 'value' || (key === 'value_samples' && options.votePrompt !== undefined);
      if (entry && own.includes(key) && !used)
        this.report(this.nodeRange(entry.key), 'warning', 'ignored-key', `'${key}' only applies with 'evaluator: value'.`);
    }
    return options;
  }

  private variantKind(node: YamlNode | null | undefined): VariantKind | undefined {
    return this.oneOf(node, VARIANT_KINDS, 'variant');
  }

  private readExamples(node: YamlNode | null, document: PromptDocument): Example[] {
    const seq = this.seq(node, 'examples');
    if (!seq) return [];
    const examples: Example[] = [];
    for (const item of seq.items) {
      const range = this.nodeRange(item);
      if (!isMap(item)) {
        this.report(range, 'error', 'type', "An example is a mapping with 'input', 'output' and optional 'reasoning'.");
        continue;
      }
      const entries = this.entries(item, EXAMPLE_KEYS, 'example key');
      const input = this.readVars(entries.get('input'), range, 'example', document);
      const outputEntry = entries.get('output');
      const output = outputEntry ? this.scalarText(outputEntry.value, 'output') : undefined;
      if (!outputEntry) this.report(range, 'error', 'missing-key', "This example has no 'output'.");
      const reasoningEntry = entries.get('reasoning');
      const reasoning = reasoningEntry ? this.scalarText(reasoningEntry.value, 'reasoning') : undefined;
      if (input && output !== undefined) examples.push({ input, output, ...(reasoning !== undefined ? { reasoning } : {}), range });
    }
    return examples;
  }

  private readCases(node: YamlNode | null, document: PromptDocument): Case[] {
    const seq = this.seq(node, 'cases');
    if (!seq) return [];
    const cases: Case[] = [];
    const ids = new Set<string>();
    seq.items.forEach((item, position) => {
      const range = this.nodeRange(item);
      if (!isMap(item)) {
        this.report(range, 'error', 'type', "A case is a mapping with 'input' (or 'vars') and 'expected'.");
        return;
      }
      const entries = this.entries(item, CASE_KEYS, 'case key');
      const nameEntry = entries.get('name');
      const name = nameEntry ? this.string(nameEntry.value, 'name') : undefined;
      const inputEntry = entries.get('input');
      const varsEntry = entries.get('vars');
      if (inputEntry && varsEntry)
        this.report(this.nodeRange(varsEntry.key), 'error', 'duplicate-key', "Give either 'input' or 'vars', not both.");
      const input = this.readVars(inputEntry ?? varsEntry, range, 'case', document);
      let id = name ?? `case-${position + 1}`;
      if (ids.has(id)) {
        if (nameEntry) this.report(this.nodeRange(nameEntry.value), 'warning', 'duplicate-case', `Another case is also named '${id}'.`);
        id = `${id}#${position + 1}`;
      }
      ids.add(id);
      const expectedEntry = entries.get('expected');
      const testCase: Case = { id, input: input ?? {}, range };
      if (name !== undefined) testCase.name = name;
      if (expectedEntry) testCase.expected = this.toData(expectedEntry.value) ?? null;
      const labelEntry = entries.get('label');
      if (labelEntry) {
        const label = labelValue(this.toData(labelEntry.value));
        if (label === undefined)
          this.report(this.nodeRange(labelEntry.value ?? labelEntry.key), 'error', 'type', `'label' must be true, false, pass or fail.`);
        else testCase.label = label;
      }
      cases.push(testCase);
    });
    return cases;
  }

  /** `input` is a mapping of variables, or a plain string when the template reads exactly one variable. */
  private readVars(
    entry: { key: YamlNode; value: YamlNode | null } | undefined,
    ownerRange: Range,
    owner: string,
    document: PromptDocument,
  ): Vars | undefined {
    if (!entry) {
      // A template without variables needs no input.
      if (this.uniqueVariables(document).length === 0) return {};
      this.report(ownerRange, 'error', 'missing-key', `This ${owner} has no 'input'.`);
      return undefined;
    }
    const value = entry.value;
    if (isMap(value)) return this.toData(value) as Vars | undefined;
    if (isScalar(value)) {
      const variables = this.uniqueVariables(document);
      if (variables.length === 1 && variables[0]) return { [variables[0]]: value.value };
      const message =
        variables.length === 0
          ? `This ${owner}'s 'input' is a plain value but the template reads no variable.`
          : `This ${owner}'s 'input' is a plain value but the template reads ${variables.length} variables (${variables.join(', ')}): give a mapping.`;
      this.report(this.nodeRange(value), 'error', 'input-shape', message);
      return undefined;
    }
    this.report(
      this.nodeRange(value ?? entry.key),
      'error',
      'type',
      `'input' must be a mapping of variables (or a plain value for a one-variable template).`,
    );
    return undefined;
  }

  private uniqueVariables(document: PromptDocument): string[] {
    return [...new Set(document.templateVariables.map((variable) => variable.name))];
  }

  private readDatasets(node: YamlNode | null): DatasetRef[] {
    const items = isSeq(node) ? node.items : [node];
    const datasets: DatasetRef[] = [];
    for (const item of items) {
      const range = this.nodeRange(item);
      if (isScalar(item)) {
        const path = this.string(item, 'dataset');
        if (path) datasets.push({ path, range });
        continue;
      }
      if (!isMap(item)) {
        this.report(range, 'error', 'type', "A dataset is a path or a mapping with 'path'.");
        continue;
      }
      const entries = this.entries(item, DATASET_KEYS, 'dataset key');
      const pathEntry = entries.get('path');
      if (!pathEntry) {
        this.report(range, 'error', 'missing-key', "This dataset has no 'path'.");
        continue;
      }
      const path = this.string(pathEntry.value, 'path');
      if (!path) continue;
      const dataset: DatasetRef = { path, range: this.nodeRange(pathEntry.value) };
      const expected = entries.get('expected');
      if (expected) dataset.expectedField = this.string(expected.value, 'expected');
      const limit = entries.get('limit');
      if (limit) dataset.limit = this.integer(limit.value, 'limit', 1, 10_000_000);
      const input = entries.get('input');
      if (input) {
        const map = this.map(input.value, 'input');
        if (map) {
          dataset.inputMap = {};
          for (const pair of map.pairs) {
            const variable = this.keyName(pair);
            const column = this.string(pair.value, variable ?? 'column');
            if (variable && column) dataset.inputMap[variable] = column;
          }
        }
      }
      datasets.push(dataset);
    }
    return datasets;
  }

  private readExtractor(node: YamlNode | null): ExtractorSpec {
    const range = this.nodeRange(node);
    if (isScalar(node)) return { type: this.oneOf(node, EXTRACTOR_TYPES, 'extractor') ?? 'auto', range };
    const entries = this.entries(this.map(node, 'extract'), EXTRACT_KEYS, 'extract key');
    const typeEntry = entries.get('type');
    const spec: ExtractorSpec = { type: 'auto', range };
    if (typeEntry) spec.type = this.oneOf(typeEntry.value, EXTRACTOR_TYPES, 'extractor') ?? 'auto';
    else if (entries.get('pattern')) spec.type = 'regex';
    else if (entries.get('path')) spec.type = 'json';
    else if (entries.size > 0)
      this.report(range, 'error', 'missing-key', `'extract' needs a 'type': one of ${EXTRACTOR_TYPES.join(', ')}.`);
    const pattern = entries.get('pattern');
    const flags = entries.get('flags');
    if (flags) spec.flags = this.string(flags.value, 'flags');
    if (pattern) {
      spec.pattern = this.string(pattern.value, 'pattern');
      if (spec.pattern !== undefined) this.checkRegex(spec.pattern, spec.flags, pattern.value);
    }
    const group = entries.get('group');
    if (group) spec.group = this.integer(group.value, 'group', 0, 99);
    const match = entries.get('match');
    if (match) spec.match = this.oneOf(match.value, ['first', 'last'] as const, 'match');
    const path = entries.get('path');
    if (path) {
      spec.path = this.string(path.value, 'path');
      if (spec.path !== undefined && !isValidJsonPath(spec.path)) {
        this.report(
          this.nodeRange(path.value),
          'error',
          'json-path',
          `'${spec.path}' is not a JSON path such as $.answer or $.items[0].name.`,
        );
      }
    }
    const choices = entries.get('choices');
    if (choices) spec.choices = this.stringList(choices.value, 'choices');
    this.requireFor(spec.type, 'regex', 'pattern', spec.pattern, range);
    this.requireFor(spec.type, 'json', 'path', spec.path, range);
    return spec;
  }

  /** `samples: 8`, or `samples: {max: 16, stop: adaptive, min: 4, batch: 2, confidence: 0.95, window: 4}`. */
  private readSamples(node: YamlNode | null, document: PromptDocument): void {
    if (!isMap(node)) {
      document.samples = this.integer(node, 'samples', 1, 10_000) ?? 1;
      return;
    }
    const entries = this.entries(node, SAMPLES_KEYS, 'samples key');
    const max = entries.get('max');
    if (max) document.samples = this.integer(max.value, 'max', 1, 10_000) ?? 1;
    else this.report(this.nodeRange(node), 'error', 'missing-key', `'samples' as a mapping needs 'max': the most chains a case may draw.`);
    const stop = entries.get('stop');
    const rule = stop ? this.oneOf(stop.value, STOP_RULES, 'stop rule') : 'adaptive';
    if (rule === undefined || rule === 'fixed') return;
    const read = (key: string, min: number, upper: number, fallback: number, whole = true): number => {
      const entry = entries.get(key);
      if (!entry) return fallback;
      return (whole ? this.integer(entry.value, key, min, upper) : this.number(entry.value, key, min, upper)) ?? fallback;
    };
    const window = read('window', 2, 10_000, STOP_DEFAULTS.window);
    const stopRule: StopRule = {
      rule,
      min: read('min', 1, 10_000, rule === 'window' ? window : STOP_DEFAULTS.min),
      batch: read('batch', 1, 10_000, STOP_DEFAULTS.batch),
      confidence: read('confidence', 0.5, 0.9999, STOP_DEFAULTS.confidence, false),
      window,
    };
    if (stopRule.min > document.samples) {
      const range = entries.get('min') ? this.nodeRange(entries.get('min')?.value) : this.nodeRange(max?.value ?? node);
      this.report(
        range,
        'warning',
        'range',
        `'min' (${stopRule.min}) is above 'max' (${document.samples}): every case draws ${document.samples} chains.`,
      );
    }
    if (rule === 'window' && stopRule.window > stopRule.min && entries.get('min')) {
      this.report(
        this.nodeRange(entries.get('min')?.value),
        'warning',
        'range',
        `'min' (${stopRule.min}) is below 'window' (${stopRule.window}): no case can stop before ${stopRule.window} chains.`,
      );
    }
    document.stop = stopRule;
  }

  private readScorer(node: YamlNode | null): ScorerSpec {
    const range = this.nodeRange(node);
    if (isScalar(node)) {
      const type = this.oneOf(node, SCORER_TYPES, 'scorer') ?? 'exact';
      if (type === 'judge')
        this.report(range, 'error', 'missing-key', `A 'judge' scorer needs a 'rubric': write it as scorer: {type: judge, rubric: ...}.`);
      return { type, range };
    }
    const entries = this.entries(this.map(node, 'scorer'), SCORER_KEYS, 'scorer key');
    const spec: ScorerSpec = { type: 'exact', range };
    const typeEntry = entries.get('type');
    if (typeEntry) spec.type = this.oneOf(typeEntry.value, SCORER_TYPES, 'scorer') ?? 'exact';
    else this.report(range, 'error', 'missing-key', `'scorer' needs a 'type': one of ${SCORER_TYPES.join(', ')}.`);
    const tolerance = entries.get('tolerance');
    if (tolerance) spec.tolerance = this.number(tolerance.value, 'tolerance', 0, Number.MAX_VALUE);
    const pattern = entries.get('pattern');
    if (pattern) {
      spec.pattern = this.string(pattern.value, 'pattern');
      if (spec.pattern !== undefined) this.checkRegex(spec.pattern, undefined, pattern.value);
    }
    const caseSensitive = entries.get('case_sensitive');
    if (caseSensitive) spec.caseSensitive = this.boolean(caseSensitive.value, 'case_sensitive');
    const file = entries.get('file');
    if (file) spec.file = this.string(file.value, 'file');
    this.requireFor(spec.type, 'custom', 'file', spec.file, range);
    if (spec.type === 'judge') this.readJudge(entries, spec, range);
    else
      for (const key of JUDGE_KEYS) {
        const entry = entries.get(key);
        if (entry)
          this.report(
            this.nodeRange(entry.key),
            'warning',
            'judge-only-key',
            `'${key}' is a setting of the judge scorer (type: judge); it is ignored here.`,
          );
      }
    return spec;
  }

  /** `scorer: {type: judge, rubric, model?, repeats?, temperature?, seed?, max_tokens?}`. */
  private readJudge(entries: Map<string, { key: YamlNode; value: YamlNode | null }>, spec: ScorerSpec, range: Range): void {
    const rubricEntry = entries.get('rubric');
    const rubric = rubricEntry ? this.string(rubricEntry.value, 'rubric') : undefined;
    if (!rubricEntry)
      this.report(
        range,
        'error',
        'missing-key',
        `A 'judge' scorer needs a 'rubric': what the judge checks, with {{input}}, {{expected}}, {{output}}.`,
      );
    else if (rubric !== undefined && rubric.trim() === '')
      this.report(this.nodeRange(rubricEntry.value ?? rubricEntry.key), 'error', 'type', `'rubric' must not be empty.`);
    const judge: JudgeSpec = { rubric: rubric ?? '', repeats: 1, temperature: 0, range };
    const model = entries.get('model');
    if (model) {
      const reference = this.string(model.value, 'model');
      if (reference !== undefined) judge.model = reference;
    }
    const repeats = entries.get('repeats');
    if (repeats) judge.repeats = this.integer(repeats.value, 'repeats', 1, MAX_JUDGE_REPEATS) ?? 1;
    const temperature = entries.get('temperature');
    if (temperature) judge.temperature = this.number(temperature.value, 'temperature', 0, 2) ?? 0;
    const seed = entries.get('seed');
    if (seed) {
      const value = this.integer(seed.value, 'seed', 0, Number.MAX_SAFE_INTEGER);
      if (value !== undefined) judge.seed = value;
    }
    const maxTokens = entries.get('max_tokens');
    if (maxTokens) {
      const value = this.integer(maxTokens.value, 'max_tokens', 1, 1_000_000);
      if (value !== undefined) judge.maxTokens = value;
    }
    if (judge.repeats > 1 && judge.temperature === 0 && judge.seed === undefined)
      this.report(
        this.nodeRange(repeats?.value ?? null),
        'hint',
        'judge-repeats-greedy',
        `The judge's repeats at temperature 0 differ only by seed; raise its temperature to measure its self-agreement.`,
      );
    spec.judge = judge;
  }

  /** `cluster: {similarity: 0.8}`: groups near-identical free-text answers in the result view (the vote is unchanged). */
  private readCluster(node: YamlNode | null, document: PromptDocument): void {
    const range = this.nodeRange(node);
    const map = this.map(node, 'cluster');
    if (!map) return;
    const entries = this.entries(map, CLUSTER_KEYS, 'cluster key');
    const similarity = entries.get('similarity');
    if (!similarity) {
      this.report(range, 'error', 'missing-key', `'cluster' needs 'similarity': the token F1 (0–1] at which two answers share a cluster.`);
      return;
    }
    const value = this.number(similarity.value, 'similarity', 0, 1);
    if (value === undefined) return;
    if (value === 0) {
      this.report(
        this.nodeRange(similarity.value),
        'error',
        'range',
        `'similarity' must be above 0 (0 would put every answer in one cluster).`,
      );
      return;
    }
    document.cluster = { similarity: value, range };
    const freeText = ['text', 'line', 'auto', 'answer'].includes(document.extract.type) || document.scorer.type.endsWith('-f1');
    if (!freeText)
      this.report(
        range,
        'warning',
        'cluster-not-free-text',
        `'cluster' groups free-text answers; a '${document.extract.type}' extractor's answers are already normalized, so it changes little.`,
      );
  }

  /**
   * `attacks:` a mapping (`into`, `suites`, `custom`, `cases`, `canary`, `target`, `growth`), or a list of suite names and
   * custom attacks. `into` defaults to the template's only variable, else `user` (direct injection).
   */
  private readAttacks(node: YamlNode | null, document: PromptDocument): void {
    const range = this.nodeRange(node);
    const variables = this.uniqueVariables(document);
    const config: AttacksConfig = {
      into: variables.length === 1 ? (variables[0] as string) : 'user',
      suites: [],
      custom: [],
      canary: defaultCanary(document.name ?? document.template),
      target: DEFAULT_TARGET,
      growth: DEFAULT_GROWTH,
      range,
    };
    let suiteNodes: YamlNode[] = [];
    let customNodes: YamlNode[] = [];
    if (isSeq(node)) {
      // The list form: suite names and custom attacks side by side.
      suiteNodes = node.items.filter((item): item is YamlNode => isScalar(item));
      customNodes = node.items.filter((item): item is YamlNode => !!item && !isScalar(item));
    } else {
      const entries = this.entries(this.map(node, 'attacks'), ATTACKS_KEYS, 'attacks key');
      const into = entries.get('into');
      if (into) config.into = this.string(into.value, 'into') ?? config.into;
      const suites = entries.get('suites');
      if (suites) {
        if (isScalar(suites.value) && suites.value.value === 'all') config.suites = [...ATTACK_SUITES];
        else suiteNodes = this.seq(suites.value, 'suites')?.items.filter((item): item is YamlNode => !!item) ?? [];
      }
      const custom = entries.get('custom');
      if (custom) customNodes = this.seq(custom.value, 'custom')?.items.filter((item): item is YamlNode => !!item) ?? [];
      const cases = entries.get('cases');
      if (cases) {
        const ids = this.stringList(cases.value, 'cases');
        if (ids) config.cases = ids;
      }
      const canary = entries.get('canary');
      if (canary) config.canary = this.string(canary.value, 'canary') ?? config.canary;
      const target = entries.get('target');
      if (target) config.target = this.string(target.value, 'target') ?? config.target;
      const growth = entries.get('growth');
      if (growth) config.growth = this.number(growth.value, 'growth', 1, 1000) ?? config.growth;
    }
    for (const item of suiteNodes) {
      const suite = this.oneOf(item, ATTACK_SUITES, 'attack suite');
      if (!suite) continue;
      if (config.suites.includes(suite))
        this.report(this.nodeRange(item), 'warning', 'duplicate-suite', `Suite '${suite}' is listed twice.`);
      else config.suites.push(suite);
    }
    const ids = new Set<string>();
    for (const item of customNodes) {
      const attack = this.readAttack(item, config);
      if (!attack) continue;
      if (ids.has(attack.id)) {
        this.report(this.nodeRange(item), 'error', 'duplicate-attack', `Another attack is also named '${attack.id}'.`);
        continue;
      }
      ids.add(attack.id);
      if (attack.into !== config.into) this.checkInto(attack.into, attack.range ?? range, document);
      config.custom.push(attack);
    }
    this.checkInto(config.into, range, document);
    if (config.suites.length === 0 && config.custom.length === 0)
      this.report(
        range,
        'warning',
        'empty',
        `'attacks' lists no suite and no attack: nothing is attacked. Suites: ${ATTACK_SUITES.join(', ')}.`,
      );
    document.attacks = config;
  }

  private readAttack(node: YamlNode, config: AttacksConfig): AttackSpec | undefined {
    const range = this.nodeRange(node);
    const map = this.map(node, 'attack');
    if (!map) return undefined;
    const entries = this.entries(map, ATTACK_KEYS, 'attack key');
    const name = entries.get('name') ? this.string(entries.get('name')?.value, 'name') : undefined;
    const textEntry = entries.get('text');
    if (!name) this.report(range, 'error', 'missing-key', "An attack needs a 'name'.");
    if (!textEntry) this.report(range, 'error', 'missing-key', "An attack needs the 'text' it injects.");
    const text = textEntry ? this.string(textEntry.value, 'text') : undefined;
    const detectEntry = entries.get('detect');
    const detector: DetectorSpec = detectEntry
      ? (this.readDetector(detectEntry.value) ?? { type: 'contains', value: config.target })
      : { type: 'contains', value: config.target };
    if (!name || text === undefined) return undefined;
    const fill = (value: string): string => value.replaceAll('{{canary}}', config.canary).replaceAll('{{target}}', config.target);
    const position = entries.get('position')
      ? this.oneOf(entries.get('position')?.value, ['append', 'prepend', 'replace'] as const, 'position')
      : undefined;
    const into = entries.get('into') ? this.string(entries.get('into')?.value, 'into') : undefined;
    if (detector.value !== undefined) detector.value = fill(detector.value);
    const language = entries.get('language') ? this.string(entries.get('language')?.value, 'language') : undefined;
    const description = entries.get('description') ? this.string(entries.get('description')?.value, 'description') : undefined;
    return {
      id: name,
      suite: 'custom',
      text: fill(text),
      into: into ?? config.into,
      position: position ?? 'append',
      detector,
      ...(language !== undefined ? { language } : {}),
      ...(description !== undefined ? { description } : {}),
      range,
    };
  }

  /** `detect: canary` or `detect: {type: contains, value: PWNED}`. */
  private readDetector(node: YamlNode | null): DetectorSpec | undefined {
    if (isScalar(node)) {
      const type = this.oneOf(node, DETECTOR_TYPES, 'detector');
      if (!type) return undefined;
      if (type === 'contains' || type === 'regex' || type === 'judge') {
        this.report(
          this.nodeRange(node),
          'error',
          'missing-key',
          `A '${type}' detector needs its ${type === 'contains' ? "'value'" : type === 'regex' ? "'pattern'" : "'rubric'"}: write it as a mapping.`,
        );
        return undefined;
      }
      return type === 'token-growth' ? { type, factor: DEFAULT_GROWTH } : { type };
    }
    const range = this.nodeRange(node);
    const entries = this.entries(this.map(node, 'detect'), DETECTOR_KEYS, 'detector key');
    const typeEntry = entries.get('type');
    if (!typeEntry) {
      this.report(range, 'error', 'missing-key', `'detect' needs a 'type': one of ${DETECTOR_TYPES.join(', ')}.`);
      return undefined;
    }
    const type = this.oneOf(typeEntry.value, DETECTOR_TYPES, 'detector');
    if (!type) return undefined;
    const detector: DetectorSpec = { type };
    const value = entries.get('value');
    if (value) detector.value = this.string(value.value, 'value');
    const pattern = entries.get('pattern');
    const flags = entries.get('flags');
    if (flags) detector.flags = this.string(flags.value, 'flags');
    if (pattern) {
      detector.pattern = this.string(pattern.value, 'pattern');
      if (detector.pattern !== undefined) this.checkRegex(detector.pattern, detector.flags, pattern.value);
    }
    const caseSensitive = entries.get('case_sensitive');
    if (caseSensitive) detector.caseSensitive = this.boolean(caseSensitive.value, 'case_sensitive');
    const factor = entries.get('factor');
    if (factor) detector.factor = this.number(factor.value, 'factor', 1, 1000);
    if (type === 'token-growth') detector.factor ??= DEFAULT_GROWTH;
    const rubric = entries.get('rubric');
    if (rubric) detector.rubric = this.string(rubric.value, 'rubric');
    const needs = {
      contains: ['value', detector.value],
      regex: ['pattern', detector.pattern],
      judge: ['rubric', detector.rubric],
    } as const;
    const need = type in needs ? needs[type as keyof typeof needs] : undefined;
    if (need && need[1] === undefined) {
      this.report(range, 'error', 'missing-key', `A '${type}' detector needs '${need[0]}'.`);
      return undefined;
    }
    return detector;
  }

  /** `defences: [sandwich, {type: delimiters, open: '<<<', close: '>>>'}]`. */
  private readDefences(node: YamlNode | null): DefenceSpec[] {
    const seq = this.seq(node, 'defences');
    if (!seq) return [];
    const defences: DefenceSpec[] = [];
    const names = new Set<string>();
    for (const item of seq.items) {
      const range = this.nodeRange(item);
      let defence: DefenceSpec | undefined;
      if (isScalar(item)) {
        const type = this.oneOf(item, DEFENCE_TYPES, 'defence');
        if (type) defence = { name: type, type, range };
      } else if (isMap(item)) {
        const entries = this.entries(item, DEFENCE_KEYS, 'defence key');
        const typeEntry = entries.get('type');
        if (!typeEntry) this.report(range, 'error', 'missing-key', `A defence needs a 'type': one of ${DEFENCE_TYPES.join(', ')}.`);
        const type = typeEntry ? this.oneOf(typeEntry.value, DEFENCE_TYPES, 'defence') : undefined;
        if (type) {
          defence = { name: type, type, range };
          for (const key of ['name', 'into', 'open', 'close', 'tag', 'marker', 'instruction', 'key'] as const) {
            const entry = entries.get(key);
            if (!entry) continue;
            const value = this.string(entry.value, key);
            if (value !== undefined) defence[key] = value;
          }
          const usedBy: Record<string, readonly DefenceSpec['type'][]> = {
            open: ['delimiters'],
            close: ['delimiters'],
            tag: ['xml-tags'],
            marker: ['datamarking'],
            instruction: ['sandwich', 'reminder'],
            key: ['known-answer'],
          };
          for (const [key, types] of Object.entries(usedBy)) {
            const entry = entries.get(key);
            if (entry && !types.includes(type))
              this.report(this.nodeRange(entry.key), 'warning', 'ignored-key', `'${key}' only applies to ${types.join(', ')} defences.`);
          }
        }
      } else {
        this.report(range, 'error', 'type', 'A defence is a name (e.g. sandwich) or a mapping with a type.');
      }
      if (!defence) continue;
      if (defence.name === 'none' || defence.name.includes('+')) {
        this.report(
          range,
          'error',
          'defence-name',
          `A defence cannot be named '${defence.name}' ('none' is the undefended column; '+' joins names).`,
        );
        continue;
      }
      if (names.has(defence.name)) {
        this.report(range, 'error', 'duplicate-defence', `Defence name '${defence.name}' is used twice: give one a 'name'.`);
        continue;
      }
      names.add(defence.name);
      defences.push(defence);
    }
    return defences;
  }

  /** The untrusted variable must be one the template reads (or `user`). */
  private checkInto(into: string, range: Range, document: PromptDocument): void {
    if (into === 'user') return;
    const variables = this.uniqueVariables(document);
    if (!variables.includes(into))
      this.report(
        range,
        'error',
        'unknown-variable',
        `'into: ${into}' is not a variable of the template${didYouMean(into, [...variables, 'user'])}`,
      );
  }

  /** `budget: 5`: the most the run may cost, in the price table's currency; it needs max_tokens to bound each request. */
  private readBudget(key: YamlNode, node: YamlNode | null, document: PromptDocument): void {
    if (!(isScalar(node) && typeof node.value === 'number' && Number.isFinite(node.value))) {
      this.report(
        this.nodeRange(node ?? key),
        'error',
        'type',
        `'budget' must be an amount in the price table's currency, a number without a currency sign (budget: 5).`,
      );
      return;
    }
    if (node.value <= 0) {
      this.report(this.nodeRange(node), 'error', 'range', `'budget' must be above 0, got ${node.value}.`);
      return;
    }
    document.budget = node.value;
    if (document.sampling.maxTokens === undefined)
      this.report(
        this.nodeRange(key),
        'error',
        'budget-needs-max-tokens',
        `'budget' needs config.max_tokens: without it a request's cost has no upper bound, so the run could pass the budget.`,
      );
  }

  private requireFor<T extends string>(type: T, when: T, key: string, value: unknown, range: Range): void {
    if (type === when && value === undefined)
      this.report(range, 'error', 'missing-key', `A '${when}' ${key === 'file' ? 'scorer' : 'extractor'} needs '${key}'.`);
  }

  private checkRegex(pattern: string, flags: string | undefined, node: YamlNode | null): void {
    try {
      new RegExp(pattern, flags);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.report(this.nodeRange(node), 'error', 'regex', `Invalid regular expression: ${reason}`);
      return;
    }
    const risky = backtrackingRisk(pattern);
    if (risky) {
      this.report(
        this.nodeRange(node),
        'warning',
        'regex-backtracking',
        `Nested quantifiers: ${risky} can take exponential time on an output that almost matches. Each match is stopped after ${REGEX_TIME_LIMIT_MS} ms and its chain counts as invalid; make the repeated part match one way only.`,
      );
    }
  }

  // ---- cross-checks ----------------------------------------------------------------------------

  private checkDocument(document: PromptDocument): void {
    if (document.variantsDefaulted) document.variants = defaultVariants(document);
    this.checkVariants(document);
    this.checkIdenticalVariants(document);
    this.checkBaseline(document);
    this.checkVariablesDefined(document);
    this.checkExpected(document);
    this.checkSampling(document);
    this.checkDefencesInto(document);
  }

  /** A defence protects the attacks' untrusted variable unless it names its own. */
  private checkDefencesInto(document: PromptDocument): void {
    for (const defence of document.defences) {
      if (defence.into !== undefined) this.checkInto(defence.into, defence.range ?? zeroRange(), document);
      else if (
        !document.attacks &&
        this.uniqueVariables(document).length !== 1 &&
        defence.type !== 'reminder' &&
        defence.type !== 'known-answer'
      )
        this.report(
          defence.range ?? zeroRange(),
          'warning',
          'defence-into',
          `Which input is untrusted? Give this defence 'into: <variable>' (or 'attacks: {into: …}'); it wraps the whole user turn until then.`,
        );
    }
  }

  /**
   * `input: invoice #4411 is late` reads as `invoice`: in YAML a space and `#` start a comment. Warned when a plain
   * (unquoted) string value is followed on its line by exactly one space and `#`; two or more spaces before the `#`
   * read as a deliberate comment (`samples: 8  # per case`), and values that are not strings are left alone.
   */
  private checkCommentTraps(root: YamlNode): void {
    const seen = new Set<number>();
    const visit = (node: YamlNode | null): void => {
      if (!node || seen.has(node.start)) return;
      seen.add(node.start);
      if (isMap(node)) for (const pair of node.pairs) visit(pair.value);
      else if (isSeq(node)) for (const item of node.items) visit(item);
      else if (typeof node.value === 'string') this.checkCommentTrap(node.start, node.end, node.value);
    };
    visit(root);
  }

  private checkCommentTrap(nodeStart: number, nodeEnd: number, value: string): void {
    const start = this.yamlOffset + nodeStart;
    const end = this.yamlOffset + nodeEnd;
    // Quoted, block (| >), anchored, tagged or aliased values: the `#` is not the value's business.
    if (end <= start || /["'|>&*!]/.test(this.text[start] ?? '"')) return;
    if (this.text[end] !== ' ' || this.text[end + 1] !== '#') return;
    const lineEnd = this.text.indexOf('\n', end);
    const comment = this.text.slice(end + 1, lineEnd < 0 ? this.text.length : lineEnd).trimEnd();
    const whole = `${value} ${comment}`;
    this.report(
      this.index.range(end + 1, end + 1 + comment.length),
      'warning',
      'yaml-comment-in-value',
      `'${comment}' is a YAML comment (a space and '#' start one): this value reads as '${value}'. Quote the value if the '#' belongs to it; put two spaces before a comment that is meant.`,
      {
        title: `Quote the value: ${JSON.stringify(whole)}`,
        range: this.index.range(start, end + 1 + comment.length),
        replacement: JSON.stringify(whole),
      },
    );
  }

  /** Two variants that show the same examples, answers and trigger send the same prompt for every case. */
  private checkIdenticalVariants(document: PromptDocument): void {
    if (document.variantsDefaulted) return;
    const seen = new Map<string, Variant>();
    for (const variant of document.variants) {
      const shown = examplesFor(document, variant);
      const style = promptKindOf(variant);
      // A one-shot or few-shot variant without examples is already an error (needs-examples).
      if ((style === 'one-shot' || style === 'few-shot') && document.examples.length === 0) continue;
      const cot = style === 'zero-shot-cot';
      const trigger = cot ? (variant.trigger ?? '').trim() : '';
      const key = JSON.stringify([
        shown.map((example) => document.examples.indexOf(example)),
        shown.map((example) => exampleAnswer(example, variant)),
        trigger,
        cot ? (variant.answerPrompt ?? '') : '',
        // A shape sends its base prompt and more: it matches only the same shape with the same settings.
        variant.shape ? [variant.kind, Object.entries(variant.shape).sort(([a], [b]) => a.localeCompare(b))] : null,
      ]);
      const earlier = seen.get(key);
      if (!earlier) {
        seen.set(key, variant);
        continue;
      }
      const what =
        shown.length === 0
          ? `no examples${trigger ? '' : ' and no trigger'}`
          : `the same ${shown.length === 1 ? 'example' : `${shown.length} examples`}`;
      const why = variant.k === 0 ? " ('k: 0' shows no examples)" : '';
      this.report(
        variant.range,
        'warning',
        'identical-variants',
        `Variant '${variant.name}' renders the same prompt as '${earlier.name}' for every case (${what})${why}: their results differ only by sampling noise. Change its examples, 'k' or trigger, or remove it.`,
      );
    }
  }

  /** `baseline` names one of the variants (the defaults included). */
  private checkBaseline(document: PromptDocument): void {
    const { baseline, baselineRange } = document;
    if (baseline === undefined || !baselineRange) return;
    const names = document.variants.map((variant) => variant.name);
    if (names.includes(baseline)) return;
    const hint = didYouMean(baseline, names) || ` (the variants are ${names.join(', ')})`;
    this.report(
      baselineRange,
      'error',
      'unknown-baseline',
      `Unknown baseline variant '${baseline}'${hint}`,
      this.plainScalarAt(baselineRange, baseline) ? replaceWith(baselineRange, closestMatch(baseline, names)) : undefined,
    );
  }

  private checkVariants(document: PromptDocument): void {
    const examples = document.examples.length;
    const withReasoning = document.examples.filter((example) => example.reasoning !== undefined).length;
    for (const variant of document.variants) {
      if (document.variantsDefaulted) continue;
      // A shape's base style needs what that style needs.
      const style = promptKindOf(variant);
      if ((style === 'one-shot' || style === 'few-shot') && examples === 0) {
        this.report(variant.range, 'error', 'needs-examples', `Variant '${variant.name}' needs at least one entry in 'examples'.`);
      }
      if (style === 'few-shot-cot') {
        if (withReasoning === 0)
          this.report(variant.range, 'error', 'needs-reasoning', `Variant '${variant.name}' needs examples with 'reasoning'.`);
        else if (withReasoning < examples)
          this.report(
            variant.range,
            'warning',
            'needs-reasoning',
            `Only ${withReasoning} of ${examples} examples have 'reasoning'; '${variant.name}' uses just those.`,
          );
      }
      const available = style === 'few-shot-cot' ? withReasoning : examples;
      if (variant.k !== undefined && variant.k > available && available > 0) {
        this.report(variant.range, 'warning', 'k-too-large', `k = ${variant.k} but only ${available} examples can be used.`);
      }
    }
  }

  /** Every variable the template reads must have a value in each case and example (or a default). */
  private checkVariablesDefined(document: PromptDocument): void {
    const owners: { label: string; input: Vars; range: Range }[] = [
      ...document.examples.map((example, i) => ({ label: `example ${i + 1}`, input: example.input, range: example.range })),
      ...document.cases.map((testCase) => ({
        label: testCase.name ? `case '${testCase.name}'` : testCase.id.replace('case-', 'case '),
        input: testCase.input,
        range: testCase.range,
      })),
    ];
    const reported = new Set<string>();
    for (const variable of document.templateVariables) {
      if (reported.has(variable.name) || variable.name in document.inputDefaults) continue;
      const missing = owners.filter((owner) => !(variable.name in owner.input));
      if (missing.length === 0) continue;
      reported.add(variable.name);
      const where = missing
        .slice(0, 3)
        .map((owner) => `${owner.label} (line ${owner.range.start.line + 1})`)
        .join(', ');
      const more = missing.length > 3 ? ` and ${missing.length - 3} more` : '';
      const known = [...new Set(owners.flatMap((owner) => Object.keys(owner.input)))];
      // The fix renames the variable in the template, only where the range is exactly its name (not `a.b`).
      const written = this.text.slice(this.index.offsetAt(variable.range.start), this.index.offsetAt(variable.range.end));
      this.report(
        variable.range,
        'error',
        'undefined-variable',
        `Template variable '${variable.name}' is not defined by ${where}${more}${didYouMean(variable.name, known)}`,
        written === variable.name ? replaceWith(variable.range, closestMatch(variable.name, known)) : undefined,
      );
    }
  }

  private checkExpected(document: PromptDocument): void {
    const scorer = document.scorer.type;
    if (!SCORERS_NEEDING_EXPECTED.has(scorer)) return;
    for (const testCase of document.cases) {
      if (testCase.expected === undefined || testCase.expected === null) {
        this.report(
          testCase.range,
          'error',
          'missing-expected',
          `${testCase.name ? `Case '${testCase.name}'` : 'This case'} has no 'expected', but the '${scorer}' scorer needs one.`,
        );
      } else if (scorer === 'numeric' && !isNumberLike(testCase.expected)) {
        this.report(
          testCase.range,
          'error',
          'expected-type',
          `The 'numeric' scorer needs a number as 'expected', got ${JSON.stringify(testCase.expected)}.`,
        );
      }
    }
  }

  /** Passed through as written (providers add levels); a value of another type is an error. */
  private reasoningEffort(node: YamlNode | null, key: string): string | undefined {
    const value = this.toData(node);
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
    this.report(
      this.nodeRange(node),
      'error',
      'type',
      `'${key}' must be a word such as minimal, low, medium or high, got ${JSON.stringify(value)}.`,
    );
    return undefined;
  }

  private checkSampling(document: PromptDocument): void {
    // What OpenAI's reasoning models refuse is left out of the requests: say so where it is written.
    const reference = parseModelReference(document.model);
    const model = reference.model;
    const reasoning = !reference.isLocal && model !== '' && isReasoningModel(model);
    if (reasoning) {
      for (const rule of REASONING_FIXED) {
        const value = document.sampling[rule.setting];
        const range = this.settingRanges.get(rule.setting);
        if (value === undefined || value === rule.fixed || !range) continue;
        this.report(
          range,
          'warning',
          'setting-not-sent',
          `${model} samples at its fixed ${rule.wire} ${rule.fixed}; ${rule.wire} ${value} will not be sent${rule.setting === 'temperature' ? ' (self-consistency still works: it samples by default)' : ''}.`,
        );
      }
    }
    const topKRange = this.settingRanges.get('topK');
    if (reference.provider && !reference.isLocal && document.sampling.topK !== undefined && topKRange) {
      // The OpenAI API has no top_k, and the backend sends none to any OpenAI-compatible server.
      this.report(topKRange, 'warning', 'setting-not-sent', `top_k is not part of the OpenAI API: ${reference.provider} is not sent it.`);
    }
    const samplesRange = document.keyRanges.samples?.key;
    if (document.samples > 1 && document.sampling.temperature === 0 && samplesRange && !reasoning) {
      this.report(
        samplesRange,
        'warning',
        'samples-at-zero-temperature',
        `samples: ${document.samples} at temperature 0 gives ${document.samples} near-identical chains: raise the temperature for self-consistency.`,
      );
    }
  }

  /** Plain data of a node (js-yaml already resolved aliases and merges). */
  private toData(node: YamlNode | null | undefined): unknown {
    return node?.value;
  }

  // ---- typed node readers ------------------------------------------------------------------------

  /** The pairs of a mapping by key; unknown keys get a warning with a suggestion. */
  private entries(map: YamlMap | undefined, allowed: readonly string[], what: string, alsoAllowed?: (key: string) => boolean) {
    const result = new Map<string, { key: YamlNode; value: YamlNode | null }>();
    if (!map) return result;
    for (const pair of map.pairs) {
      const key = this.keyName(pair);
      if (key === undefined) continue;
      if (!allowed.includes(key) && !alsoAllowed?.(key)) {
        const range = this.nodeRange(pair.key);
        const fix = this.plainScalarAt(range, key) ? replaceWith(range, closestMatch(key, allowed)) : undefined;
        this.report(range, 'warning', 'unknown-key', `Unknown ${what} '${key}'${didYouMean(key, allowed)}`, fix);
        continue;
      }
      result.set(key, { key: pair.key, value: pair.value });
    }
    return result;
  }

  private keyName(pair: YamlPair): string | undefined {
    const key = pair.key;
    if (isScalar(key) && (typeof key.value === 'string' || typeof key.value === 'number')) return String(key.value);
    this.report(this.nodeRange(key), 'error', 'key', 'Keys must be plain names.');
    return undefined;
  }

  private map(node: YamlNode | null | undefined, what: string): YamlMap | undefined {
    if (isMap(node)) return node;
    if (node && !(isScalar(node) && node.value === null))
      this.report(this.nodeRange(node), 'error', 'type', `'${what}' must be a mapping.`);
    return undefined;
  }

  private seq(node: YamlNode | null | undefined, what: string) {
    if (isSeq(node)) return node;
    if (node && !(isScalar(node) && node.value === null)) this.report(this.nodeRange(node), 'error', 'type', `'${what}' must be a list.`);
    return undefined;
  }

  private oneOf<T extends string>(node: YamlNode | null | undefined, allowed: readonly T[], what: string): T | undefined {
    const value = this.string(node, what);
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    const normalized = value.toLowerCase().replace(/[_\s]+/g, '-');
    const suggestion = closestMatch(normalized, allowed) ?? closestMatch(value, allowed);
    const hint = suggestion ? ` — did you mean '${suggestion}'?` : ` (one of ${allowed.join(', ')})`;
    const range = this.nodeRange(node ?? null);
    const fix = this.plainScalarAt(range, value) ? replaceWith(range, suggestion) : undefined;
    this.report(range, 'error', `unknown-${what.replace(/\s+/g, '-')}`, `Unknown ${what} '${value}'${hint}`, fix);
    return undefined;
  }

  private string(node: YamlNode | null | undefined, what: string, allowEmpty = false): string | undefined {
    if (isScalar(node) && typeof node.value === 'string' && (allowEmpty || node.value.length > 0)) return node.value;
    this.report(this.nodeRange(node ?? null), 'error', 'type', `'${what}' must be ${allowEmpty ? 'a string' : 'a non-empty string'}.`);
    return undefined;
  }

  /** Scalars of any type read as text (an output of `4` is the text "4"). */
  private scalarText(node: YamlNode | null | undefined, what: string): string | undefined {
    const value: unknown = isScalar(node) ? node.value : undefined;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
      return String(value);
    this.report(this.nodeRange(node ?? null), 'error', 'type', `'${what}' must be text.`);
    return undefined;
  }

  private stringList(node: YamlNode | null | undefined, what: string): string[] | undefined {
    if (isScalar(node) && typeof node.value === 'string') return [node.value];
    if (isSeq(node)) {
      const values: string[] = [];
      for (const item of node.items) {
        const value = this.string(item, what, true);
        if (value !== undefined) values.push(value);
      }
      return values;
    }
    this.report(this.nodeRange(node ?? null), 'error', 'type', `'${what}' must be a string or a list of strings.`);
    return undefined;
  }

  private number(node: YamlNode | null | undefined, what: string, min: number, max: number): number | undefined {
    if (isScalar(node) && typeof node.value === 'number' && Number.isFinite(node.value)) {
      if (node.value >= min && node.value <= max) return node.value;
      this.report(this.nodeRange(node), 'error', 'range', `'${what}' must be between ${min} and ${max}, got ${node.value}.`);
      return undefined;
    }
    this.report(this.nodeRange(node ?? null), 'error', 'type', `'${what}' must be a number.`);
    return undefined;
  }

  private integer(node: YamlNode | null | undefined, what: string, min: number, max: number): number | undefined {
    const value = this.number(node, what, min, max);
    if (value === undefined) return undefined;
    if (Number.isInteger(value)) return value;
    this.report(this.nodeRange(node ?? null), 'error', 'type', `'${what}' must be a whole number, got ${value}.`);
    return undefined;
  }

  private boolean(node: YamlNode | null | undefined, what: string): boolean | undefined {
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    this.report(this.nodeRange(node ?? null), 'error', 'type', `'${what}' must be true or false.`);
    return undefined;
  }

  // ---- ranges --------------------------------------------------------------------------------------

  private yamlRange(start: number, end: number): Range {
    return this.index.range(this.yamlOffset + start, this.yamlOffset + end);
  }

  /** The range of a node's value (without trailing comments), or the frontmatter start when unknown. */
  private nodeRange(node: YamlNode | null | undefined): Range {
    if (!node) return this.index.range(this.yamlOffset, this.yamlOffset);
    return this.yamlRange(node.start, node.end);
  }

  /** Whether `range` holds `value` exactly as written (unquoted), so that replacing the range replaces the value. */
  private plainScalarAt(range: Range, value: string): boolean {
    return this.text.slice(this.index.offsetAt(range.start), this.index.offsetAt(range.end)) === value;
  }

  private report(range: Range, severity: Severity, code: string, message: string, fix?: Fix): void {
    this.diagnostics.push({ range, severity, code, message, ...(fix ? { fix } : {}) });
  }
}

/** The quick fix that writes `suggestion` over `range`; none without a suggestion. */
function replaceWith(range: Range, suggestion: string | undefined): Fix | undefined {
  return suggestion === undefined ? undefined : { title: `Change to '${suggestion}'`, range, replacement: suggestion };
}

/** Variants when the file lists none: every kind its examples make possible. */
export function defaultVariants(document: Pick<PromptDocument, 'examples'>): Variant[] {
  const range = zeroRange();
  const kinds: VariantKind[] = ['zero-shot'];
  if (document.examples.length > 1) kinds.push('one-shot');
  if (document.examples.length > 0) kinds.push('few-shot');
  kinds.push('zero-shot-cot');
  if (document.examples.some((example) => example.reasoning !== undefined)) kinds.push('few-shot-cot');
  return kinds.map((kind) => ({ name: kind, kind, range, ...(kind === 'zero-shot-cot' ? { trigger: DEFAULT_TRIGGER } : {}) }));
}

function isNumberLike(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  return typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value.replace(/[,\s]/g, '')));
}

/** Accepts the JSON paths the extractor understands: `$`, `.name`, `['name']`, `[0]`. */
export function isValidJsonPath(path: string): boolean {
  return /^\$(?:\.[A-Za-z_$][\w$-]*|\[\d+\]|\['[^']*'\]|\["[^"]*"\])*$/.test(path.trim());
}
