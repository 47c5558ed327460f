/**
 * Parsing of the few header values that decide HTTP/1 message framing (RFC 9112 §6): Content-Length,
 * Transfer-Encoding and comma-separated token lists (Connection). Pure functions over `buf[vs, ve)`, the raw
 * value bytes after the colon; surrounding spaces and tabs are ignored. Used by the splitter on its hot path.
 */

import * as bytes from './bytes.js';

// Local copies: under tsx an imported binding is read through a getter on every access (see splitter.ts).
const { COMMA, HT, SP, equalsLower } = bytes;

/** `parseContentLength` result for a value that is not a decimal number (or a list of them). */
export const CL_INVALID = -1;
/** `parseContentLength` result for a list of different numbers (`5, 6`). */
export const CL_CONFLICT = -2;

/** More digits than this could exceed 2^53; no real body is that long. */
const MAX_DIGITS = 15;

function isWs(b: number | undefined): boolean {
  return b === SP || b === HT;
}

/**
 * Content-Length: one decimal number, or a list of equal ones (`5, 5`, which RFC 9110 §8.6 allows a recipient to
 * accept). Returns the length, `CL_INVALID` or `CL_CONFLICT`.
 */
export function parseContentLength(buf: Uint8Array, vs: number, ve: number): number {
  let value = -1;
  let i = vs;
  while (i <= ve) {
    while (i < ve && isWs(buf[i])) i++;
    let n = 0;
    let digits = 0;
    // Leading zeros are valid (1*DIGIT) and add nothing: only the digits after them are bounded.
    let significant = 0;
    while (i < ve && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
      n = n * 10 + (buf[i]! - 0x30);
      digits++;
      if (n !== 0) significant++;
      i++;
    }
    while (i < ve && isWs(buf[i])) i++;
    if (digits === 0 || significant > MAX_DIGITS || (i < ve && buf[i] !== COMMA)) return CL_INVALID;
    if (value !== -1 && n !== value) return CL_CONFLICT;
    value = n;
    i++; // past the comma, or past the end
  }
  return value;
}

/**
 * Transfer-Encoding: whether the last listed coding is `chunked` (case-insensitive; empty list elements are
 * skipped). Null when the value lists no coding at all, e.g. an empty line that an obs-fold continues.
 */
export function lastCodingIsChunked(buf: Uint8Array, vs: number, ve: number, chunked: Uint8Array): boolean | null {
  let e = ve;
  while (e > vs && (isWs(buf[e - 1]) || buf[e - 1] === COMMA)) e--;
  if (e === vs) return null;
  let s = e;
  while (s > vs && buf[s - 1] !== COMMA) s--;
  while (s < e && isWs(buf[s])) s++;
  return equalsLower(buf, s, e, chunked);
}

/** The trimmed value equals `lower` ignoring ASCII case. */
export function valueEquals(buf: Uint8Array, vs: number, ve: number, lower: Uint8Array): boolean {
  while (vs < ve && isWs(buf[vs])) vs++;
  while (ve > vs && isWs(buf[ve - 1])) ve--;
  return equalsLower(buf, vs, ve, lower);
}

/** The value has something other than spaces and tabs. */
export function valueIsPresent(buf: Uint8Array, vs: number, ve: number): boolean {
  for (let i = vs; i < ve; i++) if (!isWs(buf[i])) return true;
  return false;
}

/** A comma-separated list contains `lower` as one of its elements (case-insensitive). */
export function listHasToken(buf: Uint8Array, vs: number, ve: number, lower: Uint8Array): boolean {
  let s = vs;
  while (s < ve) {
    let e = s;
    while (e < ve && buf[e] !== COMMA) e++;
    if (valueEquals(buf, s, e, lower)) return true;
    s = e + 1;
  }
  return false;
}
