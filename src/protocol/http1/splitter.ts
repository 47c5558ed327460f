/**
 * Incremental, sans-IO HTTP/1.x message splitter for ONE direction of a byte stream (after TCP reassembly, a
 * replay client's response stream, a proxy's sockets). Feed bytes with `push()`, missing bytes with `gap()`,
 * the end of the stream with `end()`; each returns the messages completed by that call, in stream order, with
 * absolute byte offsets. The splitter never copies or keeps the stream: the caller keeps the bytes from
 * `retainFrom` on and slices messages by their offsets (or sets `collect` to get copies).
 *
 *   START ──start line──▶ HEADERS ──blank line──▶ BODY (Content-Length) ────────────┐
 *     ▲  ╲ junk: skip,                      ├──▶ CHUNK_SIZE ⇄ CHUNK_DATA ⇄ CHUNK_END │
 *     │    count, resync                    │        └─0──▶ TRAILERS ─blank line─────┤
 *     │                                     ├──▶ CLOSE (response without length) ─end()
 *     └────────────── message complete ◀────┴── no body ◀────────────────────────────┘
 *   101 / 2xx to CONNECT / h2 preface / non-HTTP after an upgrade request ──▶ OPAQUE (for good)
 *
 * Lines (start line, headers, chunk sizes, trailers) are parsed in place in the pushed chunk; only a line cut
 * by a chunk boundary is copied to a small line buffer. Bodies are counted, never touched. Leniency: bare-LF
 * line ends, obs-fold, space before colon, unknown methods, junk before a start line (skipped and counted).
 */

import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import * as bytes from './bytes.js';
import * as fieldValues from './field-values.js';
import type { Http1Message, IncompleteReason, MessageKind } from './message.js';
import * as message from './message.js';
import * as startLine from './start-line.js';

// Hot-path imports are copied to module-local constants once. Under tsx (tests, `npm run bench`) each read of
// an imported binding is a getter call, which halved throughput; compiled ESM is unaffected either way.
const { COLON, CR, equalsLower, HEX, HT, indexOfByte, LF, lowerPattern, SEMI, SP, TCHAR } = bytes;
const { Anomaly } = message;
const { CL_CONFLICT, lastCodingIsChunked, listHasToken, parseContentLength, valueEquals, valueIsPresent } = fieldValues;
const MessageClass = message.Http1Message;
const { isH2PrefaceLine, matchRequestLine, matchStatusLine, newStartLine } = startLine;

export interface SplitterOptions {
  /**
   * Largest message reported whole, in bytes. A longer one is reported at `start + maxSize` with
   * `incomplete: 'max-size'` (and `trueLength` when Content-Length gave it); the rest of it is skipped using its
   * framing. Default: no limit.
   */
  maxSize?: number;
  /**
   * Largest header block (start line included). Beyond it the message is cut as `max-size`. It also bounds
   * the start line looked for in junk and the part of one header line kept for parsing. Default: 64 KiB for
   * those lines; for the block, `maxSize` when that is given (a capture keeps a large header block whole up
   * to the size its user chose, as gor does up to its buffer), else 64 KiB.
   */
  maxHeaderSize?: number;
  /** Copy each message's bytes into `message.bytes`. Off by default: the caller slices its own buffer. */
  collect?: boolean;
  /**
   * With `collect`: the caller never changes a chunk's bytes after pushing it (capture buffers are not
   * reused), so `bytes` may be a view. A message inside one chunk is then not copied at all, and one that
   * spans chunks is copied once (instead of once per chunk and once more to join them). A view keeps the
   * caller's whole buffer alive: a message still in progress keeps views of the latest buffer only (those of
   * earlier buffers are copied when a chunk of another one arrives), so one that trickles in for a long time
   * does not pin every buffer it touched. Default false: `bytes` never shares memory.
   */
  stableChunks?: boolean;
  /**
   * Fill each request's `target` (default true). False leaves it '' and saves a string per request, for a
   * caller that never reads it (raw capture emits the bytes and never looks at the target).
   */
  targets?: boolean;
  /**
   * A body length that cannot be trusted loses the framing (RFC 9112 §6.3: an unrecoverable error): the
   * message is reported `malformed` and runs to the next start line, which is looked for as after junk. That
   * is: Content-Length values that differ or one that is not a number, where the body needs a length (not a
   * chunked body, a HEAD/204/304/1xx answer, or a response with a Transfer-Encoding, which runs to the close);
   * and a request whose Transfer-Encoding does not end in `chunked`. Default false: the first valid value is
   * used (or none: no body for a request, a body to the close for a response) and the message only flagged, so
   * a client that refuses such answers (a replay connection) decides itself. A capture sets it: taking one of
   * the values silently mis-cuts that message and reads the rest of its body as the next one.
   */
  strictLength?: boolean;
}

/** Why the splitter stopped producing HTTP messages. */
export type OpaqueReason = 'upgrade' | 'connect' | 'h2-preface' | 'caller';

/** Counters for every byte that did not end up inside a reported message. */
export interface SplitterStats {
  messages: number;
  /** Messages reported with an `incomplete` reason. */
  incomplete: number;
  /** Non-HTTP bytes skipped while looking for a start line. */
  garbageBytes: number;
  /** Runs of such bytes (each ends when a start line is found). */
  resyncs: number;
  /** Empty lines between messages (tolerated, RFC 9112 §2.2). */
  blankBytes: number;
  gaps: number;
  gapBytes: number;
  /** Bytes of over-long messages after their `max-size` cut. */
  discardedBytes: number;
  /** Bytes after the protocol switched (`opaque`). */
  opaqueBytes: number;
}

const S_START = 0;
const S_HEADERS = 1;
const S_BODY = 2;
const S_CHUNK_SIZE = 3;
const S_CHUNK_DATA = 4;
const S_CHUNK_END = 5;
const S_TRAILERS = 6;
const S_CLOSE = 7;
const S_OPAQUE = 8;
const S_ENDED = 9;

/** Which framing header the previous header line was, so an obs-fold continuation can extend it. */
const F_NONE = 0;
const F_TE = 1;

/** How much of an uninteresting line (trailers, headers being discarded) is kept: enough for a header name. */
const LINE_KEEP = 256;
/** A line buffer grown past this is dropped once its line is done. */
const LINE_BUF_SHRINK = 16 * 1024;
/** Chunk size lines longer than this are malformed (Go uses 4096 too). */
const MAX_CHUNK_LINE = 4096;
/** `maxHeaderSize` when none is given (see SplitterOptions). */
const DEFAULT_MAX_HEADER = 64 * 1024;
/** A copy of part of a message shorter than this is joined with the next copy (see `ownViews`). */
const COMPACT_BYTES = 4096;
/** Digits of a chunk size: 13 hex digits stay below 2^53. */
const MAX_CHUNK_DIGITS = 13;

