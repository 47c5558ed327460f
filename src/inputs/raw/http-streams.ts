/**
 * From reassembled TCP byte streams to gor messages (spec §2.5, §8.5–8.6): one `HttpDirection` per direction
 * of a connection cuts HTTP/1 messages with the shared splitter; a `ConnectionState` pairs each response with
 * the request it answers.
 *
 *   assembler ──data/gap/end (client side)──▶ RequestSplitter  ──▶ type 1, id = gor(client, server, ACK)
 *             ──data/gap/end (server side)──▶ ResponseSplitter ──▶ type 2, id = the id of its request
 *                                                ▲ methods of the requests in order (HEAD and CONNECT frame
 *                                                  their responses differently)
 *
 * Ids follow gor's formula, so a request and its response share one id as in gor's recordings. Where gor's
 * formula breaks, tapline keeps pairs intact (docs/compat.md): a response takes the id of the request it
 * answers (pipelining, where every request carries the same ACK), and a pipelined request whose formula id
 * repeats one still waiting for its response takes its own SEQ in the last 4 bytes instead of the ACK.
 *
 * Nothing is dropped silently: every incomplete message is counted by reason, and emitted (marked with an
 * `incomplete=REASON` meta field) when `allowIncomplete` is set, or when it was cut by `maxSize`.
 */
import type { Message } from '../../core/message.js';
import { deleteHeader, type Http1Message, RequestSplitter, ResponseSplitter } from '../../protocol/http1/index.js';
import { connectionIdPrefix, continueAck } from '../../tcp/ids.js';
import type { ChunkMeta, EndReason, GapMeta, StreamConsumer, StreamSide, TcpConnection } from '../../tcp/types.js';
import { CaptureMeta } from './capture-meta.js';
import { ChunkLog, type ChunkRef } from './chunk-log.js';
import type { BudgetHolder, MemoryBudget } from './memory-budget.js';
import { setRealIp } from './realip.js';

export interface HttpCutOptions {
  /** Emit responses (type 2). Without it responses are still parsed, to frame the connection. */
  trackResponse: boolean;
  /** Emit incomplete messages (marked) instead of only counting them. */
  allowIncomplete: boolean;
  /** Largest message in bytes; a longer one is cut there and emitted marked `incomplete=max-size`. */
  maxSize: number;
  /** `--input-raw-realip-header`: set this header to the client IP on every request. */
  realIpHeader: string;
  /** Keep this fraction of requests, with their responses (1 = all). */
  probability: number;
  random: () => number;
  /** The timestamp of a message: the capture time of its first byte, or the wall clock (`--input-raw-timestamp-type go`). */
  clock: ((captureNs: bigint) => bigint) | null;
  emit: (msg: Message) => void;
  /** `--input-raw-memory-budget`: the bytes of messages in progress, all connections (null: no bound). */
  budget: MemoryBudget | null;
}

/** What happened to every message cut from the streams. */
export interface HttpCutCounters {
  requests: number;
  responses: number;
  /** 1xx interim responses (100 Continue…), emitted as their own type-2 messages like gor. */
  interim_responses: number;
  /** Responses with no request waiting on their connection (the request was not captured). */
  unmatched_responses: number;
  /**
   * Requests whose response was lost (a capture gap): a later response's SEQ equals the ACK of a request
   * behind them in the queue, so they were answered in bytes the capture does not have.
   */
  unanswered_requests: number;
  /**
   * With --input-raw-track-response: requests emitted whose response had not come when their connection ended
   * (closed or reset by either side, given up idle after --input-raw-expire, or still open when the capture
   * ended). gor emits them the same way, with no word; a server that closes after answering 2 of 5 pipelined
   * requests leaves 3 here.
   */
  requests_unanswered_at_close: number;
  /** Messages cut by --input-raw-max-size (emitted, marked). */
  cut_max_size: number;
  /** Messages cut where they were by --input-raw-memory-budget, the largest in progress each time (emitted, marked). */
  cut_memory_budget: number;
  /** Incomplete messages, by reason. Emitted only with --input-raw-allow-incomplete. */
  incomplete_gap: number;
  incomplete_eof: number;
  incomplete_expired: number;
  incomplete_malformed: number;
  /** Incomplete messages that were counted but not emitted (no --input-raw-allow-incomplete). */
  incomplete_dropped: number;
  /** Requests left out by --input-raw-probability, and the responses that followed them out. */
  sampled_out: number;
  /** Bytes that were not HTTP (skipped while looking for a start line). */
  garbage_bytes: number;
  /** Streams that switched protocol (Upgrade, CONNECT, h2) and bytes carried after the switch. */
  upgraded_streams: number;
  upgraded_bytes: number;
}

