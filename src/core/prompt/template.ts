import Handlebars from 'handlebars';
import type { Diagnostic, Range, TemplateVariable } from './types';
import type { LineIndex } from './text';

type AstNode = hbs.AST.Node;

/** Helpers that Handlebars and Dotprompt provide; a mustache with one of these names is not a variable. */
const KNOWN_HELPERS = new Set([
  'if',
  'unless',
  'each',
  'with',
  'lookup',
  'log',
  'role',
  'history',
  'media',
  'section',
  'json',
  'ifEquals',
  'unlessEquals',
]);

/** Block helpers that change the context, so bare names inside them are not top-level variables. */
const CONTEXT_CHANGING_BLOCKS = new Set(['each', 'with']);

export interface TemplateAnalysis {
  variables: TemplateVariable[];
  diagnostics: Diagnostic[];
}

/**
 * Parses a Handlebars body and lists the top-level variables it reads, with their ranges in the file.
 * `bodyOffset` is the offset of the body's first character in the whole file.
 */
export function analyzeTemplate(body: string, bodyOffset: number, index: LineIndex): TemplateAnalysis {
  let program: hbs.AST.Program;
  try {
    program = Handlebars.parseWithoutProcessing(body);
  } catch (error) {
    return { variables: [], diagnostics: [templateSyntaxDiagnostic(error, body, bodyOffset, index)] };
  }

  const variables: TemplateVariable[] = [];
  const bodyStart = index.positionAt(bodyOffset);
  const toRange = (loc: hbs.AST.SourceLocation): Range => ({
    start: shift(loc.start, bodyStart),
    end: shift(loc.end, bodyStart),
  });

  const visitExpression = (node: AstNode | undefined, contextDepth: number): void => {
    if (!node) return;
    if (node.type === 'PathExpression') {
      const path = node as hbs.AST.PathExpression;
      const name = topLevelName(path, contextDepth);
      if (name) variables.push({ name, range: toRange(path.loc) });
    } else if (node.type === 'SubExpression') {
      const sub = node as hbs.AST.SubExpression;
      visitCall(sub.path, sub.params, sub.hash, contextDepth);
    }
  };

  const visitCall = (
    path: hbs.AST.PathExpression | hbs.AST.Literal,
    params: hbs.AST.Expression[],
    hash: hbs.AST.Hash | undefined,
    contextDepth: number,
  ): void => {
    const isHelper =
      path.type === 'PathExpression' &&
      (params.length > 0 || hash !== undefined || KNOWN_HELPERS.has((path as hbs.AST.PathExpression).original));
    if (!isHelper) visitExpression(path, contextDepth);
    for (const param of params) visitExpression(param, contextDepth);
    for (const pair of hash?.pairs ?? []) visitExpression(pair.value, contextDepth);
  };

  const visitProgram = (node: hbs.AST.Program | undefined, contextDepth: number): void => {
    for (const statement of node?.body ?? []) {
      switch (statement.type) {
        case 'MustacheStatement': {
          const mustache = statement as hbs.AST.MustacheStatement;
          visitCall(mustache.path, mustache.params, mustache.hash, contextDepth);
          break;
        }
        case 'BlockStatement': {
          const block = statement as hbs.AST.BlockStatement;
          for (const param of block.params) visitExpression(param, contextDepth);
          for (const pair of block.hash?.pairs ?? []) visitExpression(pair.value, contextDepth);
          const inner = CONTEXT_CHANGING_BLOCKS.has(block.path.original) ? contextDepth + 1 : contextDepth;
          visitProgram(block.program, inner);
          // `{{else}}` of #each runs in the outer context.
          visitProgram(block.inverse, contextDepth);
          break;
        }
        case 'PartialStatement':
        case 'PartialBlockStatement': {
          const partial = statement as hbs.AST.PartialStatement;
          for (const param of partial.params) visitExpression(param, contextDepth);
          break;
        }
        default:
          break;
      }
    }
  };

  visitProgram(program, 0);
  return { variables, diagnostics: [] };
}

/** The top-level variable a path reads, or undefined when it reads a block's own context or data. */
function topLevelName(path: hbs.AST.PathExpression, contextDepth: number): string | undefined {
  if (path.data) {
    // `@root.x` reads the top-level input; other `@` names are loop data.
    return path.parts[0] === 'root' ? path.parts[1] : undefined;
  }
  if (path.depth !== contextDepth) return undefined;
  const first = path.parts[0];
  if (!first || first === 'this') return path.parts[1];
  return first;
}

function shift(position: hbs.AST.Position, bodyStart: { line: number; character: number }) {
  const line = bodyStart.line + position.line - 1;
  const character = position.line === 1 ? bodyStart.character + position.column : position.column;
  return { line, character };
}

interface HandlebarsError {
  message?: string;
  lineNumber?: number;
  column?: number;
  endLineNumber?: number;
  endColumn?: number;
}