const L_CONTENT_LENGTH = lowerPattern('content-length');
const L_TRANSFER_ENCODING = lowerPattern('transfer-encoding');
const L_EXPECT = lowerPattern('expect');
const L_UPGRADE = lowerPattern('upgrade');
const L_CONNECTION = lowerPattern('connection');
const L_CHUNKED = lowerPattern('chunked');
const L_100_CONTINUE = lowerPattern('100-continue');

const EMPTY_BUF = Buffer.alloc(0);
const NONE: readonly Http1Message[] = Object.freeze([]);

/** Common methods as constants, so the hot path does not allocate a string for them. */
const COMMON_METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'].map(
  (m) => [m, Buffer.from(m, 'latin1')] as const,
);

function methodString(buf: Buffer, s: number, e: number): string {
  for (const [name, bytes] of COMMON_METHODS) {
    if (bytes.length !== e - s) continue;
    let i = 0;
    while (i < bytes.length && buf[s + i] === bytes[i]) i++;
    if (i === bytes.length) return name;
  }
  return buf.toString('latin1', s, e);
}

function versionString(minor: number): string {
  return minor === 1 ? 'HTTP/1.1' : minor === 0 ? 'HTTP/1.0' : `HTTP/1.${minor}`;
}

function isWs(b: number | undefined): boolean {
  return b === SP || b === HT;
}

export class Http1Splitter {
  readonly kind: MessageKind;
  readonly stats: SplitterStats = {
    messages: 0,
    incomplete: 0,
    garbageBytes: 0,
    resyncs: 0,
    blankBytes: 0,
    gaps: 0,
    gapBytes: 0,
    discardedBytes: 0,
    opaqueBytes: 0,
  };
  /** Set once the stream stopped being HTTP/1: from which absolute offset, and why. */
  opaque: { readonly from: number; readonly reason: OpaqueReason } | null = null;

  private readonly maxSize: number;
  /** Longest start line, and the part of a header line kept (`maxHeaderSize`, default 64 KiB). */
  private readonly maxHeaderSize: number;
  /** Largest header block before the cut (`maxHeaderSize` if given, else `maxSize` if given, else 64 KiB). */
  private readonly maxHeaderBlock: number;
  private readonly collect: boolean;
  private readonly stableChunks: boolean;
  private readonly targets: boolean;
  private readonly strictLength: boolean;

  private state = S_START;
  /** Absolute offset of the next byte. */
  private pos = 0;
  /** During a call: the chunk being parsed and the absolute offset of its first byte. */
  private chunk: Buffer = EMPTY_BUF;
  private base = 0;

  /** Message being parsed. When `discarding`, it was already reported (max-size) and is only being skipped. */
  private cur: Http1Message | null = null;
  private discarding = false;
  /** A message whose framing was lost (gap, malformed): it absorbs bytes until the next start line. */
  private tail: Http1Message | null = null;
  /** Looking for a start line after junk or a gap: start lines are read more strictly. */
  private resync = false;
  private inGarbage = false;
  /** After an upgrade/CONNECT request: anything but a request line means the protocol switched. */
  private maybeOpaque: OpaqueReason | null = null;

  /** Bytes left in the Content-Length body or the current chunk. */
  private remaining = 0;
  private chunkCr = false;
  private lastField = F_NONE;
  private teSeen = false;
  private upgradeHeader = false;
  private connectionUpgrade = false;

  /** A line cut by a chunk boundary: its first bytes, its absolute start, and how many bytes were not kept. */
  private lineBuf: Buffer = Buffer.allocUnsafe(256);
  private lineLen = 0;
  private lineAbs = 0;
  private lineDropped = 0;

  private readonly sl = newStartLine();
  private out: Http1Message[] | null = null;

  /** Response side: methods of the requests, in order (see `ResponseSplitter.expect`). */
  protected readonly expected: string[] = [];
  private expectedHead = 0;

  /** `collect` option: pieces of the message being collected, and up to where it has been collected. */
  private parts: Buffer[] = [];
  private collectedTo = 0;
  /** `parts` from this index on are views of the caller's chunks (`stableChunks`); those before are copies. */
  /** Bytes in `parts` (see `heldBytes`). */
  private partsBytes = 0;
  private viewsFrom = 0;

  constructor(kind: MessageKind, options: SplitterOptions = {}) {
    this.kind = kind;
    this.maxSize = options.maxSize ?? Number.POSITIVE_INFINITY;
    this.maxHeaderSize = options.maxHeaderSize ?? DEFAULT_MAX_HEADER;
    this.maxHeaderBlock = options.maxHeaderSize ?? (Number.isFinite(this.maxSize) ? this.maxSize : DEFAULT_MAX_HEADER);
    this.collect = options.collect ?? false;
    this.stableChunks = options.stableChunks ?? false;
    this.targets = options.targets ?? true;
    this.strictLength = options.strictLength ?? false;
    if (!(this.maxSize > 0) || !(this.maxHeaderSize > 0)) {
      throw new TaplineError(ERROR_CODES.BAD_HTTP, 'maxSize and maxHeaderSize must be positive');
    }
  }

  /** Absolute offset of the next byte to be pushed (bytes pushed plus gap bytes). */
  get position(): number {
    return this.pos;
  }

  /**
   * The caller must keep stream bytes from this absolute offset on to slice messages not yet reported;
   * everything before it can be released.
   */
  get retainFrom(): number {
    if (this.cur && !this.discarding) return this.cur.start;
    if (this.tail) return this.tail.start;
    if (this.state === S_START && this.lineLen > 0) return this.lineAbs;
    return this.pos;
  }

  /** True while a message has started and not been reported yet. */
  get inMessage(): boolean {
    return (this.cur !== null && !this.discarding) || this.tail !== null;
  }

  /**
   * True between messages: none started, and no part of a start line waiting for its end (blank lines and
   * reported interim answers leave it true). The native replay framer's idle() is the same.
   */
  get betweenMessages(): boolean {
    return !this.inMessage && !(this.state === S_START && this.lineLen > 0);
  }

