/**
 * One keep-alive connection to a replay target: sends a captured request's bytes as they are and reads
 * exactly one response (framing by the HTTP/1 splitter, so keep-alive works with Content-Length, chunked
 * and close-delimited responses alike). One request in flight at a time, as gor does (no pipelining).
 * The common answer — a whole Content-Length response in one read — is framed by response-fast-path.ts
 * without the splitter, which only sees an exchange once its first read is anything else.
 * Plain-TCP reads land in one shared buffer (net's `onread`): no Buffer and no stream events per response.
 * Nothing may keep a view of it past the read callback, so whatever is kept or handed to the splitter is
 * copied first.
 *
 *   idle ──send()──▶ connecting ──▶ waiting for response ──complete──▶ idle
 *                         │                  │ timeout / reset / garbage
 *                         └──────────────────┴──▶ destroyed (the next send() reconnects)
 *
 * While a response arrives, its first `keepBytes` bytes are kept (track-response, redirects); the rest is
 * only counted, so a huge response costs no memory. Callbacks rather than promises, and no timer per request:
 * this runs tens of thousands of times a second.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Anomaly, type Http1Message, ResponseSplitter } from '../protocol/http1/index.js';
import { simpleResponseLength, simpleStatus } from '../protocol/http1/response-fast-path.js';
import type { HttpTarget } from './http-target.js';

export type FailureReason =
  | 'connect-refused'
  | 'connect-failed'
  | 'dns'
  | 'tls'
  | 'reset'
  | 'timeout'
  | 'bad-response'
  | 'closed';

export interface ReplayResult {
  ok: boolean;
  /** Status code of the final response (0 when none). */
  status: number;
  reason: FailureReason | undefined;
  detail: string | undefined;
  /** Send start → last response byte, ms. */
  latencyMs: number;
  /** Wall clock at send start, ms since the epoch with a fractional part (the type-3 meta timestamp). */
  startedMs: number;
  /** Response bytes received (all of them, kept or not). */
  responseBytes: number;
  /** The response's first `keepBytes` bytes (set when keepBytes > 0 and the exchange succeeded). */
  response: Buffer | undefined;
  /** The response was longer than what was kept. */
  truncated: boolean;
}

export type ReplayCallback = (result: ReplayResult) => void;

export interface ConnectionOptions {
  timeoutMs: number;
  skipVerify?: boolean;
  /** Bytes of each response to keep (0: keep none). */
  keepBytes?: number;
  /**
   * The target sent bytes no request asked for (a second response after one, or bytes on an idle connection;
   * not a 408 on an idle one, the usual "closing an idle keep-alive" notice, nor bare line ends). They are
   * dropped and the connection closed, as Go's transport does ("Unsolicited response received on idle HTTP
   * channel"); this is told so that they are counted.
   */
  onUnsolicited?: () => void;
  /** A request is sent again on a new connection: it met a kept-alive one the target had just closed. */
  onResend?: () => void;
  /** A connection is opened again after its last one ended (closed by the target, or by tapline after a failure). */
  onReopen?: () => void;
}

/** Where every plain-TCP connection's reads land (see the file header): read callbacks never overlap. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Why a response still incomplete at its timeout waits (the native sender says the same: kUntilCloseWhy). */
const UNTIL_CLOSE_WHY =
  ': its body has no length (no Content-Length, or a Transfer-Encoding that does not end in chunked), so it ' +
  'ends only when the target closes the connection, and the target kept it open';

/** performance.now() → wall clock ms (sub-ms precision), fixed once: no Date or BigInt per request. */
const WALL_OFFSET = performance.timeOrigin;

