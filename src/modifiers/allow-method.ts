/**
 * `--http-allow-method` (spec §7.6 step 1): drop requests whose method is not one of the listed ones (exact bytes).
 * The filters only see requests whose method is one of gor's nine (upper case), so a value outside them (`get`,
 * `PROPFIND`, an empty one) can never match: kept as gor keeps it, but warned of.
 */
import { GOR_METHODS, method } from '../protocol/http1/index.js';
import type { Modifier } from './modifier.js';

const FLAG = 'http-allow-method';

export function allowMethod(values: readonly string[]): Modifier {
  const allowed = values.map((v) => Buffer.from(v, 'utf8'));
  return {
    flag: FLAG,
    description: `keep only methods ${values.join(', ')}`,
    dropped: 0,
    warnings: values
      .filter((v) => !GOR_METHODS.includes(v))
      .map(
        (v) =>
          `--${FLAG} ${JSON.stringify(v)}: no request the filters see has this method (they see ` +
          `${GOR_METHODS.join(' ')}, exact case; other requests pass unfiltered): it matches nothing`,
      ),
    apply(payload) {
      const m = method(payload);
      return allowed.some((a) => a.equals(m)) ? payload : null;
    },
  };
}
