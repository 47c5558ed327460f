/**
 * `--http-param-limiter name:N%` (spec §7.6 step 10): keep N% of requests, chosen consistently by the raw value
 * of a query parameter (see hash-limit.ts). A present parameter counts even when empty; a missing one passes.
 */
import { pathParam } from '../protocol/http1/index.js';
import { parseHashLimit, passesHashLimit } from './hash-limit.js';
import type { Modifier } from './modifier.js';

const FLAG = 'http-param-limiter';

export function paramLimiter(values: readonly string[]): Modifier {
  const limits = values.map((v) => parseHashLimit(FLAG, v));
  return {
    flag: FLAG,
    description: `sample by query parameter ${limits.map((l) => `${l.name} ${l.percent}%`).join(', ')}`,
    dropped: 0,
    apply(payload) {
      for (const limit of limits) {
        const value = pathParam(payload, limit.name);
        if (value !== null && !passesHashLimit(value, limit.percent)) return null;
      }
      return payload;
    },
  };
}
