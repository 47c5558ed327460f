/**
 * `--http-rewrite-url REGEXP:REPLACEMENT` (spec §7.6 step 11, §7.7): the first rule whose regexp matches the
 * request-target replaces every match in it (Go's ReplaceAll, `$1` / `${name}` expansion); later rules are not
 * tried. The value splits at the first colon, so the regexp cannot contain one (the replacement can).
 */
import { path, setPath } from '../protocol/http1/index.js';
import { flagError, type Modifier, splitFirst } from './modifier.js';
import { parseReplacement } from './replacement.js';
import { checkTargetText } from './wire-syntax.js';

const FLAG = 'http-rewrite-url';

export function rewriteUrl(values: readonly string[]): Modifier {
  const rules = values.map((value) => {
    const parts = splitFirst(value, ':');
    if (!parts)
      throw flagError(FLAG, value, 'need both regexp and replacement, colon-delimited (e.g. /v1/(.*):/v2/$1)');
    return parseReplacement(FLAG, value, parts[0], parts[1], checkTargetText);
  });
  return {
    flag: FLAG,
    description: `rewrite request targets (${values.join(', ')})`,
    dropped: 0,
    apply(payload) {
      const target = path(payload);
      for (const rule of rules) {
        const rewritten = rule.regexp.replaceAllIfMatch(target, rule.template);
        if (rewritten !== null) return setPath(payload, rewritten);
      }
      return payload;
    },
  };
}
