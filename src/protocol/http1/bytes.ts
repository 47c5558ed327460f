/**
 * Small byte-level primitives shared by the HTTP/1 helpers and the splitter: character classes, ASCII
 * case-insensitive comparison, bounded searches and Buffer splicing. Everything works on byte offsets and
 * never decodes text, because captured bytes must come out exactly as they went in.
 */

export const HT = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const COLON = 0x3a;
export const SEMI = 0x3b;
export const COMMA = 0x2c;

export const CRLF: Buffer = Buffer.from('\r\n', 'latin1');
export const CRLFCRLF: Buffer = Buffer.from('\r\n\r\n', 'latin1');

/** RFC 9110 `tchar`: the bytes a method or header name may contain. A table keeps the hot loop branch-free. */
export const TCHAR: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "!#$%&'*+-.^_`|~") t[c.charCodeAt(0)] = 1;
  for (let b = 0x30; b <= 0x39; b++) t[b] = 1;
  for (let b = 0x41; b <= 0x5a; b++) t[b] = 1;
  for (let b = 0x61; b <= 0x7a; b++) t[b] = 1;
  return t;
})();

/** Hex digit value, or 255 for a non-hex byte. */
export const HEX: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** Lower-case an ASCII letter; other bytes pass through. */
export function lowerByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/** Strings given by callers (flag values) are UTF-8, as in Go where a string is its UTF-8 bytes. */
export function toBytes(x: string | Buffer): Buffer {
  return typeof x === 'string' ? Buffer.from(x, 'utf8') : x;
}

/** Pre-lower-cased ASCII pattern for `equalsLower`. */
export function lowerPattern(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.toLowerCase(), 'latin1'));
}

/** `buf[s, e)` equals `lower` ignoring ASCII case. `lower` must already be lower-case. */
export function equalsLower(buf: Uint8Array, s: number, e: number, lower: Uint8Array): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if (lowerByte(buf[s + i]!) !== lower[i]) return false;
  }
  return true;
}

/** First index of byte `b` in `buf[from, to)`, or -1. A JS loop: `indexOf` cannot stop at `to`. */
export function indexOfByte(buf: Uint8Array, b: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (buf[i] === b) return i;
  return -1;
}

/** Number of occurrences of byte `b` in `buf[from, to)`. */
export function countByte(buf: Uint8Array, b: number, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (buf[i] === b) n++;
  return n;
}

/** `buf[at, at + pat.length)` equals `pat` exactly. */
export function bytesAt(buf: Uint8Array, at: number, pat: Uint8Array): boolean {
  if (at < 0 || at + pat.length > buf.length) return false;
  for (let i = 0; i < pat.length; i++) if (buf[at + i] !== pat[i]) return false;
  return true;
}

/** A new Buffer: `a` with `a[from, to)` replaced by `insert`. */
export function splice(a: Buffer, from: number, to: number, insert: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(a.length - (to - from) + insert.length);
  a.copy(out, 0, 0, from);
  out.set(insert, from);
  a.copy(out, from + insert.length, to);
  return out;
}
