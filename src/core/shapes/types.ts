// Reasoning shapes beyond one chain (tree of thought, graph of thought, universal self-consistency,
// self-verification, step-back): a shape makes several requests for one chain and leaves a trace of them.
// The engine (src/core/eval/run.ts) gives a shape a ShapeContext; the shape never talks to a backend itself.
import type { FinishReason } from '../backend';
import type { ChatMessage, RenderedPrompt } from '../prompt/render';
import type { ShapeOptions, Variant } from '../prompt/types';

export const TRACE_ROLES = ['sample', 'propose', 'evaluate', 'aggregate', 'refine', 'verify', 'pick', 'abstract', 'answer'] as const;
export type TraceRole = (typeof TRACE_ROLES)[number];

/** One node of a chain's trace: a thought, a rating, an aggregate, the answer (docs/results-schema.md, `trace`). */
export interface TraceNode {
  /** Stable within the chain (`d2.1`, `chain-3`, `answer`): the same run makes the same ids. */
  id: string;
  /** The nodes it grew from or merges (empty for roots). */
  parents: string[];
  role: TraceRole;
  /** What the model wrote for this node (a thought, a rating's text, the aggregate); for a state, the thought added. */
  text: string;
  /** The evaluator's rating (ToT), the verification weight (self-verification), the vote count; absent when none. */
  score?: number;
  /** Tree of thought: kept at its depth (true) or pruned (false); absent where nothing is pruned. */
  kept?: boolean;
  /** On the path from the root to the answer. */
  onPath?: boolean;
  /** Tree of thought: the thought's depth (1 = first thought). */
  depth?: number;
  /** The request this node came from (several nodes share one request of n). */
  request?: string;
  /** Tokens of its request shared out over the nodes it produced (prompt tokens once per request). */
  promptTokens: number;
  completionTokens: number;
  /** The request failed: the node has no text. */
  error?: string;
}

/** One request a shape makes: n samples of one prompt. */
export interface ShapeRequest {
  /** Stable id within the chain: it seeds the request and keys its cache entry and its record for resume. */
  id: string;
  /** The prompt: chat turns for chat models, text for base models (ShapeContext.input says which). */
  messages?: ChatMessage[];
  text?: string;
  n: number;
  /** Overrides of the prompt file's sampling for this request (a rating at temperature 0, a step cut at a delimiter). */
  maxTokens?: number;
  stop?: string[];
  temperature?: number;
}

/** One sample of a request. */
export interface ShapeOutput {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  /** The request failed for good: no text. */
  error?: string;
}

export interface ShapeContext {
  variant: Variant;
  /** The variant's shape settings with every default filled in (src/core/shapes/defaults.ts). */
  options: Required<Omit<ShapeOptions, 'proposePrompt' | 'votePrompt' | 'scorerFile'>> &
    Pick<ShapeOptions, 'proposePrompt' | 'votePrompt' | 'scorerFile'>;
  /** The case rendered in the shape's base style: what a plain chain of this variant would be sent. */
  rendered: RenderedPrompt;
  /** Whether requests take `messages` (chat) or `text` (base models). */
  input: 'chat' | 'text';
  /** The case's question as the prompt shows it (its last user turn), for prompts that quote it. */
  question: string;
  /** The prompt file's sampling stop sequences (a chain's end), for requests that run to the answer. */
  stop: string[];
  /** Sends one request; a resumed run replays it from the run file, a cached one from the cache. Never throws for a failed request: its outputs carry `error`. */
  generate(request: ShapeRequest): Promise<ShapeOutput[]>;
  /** The answer the prompt's extractor reads in a text, normalized for voting; undefined when it finds none. */
  answerOf(text: string): string | undefined;
  /**
   * Whether a partial solution already states its final answer ("The answer is 14.", "Answer:", \boxed{}): a number
   * extractor reads 17 in "12 + 5 = 17." too, so a tree would stop after its first thought on answerOf alone.
   */
  isFinal(text: string): boolean;
  /** Tree of thought with the scorer evaluator: the scorer file's rating of a partial state, 0…1. */
  rateState?(state: string): Promise<number>;
  signal: AbortSignal;
}

/** What a shape returns for one chain: the final text (extracted and scored like any chain) and its trace. */
export interface ShapeResult {
  text: string;
  trace: TraceNode[];
}

/** Thrown when a chain cannot finish (every candidate failed): the engine records a failed chain, keeping its requests for resume. */
export class ShapeFailure extends Error {
  constructor(
    message: string,
    readonly trace: TraceNode[],
  ) {
    super(message);
    this.name = 'ShapeFailure';
  }
}
