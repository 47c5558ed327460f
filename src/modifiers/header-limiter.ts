/**
 * `--http-header-limiter Name:N%` (spec §7.6 step 9): keep N% of requests, chosen consistently by the header's
 * value (see hash-limit.ts). A request without the header, or with an empty value, passes.
 */
import { headerValue } from '../protocol/http1/index.js';
import { parseHashLimit, passesHashLimit } from './hash-limit.js';
import type { Modifier } from './modifier.js';

const FLAG = 'http-header-limiter';

export function headerLimiter(values: readonly string[]): Modifier {
  const limits = values.map((v) => parseHashLimit(FLAG, v));
  return {
    flag: FLAG,
    description: `sample by header ${limits.map((l) => `${l.name} ${l.percent}%`).join(', ')}`,
    dropped: 0,
    apply(payload) {
      for (const limit of limits) {
        const value = headerValue(payload, limit.name);
        if (value.length > 0 && !passesHashLimit(value, limit.percent)) return null;
      }
      return payload;
    },
  };
}
