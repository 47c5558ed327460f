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
 * Runs once per message on the pipeline's hot path when --stats is on: the header block is decoded to text
 * once and scanned with indexOf; bodies are only walked when chunked or content-encoded.
 */
import zlib from 'node:zlib';
import { dechunk } from '../protocol/http1/dechunk.js';

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

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');
/** Bodies decoded to measure them are cut here: a hostile "zip bomb" costs at most this much memory. */
const MAX_DECODED = 256 * 1024 * 1024;

/** Where the header block ends (just after its blank line); the whole message when there is none. */
export function headerBlockEnd(data: Buffer): number {
  const crlf = data.indexOf(CRLFCRLF);
  if (crlf !== -1) {
    // A bare-LF blank line earlier than the CRLF one (lenient senders) ends the block there.
    const lf = data.indexOf(LFLF, 0);
    return lf !== -1 && lf < crlf ? lf + 2 : crlf + 4;
  }
  const lf = data.indexOf(LFLF);
  return lf === -1 ? data.length : lf + 2;
}

interface Head {
  startLine: string;
  /** Lower-cased names we care about → trimmed value (first occurrence wins). */
  host: string;
  contentType: string;
  contentEncoding: string;
  chunked: boolean;
  client: string;
}

/** Reads the few headers accounting uses; one pass over the header block's lines. */
function readHead(data: Buffer, end: number, clientHeader: string): Head {
  const text = data.toString('latin1', 0, end);
  let nl = text.indexOf('\n');
  const first = nl === -1 ? text : text.slice(0, nl);
  const head: Head = {
    startLine: first.endsWith('\r') ? first.slice(0, -1) : first,
    host: '',
    contentType: '',
    contentEncoding: '',
    chunked: false,
    client: '',
  };
  let hostSeen = false;
  while (nl !== -1) {
    const start = nl + 1;
    nl = text.indexOf('\n', start);
    const lineEnd = nl === -1 ? text.length : nl;
    const colon = text.indexOf(':', start);
    if (colon === -1 || colon > lineEnd) continue;
    const nameLength = colon - start;
    // Only names of these lengths can matter: skip the rest without making strings.
    if (
      nameLength !== 4 &&
      nameLength !== 12 &&
      nameLength !== 16 &&
      nameLength !== 17 &&
      nameLength !== clientHeader.length
    )
      continue;
    const name = text.slice(start, colon).toLowerCase();
    if (name === 'host' && !hostSeen) {
      head.host = text.slice(colon + 1, lineEnd).trim();
      hostSeen = true;
    } else if (name === 'content-type' && head.contentType === '') {
      const v = text.slice(colon + 1, lineEnd);
      const semi = v.indexOf(';');
      head.contentType = (semi === -1 ? v : v.slice(0, semi)).trim().toLowerCase();
    } else if (name === 'content-encoding' && head.contentEncoding === '') {
      head.contentEncoding = text
        .slice(colon + 1, lineEnd)
        .trim()
        .toLowerCase();
    } else if (name === 'transfer-encoding') {
      head.chunked = /(?:^|,)\s*chunked\s*$/i.test(text.slice(colon + 1, lineEnd));
    } else if (name === clientHeader && head.client === '') {
      const v = text.slice(colon + 1, lineEnd);
      const comma = v.indexOf(',');
      head.client = (comma === -1 ? v : v.slice(0, comma)).trim();
    }
  }
  return head;
}

/** Sum of chunk sizes, without copying the data (same framing rules as dechunk, lenient at the end). */
export function chunkedEntityLength(body: Buffer): number {
  let pos = 0;
  let total = 0;
  while (pos < body.length) {
    const nl = body.indexOf(0x0a, pos);
    if (nl === -1) break;
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
    const available = Math.min(size, body.length - pos);
    total += available;
    pos += available;
    if (body[pos] === 0x0d) pos++;
    if (body[pos] === 0x0a) pos++;
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

/** The start line's first two tokens. */
function startTokens(line: string): [string, string] {
  const s1 = line.indexOf(' ');
  if (s1 === -1) return [line, ''];
  let s2 = line.indexOf(' ', s1 + 1);
  if (s2 === -1) s2 = line.length;
  return [line.slice(0, s1), line.slice(s1 + 1, s2)];
}

/** Accounting facts of a request. `clientHeader` is lower-case. Returns null when it is not an HTTP/1 request. */
export function measureRequest(data: Buffer, clientHeader = 'x-real-ip'): RequestFacts | null {
  const end = headerBlockEnd(data);
  const head = readHead(data, end, clientHeader);
  if (!/ HTTP\/\d\.\d$/.test(head.startLine)) return null;
  const [method, target] = startTokens(head.startLine);
  const bodyBytes = data.length - end;
  return {
    method,
    target,
    host: head.host,
    headerBytes: end,
    bodyBytes,
    bodyEntityBytes: head.chunked && bodyBytes > 0 ? chunkedEntityLength(data.subarray(end)) : bodyBytes,
    client: head.client,
  };
}

/** Accounting facts of a response, or null when it does not start with an HTTP/1 status line. */
export function measureResponse(data: Buffer): ResponseFacts | null {
  const end = headerBlockEnd(data);
  const head = readHead(data, end, '');
  const [version, code] = startTokens(head.startLine);
  if (!/^HTTP\/\d\.\d$/.test(version) || !/^\d{3}$/.test(code)) return null;
  const bodyBytes = data.length - end;
  let entity = bodyBytes;
  let decoded = bodyBytes;
  if (bodyBytes > 0 && (head.chunked || head.contentEncoding !== '')) {
    const body = data.subarray(end);
    if (head.contentEncoding === '' || head.contentEncoding === 'identity') {
      entity = head.chunked ? chunkedEntityLength(body) : bodyBytes;
      decoded = entity;
    } else {
      const entityBytes = head.chunked ? dechunk(body).data : body;
      entity = entityBytes.length;
      decoded = decodedLength(entityBytes, head.contentEncoding);
    }
  }
  return {
    status: Number(code),
    headerBytes: end,
    bodyBytes,
    bodyEntityBytes: entity,
    bodyDecodedBytes: decoded,
    contentType: head.contentType,
    contentEncoding: head.contentEncoding,
  };
}
