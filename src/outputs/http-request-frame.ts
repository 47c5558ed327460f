/**
 * Where a recorded request ends, as gor's parser (Go's http.ReadRequest) reads it before replaying: the head up
 * to its blank line, then a body framed by Content-Length or chunked encoding, or none at all (a request with
 * neither has no body). Bytes after that end are not part of the request: gor ignores them, and sent as they
 * are, the target would read them as a next request. A request whose framing says more is coming than the
 * record holds was recorded incomplete: the target would wait for the rest (gor sends none: Go refuses to
 * read or write it).
 *
 * The common request (CRLF head, at most one Content-Length, no Transfer-Encoding) is framed here by one scan
 * of its head; anything else goes to the RequestSplitter, the project's reference framer.
 * The native sender's raw-run reader (http_sender.cc FramedWhole) sends a record itself only when this would
 * return `{ length: payload.length }` by the same simple rules; every other record comes back to JavaScript.
 */

import { CR, CRLFCRLF, HT, LF, SP } from '../protocol/http1/bytes.js';
import { Anomaly } from '../protocol/http1/message.js';
import { decimal, equalsLower } from '../protocol/http1/response-fast-path.js';
import { RequestSplitter } from '../protocol/http1/splitter.js';

export interface RequestFrame {
  /** Bytes of the payload that are the request (≤ payload length). */
  readonly length: number;
  /** Why the payload holds only part of a request (what is missing); undefined when it is whole. */
  readonly incomplete?: string;
  /** Why its body cannot be framed at all (gor's parser refuses the request); undefined when it can. */
  readonly unframed?: string;
}

const CONTENT_LENGTH = Uint8Array.from(Buffer.from('content-length', 'latin1'));
const TRANSFER_ENCODING = Uint8Array.from(Buffer.from('transfer-encoding', 'latin1'));

/** The request at the start of `payload` (which starts with a request line), framed as gor frames it. */
export function frameRequest(payload: Buffer): RequestFrame {
  const simple = simpleRequestLength(payload);
  if (simple >= 0) {
    if (simple <= payload.length) return { length: simple };
    const blank = payload.indexOf(CRLFCRLF);
    return {
      length: payload.length,
      incomplete: `Content-Length ${simple - blank - 4}, ${payload.length - blank - 4} body bytes`,
    };
  }
  const splitter = new RequestSplitter({ targets: false });
  const first = splitter.push(payload)[0] ?? splitter.end()[0];
  if (first === undefined) return { length: payload.length, incomplete: 'no request found' };
  const unframed = badFraming(first.anomalies, first.chunked);
  if (unframed) return { length: payload.length, unframed };
  if (first.incomplete === null) return { length: first.end };
  const what =
    first.headerEnd < 0
      ? 'its head does not end with a blank line'
      : first.chunked
        ? first.incomplete === 'malformed'
          ? 'its chunked body is malformed'
          : 'its chunked body ends before the last chunk'
        : `Content-Length ${first.contentLength}, ${first.bodyLength} body bytes`;
  return { length: payload.length, incomplete: what };
}

/**
 * Length of a request with a CRLF head, no Transfer-Encoding and at most one plain Content-Length (head +
 * that many body bytes, or the head alone without one), which may be longer than `payload` (then it was
 * recorded short); -1 when the request is not that simple (the splitter frames it) or has no blank line.
 */
export function simpleRequestLength(payload: Buffer): number {
  const blank = payload.indexOf(CRLFCRLF);
  if (blank === -1) return -1;
  let line = payload.indexOf(LF) + 1; // after the request line (checked by the caller's title rule)
  if (line === 0 || payload[line - 2] !== CR) return -1;
  let length = -1;
  while (line < blank + 2) {
    const first = payload[line]!;
    if (first === SP || first === HT) return -1; // obs-fold
    let colon = -1;
    let eol = line;
    for (; eol < blank + 2; eol++) {
      const c = payload[eol]!;
      if (c === CR) break;
      if (c === LF) return -1;
      if (c === 0x3a && colon === -1) colon = eol;
    }
    if (payload[eol + 1] !== LF || colon <= line) return -1;
    const nameLength = colon - line;
    if (nameLength === CONTENT_LENGTH.length && equalsLower(payload, line, CONTENT_LENGTH)) {
      if (length !== -1) return -1;
      length = decimal(payload, colon + 1, eol);
      if (length < 0) return -1;
    } else if (nameLength === TRANSFER_ENCODING.length && equalsLower(payload, line, TRANSFER_ENCODING)) {
      return -1;
    }
    line = eol + 2;
  }
  return blank + 4 + Math.max(0, length);
}

/** Framing Go's http.ReadRequest refuses (so gor sends nothing), from the splitter's anomalies; '' when none. */
function badFraming(anomalies: number, chunked: boolean): string {
  if (anomalies & Anomaly.CONFLICTING_CONTENT_LENGTH) return 'it has differing Content-Length values';
  if (anomalies & Anomaly.UNKNOWN_TRANSFER_ENCODING) return 'its Transfer-Encoding does not end in chunked';
  if (!chunked && anomalies & Anomaly.BAD_CONTENT_LENGTH)
    return 'its Content-Length is not a number of at most 15 digits';
  return '';
}