export function newHttpCutCounters(): HttpCutCounters {
  return {
    requests: 0,
    responses: 0,
    interim_responses: 0,
    unmatched_responses: 0,
    unanswered_requests: 0,
    requests_unanswered_at_close: 0,
    cut_max_size: 0,
    cut_memory_budget: 0,
    incomplete_gap: 0,
    incomplete_eof: 0,
    incomplete_expired: 0,
    incomplete_malformed: 0,
    incomplete_dropped: 0,
    sampled_out: 0,
    garbage_bytes: 0,
    upgraded_streams: 0,
    upgraded_bytes: 0,
  };
}

interface WaitingRequest {
  /** The last 4 bytes of its id (the rest is the connection's `idPrefix`). */
  readonly idNumber: number;
  /** The ACK in gor's formula (shifted for 100-continue): the SEQ its response starts at. */
  readonly ack: number;
  readonly sampled: boolean;
  /** It was emitted (not sampled out, not an incomplete message left out): only then is it counted unanswered. */
  emitted?: boolean;
}

/**
 * Requests one connection keeps waiting for their responses. A capture that never sees the answers (one
 * direction only, or a server that never replies on a kept-open connection) would otherwise keep every request
 * of the connection for its whole life; beyond this the oldest is given up on and counted as unanswered.
 * Real pipelining stays far below it; the native fast path hands a flow over at the same depth (kMaxWaiting).
 */
export const MAX_WAITING_REQUESTS = 1024;

/** Both directions of one connection: requests waiting for their responses, in order. */
export class ConnectionState {
  readonly waiting: WaitingRequest[] = [];
  /** Methods of requests whose responses the response side has not been told about yet. */
  readonly methods: string[] = [];
  responses: ResponseSplitter | undefined;
  /** The server's direction, once it has one; the client's likewise. */
  server: HttpDirection | undefined;
  client: HttpDirection | undefined;
  /**
   * A request the server answered before it was complete (an early 413, 401 or 417 while the body was still
   * coming): where it starts in the client's stream, and the id its answer took. It does not wait for a
   * response when it completes, so later responses still pair with their own requests.
   */
  answeredEarly: { readonly start: number; readonly request: WaitingRequest } | null = null;
  /** The client opened HTTP/2 with its connection preface (prior knowledge): the server speaks HTTP/2 too. */
  http2 = false;
  /** The server's direction lost bytes (a capture gap) since the last response was paired. */
  responseGap = false;
  /** The first 16 characters of every id on this connection. */
  readonly idPrefix: string;
  /** No response can come any more (the server's direction ended, or the whole connection did). */
  private closed = false;

  constructor(readonly conn: TcpConnection) {
    this.idPrefix = connectionIdPrefix(conn.clientPort, conn.serverPort, conn.clientIp4);
  }

  /**
   * Requests given up on (MAX_WAITING_REQUESTS) whose responses have not come: HTTP/1 answers in order, so the
   * next responses are theirs, not the oldest waiting request's.
   */
  private givenUp = 0;

  /**
   * A request now waits for its response (its method frames that response). Only with responses followed is
   * one given up on counted: a capture of the client's direction (gor's default) expects no answers.
   */
  push(request: WaitingRequest, method: string, counters: HttpCutCounters, trackResponse: boolean): void {
    this.waiting.push(request);
    if (this.responses) this.responses.expect(method);
    else this.methods.push(method);
    if (this.waiting.length > MAX_WAITING_REQUESTS) {
      this.waiting.shift();
      if (this.responses) this.responses.forgetExpected();
      else this.methods.shift();
      this.givenUp++;
      if (trackResponse) counters.unanswered_requests++;
    }
  }

  /**
   * The connection can carry no more responses: the requests still waiting are counted as unanswered at close
   * (when responses are followed), and so is every request emitted after this. Once; later calls count only
   * what arrived since.
   */
  close(counters: HttpCutCounters, trackResponse: boolean): void {
    this.closed = true;
    this.settleClosed(counters, trackResponse);
  }

  /** After close(): the waiting requests will never be answered. */
  settleClosed(counters: HttpCutCounters, trackResponse: boolean): void {
    if (!this.closed || this.waiting.length === 0) return;
    if (trackResponse) for (const w of this.waiting) if (w.emitted) counters.requests_unanswered_at_close++;
    // No response is delivered after this (the server's direction has ended), so the methods queued to frame
    // them do not matter any more.
    this.waiting.length = 0;
  }

