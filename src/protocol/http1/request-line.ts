/**
 * gor's byte-level start-line helpers (spec §7.7): method, request-target ("path"), query parameters and
 * status, read and rewritten in place. The request-target is the bytes between the first and second space,
 * exactly as sent (no decoding, fragment included). Getters return views; editors return new Buffers.
 */

import { indexOfByte, SP, splice, toBytes } from './bytes.js';
import { hasRequestTitle, hasResponseTitle, hasTitle } from './title.js';

const EMPTY = Buffer.alloc(0);
const AMP = 0x26;
const QUESTION = 0x3f;
const EQUALS = 0x3d;

/** gor's `Method`: the bytes before the first space, or empty when there is no space. */
export function method(payload: Buffer): Buffer {
  const end = payload.indexOf(SP);
  return end === -1 ? EMPTY : payload.subarray(0, end);
}

/** Offsets of the bytes between the first and second space, or null when there is no second space. */
function targetSpan(payload: Buffer): [number, number] | null {
  const start = payload.indexOf(SP) + 1;
  if (start === 0) return null;
  const end = payload.indexOf(SP, start);
  return end === -1 ? null : [start, end];
}

/** gor's `Path`: the request-target of a valid request (gor title rules), else empty. */
export function path(payload: Buffer): Buffer {
  const span = requestTargetSpan(payload);
  return span ? payload.subarray(span[0], span[1]) : EMPTY;
}

/**
 * gor's `SetPath`: replace the bytes between the first and second space of any titled payload (on a response
 * that is the status code, as in gor). gor returns nil for untitled payloads; we return them unchanged, which
 * no modifier can observe because modifiers only run on titled requests.
 */
export function setPath(payload: Buffer, newPath: string | Buffer): Buffer {
  if (!hasTitle(payload)) return payload;
  const span = targetSpan(payload);
  if (!span) return payload;
  return splice(payload, span[0], span[1], toBytes(newPath));
}

/** Offsets of a valid request's target (gor title rules), or null: what `path` returns, without a view. */
function requestTargetSpan(payload: Buffer): [number, number] | null {
  return hasRequestTitle(payload) ? targetSpan(payload) : null;
}

/**
 * Where `name`'s value sits in the target `buf[s, e)`, as absolute offsets: gor looks for `&name=` first and
 * only then for `?name=`. Byte loops, no needle Buffers: this runs per request for --http-set-param and
 * --http-param-limiter.
 */
function paramSpan(buf: Buffer, s: number, e: number, name: Uint8Array): [number, number] | null {
  let at = findParam(buf, s, e, AMP, name);
  if (at === -1) at = findParam(buf, s, e, QUESTION, name);
  if (at === -1) return null;
  const vs = at + name.length + 2;
  const amp = indexOfByte(buf, AMP, vs, e);
  return [vs, amp === -1 ? e : amp];
}

/** First `i` in `[s, e)` where `buf` holds `prefix name =` entirely before `e`, or -1. */
function findParam(buf: Buffer, s: number, e: number, prefix: number, name: Uint8Array): number {
  const last = e - name.length - 2;
  for (let i = s; i <= last; i++) {
    if (buf[i] !== prefix) continue;
    let k = 0;
    while (k < name.length && buf[i + 1 + k] === name[k]) k++;
    if (k === name.length && buf[i + 1 + k] === EQUALS) return i;
  }
  return -1;
}

/**
 * gor's `PathParam`: the raw value of query parameter `name` (up to the next `&` or the end of the target,
 * fragment included), or null when absent. A present-but-empty parameter gives an empty Buffer.
 */
export function pathParam(payload: Buffer, name: string | Buffer): Buffer | null {
  const target = requestTargetSpan(payload);
  if (!target) return null;
  const span = paramSpan(payload, target[0], target[1], toBytes(name));
  return span ? payload.subarray(span[0], span[1]) : null;
}

/**
 * gor's `SetPathParam`: replace the value of `name`, or append `?name=value` (no `?` yet) or `&name=value`.
 * No encoding. Only requests are edited (see `setPath`). One splice of the payload: the same bytes as gor's
 * new path put back with SetPath.
 */
export function setPathParam(payload: Buffer, name: string | Buffer, value: string | Buffer): Buffer {
  const target = requestTargetSpan(payload);
  if (!target) return payload;
  const [ts, te] = target;
  const nameBytes = toBytes(name);
  const valueBytes = toBytes(value);
  const span = paramSpan(payload, ts, te, nameBytes);
  if (span) return splice(payload, span[0], span[1], valueBytes);
  const sep = indexOfByte(payload, QUESTION, ts, te) === -1 ? QUESTION : AMP;
  const added = Buffer.allocUnsafe(nameBytes.length + valueBytes.length + 2);
  added[0] = sep;
  added.set(nameBytes, 1);
  added[nameBytes.length + 1] = EQUALS;
  added.set(valueBytes, nameBytes.length + 2);
  return splice(payload, te, te, added);
}

/** gor's `Status`: the 3 status bytes of a valid response (gor title rules), else empty. */
export function status(payload: Buffer): Buffer {
  if (!hasResponseTitle(payload)) return EMPTY;
  const start = payload.indexOf(SP) + 1;
  return payload.subarray(start, start + 3);
}
