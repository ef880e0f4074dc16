// Tree of thought (Yao et al. 2023): a breadth-first beam search over partial solutions, one thought a step.
import { DEFAULT_PROPOSE_PROMPT, fillPrompt } from './defaults';
import { followUp, markPath, numbered, requestNode, requestPromptTokens, standalone } from './common';
import { ShapeFailure, type ShapeContext, type ShapeOutput, type ShapeRequest, type ShapeResult, type TraceNode } from './types';
import type { ShapeRunner } from './index';

/** What the propose prompt shows before the first thought. */
const NO_STEPS_YET = '(no steps yet)';
/** Chat: the last request, when the best state has no answer yet. */
const FINISH_PROMPT = 'Here is a partial solution to the question:\n{{state}}\n\nFinish the solution and give the final answer.';
/** A vote prompt's answer: Yao et al.'s "The best choice is N". */
const BEST_CHOICE = /best choice is\s*(?:choice\s*)?#?\s*(\d+)/i;
/** Value ratings (Yao et al. weight them 20 / 1 / 0.001; here on 0…1 like a scorer's). */
const VALUE_OF: Record<string, number> = { sure: 1, likely: 0.5, impossible: 0 };

/** A partial solution: the thoughts so far, and the trace nodes it went through. */
interface State {
  text: string;
  path: string[];
}

/** One distinct thought proposed from a state, with the state it makes. */
interface Candidate {
  node: TraceNode;
  state: State;
  /** Identical proposals from its state (how vote-by-frequency scores). */
  count: number;
  score: number;
  terminal: boolean;
  /** Proposal order across the depth: ties go to the earlier. */
  order: number;
}

export const runTreeOfThought: ShapeRunner = async (context) => {
  const { beam, depth: maxDepth } = context.options;
  const joiner = joinerOf(context.options.delimiter, context.input);
  const trace: TraceNode[] = [];
  let frontier: State[] = [{ text: '', path: [] }];
  const finished: Candidate[] = [];
  let lastKept: Candidate[] = [];

  for (let depth = 1; depth <= maxDepth && frontier.length > 0; depth++) {
    const candidates: Candidate[] = [];
    for (const [stateIndex, state] of frontier.entries()) {
      const request = `propose-d${depth}-s${stateIndex}`;
      const outputs = await context.generate(proposeRequest(context, state, request, joiner));
      const parents = state.path.slice(-1);
      const grown = groupProposals(context, outputs).map((group, index): Candidate => {
        const text = state.text ? `${state.text}${joiner}${group.thought}` : group.thought;
        const node: TraceNode = {
          id: `d${depth}.${stateIndex}.${index}`,
          parents,
          role: 'propose',
          text: group.thought,
          depth,
          request,
          promptTokens: 0,
          completionTokens: group.completionTokens,
        };
        return {
          node,
          state: { text, path: [...state.path, node.id] },
          count: group.count,
          score: 0,
          terminal: context.isFinal(text),
          order: candidates.length + index,
        };
      });
      if (grown.length === 0) {
        const error = outputs.find((output) => output.error)?.error ?? 'no thought was proposed';
        trace.push({
          id: `d${depth}.${stateIndex}.0`,
          parents,
          role: 'propose',
          text: '',
          depth,
          request,
          kept: false,
          promptTokens: requestPromptTokens(outputs),
          completionTokens: outputs.reduce((sum, output) => sum + output.completionTokens, 0),
          error,
        });
        continue;
      }
      shareRequestTokens(grown, outputs);
      candidates.push(...grown);
      trace.push(...grown.map((candidate) => candidate.node));
    }
    if (candidates.length === 0) throw new ShapeFailure(`Tree of thought: no thought could be proposed at depth ${depth}.`, trace);

    await evaluate(context, candidates, depth, trace);
    const ranked = [...candidates].sort((a, b) => b.score - a.score || a.order - b.order);
    const keptSet = new Set(ranked.slice(0, beam));
    for (const candidate of candidates) {
      candidate.node.score = candidate.score;
      candidate.node.kept = keptSet.has(candidate);
    }
    // Breadth-first: the kept states grow in proposal order, so ids read in the order the requests went out.
    lastKept = candidates.filter((candidate) => keptSet.has(candidate));
    finished.push(...lastKept.filter((candidate) => candidate.terminal));
    frontier = lastKept.filter((candidate) => !candidate.terminal).map((candidate) => candidate.state);
  }

  // A state with an answer beats one without; then the higher score, then the earlier proposal.
  const pool = finished.length > 0 ? finished : lastKept;
  const best = [...pool].sort((a, b) => b.score - a.score || a.order - b.order)[0] as Candidate;
  markPath(trace, best.state.path);
  if (best.terminal) return { text: best.state.text, trace };
  return finish(context, best, joiner, trace);
};

