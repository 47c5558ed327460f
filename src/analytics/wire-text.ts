/**
 * The text of bytes from the traffic that analytics shows as names: request paths and hosts.
 *
 *   bytes ─▶ all ASCII ──────────────────────────▶ as they are           /users/1
 *         └▶ valid UTF-8 ────────────────────────▶ its characters        /uni/é/日本
 *         └▶ anything else: valid sequences kept, each other byte as \xHH /caf\xe9 (one latin1 é byte)
 *
 * One rule for every engine and output (docs/analytics.md "Routes"): the JavaScript tracker and the native
 * core's answers (native-tracker.ts) both make their strings here, so routes and hosts are the same either way.
 * `\xHH` (lower-case hex, as printable.ts writes control characters) rather than latin1 for invalid bytes: a
 * latin1-encoded `é` (one byte E9) would otherwise read exactly as a UTF-8 `é` and merge with it, and a reader
 * sees which bytes were not text. The form is ASCII, so JSON, CSV, Prometheus labels and InfluxDB tags carry
 * it with their own escaping only. (A path holding both invalid bytes and a literal `\x41` cannot be told
 * apart from one holding the byte 41 there; such paths are not seen in practice.)
 *
 * Not on the per-message path: callers make these strings only for a path or host not seen before (the
 * tracker checks for a byte ≥ 0x80 in the loop that already walks the path).
 */
import { latin1 } from './head-scan.js';

interface Utf8Sliceable {
  utf8Slice(start: number, end: number): string;
}

/** `buf[from, to)` as text: ASCII and valid UTF-8 as their characters, other bytes as `\xHH`. */
export function wireText(buf: Buffer, from: number, to: number): string {
  for (let k = from; k < to; k++) if (buf[k]! >= 0x80) return nonAsciiText(buf, from, to);
  return latin1(buf, from, to);
}

/**
 * A Host header value `buf[from, to)` as text, with ASCII white space (HTAB, LF, VT, FF, CR, SP) trimmed from
 * its ends as bytes, before decoding: '' when nothing else is there. The native core judges a Host value empty
 * by the same bytes (stats_core.cc HostEmpty), so both engines fall back to the target's authority alike.
 */
export function hostText(buf: Buffer, from: number, to: number): string {
  if (from === -1) return '';
  while (from < to && isAsciiSpace(buf[from]!)) from++;
  while (to > from && isAsciiSpace(buf[to - 1]!)) to--;
  return wireText(buf, from, to);
}

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** The same for bytes known to hold one ≥ 0x80. */
function nonAsciiText(buf: Buffer, from: number, to: number): string {
  const decode = buf as unknown as Utf8Sliceable;
  let out = '';
  let run = from; // buf[run, k) is valid and not yet in `out`
  let k = from;
  while (k < to) {
    const n = utf8SequenceAt(buf, k, to);
    if (n > 0) {
      k += n;
      continue;
    }
    out += `${decode.utf8Slice(run, k)}\\x${buf[k]!.toString(16).padStart(2, '0')}`;
    k++;
    run = k;
  }
  return run === from ? decode.utf8Slice(from, to) : out + decode.utf8Slice(run, to);
}

/**
 * The length of the well-formed UTF-8 sequence at `buf[k]` (1–4), or 0 when none starts there (the Unicode
 * standard's table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF, no cut sequence).
 */
function utf8SequenceAt(buf: Buffer, k: number, to: number): number {
  const b0 = buf[k]!;
  if (b0 < 0x80) return 1;
  if (b0 < 0xc2 || b0 > 0xf4) return 0;
  if (k + 1 >= to) return 0;
  const b1 = buf[k + 1]!;
  if (b0 < 0xe0) return isContinuation(b1) ? 2 : 0;
  // The second byte's range depends on the first (that is what rules out overlongs, surrogates and > U+10FFFF).
  const low = b0 === 0xe0 ? 0xa0 : b0 === 0xf0 ? 0x90 : 0x80;
  const high = b0 === 0xed ? 0x9f : b0 === 0xf4 ? 0x8f : 0xbf;
  if (b1 < low || b1 > high || k + 2 >= to || !isContinuation(buf[k + 2]!)) return 0;
  if (b0 < 0xf0) return 3;
  return k + 3 < to && isContinuation(buf[k + 3]!) ? 4 : 0;
}

function isContinuation(c: number): boolean {
  return c >= 0x80 && c <= 0xbf;
}
