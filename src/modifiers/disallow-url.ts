/** `--http-disallow-url REGEXP` (spec §7.6 step 5): drop requests whose request-target matches any of the regexps. */
import { path } from '../protocol/http1/index.js';
import { emptyPatternWarnings, flagRegexp, type Modifier } from './modifier.js';

const FLAG = 'http-disallow-url';

export function disallowUrl(values: readonly string[]): Modifier {
  const patterns = values.map((v) => flagRegexp(FLAG, v, v));
  return {
    flag: FLAG,
    description: `drop request targets matching ${values.join(' or ')}`,
    dropped: 0,
    warnings: emptyPatternWarnings(FLAG, values, 'every request is dropped'),
    apply(payload) {
      const target = path(payload);
      return patterns.some((re) => re.matches(target)) ? null : payload;
    },
  };
}
