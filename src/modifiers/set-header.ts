/**
 * `--http-set-header 'Name: value'` (spec §7.6 step 2, §7.7): replace the value of the first header with that name
 * (any case; surrounding spaces kept) or insert `Name: value\r\n` right after the request line. Headers set in
 * sequence are therefore inserted in reverse order, as gor does. Unlike gor, a header line in the body is not
 * taken for the header (head-header.ts).
 */
import { splice } from '../protocol/http1/bytes.js';
import { addHeader } from '../protocol/http1/index.js';
import { headHeader } from './head-header.js';
import { flagError, goTrimSpace, type Modifier, splitFirst } from './modifier.js';
import { checkHeaderName, checkHeaderText, framingWarning } from './wire-syntax.js';

const FLAG = 'http-set-header';

export function setHeaders(values: readonly string[]): Modifier {
  const headers = values.map((value) => {
    const parts = splitFirst(value, ':');
    if (!parts) throw flagError(FLAG, value, 'expected `Name: value` (a colon is missing)');
    const [name, text] = [goTrimSpace(parts[0]), goTrimSpace(parts[1])];
    checkHeaderName(FLAG, value, name);
    checkHeaderText(FLAG, value, text, 'the value');
    return { name: Buffer.from(name), value: Buffer.from(text), warning: framingWarning(FLAG, value, name) };
  });
  return {
    flag: FLAG,
    description: `set headers ${headers.map((h) => h.name).join(', ')}`,
    dropped: 0,
    warnings: headers.flatMap((h) => h.warning ?? []),
    apply(payload) {
      let out = payload;
      for (const h of headers) {
        const found = headHeader(out, h.name);
        if (found === null) out = addHeader(out, h.name, h.value);
        else if (!found.value.equals(h.value)) out = splice(out, found.valueStart, found.valueEnd, h.value);
      }
      return out;
    },
  };
}

/**
 * gor turns --http-original-host on when a --http-set-header's name, trimmed as the modifier trims it, is
 * exactly `Host` (case-sensitive: `host: x` sets the header but leaves the target's Host rule alone).
 */
export function setsHostHeader(values: readonly string[]): boolean {
  return values.some((value) => {
    const parts = splitFirst(value, ':');
    return parts !== null && goTrimSpace(parts[0]) === 'Host';
  });
}
