/**
 * One pass over an HTTP/1 header block's bytes: where the block ends, where the start line's tokens are, and
 * where the values of the few headers accounting reads lie — without making a string. Strings are made by the
 * caller, only for the values it needs (sizes.ts, tracker.ts).
 *
 *   buf: GET /a HTTP/1.1\r\nHost: x\r\nUser-Agent: …\r\n\r\nbody
 *        └s1┘  └s2┘     └lineEnd  └host value┘               └ end (just after the blank line)
 *
 * The rules are docs/analytics.md's: the block ends at the first blank line, `\r\n` or a bare `\n` just after
 * the end of another line (`\r\n\r\n`, `\n\n`, `\n\r\n`, `\r\n\n`; the whole message when there is none);
 * header names match case-insensitively; host, content-type, content-encoding and the client header keep their
 * first occurrence, transfer-encoding its last. Values are left untrimmed (the caller trims the string it makes).
 *
 * A JavaScript loop over the bytes: a header block is a few hundred bytes, and a native indexOf per line costs
 * more in call overhead than the loop costs in bytes.
 */

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const COLON = 0x3a;

/** Where things are in one header block; absolute offsets into the scanned buffer, -1 when absent. */
export class HeadScan {
  /** Just after the blank line that ends the block, or the scanned range's end when there is none. */
  end = 0;
  /** End of the start line, its `\r` excluded. */
  lineEnd = 0;
  /** The start line's first and second spaces (-1 when absent). */
  space1 = -1;
  space2 = -1;
  hostStart = -1;
  hostEnd = -1;
  typeStart = -1;
  typeEnd = -1;
  encodingStart = -1;
  encodingEnd = -1;
  /** The last Transfer-Encoding value (the caller decides whether it ends in `chunked`). */
  transferStart = -1;
  transferEnd = -1;
  clientStart = -1;
  clientEnd = -1;
}

const HOST = lower('host');
const CONTENT_TYPE = lower('content-type');
const CONTENT_ENCODING = lower('content-encoding');
const TRANSFER_ENCODING = lower('transfer-encoding');

function lower(name: string): Uint8Array {
  return Uint8Array.from(Buffer.from(name.toLowerCase(), 'latin1'));
}

/** A header name as bytes, for `client`: lower-case. */
export function headerName(name: string): Uint8Array {
  return lower(name);
}

/** `buf[at, at + name.length)` equals `name` (lower-case ASCII) ignoring case. */
function nameIs(buf: Uint8Array, at: number, name: Uint8Array): boolean {
  for (let i = 0; i < name.length; i++) {
    const want = name[i]!;
    const got = buf[at + i]!;
    if (got !== want && !(want >= 0x61 && want <= 0x7a && got === want - 0x20)) return false;
  }
  return true;
}