export class ReplayConnection {
  private socket: Socket | undefined;
  private splitter = new ResponseSplitter();
  /** The exchange in flight (one at most). */
  private done: ReplayCallback | undefined;
  private request: Buffer | undefined;
  private method = '';
  private started = 0;
  private deadline = 0;
  private bytes = 0;
  /** The exchange's response goes through the splitter (its first read was not one simple response). */
  private viaSplitter = false;
  /** Splitter position when it was handed the exchange: the response starts at or after it. */
  private from = 0;
  private kept: Buffer[] = [];
  private keptBytes = 0;
  /** Stream offset of kept's first byte: after the last interim answer (100 Continue, 103), which is not kept. */
  private keptFrom = 0;
  /** The exchange's first bytes through the splitter (up to HEAD_KEEP): where its answer's head is read. */
  private heads: Buffer[] = [];
  private headBytes = 0;
  /** The exchange went out on a connection that had served before (a stale keep-alive may be retried once). */
  private reused = false;
  private retried = false;
  private readonly keepBytes: number;
  /** A socket was opened before: the next one is a reopening (counted). */
  private opened = false;
  /** The TLS handshake of the current socket is done (https targets; for the timeout's words). */
  private secured = false;
  /** performance.now() when the last exchange ended (for idle retirement). */
  lastUsed = performance.now();

  constructor(
    readonly target: HttpTarget,
    private readonly options: ConnectionOptions,
  ) {
    this.keepBytes = options.keepBytes ?? 0;
  }

  /**
   * Sends one request; `done` is called exactly once with the outcome (never throws). A request that meets a
   * keep-alive connection the server has just closed is sent again once on a new one, as Go's transport does.
   * Timeouts are enforced by the owner calling checkTimeout() (one timer per pool, not one per request).
   */
  send(request: Buffer, method: string, done: ReplayCallback, deadline?: number): void {
    this.done = done;
    this.request = request;
    this.method = method;
    this.retried = false;
    this.started = performance.now();
    // A redirect's hop gets what is left of its job's timeout (Go's Client.Timeout covers the whole chain).
    this.deadline = deadline ?? this.started + this.options.timeoutMs;
    this.attempt();
  }

  /** Fails the exchange in flight if its deadline has passed. */
  checkTimeout(now: number): void {
    if (this.done !== undefined && now >= this.deadline) {
      this.fail('timeout', this.timeoutDetail());
    }
  }

  /**
   * Where the exchange stood when its time ran out: a connection never made (or a TLS handshake never done),
   * a target that does not read the request, one that does not answer, and a slow answer are looked for in
   * different places. The native sender says the same words (http_sender.cc TimeoutDetail).
   */
  private timeoutDetail(): string {
    const t = `${this.options.timeoutMs}ms`;
    const socket = this.socket;
    if (!socket || socket.connecting) return `no connection to the target within ${t}`;
    if (this.target.secure && !this.secured) return `no TLS handshake with the target within ${t}`;
    if (this.bytes === 0 && socket.writableLength > 0) return `the target did not take the whole request within ${t}`;
    if (this.bytes === 0) return `no response within ${t}`;
    // Bytes came and no response has started: they were interim answers (100 Continue, 103 Early Hints).
    if (this.splitter.betweenMessages) {
      return `no final response within ${t}, only interim answers or blank lines (${this.bytes} bytes)`;
    }
    const why = this.splitter.untilClose ? UNTIL_CLOSE_WHY : '';
    return `the response was still incomplete after ${t}, ${this.bytes} bytes received${why}`;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  get busy(): boolean {
    return this.done !== undefined;
  }

  private attempt(): void {
    this.reused = this.socket !== undefined && !this.socket.destroyed;
    const socket = this.ensureSocket();
    this.bytes = 0;
    this.viaSplitter = false;
    this.kept = [];
    this.keptBytes = 0;
    this.heads = [];
    this.headBytes = 0;
    socket.write(this.request!);
  }

  private ensureSocket(): Socket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    this.splitter = new ResponseSplitter();
    if (this.opened) this.options.onReopen?.();
    this.opened = true;
    const { host, port, secure } = this.target;
    const socket = secure
      ? tlsConnect({
          host,
          port,
          servername: isIp(host) ? undefined : host,
          rejectUnauthorized: !this.options.skipVerify,
          ALPNProtocols: ['http/1.1'],
        })
      : netConnect({
          host,
          port,
          onread: {
            buffer: READ_BUFFER,
            callback: (n: number) => {
              this.onData(socket, READ_BUFFER.subarray(0, n), false);
              return true;
            },
          },
        });
    socket.setNoDelay(true);
    this.secured = false;
    if (secure) {
      socket.on('data', (chunk: Buffer) => this.onData(socket, chunk, true));
      socket.once('secureConnect', () => {
        if (socket === this.socket) this.secured = true;
      });
    }
    socket.on('error', (err: NodeJS.ErrnoException) => this.onError(socket, err));
    socket.on('close', () => this.onClose(socket));
    this.socket = socket;
    return socket;
  }

