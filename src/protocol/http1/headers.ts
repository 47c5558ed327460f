/**
 * gor's byte-level header helpers (spec §7.7): find, set, add and delete a header directly in the raw payload,
 * keeping every other byte (case, order, spacing) as captured. Quirks are reproduced on purpose because the
 * bytes replayed to a target must equal what gor would send:
 *  - the scan starts after the first line only when the payload has a valid gor title, else at byte 0;
 *  - it does not stop at the blank line, so body lines shaped like `name: value` can match;
 *  - the value ends 2 bytes before the LF (CRLF assumed), so LF-only lines lose their last value byte;
 *  - trimming stops when one byte is left, so a value of only spaces reads as `" "`.
 * Getters return views into `payload`; editors return a new Buffer, or `payload` itself when nothing changes.
 */

import { COLON, CR, CRLF, CRLFCRLF, indexOfByte, LF, lowerByte, SP, splice, toBytes } from './bytes.js';
import { hasResponseTitle, requestTitleEnd } from './title.js';

/** Where a header sits in a payload. Offsets are byte indexes; every `end` is exclusive. */
export interface HeaderSpan {
  /** First byte of the header line (its name). */
  readonly start: number;
  /** Just after the line's LF: `payload[start, end)` is the whole line, as gor's DeleteHeader cuts it. */
  readonly end: number;
  /** First byte of the trimmed value. */
  readonly valueStart: number;
  /** Just after the trimmed value (equal to `valueStart` when the value is empty). */
  readonly valueEnd: number;
  /** `payload[valueStart, valueEnd)`, a view. */
  readonly value: Buffer;
}

/** gor's `MIMEHeadersStartPos`: just after the first CRLF, or -1. */
export function mimeHeadersStart(payload: Buffer): number {
  const pos = payload.indexOf(CRLF);
  return pos < 0 ? -1 : pos + 2;
}

/** gor's `MIMEHeadersEndPos`: just after the first CRLFCRLF, or -1. */
export function mimeHeadersEnd(payload: Buffer): number {
  const pos = payload.indexOf(CRLFCRLF);
  return pos < 0 ? -1 : pos + 4;
}

/** Go's `bytes.EqualFold` for the usual ASCII case; non-ASCII names fall back to per-code-point folding. */
function equalFold(buf: Buffer, s: number, e: number, name: Buffer): boolean {
  if (e - s === name.length) {
    let ascii = true;
    let i = 0;
    for (; i < name.length; i++) {
      const a = buf[s + i]!;
      const b = name[i]!;
      if (a >= 0x80 || b >= 0x80) {
        ascii = false;
        break;
      }
      if (lowerByte(a) !== lowerByte(b)) return false;
    }
    if (ascii) return true;
  }
  // Byte lengths may differ under Unicode folding (e.g. 'K' vs KELVIN SIGN), so compare decoded code points.
  let hasHigh = false;
  for (let i = s; i < e && !hasHigh; i++) hasHigh = buf[i]! >= 0x80;
  for (let i = 0; i < name.length && !hasHigh; i++) hasHigh = name[i]! >= 0x80;
  if (!hasHigh) return false;
  const a = [...buf.toString('utf8', s, e)];
  const b = [...name.toString('utf8')];
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && x.toLowerCase() !== y.toLowerCase() && x.toUpperCase() !== y.toUpperCase()) return false;
  }
  return true;
}

/**
 * gor's `header()`: the first line (see the file header for where the scan starts) whose bytes before the
 * first `:` equal `name` case-insensitively. Lines without `:` are skipped. Returns null when absent.
 */
export function header(payload: Buffer, name: string | Buffer): HeaderSpan | null {
  const nameBytes = toBytes(name);
  // Lines whose first byte is ASCII and differs (ASCII case folded) from an ASCII first byte of the name
  // cannot match, whatever follows; only the other lines pay for finding their colon and comparing.
  const first = nameBytes.length > 0 && nameBytes[0]! < 0x80 ? lowerByte(nameBytes[0]!) : -1;
  let lineStart = scanStart(payload);
  while (lineStart < payload.length) {
    const nl = payload.indexOf(LF, lineStart);
    if (nl === -1) break;
    const b = payload[lineStart]!;
    if (first !== -1 && b < 0x80 && lowerByte(b) !== first) {
      lineStart = nl + 1;
      continue;
    }
    const colon = indexOfByte(payload, COLON, lineStart, nl);
    if (colon !== -1 && equalFold(payload, lineStart, colon, nameBytes)) {
      // gor: valueEnd (inclusive) = LF - 2, i.e. the byte before an assumed CR; then trim bytes < 0x21,
      // each loop stopping when one byte would remain.
      let vs = colon + 1;
      let ve = nl - 2;
      while (vs < ve && payload[vs]! < 0x21) vs++;
      while (ve > vs && payload[ve]! < 0x21) ve--;
      // For an LF-only `name:` line ve + 1 < vs; Go would panic slicing it. We report an empty value instead.
      const valueEnd = Math.max(ve + 1, vs);
      return { start: lineStart, end: nl + 1, valueStart: vs, valueEnd, value: payload.subarray(vs, valueEnd) };
    }
    lineStart = nl + 1;
  }
  return null;
}

