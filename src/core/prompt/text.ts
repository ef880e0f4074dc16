import type { Position, Range } from './types';

/** Maps between string offsets and 0-based line/character positions of one text. */
export class LineIndex {
  private readonly lineStarts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    }
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  positionAt(offset: number): Position {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= clamped) low = mid;
      else high = mid - 1;
    }
    return { line: low, character: clamped - (this.lineStarts[low] ?? 0) };
  }

  offsetAt(position: Position): number {
    const start = this.lineStarts[Math.max(0, Math.min(position.line, this.lineStarts.length - 1))] ?? 0;
    return Math.min(start + Math.max(0, position.character), this.text.length);
  }

  range(startOffset: number, endOffset: number): Range {
    return { start: this.positionAt(startOffset), end: this.positionAt(endOffset) };
  }

  /** The range of a whole line without its line break. */
  lineRange(line: number): Range {
    const start = this.lineStarts[line] ?? this.text.length;
    const next = this.lineStarts[line + 1];
    const end = next === undefined ? this.text.length : next - 1;
    return this.range(start, end > start && this.text[end - 1] === '\r' ? end - 1 : end);
  }

  lineText(line: number): string {
    const r = this.lineRange(line);
    return this.text.slice(this.offsetAt(r.start), this.offsetAt(r.end));
  }
}

/** A template variable's value as the text a prompt shows: strings as they are, other values as JSON, none as empty. */
export function variableText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0] ?? 0;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, (previous[j - 1] ?? 0) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length] ?? 0;
}

/** The closest candidate within a distance that still reads as a typo, if any. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  let bestExactDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const distance = editDistance(lower, candidate.toLowerCase());
    // Ties go to the candidate closer in case too: 'stopp' → 'stop', not 'topP'.
    const exactDistance = editDistance(word, candidate);
    if (distance < bestDistance || (distance === bestDistance && exactDistance < bestExactDistance)) {
      best = candidate;
      bestDistance = distance;
      bestExactDistance = exactDistance;
    }
  }
  const allowed = Math.max(1, Math.floor(word.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

export function didYouMean(word: string, candidates: readonly string[]): string {
  const match = closestMatch(word, candidates);
  return match ? ` — did you mean '${match}'?` : '';
}

export interface EncodingProblem {
  kind: 'utf-16' | 'nul' | 'cr-only';
  message: string;
}

/**
 * Why a text, read as UTF-8, is not something to parse: a UTF-16 file (NULs beside every ASCII character,
 * its byte order mark turned into U+FFFD U+FFFD), other NULs, or old Mac CR-only line endings (which
 * YAML splits one way and line numbers another). Undefined when the text is fine; CRLF is fine.
 */
export function encodingProblem(text: string): EncodingProblem | undefined {
  const head = text.slice(0, 4096);
  const bom = head.startsWith('\uFFFD\uFFFD') ? 2 : 0;
  let nuls = 0;
  for (let i = 0; i < head.length; i++) if (head.charCodeAt(i) === 0) nuls++;
  // Line breaks and ASCII in UTF-16 all carry a NUL byte; a lone NUL in UTF-8 text is something else.
  if (nuls > 0 && (bom > 0 || nuls * 4 >= head.length)) {
    const order = head.charCodeAt(bom) === 0 ? 'big-endian' : 'little-endian';
    return { kind: 'utf-16', message: `This file is UTF-16 (${order}), not UTF-8: save it as UTF-8.` };
  }
  const nul = text.indexOf('\0');
  if (nul >= 0)
    return { kind: 'nul', message: `This file has a NUL character (at offset ${nul}): it is not UTF-8 text. Save it as UTF-8.` };
  if (text.includes('\r') && !text.includes('\n')) {
    return { kind: 'cr-only', message: 'This file uses CR-only line endings (classic Mac): save it with LF or CRLF line endings.' };
  }
  return undefined;
}