  /** `owned`: the chunk is ours to keep; otherwise it is READ_BUFFER's, valid only during this call. */
  private onData(socket: Socket, read: Buffer, owned: boolean): void {
    if (socket !== this.socket) return;
    if (this.done === undefined) {
      // Nobody asked: the connection cannot be trusted to frame the next answer (it might be taken for it).
      if (!isIdleNotice(read)) this.options.onUnsolicited?.();
      this.close();
      return;
    }
    this.bytes += read.length;
    if (!this.viaSplitter) {
      if (this.bytes === read.length && this.splitterIdle()) {
        const length = simpleResponseLength(read, 0, read.length, this.method === 'HEAD');
        if (length === read.length) {
          this.succeedWhole(read, owned);
          return;
        }
      }
      this.viaSplitter = true;
      this.from = this.splitter.position;
      this.keptFrom = this.from;
      this.splitter.expect(this.method);
    }
    // The splitter and `kept` may hold on to what they are given.
    const chunk = owned ? read : Buffer.from(read);
    if (this.headBytes < HEAD_KEEP) {
      this.heads.push(chunk);
      this.headBytes += chunk.length;
    }
    const chunkStart = this.splitter.position;
    const messages = this.splitter.push(chunk);
    if (this.keepBytes > 0) {
      for (let i = 0; i < messages.length; i++) if (messages[i]!.interim) this.keepAfter(messages[i]!.end);
      this.keep(chunk, chunkStart);
    }
    for (let i = 0; i < messages.length; i++) {
      const msg = messages[i]!;
      if (msg.interim) continue;
      if (msg.incomplete || brokenLength(msg, this.method)) {
        this.fail('bad-response', badResponseDetail(msg.incomplete ?? 'bad-length'));
        return;
      }
      // More than this response came (a second answer): dropped, and the connection closed, as Go does.
      const extra =
        this.splitter.position > msg.end && !onlyLineEnds(chunk, chunk.length - (this.splitter.position - msg.end));
      // After a 101 the connection speaks another protocol (what follows is not an answer): it cannot carry the
      // next request (the splitter reads everything after it as opaque, so that request would wait for its timeout).
      if (extra && !msg.upgrade) this.options.onUnsolicited?.();
      this.succeed(
        msg.status,
        msg.start,
        msg.end,
        extra || msg.upgrade || this.answerCloses(msg) || this.requestUnsent() || this.requestCloses(),
      );
      return;
    }
    const current = this.splitter.current;
    if (current && current.headerEnd >= 0 && current.start >= this.from && !current.interim) {
      // Its head is here: a length that cannot be trusted fails now, not at the close or the timeout.
      if (brokenLength(current, this.method)) this.fail('bad-response', badResponseDetail('bad-length'));
    } else if (this.splitter.framingLost && this.splitter.retainFrom >= this.from) {
      // The splitter would report this response only at the next start line or the close: none may come
      // before the timeout, and no byte after a broken chunk line can be framed (Go fails it at once too).
      this.fail('bad-response', badResponseDetail('malformed'));
    } else if (this.splitter.stats.garbageBytes > 0 && !this.splitter.inMessage) {
      this.fail('bad-response', BAD_RESPONSE_DETAILS.garbage);
    }
  }