  /** A request waiting for its response has this id (ids on one connection differ only in their last 4 bytes). */
  hasWaiting(idNumber: number): boolean {
    for (const w of this.waiting) if (w.idNumber === idNumber) return true;
    return false;
  }

  /** The id the request starting at `start` took when it was answered early, once (then it is forgotten). */
  takeAnsweredEarly(start: number): WaitingRequest | undefined {
    const early = this.answeredEarly;
    if (early === null || early.start !== start) return undefined;
    this.answeredEarly = null;
    return early.request;
  }

  /**
   * The request a final response starting at `seq` answers: the oldest waiting one (HTTP/1 answers in order).
   * Only after a capture gap in the server's direction: when a younger request's ACK equals `seq`, the client
   * had received every byte before this response when it sent that request, so the responses of the requests
   * ahead of it went by in the gap: they are dropped from the queue (and counted) instead of shifting every
   * later pair by one. Without a gap that reading is wrong: a client that pipelines sends its next requests
   * while the answers to its earlier ones are still coming, so their ACK can be the SEQ of an earlier
   * request's response (such pairs were shifted and counted as unanswered and unmatched).
   * null: the response answers a request given up on (see push), so none of those waiting.
   */
  answer(seq: number, counters: HttpCutCounters, trackResponse: boolean): WaitingRequest | null | undefined {
    const w = this.waiting;
    const afterGap = this.responseGap;
    this.responseGap = false;
    if (afterGap && w.length > 0) {
      const k = w.findIndex((r) => r.ack === seq);
      // The answers of any requests given up on went by in the gap too.
      if (k >= 0) this.givenUp = 0;
      if (k > 0) {
        w.splice(0, k);
        if (trackResponse) counters.unanswered_requests += k;
      }
    }
    if (this.givenUp > 0) {
      this.givenUp--;
      return null;
    }
    return w.shift();
  }
}

/**
 * The server's HTTP/2 connection preface (RFC 9113 §3.4): a SETTINGS frame (type 4, no ACK flag, stream 0,
 * length a multiple of 6) as the first bytes of the stream. An HTTP/1 response starts with "HTTP/".
 */
function isH2ServerPreface(b: Buffer): boolean {
  if (b.length < 9 || b[3] !== 4 || b[4] !== 0) return false;
  const length = b.readUIntBE(0, 3);
  return length % 6 === 0 && b.readUInt32BE(5) === 0;
}

/** One direction of one connection, as a consumer of the assembler. */
export class HttpDirection implements StreamConsumer, BudgetHolder {
  private readonly splitter: RequestSplitter | ResponseSplitter;
  /** Segments of the stream from the oldest byte a pending message may still start at. */
  private readonly chunks = new ChunkLog();
  private lastTs = 0n;
  private ended = false;
  private opaqueCounted = false;
  /** Bytes of the message in progress last told to the budget. */
  private held = 0;

  constructor(
    private readonly state: ConnectionState,
    private readonly side: StreamSide,
    private readonly options: HttpCutOptions,
    private readonly counters: HttpCutCounters,
  ) {
    // Every engine hands over packet buffers it never rewrites (af_packet and libpcap batches go back to their
    // pool only once garbage-collected; files and datagrams are fresh buffers), so messages may be views.
    // A length that cannot be trusted loses the framing (reported `malformed`, the next message found by its
    // start line) instead of cutting the message at one of its values and the next one inside its body.
    const splitterOptions = {
      collect: true,
      maxSize: options.maxSize,
      stableChunks: true,
      targets: false,
      strictLength: true,
    };
    if (side === 'client') {
      this.splitter = new RequestSplitter(splitterOptions);
      state.client = this;
      // No handshake seen: the capture began mid-connection, and its first bytes may end an earlier message.
      const source = state.conn.roleSource;
      if (source !== 'syn' && source !== 'synack') this.splitter.startMidStream();
    } else {
      const responses = new ResponseSplitter(splitterOptions);
      for (const m of state.methods.splice(0)) responses.expect(m);
      state.responses = responses;
      state.server = this;
      this.splitter = responses;
      if (state.http2) responses.switchToOpaque();
    }
  }

  /** The other side switched to HTTP/2: nothing more here is HTTP/1 (a message in progress is reported). */
  switchToOpaque(): void {
    if (this.ended) return;
    this.deliver(this.splitter.switchToOpaque());
    this.trim();
  }

