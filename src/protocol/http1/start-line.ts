/**
 * The splitter's lenient start-line recogniser. It finds a request line or status line inside one line of
 * input `[s, e)` (the caller strips LF and CR) and reports where it begins, so a line that starts with junk
 * (a resync after a gap or garbage) still yields the message it ends with. Accepted: any token method, any
 * target without CR/LF, `HTTP/1.x`, any 3-digit status from 100. Unlike gor's `title.ts` rules this is meant
 * for finding message boundaries, not for deciding what modifiers may touch.
 */

import * as bytes from './bytes.js';

// Local copies: under tsx an imported binding is read through a getter on every access (see splitter.ts).
const { HT, SP, TCHAR } = bytes;

/** Where the parts of a recognised start line are (indexes into the scanned buffer). */
export interface StartLine {
  /** First byte of the start line (> s when junk preceded it on the same line). */
  start: number;
  /** Request: method end (exclusive). */
  methodEnd: number;
  targetStart: number;
  targetEnd: number;
  /** The `x` of `HTTP/1.x`. */
  minor: number;
  /** Response status. */
  status: number;
  /** Extra spaces were tolerated. */
  loose: boolean;
}

export function newStartLine(): StartLine {
  return { start: 0, methodEnd: 0, targetStart: 0, targetEnd: 0, minor: 0, status: 0, loose: false };
}

/** Known methods used to split junk glued to a method (`xxGET` → `GET`) while resynchronising. Longest first. */
const KNOWN_METHODS = ['PROPPATCH', 'PROPFIND', 'OPTIONS', 'CONNECT', 'DELETE', 'TRACE', 'PATCH', 'POST', 'HEAD']
  .concat(['MKCOL', 'LOCK', 'MOVE', 'COPY', 'GET', 'PUT'])
  .map((m) => Buffer.from(m, 'latin1'));

/**
 * Methods a request at a clean message boundary may start with as they are. Another method that ends with a
 * known one (`loooGET`, `XXPOST`) there is bytes left over from the message before (a body longer than its
 * Content-Length, a body with no length) glued to the next request: read as after a gap, as gor and tshark
 * do. Registered methods that only end like a known one (`UNLOCK`, `UNCHECKOUT`, `CCM_POST`) are listed so they
 * stay whole (zeek-http-methods.pcap in the corpus has CCM_POST).
 * The native flow core makes the same check (flow_core.cc IsLeftOverMethod).
 */