  /** Keeps `chunk` (at stream offset `at`) where it continues `kept`, up to keepBytes in all. */
  private keep(chunk: Buffer, at: number): void {
    const next = this.keptFrom + this.keptBytes;
    const room = this.keepBytes - this.keptBytes;
    if (room <= 0 || next < at || next >= at + chunk.length) return;
    const part = chunk.subarray(next - at, Math.min(chunk.length, next - at + room));
    this.kept.push(part);
    this.keptBytes += part.length;
  }

  /**
   * An interim answer ended at stream offset `end`: the response kept (--output-http-track-response, redirects)
   * starts after it, so that interim answers do not use up --output-http-response-buffer (the native sender
   * likewise starts over at each).
   */
  private keepAfter(end: number): void {
    const cut = end - this.keptFrom;
    if (cut >= this.keptBytes) {
      this.kept = [];
      this.keptBytes = 0;
    } else if (cut > 0) {
      const all = this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept, this.keptBytes);
      this.kept = [all.subarray(cut)];
      this.keptBytes -= cut;
    }
    this.keptFrom = Math.max(this.keptFrom, end);
  }

  /**
   * The answer came before the whole request was written (a 413 to a large upload): the target stopped reading
   * it, so the connection cannot carry the next request (Go does not reuse it either; the native sender closes
   * it too). Node would go on writing the rest of the body into a connection the target may be closing.
   */
  private requestUnsent(): boolean {
    return (this.socket?.writableLength ?? 0) > 0;
  }

  /**
   * The request in flight said it is the last on its connection (`Connection: close`, or HTTP/1.0 without
   * `keep-alive`): the target may close after its answer without saying so in it, so the next request goes on a
   * new connection, as Go's transport does (Request.Close).
   */
  private requestCloses(): boolean {
    return requestClosesConnection(this.request!);
  }

  /** Nothing of an earlier response is pending in the splitter, so a read may be framed without it. */
  private splitterIdle(): boolean {
    const s = this.splitter;
    return !s.inMessage && s.pendingExpected === 0 && s.opaque === null && s.retainFrom === s.position;
  }

  /**
   * The answer `msg` (framed by the splitter) ends its connection (see closesConnection); also when its head is
   * beyond the bytes kept to read it (after long interim answers): closing is then the safe side.
   */
  private answerCloses(msg: Readonly<Http1Message>): boolean {
    const start = msg.start - this.from;
    const end = msg.headerEnd - this.from;
    if (start < 0 || end > this.headBytes) return true;
    const all = this.heads.length === 1 ? this.heads[0]! : Buffer.concat(this.heads, this.headBytes);
    return closesConnection(all, start, end);
  }

  /** The response is exactly `chunk` (fast path); `owned` as in onData. */
  private succeedWhole(chunk: Buffer, owned: boolean): void {
    if (closesConnection(chunk, 0, chunk.indexOf(CRLFCRLF) + 4) || this.requestUnsent() || this.requestCloses())
      this.close();
    const keep = this.keepBytes;
    let response: Buffer | undefined;
    if (keep > 0) {
      response = chunk.length <= keep ? chunk : chunk.subarray(0, keep);
      if (!owned) response = Buffer.from(response);
    }
    this.complete(
      true,
      simpleStatus(chunk, 0, chunk.length),
      undefined,
      undefined,
      response,
      chunk.length > keep && keep > 0,
    );
  }

  private onError(socket: Socket, err: NodeJS.ErrnoException): void {
    if (socket !== this.socket) return;
    const detail = `${err.code ?? ''} ${err.message}`.trim();
    // The usual case against staging: a self-signed or private-CA certificate. Say how gor users accept it.
    const certificate = !this.options.skipVerify && /CERT|^UNABLE_TO_/.test(err.code ?? '');
    // OpenSSL's words when the first bytes back are not a TLS record: most often a plain-HTTP port (its 400).
    const plain = this.target.secure && /wrong version number/i.test(err.message);
    this.fail(
      reasonOf(err),
      certificate
        ? `${detail}; --output-http-skip-verify accepts it`
        : plain
          ? `${detail}; the target answered the TLS handshake with bytes that are not TLS: is it plain http://?`
          : detail,
    );
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    // A close-delimited response ends here.
    for (const msg of this.splitter.end()) {
      if (!msg.interim && !msg.incomplete) {
        this.succeed(msg.status, msg.start, msg.end, true);
        return;
      }
    }
    this.fail('closed', 'the target closed the connection before a complete response');
  }

  private fail(reason: FailureReason, detail: string): void {
    if (this.done === undefined) return;
    this.close();
    if (
      (reason === 'reset' || reason === 'closed') &&
      this.reused &&
      !this.retried &&
      replayable(this.request!, this.method) &&
      this.bytes === 0 &&
      performance.now() < this.deadline
    ) {
      // The server closed an idle keep-alive connection as we wrote: once more on a fresh connection.
      this.retried = true;
      this.options.onResend?.();
      this.attempt();
      return;
    }
    this.complete(false, 0, reason, detail, undefined, false);
  }

  private succeed(status: number, msgStart: number, msgEnd: number, destroy: boolean): void {
    if (this.done === undefined) return;
    if (destroy) this.close();
    let response: Buffer | undefined;
    let truncated = false;
    if (this.keptBytes > 0) {
      const all = this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept, this.keptBytes);
      const start = Math.max(0, msgStart - this.keptFrom);
      const end = Math.min(all.length, msgEnd - this.keptFrom);
      response = all.subarray(start, Math.max(start, end));
      truncated = msgEnd - msgStart > response.length;
    }
    this.complete(true, status, undefined, undefined, response, truncated);
  }

  private complete(
    ok: boolean,
    status: number,
    reason: FailureReason | undefined,
    detail: string | undefined,
    response: Buffer | undefined,
    truncated: boolean,
  ): void {
    const done = this.done!;
    this.done = undefined;
    this.request = undefined;
    this.kept = [];
    this.heads = [];
    const now = performance.now();
    this.lastUsed = now;
    done({
      ok,
      status,
      reason,
      detail,
      latencyMs: now - this.started,
      startedMs: WALL_OFFSET + this.started,
      responseBytes: this.bytes,
      response,
      truncated,
    });
  }
}