  data(chunk: Buffer, meta: ChunkMeta): void {
    if (this.ended) return;
    this.lastTs = meta.tsNs;
    this.chunks.add(meta, chunk.length);
    if (this.side === 'server' && meta.offset === 0 && !this.state.http2 && isH2ServerPreface(chunk)) {
      // A server may send its HTTP/2 preface before the client's arrives (prior knowledge).
      this.state.http2 = true;
      this.splitter.switchToOpaque();
    }
    this.deliver(this.splitter.push(chunk));
    this.trim();
    if (this.side === 'client' && !this.state.http2 && this.splitter.opaque?.reason === 'h2-preface') {
      // Prior-knowledge HTTP/2: the server's frames are not HTTP/1 either; without this its direction would
      // be scanned for status lines (counted as garbage, and a DATA frame quoting one would become a response).
      this.state.http2 = true;
      this.state.server?.switchToOpaque();
    }
  }

  gap(length: number | null, meta: GapMeta): void {
    if (this.ended) return;
    this.lastTs = meta.tsNs;
    if (this.side === 'server') this.state.responseGap = true;
    // An unknown length is always followed by end(): the message in progress is reported there.
    if (length !== null && length > 0) this.deliver(this.splitter.gap(length));
    this.account();
  }

  /** The memory budget is spent and this message in progress is the largest: it is emitted now, cut. */
  cutForBudget(): void {
    if (this.ended) return;
    this.deliver(this.splitter.cutHeld());
    this.trim();
  }

