/**
 * Pairs requests with their responses by gor id and hands out one Exchange per request.
 *
 *   type 1 ──▶ pending (a Map by id, oldest first) ──┬─ type 2 / type 3 with the same id ─▶ Exchange
 *                                                        ├─ waited longer than pendingTimeout ─▶ Exchange (no response)
 *                                                        ├─ evicted (more than maxPending waiting) ─▶ same
 *                                                        └─ flush() at the end of the input ─▶ same
 *   final type 2/3 without a pending request ─▶ early (a Map by id, oldest first) ──┬─ type 1 with its id ─▶ Exchange
 *                                                                                  └─ waited longer than pendingTimeout,
 *                                        evicted (more than maxPending waiting), flush() ─▶ Exchange on the route
 *                                        `(no request)` (a response without request: bytes are never lost)
 *
 * Early responses: capture emits a final response sent while the request's body was still arriving (an early 413
 * or 401) before the request itself, with the request's id. It waits here, within the same bounds as requests,
 * and is paired when its request comes. Its latency is the usual request first byte → response last byte; a
 * negative one (clocks or stamps out of step) is no sample, as for any exchange (docs/analytics.md).
 *
 * Time is the messages' own (capture or replay timestamps), so a file is tracked as it was captured.
 * With `preferReplayed` (a run or file that replays with --output-http-track-response), an original
 * response (type 2) is held until the replayed one (type 3) comes, and only used if it never does.
 * With `latestReplayed` (`report`: a replayed .gor replayed again holds each request's answers from every
 * replay), a replayed response is held too, until its request's wait ends (timeout, eviction, end of input), and a
 * later-timed replayed answer to the same request replaces it: the latest replay is accounted, the others are
 * counted in `earlier_replay_responses`.
 *
 * Rounds: the first HEAD requests are remembered by id and timestamp; one of them seen again with both the same, after
 * a later request (time went back), is the same recorded request again (a file replayed into one --output-file-append twice, a recording copied twice
 * into one file), and when it is seen more often than any before, a new round starts at that message
 * (`repeated_rounds`, roundStarts: the message's number from 0, in observe order).
 */
import type { Message } from '../core/message.js';
import { emptyTally, type Tally } from './aggregator.js';
import { ArrivalQueue } from './arrival-queue.js';
import { endsWithHttpVersion, HeadScan, headerName, latin1, scanHead } from './head-scan.js';
import { MetaView } from './meta-view.js';
import { NO_REQUEST_ROUTE, type RouteNamer } from './routes.js';
import {
  chunkedEntityLength,
  firstAddress,
  isChunked,
  mediaType,
  responseBodySizes,
  responseStatus,
  valueText,
} from './sizes.js';
import type { Exchange } from './types.js';
import { hostText, wireText } from './wire-text.js';

export interface TrackerOptions {
  /** Requests waiting for a response at most (oldest answered as no-response beyond). Default 100,000. */
  maxPending?: number;
  /** A request waits at most this long (by message timestamps) for its response. Default 60 s. */
  pendingTimeoutMs?: number;
  /** Hold original responses for a replayed one (see the file header). */
  preferReplayed?: boolean;
  /** Account each request's latest replayed answer, held until its wait ends (file header). */
  latestReplayed?: boolean;
  /** Which responses count: both types (default), only originals (2) or only replayed ones (3). */
  responses?: 'any' | 'original' | 'replayed';
  /** Header naming the client address (lower-case), default `x-real-ip`. */
  clientHeader?: string;
  /** Without that header, read the client IPv4 (or IPv6 tail) from gor's capture id (spec §2.5). */
  clientFromId?: boolean;
  /**
   * With `clientFromId`: the IPv6 client addresses capture saw, by the id's first 16 characters (client port,
   * server port, last 4 address bytes), which the id alone would show as a made-up IPv4 address (`fd00::1` as
   * `0.0.0.1`). Filled by the capture as connections open (report over pcap files).
   */
  ipv6Clients?: ReadonlyMap<string, string>;
}