/** Scans the header block of `buf[start, end)` into `out`; `client` is a lower-case header name or null. */
export function scanHead(buf: Uint8Array, start: number, end: number, client: Uint8Array | null, out: HeadScan): void {
  out.end = end;
  out.space1 = -1;
  out.space2 = -1;
  out.hostStart = -1;
  out.hostEnd = -1;
  out.typeStart = -1;
  out.typeEnd = -1;
  out.encodingStart = -1;
  out.encodingEnd = -1;
  out.transferStart = -1;
  out.transferEnd = -1;
  out.clientStart = -1;
  out.clientEnd = -1;
  const clientLength = client ? client.length : -1;

  // The start line: its end and its first two spaces.
  let i = start;
  while (i < end) {
    const c = buf[i]!;
    if (c === LF) break;
    if (c === SP) {
      if (out.space1 === -1) out.space1 = i;
      else if (out.space2 === -1) out.space2 = i;
    }
    i++;
  }
  out.lineEnd = i > start && buf[i - 1] === CR ? i - 1 : i;
  if (out.space1 >= out.lineEnd) out.space1 = -1;
  if (out.space2 >= out.lineEnd) out.space2 = -1;

  // Header lines: `i` is at the '\n' ending the previous line (or at `end`).
  while (i < end) {
    // A blank line after this '\n' ends the block: "\n" or "\r\n" alone, whatever ended the line before it
    // (the splitter that cut the message reads lines so: "\r\n\r\n", "\n\n", and the mixed "\n\r\n", "\r\n\n").
    if (i + 1 < end && buf[i + 1] === LF) {
      out.end = i + 2;
      return;
    }
    if (i + 2 < end && buf[i + 1] === CR && buf[i + 2] === LF) {
      out.end = i + 3;
      return;
    }
    const lineStart = i + 1;
    // The name (up to the first colon), then the value up to the line's end: one comparison per value byte.
    let colon = -1;
    let j = lineStart;
    while (j < end) {
      const c = buf[j]!;
      if (c === LF) break;
      if (c === COLON) {
        colon = j;
        j++;
        while (j < end && buf[j] !== LF) j++;
        break;
      }
      j++;
    }
    if (colon !== -1) {
      const n = colon - lineStart;
      if (n === 4 && out.hostStart === -1 && nameIs(buf, lineStart, HOST)) {
        out.hostStart = colon + 1;
        out.hostEnd = j;
      } else if (n === 12 && out.typeStart === -1 && nameIs(buf, lineStart, CONTENT_TYPE)) {
        out.typeStart = colon + 1;
        out.typeEnd = j;
      } else if (n === 16 && out.encodingStart === -1 && nameIs(buf, lineStart, CONTENT_ENCODING)) {
        out.encodingStart = colon + 1;
        out.encodingEnd = j;
      } else if (n === 17 && nameIs(buf, lineStart, TRANSFER_ENCODING)) {
        out.transferStart = colon + 1;
        out.transferEnd = j;
      }
      if (n === clientLength && out.clientStart === -1 && nameIs(buf, lineStart, client!)) {
        out.clientStart = colon + 1;
        out.clientEnd = j;
      }
    }
    i = j;
  }
}

/** Does the request line `buf[start, lineEnd)` end in ` HTTP/d.d`? */
export function endsWithHttpVersion(buf: Uint8Array, start: number, lineEnd: number): boolean {
  const v = lineEnd - 9;
  return v >= start && buf[v] === SP && isHttpSlash(buf, v + 1) && isDigitDotDigit(buf, v + 6);
}

/** Is `buf[at, at + 8)` exactly `HTTP/d.d`? */
export function isHttpVersion(buf: Uint8Array, at: number, to: number): boolean {
  return to - at === 8 && isHttpSlash(buf, at) && isDigitDotDigit(buf, at + 5);
}

function isHttpSlash(buf: Uint8Array, at: number): boolean {
  return (
    buf[at] === 0x48 && buf[at + 1] === 0x54 && buf[at + 2] === 0x54 && buf[at + 3] === 0x50 && buf[at + 4] === 0x2f
  );
}

function isDigitDotDigit(buf: Uint8Array, at: number): boolean {
  const a = buf[at]!;
  const b = buf[at + 2]!;
  return a >= 0x30 && a <= 0x39 && buf[at + 1] === 0x2e && b >= 0x30 && b <= 0x39;
}

/** The 3-digit status at `buf[at, to)`, or -1 when it is not exactly three digits. */
export function statusAt(buf: Uint8Array, at: number, to: number): number {
  if (to - at !== 3) return -1;
  let v = 0;
  for (let k = at; k < to; k++) {
    const c = buf[k]!;
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

interface Latin1Sliceable {
  latin1Slice(start: number, end: number): string;
}

/**
 * `buf[from, to)` as a latin1 string: Buffer's own latin1Slice (what toString('latin1', …) ends in, minus its
 * argument checks, which show on a path that runs a few times per message).
 */
export function latin1(buf: Buffer, from: number, to: number): string {
  return (buf as unknown as Latin1Sliceable).latin1Slice(from, to);
}
