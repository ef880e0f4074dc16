// Every default of the reasoning shapes, in one place: the parser leaves unwritten options unset and the engine
// resolves them here at run time, so a changed default applies to old prompt files too.
import type { Example, PromptDocument, PromptKind, ShapeKind, ShapeOptions, TotEvaluator } from '../prompt/types';
import type { ShapeContext } from './types';

/** Tree of thought: candidates proposed per kept state (Yao et al. propose a handful per state). */
export const DEFAULT_BREADTH = 3;
/** Tree of thought: states kept per depth; Yao et al.'s BFS keeps b of them. */
export const DEFAULT_BEAM = 2;
/** Tree of thought: thoughts before the answer; short arithmetic takes two or three steps. */
export const DEFAULT_DEPTH = 3;
/** Tree of thought: a thought is one line unless the file says otherwise (`. ` for sentence steps). */
export const DEFAULT_DELIMITER = '\n';
/** Tree of thought: voting by how often a thought is proposed costs no extra request. */
export const DEFAULT_EVALUATOR: TotEvaluator = 'vote';
/** Tree of thought: ratings per state (value) or votes (vote prompt); Yao et al. sample a few to smooth them. */
export const DEFAULT_VALUE_SAMPLES = 3;
/** Graph of thought: chains merged by the aggregate (k). */
export const DEFAULT_GOT_CHAINS = 3;
/** Graph of thought: one refinement of the aggregate (r); more rarely pays for its tokens. */
export const DEFAULT_REFINEMENTS = 1;
/** Universal self-consistency: Chen et al. show the model a handful of responses; 5 fits most context windows. */
export const DEFAULT_USC_CHAINS = 5;
/** Self-verification: chains whose answers are checked. */
export const DEFAULT_VERIFY_CHAINS = 5;
/** Self-verification: one check per chain; more only smooths the weight. */
export const DEFAULT_VERIFY_SAMPLES = 1;

// Prompts fill `{{name}}` placeholders (fillPrompt); each says which it takes.

/** Propose prompt ({{question}}, {{state}}): the next step only, so one sample is one thought. */
export const DEFAULT_PROPOSE_PROMPT =
  'Here is a partial solution to the question:\n{{state}}\n\nWrite only the next step of the solution: one step, nothing after it.';
/** Value prompt ({{question}}, {{state}}): Yao et al.'s sure / likely / impossible rating, asked of any task. */
export const DEFAULT_VALUE_PROMPT =
  'Evaluate whether this partial solution can still reach a correct answer to the question (sure/likely/impossible).\n\nQuestion: {{question}}\n\nPartial solution:\n{{state}}\n\nReply with one word: sure, likely or impossible.';
/** Aggregate prompt ({{question}}, {{solutions}}): Besta et al.'s merge of several chains into one. */
export const DEFAULT_AGGREGATE_PROMPT =
  'Here are several solutions to the question below. Merge them into one improved solution, ending with the final answer.\n\nQuestion: {{question}}\n\n{{solutions}}';
/** Refine prompt ({{question}}, {{solution}}). */
export const DEFAULT_REFINE_PROMPT =
  'Here is a solution to the question below. Check it for mistakes and write an improved solution, ending with the final answer.\n\nQuestion: {{question}}\n\nSolution:\n{{solution}}';
/** Pick prompt ({{question}}, {{responses}}): Chen et al.'s universal self-consistency wording. */
export const DEFAULT_PICK_PROMPT =
  'I have generated the following responses to the question: {{question}}\n\n{{responses}}\n\nEvaluate these responses.\nSelect the most consistent response based on majority consensus.\nStart your answer with "The most consistent response is Response X" (without quotes).';
/** Verify prompt ({{question}}, {{solution}}). */
export const DEFAULT_VERIFY_PROMPT =
  "Question: {{question}}\n\nProposed solution:\n{{solution}}\n\nIs the final answer correct? Reply with 'yes' or 'no'.";
/** Step-back prompt ({{question}}): Zheng et al. ask for the principle first, without the answer. */
export const DEFAULT_STEP_BACK_PROMPT =
  'Step back from the details: what general principle or concept is behind this question? State it briefly, without answering the question.\n\nQuestion: {{question}}';
/** Principle prompt ({{principle}}, {{question}}): the question turn of the second request. */
export const DEFAULT_PRINCIPLE_PROMPT = 'Principle: {{principle}}\n\nNow answer: {{question}}';

/** The base style when the file names none: chain of thought, with the file's worked examples when it has some. */
export function defaultShapeBase(examples: readonly Example[]): PromptKind {
  return examples.some((example) => example.reasoning !== undefined) ? 'few-shot-cot' : 'zero-shot-cot';
}

/** Chains a shape starts from when the file does not say (graph of thought, USC, self-verification). */
function defaultChains(kind: ShapeKind): number {
  if (kind === 'graph-of-thought') return DEFAULT_GOT_CHAINS;
  if (kind === 'universal-self-consistency') return DEFAULT_USC_CHAINS;
  return DEFAULT_VERIFY_CHAINS;
}

/** A shape's options with every default filled in, as the shape runners take them. */
export function resolveShapeOptions(
  kind: ShapeKind,
  options: Partial<ShapeOptions>,
  document: Pick<PromptDocument, 'examples'>,
): ShapeContext['options'] {
  return {
    base: options.base ?? defaultShapeBase(document.examples),
    breadth: options.breadth ?? DEFAULT_BREADTH,
    beam: options.beam ?? DEFAULT_BEAM,
    depth: options.depth ?? DEFAULT_DEPTH,
    delimiter: options.delimiter ?? DEFAULT_DELIMITER,
    evaluator: options.evaluator ?? DEFAULT_EVALUATOR,
    valuePrompt: options.valuePrompt ?? DEFAULT_VALUE_PROMPT,
    valueSamples: options.valueSamples ?? DEFAULT_VALUE_SAMPLES,
    chains: options.chains ?? defaultChains(kind),
    aggregatePrompt: options.aggregatePrompt ?? DEFAULT_AGGREGATE_PROMPT,
    refinements: options.refinements ?? DEFAULT_REFINEMENTS,
    refinePrompt: options.refinePrompt ?? DEFAULT_REFINE_PROMPT,
    pickPrompt: options.pickPrompt ?? DEFAULT_PICK_PROMPT,
    verifyPrompt: options.verifyPrompt ?? DEFAULT_VERIFY_PROMPT,
    verifySamples: options.verifySamples ?? DEFAULT_VERIFY_SAMPLES,
    stepBackPrompt: options.stepBackPrompt ?? DEFAULT_STEP_BACK_PROMPT,
    principlePrompt: options.principlePrompt ?? DEFAULT_PRINCIPLE_PROMPT,
    ...(options.proposePrompt !== undefined ? { proposePrompt: options.proposePrompt } : {}),
    ...(options.votePrompt !== undefined ? { votePrompt: options.votePrompt } : {}),
    ...(options.scorerFile !== undefined ? { scorerFile: options.scorerFile } : {}),
  };
}

/** Fills `{{name}}` placeholders; unknown ones stay as written so a typo shows in the prompt rather than vanishing. */
export function fillPrompt(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);
}