  /**
   * True while a message's head is in and its body has no length (no Content-Length, or a Transfer-Encoding
   * that does not end in chunked): it ends only with the stream (a replay client says so when it times out).
   */
  get untilClose(): boolean {
    return this.state === S_CLOSE && this.cur !== null && this.cur.closeDelimited;
  }

  /**
   * True while a message whose framing was lost (a bad chunk line) waits to be reported: it is reported only
   * when the next start line or the end of the stream comes, so a client that must answer now asks here.
   */
  get framingLost(): boolean {
    return this.tail !== null;
  }

  /**
   * The message whose framing was lost and that waits for the next start line (see `framingLost`), or null.
   * Read it, never change it: a capture pairs an answer that comes meanwhile with it.
   */
  get lostMessage(): Readonly<Http1Message> | null {
    return this.tail;
  }

  /**
   * With `collect`: bytes of the message in progress held in its pieces (copies, or views of the caller's
   * chunks), 0 between messages. A caller bounding the memory of many splitters (a capture's budget) sums these
   * and calls `cutHeld()` on the largest.
   */
  get heldBytes(): number {
    return this.partsBytes;
  }

  /**
   * The caller cannot hold the message in progress any longer (a memory budget across many streams): it is
   * reported now, cut where the stream is, with `incomplete: 'memory-budget'`, and the rest of it is skipped by
   * its framing exactly as after a `max-size` cut. Nothing happens between messages or while skipping.
   */
  cutHeld(): readonly Http1Message[] {
    if (this.state === S_ENDED || this.state === S_OPAQUE) return NONE;
    this.chunk = EMPTY_BUF;
    this.base = this.pos;
    if (this.cur && !this.discarding) {
      this.cutMaxSize(this.pos, 'memory-budget');
    } else if (this.tail) {
      this.tail.incomplete = 'memory-budget';
      this.finishTail(this.pos);
    }
    return this.flush();
  }

  /**
   * The caller learnt that the message whose framing was lost is over (a capture saw its answer come): it is
   * reported now rather than when the next start line comes, so it is not reported after its answer. Bytes
   * before that start line are junk, as after any gap; a start line begun and not yet ended stays to be read.
   * Nothing happens when no such message waits.
   */
  endLostMessage(): readonly Http1Message[] {
    if (this.tail === null || this.state !== S_START) return NONE;
    this.chunk = EMPTY_BUF;
    this.base = this.pos;
    this.finishTail(this.lineLen > 0 ? this.lineAbs : this.pos);
    return this.flush();
  }

  /** The message being parsed and not yet reported (null between messages): read it, never change it. */
  get current(): Readonly<Http1Message> | null {
    return this.discarding ? null : this.cur;
  }

  /** Feed the next bytes of the stream. Returns the messages they complete (a shared empty array if none). */
  push(chunk: Buffer): readonly Http1Message[] {
    this.assertOpen('push');
    this.chunk = chunk;
    this.base = this.pos;
    const len = chunk.length;
    let p = 0;
    while (p < len) {
      switch (this.state) {
        case S_BODY:
          p = this.bodyStep(p);
          break;
        case S_CHUNK_DATA:
          p = this.chunkDataStep(p);
          break;
        case S_CHUNK_END:
          p = this.chunkEndStep(p);
          break;
        case S_CLOSE:
          p = len;
          this.checkSize(this.base + len);
          break;
        case S_OPAQUE:
          this.stats.opaqueBytes += len - p;
          p = len;
          break;
        default:
          p = this.lineStep(p);
      }
    }
    this.pos = this.base + len;
    if (this.collect && ((this.cur && !this.discarding) || this.tail)) this.flushCollect(this.pos, !this.stableChunks);
    this.chunk = EMPTY_BUF; // never hold on to the caller's buffer
    return this.flush();
  }

  /**
   * `n` bytes of the stream are missing here. A message whose framing survives (gap inside a Content-Length
   * body or a chunk's data, or a close-delimited body) stays framed and is reported with `incomplete: 'gap'`;
   * otherwise it is reported when the next start line is found, and junk in between is attributed to it.
   */
  gap(n: number): readonly Http1Message[] {
    this.assertOpen('gap');
    if (!Number.isSafeInteger(n) || n < 0) throw new TaplineError(ERROR_CODES.BAD_HTTP, `bad gap length ${n}`);
    if (n === 0) return NONE;
    this.stats.gaps++;
    this.stats.gapBytes += n;
    const at = this.pos;
    this.pos += n;
    this.chunk = EMPTY_BUF;
    this.base = this.pos;
    this.collectedTo = this.pos;
    const m = this.cur;
    switch (this.state) {
      case S_OPAQUE:
        break;
      case S_START:
        if (this.lineLen > 0) this.garbage(this.lineAbs, at);
        this.lineLen = 0;
        if (this.tail) this.tail.missingBytes += n;
        this.resync = true;
        break;
      case S_BODY:
        if (n < this.remaining) {
          this.remaining -= n;
          this.markGap(n);
        } else {
          const end = at + this.remaining;
          this.markGap(this.remaining);
          this.checkSize(end);
          this.complete(end);
          if (n > end - at) this.resync = true;
        }
        break;
      case S_CHUNK_DATA:
        if (n <= this.remaining) {
          this.remaining -= n;
          this.markGap(n);
          if (m && !this.discarding) m.entityLength += n;
          if (this.remaining === 0) this.toChunkEnd();
          break;
        }
        this.markGap(n);
        this.loseFraming('gap', this.pos);
        break;
      case S_CLOSE:
        this.markGap(n);
        break;
      default: // headers, chunk size line, chunk terminator, trailers: the framing is lost
        this.markGap(n);
        this.loseFraming('gap', this.pos);
    }
    return this.flush();
  }

  /**
   * The stream ended; anything unfinished is reported as `eof`. A close-delimited body completes when `closed`
   * (the sender closed the connection: its end is the body's end). When the bytes ended with the connection
   * still open (`closed` false: a capture that stopped, or lost the close), the body may have gone on: `eof`.
   */
  end(closed = true): readonly Http1Message[] {
    if (this.state === S_ENDED) return NONE;
    this.chunk = EMPTY_BUF;
    this.base = this.pos;
    switch (this.state) {
      case S_START:
        this.closeStartState('eof');
        break;
      case S_CLOSE:
        if (closed) this.complete(this.pos);
        else this.abandon('eof');
        break;
      case S_OPAQUE:
        break;
      default:
        this.abandon('eof');
    }
    this.state = S_ENDED;
    return this.flush();
  }