export interface TrackerCounters {
  no_response: number;
  responses_without_request: number;
  original_responses_replaced: number;
  interim_responses: number;
  duplicate_responses: number;
  not_http: number;
  /** Replayed answers left out for a later replay's answer to the same request (latestReplayed). */
  earlier_replay_responses: number;
  /** Times the input started over with requests already seen (same id and timestamp): see the file header. */
  repeated_rounds: number;
  /** Replayed (type 3) responses accounted whose meta line says `incomplete=…` (cut at --output-http-response-buffer). */
  replayed_responses_cut: number;
  /** Requests and original responses accounted whose meta line says `incomplete=REASON` (capture's marks). */
  marked_incomplete: number;
}

/** Requests remembered by id and timestamp to tell a round starting again (file header). */
export const ROUND_HEAD = 32;
/** Round starts remembered (their message numbers). */
export const ROUND_STARTS = 8;

/**
 * Where finished exchanges go: `tally` always (reused: read it, do not keep it); `exchange` only when
 * wantsExchanges() said yes when the exchange finished (it costs strings and BigInts per exchange).
 * `atMs`: the wall-clock time the exchange finished at, when it was finished later than that (the native
 * tracker works per batch); the sink reads its clock otherwise.
 */
export interface ExchangeSink {
  wantsExchanges(): boolean;
  add(tally: Tally, exchange: Exchange | undefined, atMs?: number): void;
}

/** A final response's facts (kept only when held for a replayed one, or for a response without request). */
interface ResponseFacts {
  status: number;
  headerBytes: number;
  bodyBytes: number;
  bodyEntityBytes: number;
  bodyDecodedBytes: number;
  contentType: string;
  contentEncoding: string;
  /** ns; NaN when unknown. */
  latencyNs: number;
  /**
   * Captured (type 2) responses: when their bytes were on the wire, Unix ms — the first byte (the meta's
   * timestamp) and the last (plus the 4th field). NaN for a replayed one: its timestamp is the replay's clock,
   * not the recording's its request has.
   */
  wireMs: number;
  wireEndMs: number;
  /** The meta line says `incomplete=REASON` (types.ts Exchange.responseIncomplete). */
  incomplete: boolean;
}

/** A final response that came before its request (see the file header). */
class EarlyResponse {
  /** Paired, expired or evicted (out of the early map): the arrival queue skips it. */
  done = false;
  constructor(
    readonly id: string,
    readonly sec: number,
    readonly ns: number,
    readonly ms: number,
    /** The response's own capture duration (4th meta field), ns; NaN or negative when unknown. */
    readonly fourth: number,
    readonly replayed: boolean,
    readonly facts: ResponseFacts,
  ) {}
}

/** A request waiting for its response. */
class Pending {
  /** Bytes of 1xx interim responses seen so far. */
  interimBytes = 0;
  /** An original response held while waiting for a replayed one. */
  held: ResponseFacts | undefined = undefined;
  /** latestReplayed: the latest replayed answer so far, and its timestamp (s, ns). */
  replayed: ResponseFacts | undefined = undefined;
  replayedSec = 0;
  replayedNs = 0;
  /** Answered (out of the pending map): the arrival queue skips it without a map lookup. */
  done = false;
  constructor(
    readonly id: string,
    readonly sec: number,
    readonly ns: number,
    readonly startMs: number,
    readonly route: string,
    readonly host: string,
    readonly headerBytes: number,
    readonly bodyBytes: number,
    readonly bodyEntityBytes: number,
    /** Only kept when exchanges are wanted: */
    readonly method: string,
    readonly path: string,
    readonly client: string,
    /** The request's meta line says `incomplete=REASON`. */
    readonly incomplete = false,
  ) {}
}

const NO_CLIENT = new Uint8Array(0);

