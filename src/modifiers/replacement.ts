/**
 * A regexp and its replacement template, as `--http-rewrite-url` and `--http-rewrite-header` take them. A
 * template may not refer to a group nested in a repeated group (`(?:(a)|b)+`): JS forgets such a group's value
 * at each repetition while Go keeps the last one, so the rewrite would differ. That is refused here.
 */
import { type GoRegexp, parseTemplate, type Template } from './go-regexp.js';
import { flagError, flagRegexp } from './modifier.js';

export interface Replacement {
  readonly regexp: GoRegexp;
  readonly template: Template;
}

/**
 * `literal` checks the template's own text (not what its groups expand to, which comes from the request): the
 * caller passes checkTargetText or checkHeaderText (wire-syntax.ts), so a rewrite cannot break the request.
 */
export function parseReplacement(
  flag: string,
  value: string,
  pattern: string,
  template: string,
  literal: (flag: string, value: string, text: string, what: string) => void,
): Replacement {
  const regexp = flagRegexp(flag, value, pattern);
  const parsed = parseTemplate(template);
  literal(flag, value, parsed.parts.filter((p) => typeof p === 'string').join(''), 'the replacement');
  for (const part of parsed.parts) {
    if (typeof part === 'string') continue;
    const index = regexp.groupIndex(part.group);
    if (regexp.translation.capturesInRepeat.has(index)) {
      throw flagError(
        flag,
        value,
        `the replacement uses $${part.group}, a group inside a repeated group; Go keeps its last value where ` +
          'JavaScript clears it, so the result would differ from gor. Capture the repetition as a whole instead',
      );
    }
  }
  return { regexp, template: parsed };
}