  /**
   * The caller does not know that the stream's first byte starts a message (a capture that began in the middle
   * of a connection): the first start line is looked for as after a gap, so the tail of a message glued to the
   * next request line (`…tail-of-bodyGET /a HTTP/1.1`) is skipped as junk instead of read as part of its
   * method. Only before the first byte.
   */
  startMidStream(): void {
    if (this.pos === 0 && this.state === S_START) this.resync = true;
  }

  /**
   * The caller gave up waiting (an idle timeout): report the unfinished message as `expired`. Later bytes are
   * treated as a resync, since where they belong is unknown.
   */
  expire(): readonly Http1Message[] {
    if (this.state === S_ENDED || this.state === S_OPAQUE) return NONE;
    this.chunk = EMPTY_BUF;
    this.base = this.pos;
    if (this.state === S_START) {
      if (this.lineLen === 0 && !this.tail) return NONE;
      this.closeStartState('expired');
    } else {
      this.abandon('expired');
    }
    this.resync = true;
    return this.flush();
  }

  /**
   * The caller knows the protocol switched (e.g. the response side saw a 101 to an upgrade request): every
   * byte not yet part of a message is opaque from now on. A message still in progress is reported as `eof`.
   */
  switchToOpaque(): readonly Http1Message[] {
    this.assertOpen('switchToOpaque');
    if (this.state === S_OPAQUE) return NONE;
    this.chunk = EMPTY_BUF;
    this.base = this.pos;
    let from = this.pos;
    if (this.state === S_START) {
      if (this.lineLen > 0) {
        from = this.lineAbs;
        this.stats.opaqueBytes += this.pos - from;
      }
    } else {
      this.abandon('eof');
    }
    this.enterOpaque(from, 'caller');
    return this.flush();
  }

  // ── line handling ──────────────────────────────────────────────────────────────────────────────────────

  private lineStep(p: number): number {
    const chunk = this.chunk;
    const base = this.base;
    const state = this.state;
    if (state === S_START && this.maybeOpaque && this.lineLen === 0) {
      const b = chunk[p]!;
      if (b !== CR && b !== LF && !TCHAR[b]) {
        // WebSocket frames, TLS records...: not a request line, so the protocol switched.
        this.enterOpaque(base + p, this.maybeOpaque);
        return p;
      }
    }
    const nl = chunk.indexOf(LF, p);
    if (nl === -1) return this.appendPartial(p);
    let buf: Buffer = chunk;
    let s = p;
    let e = nl;
    let abs = base + p;
    const dropped = this.lineDropped;
    if (this.lineLen > 0 || dropped > 0) {
      this.appendLine(p, nl, state === S_START ? Number.POSITIVE_INFINITY : this.lineKeep());
      buf = this.lineBuf;
      s = 0;
      e = this.lineLen;
      abs = this.lineAbs;
    }
    const total = base + nl + 1 - abs;
    const truncated = this.lineDropped > 0;
    this.lineLen = 0;
    this.lineDropped = 0;
    // Strip CR; `lfOnly` only means something when the line end was kept.
    let ce = e;
    let lfOnly = false;
    if (!truncated) {
      if (ce > s && buf[ce - 1] === CR) ce--;
      else lfOnly = true;
    }
    const absNext = base + nl + 1;
    switch (state) {
      case S_START:
        this.onStartLine(buf, s, ce, abs, absNext, lfOnly);
        break;
      case S_HEADERS:
        this.onHeaderLine(buf, s, ce, absNext, lfOnly, truncated);
        break;
      case S_CHUNK_SIZE:
        this.onChunkSizeLine(buf, s, ce, absNext, total);
        break;
      default:
        this.onTrailerLine(buf, s, ce, abs, absNext, lfOnly, truncated);
    }
    // Do not keep a buffer grown for one long line for the life of the connection.
    if (this.lineBuf.length > LINE_BUF_SHRINK) this.lineBuf = Buffer.allocUnsafe(256);
    return nl + 1;
  }

  /** How much of a partial line to keep, by state. */
  private lineKeep(): number {
    if (this.state === S_HEADERS) return this.discarding ? LINE_KEEP : this.maxHeaderSize + 1;
    if (this.state === S_CHUNK_SIZE) return MAX_CHUNK_LINE + 1;
    return LINE_KEEP;
  }

