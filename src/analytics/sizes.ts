/**
 * Per-message accounting: where the bytes of one HTTP/1 message are, read from the message bytes alone.
 *
 *   GET /a HTTP/1.1\r\n Host: x\r\n \r\n │ body …
 *   └──────────── header bytes ────────┘ └ body bytes (on the wire: chunk framing included)
 *
 * Header bytes run from the start line to the blank line that ends the header block, inclusive. Body bytes
 * are everything after it, as captured. The entity is the body without chunked framing; decoded is the entity
 * after Content-Encoding (gzip, deflate, br) is removed. These are the definitions of docs/analytics.md.
 *
 * These functions measure one message on its own (tests, the Elasticsearch output); the tracker's hot path
 * runs the same pieces (head-scan.ts, the helpers below) on the record's bytes without making the facts objects.
 * Bodies are only walked when chunked or content-encoded.
 */
import zlib from 'node:zlib';
import { dechunk } from '../protocol/http1/dechunk.js';
import { endsWithHttpVersion, HeadScan, headerName, isHttpVersion, latin1, scanHead, statusAt } from './head-scan.js';

export interface RequestFacts {
  readonly method: string;
  /** The request-target as sent. */
  readonly target: string;
  readonly host: string;
  readonly headerBytes: number;
  readonly bodyBytes: number;
  readonly bodyEntityBytes: number;
  /** The value of the client-address header asked for (`X-Real-IP` unless told otherwise), '' if absent. */
  readonly client: string;
}

export interface ResponseFacts {
  readonly status: number;
  readonly headerBytes: number;
  readonly bodyBytes: number;
  readonly bodyEntityBytes: number;
  readonly bodyDecodedBytes: number;
  readonly contentType: string;
  readonly contentEncoding: string;
}

/** Bodies decoded to measure them are cut here: a hostile "zip bomb" costs at most this much memory. */
const MAX_DECODED = 256 * 1024 * 1024;

/** Where the header block ends (just after its blank line); the whole message when there is none. */
export function headerBlockEnd(data: Buffer): number {
  const scan = new HeadScan();
  scanHead(data, 0, data.length, null, scan);
  return scan.end;
}

/** `buf[from, to)` as text, trimmed ('' when absent). */
export function valueText(buf: Buffer, from: number, to: number): string {
  return from === -1 ? '' : latin1(buf, from, to).trim();
}

/** A Transfer-Encoding value whose last coding is `chunked`. */
export function isChunked(buf: Buffer, from: number, to: number): boolean {
  return from !== -1 && /(?:^|,)\s*chunked\s*$/i.test(latin1(buf, from, to));
}

/** The Content-Type value without parameters, lower-case. */
export function mediaType(buf: Buffer, from: number, to: number): string {
  if (from === -1) return '';
  const v = latin1(buf, from, to);
  const semi = v.indexOf(';');
  return (semi === -1 ? v : v.slice(0, semi)).trim().toLowerCase();
}

/** The first address of a client-address header value (`10.0.0.9, 1.1.1.1` → `10.0.0.9`). */
export function firstAddress(buf: Buffer, from: number, to: number): string {
  if (from === -1) return '';
  const v = latin1(buf, from, to);
  const comma = v.indexOf(',');
  return (comma === -1 ? v : v.slice(0, comma)).trim();
}

/** Sum of chunk sizes of the chunked body `body[from, to)`, without copying (same framing rules as dechunk, lenient at the end). */
export function chunkedEntityLength(body: Uint8Array, from = 0, to = body.length): number {
  let pos = from;
  let total = 0;
  while (pos < to) {
    let nl = pos;
    while (nl < to && body[nl] !== 0x0a) nl++;
    if (nl === to) break;
    let size = 0;
    let digits = 0;
    for (let i = pos; i < nl; i++) {
      const c = body[i]!;
      const d =
        c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (d === -1) break;
      size = size * 16 + d;
      digits++;
    }
    if (digits === 0) break;
    pos = nl + 1;
    if (size === 0) break;
    const available = Math.min(size, to - pos);
    total += available;
    pos += available;
    if (body[pos] === 0x0d && pos < to) pos++;
    if (body[pos] === 0x0a && pos < to) pos++;
  }
  return total;
}

