/**
 * What a flag value may write into a request. gor copies `--http-set-header`, `--http-set-param` and the
 * literal text of rewrite replacements into the payload unchecked, so `'X: a\r\nEvil: 1'` injects a header,
 * `'X Y: 1'` or `': 1'` writes a line no HTTP parser takes as a header, and a space in a target splits the
 * request line. gor's own output then fails to parse its request and drops it, logged only at --verbose; the
 * other outputs record the malformed bytes. tapline refuses such values before the run (usage error, exit 2),
 * so a modifier can only produce well-formed requests (docs/modifiers.md, docs/compat.md).
 */
import { flagError } from './modifier.js';

/** RFC 9110 token characters: what a header name may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A header name (`--http-set-header`): one or more token characters. */
export function checkHeaderName(
  flag: string,
  value: string,
  name: string,
  why = 'gor would write a line the target cannot read as a header',
): void {
  if (name === '') throw flagError(flag, value, `the header name is empty (${why})`);
  if (TOKEN.test(name)) return;
  const bad = [...name].find((c) => !TOKEN.test(c))!;
  throw flagError(
    flag,
    value,
    `the header name ${JSON.stringify(name)} contains ${describeChar(bad)}; a header name is letters, digits and ` +
      `!#$%&'*+-.^_\`|~ only (${why})`,
  );
}

/**
 * What the header filters, --http-rewrite-header and --http-header-limiter do with a name no well-formed header
 * has: gor takes the name as written (`'User-Agent :curl'` names `User-Agent `), so the rule silently does
 * nothing, or, for --http-allow-header, drops every request.
 */
const NO_SUCH_HEADER: Readonly<Record<string, string>> = {
  'http-allow-header': 'it would drop every request',
  'http-disallow-header': 'it would never drop a request',
  'http-rewrite-header': 'it would rewrite nothing, and stop the --http-rewrite-header rules after it',
  'http-header-limiter': 'it would keep every request',
};

/** The header name a filter or rewrite looks for, taken as written (gor does not trim it): a token. */
export function checkLookedUpName(flag: string, value: string, name: string): void {
  const trimmed = name.trim();
  const hint = trimmed !== name && TOKEN.test(trimmed) ? `; write ${JSON.stringify(trimmed)} without the spaces` : '';
  checkHeaderName(
    flag,
    value,
    name,
    `gor takes the name as written, and no well-formed request has such a header: ${NO_SUCH_HEADER[flag]}${hint}`,
  );
}

/** The query parameter --http-param-limiter looks for: a request-target holds no space or control character. */
export function checkLookedUpParam(flag: string, value: string, name: string): void {
  const why = 'no request-target holds it, so the limiter would keep every request';
  if (name === '') throw flagError(flag, value, `the parameter name is empty (${why})`);
  const bad = [...name].find((c) => c === ' ' || c === '\t' || isControl(c));
  if (bad !== undefined) {
    throw flagError(flag, value, `the parameter name ${JSON.stringify(name)} contains ${describeChar(bad)} (${why})`);
  }
}

/** Text written into a header value: anything but control characters (a tab is allowed). */
export function checkHeaderText(flag: string, value: string, text: string, what: string): void {
  const bad = [...text].find(isControl);
  if (bad === undefined) return;
  throw flagError(flag, value, `${what} contains ${describeChar(bad)}, which would break the request's header lines`);
}

/** Text written into the request-target: no space (it ends the target) and no control character. */
export function checkTargetText(flag: string, value: string, text: string, what: string): void {
  const bad = [...text].find((c) => c === ' ' || c === '\t' || isControl(c));
  if (bad === undefined) return;
  throw flagError(
    flag,
    value,
    `${what} contains ${describeChar(bad)}, which would break the request line; percent-encode it (%20 for a space)`,
  );
}

function isControl(c: string): boolean {
  const code = c.codePointAt(0)!;
  return (code < 0x20 && c !== '\t') || code === 0x7f;
}

function describeChar(c: string): string {
  switch (c) {
    case '\r':
      return 'a carriage return (\\r)';
    case '\n':
      return 'a line feed (\\n)';
    case ' ':
      return 'a space';
    case '\t':
      return 'a tab';
    default: {
      const code = c.codePointAt(0)!;
      return code < 0x80 ? `the byte 0x${code.toString(16).padStart(2, '0')}` : `the character ${JSON.stringify(c)}`;
    }
  }
}

/**
 * Headers that say where the body ends. An edit gives every request the same value whatever its body, so a
 * request whose body does not fit it is malformed from then on: the target waits for bytes that never come or
 * reads the rest as another request (the replay refuses such requests, counted; a file records them as they are).
 */
const FRAMING = new Set(['content-length', 'transfer-encoding']);

/** The warning for an edit of Content-Length or Transfer-Encoding, or null. */
export function framingWarning(flag: string, value: string, name: string): string | null {
  if (!FRAMING.has(name.toLowerCase())) return null;
  const edit =
    flag === 'http-set-header'
      ? 'this gives every request the same one whatever its body'
      : 'this rewrites it without regard to the body';
  return (
    `--${flag} ${JSON.stringify(value)}: ${name} says where each request's body ends, and ${edit}: a request ` +
    'whose body does not fit it is malformed (its replay is not sent, counted as incomplete or as bytes after ' +
    'the request; an --output-file records it as it is), as in gor'
  );
}
