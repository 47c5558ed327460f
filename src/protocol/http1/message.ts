/**
 * What the HTTP/1 splitter reports for each message it cuts out of a byte stream: where it is (absolute stream
 * offsets, so the TCP layer can slice its own buffers and map bytes back to segments), how it is framed, and
 * whether and why it is incomplete. No header values are kept: the bytes stay with the caller.
 */

export type MessageKind = 'request' | 'response';

/**
 * Why a message is incomplete:
 * - `gap`: bytes inside it are missing (see `missingBytes`); if framing was lost it ends where the next start
 *   line was found;
 * - `eof`: the stream ended before the message did;
 * - `max-size`: cut at `maxSize` (or the header block exceeded `maxHeaderSize`); `trueLength` tells the real
 *   length when the framing gave it;
 * - `expired`: the caller gave up waiting (`expire()`);
 * - `malformed`: the body framing was invalid (bad chunk size, bad chunk terminator; with `strictLength`, a
 *   length that cannot be trusted), so its end is a guess (the next start line);
 * - `memory-budget`: cut where the stream was because the caller could hold it no longer (`cutHeld()`: a
 *   capture's budget for all messages in progress); the rest of it is skipped as after a `max-size` cut.
 */
export type IncompleteReason = 'gap' | 'eof' | 'max-size' | 'expired' | 'malformed' | 'memory-budget';

/** Leniencies and oddities seen while parsing, as bit flags in `Http1Message.anomalies`. */
export const Anomaly = {
  /** A line ended in a bare LF. */
  LF_ONLY: 1 << 0,
  /** A header value continued on the next line (obs-fold). */
  OBS_FOLD: 1 << 1,
  /** Whitespace between a header name and its colon. */
  SPACE_BEFORE_COLON: 1 << 2,
  /** A header line without a colon (ignored). */
  BAD_HEADER_LINE: 1 << 3,
  /** A Content-Length that is not a decimal number (ignored). */
  BAD_CONTENT_LENGTH: 1 << 4,
  /** Several different Content-Length values (the first one was used, unless `strictLength` lost the framing). */
  CONFLICTING_CONTENT_LENGTH: 1 << 5,
  /** Both Transfer-Encoding: chunked and Content-Length (chunked wins, as RFC 9112 says). */
  CONTENT_LENGTH_AND_CHUNKED: 1 << 6,
  /** A Transfer-Encoding whose last coding is not chunked. */
  UNKNOWN_TRANSFER_ENCODING: 1 << 7,
  /** Chunk data ended in a bare LF instead of CRLF (accepted). */
  CHUNK_LF_ONLY: 1 << 8,
  /** Bytes that were not HTTP were skipped just before this message (see the splitter's stats). */
  AFTER_GARBAGE: 1 << 9,
  /** The start line had extra spaces. */
  LOOSE_START_LINE: 1 << 10,
} as const;

/** Human-readable names of the bits set in `flags`. */
export function describeAnomalies(flags: number): string[] {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(Anomaly)) if (flags & bit) names.push(name);
  return names;
}

export class Http1Message {
  readonly kind: MessageKind;
  /** Absolute stream offset of the first byte (the start line; skipped garbage is not included). */
  readonly start: number;
  /** Absolute stream offset just after the last byte. For `max-size` cuts: `start + maxSize`. */
  end = -1;
  /** Absolute offset just after the blank line ending the header block; -1 when it was never seen. */
  headerEnd = -1;
  /** Request: its method. Response: the method fed with `expect()` for it ('' when none was fed). */
  method = '';
  /** Request-target exactly as sent (bytes as latin1 characters). '' for responses. */
  target = '';
  /** `HTTP/1.x`. */
  version = '';
  /** Status code; 0 for requests. */
  status = 0;
  /** Header fields in the header block (obs-fold continuations are not counted). */
  headerCount = 0;
  /** Trailer fields after a chunked body. */
  trailerCount = 0;
  /** Content-Length value, -1 when absent or unusable. */
  contentLength = -1;
  /** Transfer-Encoding ends in `chunked`. */
  chunked = false;
  /** Response body runs to the end of the stream. */
  closeDelimited = false;
  /** Body bytes on the wire (`end - headerEnd`): chunk framing and trailers included. */
  bodyLength = 0;
  /** Decoded entity bytes: the chunk data for chunked bodies, else the body length. */
  entityLength = 0;
  /** Request carried `Expect: 100-continue` (any case). */
  expectContinue = false;
  /**
   * The protocol may switch after this message: a CONNECT request or one with `Upgrade` + `Connection:
   * upgrade`; a 101 response or a 2xx answer to CONNECT (after which the stream is opaque).
   */
  upgrade = false;
  /** A 1xx response other than 101: an interim response, the final one follows. */
  interim = false;
  /** Why the message is incomplete, or null when it is whole. */
  incomplete: IncompleteReason | null = null;
  /** Total length the framing announced (`headerEnd - start + Content-Length`), or -1 when unknown. */
  trueLength = -1;
  /** Bytes inside `[start, end)` that never arrived (`gap()`). */
  missingBytes = 0;
  /** `Anomaly` bit flags. */
  anomalies = 0;
  /** The message bytes, only with the `collect` option (gaps are skipped, so length = end - start - missing). */
  bytes: Buffer | null = null;

  constructor(kind: MessageKind, start: number) {
    this.kind = kind;
    this.start = start;
  }

  /** Bytes of the message as reported: `end - start`. */
  get length(): number {
    return this.end - this.start;
  }
}