/** Length of `entity` after removing `encoding`; the entity's own length when it cannot be decoded. */
export function decodedLength(entity: Buffer, encoding: string): number {
  if (encoding === '' || encoding === 'identity' || entity.length === 0) return entity.length;
  const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: MAX_DECODED };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.gunzipSync(entity, options).length;
    if (encoding === 'deflate') {
      // "deflate" is zlib-wrapped by the RFC, raw deflate by some servers: try both, as browsers do.
      try {
        return zlib.inflateSync(entity, options).length;
      } catch {
        return zlib.inflateRawSync(entity, options).length;
      }
    }
    if (encoding === 'br') {
      return zlib.brotliDecompressSync(entity, {
        finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
        maxOutputLength: MAX_DECODED,
      }).length;
    }
  } catch {
    // Corrupt or cut-short coded bodies: counted as they are (docs/analytics.md).
  }
  return entity.length;
}

/** Accounting facts of a request. `clientHeader` is lower-case. Returns null when it is not an HTTP/1 request. */
export function measureRequest(data: Buffer, clientHeader = 'x-real-ip'): RequestFacts | null {
  const head = new HeadScan();
  scanHead(data, 0, data.length, headerName(clientHeader), head);
  if (!endsWithHttpVersion(data, 0, head.lineEnd)) return null;
  const s1 = head.space1;
  const targetEnd = head.space2 === -1 ? head.lineEnd : head.space2;
  const bodyBytes = data.length - head.end;
  const chunked = isChunked(data, head.transferStart, head.transferEnd);
  return {
    method: latin1(data, 0, s1),
    target: latin1(data, s1 + 1, targetEnd),
    host: valueText(data, head.hostStart, head.hostEnd),
    headerBytes: head.end,
    bodyBytes,
    bodyEntityBytes: chunked && bodyBytes > 0 ? chunkedEntityLength(data, head.end, data.length) : bodyBytes,
    client: firstAddress(data, head.clientStart, head.clientEnd),
  };
}

/** The status of the response in `buf[start, lineEnd)` (its start line), or -1 when it is not an HTTP/1 one. */
export function responseStatus(buf: Buffer, start: number, head: HeadScan): number {
  if (head.space1 === -1 || !isHttpVersion(buf, start, head.space1)) return -1;
  return statusAt(buf, head.space1 + 1, head.space2 === -1 ? head.lineEnd : head.space2);
}

/** Entity and decoded sizes of the response body `buf[from, to)`: [entity, decoded]. */
export function responseBodySizes(
  buf: Buffer,
  from: number,
  to: number,
  chunked: boolean,
  encoding: string,
): [number, number] {
  const bodyBytes = to - from;
  if (bodyBytes <= 0 || (!chunked && encoding === '')) return [bodyBytes, bodyBytes];
  if (encoding === '' || encoding === 'identity') {
    const entity = chunked ? chunkedEntityLength(buf, from, to) : bodyBytes;
    return [entity, entity];
  }
  const body = buf.subarray(from, to);
  const entityBytes = chunked ? dechunk(body).data : body;
  return [entityBytes.length, decodedLength(entityBytes, encoding)];
}

/** Accounting facts of a response, or null when it does not start with an HTTP/1 status line. */
export function measureResponse(data: Buffer): ResponseFacts | null {
  const head = new HeadScan();
  scanHead(data, 0, data.length, null, head);
  const status = responseStatus(data, 0, head);
  if (status === -1) return null;
  const encoding = valueText(data, head.encodingStart, head.encodingEnd).toLowerCase();
  const chunked = isChunked(data, head.transferStart, head.transferEnd);
  const [entity, decoded] = responseBodySizes(data, head.end, data.length, chunked, encoding);
  return {
    status,
    headerBytes: head.end,
    bodyBytes: data.length - head.end,
    bodyEntityBytes: entity,
    bodyDecodedBytes: decoded,
    contentType: mediaType(data, head.typeStart, head.typeEnd),
    contentEncoding: encoding,
  };
}
