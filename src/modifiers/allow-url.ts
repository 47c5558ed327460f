/** `--http-allow-url REGEXP` (spec §7.6 step 4): drop requests whose request-target matches none of the regexps. */
import { path } from '../protocol/http1/index.js';
import { emptyPatternWarnings, flagRegexp, type Modifier } from './modifier.js';

const FLAG = 'http-allow-url';

export function allowUrl(values: readonly string[]): Modifier {
  const patterns = values.map((v) => flagRegexp(FLAG, v, v));
  return {
    flag: FLAG,
    description: `keep request targets matching ${values.join(' or ')}`,
    dropped: 0,
    warnings: emptyPatternWarnings(FLAG, values, 'every request is kept, whatever the other --http-allow-url values'),
    apply(payload) {
      const target = path(payload);
      return patterns.some((re) => re.matches(target)) ? payload : null;
    },
  };
}