  describe(): string {
    const c = this.state.conn;
    const client = `${c.clientIp}:${c.clientPort}`;
    const server = `${c.serverIp}:${c.serverPort}`;
    return this.side === 'client' ? `request from ${client} to ${server}` : `response from ${server} to ${client}`;
  }

  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    if (reason === 'expired' || reason === 'evicted') this.deliver(this.splitter.expire());
    // Only the sender's FIN ends a close-delimited body. An RST aborts the connection: whether the body had
    // all been sent is unknown (RFC 9112 §8: a response cut by a premature close is incomplete; tshark shows
    // none), so it is `eof` like one the capture stopped in the middle of.
    this.deliver(this.splitter.end(reason === 'fin'));
    const s = this.splitter.stats;
    this.counters.garbage_bytes += s.garbageBytes;
    if (this.splitter.opaque) this.counters.upgraded_bytes += s.opaqueBytes;
    this.chunks.clear();
    this.account();
    // The server's direction ended: no response can come. The client's end is not the end, even with the whole
    // connection (a reset, given up, the capture's end) and no server direction yet: a client's FIN is followed
    // by answers, and the server's stream is ended right after the client's, delivering what it held behind a
    // hole (a response after a gap, which pairs with a waiting request as on the native fast path, whose
    // hand-over leaves no client direction here). The flow's removal settles a server that never sent a byte.
    if (this.side === 'server') this.state.close(this.counters, this.options.trackResponse);
  }

  private trim(): void {
    this.chunks.trimBefore(this.splitter.retainFrom);
    if (this.splitter.opaque && !this.opaqueCounted) {
      this.opaqueCounted = true;
      this.counters.upgraded_streams++;
    }
    this.account();
  }

  /** Tells the budget what the message in progress holds now (most messages never span segments: no call). */
  private account(): void {
    const held = this.ended ? 0 : this.splitter.heldBytes;
    if (held === this.held) return;
    this.held = held;
    this.options.budget?.update(this, held);
  }

  private deliver(messages: readonly Http1Message[]): void {
    for (const m of messages) {
      if (m.kind === 'request') this.request(m);
      else this.response(m);
    }
  }

  /**
   * Client side: a final response came with no complete request waiting for it, while this direction is in
   * the middle of one (the server answered before the body was complete): that request is what it answers.
   * Its id is fixed now and kept when it completes. Undefined when no request is in progress, when this one
   * was answered already, or when the response (starting at `seq`) began before the server had seen the
   * request's first byte acknowledged (its SEQ is below that segment's ACK): it answers an earlier request.
   */
  answerInProgress(seq: number): WaitingRequest | undefined {
    const m = this.ended ? null : (this.splitter.current ?? this.splitter.lostMessage);
    if (m === null || this.state.answeredEarly?.start === m.start) return undefined;
    const first = this.chunks.at(m.start);
    if (first !== undefined && ((seq - first.ack) | 0) < 0) return undefined;
    const request = this.identify(m, first);
    this.state.answeredEarly = { start: m.start, request };
    if (m === this.splitter.lostMessage && m.incomplete === 'gap') {
      // A capture gap cut its head (a snaplen shorter than the request, a lost segment), so nothing says where
      // it ends but the next start line, which may come much later, after this answer: it would be emitted
      // after its response. The server has answered it, so it is over: it is emitted now, first. (A malformed
      // length keeps waiting: a 400 often comes before the body does.)
      this.deliver(this.splitter.endLostMessage());
      this.trim();
    }
    return request;
  }

  /** gor's id of a request (its first segment's ACK, shifted for 100-continue), and whether it is sampled. */
  private identify(m: Readonly<Http1Message>, first: ChunkRef | undefined): WaitingRequest {
    let ack = first?.ack ?? 0;
    if (m.expectContinue) ack = continueAck(ack);
    let idNumber = ack;
    if (this.state.hasWaiting(idNumber) && first) idNumber = (first.seq + (m.start - first.offset)) >>> 0;
    const sampled = this.options.probability >= 1 || this.options.random() < this.options.probability;
    return { idNumber, ack, sampled };
  }

  private request(m: Http1Message): void {
    const c = this.counters;
    const first = this.chunks.at(m.start);
    const conn = this.state.conn;
    let request = this.state.takeAnsweredEarly(m.start);
    if (request === undefined) {
      request = this.identify(m, first);
      this.state.push(request, m.method, c, this.options.trackResponse);
    }
    const { idNumber, sampled } = request;
    if (!this.keep(m)) return;
    if (!sampled) {
      c.sampled_out++;
      return;
    }
    let data = m.bytes!;
    if (m.expectContinue) data = deleteHeader(data, 'Expect');
    if (this.options.realIpHeader !== '') {
      data = setRealIp(data, Buffer.from(this.options.realIpHeader, 'latin1'), Buffer.from(conn.clientIp, 'latin1'));
    }
    c.requests++;
    request.emitted = true;
    this.emit('1', idNumber, first, m, data);
    this.state.settleClosed(c, this.options.trackResponse);
  }

  private response(m: Http1Message): void {
    const c = this.counters;
    const first = this.chunks.at(m.start);
    let idNumber: number;
    let sampled = true;
    if (m.interim) {
      // Like gor: the interim response gets the formula id (its SEQ), which does not match the request.
      idNumber = this.seqOf(m, first);
      c.interim_responses++;
    } else {
      const seq = this.seqOf(m, first);
      const answered = this.state.answer(seq, c, this.options.trackResponse);
      const req = answered === null ? undefined : (answered ?? this.state.client?.answerInProgress(seq));
      if (req) {
        idNumber = req.idNumber;
        sampled = req.sampled;
      } else {
        idNumber = seq;
        c.unmatched_responses++;
      }
    }
    if (!this.keep(m)) return;
    if (!sampled) {
      c.sampled_out++;
      return;
    }
    if (!this.options.trackResponse) return;
    c.responses++;
    this.emit('2', idNumber, first, m, m.bytes!);
  }

  private seqOf(m: Http1Message, first: ChunkRef | undefined): number {
    return first ? (first.seq + Math.max(0, m.start - first.offset)) >>> 0 : 0;
  }

  /** Counts an incomplete message; true when it is to be emitted. */
  private keep(m: Http1Message): boolean {
    if (m.bytes === null || m.bytes.length === 0) return false;
    const c = this.counters;
    switch (m.incomplete) {
      case null:
        return true;
      case 'max-size':
        c.cut_max_size++;
        return true;
      case 'memory-budget':
        c.cut_memory_budget++;
        return true;
      case 'gap':
        c.incomplete_gap++;
        break;
      case 'eof':
        c.incomplete_eof++;
        break;
      case 'expired':
        c.incomplete_expired++;
        break;
      case 'malformed':
        c.incomplete_malformed++;
        break;
    }
    if (this.options.allowIncomplete) return true;
    c.incomplete_dropped++;
    return false;
  }

  /** Latency: from the first byte's capture time to the latest seen on this direction. */
  private emit(type: '1' | '2', idNumber: number, first: ChunkRef | undefined, m: Http1Message, data: Buffer): void {
    const startNs = first?.tsNs ?? this.lastTs;
    const clock = this.options.clock;
    const timestampNs = clock ? clock(startNs) : startNs;
    const meta = new CaptureMeta(type, this.state.idPrefix, idNumber, timestampNs, startNs, this.lastTs, m.incomplete);
    this.options.emit({ meta, data });
  }
}
