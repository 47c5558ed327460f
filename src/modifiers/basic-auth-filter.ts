/**
 * `--http-basic-auth-filter REGEXP` (spec §7.6 step 8): when the Authorization value starts with `Basic `
 * (case-sensitive), base64-decode the rest (Go's decoder; a corrupt credential keeps what decoded before the
 * error) and drop the request unless every regexp matches the decoded `user:pass`. A missing header or another
 * scheme passes.
 */
import { headerValue } from '../protocol/http1/index.js';
import { goBase64Decode } from './go-base64.js';
import { emptyPatternWarnings, flagRegexp, type Modifier } from './modifier.js';

const FLAG = 'http-basic-auth-filter';
const BASIC = Buffer.from('Basic ', 'latin1');
const AUTHORIZATION = Buffer.from('Authorization', 'latin1');

export function basicAuthFilter(values: readonly string[]): Modifier {
  const patterns = values.map((v) => flagRegexp(FLAG, v, v));
  return {
    flag: FLAG,
    description: `keep Basic credentials matching ${values.join(' and ')}`,
    dropped: 0,
    warnings: emptyPatternWarnings(FLAG, values, 'it keeps every request (and the other values decide)'),
    apply(payload) {
      const auth = headerValue(payload, AUTHORIZATION);
      if (auth.length < BASIC.length || !auth.subarray(0, BASIC.length).equals(BASIC)) return payload;
      const credentials = goBase64Decode(auth.subarray(BASIC.length));
      return patterns.every((re) => re.matches(credentials)) ? payload : null;
    },
  };
}
