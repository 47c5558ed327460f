/**
 * Bytes ↔ strings for Go-regexp matching. Go matches a regexp against bytes, reading them as UTF-8 and taking
 * each invalid byte as one character (U+FFFD, width 1). JS matches UTF-16 strings. A "Go string" here is the
 * bytes decoded as UTF-8 where valid, with every invalid byte mapped to the lone surrogate U+DC80+byte (Python's
 * "surrogateescape"): `.` and negated classes then consume one invalid byte at a time, as in Go, and encoding
 * gives back exactly the original bytes, so a rewrite never alters the bytes it did not replace.
 *
 *   decodeGoString(Buffer.from([0x61, 0xff])) === 'a\udcff';  encodeGoString('a\udcff') → <61 ff>
 */
import { isUtf8 } from 'node:buffer';

const ESCAPE_BASE = 0xdc00;
/** A low surrogate not preceded by a high one: an escaped invalid byte. */
const LONE_ESCAPE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;
const NON_ASCII_STRING = /[^\x00-\x7f]/;

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

/** Length of the valid UTF-8 sequence starting at `i` (Go's `utf8.DecodeRune` rules), or 0 when invalid. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

export function decodeGoString(bytes: Buffer): string {
  if (isAscii(bytes)) return bytes.toString('latin1');
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i]! < 0x80) {
      i++;
      continue;
    }
    const n = sequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += bytes.toString('utf8', runStart, i) + String.fromCharCode(ESCAPE_BASE + bytes[i]!);
    i++;
    runStart = i;
  }
  return out + bytes.toString('utf8', runStart, bytes.length);
}

export function encodeGoString(s: string): Buffer {
  if (!NON_ASCII_STRING.test(s)) return Buffer.from(s, 'latin1');
  if (!LONE_ESCAPE.test(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++; // a valid pair: part of the UTF-8 run
      continue;
    }
    if (u >= 0xdc80 && u <= 0xdcff) {
      parts.push(Buffer.from(s.slice(runStart, i), 'utf8'), Buffer.of(u - ESCAPE_BASE));
      runStart = i + 1;
    }
  }
  parts.push(Buffer.from(s.slice(runStart), 'utf8'));
  return Buffer.concat(parts);
}
