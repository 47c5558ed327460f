/**
 * `--http-set-param name=value` (spec §7.6 step 3, §7.7): replace the raw value of query parameter `name` (an
 * `&name=` occurrence wins over `?name=`), or append `?name=value` / `&name=value`. No URL encoding, as gor.
 */
import { setPathParam } from '../protocol/http1/index.js';
import { flagError, goTrimSpace, type Modifier, splitFirst } from './modifier.js';
import { checkTargetText } from './wire-syntax.js';

const FLAG = 'http-set-param';

export function setParams(values: readonly string[]): Modifier {
  const params = values.map((value) => {
    const parts = splitFirst(value, '=');
    if (!parts) throw flagError(FLAG, value, 'expected `name=value` (an = is missing)');
    const [name, text] = [goTrimSpace(parts[0]), goTrimSpace(parts[1])];
    checkTargetText(FLAG, value, name, 'the name');
    checkTargetText(FLAG, value, text, 'the value');
    return { name: Buffer.from(name), value: Buffer.from(text) };
  });
  return {
    flag: FLAG,
    description: `set query parameters ${params.map((p) => p.name).join(', ')}`,
    dropped: 0,
    apply(payload) {
      let out = payload;
      for (const p of params) out = setPathParam(out, p.name, p.value);
      return out;
    },
  };
}
