// Credentials inside URLs (`http://user:pw@host`, `?api-key=…`) must never reach output, logs or stored files.

/** Query parameter names that carry secrets (compared lowercased, without `-` and `_`). */
const SECRET_PARAMETER = /key|token|secret|passw|pwd|^pass$|^sig$|signature|auth|credential|session|^code$/;

const MASK = '***';

/** A URL-looking token in free text: scheme, `://`, then anything up to whitespace or a quote, less closing punctuation. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]*[^\s"'<>`.,;:!?)\]]/gi;

function isSecretParameter(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // A malformed escape: judge the raw name.
  }
  return SECRET_PARAMETER.test(decoded.toLowerCase().replace(/[-_.\s]/g, ''));
}

/**
 * `url` with its userinfo (`user:password@`) replaced by `***@` and the values of secret-looking query
 * parameters by `***`. Textual, so anything else in the string (and strings that are no URL) stays as is.
 */
export function redactUrl(url: string): string {
  // Up to the last `@` before the path: an unescaped `@` in a password must not leave its tail.
  const userinfo = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/i;
  let redacted = url.replace(userinfo, `$1${MASK}@`);
  const query = redacted.indexOf('?');
  if (query >= 0) {
    const fragment = redacted.indexOf('#', query);
    const end = fragment >= 0 ? fragment : redacted.length;
    const parameters = redacted
      .slice(query + 1, end)
      .split(/([&;])/)
      .map((part) => {
        const equals = part.indexOf('=');
        return equals > 0 && isSecretParameter(part.slice(0, equals)) ? `${part.slice(0, equals)}=${MASK}` : part;
      })
      .join('');
    redacted = `${redacted.slice(0, query + 1)}${parameters}${redacted.slice(end)}`;
  }
  return redacted;
}

/** `text` with every URL in it passed through `redactUrl` (error messages can echo the URL they failed on). */
export function redactSecrets(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => redactUrl(url));
}