/** Turns a Handlebars parse error into a diagnostic at the offending token. */
function templateSyntaxDiagnostic(error: unknown, body: string, bodyOffset: number, index: LineIndex): Diagnostic {
  const err = (error ?? {}) as HandlebarsError;
  const rawMessage = typeof err.message === 'string' ? err.message : String(error);

  let summaryOverride: string | undefined;
  let startOffset: number | undefined;
  let endOffset: number | undefined;
  if (typeof err.lineNumber === 'number' && typeof err.column === 'number') {
    startOffset = offsetInBody(body, err.lineNumber, err.column);
    endOffset =
      typeof err.endLineNumber === 'number' && typeof err.endColumn === 'number'
        ? offsetInBody(body, err.endLineNumber, err.endColumn)
        : startOffset + 1;
  } else if (/got 'EOF'/.test(rawMessage) && /OPEN_ENDBLOCK/.test(rawMessage) && unclosedBlock(body)) {
    // The parser only notices at the end of the file; the useful place is the block left open.
    const open = unclosedBlock(body) as { start: number; end: number; name: string };
    startOffset = open.start;
    endOffset = open.end;
    summaryOverride = `${body.slice(open.start, open.end)} is never closed: add {{/${open.name}}}`;
  } else {
    startOffset = locateJisonError(rawMessage, body);
    const rest = body.slice(startOffset);
    const token = /^[^\s]*/.exec(rest)?.[0] ?? '';
    endOffset = startOffset + Math.max(1, Math.min(token.length, rest.length));
  }
  const start = bodyOffset + Math.min(startOffset, body.length);
  const end = Math.max(start, bodyOffset + Math.min(endOffset, body.length));

  const summary = summaryOverride ?? summarizeHandlebarsMessage(rawMessage);
  return {
    range: index.range(start, end === start && end < index.text.length ? end + 1 : end),
    severity: 'error',
    message: `Template syntax error: ${summary}`,
    code: 'template-syntax',
  };
}

/** The last `{{#block}}` opener without its `{{/block}}`, found by matching openers and closers in order. */
function unclosedBlock(body: string): { start: number; end: number; name: string } | undefined {
  const stack: { name: string; start: number; end: number }[] = [];
  const tag = /\{\{~?\s*([#/^])\s*>?\s*([\w.-]+)[^}]*\}\}/g;
  for (let match = tag.exec(body); match; match = tag.exec(body)) {
    const [text, sigil, name] = match;
    if (sigil === '/') {
      const index = stack.map((open) => open.name).lastIndexOf(name ?? '');
      if (index >= 0) stack.length = index;
    } else {
      stack.push({ name: name ?? '', start: match.index, end: match.index + text.length });
    }
  }
  const last = stack.at(-1);
  return last;
}

function offsetInBody(body: string, line: number, column: number): number {
  let offset = 0;
  for (let current = 1; current < line; current++) {
    const next = body.indexOf('\n', offset);
    if (next < 0) return body.length;
    offset = next + 1;
  }
  return Math.min(offset + column, body.length);
}

/**
 * Jison's messages give the line and an excerpt ending at the error ("Parse error on line 2:\n...ab {{#if\n---^").
 * The excerpt has its newlines removed, so search the given line for the place whose preceding text ends with it.
 */
function locateJisonError(message: string, body: string): number {
  const match = /^Parse error on line (\d+):\n(.*)\n(-*)\^/.exec(message);
  if (!match) return 0;
  const line = Number(match[1]);
  const excerpt = match[2] ?? '';
  const caret = (match[3] ?? '').length;
  let before = excerpt.slice(0, caret);
  if (before.startsWith('...')) before = before.slice(3);
  const lineStart = offsetInBody(body, line, 0);
  const lineEndRaw = body.indexOf('\n', lineStart);
  const lineEnd = lineEndRaw < 0 ? body.length : lineEndRaw;
  for (let candidate = lineEnd; candidate >= lineStart; candidate--) {
    const preceding = body.slice(Math.max(0, candidate - before.length - 40), candidate).replace(/\r?\n/g, '');
    if (preceding.endsWith(before)) return candidate;
  }
  return lineStart;
}

function summarizeHandlebarsMessage(message: string): string {
  const expecting = /Expecting (.*), got '([^']+)'/.exec(message);
  if (expecting) {
    const got = expecting[2] === 'EOF' ? 'the end of the template' : `'${expecting[2]}'`;
    const wanted = (expecting[1] ?? '').split(', ').map((token) => token.replace(/'/g, ''));
    if (wanted.includes('OPEN_ENDBLOCK')) return `a block is not closed (found ${got}; expected a closing {{/…}})`;
    if (wanted.includes('CLOSE')) return `an expression is not closed with '}}' (found ${got})`;
    return `unexpected ${got}`;
  }
  const mismatch = /^(\S+) doesn't match (\S+)/.exec(message);
  if (mismatch) return `{{#${mismatch[1]}}} is closed by {{/${mismatch[2]}}}`;
  return message.split('\n')[0] ?? message;
}
