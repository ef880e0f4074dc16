import { renderTemplate } from './render';
import { LineIndex } from './text';
import type { Case, Diagnostic, Fix, PromptDocument, Range } from './types';

// Checks that need every case (the datasets' too) or a rendered prompt, run by loadPrompt after parsing.

/** At most this many distinct expected values are offered as `choices`; more reads as free text. */
export const MAX_SUGGESTED_CHOICES = 8;
/** Cases whose prompt is rendered to look for empty ones: the inline cases first, then dataset rows. */
export const MAX_RENDER_CHECKED_CASES = 50;

const LETTER = /^[A-E]$/i;

/**
 * `extract: choice` without `choices` reads only the letters A–E. A hint when every expected value is such a
 * letter; a warning naming the expected values that can never match otherwise, with `choices` to write.
 */
export function checkChoiceDefault(document: PromptDocument, cases: readonly Case[], text: string): Diagnostic | undefined {
  const spec = document.extract;
  if (spec.type !== 'choice' || (spec.choices && spec.choices.length > 0) || !spec.range) return undefined;
  const distinct = new Map<string, string>();
  for (const testCase of cases) {
    const expected = testCase.expected;
    if (typeof expected !== 'string' && typeof expected !== 'number' && typeof expected !== 'boolean') continue;
    const value = String(expected).trim();
    if (value !== '' && !distinct.has(value.toLowerCase())) distinct.set(value.toLowerCase(), value);
    // Enough to tell letters from words; a 5,000-row dataset need not be read to the end for more.
    if (distinct.size > 100) break;
  }
  const never = [...distinct.values()].filter((value) => !LETTER.test(value));
  const range = spec.range;
  if (never.length === 0) {
    return {
      range,
      severity: 'hint',
      code: 'choice-default-letters',
      message: "'extract: choice' without 'choices' reads the letters A–E. List 'choices' when the answers are other words.",
    };
  }
  const shown = never.slice(0, MAX_SUGGESTED_CHOICES).join(', ') + (never.length > MAX_SUGGESTED_CHOICES ? ', …' : '');
  const all = [...distinct.values()];
  if (all.length > MAX_SUGGESTED_CHOICES) {
    return {
      range,
      severity: 'warning',
      code: 'choice-default-letters',
      message: `'extract: choice' without 'choices' reads only the letters A–E, so the expected values ${shown} never match. List the answers in 'choices', or use a 'text' or 'line' extractor for free-text answers.`,
    };
  }
  const list = `[${all.map(flowScalar).join(', ')}]`;
  const fix = choicesFix(text, range, list);
  return {
    range,
    severity: 'warning',
    code: 'choice-default-letters',
    message: `'extract: choice' without 'choices' reads only the letters A–E, so the expected value${never.length === 1 ? '' : 's'} ${shown} never match${never.length === 1 ? 'es' : ''}. Write 'extract: {type: choice, choices: ${list}}'.`,
    ...(fix ? { fix } : {}),
  };
}

/** A value as written in a YAML flow list: bare when it reads back as the same string, else double-quoted. */
function flowScalar(value: string): string {
  return /^[\p{L}_][\p{L}\p{N}_ -]*$/u.test(value) && !/\s$/.test(value) && !/^(?:true|false|null|y|n|yes|no|on|off)$/i.test(value)
    ? value
    : JSON.stringify(value);
}

/** Adds `choices` to the extractor as written: `choice` becomes a flow mapping; a mapping gets one more key. */
function choicesFix(text: string, range: Range, list: string): Fix | undefined {
  const index = new LineIndex(text);
  const start = index.offsetAt(range.start);
  const end = index.offsetAt(range.end);
  const written = text.slice(start, end);
  const title = `Add choices: ${list}`;
  if (written === 'choice') return { title, range, replacement: `{type: choice, choices: ${list}}` };
  if (written.startsWith('{') && written.endsWith('}')) {
    const at = index.positionAt(end - 1);
    return { title, range: { start: at, end: at }, replacement: `, choices: ${list}` };
  }
  if (/^type\s*:/m.test(written) && !written.includes('\n\t')) {
    // A block mapping: one more line at the indentation of its first key.
    return { title, range: { start: range.end, end: range.end }, replacement: `\n${' '.repeat(range.start.character)}choices: ${list}` };
  }
  return undefined;
}

/**
 * Cases whose prompt renders empty (every message blank): the template body is empty, or the variables it
 * reads are empty for that case. Renders only the first MAX_RENDER_CHECKED_CASES cases (inline ones first).
 */
export async function checkEmptyPrompts(document: PromptDocument, cases: readonly Case[]): Promise<Diagnostic[]> {
  if (cases.length === 0) return [];
  if (document.template.trim() === '') {
    const at = { line: document.templateLine, character: 0 };
    return [
      {
        range: { start: at, end: at },
        severity: 'warning',
        code: 'empty-prompt',
        message: "The template body is empty: every case's prompt is empty. Write the prompt after the frontmatter's closing '---'.",
      },
    ];
  }
  const diagnostics: Diagnostic[] = [];
  const variables = [...new Set(document.templateVariables.map((variable) => variable.name))];
  for (const testCase of cases.slice(0, MAX_RENDER_CHECKED_CASES)) {
    const vars = { ...document.inputDefaults, ...testCase.input };
    let blank: boolean;
    try {
      blank = (await renderTemplate(document.template, vars)).every((message) => message.content.trim() === '');
    } catch {
      // A template that does not render is reported by the template checks.
      return diagnostics;
    }
    if (!blank) continue;
    const empty = variables.filter((name) => {
      const value = vars[name];
      return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
    });
    const label = testCase.name ? `Case '${testCase.name}'` : testCase.origin ? `Dataset row ${testCase.id}` : `Case ${testCase.id}`;
    const because = empty.length > 0 ? ` (${empty.join(', ')} ${empty.length === 1 ? 'is' : 'are'} empty)` : '';
    const diagnostic: Diagnostic = {
      range: testCase.range,
      severity: 'warning',
      code: 'empty-prompt',
      message: `${label} renders an empty prompt${because}: the model is asked nothing.`,
    };
    if (testCase.origin) {
      const line = testCase.origin.line - 1;
      diagnostic.range = { start: { line, character: 0 }, end: { line, character: Number.MAX_SAFE_INTEGER } };
      diagnostic.file = testCase.origin.file;
    }
    diagnostics.push(diagnostic);
  }
  return diagnostics;
}