/**
 * What a `bad-response` failure says, by why the answer could not be framed. The native sender
 * (native/src/http_sender.cc) says the same words.
 */
export const BAD_RESPONSE_DETAILS = {
  garbage: 'the target answered with bytes that are not HTTP',
  'max-size': 'the response head (status line and headers) is over 64 KiB',
  malformed: 'the response body is chunked with a bad chunk-size line or chunk end',
  'bad-length': "the response's Content-Length is not a number, or it has several that differ",
} as const;

/**
 * Go refuses a response whose length it cannot trust, where the splitter (made for captures) reads on:
 * Content-Length values in separate fields that differ (always), or one that is not a number (or a list
 * that disagrees) when the body needs it (not HEAD, 204, 304 or chunked). Such a body would otherwise run
 * to the close, or be cut at the first value.
 */
function brokenLength(m: Readonly<Http1Message>, method: string): boolean {
  const bad = (m.anomalies & Anomaly.BAD_CONTENT_LENGTH) !== 0;
  if (!bad) return (m.anomalies & Anomaly.CONFLICTING_CONTENT_LENGTH) !== 0;
  return !m.chunked && method !== 'HEAD' && m.status !== 204 && m.status !== 304;
}

function badResponseDetail(why: string): string {
  return BAD_RESPONSE_DETAILS[why as keyof typeof BAD_RESPONSE_DETAILS] ?? `the response is broken (${why})`;
}

/** Bytes of an exchange kept to read its answer's head: the splitter fails heads over 64 KiB. */
const HEAD_KEEP = 80 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const CONNECTION = Buffer.from('connection', 'latin1');
const HTTP10 = Buffer.from('HTTP/1.0', 'latin1');

/**
 * The answer whose head is bytes[start, end) ends its connection, as Go's shouldClose says: a `Connection`
 * field listing `close`, or an HTTP/1.0 answer without `keep-alive` there. The next request must then go on a
 * new connection (sent on this one, a server that keeps its word never answers it). The native sender's
 * framer says the same (close_after).
 */