/** Where gor's header scan starts: after the first line of a titled payload, else at byte 0. */
function scanStart(payload: Buffer): number {
  const title = requestTitleEnd(payload);
  if (title !== -1) return title + 2;
  return hasResponseTitle(payload) ? mimeHeadersStart(payload) : 0;
}

/** gor's `Header`: the value, or an empty Buffer when absent (gor treats empty and absent alike). */
export function headerValue(payload: Buffer, name: string | Buffer): Buffer {
  return header(payload, name)?.value ?? Buffer.alloc(0);
}

/**
 * gor's `AddHeader`: insert `name: value\r\n` right after the first CRLF (so headers added in sequence end up in
 * reverse order). A payload without CRLF is returned unchanged.
 */
export function addHeader(payload: Buffer, name: string | Buffer, value: string | Buffer): Buffer {
  const at = mimeHeadersStart(payload);
  if (at < 1) return payload;
  const nameBytes = toBytes(name);
  const valueBytes = toBytes(value);
  // The new line is written straight into the copy: one allocation per added header (this runs per request
  // for --http-set-header).
  const lineLength = nameBytes.length + valueBytes.length + 4;
  const out = Buffer.allocUnsafe(payload.length + lineLength);
  payload.copy(out, 0, 0, at);
  let i = at;
  out.set(nameBytes, i);
  i += nameBytes.length;
  out[i++] = COLON;
  out[i++] = SP;
  out.set(valueBytes, i);
  i += valueBytes.length;
  out[i++] = CR;
  out[i++] = LF;
  payload.copy(out, i, at);
  return out;
}

/**
 * gor's `SetHeader`: replace the trimmed value of the first matching header (surrounding whitespace kept), or
 * add the header after the first line.
 */
export function setHeader(payload: Buffer, name: string | Buffer, value: string | Buffer): Buffer {
  const h = header(payload, name);
  if (!h) return addHeader(payload, name, value);
  const bytes = toBytes(value);
  // Replaying to the host the traffic was captured for (or setting a value twice) changes nothing: no copy.
  if (h.value.equals(bytes)) return payload;
  return splice(payload, h.valueStart, h.valueEnd, bytes);
}

/** gor's `DeleteHeader`: cut the first matching header line including its LF. */
export function deleteHeader(payload: Buffer, name: string | Buffer): Buffer {
  const h = header(payload, name);
  if (!h) return payload;
  return splice(payload, h.start, h.end, Buffer.alloc(0));
}

/**
 * The payload with every `name` line after the first one in its head cut (each including its LF), or
 * `payload` itself when there is none. Names match as in header(); the head ends at the first blank line (a
 * line that is empty before its LF, or only CR, as Go's parser ends it), and when the first match is past
 * it nothing is cut. For the replay's Host: Go's client writes one Host line whatever the header map holds,
 * so gor sends a single Host even for a request captured with two (spec §7.3).
 */
export function deleteLaterHeaders(payload: Buffer, name: string | Buffer): Buffer {
  const nameBytes = toBytes(name);
  const first = nameBytes.length > 0 && nameBytes[0]! < 0x80 ? lowerByte(nameBytes[0]!) : -1;
  let found = false;
  const cuts: number[] = []; // [start, end) pairs of the lines to cut
  let lineStart = scanStart(payload);
  while (lineStart < payload.length) {
    const nl = payload.indexOf(LF, lineStart);
    if (nl === -1) break;
    if (nl === lineStart || (nl === lineStart + 1 && payload[lineStart] === CR)) break; // the blank line
    const b = payload[lineStart]!;
    if (first === -1 || b >= 0x80 || lowerByte(b) === first) {
      const colon = indexOfByte(payload, COLON, lineStart, nl);
      if (colon !== -1 && equalFold(payload, lineStart, colon, nameBytes)) {
        if (found) cuts.push(lineStart, nl + 1);
        found = true;
      }
    }
    lineStart = nl + 1;
  }
  if (cuts.length === 0) return payload;
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < cuts.length; i += 2) {
    parts.push(payload.subarray(from, cuts[i]));
    from = cuts[i + 1]!;
  }
  parts.push(payload.subarray(from));
  return Buffer.concat(parts);
}

/** gor's `Body`: everything after the first CRLFCRLF, or empty (a view). */
export function body(payload: Buffer): Buffer {
  const pos = mimeHeadersEnd(payload);
  if (pos === -1 || payload.length <= pos) return Buffer.alloc(0);
  return payload.subarray(pos);
}