/** What joins two thoughts: the delimiter's own whitespace (`. ` → a space, a new line → a new line). */
function joinerOf(delimiter: string, input: ShapeContext['input']): string {
  const trailing = /\s+$/.exec(delimiter)?.[0];
  return trailing ?? (input === 'chat' ? '\n' : ' ');
}

function proposeRequest(context: ShapeContext, state: State, id: string, joiner: string): ShapeRequest {
  const { breadth, delimiter, proposePrompt } = context.options;
  if (context.input === 'text' && proposePrompt === undefined) {
    // Sampled continuation: the state goes after the prompt's answer cue, and the model writes the next thought.
    // A space joiner is left to the model (a trailing space tokenizes badly); a new line is written, or the model stops at once.
    const after = state.text ? ` ${state.text}${joiner === ' ' ? '' : joiner}` : '';
    return { id, text: `${context.rendered.text}${after}`, n: breadth, stop: [delimiter, ...context.stop] };
  }
  const prompt = fillPrompt(proposePrompt ?? DEFAULT_PROPOSE_PROMPT, { question: context.question, state: state.text || NO_STEPS_YET });
  if (context.input === 'text') return { id, ...standalone(context, prompt), n: breadth, stop: [delimiter, ...context.stop] };
  return { id, ...followUp(context, prompt), n: breadth };
}

/** The first thought of a sample, cut at the delimiter (chat models do not stop there), its end mark kept. */
export function thoughtOf(output: ShapeOutput, delimiter: string): string {
  let text = output.text.trimStart();
  const at = delimiter ? text.indexOf(delimiter) : -1;
  const cut = at >= 0;
  if (cut) text = text.slice(0, at);
  text = text.trim();
  const mark = delimiter.trim();
  if (text && mark && !text.endsWith(mark) && (cut || output.finishReason === 'stop')) text += mark;
  return text;
}

/** Identical proposals (whitespace aside) are one candidate proposed several times. */
function groupProposals(context: ShapeContext, outputs: ShapeOutput[]): { thought: string; count: number; completionTokens: number }[] {
  const groups = new Map<string, { thought: string; count: number; completionTokens: number }>();
  for (const output of outputs) {
    if (output.error) continue;
    const thought = thoughtOf(output, context.options.delimiter);
    if (!thought) continue;
    const key = thought.replace(/\s+/g, ' ');
    const group = groups.get(key);
    if (group) {
      group.count++;
      group.completionTokens += output.completionTokens;
    } else groups.set(key, { thought, count: 1, completionTokens: output.completionTokens });
  }
  return [...groups.values()];
}

/** The request's prompt tokens, and the tokens of samples that made no candidate, go on its first candidate. */
function shareRequestTokens(grown: Candidate[], outputs: ShapeOutput[]): void {
  const first = grown[0];
  if (!first) return;
  const counted = grown.reduce((sum, candidate) => sum + candidate.node.completionTokens, 0);
  const total = outputs.reduce((sum, output) => sum + output.completionTokens, 0);
  first.node.promptTokens = requestPromptTokens(outputs);
  first.node.completionTokens += total - counted;
}

