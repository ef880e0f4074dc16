// The runner of each reasoning shape; the engine picks one by the variant's kind.
import type { ShapeKind } from '../prompt/types';
import { runGraphOfThought } from './got';
import { runStepBack } from './stepBack';
import { runTreeOfThought } from './tot';
import type { ShapeContext, ShapeResult } from './types';
import { runUniversalSelfConsistency } from './usc';
import { runSelfVerification } from './verify';

/** Runs one chain of a shape: all its requests through `context.generate`, and its trace. */
export type ShapeRunner = (context: ShapeContext) => Promise<ShapeResult>;

const RUNNERS: Record<ShapeKind, ShapeRunner> = {
  'tree-of-thought': runTreeOfThought,
  'graph-of-thought': runGraphOfThought,
  'universal-self-consistency': runUniversalSelfConsistency,
  'self-verification': runSelfVerification,
  'step-back': runStepBack,
};

export function runnerFor(kind: ShapeKind): ShapeRunner {
  return RUNNERS[kind];
}
