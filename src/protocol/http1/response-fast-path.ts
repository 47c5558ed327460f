/**
 * The replay client's shortcut for the common answer: a whole response in one read, with a plain status line,
 * CRLF header lines and one Content-Length. `simpleResponseLength` returns its length so the caller can skip
 * the general ResponseSplitter; anything else (1xx, 204/304, chunked or close-delimited bodies, obs-fold,
 * bare LF, odd spacing, repeated or invalid Content-Length, a response split across reads) returns -1, and
 * the caller feeds the bytes to the splitter, whose result for what this accepts is the same (tested against
 * it in response-fast-path.test.ts).
 *
 *   HTTP/1.x SP ddd [SP reason] CRLF        status ≥ 200, not 204 or 304; no control bytes in the line
 *   (name ":" value CRLF)*                 no whitespace before ':', no line starting with SP/HT
 *   CRLF                                   head ≤ MAX_HEAD bytes
 *   body of exactly Content-Length bytes   (none for an answer to HEAD)
 */

import { CR, CRLFCRLF, HT, LF, lowerByte, SP } from './bytes.js';

/** Longer heads go to the splitter (its own limit is far above this). */
const MAX_HEAD = 16 * 1024;
/** More digits than this is not a length we take on the fast path. */
const MAX_DIGITS = 15;
const CONTENT_LENGTH = Uint8Array.from(Buffer.from('content-length', 'latin1'));
const TRANSFER_ENCODING = Uint8Array.from(Buffer.from('transfer-encoding', 'latin1'));

/**
 * Length of the simple response starting at `buf[start]` and complete within `buf[start, end)`, or -1 when it
 * is not that simple or not complete there. `noBody`: it answers a HEAD request.
 */
export function simpleResponseLength(buf: Buffer, start: number, end: number, noBody: boolean): number {
  const status = simpleStatus(buf, start, end);
  if (status < 200 || status === 204 || status === 304) return -1;
  const blank = buf.indexOf(CRLFCRLF, start);
  if (blank === -1 || blank + 4 > end || blank - start > MAX_HEAD) return -1;
  // Status line: up to its CRLF, no other control bytes.
  let i = start + 12;
  while (i < blank && buf[i] !== CR) {
    const c = buf[i]!;
    if ((c < 0x20 && c !== HT) || c === 0x7f) return -1;
    i++;
  }
  if (buf[i + 1] !== LF) return -1;
  let length = -1;
  // Header lines: [line, eol) with eol at a CR that a LF follows.
  for (let line = i + 2; line < blank + 2; ) {
    const first = buf[line]!;
    if (first === SP || first === HT) return -1;
    let colon = -1;
    let eol = line;
    for (; eol < blank + 2; eol++) {
      const c = buf[eol]!;
      if (c === CR) break;
      if (c === LF) return -1;
      if (c === 0x3a && colon === -1) colon = eol;
    }
    if (buf[eol] !== CR || buf[eol + 1] !== LF || colon <= line) return -1;
    const last = buf[colon - 1]!;
    if (last === SP || last === HT) return -1;
    const nameLength = colon - line;
    if (nameLength === CONTENT_LENGTH.length && equalsLower(buf, line, CONTENT_LENGTH)) {
      if (length !== -1) return -1;
      length = decimal(buf, colon + 1, eol);
      if (length < 0) return -1;
    } else if (nameLength === TRANSFER_ENCODING.length && equalsLower(buf, line, TRANSFER_ENCODING)) {
      return -1;
    }
    line = eol + 2;
  }
  if (length === -1) return -1;
  const total = blank + 4 - start + (noBody ? 0 : length);
  return start + total <= end ? total : -1;
}

/** The status code of a plain `HTTP/1.x ddd` line at `start` (then SP or CR), or -1. */
export function simpleStatus(buf: Buffer, start: number, end: number): number {
  if (end - start < 16) return -1;
  if (
    buf[start] !== 0x48 ||
    buf[start + 1] !== 0x54 ||
    buf[start + 2] !== 0x54 ||
    buf[start + 3] !== 0x50 ||
    buf[start + 4] !== 0x2f ||
    buf[start + 5] !== 0x31 ||
    buf[start + 6] !== 0x2e ||
    (buf[start + 7] !== 0x30 && buf[start + 7] !== 0x31) ||
    buf[start + 8] !== SP
  ) {
    return -1;
  }
  let status = 0;
  for (let i = start + 9; i < start + 12; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    status = status * 10 + d;
  }
  const after = buf[start + 12];
  return after === SP || after === CR ? status : -1;
}

/** `buf[at…]` equals the lower-case name `lower`, ASCII case aside (a header name test). */
export function equalsLower(buf: Buffer, at: number, lower: Uint8Array): boolean {
  for (let i = 0; i < lower.length; i++) if (lowerByte(buf[at + i]!) !== lower[i]) return false;
  return true;
}

/** `buf[s, e)` as optional SP/HT, 1–15 digits, optional SP/HT; else -1 (a plain Content-Length value). */
export function decimal(buf: Buffer, s: number, e: number): number {
  while (s < e && (buf[s] === SP || buf[s] === HT)) s++;
  while (e > s && (buf[e - 1] === SP || buf[e - 1] === HT)) e--;
  if (e === s || e - s > MAX_DIGITS) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
