/**
 * Gunzip with Go's `compress/gzip` error semantics, because gor's `--prettify-http` reacts differently to the
 * two failure kinds (spec §9.4): a bad first member header (what `gzip.NewReader` reports) drops the message,
 * while a failure later (corrupt deflate data, truncation, CRC or size mismatch, garbage after a member) keeps
 * the original payload. Node's `gunzipSync` does not tell these apart and tolerates some trailing bytes, so the
 * member framing (RFC 1952) is walked here and only the deflate data is handed to zlib.
 */

import zlib from 'node:zlib';

export type GunzipResult =
  | { readonly ok: true; readonly data: Buffer }
  | { readonly ok: false; readonly stage: 'header' | 'body'; readonly reason: string };

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
/** Go reads NUL-terminated header strings into a 512-byte buffer and fails on longer ones. */
const MAX_HEADER_STRING = 512;

const CRC_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE). `zlib.crc32` only exists from Node 20.15, so a table fallback keeps Node 20.0+ working. */
function crc32(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (native) return native(data) >>> 0;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Parse a member header at `pos`; returns the offset of the deflate data, or an error text. */
function readHeader(buf: Buffer, pos: number): number | string {
  if (buf.length - pos < 10) return 'unexpected EOF in gzip header';
  if (buf[pos] !== 0x1f || buf[pos + 1] !== 0x8b || buf[pos + 2] !== 8) return 'invalid gzip header';
  const flags = buf[pos + 3]!;
  let p = pos + 10;
  if (flags & FEXTRA) {
    if (buf.length - p < 2) return 'unexpected EOF in gzip header';
    const xlen = buf.readUInt16LE(p);
    p += 2;
    if (buf.length - p < xlen) return 'unexpected EOF in gzip header';
    p += xlen;
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const nul = buf.indexOf(0, p);
    if (nul === -1) return buf.length - p >= MAX_HEADER_STRING ? 'invalid gzip header' : 'unexpected EOF';
    if (nul - p + 1 > MAX_HEADER_STRING) return 'invalid gzip header';
    p = nul + 1;
  }
  if (flags & FHCRC) {
    if (buf.length - p < 2) return 'unexpected EOF in gzip header';
    if (buf.readUInt16LE(p) !== (crc32(buf.subarray(pos, p)) & 0xffff)) return 'gzip header checksum mismatch';
    p += 2;
  }
  return p;
}

export function gunzip(buf: Buffer): GunzipResult {
  // Go's NewReader reads the first header; an empty input is io.EOF, which gor also treats as a header error.
  let start = readHeader(buf, 0);
  if (typeof start === 'string') return { ok: false, stage: 'header', reason: start };
  const out: Buffer[] = [];
  for (;;) {
    let inflated: { buffer: Buffer; engine: zlib.InflateRaw };
    try {
      inflated = zlib.inflateRawSync(buf.subarray(start), { info: true }) as unknown as typeof inflated;
    } catch (err) {
      return { ok: false, stage: 'body', reason: (err as Error).message };
    }
    const consumed = (inflated.engine as unknown as { bytesWritten: number }).bytesWritten;
    const trailer = start + consumed;
    if (buf.length - trailer < 8) return { ok: false, stage: 'body', reason: 'unexpected EOF in gzip trailer' };
    const data = inflated.buffer;
    if (buf.readUInt32LE(trailer) !== crc32(data) || buf.readUInt32LE(trailer + 4) !== data.length % 2 ** 32) {
      return { ok: false, stage: 'body', reason: 'gzip checksum error' };
    }
    out.push(data);
    const next = trailer + 8;
    // Go reads members until a clean EOF; any other bytes must form another valid member.
    if (next === buf.length) return { ok: true, data: Buffer.concat(out) };
    start = readHeader(buf, next);
    if (typeof start === 'string') return { ok: false, stage: 'body', reason: start };
  }
}