async function evaluate(context: ShapeContext, candidates: Candidate[], depth: number, trace: TraceNode[]): Promise<void> {
  const { breadth, evaluator, votePrompt, valuePrompt, valueSamples } = context.options;
  if (evaluator === 'vote' && votePrompt === undefined) {
    for (const candidate of candidates) candidate.score = candidate.count / breadth;
    return;
  }
  if (evaluator === 'vote') {
    const request = `vote-d${depth}`;
    const prompt = fillPrompt(votePrompt as string, {
      question: context.question,
      candidates: numbered(
        'Choice',
        candidates.map((candidate) => candidate.state.text),
      ),
    });
    const outputs = await context.generate({ id: request, ...standalone(context, prompt), n: valueSamples });
    const notes: string[] = [];
    for (const output of outputs) {
      if (output.error) continue;
      const choice = Number(BEST_CHOICE.exec(output.text)?.[1]);
      const chosen = candidates[choice - 1];
      if (chosen) chosen.score++;
      else notes.push(`no valid "best choice is N" in: ${output.text.trim()}`);
    }
    const text = [...outputs.map((output) => output.text.trim()), ...notes].filter(Boolean).join('\n---\n');
    trace.push(
      requestNode(
        outputs,
        request,
        'evaluate',
        candidates.map((candidate) => candidate.node.id),
        text,
      ),
    );
    return;
  }
  for (const candidate of candidates) {
    if (evaluator === 'scorer') {
      if (!context.rateState) throw new Error("Tree of thought: the scorer evaluator needs 'scorer', a file that rates partial states.");
      candidate.score = await context.rateState(candidate.state.text);
      continue;
    }
    const request = `value-${candidate.node.id}`;
    const prompt = fillPrompt(valuePrompt, { question: context.question, state: candidate.state.text });
    const outputs = await context.generate({ id: request, ...standalone(context, prompt), n: valueSamples });
    const ratings = outputs.map((output) => ratingOf(output));
    candidate.score = ratings.reduce((sum, rating) => sum + rating.value, 0) / Math.max(1, ratings.length);
    const node = requestNode(outputs, request, 'evaluate', [candidate.node.id], ratings.map((rating) => rating.text).join('\n---\n'));
    node.score = candidate.score;
    trace.push(node);
  }
}

/** One value sample: sure / likely / impossible (the last one named counts, as Yao et al. read the last line); else 0 and why. */
export function ratingOf(output: ShapeOutput): { value: number; text: string } {
  if (output.error) return { value: 0, text: `(rating failed: ${output.error}; counted as 0)` };
  const words = output.text.toLowerCase().match(/\b(sure|likely|impossible)\b/g);
  const word = words?.at(-1);
  if (word === undefined) return { value: 0, text: `${output.text.trim()}\n(no sure/likely/impossible: counted as 0)` };
  return { value: VALUE_OF[word] ?? 0, text: output.text.trim() };
}

/** The best state has no answer yet: one request runs it to the end. */
async function finish(context: ShapeContext, best: Candidate, joiner: string, trace: TraceNode[]): Promise<ShapeResult> {
  const request: ShapeRequest =
    context.input === 'text'
      ? { id: 'answer', text: `${context.rendered.text} ${best.state.text}`, n: 1, stop: context.stop }
      : { id: 'answer', ...followUp(context, fillPrompt(FINISH_PROMPT, { state: best.state.text })), n: 1 };
  const outputs = await context.generate(request);
  const output = outputs[0];
  const node: TraceNode = {
    id: 'answer',
    parents: [best.node.id],
    role: 'answer',
    text: output && !output.error ? output.text.trim() : '',
    request: 'answer',
    onPath: true,
    promptTokens: requestPromptTokens(outputs),
    completionTokens: outputs.reduce((sum, sample) => sum + sample.completionTokens, 0),
    ...(output && !output.error ? {} : { error: output?.error ?? 'no answer came back' }),
  };
  trace.push(node);
  if (node.error) throw new ShapeFailure(`Tree of thought: the answer request failed: ${node.error}`, trace);
  return { text: node.text ? `${best.state.text}${joiner}${node.text}` : best.state.text, trace };
}
