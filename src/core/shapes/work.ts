// How many requests and generations one chain of a shape makes at most: what the pre-run estimate counts, so a
// tree of thought is not priced as one chain.
import type { ShapeKind } from '../prompt/types';
import type { ShapeContext } from './types';

export interface ShapeWork {
  /** Requests sent (each bills its prompt once). */
  requests: number;
  /** Samples generated over those requests (each up to max_tokens). */
  generations: number;
}

/** The most one chain of this shape asks for, with its options resolved (resolveShapeOptions). */
export function shapeWork(kind: ShapeKind, options: ShapeContext['options']): ShapeWork {
  switch (kind) {
    case 'tree-of-thought': {
      const { breadth, beam, depth, evaluator, valueSamples } = options;
      // Depth 1 grows from the empty state; every later depth from up to `beam` kept states.
      const states = 1 + (depth - 1) * beam;
      let requests = states;
      let generations = states * breadth;
      if (evaluator === 'value') {
        requests += states * breadth;
        generations += states * breadth * valueSamples;
      } else if (evaluator === 'vote' && options.votePrompt !== undefined) {
        requests += depth;
        generations += depth * valueSamples;
      }
      // The answer request, when the best state has none yet.
      return { requests: requests + 1, generations: generations + 1 };
    }
    case 'graph-of-thought':
      return { requests: 2 + options.refinements, generations: options.chains + 1 + options.refinements };
    case 'universal-self-consistency':
      return { requests: 2, generations: options.chains + 1 };
    case 'self-verification':
      return { requests: 1 + options.chains, generations: options.chains * (1 + options.verifySamples) };
    case 'step-back':
      return { requests: 2, generations: 2 };
  }
}
