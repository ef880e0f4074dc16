import * as vm from 'node:vm';

/**
 * Patterns written in a prompt run on model output with a time limit: a backtracking pattern such as
 * `(a+)+b` takes exponential time on an output that almost matches, and would otherwise block the CLI
 * (deaf to Ctrl-C) or the extension host. Matching runs in a `vm` script with a timeout, whose watchdog
 * terminates even a regex mid-backtrack. Chosen over a linear-time engine: same JavaScript semantics
 * (backreferences, lookaround, `d` indices), no dependency, and ~50–70 µs per match for the watchdog.
 */
export const REGEX_TIME_LIMIT_MS = 100;

/** Why a pattern gave no result on a text: it ran out of time, or V8 gave up (a backtracking stack overflow). */
export interface RegexFailure {
  failed: string;
}

type Outcome = RegExpMatchArray[] | boolean | { timedOut: true } | { error: string };

/** One shared context, made on first use: the compiled pattern and the text are handed over as its globals. */
let sandbox: { context: vm.Context; script: vm.Script } | undefined;

/** Results are remembered per text, so summarizing a run again (every partial update in the editor) costs no new timeouts. */
const MEMO_ENTRIES = 20_000;
const COMPILED_ENTRIES = 100;

export class UserRegex {
  private readonly memo = { all: new Map<string, Outcome>(), test: new Map<string, Outcome>() };

  constructor(readonly regex: RegExp) {}

  /** Every match (the pattern needs the `g` flag); `what` names the text in a failure's reason. */
  matchAll(text: string, what = 'this output'): RegExpMatchArray[] | RegexFailure {
    const outcome = this.run(text, true);
    return Array.isArray(outcome) ? outcome : failure(outcome as Exclude<Outcome, boolean | RegExpMatchArray[]>, what);
  }

  /** Whether the pattern matches somewhere in the text. */
  test(text: string, what = 'this answer'): boolean | RegexFailure {
    const outcome = this.run(text, false);
    return typeof outcome === 'boolean' ? outcome : failure(outcome as Exclude<Outcome, boolean | RegExpMatchArray[]>, what);
  }

  private run(text: string, all: boolean): Outcome {
    const memo = all ? this.memo.all : this.memo.test;
    const known = memo.get(text);
    if (known !== undefined) return known;
    let outcome: Outcome;
    this.regex.lastIndex = 0;
    sandbox ??= {
      context: vm.createContext({ re: undefined, input: '', all: false }),
      script: new vm.Script('all ? Array.from(input.matchAll(re)) : re.test(input)'),
    };
    const { context, script } = sandbox;
    Object.assign(context, { re: this.regex, input: text, all });
    try {
      const returned = script.runInContext(context, { timeout: REGEX_TIME_LIMIT_MS }) as RegExpMatchArray[] | boolean;
      // The list was made in the sandbox's realm: copy it into ours (the matches themselves are ours).
      outcome = typeof returned === 'boolean' ? returned : [...returned];
    } catch (error) {
      // Errors from the sandbox belong to its realm: not `instanceof Error` here.
      const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
      outcome =
        code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' ? { timedOut: true } : { error: typeof message === 'string' ? message : String(error) };
    } finally {
      // Let go of the text and the pattern.
      Object.assign(context, { re: undefined, input: '' });
    }
    if (memo.size >= MEMO_ENTRIES) memo.clear();
    memo.set(text, outcome);
    return outcome;
  }
}

function failure(outcome: { timedOut: true } | { error: string }, what: string): RegexFailure {
  return {
    failed:
      'timedOut' in outcome
        ? `the regex timed out after ${REGEX_TIME_LIMIT_MS} ms on ${what} (nested quantifiers?)`
        : `the regex failed on ${what}: ${outcome.error}`,
  };
}

const compiled = new Map<string, UserRegex>();

/** Compiled once per pattern and flags, not once per chain. Throws a SyntaxError for an invalid pattern. */
export function userRegex(pattern: string, flags: string): UserRegex {
  const key = `${flags}/${pattern}`;
  let found = compiled.get(key);
  if (!found) {
    found = new UserRegex(new RegExp(pattern, flags));
    if (compiled.size >= COMPILED_ENTRIES) compiled.clear();
    compiled.set(key, found);
  }
  return found;
}

/**
 * A part of the pattern that can take exponential time, or undefined: a group repeated without bound
 * (`*`, `+`, `{n,}`) that holds an unbounded quantifier itself (`(a+)+`, `(\w+\s?)*`, star height > 1), or
 * alternatives of which one starts the other (`(a|aa)+`). A heuristic for `check`: some such patterns are
 * safe (`(?:\d+,)*`), and the time limit stops the rest at run time.
 */
export function backtrackingRisk(pattern: string): string | undefined {
  interface Group {
    start: number;
    unbounded: boolean;
    alternatives: string[];
    alternativeStart: number;
  }
  const stack: Group[] = [{ start: 0, unbounded: false, alternatives: [], alternativeStart: 0 }];
  /** Length of a quantifier at `at` and whether it is unbounded; 0 when there is none. */
  const quantifier = (at: number): { length: number; unbounded: boolean } => {
    const ch = pattern[at];
    if (ch === '*' || ch === '+') return { length: 1, unbounded: true };
    if (ch === '?') return { length: 1, unbounded: false };
    const braces = ch === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(at)) : null;
    if (braces) return { length: braces[0].length, unbounded: braces[2] !== undefined && braces[3] === '' };
    return { length: 0, unbounded: false };
  };
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i];
    const top = stack.at(-1) as Group;
    if (ch === '\\') {
      i += 2;
    } else if (ch === '[') {
      // A class is one atom: skip to its closing bracket (a `]` right after `[` or `[^` is literal only outside `v`/`u`; close enough).
      i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
    } else if (ch === '(') {
      const prefix = /^\(\?(?:<(?![=!])[^>]*>|[:=!]|<[=!])?/.exec(pattern.slice(i))?.[0] ?? '(';
      stack.push({ start: i, unbounded: false, alternatives: [], alternativeStart: i + prefix.length });
      i += prefix.length;
      continue;
    } else if (ch === '|') {
      top.alternatives.push(pattern.slice(top.alternativeStart, i));
      top.alternativeStart = i + 1;
      i++;
      continue;
    } else if (ch === ')' && stack.length > 1) {
      stack.pop();
      top.alternatives.push(pattern.slice(top.alternativeStart, i));
      const after = quantifier(i + 1);
      const parent = stack.at(-1) as Group;
      parent.unbounded ||= top.unbounded || after.unbounded;
      if (after.unbounded) {
        const group = pattern.slice(top.start, i + 1 + after.length);
        if (top.unbounded) return group;
        const overlapping = top.alternatives.some((a, x) => top.alternatives.some((b, y) => x !== y && b.startsWith(a)));
        if (overlapping) return group;
      }
      i += 1 + after.length;
      if (pattern[i] === '?') i++;
      continue;
    } else {
      i++;
    }
    // After an atom: its quantifier, if any.
    const after = quantifier(i);
    top.unbounded ||= after.unbounded;
    i += after.length;
    if (after.length > 0 && pattern[i] === '?') i++;
  }
  return undefined;
}
