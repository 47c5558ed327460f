/**
 * Go's `base64.StdEncoding.Decode`, returning the bytes it wrote before any error. gor's basic-auth filter
 * ignores the error and matches whatever was decoded, so a corrupt credential still yields a (partial) value:
 * quanta before the bad byte are kept, the broken quantum is not. `\r` and `\n` are skipped; padding is required.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE: Int16Array = (() => {
  const t = new Int16Array(256).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();
const PAD = 0x3d;
const CR = 0x0d;
const LF = 0x0a;

export function goBase64Decode(src: Uint8Array): Buffer {
  const out: number[] = [];
  let si = 0;
  while (si < src.length) {
    const q = decodeQuantum(src, si);
    out.push(...q.bytes);
    si = q.next;
    if (q.error) break;
  }
  return Buffer.from(out);
}

/** Go's decodeQuantum: up to 4 symbols → up to 3 bytes. */
function decodeQuantum(src: Uint8Array, start: number): { next: number; bytes: number[]; error: boolean } {
  const sym = [0, 0, 0, 0];
  let si = start;
  let dlen = 4;
  let error = false;
  for (let j = 0; j < 4; j++) {
    if (si === src.length) {
      if (j === 0) return { next: si, bytes: [], error: false };
      return { next: si, bytes: [], error: true }; // StdEncoding requires padding
    }
    const c = src[si++]!;
    const v = DECODE[c]!;
    if (v >= 0) {
      sym[j] = v;
      continue;
    }
    if (c === LF || c === CR) {
      j--;
      continue;
    }
    if (c !== PAD || j < 2) return { next: si, bytes: [], error: true };
    if (j === 2) {
      while (si < src.length && (src[si] === LF || src[si] === CR)) si++;
      if (si === src.length || src[si] !== PAD) return { next: si, bytes: [], error: true };
      si++;
    }
    while (si < src.length && (src[si] === LF || src[si] === CR)) si++;
    if (si < src.length) error = true; // bytes after the padding
    dlen = j;
    break;
  }
  const value = (sym[0]! << 18) | (sym[1]! << 12) | (sym[2]! << 6) | sym[3]!;
  const bytes = [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff].slice(0, dlen - 1);
  return { next: si, bytes, error };
}