const REGISTERED_METHODS = byLength(
  ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PRI', 'QUERY', 'PURGE']
    .concat(['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'ACL'])
    .concat(['BIND', 'UNBIND', 'REBIND', 'LINK', 'UNLINK', 'MKCALENDAR', 'MKACTIVITY', 'MKWORKSPACE', 'LABEL'])
    .concat(['CHECKIN', 'CHECKOUT', 'UNCHECKOUT', 'MERGE', 'UPDATE', 'ORDERPATCH', 'MKREDIRECTREF'])
    .concat(['UPDATEREDIRECTREF', 'VERSION-CONTROL', 'BASELINE-CONTROL'])
    // Also in Wireshark's list: Microsoft's (SCCM, Exchange WebDAV) that end like a common one.
    .concat(['CCM_POST', 'BMOVE', 'BCOPY', 'BDELETE', 'BPROPFIND', 'BPROPPATCH']),
);

function byLength(names: string[]): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  for (const n of names) {
    out[n.length] ??= [];
    out[n.length]!.push(Buffer.from(n, 'latin1'));
  }
  return out;
}

function isRegisteredMethod(buf: Uint8Array, s: number, e: number): boolean {
  const list = REGISTERED_METHODS[e - s];
  if (list === undefined) return false;
  for (const m of list) {
    let i = 0;
    while (i < m.length && buf[s + i] === m[i]) i++;
    if (i === m.length) return true;
  }
  return false;
}

/** `HTTP/1.` followed by a digit at `at`. */
function isVersion(buf: Uint8Array, at: number): boolean {
  return (
    buf[at] === 0x48 &&
    buf[at + 1] === 0x54 &&
    buf[at + 2] === 0x54 &&
    buf[at + 3] === 0x50 &&
    buf[at + 4] === 0x2f &&
    buf[at + 5] === 0x31 &&
    buf[at + 6] === 0x2e &&
    buf[at + 7]! >= 0x30 &&
    buf[at + 7]! <= 0x39
  );
}

function endsWith(buf: Uint8Array, end: number, pat: Uint8Array): boolean {
  if (end < pat.length) return false;
  for (let i = 0; i < pat.length; i++) if (buf[end - pat.length + i] !== pat[i]) return false;
  return true;
}

/**
 * Request line: `method SP target SP HTTP/1.x`. At a clean message boundary (`resync` false) the method runs
 * from `s` to the first space and the target to the last space (extra spaces tolerated). While resynchronising
 * the line is read strictly from its end (`... method SP target SP version`) so junk before it is skipped, and
 * a known method glued to junk is split off.
 */
export function matchRequestLine(buf: Uint8Array, s: number, e: number, resync: boolean, out: StartLine): boolean {
  while (e > s && (buf[e - 1] === SP || buf[e - 1] === HT)) e--;
  const v = e - 8;
  if (v - 4 < s || buf[v - 1] !== SP || !isVersion(buf, v)) return false;
  let te = v - 1;
  let ms: number;
  let me: number;
  let ts: number;
  let loose = false;
  if (!resync) {
    while (te > s && buf[te - 1] === SP) te--;
    me = s;
    while (me < te && buf[me] !== SP) me++;
    if (me === s || me >= te) return false;
    ts = me + 1;
    while (buf[ts] === SP) ts++;
    loose = ts !== me + 1 || te !== v - 1;
    ms = me;
    while (ms > s && TCHAR[buf[ms - 1]!]) ms--;
    // A method with non-token bytes means junk precedes the message: treat it as a resync.
    if (ms !== s) return matchRequestLine(buf, s, e, true, out);
    // Not `method SP target SP version` with a method as sent (an unregistered one, or spaces in the target):
    // bytes left over from the last message may run into this request line. Read as after a gap; the result
    // stands only when it skips to a registered method, else the line is kept as it is (`get /a`, `FOO /a`).
    if (!isRegisteredMethod(buf, ms, me) || hasSpace(buf, ts, te)) {
      if (matchRequestLine(buf, s, e, true, out) && out.start > s && isRegisteredMethod(buf, out.start, out.methodEnd))
        return true;
    }
  } else {
    ts = te;
    while (ts > s && buf[ts - 1] !== SP) ts--;
    if (ts === te || ts - 1 <= s) return false;
    me = ts - 1;
    ms = me;
    while (ms > s && TCHAR[buf[ms - 1]!]) ms--;
    if (ms === me) return false;
    for (const m of KNOWN_METHODS) {
      if (me - ms > m.length && endsWith(buf, me, m)) {
        ms = me - m.length;
        break;
      }
    }
  }
  for (let i = ts; i < te; i++) {
    const b = buf[i]!;
    if (b < 0x20 && b !== HT) return false; // control bytes: binary data, not a target
  }
  out.start = ms;
  out.methodEnd = me;
  out.targetStart = ts;
  out.targetEnd = te;
  out.minor = buf[v + 7]! - 0x30;
  out.status = 0;
  out.loose = loose;
  return true;
}

function hasSpace(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i] === SP) return true;
  return false;
}

/** Status line at `k`: `HTTP/1.x SP+ ddd (SP reason | end)`. */
function statusAt(buf: Uint8Array, k: number, e: number, out: StartLine): boolean {
  if (e - k < 12 || !isVersion(buf, k) || buf[k + 8] !== SP) return false;
  let d = k + 9;
  while (d < e && buf[d] === SP) d++;
  if (e - d < 3) return false;
  let status = 0;
  for (let i = d; i < d + 3; i++) {
    const x = buf[i]! - 0x30;
    if (x < 0 || x > 9) return false;
    status = status * 10 + x;
  }
  if (status < 100) return false;
  if (d + 3 < e && buf[d + 3] !== SP && buf[d + 3] !== HT) return false;
  out.start = k;
  out.minor = buf[k + 7]! - 0x30;
  out.status = status;
  out.loose = d !== k + 9;
  out.methodEnd = out.targetStart = out.targetEnd = k;
  return true;
}

/** Status line starting at `s`, or failing that the first one embedded later in the line. */
export function matchStatusLine(buf: Uint8Array, s: number, e: number, out: StartLine): boolean {
  for (let k = s; k + 12 <= e; k++) {
    if (buf[k] === 0x48 && statusAt(buf, k, e, out)) return true;
  }
  return false;
}

const PREFACE_LINE = Buffer.from('PRI * HTTP/2.0', 'latin1');

/** The first line of the HTTP/2 connection preface (prior knowledge or after an h2c upgrade). */
export function isH2PrefaceLine(buf: Uint8Array, s: number, e: number): boolean {
  if (e - s !== PREFACE_LINE.length) return false;
  for (let i = 0; i < PREFACE_LINE.length; i++) if (buf[s + i] !== PREFACE_LINE[i]) return false;
  return true;
}
