/**
 * `--http-disallow-header Name:REGEXP` (spec §7.6 step 7): drop a request when any rule's header is present, not
 * empty and matches. Header names are compared case-insensitively.
 */
import { headerValue } from '../protocol/http1/index.js';
import { parseHeaderRule } from './header-rule.js';
import type { Modifier } from './modifier.js';

const FLAG = 'http-disallow-header';

export function disallowHeader(values: readonly string[]): Modifier {
  const rules = values.map((v) => parseHeaderRule(FLAG, v));
  return {
    flag: FLAG,
    description: `drop requests whose headers match ${values.join(' or ')}`,
    dropped: 0,
    apply(payload) {
      for (const rule of rules) {
        const value = headerValue(payload, rule.name);
        if (value.length > 0 && rule.regexp.matches(value)) return null;
      }
      return payload;
    },
  };
}
