import type { PromptDocument, Range } from './types';

export type SymbolKind = 'module' | 'namespace' | 'field' | 'object' | 'event' | 'string' | 'function';

export interface OutlineSymbol {
  name: string;
  detail: string;
  kind: SymbolKind;
  range: Range;
  selectionRange: Range;
  children: OutlineSymbol[];
}

export interface FoldingRange {
  startLine: number;
  endLine: number;
}

const ROLE_MARKER = /\{\{\s*role\s+["']([^"']+)["']\s*\}\}/;

function preview(value: unknown, length = 40): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > length ? `${oneLine.slice(0, length - 1)}…` : oneLine;
}

function firstValue(input: Record<string, unknown>): unknown {
  return Object.values(input)[0];
}

/** The outline: variants, examples, cases and the template's role sections. */
export function outline(document: PromptDocument): OutlineSymbol[] {
  const symbols: OutlineSymbol[] = [];
  const section = (key: string, kind: SymbolKind, detail: string, children: OutlineSymbol[]): void => {
    const ranges = document.keyRanges[key];
    if (!ranges) return;
    symbols.push({ name: key, detail, kind, range: ranges.full, selectionRange: ranges.key, children });
  };

  if (!document.variantsDefaulted) {
    section(
      'variants',
      'namespace',
      `${document.variants.length}`,
      document.variants.map((variant) => ({
        name: variant.name,
        detail: variant.kind + (variant.k !== undefined ? ` k=${variant.k}` : ''),
        kind: 'function',
        range: variant.range,
        selectionRange: variant.range,
        children: [],
      })),
    );
  }
  section(
    'examples',
    'namespace',
    `${document.examples.length}`,
    document.examples.map((example, i) => ({
      name: `example ${i + 1}`,
      detail: preview(firstValue(example.input)),
      kind: 'object',
      range: example.range,
      selectionRange: example.range,
      children: [],
    })),
  );
  section(
    'cases',
    'namespace',
    `${document.cases.length}`,
    document.cases.map((testCase, i) => ({
      name: testCase.name ?? `case ${i + 1}`,
      detail: testCase.expected !== undefined ? `→ ${preview(testCase.expected, 30)}` : preview(firstValue(testCase.input)),
      kind: 'event',
      range: testCase.range,
      selectionRange: testCase.range,
      children: [],
    })),
  );
  section('dataset', 'namespace', document.datasets.map((dataset) => dataset.path).join(', '), []);

  const body = templateSections(document);
  if (body.length > 0) {
    const first = body[0] as OutlineSymbol;
    const last = body[body.length - 1] as OutlineSymbol;
    const range = { start: first.range.start, end: last.range.end };
    symbols.push({
      name: 'template',
      detail: `${body.length} section${body.length === 1 ? '' : 's'}`,
      kind: 'module',
      range,
      selectionRange: first.selectionRange,
      children: body,
    });
  }
  return symbols;
}

/** Role sections of the body (`{{role "system"}}` …); a body without markers is one user section. */
function templateSections(document: PromptDocument): OutlineSymbol[] {
  const lines = document.template.split('\n');
  const sections: OutlineSymbol[] = [];
  let current: { role: string; line: number; markerLength: number } | undefined;
  let lastContentLine = -1;
  const close = (endLine: number): void => {
    if (!current) return;
    const end = Math.max(current.line, endLine);
    const endText = lines[end - document.templateLine] ?? '';
    sections.push({
      name: current.role,
      detail: 'role',
      kind: 'string',
      range: { start: { line: current.line, character: 0 }, end: { line: end, character: endText.length } },
      selectionRange: { start: { line: current.line, character: 0 }, end: { line: current.line, character: current.markerLength } },
      children: [],
    });
  };
  lines.forEach((text, i) => {
    const line = document.templateLine + i;
    const marker = ROLE_MARKER.exec(text);
    if (marker) {
      close(lastContentLine);
      current = { role: marker[1] ?? 'user', line, markerLength: text.length };
    } else if (text.trim() !== '' && !current) {
      current = { role: 'user', line, markerLength: text.length };
    }
    if (text.trim() !== '') lastContentLine = line;
  });
  close(lastContentLine);
  return sections;
}

/** Folds the frontmatter, multi-line keys, each example and case, and each role section. */
export function foldingRanges(document: PromptDocument): FoldingRange[] {
  const ranges: FoldingRange[] = [];
  const add = (range: Range): void => {
    if (range.end.line > range.start.line) ranges.push({ startLine: range.start.line, endLine: range.end.line });
  };
  if (document.frontmatterRange) add(document.frontmatterRange);
  for (const key of Object.values(document.keyRanges)) add(key.full);
  for (const example of document.examples) add(example.range);
  for (const testCase of document.cases) add(testCase.range);
  for (const section of templateSections(document)) add(section.range);
  return ranges;
}
