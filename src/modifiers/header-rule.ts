/**
 * The `Name:regexp` value of `--http-allow-header` and `--http-disallow-header` (spec §7.7): split at the first
 * colon; the name is taken as written (not trimmed, as gor), the regexp is trimmed. A name no well-formed header
 * has (`'User-Agent :curl'` names `User-Agent `) is a usage error: gor's rule would silently never match.
 */
import type { GoRegexp } from './go-regexp.js';
import { flagError, flagRegexp, goTrimSpace, splitFirst } from './modifier.js';
import { checkLookedUpName } from './wire-syntax.js';

export interface HeaderRule {
  /** Encoded once: the header helpers compare bytes. */
  readonly name: Buffer;
  readonly regexp: GoRegexp;
}

export function parseHeaderRule(flag: string, value: string): HeaderRule {
  const parts = splitFirst(value, ':');
  if (!parts) throw flagError(flag, value, 'need both header and regexp, colon-delimited (e.g. User-Agent:^curl)');
  checkLookedUpName(flag, value, parts[0]);
  return { name: Buffer.from(parts[0]), regexp: flagRegexp(flag, value, goTrimSpace(parts[1])) };
}