export class ExchangeTracker {
  readonly counters: TrackerCounters = {
    no_response: 0,
    responses_without_request: 0,
    original_responses_replaced: 0,
    interim_responses: 0,
    duplicate_responses: 0,
    not_http: 0,
    earlier_replay_responses: 0,
    repeated_rounds: 0,
    replayed_responses_cut: 0,
    marked_incomplete: 0,
  };
  /** Message numbers (from 0) where a new round started (at most ROUND_STARTS). */
  readonly roundStarts: number[] = [];
  /** Messages observed so far. */
  private observed = 0;
  /** The first ROUND_HEAD requests: id → timestamp and how often seen. */
  private readonly head = new Map<string, { sec: number; ns: number; seen: number }>();
  /** Waiting requests by id. */
  private readonly pending = new Map<string, Pending>();
  /** The same requests in arrival order. */
  private readonly queue = new ArrivalQueue<Pending>();
  private readonly maxPending: number;
  /**
   * Ids answered recently, in two generations of up to ANSWERED ids each (the older dropped as a whole when the
   * newer fills): a second final response is a duplicate, not a response without request. Cheaper than an
   * LRU map, whose oldest entry is slow to reach after many deletions.
   */
  private answered = new Set<string>();
  private answeredBefore = new Set<string>();
  /** Final responses waiting for their request (file header), by id and in arrival order (as pending/queue). */
  private readonly early = new Map<string, EarlyResponse>();
  private readonly earlyQueue = new ArrivalQueue<EarlyResponse>();
  private readonly timeoutMs: number;
  private readonly client: Uint8Array;
  private latestMs = 0;
  private readonly view = new MetaView();
  private readonly scan = new HeadScan();
  private readonly tally: Tally = emptyTally();
  /** The scratch facts of the response being observed (copied only when held or orphaned). */
  private readonly res: ResponseFacts = {
    status: 0,
    headerBytes: 0,
    bodyBytes: 0,
    bodyEntityBytes: 0,
    bodyDecodedBytes: 0,
    contentType: '',
    contentEncoding: '',
    latencyNs: Number.NaN,
    wireMs: Number.NaN,
    wireEndMs: Number.NaN,
    incomplete: false,
  };
  /** The last Host value's bytes and string: most traffic names one host, so its string is made once. */
  private hostBytes: Buffer = Buffer.alloc(0);
  private hostText = '';

