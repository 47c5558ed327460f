/**
 * The contract every gor filter and rewrite implements. One `Modifier` stands for one `--http-*` flag with all
 * its values (gor applies, say, every `--http-allow-url` together: "drop unless any matches"). `index.ts` runs
 * them in gor's fixed order on requests that have a valid HTTP/1 request line; anything else is not touched.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { redactFlagValue } from '../core/redact.js';
import { GoRegexp, GoRegexpError } from './go-regexp.js';

export interface Modifier {
  /** The flag this step comes from, without dashes: `http-allow-url`. */
  readonly flag: string;
  /** What it does, for logs: `keep requests whose target matches ^/api/`. */
  readonly description: string;
  /** Requests this step dropped (for rewrites: only a `--http-rewrite-url` that would leave the target empty). */
  dropped: number;
  /** Things about the flag values to tell the user at start (each names flag and value); they change nothing. */
  readonly warnings?: readonly string[];
  /**
   * The payload, edited or not, or null to drop the request. Called only for payloads with a gor request title
   * (spec §7.5); must not throw on any bytes.
   */
  apply(payload: Buffer): Buffer | null;
}

/** A usage error (exit 2) naming the flag and the value at fault. */
export function flagError(flag: string, value: string, message: string, cause?: unknown): TaplineError {
  // A credential in the value (--http-set-header 'Authorization: …') is not printed (docs/errors.md).
  const shown = redactFlagValue(flag, value);
  return new TaplineError(ERROR_CODES.USAGE, message, { where: `--${flag} ${JSON.stringify(shown)}`, cause });
}

/** What Go's `unicode.IsSpace` calls white space (JS's `trim()` differs: it strips U+FEFF, keeps U+0085). */
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const GO_SPACE_AROUND = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'g');

/** Go's `strings.TrimSpace`, which gor applies to the parts of its `Name: value` / `name=value` flags. */
export function goTrimSpace(s: string): string {
  return s.replace(GO_SPACE_AROUND, '');
}

/**
 * An empty regexp, as a shell variable that expanded to nothing gives it (`--http-disallow-url "$SKIP"`): it
 * matches every input. Kept, as gor keeps it, and said at start with what it does.
 */
export function emptyPatternWarnings(
  flag: string,
  values: readonly string[],
  effect: string,
  patternOf = (value: string) => value,
): string[] {
  return values
    .filter((value) => patternOf(value) === '')
    .map((value) => `--${flag} ${JSON.stringify(value)}: an empty regexp matches everything: ${effect}`);
}

/** Splits at the first `sep`, as Go's `strings.SplitN(value, sep, 2)`; null when `sep` is absent. */
export function splitFirst(value: string, sep: string): [string, string] | null {
  const at = value.indexOf(sep);
  return at === -1 ? null : [value.slice(0, at), value.slice(at + sep.length)];
}

/**
 * Compiles a Go regexp from a flag value, turning syntax problems into usage errors. `hint` is added to the
 * message (for a value split at a separator the regexp may have held: see splitHint).
 */
export function flagRegexp(flag: string, value: string, pattern: string, hint = ''): GoRegexp {
  try {
    return new GoRegexp(pattern);
  } catch (err) {
    const why = err instanceof GoRegexpError ? `${err.message} (at ${err.construct})` : (err as Error).message;
    throw flagError(flag, value, `regexp ${JSON.stringify(pattern)}: ${why}${hint}`, err);
  }
}

/**
 * For `regexp<sep>replacement` values (--http-rewrite-url splits at the first `:`, --http-rewrite-header at the
 * first `,`): when the replacement holds `sep` too, the regexp was probably cut at one of its own, so say so.
 */
export function splitHint(sep: ':' | ',', replacement: string): string {
  if (!replacement.includes(sep)) return '';
  const written = sep === ':' ? '\\x3a' : '\\x2c';
  const group = sep === ':' ? '; a group (?:…) or (?i:…) cannot be written here: use (…) or a leading (?i)' : '';
  return `. The value is split at its first ${JSON.stringify(sep)} (as gor splits it), so the regexp cannot contain one: write ${written} for it${group}`;
}
