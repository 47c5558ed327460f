/**
 * Decode a chunked body the way Go's `httputil.NewChunkedReader` + `ioutil.ReadAll` does, which is what gor's
 * `--prettify-http` uses (spec §9.4): decode until the 0-size chunk or the first error and keep what was
 * decoded, including a partial last chunk. Trailers are not read. The rules follow the chunked reader of the Go
 * releases gor shipped with: a size line may end in LF or CRLF (trailing SP/HT/CR/LF trimmed), anything after
 * `;` is an extension and dropped, the size is 1-16 hex digits, the line must be < 4096 bytes, and the 2 bytes
 * after chunk data must be exactly CRLF.
 */

import { CR, HEX, LF, SEMI } from './bytes.js';

export interface DechunkResult {
  /** The decoded entity bytes (possibly partial). */
  readonly data: Buffer;
  /** True when the terminating 0-size chunk was reached without error. */
  readonly complete: boolean;
  /**
   * Where the trailer section starts when complete (just after the 0-size chunk's line): what follows is the
   * trailer fields and the final CRLF, or bytes that are no part of this message; none of it is in `data`.
   */
  readonly end: number;
}

/** Go's `maxLineLength` for chunk size lines. */
const MAX_LINE = 4096;

function isGoSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === LF || b === CR;
}

/** Parse one size line `body[s, nl]`; returns the chunk size or -1 on any error Go would report. */
function parseSizeLine(body: Buffer, s: number, nl: number): number {
  if (nl + 1 - s >= MAX_LINE) return -1;
  let e = nl + 1;
  while (e > s && isGoSpace(body[e - 1]!)) e--;
  const semi = body.indexOf(SEMI, s);
  if (semi !== -1 && semi < e) e = semi;
  if (e === s || e - s > 16) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = HEX[body[i]!]!;
    if (d === 255) return -1;
    // 16 hex digits can exceed 2^53; such a chunk can never be satisfied by a real payload anyway.
    n = n * 16 + d;
  }
  return n;
}

export function dechunk(body: Buffer): DechunkResult {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const nl = body.indexOf(LF, pos);
    if (nl === -1) break; // unexpected EOF inside a size line
    const size = parseSizeLine(body, pos, nl);
    if (size < 0) break;
    pos = nl + 1;
    if (size === 0) return { data: Buffer.concat(parts), complete: true, end: pos };
    const avail = Math.min(size, body.length - pos);
    parts.push(body.subarray(pos, pos + avail));
    pos += avail;
    if (avail < size) break; // partial chunk kept, as ReadAll keeps what Read returned
    if (body[pos] !== CR || body[pos + 1] !== LF) break; // "malformed chunked encoding" or EOF
    pos += 2;
  }
  return { data: Buffer.concat(parts), complete: false, end: pos };
}
