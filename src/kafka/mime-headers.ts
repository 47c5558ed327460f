/**
 * gor's `proto.ParseHeaders` for the Kafka JSON format (spec §9.2): skip a valid request or status line, cut at
 * the first CRLFCRLF, then read the block with Go's strict `textproto` MIME reader. Any malformed line fails
 * the whole block, which gor turns into "no headers". Names come out in MIME canonical form (`X-Real-Ip`);
 * repeated names keep every value, in order. Values are bytes: the JSON encoder decides about UTF-8.
 */
import { hasTitle, mimeHeadersEnd, mimeHeadersStart } from '../protocol/http1/index.js';

/** Go's token bytes (`validHeaderFieldByte`). */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN[c.charCodeAt(0)] = 1;

/** Go's `validHeaderValueByte`: VCHAR, SP, HTAB and obs-text (≥ 0x80); no other control bytes, no DEL. */
function validValueByte(c: number): boolean {
  return c >= 0x80 || (c >= 0x20 && c !== 0x7f) || c === 0x09;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Go's `textproto.CanonicalMIMEHeaderKey` on bytes; null when a byte is neither a token byte nor a space. */
export function canonicalMimeKey(name: Buffer): string | null {
  let space = false;
  for (const c of name) {
    if (c < 0x80 && TOKEN[c] === 1) continue;
    if (c === 0x20) {
      space = true; // Go accepts "Name :" but leaves such names as they are
      continue;
    }
    return null;
  }
  if (space) return name.toString('latin1');
  let out = '';
  let upper = true;
  for (let c of name) {
    if (upper && c >= 0x61 && c <= 0x7a) c -= 0x20;
    else if (!upper && c >= 0x41 && c <= 0x5a) c += 0x20;
    out += String.fromCharCode(c);
    upper = c === 0x2d;
  }
  return out;
}

function trim(buf: Buffer, s: number, e: number): [number, number] {
  while (s < e && isSpace(buf[s]!)) s++;
  while (e > s && isSpace(buf[e - 1]!)) e--;
  return [s, e];
}

/** The LF-terminated lines of `block` (CR before LF removed, as Go's ReadLine does); bytes after the last LF are dropped: Go hits EOF there. */
function terminatedLines(block: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (let nl = block.indexOf(0x0a); nl !== -1; nl = block.indexOf(0x0a, at)) {
    const end = nl > at && block[nl - 1] === 0x0d ? nl - 1 : nl;
    out.push(block.subarray(at, end));
    at = nl + 1;
  }
  return out;
}

const isContinuation = (line: Buffer) => line.length > 0 && (line[0] === 0x20 || line[0] === 0x09);

/**
 * The headers as gor's JSON output sees them, or null when Go's reader fails: EOF before the blank line, a
 * line without a colon, a bad name byte, a control byte in a value, or a continuation as the first line.
 */
export function parseMimeHeaders(payload: Buffer): Map<string, Buffer[]> | null {
  let block = payload;
  if (hasTitle(block)) {
    const start = mimeHeadersStart(block);
    if (start > block.length - 1) return null;
    block = block.subarray(start);
  }
  const end = mimeHeadersEnd(block);
  if (end > 1) block = block.subarray(0, end);
  const rows = terminatedLines(block);
  if (rows.length > 0 && isContinuation(rows[0]!)) return null;
  const headers = new Map<string, Buffer[]>();
  let i = 0;
  while (i < rows.length) {
    const first = rows[i]!;
    if (first.length === 0) return headers; // the blank line
    // Continuation lines are joined with one space, each line trimmed.
    let [s, e] = trim(first, 0, first.length);
    let kv = first.subarray(s, e);
    i++;
    while (i < rows.length && isContinuation(rows[i]!)) {
      const r = rows[i]!;
      [s, e] = trim(r, 0, r.length);
      kv = Buffer.concat([kv, Buffer.from(' '), r.subarray(s, e)]);
      i++;
    }
    const colon = kv.indexOf(0x3a);
    if (colon === -1) return null;
    const key = canonicalMimeKey(kv.subarray(0, colon));
    if (key === null) return null;
    const v = kv.subarray(colon + 1);
    for (const c of v) if (!validValueByte(c)) return null;
    if (key === '') continue; // Go skips empty names instead of failing
    let vs = 0;
    while (vs < v.length && (v[vs] === 0x20 || v[vs] === 0x09)) vs++;
    const value = v.subarray(vs);
    const list = headers.get(key);
    if (list) list.push(value);
    else headers.set(key, [value]);
  }
  return null; // EOF before the blank line
}
