/**
 * A regexp and its replacement template, as `--http-rewrite-url` and `--http-rewrite-header` take them. A
 * template may not refer to a group nested in a repeated group (`(?:(a)|b)+`): JS forgets such a group's value
 * at each repetition while Go keeps the last one, so the rewrite would differ. That is refused here. A
 * reference to a group the regexp does not have (`$9` with one group, `$1x`: the group named "1x") expands to
 * nothing, as in Go: kept, but said in `warnings`, since it is almost always a typo.
 */
import { type GoRegexp, parseTemplate, type Template } from './go-regexp.js';
import { flagError, flagRegexp, splitHint } from './modifier.js';

export interface Replacement {
  readonly regexp: GoRegexp;
  readonly template: Template;
  /** What to tell the user at start (a reference to a group the regexp lacks), each naming flag and value. */
  readonly warnings: readonly string[];
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
  separator: ':' | ',',
): Replacement {
  const regexp = flagRegexp(flag, value, pattern, splitHint(separator, template));
  const parsed = parseTemplate(template);
  literal(flag, value, parsed.parts.filter((p) => typeof p === 'string').join(''), 'the replacement');
  const warnings: string[] = [];
  for (const part of parsed.parts) {
    if (typeof part === 'string') continue;
    const index = regexp.groupIndex(part.group);
    if (index < 0) {
      warnings.push(`--${flag} ${JSON.stringify(value)}: ${missingGroup(part.group, regexp)}`);
      continue;
    }
    if (regexp.translation.capturesInRepeat.has(index)) {
      throw flagError(
        flag,
        value,
        `the replacement uses $${part.group}, a group inside a repeated group; Go keeps its last value where ` +
          'JavaScript clears it, so the result would differ from gor. Capture the repetition as a whole instead',
      );
    }
  }
  return { regexp, template: parsed, warnings };
}

function missingGroup(group: number | string, regexp: GoRegexp): string {
  const has = `the regexp has ${regexp.translation.groups} group${regexp.translation.groups === 1 ? '' : 's'}`;
  const lead = /^\d+(?=\D)/.exec(String(group))?.[0];
  const rest = String(group).slice(lead?.length ?? 0);
  const hint = lead ? ` (write \${${lead}}${rest} for group ${lead} followed by "${rest}")` : '';
  const ref = typeof group === 'number' ? `$${group}` : `$${group}, a group named "${group}",`;
  return `the replacement refers to ${ref} but ${has}: it expands to nothing, as in gor${hint}`;
}
