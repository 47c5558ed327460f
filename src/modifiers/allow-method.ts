/** `--http-allow-method` (spec §7.6 step 1): drop requests whose method is not one of the listed ones (exact bytes). */
import { method } from '../protocol/http1/index.js';
import type { Modifier } from './modifier.js';

export function allowMethod(values: readonly string[]): Modifier {
  const allowed = values.map((v) => Buffer.from(v, 'utf8'));
  return {
    flag: 'http-allow-method',
    description: `keep only methods ${values.join(', ')}`,
    dropped: 0,
    apply(payload) {
      const m = method(payload);
      return allowed.some((a) => a.equals(m)) ? payload : null;
    },
  };
}
