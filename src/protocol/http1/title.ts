/**
 * gor's definition of "this payload starts with an HTTP/1 request (or response) line" (spec §7.5, §8.5).
 * The modifiers, the header helpers and capture completion all depend on it, so it is reproduced byte for byte,
 * including its strictness: known methods only, HTTP/1.0 or 1.1 only, CRLF required, known status codes only.
 * The splitter does NOT use it; it has its own lenient recogniser in `start-line.ts`.
 */

import { CR, CRLF, LF, SP } from './bytes.js';
import { isKnownStatus } from './status-codes.js';

/** The methods gor accepts (Go's net/http constants), exact and upper-case. */
export const GOR_METHODS: readonly string[] = [
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
];
const METHOD_BYTES = GOR_METHODS.map((m) => Buffer.from(m, 'latin1'));

/** `GET / HTTP/1.1\r\n` is the shortest request gor recognises. */
const MIN_REQUEST = 16;
/** `HTTP/1.1 200\r\n` is the shortest response gor recognises. */
const MIN_RESPONSE = 14;
const VERSION_LEN = 8;

/** Go's `http.ParseHTTPVersion` followed by gor's `major == 1 && minor in {0, 1}`: exactly HTTP/1.0 or HTTP/1.1. */
function isHttp10or11(buf: Uint8Array, s: number, e: number): boolean {
  if (e - s !== VERSION_LEN) return false;
  // "HTTP/1." then '0' or '1'
  return (
    buf[s] === 0x48 &&
    buf[s + 1] === 0x54 &&
    buf[s + 2] === 0x54 &&
    buf[s + 3] === 0x50 &&
    buf[s + 4] === 0x2f &&
    buf[s + 5] === 0x31 &&
    buf[s + 6] === 0x2e &&
    (buf[s + 7] === 0x30 || buf[s + 7] === 0x31)
  );
}

/** Index in GOR_METHODS of `buf[0, end)`, or -1. */
function gorMethodIndex(buf: Buffer, end: number): number {
  // Byte loops, not Buffer.compare: this runs for every replayed and captured request, and a native call per
  // candidate method cost more than the comparison.
  for (let m = 0; m < METHOD_BYTES.length; m++) {
    const bytes = METHOD_BYTES[m]!;
    if (bytes.length !== end) continue;
    let i = 0;
    while (i < end && buf[i] === bytes[i]) i++;
    if (i === end) return m;
  }
  return -1;
}

/**
 * gor's `HasRequestTitle`: ≥ 16 bytes, a CRLF somewhere, exactly two spaces before the first CRLF, a known
 * method before the first space, and `HTTP/1.0`/`HTTP/1.1` between the second space and the CRLF.
 */
export function hasRequestTitle(payload: Buffer): boolean {
  return requestTitleEnd(payload) !== -1;
}

/**
 * Where the first CRLF of a payload with a valid gor request title starts (the title's length), else -1.
 * One pass over the title finds the CRLF and both spaces (a third space ends it early: gor would say no).
 */
export function requestTitleEnd(payload: Buffer): number {
  const n = payload.length;
  if (n < MIN_REQUEST) return -1;
  let sp1 = -1;
  let sp2 = -1;
  let i = 0;
  for (; i < n - 1; i++) {
    const c = payload[i]!;
    if (c === SP) {
      if (sp1 === -1) sp1 = i;
      else if (sp2 === -1) sp2 = i;
      else return -1;
    } else if (c === CR && payload[i + 1] === LF) {
      break;
    }
  }
  if (i >= n - 1 || sp2 === -1) return -1;
  if (gorMethodIndex(payload, sp1) === -1) return -1;
  return isHttp10or11(payload, sp2 + 1, i) ? i : -1;
}

/**
 * The method of a payload with a valid gor request title, as one of the GOR_METHODS strings (no new string
 * per call), or null when the payload has no such title.
 */
export function requestTitleMethod(payload: Buffer): string | null {
  if (requestTitleEnd(payload) === -1) return null;
  return GOR_METHODS[gorMethodIndex(payload, payload.indexOf(SP))]!;
}

/**
 * gor's `HasResponseTitle`: ≥ 14 bytes, a CRLF somewhere (not necessarily ending the first line),
 * `HTTP/1.0 ` or `HTTP/1.1 `, three decimal digits forming a status Go knows, then a space or CR.
 */
export function hasResponseTitle(payload: Buffer): boolean {
  if (payload.length < MIN_RESPONSE) return false;
  if (payload.indexOf(CRLF) === -1) return false;
  if (!isHttp10or11(payload, 0, VERSION_LEN)) return false;
  if (payload[VERSION_LEN] !== SP) return false;
  let status = 0;
  for (let i = VERSION_LEN + 1; i < VERSION_LEN + 4; i++) {
    const d = payload[i]! - 0x30;
    if (d < 0 || d > 9) return false;
    status = status * 10 + d;
  }
  if (!isKnownStatus(status)) return false;
  // "handle cases from #875": the code must be followed by a space or the end of the line.
  const after = payload[VERSION_LEN + 4];
  return after === SP || after === CR;
}

/** gor's `HasTitle`: either kind of start line. */
export function hasTitle(payload: Buffer): boolean {
  return hasRequestTitle(payload) || hasResponseTitle(payload);
}