  constructor(
    private readonly routes: RouteNamer,
    private readonly sink: ExchangeSink,
    private readonly options: TrackerOptions = {},
  ) {
    this.maxPending = options.maxPending ?? 100_000;
    this.timeoutMs = options.pendingTimeoutMs ?? 60_000;
    this.client = headerName(options.clientHeader ?? 'x-real-ip');
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  observe(msg: Message): void {
    const v = this.view;
    v.read(msg);
    this.observed++;
    const type = v.type;
    if (type === 0x31) {
      if (v.marked) this.counters.marked_incomplete++;
      this.onRequest(v);
    } else if (type === 0x32) {
      if (this.options.responses === 'replayed') return;
      if (v.marked) this.counters.marked_incomplete++;
      this.onResponse(v, false);
    } else if (type === 0x33) {
      if (this.options.responses === 'original') return;
      if (v.marked) this.counters.replayed_responses_cut++;
      this.onResponse(v, true);
    } else this.counters.not_http++;
  }

  /** Nothing is batched here (native-tracker.ts batches): every message is counted when observed. */
  sync(): void {}

  /** Answers every request that has waited longer than the timeout at `nowMs` (message time). */
  expire(nowMs = this.latestMs): void {
    const limit = nowMs - this.timeoutMs;
    for (let p = this.queue.oldest(); p !== undefined && p.startMs < limit; p = this.queue.oldest()) this.finish(p);
    this.expireEarly(nowMs);
  }

  /** End of input: every waiting request is answered with what it has, every early response is one without request. */
  flush(): void {
    for (let p = this.queue.oldest(); p !== undefined; p = this.queue.oldest()) this.finish(p);
    for (let e = this.earlyQueue.oldest(); e !== undefined; e = this.earlyQueue.oldest()) this.orphanEarly(e);
  }

  /** Early responses older than the timeout at `nowMs` (message time) become responses without request. */
  private expireEarly(nowMs: number): void {
    const limit = nowMs - this.timeoutMs;
    for (let e = this.earlyQueue.oldest(); e !== undefined && e.ms < limit; e = this.earlyQueue.oldest())
      this.orphanEarly(e);
  }

  /** Keeps a final response without a pending request until its request comes (bounded as pending requests). */
  private keepEarly(id: string, v: MetaView, replayed: boolean, res: ResponseFacts): void {
    const e = new EarlyResponse(id, v.sec, v.ns, v.ms, v.fourth, replayed, { ...res });
    this.expireEarly(v.ms);
    this.early.set(id, e);
    this.earlyQueue.push(e);
    if (this.early.size > this.maxPending) this.orphanEarly(this.earlyQueue.oldest()!);
  }

  /** An early response whose request never came: a response without request, as before it waited. */
  private orphanEarly(e: EarlyResponse): void {
    this.early.delete(e.id);
    e.done = true;
    this.counters.responses_without_request++;
    const ms = e.replayed ? this.replayedAt(e.ms) : e.ms;
    this.emit(new Pending(e.id, e.sec, e.ns, ms, NO_REQUEST_ROUTE, '', 0, 0, 0, '', '', ''), e.facts, e.replayed);
  }

  /** The request `p` of an early response `e` came: the exchange is complete (or holds `e` for a replayed one). */
  private pairEarly(p: Pending, e: EarlyResponse): void {
    this.early.delete(e.id);
    e.done = true;
    const res = e.facts;
    if (!e.replayed) res.latencyNs = latencyFrom(e.sec, e.ns, e.fourth, p);
    if (!e.replayed && this.options.preferReplayed) {
      p.held = res;
      return;
    }
    if (e.replayed && this.holdsReplayed()) {
      this.holdReplayed(p, res, e.sec, e.ns);
      return;
    }
    this.pending.delete(p.id);
    p.done = true;
    this.markAnswered(p.id);
    this.emit(p, res, e.replayed);
  }

  private markAnswered(id: string): void {
    if (this.answered.size >= ANSWERED) {
      this.answeredBefore = this.answered;
      this.answered = new Set();
    }
    this.answered.add(id);
  }

  private onRequest(v: MetaView): void {
    const { buf, start, end } = v;
    const h = this.scan;
    const exchanges = this.sink.wantsExchanges();
    scanHead(buf, start, end, exchanges ? this.client : NO_CLIENT, h);
    if (!endsWithHttpVersion(buf, start, h.lineEnd)) {
      this.counters.not_http++;
      return;
    }
    const startMs = v.ms;
    if (startMs > this.latestMs) {
      this.latestMs = startMs;
      const oldest = this.queue.oldest();
      if (oldest && oldest.startMs < startMs - this.timeoutMs) this.expire(startMs);
      else this.expireEarly(startMs);
    }
    const id = v.id;
    this.watchRound(id, v.sec, v.ns, startMs);
    const previous = this.pending.get(id);
    if (previous) this.finish(previous); // the same id again (replayed file read twice): answer the first

    // The path of the request-target (routes.ts pathOf's rules, on the bytes): absolute-form's scheme and
    // authority, the query and the fragment removed.
    let t = h.space1 + 1;
    const targetEnd = h.space2 === -1 ? h.lineEnd : h.space2;
    let authorityStart = -1;
    let authorityEnd = -1;
    // The first "://" counts, and only 1–9 characters in (a target starting with "://" has no scheme).
    const slashesFirst = buf[t] === 0x3a && buf[t + 1] === 0x2f && buf[t + 2] === 0x2f && t + 2 < targetEnd;
    for (let k = t + 1; !slashesFirst && k < t + 10 && k + 2 < targetEnd; k++) {
      if (buf[k] === 0x3a && buf[k + 1] === 0x2f && buf[k + 2] === 0x2f) {
        authorityStart = k + 3;
        authorityEnd = authorityStart;
        while (authorityEnd < targetEnd && buf[authorityEnd] !== 0x2f) authorityEnd++;
        t = authorityEnd;
        break;
      }
    }
    // (`high`: the path's bytes OR-ed together, so that only a path with a byte ≥ 0x80 is decoded as UTF-8,
    // wire-text.ts; an ASCII path is its latin1 string, as fast as before.)
    let pathEnd = t;
    let high = 0;
    for (; pathEnd < targetEnd; pathEnd++) {
      const c = buf[pathEnd]!;
      if (c === 0x3f || c === 0x23) break;
      high |= c;
    }
    const path = pathEnd === t ? '/' : high < 0x80 ? latin1(buf, t, pathEnd) : wireText(buf, t, pathEnd);

    let host = h.hostStart === -1 ? '' : this.hostOf(buf, h.hostStart, h.hostEnd);
    if (host === '' && authorityStart !== -1) host = wireText(buf, authorityStart, authorityEnd);
    const headerBytes = h.end - start;
    const bodyBytes = end - h.end;
    const chunked = h.transferStart !== -1 && isChunked(buf, h.transferStart, h.transferEnd);
    let client = '';
    if (exchanges) {
      client = firstAddress(buf, h.clientStart, h.clientEnd);
      if (client === '' && this.options.clientFromId) {
        client = this.options.ipv6Clients?.get(id.slice(0, 16)) ?? clientFromId(id);
      }
    }
    const p = new Pending(
      id,
      v.sec,
      v.ns,
      startMs,
      this.routes.route(path),
      host,
      headerBytes,
      bodyBytes,
      chunked && bodyBytes > 0 ? chunkedEntityLength(buf, h.end, end) : bodyBytes,
      exchanges ? latin1(buf, start, h.space1) : '',
      path,
      client,
      v.marked,
    );
    this.pending.set(id, p);
    this.queue.push(p);
    const e = this.early.size > 0 ? this.early.get(id) : undefined;
    if (e) this.pairEarly(p, e);
    if (this.pending.size > this.maxPending) this.finish(this.queue.oldest()!);
  }

  /**
   * Rounds (file header): a request of the head seen again, with its timestamp, earlier than the latest request's
   * (a round starts the recording's time again). Not at the latest's time: requests pipelined in one packet share
   * the packet's timestamp and, with gor's ids (the ACK number), their id too.
   */
  private watchRound(id: string, sec: number, ns: number, ms: number): void {
    const known = this.head.get(id);
    if (known === undefined) {
      if (this.head.size < ROUND_HEAD) this.head.set(id, { sec, ns, seen: 1 });
      return;
    }
    if (known.sec !== sec || known.ns !== ns || ms >= this.latestMs) return;
    known.seen++;
    if (known.seen <= this.counters.repeated_rounds + 1) return;
    this.counters.repeated_rounds++;
    if (this.roundStarts.length < ROUND_STARTS) this.roundStarts.push(this.observed - 1);
  }

  /**
   * When a replayed response without its request counts (series, span): its own timestamp is the replay's clock,
   * not the recording's the requests have (years apart: the span would run across both), so at the latest request
   * read before it; at its own when no request came before.
   */
  private replayedAt(ownMs: number): number {
    return this.latestMs > 0 ? this.latestMs : ownMs;
  }

  private holdsReplayed(): boolean {
    return this.options.latestReplayed === true;
  }

  /** latestReplayed: keeps the later-timed of `p`'s replayed answers; the other is an earlier replay's. */
  private holdReplayed(p: Pending, res: ResponseFacts, sec: number, ns: number): void {
    if (p.held) {
      this.counters.original_responses_replaced++;
      p.held = undefined;
    }
    if (p.replayed) {
      this.counters.earlier_replay_responses++;
      if (sec < p.replayedSec || (sec === p.replayedSec && ns < p.replayedNs)) return;
    }
    p.replayed = res;
    p.replayedSec = sec;
    p.replayedNs = ns;
  }

  /** The trimmed Host value (wire-text.ts hostText), its string reused while the bytes are the same as the last request's. */
  private hostOf(buf: Buffer, from: number, to: number): string {
    const last = this.hostBytes;
    if (to - from === last.length) {
      let same = true;
      for (let k = 0; k < last.length; k++) {
        if (buf[from + k] !== last[k]) {
          same = false;
          break;
        }
      }
      if (same) return this.hostText;
    }
    this.hostBytes = Buffer.from(buf.subarray(from, to));
    this.hostText = hostText(buf, from, to);
    return this.hostText;
  }

  private onResponse(v: MetaView, replayed: boolean): void {
    const { buf, start, end } = v;
    const h = this.scan;
    scanHead(buf, start, end, null, h);
    const status = responseStatus(buf, start, h);
    if (status === -1) {
      this.counters.not_http++;
      return;
    }
    const id = v.id;
    const p = this.pending.get(id);
    if (p && status >= 100 && status < 200 && status !== 101) {
      this.counters.interim_responses++;
      p.interimBytes += end - start;
      return;
    }
    const res = this.res;
    const exchanges = this.sink.wantsExchanges();
    const encoding = h.encodingStart === -1 ? '' : valueText(buf, h.encodingStart, h.encodingEnd).toLowerCase();
    const chunked = h.transferStart !== -1 && isChunked(buf, h.transferStart, h.transferEnd);
    res.status = status;
    res.headerBytes = h.end - start;
    res.bodyBytes = end - h.end;
    if (!chunked && encoding === '') {
      res.bodyEntityBytes = res.bodyBytes;
      res.bodyDecodedBytes = res.bodyBytes;
    } else {
      const [entity, decoded] = responseBodySizes(buf, h.end, end, chunked, encoding);
      res.bodyEntityBytes = entity;
      res.bodyDecodedBytes = decoded;
    }
    res.contentEncoding = encoding;
    res.incomplete = v.marked;
    res.contentType = exchanges || (p && this.options.preferReplayed) ? mediaType(buf, h.typeStart, h.typeEnd) : '';
    res.latencyNs = replayed ? replayedLatency(v) : p ? originalLatency(v, p) : Number.NaN;
    if (replayed) {
      res.wireMs = Number.NaN;
      res.wireEndMs = Number.NaN;
    } else {
      res.wireMs = v.ms;
      res.wireEndMs = v.ms + ownDuration(v.fourth) / 1e6;
    }

    if (!p) {
      // A response already answered, or a second one before its request: a duplicate. A first final one may
      // be early (its request still arriving): it waits for its request.
      const final = status < 100 || status >= 200 || status === 101;
      const answered = this.answered.has(id) || this.answeredBefore.has(id);
      if (answered && !replayed && this.options.preferReplayed) {
        // Its replayed answer came first (a replay writes it as soon as the target answers, the original
        // when the input reaches it) and completed the exchange: this is the original it replaces.
        this.counters.original_responses_replaced++;
        return;
      }
      if (answered || this.early.has(id)) {
        this.counters.duplicate_responses++;
      } else if (final) {
        this.keepEarly(id, v, replayed, res);
        return;
      } else this.counters.responses_without_request++;
      this.emit(orphan(id, v, replayed ? this.replayedAt(v.ms) : v.ms), res, replayed);
      return;
    }
    if (!replayed && this.options.preferReplayed) {
      if (p.replayed) this.counters.original_responses_replaced++;
      else if (p.held) this.counters.duplicate_responses++;
      else p.held = { ...res };
      return;
    }
    if (replayed && this.holdsReplayed()) {
      this.holdReplayed(p, { ...res }, v.sec, v.ns);
      return;
    }
    if (replayed && p.held) this.counters.original_responses_replaced++;
    this.pending.delete(id);
    p.done = true;
    this.markAnswered(id);
    this.emit(p, res, replayed);
  }

  /** Answers `p` with its held original response, or as no-response. */
  private finish(p: Pending): void {
    this.pending.delete(p.id);
    p.done = true;
    if (p.replayed) {
      this.markAnswered(p.id);
      this.emit(p, p.replayed, true);
    } else if (p.held) {
      this.markAnswered(p.id);
      this.emit(p, p.held, false);
    } else {
      this.counters.no_response++;
      this.emit(p, undefined, false);
    }
  }

  private emit(p: Pending, res: ResponseFacts | undefined, replayed: boolean): void {
    const t = this.tally;
    t.route = p.route;
    t.host = p.host;
    t.requestHeaderBytes = p.headerBytes;
    t.requestBodyBytes = p.bodyBytes;
    t.responseHeaderBytes = (res ? res.headerBytes : 0) + p.interimBytes;
    t.responseBodyBytes = res ? res.bodyBytes : 0;
    t.responseBodyDecodedBytes = res ? res.bodyDecodedBytes : 0;
    t.status = res ? res.status : -1;
    const latencyNs = res ? res.latencyNs : Number.NaN;
    t.latencyMs = latencyNs / 1e6;
    t.startMs = p.startMs;
    t.responseMs = res ? res.wireMs : Number.NaN;
    t.responseEndMs = res ? res.wireEndMs : Number.NaN;
    if (!this.sink.wantsExchanges()) {
      this.sink.add(t, undefined);
      return;
    }
    this.sink.add(t, {
      id: p.id,
      source: replayed ? 'replayed' : 'original',
      startNs: BigInt(p.sec) * 1_000_000_000n + BigInt(p.ns),
      method: p.method,
      host: p.host,
      path: p.path,
      route: p.route,
      client: p.client,
      requestHeaderBytes: p.headerBytes,
      requestBodyBytes: p.bodyBytes,
      requestBodyEntityBytes: p.bodyEntityBytes,
      status: res?.status,
      responseHeaderBytes: t.responseHeaderBytes,
      responseBodyBytes: t.responseBodyBytes,
      responseBodyEntityBytes: res ? res.bodyEntityBytes : 0,
      responseBodyDecodedBytes: t.responseBodyDecodedBytes,
      contentType: res ? res.contentType : '',
      contentEncoding: res ? res.contentEncoding : '',
      latencyNs: Number.isNaN(latencyNs) ? undefined : BigInt(latencyNs),
      requestIncomplete: p.incomplete,
      responseIncomplete: res ? res.incomplete : false,
    });
  }
}

/** Ids remembered per generation of `answered`. */
const ANSWERED = 4096;

/** A response without its request: counted, under its own route, at `ms`. */
function orphan(id: string, v: MetaView, ms: number): Pending {
  return new Pending(id, v.sec, v.ns, ms, NO_REQUEST_ROUTE, '', 0, 0, 0, '', '', '');
}

/** Request first byte → response last byte, ns: the response's start plus its own capture duration (spec §2.1). */
function originalLatency(v: MetaView, p: Pending): number {
  return latencyFrom(v.sec, v.ns, v.fourth, p);
}

/** originalLatency() from a response's fields (kept for an early response); negative or unknown: NaN. */
function latencyFrom(sec: number, ns: number, fourth: number, p: Pending): number {
  const own = ownDuration(fourth);
  const latency = (sec - p.sec) * 1e9 + (ns - p.ns) + own;
  const requestStarted = p.sec > 0 || (p.sec === 0 && p.ns > 0);
  return latency >= 0 && requestStarted ? latency : Number.NaN;
}

/** A captured message's own capture duration (its 4th field), ns: none (0) without the field or with -1 (unknown). */
function ownDuration(fourth: number): number {
  return Number.isNaN(fourth) || fourth < 0 ? 0 : fourth;
}

/** The replay's round trip, measured by output-http (spec §7.4). */
function replayedLatency(v: MetaView): number {
  return v.fourth >= 0 ? v.fourth : Number.NaN;
}

/** gor capture ids carry the client IPv4 (or the last 4 bytes of an IPv6 address) in bytes 4–7. */
function clientFromId(id: string): string {
  if (id.length !== 24 || !/^[0-9a-f]{24}$/.test(id)) return '';
  const ip = [8, 10, 12, 14].map((i) => Number.parseInt(id.slice(i, i + 2), 16));
  return ip.join('.');
}
