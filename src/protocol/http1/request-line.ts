/**
 * gor's byte-level start-line helpers (spec §7.7): method, request-target ("path"), query parameters and
 * status, read and rewritten in place. The request-target is the bytes between the first and second space,
 * exactly as sent (no decoding, fragment included). Getters return views; editors return new Buffers.
 */

import { SP, splice, toBytes } from './bytes.js';
import { hasRequestTitle, hasResponseTitle, hasTitle } from './title.js';

const EMPTY = Buffer.alloc(0);
const AMP = 0x26;

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
  if (!hasRequestTitle(payload)) return EMPTY;
  const span = targetSpan(payload);
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

/** Where `name`'s value sits inside `target`: gor looks for `&name=` first and only then for `?name=`. */
function paramSpan(target: Buffer, name: Buffer): [number, number] | null {
  const eq = Buffer.from('=', 'latin1');
  let at = target.indexOf(Buffer.concat([Buffer.from('&', 'latin1'), name, eq]));
  if (at === -1) at = target.indexOf(Buffer.concat([Buffer.from('?', 'latin1'), name, eq]));
  if (at === -1) return null;
  const vs = at + name.length + 2;
  const amp = target.indexOf(AMP, vs);
  return [vs, amp === -1 ? target.length : amp];
}

/**
 * gor's `PathParam`: the raw value of query parameter `name` (up to the next `&` or the end of the target,
 * fragment included), or null when absent. A present-but-empty parameter gives an empty Buffer.
 */
export function pathParam(payload: Buffer, name: string | Buffer): Buffer | null {
  const target = path(payload);
  const span = paramSpan(target, toBytes(name));
  return span ? target.subarray(span[0], span[1]) : null;
}

/**
 * gor's `SetPathParam`: replace the value of `name`, or append `?name=value` (no `?` yet) or `&name=value`.
 * No encoding. Only requests are edited (see `setPath`).
 */
export function setPathParam(payload: Buffer, name: string | Buffer, value: string | Buffer): Buffer {
  if (!hasRequestTitle(payload)) return payload;
  const target = path(payload);
  const nameBytes = toBytes(name);
  const valueBytes = toBytes(value);
  const span = paramSpan(target, nameBytes);
  if (span) return setPath(payload, splice(target, span[0], span[1], valueBytes));
  const sep = target.indexOf(0x3f) === -1 ? '?' : '&';
  return setPath(payload, Buffer.concat([target, Buffer.from(sep, 'latin1'), nameBytes, Buffer.from('='), valueBytes]));
}

/** gor's `Status`: the 3 status bytes of a valid response (gor title rules), else empty. */
export function status(payload: Buffer): Buffer {
  if (!hasResponseTitle(payload)) return EMPTY;
  const start = payload.indexOf(SP) + 1;
  return payload.subarray(start, start + 3);
}