export function closesConnection(bytes: Buffer, start: number, end: number): boolean {
  const http10 = bytes[start + 5] === 0x31 && bytes[start + 6] === 0x2e && bytes[start + 7] === 0x30;
  return connectionEnds(bytes, start, end, http10);
}

/**
 * The request ends its connection, as Go's shouldClose says of a request (Request.Close): its head lists `close`
 * in a `Connection` field, or its request line ends in `HTTP/1.0` and no `keep-alive` is listed. The native
 * sender says the same (http_sender.cc RequestCloses).
 */
export function requestClosesConnection(request: Buffer): boolean {
  const lf = request.indexOf(0x0a);
  if (lf < 0) return false;
  const lineEnd = request[lf - 1] === 0x0d ? lf - 1 : lf;
  const http10 = lineEnd >= 8 && request.compare(HTTP10, 0, 8, lineEnd - 8, lineEnd) === 0;
  const headEnd = request.indexOf(CRLFCRLF);
  return connectionEnds(request, 0, headEnd < 0 ? request.length : headEnd + 2, http10);
}

/** closesConnection's rule, the HTTP/1.0 part given. */
function connectionEnds(bytes: Buffer, start: number, end: number, http10: boolean): boolean {
  let close = http10;
  for (let line = bytes.indexOf(0x0a, start) + 1; line > 0 && line < end; ) {
    const lf = bytes.indexOf(0x0a, line);
    const next = lf < 0 || lf >= end ? end : lf;
    if (next - line > CONNECTION.length && isConnectionName(bytes, line)) {
      for (const token of bytes.toString('latin1', line + CONNECTION.length + 1, next).split(',')) {
        const t = token.trim().toLowerCase();
        if (t === 'close') return true;
        if (t === 'keep-alive') close = false;
      }
    }
    line = next + 1;
  }
  return close;
}

/** bytes[at…] is `connection:` in any case (no space before the colon, as Go requires). */
function isConnectionName(bytes: Buffer, at: number): boolean {
  for (let i = 0; i < CONNECTION.length; i++) if ((bytes[at + i]! | 0x20) !== CONNECTION[i]) return false;
  return bytes[at + CONNECTION.length] === 0x3a;
}

/** Bytes from `from` on are only CR and LF (a stray line end after a response is not an answer). */
function onlyLineEnds(bytes: Buffer, from: number): boolean {
  for (let i = Math.max(0, from); i < bytes.length; i++) if (bytes[i] !== 0x0d && bytes[i] !== 0x0a) return false;
  return true;
}

const IDLE_408 = /^HTTP\/1\.[01] 408 /;

/** Bytes on an idle connection that are not an answer: line ends, or a 408 (the server closing it; Go is quiet too). */
function isIdleNotice(bytes: Buffer): boolean {
  return onlyLineEnds(bytes, 0) || IDLE_408.test(bytes.toString('latin1', 0, Math.min(bytes.length, 13)));
}

function reasonOf(err: NodeJS.ErrnoException): FailureReason {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connect-refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return 'dns';
    default:
      if (err.code?.startsWith('ERR_TLS') || err.code?.includes('CERT') || err.code?.startsWith('ERR_SSL'))
        return 'tls';
      if (/certificate|SSL|TLS/i.test(err.message)) return 'tls';
      return 'connect-failed';
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const IDEMPOTENCY_KEY = /\r\n(?:x-)?idempotency-key:/i;

/**
 * A request that may be sent again after the target closed the connection without answering it: as Go's
 * transport (Request.isReplayable), an idempotent method, or an Idempotency-Key / X-Idempotency-Key header. A
 * POST the target may already have acted on is not sent twice (the native sender: http_sender.cc Replayable).
 */
export function replayable(request: Buffer, method: string): boolean {
  if (IDEMPOTENT.has(method)) return true;
  const end = request.indexOf(CRLFCRLF);
  return IDEMPOTENCY_KEY.test(request.toString('latin1', 0, end < 0 ? request.length : end + 2));
}
