/**
 * The header an edit may change: gor's lookup (first line named so, any case), but only when that line is in the
 * head. gor's scan does not stop at the blank line, so `--http-set-header 'X-Token: 1'` on a request whose body
 * holds a line `X-Token: 12345` rewrote the body: the Content-Length or chunk size no longer fit, and gor's replay
 * dropped the request unread (or sent a cut body). The filters keep gor's scan (matching a body line changes no
 * byte); the edits treat a header found only in the body as absent (docs/compat.md).
 *
 * The head ends at its first empty line, as Go's parser reads it: a line is ended by LF with or without a CR, so
 * a head whose header lines end in bare LF (`Host: a\n…\n\n`) ends there too. On such a line gor's value is cut
 * short by one byte (it assumes a CR before the LF), so `--http-set-header 'X: 2'` on `X: 123\n` wrote `X: 23`;
 * the edits take the whole value.
 */
import { type HeaderSpan, header } from '../protocol/http1/index.js';

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

export function headHeader(payload: Buffer, name: Buffer): HeaderSpan | null {
  const found = header(payload, name);
  if (found === null || bodyStartsBefore(payload, found.start)) return null;
  return payload[found.end - 2] === CR ? found : wholeValue(payload, found);
}

/** The value of a line ending in bare LF: from the colon to the LF, trimmed of bytes up to space as gor trims. */
function wholeValue(payload: Buffer, found: HeaderSpan): HeaderSpan {
  let vs = payload.indexOf(COLON, found.start) + 1;
  let ve = found.end - 1;
  while (vs < ve && payload[vs]! <= SPACE) vs++;
  while (ve > vs && payload[ve - 1]! <= SPACE) ve--;
  return { ...found, valueStart: vs, valueEnd: ve, value: payload.subarray(vs, ve) };
}

/** Is there an empty line (LF LF or LF CR LF) ending before `limit`? None yet: all of it is head. */
function bodyStartsBefore(payload: Buffer, limit: number): boolean {
  for (let lf = payload.indexOf(LF); lf !== -1 && lf < limit; lf = payload.indexOf(LF, lf + 1)) {
    const next = payload[lf + 1];
    if (next === LF || (next === CR && payload[lf + 2] === LF)) return true;
  }
  return false;
}