  /** Copy `chunk[from, to)` to the line buffer, keeping at most `keep` bytes of the line. */
  private appendLine(from: number, to: number, keep: number): void {
    if (this.lineLen === 0 && this.lineDropped === 0) this.lineAbs = this.base + from;
    const n = to - from;
    const take = Math.min(n, Math.max(0, keep - this.lineLen));
    if (take > 0) {
      if (this.lineLen + take > this.lineBuf.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.lineBuf.length * 2, this.lineLen + take));
        this.lineBuf.copy(grown, 0, 0, this.lineLen);
        this.lineBuf = grown;
      }
      this.chunk.copy(this.lineBuf, this.lineLen, from, from + take);
      this.lineLen += take;
    }
    this.lineDropped += n - take;
  }

  /** The rest of the chunk holds no LF: keep the partial line for the next push. Returns where to go on. */
  private appendPartial(p: number): number {
    const chunk = this.chunk;
    const len = chunk.length;
    const base = this.base;
    switch (this.state) {
      case S_START:
        return this.appendPartialStart(p);
      case S_HEADERS:
        this.afterHeaderBytes(base + len);
        break;
      case S_CHUNK_SIZE:
        if (this.lineLen + this.lineDropped + (len - p) > MAX_CHUNK_LINE) {
          this.lineLen = 0;
          this.lineDropped = 0;
          this.loseFraming('malformed', base + p);
          return p; // re-read these bytes as junk or the next start line
        }
        this.checkSize(base + len);
        break;
      default:
        this.checkSize(base + len);
    }
    this.appendLine(p, len, this.lineKeep());
    return len;
  }

  /**
   * Partial line while looking for a start line. Only what follows the last control byte, and at most the
   * last `maxHeaderSize` bytes, can still hold a start line: the rest is junk now. `onStartLine` applies the
   * same rule to whole lines, so results never depend on where the stream was cut.
   */
  private appendPartialStart(p: number): number {
    const chunk = this.chunk;
    const len = chunk.length;
    const base = this.base;
    const keep = this.maxHeaderSize + 1; // a start line of maxHeaderSize bytes plus its CR
    const lineStart = this.lineLen > 0 ? this.lineAbs : base + p;
    let ctl = -1;
    let q = len - 1;
    if (chunk[q] === CR) q--; // a final CR may yet end the line
    for (; q >= p; q--) {
      if (isCtl(chunk[q]!)) {
        ctl = q;
        break;
      }
    }
    // A CR kept from the previous chunk and not followed by LF is a control byte inside the line.
    if (ctl === -1 && this.lineLen > 0 && this.lineBuf[this.lineLen - 1] === CR) ctl = p - 1;
    if (this.maybeOpaque) {
      if (ctl !== -1 || this.lineLen + (len - p) > keep) {
        // Not a request line right after an upgrade/CONNECT request: the protocol switched.
        this.lineLen = 0;
        this.enterOpaque(lineStart, this.maybeOpaque);
        this.stats.opaqueBytes += base + p - lineStart;
        return p;
      }
      this.appendLine(p, len, Number.POSITIVE_INFINITY);
      return len;
    }
    let from = p;
    if (ctl !== -1) {
      this.garbage(lineStart, base + ctl + 1);
      this.lineLen = 0;
      from = ctl + 1;
    }
    if (len - from > keep) {
      this.garbage(this.lineLen > 0 ? this.lineAbs : base + from, base + len - keep);
      this.lineLen = 0;
      from = len - keep;
    }
    if (from < len) this.appendLine(from, len, Number.POSITIVE_INFINITY);
    if (this.lineLen > keep) {
      const drop = this.lineLen - keep;
      this.garbage(this.lineAbs, this.lineAbs + drop);
      this.lineBuf.copyWithin(0, drop, this.lineLen);
      this.lineLen -= drop;
      this.lineAbs += drop;
    }
    this.checkTail(base + len);
    return len;
  }

  private onStartLine(buf: Buffer, s: number, ce: number, abs: number, absNext: number, lfOnly: boolean): void {
    if (ce === s) {
      if (!this.tail) this.stats.blankBytes += absNext - abs;
      return;
    }
    if (this.kind === 'request' && isH2PrefaceLine(buf, s, ce)) {
      this.enterOpaque(abs, 'h2-preface');
      this.stats.opaqueBytes += absNext - abs;
      return;
    }
    const sl = this.sl;
    const cap = this.maxHeaderSize;
    if (this.maybeOpaque) {
      const ok = ce - s <= cap && lastCtl(buf, s, ce) === -1 && matchRequestLine(buf, s, ce, false, sl);
      if (!ok || sl.start !== s) {
        this.enterOpaque(abs, this.maybeOpaque);
        this.stats.opaqueBytes += absNext - abs;
        return;
      }
    }
    // Same rule as appendPartialStart: the candidate is after the last control byte, within the last `cap` bytes.
    let from = ce - s > cap ? ce - cap : s;
    const c = lastCtl(buf, from, ce);
    if (c !== -1) from = c + 1;
    if (from !== s) this.garbage(abs, abs + (from - s));
    const ok =
      this.kind === 'request' ? matchRequestLine(buf, from, ce, this.resync, sl) : matchStatusLine(buf, from, ce, sl);
    if (!ok) {
      this.garbage(abs + (from - s), absNext);
      this.checkTail(absNext);
      return;
    }
    const start = abs + (sl.start - s);
    if (sl.start !== from) this.garbage(abs + (from - s), start);
    this.finishTail(start);
    this.beginMessage(buf, start, lfOnly);
    this.state = S_HEADERS;
    this.afterHeaderBytes(absNext);
  }

  private beginMessage(buf: Buffer, start: number, lfOnly: boolean): void {
    const sl = this.sl;
    const m = new MessageClass(this.kind, start);
    if (this.kind === 'request') {
      m.method = methodString(buf, sl.start, sl.methodEnd);
      if (this.targets) m.target = buf.toString('latin1', sl.targetStart, sl.targetEnd);
    } else {
      m.status = sl.status;
    }
    m.version = versionString(sl.minor);
    if (lfOnly) m.anomalies |= Anomaly.LF_ONLY;
    if (sl.loose) m.anomalies |= Anomaly.LOOSE_START_LINE;
    if (this.inGarbage) m.anomalies |= Anomaly.AFTER_GARBAGE;
    this.cur = m;
    this.discarding = false;
    this.resync = false;
    this.inGarbage = false;
    this.maybeOpaque = null;
    this.lastField = F_NONE;
    this.teSeen = false;
    this.upgradeHeader = false;
    this.connectionUpgrade = false;
    if (this.collect) this.beginCollect(start);
  }

  private onHeaderLine(buf: Buffer, s: number, ce: number, absNext: number, lfOnly: boolean, truncated: boolean): void {
    this.afterHeaderBytes(absNext); // first: a cut must not see this line, whatever the chunking
    const m = this.cur!;
    if (lfOnly) m.anomalies |= Anomaly.LF_ONLY;
    if (ce === s && !truncated) {
      if (!this.discarding) m.headerEnd = absNext;
      this.headersDone(absNext);
      return;
    }
    const first = buf[s]!;
    if (first === SP || first === HT) {
      // obs-fold: continues the previous field's value.
      m.anomalies |= Anomaly.OBS_FOLD;
      if (this.lastField === F_TE) this.transferEncoding(buf, s, ce);
      this.afterHeaderBytes(absNext);
      return;
    }
    this.lastField = F_NONE;
    const colon = indexOfByte(buf, COLON, s, ce);
    let ne = colon;
    while (ne > s && isWs(buf[ne - 1])) ne--;
    if (ne <= s) {
      m.anomalies |= Anomaly.BAD_HEADER_LINE;
      this.afterHeaderBytes(absNext);
      return;
    }
    if (ne !== colon) m.anomalies |= Anomaly.SPACE_BEFORE_COLON;
    m.headerCount++;
    switch (ne - s) {
      case 14:
        if (equalsLower(buf, s, ne, L_CONTENT_LENGTH)) this.contentLength(parseContentLength(buf, colon + 1, ce));
        break;
      case 17:
        if (equalsLower(buf, s, ne, L_TRANSFER_ENCODING)) {
          this.teSeen = true;
          this.lastField = F_TE;
          this.transferEncoding(buf, colon + 1, ce);
        }
        break;
      case 6:
        if (equalsLower(buf, s, ne, L_EXPECT) && valueEquals(buf, colon + 1, ce, L_100_CONTINUE)) {
          m.expectContinue = true;
        }
        break;
      case 7:
        if (equalsLower(buf, s, ne, L_UPGRADE) && valueIsPresent(buf, colon + 1, ce)) this.upgradeHeader = true;
        break;
      case 10:
        if (equalsLower(buf, s, ne, L_CONNECTION) && listHasToken(buf, colon + 1, ce, L_UPGRADE)) {
          this.connectionUpgrade = true;
        }
        break;
    }
    this.afterHeaderBytes(absNext);
  }

  /**
   * Cut the message when its header block (all bytes so far) is over `maxHeaderBlock` or `maxSize`. The cut is
   * at the limit, not where it was noticed, so results do not depend on how the stream was chunked.
   */
  private afterHeaderBytes(absNow: number): void {
    if (this.discarding) return;
    const start = this.cur!.start;
    const limit = Math.min(this.maxHeaderBlock, this.maxSize);
    if (absNow - start > limit) this.cutMaxSize(start + limit);
  }

  /** Record a Content-Length: the first valid one wins; bad or disagreeing values are flagged. */
  private contentLength(value: number): void {
    const m = this.cur!;
    if (value < 0) {
      m.anomalies |= Anomaly.BAD_CONTENT_LENGTH | (value === CL_CONFLICT ? Anomaly.CONFLICTING_CONTENT_LENGTH : 0);
    } else if (m.contentLength === -1) {
      m.contentLength = value;
    } else if (m.contentLength !== value) {
      m.anomalies |= Anomaly.CONFLICTING_CONTENT_LENGTH;
    }
  }

  /** Transfer-Encoding (or its obs-fold continuation): chunked when the last listed coding is `chunked`. */
  private transferEncoding(buf: Buffer, vs: number, ve: number): void {
    const chunked = lastCodingIsChunked(buf, vs, ve, L_CHUNKED);
    if (chunked !== null) this.cur!.chunked = chunked;
  }

  /** The header block is complete: pick the body framing (RFC 9112 §6.3). */
  private headersDone(absEnd: number): void {
    const m = this.cur!;
    if (m.chunked && m.contentLength >= 0) m.anomalies |= Anomaly.CONTENT_LENGTH_AND_CHUNKED;
    if (this.teSeen && !m.chunked) m.anomalies |= Anomaly.UNKNOWN_TRANSFER_ENCODING;
    if (this.kind === 'request') {
      const connect = m.method === 'CONNECT';
      m.upgrade = connect || (this.upgradeHeader && this.connectionUpgrade);
      // A CONNECT request has no body: what follows is the tunnel, if the server accepts.
      if (connect) this.complete(absEnd);
      else if (this.strictLength && (this.teSeen ? !m.chunked : this.untrustedLength(m))) {
        this.loseFraming('malformed', absEnd);
      } else if (m.chunked) this.state = S_CHUNK_SIZE;
      else if (m.contentLength > 0) this.toBody(m.contentLength);
      else this.complete(absEnd); // no length, no body (an unknown Transfer-Encoding is flagged)
      return;
    }
    const st = m.status;
    if (st < 200 && st !== 101) {
      m.interim = true; // 100 Continue, 102, 103: the final response follows
      this.complete(absEnd);
      return;
    }
    m.method = this.takeExpected();
    if (st === 101 || (m.method === 'CONNECT' && st >= 200 && st < 300)) {
      m.upgrade = true;
      this.complete(absEnd);
      this.enterOpaque(absEnd, st === 101 ? 'upgrade' : 'connect');
    } else if (m.method === 'HEAD' || st === 204 || st === 304) {
      this.complete(absEnd);
    } else if (m.chunked) {
      this.state = S_CHUNK_SIZE;
    } else if (this.strictLength && !this.teSeen && this.untrustedLength(m)) {
      this.loseFraming('malformed', absEnd);
    } else if (!this.teSeen && m.contentLength >= 0) {
      if (m.contentLength > 0) this.toBody(m.contentLength);
      else this.complete(absEnd);
    } else {
      m.closeDelimited = true;
      this.state = S_CLOSE;
    }
  }

  /** Content-Length values that differ, or one that is not a number (see `strictLength`). */
  private untrustedLength(m: Http1Message): boolean {
    return (m.anomalies & (Anomaly.BAD_CONTENT_LENGTH | Anomaly.CONFLICTING_CONTENT_LENGTH)) !== 0;
  }

  private toBody(length: number): void {
    this.remaining = length;
    this.state = S_BODY;
  }

  private onChunkSizeLine(buf: Buffer, s: number, ce: number, absNext: number, total: number): void {
    let i = s;
    while (i < ce && isWs(buf[i])) i++;
    let n = 0;
    const digitsStart = i;
    // Leading zeros are valid (chunk-size = 1*HEXDIG) and add nothing: only the digits after them are bounded.
    let significantFrom = -1;
    for (; i < ce; i++) {
      const d = HEX[buf[i]!]!;
      if (d === 255) break;
      if (d !== 0 && significantFrom === -1) significantFrom = i;
      n = n * 16 + d;
    }
    const digits = i - digitsStart;
    const significant = significantFrom === -1 ? 0 : i - significantFrom;
    while (i < ce && isWs(buf[i])) i++;
    if (digits === 0 || significant > MAX_CHUNK_DIGITS || (i < ce && buf[i] !== SEMI) || total > MAX_CHUNK_LINE) {
      this.loseFraming('malformed', absNext);
      return;
    }
    if (n === 0) {
      this.state = S_TRAILERS;
    } else {
      this.remaining = n;
      this.state = S_CHUNK_DATA;
    }
    this.checkSize(absNext);
  }

  private onTrailerLine(
    buf: Buffer,
    s: number,
    ce: number,
    abs: number,
    absNext: number,
    lfOnly: boolean,
    truncated: boolean,
  ): void {
    if (ce === s && !truncated) {
      this.checkSize(absNext);
      this.complete(absNext);
      return;
    }
    if (!truncated && !isFieldLine(buf, s, ce)) {
      // Not a trailer field: the sender stopped at `0\r\n` without the blank line, and this is most likely the
      // next message's start line. Read as a trailer it would swallow that message's head (its body then
      // counted as junk, the message lost without a word); the chunked message ends here instead, `malformed`.
      this.loseFraming('malformed', abs);
      this.onStartLine(buf, s, ce, abs, absNext, lfOnly);
      return;
    }
    if (!this.discarding && indexOfByte(buf, COLON, s, ce) > s) this.cur!.trailerCount++;
    this.checkSize(absNext);
  }

  // ── bodies ─────────────────────────────────────────────────────────────────────────────────────────────

  private bodyStep(p: number): number {
    const take = Math.min(this.remaining, this.chunk.length - p);
    this.remaining -= take;
    p += take;
    const abs = this.base + p;
    this.checkSize(abs);
    if (this.remaining === 0) this.complete(abs);
    return p;
  }

  private chunkDataStep(p: number): number {
    const take = Math.min(this.remaining, this.chunk.length - p);
    this.remaining -= take;
    if (!this.discarding) {
      // Count only data before a max-size cut, so the result does not depend on chunk boundaries.
      const m = this.cur!;
      const from = this.base + p;
      m.entityLength += Math.min(take, Math.max(0, m.start + this.maxSize - from));
    }
    p += take;
    this.checkSize(this.base + p);
    if (this.remaining === 0) this.toChunkEnd();
    return p;
  }

  private toChunkEnd(): void {
    this.state = S_CHUNK_END;
    this.chunkCr = false;
  }

  /** The CRLF after chunk data. A bare LF is accepted; anything else means the chunk size lied. */
  private chunkEndStep(p: number): number {
    const b = this.chunk[p];
    if (b === LF) {
      if (!this.chunkCr && !this.discarding) this.cur!.anomalies |= Anomaly.CHUNK_LF_ONLY;
      this.state = S_CHUNK_SIZE;
      return p + 1;
    }
    if (b === CR && !this.chunkCr) {
      this.chunkCr = true;
      return p + 1;
    }
    this.loseFraming('malformed', this.base + p);
    return p;
  }

  // ── message lifecycle ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Cut the current message at `maxSize` (or where the header block overflowed, or where the stream is for a
   * `memory-budget` cut) and report it now. Parsing goes on with a private copy, so a reported message is never
   * changed afterwards.
   */
  private cutMaxSize(cutAt: number, reason: 'max-size' | 'memory-budget' = 'max-size'): void {
    const m = this.cur!;
    m.incomplete = reason;
    m.end = cutAt;
    if (m.headerEnd >= 0 && m.contentLength >= 0 && !m.chunked && !m.closeDelimited) {
      m.trueLength = m.headerEnd - m.start + m.contentLength;
    }
    this.setBodyLengths(m);
    this.emit(m);
    const shadow = new MessageClass(this.kind, m.start);
    shadow.method = m.method;
    shadow.status = m.status;
    shadow.contentLength = m.contentLength;
    shadow.chunked = m.chunked;
    shadow.headerEnd = m.headerEnd;
    shadow.end = m.end;
    this.cur = shadow;
    this.discarding = true;
  }

  private checkSize(absNow: number): void {
    if (!this.discarding && this.cur && absNow - this.cur.start > this.maxSize) {
      this.cutMaxSize(this.cur.start + this.maxSize);
    }
  }

  private setBodyLengths(m: Http1Message): void {
    m.bodyLength = m.headerEnd >= 0 ? Math.max(0, m.end - m.headerEnd) : 0;
    if (!m.chunked) m.entityLength = m.bodyLength;
  }

  /** The current message ended at `absEnd` by its framing. */
  private complete(absEnd: number): void {
    const m = this.cur!;
    this.cur = null;
    this.state = S_START;
    if (this.discarding) {
      this.stats.discardedBytes += absEnd - m.end;
      this.discarding = false;
    } else {
      m.end = absEnd;
      m.trueLength = absEnd - m.start;
      this.setBodyLengths(m);
      this.emit(m);
    }
    if (this.kind === 'request' && m.upgrade) this.maybeOpaque = m.method === 'CONNECT' ? 'connect' : 'upgrade';
  }

  /** The current message cannot finish (end of stream, expiry): report what there is. */
  private abandon(reason: IncompleteReason): void {
    const at = this.pos;
    const m = this.leaveMessage(at);
    if (!m) return;
    m.incomplete = reason;
    m.end = at;
    if (m.headerEnd >= 0 && m.contentLength >= 0 && !m.chunked) m.trueLength = m.headerEnd - m.start + m.contentLength;
    this.setBodyLengths(m);
    this.emit(m);
  }

  /**
   * Back to START, dropping the current message. Returns it, or null when it was an over-long message being
   * discarded after its max-size cut (its skipped bytes are counted here).
   */
  private leaveMessage(at: number): Http1Message | null {
    const m = this.cur!;
    this.cur = null;
    this.state = S_START;
    this.lineLen = 0;
    this.lineDropped = 0;
    if (!this.discarding) return m;
    this.stats.discardedBytes += at - m.end;
    this.discarding = false;
    return null;
  }

  /** A gap inside a message whose framing survives. */
  private markGap(n: number): void {
    const m = this.cur;
    if (!m || this.discarding) return;
    m.missingBytes += n;
    m.incomplete ??= 'gap';
  }

  /** The framing of the current message is lost: it becomes the tail, closed by the next start line. */
  private loseFraming(reason: IncompleteReason, at: number): void {
    this.resync = true;
    const m = this.leaveMessage(at);
    if (!m) return;
    m.incomplete ??= reason;
    this.tail = m;
  }

  private finishTail(absEnd: number): void {
    const t = this.tail;
    if (!t) return;
    this.tail = null;
    t.end = absEnd;
    this.setBodyLengths(t);
    this.emit(t);
  }

  /** A tail may not grow past `maxSize` either. */
  private checkTail(absNow: number): void {
    const t = this.tail;
    if (t && absNow - t.start > this.maxSize) this.finishTail(t.start + this.maxSize);
  }

  /** Leave START at end of stream or expiry: a cut-off start line still yields a (incomplete) message. */
  private closeStartState(reason: IncompleteReason): void {
    if (this.lineLen > 0) {
      const buf = this.lineBuf;
      let ce = this.lineLen;
      if (buf[ce - 1] === CR) ce--;
      const sl = this.sl;
      const ok =
        this.maybeOpaque === null &&
        (this.kind === 'request' ? matchRequestLine(buf, 0, ce, this.resync, sl) : matchStatusLine(buf, 0, ce, sl));
      if (ok) {
        const start = this.lineAbs + sl.start;
        if (sl.start > 0) this.garbage(this.lineAbs, start);
        this.finishTail(start);
        this.beginMessage(buf, start, false);
        this.lineLen = 0;
        this.abandon(reason);
      } else if (this.maybeOpaque) {
        this.stats.opaqueBytes += this.pos - this.lineAbs;
        this.enterOpaque(this.lineAbs, this.maybeOpaque);
      } else {
        this.garbage(this.lineAbs, this.pos);
      }
      this.lineLen = 0;
    }
    this.finishTail(this.pos);
  }

  /** Junk while looking for a start line: a tail absorbs it, else it is counted. */
  private garbage(from: number, to: number): void {
    this.resync = true;
    if (this.tail || to <= from) return;
    this.stats.garbageBytes += to - from;
    if (!this.inGarbage) {
      this.inGarbage = true;
      this.stats.resyncs++;
    }
  }

  private enterOpaque(from: number, reason: OpaqueReason): void {
    this.finishTail(from);
    this.state = S_OPAQUE;
    this.opaque = { from, reason };
    this.maybeOpaque = null;
    this.lineLen = 0;
    this.lineDropped = 0;
  }

  protected takeExpected(): string {
    if (this.expectedHead >= this.expected.length) return '';
    const method = this.expected[this.expectedHead++]!;
    if (this.expectedHead > 1024 && this.expectedHead * 2 > this.expected.length) {
      this.expected.splice(0, this.expectedHead);
      this.expectedHead = 0;
    }
    return method;
  }

  /** Methods fed with `expect()` and not yet matched to a response. */
  get pendingExpected(): number {
    return this.expected.length - this.expectedHead;
  }

  // ── output ─────────────────────────────────────────────────────────────────────────────────────────────

  private emit(m: Http1Message): void {
    if (this.collect) m.bytes = this.collectBytes(m);
    this.stats.messages++;
    if (m.incomplete) this.stats.incomplete++;
    if (this.out) this.out.push(m);
    else this.out = [m];
  }

  private flush(): readonly Http1Message[] {
    const out = this.out;
    this.out = null;
    return out ?? NONE;
  }

  private beginCollect(start: number): void {
    // Setting an array's length is a runtime call (2% of capture CPU when done twice per message): only when needed.
    if (this.parts.length > 0) this.parts.length = 0;
    this.partsBytes = 0;
    if (start < this.base) {
      // The start line began in an earlier chunk: those bytes are only in the line buffer now.
      this.parts.push(Buffer.from(this.lineBuf.subarray(start - this.lineAbs, this.base - this.lineAbs)));
      this.partsBytes = this.base - start;
      this.collectedTo = this.base;
    } else {
      this.collectedTo = start;
    }
    this.viewsFrom = this.parts.length;
  }

  private flushCollect(to: number, copy: boolean): void {
    const limit = Math.min(to, this.base + this.chunk.length);
    if (limit <= this.collectedTo) return;
    const from = this.collectedTo - this.base;
    const until = limit - this.base;
    // A message that is exactly the chunk (one request per packet, the usual case) needs no view of it.
    const piece = from === 0 && until === this.chunk.length ? this.chunk : this.chunk.subarray(from, until);
    if (copy) {
      this.parts.push(Buffer.from(piece));
      this.viewsFrom = this.parts.length;
    } else {
      if (this.viewsFrom < this.parts.length && this.parts[this.parts.length - 1]!.buffer !== piece.buffer) {
        this.ownViews();
      }
      this.parts.push(piece);
    }
    this.partsBytes += piece.length;
    this.collectedTo = limit;
  }

  /**
   * The message goes on in a chunk of another buffer: its views of earlier ones are copied now. A view keeps
   * the caller's whole buffer alive (a capture batch of megabytes for a 10-byte piece), so a message that
   * trickles in for minutes would pin every batch it touched; it now pins only the buffer of its latest chunk.
   * Copies below COMPACT_BYTES are joined with the copy before them, so a trickle of tiny pieces does not
   * become a list of tiny buffers either: each byte is copied at most a few times, and only in a message that
   * spans buffers.
   */
  private ownViews(): void {
    const parts = this.parts;
    let from = this.viewsFrom;
    if (from > 0 && parts[from - 1]!.length < COMPACT_BYTES) from--;
    const owned = Buffer.concat(parts.slice(from));
    parts.length = from;
    parts.push(owned);
    this.viewsFrom = parts.length;
  }

  private collectBytes(m: Http1Message): Buffer {
    const parts = this.parts;
    const copied = parts.length;
    this.flushCollect(m.end, false);
    // One piece that is already a copy (the message ended where an earlier chunk did), or a view of a stable
    // chunk, is the message as it is; otherwise the pieces are joined into a copy, so no view of an unstable
    // chunk escapes.
    const all = parts.length === 1 && (this.stableChunks || copied === 1) ? parts[0]! : Buffer.concat(parts);
    if (parts.length === 1) parts.pop();
    else parts.length = 0;
    this.partsBytes = 0;
    this.viewsFrom = 0;
    const want = m.end - m.start - m.missingBytes;
    return all.length > want ? all.subarray(0, want) : all;
  }

  private assertOpen(what: string): void {
    if (this.state === S_ENDED) throw new TaplineError(ERROR_CODES.BAD_HTTP, `${what}() after end()`);
  }
}

