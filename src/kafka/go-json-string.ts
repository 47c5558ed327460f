/**
 * Go's `encoding/json` string encoding, byte for byte, for gor's Kafka JSON messages: HTML-safe (`<`, `>`,
 * `&` → `\u003c` …), control bytes as `\u00XX` except `\n`, `\r`, `\t`, U+2028/U+2029 escaped, and every byte
 * that does not start a valid UTF-8 sequence replaced by the escape `\ufffd` (one per byte, as Go's
 * `utf8.DecodeRune` reports size 1). Valid multi-byte UTF-8 is copied as is.
 */

const HEX = '0123456789abcdef';

/** Length of the valid UTF-8 sequence at `i` (Go's rules: no overlongs, no surrogates, ≤ U+10FFFF), or 0. */
function utf8Length(b: Buffer, i: number): number {
  const c = b[i]!;
  const n = b.length - i;
  const cont = (k: number) => k < n && (b[i + k]! & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 > 0x9f) return 0; // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xf0 && c1 < 0x90) return 0;
    if (c === 0xf4 && c1 > 0x8f) return 0;
    return 4;
  }
  return 0;
}

/** `"..."`: the JSON string literal Go writes for these bytes. */
export function goJsonString(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length * 6 + 2);
  let o = 0;
  const ascii = (s: string) => {
    o += out.write(s, o, 'latin1');
  };
  out[o++] = 0x22;
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i]!;
    if (c < 0x80) {
      if (c === 0x22 || c === 0x5c) ascii(c === 0x22 ? '\\"' : '\\\\');
      else if (c === 0x0a) ascii('\\n');
      else if (c === 0x0d) ascii('\\r');
      else if (c === 0x09) ascii('\\t');
      else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) ascii(`\\u00${HEX[c >> 4]}${HEX[c & 15]}`);
      else out[o++] = c;
      i++;
      continue;
    }
    const len = utf8Length(bytes, i);
    if (len === 0) {
      ascii('\\ufffd');
      i++;
    } else if (len === 3 && c === 0xe2 && bytes[i + 1] === 0x80 && (bytes[i + 2] === 0xa8 || bytes[i + 2] === 0xa9)) {
      ascii(bytes[i + 2] === 0xa8 ? '\\u2028' : '\\u2029');
      i += 3;
    } else {
      o += bytes.copy(out, o, i, i + len);
      i += len;
    }
  }
  out[o++] = 0x22;
  return out.subarray(0, o);
}
