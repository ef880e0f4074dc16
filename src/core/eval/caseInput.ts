// A case's inputs (its template variables) in one short line, for the matrix's case column and its
// search. Pure and import-free: the webview bundles it with splitResult.

/** The most characters a preview has, ellipsis included: a cell summary stays small whatever the inputs hold. */
export const INPUT_PREVIEW_LENGTH = 120;

/** A value as text on one line: strings as written, anything else as JSON; whitespace runs become one space. */
function oneLine(value: unknown, max: number): { text: string; cut: boolean } {
  const full = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  // Bounded work: a long document is looked at only as far as it could show.
  const head = full.length > max * 4 ? full.slice(0, max * 4) : full;
  return { text: head.replace(/\s+/g, ' ').trim(), cut: head.length < full.length };
}

/**
 * `question: 6 + 1 = … · unit: km`: the inputs in their order (a dataset's template variables first, as
 * loaded), cut to `max` characters with an ellipsis. Empty for a case without inputs.
 */
export function inputPreview(input: Readonly<Record<string, unknown>>, max = INPUT_PREVIEW_LENGTH): string {
  const parts: string[] = [];
  let length = 0;
  let more = false;
  for (const [name, value] of Object.entries(input)) {
    if (length > max) {
      more = true;
      break;
    }
    const { text, cut } = oneLine(value, max);
    const part = `${name}: ${text}`;
    parts.push(part);
    length += part.length + 3;
    if (cut) {
      more = true;
      break;
    }
  }
  const joined = parts.join(' · ');
  if (!more && joined.length <= max) return joined;
  if (joined.length <= max - 1) return `${joined}…`;
  // Never half a surrogate pair: an emoji cut in two would show as garbage.
  const end = /[\uD800-\uDBFF]/.test(joined.charAt(max - 2)) ? max - 2 : max - 1;
  return `${joined.slice(0, end).trimEnd()}…`;
}