/** Control bytes cannot appear in a start line (HT is tolerated in reason phrases). */
function isCtl(b: number): boolean {
  return (b < 0x20 && b !== HT) || b === 0x7f;
}

/** `name:` with a token for a name, or an obs-fold continuation: what a header or trailer line may be. */
function isFieldLine(buf: Buffer, s: number, e: number): boolean {
  if (isWs(buf[s])) return true;
  const colon = indexOfByte(buf, COLON, s, e);
  if (colon <= s) return false;
  let ne = colon;
  while (ne > s && isWs(buf[ne - 1])) ne--; // space before the colon is tolerated in headers too
  for (let i = s; i < ne; i++) if (!TCHAR[buf[i]!]) return false;
  return ne > s;
}

/** Index of the last control byte in `buf[s, e)`, or -1. */
function lastCtl(buf: Buffer, s: number, e: number): number {
  for (let i = e - 1; i >= s; i--) if (isCtl(buf[i]!)) return i;
  return -1;
}

/** Cuts a client-to-server stream into requests. */
export class RequestSplitter extends Http1Splitter {
  constructor(options: SplitterOptions = {}) {
    super('request', options);
  }
}

/**
 * Cuts a server-to-client stream into responses. Framing depends on the request (a HEAD response has no body,
 * a 2xx to CONNECT opens a tunnel), so feed the request methods in order with `expect()`; without them every
 * response is framed as if it answered a GET.
 */
export class ResponseSplitter extends Http1Splitter {
  constructor(options: SplitterOptions = {}) {
    super('response', options);
  }

  /** The next final response answers a request with this method. */
  expect(method: string): void {
    this.expected.push(method);
  }

  /** Drops the oldest method fed with `expect()`: its response is no longer waited for (a bound on memory). */
  forgetExpected(): void {
    this.takeExpected();
  }
}
