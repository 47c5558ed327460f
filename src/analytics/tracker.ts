/**
 * Pairs requests with their responses by gor id and hands out one Exchange per request.
 *
 *   type 1 ──▶ pending (a Map by id, oldest first) ──┬─ type 2 / type 3 with the same id ─▶ Exchange
 *                                                        ├─ waited longer than pendingTimeout ─▶ Exchange (no response)
 *                                                        ├─ evicted (more than maxPending waiting) ─▶ same
 *                                                        └─ flush() at the end of the input ─▶ same
 *   type 2/3 without a pending request ─▶ Exchange on the route `(no request)` (bytes are never lost)
 *
 * Time is the messages' own (capture or replay timestamps), so a file is tracked as it was captured.
 * With `preferReplayed` (a run or file that replays with --output-http-track-response), an original
 * response (type 2) is held until the replayed one (type 3) comes, and only used if it never does.
 */
import { BoundedMap } from '../core/bounded-set.js';
import type { Message } from '../core/message.js';
import { NO_REQUEST_ROUTE, pathOf, type RouteNamer } from './routes.js';
import { measureRequest, measureResponse, type RequestFacts, type ResponseFacts } from './sizes.js';
import type { Exchange } from './types.js';

export interface TrackerOptions {
  /** Requests waiting for a response at most (oldest answered as no-response beyond). Default 100,000. */
  maxPending?: number;
  /** A request waits at most this long (by message timestamps) for its response. Default 60 s. */
  pendingTimeoutMs?: number;
  /** Hold original responses for a replayed one (see the file header). */
  preferReplayed?: boolean;
  /** Which responses count: both types (default), only originals (2) or only replayed ones (3). */
  responses?: 'any' | 'original' | 'replayed';
  /** Header naming the client address (lower-case), default `x-real-ip`. */
  clientHeader?: string;
  /** Without that header, read the client IPv4 (or IPv6 tail) from gor's capture id (spec §2.5). */
  clientFromId?: boolean;
}

export interface TrackerCounters {
  no_response: number;
  responses_without_request: number;
  original_responses_replaced: number;
  interim_responses: number;
  duplicate_responses: number;
  not_http: number;
}

interface Pending {
  readonly id: string;
  readonly startNs: bigint;
  readonly startMs: number;
  readonly req: RequestFacts;
  readonly host: string;
  readonly path: string;
  readonly route: string;
  readonly client: string;
  /** Bytes of 1xx interim responses seen so far. */
  interimBytes: number;
  /** An original response held while waiting for a replayed one. */
  held?: { facts: ResponseFacts; latencyNs: bigint | undefined };
}

const NO_REQUEST: RequestFacts = {
  method: '',
  target: '',
  host: '',
  headerBytes: 0,
  bodyBytes: 0,
  bodyEntityBytes: 0,
  client: '',
};

export class ExchangeTracker {
  readonly counters: TrackerCounters = {
    no_response: 0,
    responses_without_request: 0,
    original_responses_replaced: 0,
    interim_responses: 0,
    duplicate_responses: 0,
    not_http: 0,
  };
  /** Waiting requests by id. */
  private readonly pending = new Map<string, Pending>();
  /**
   * The same requests in arrival order, answered ones left in place and skipped (a Map's own first entry is
   * slow to reach after many deletions: iteration walks over the deleted slots). Compacted as it drains.
   */
  private queue: Pending[] = [];
  private head = 0;
  private readonly maxPending: number;
  /** Ids answered recently: a second final response is a duplicate, not a response without request. */
  private readonly answered: BoundedMap<string, true>;
  private readonly timeoutMs: number;
  private readonly clientHeader: string;
  private latestMs = 0;

  constructor(
    private readonly routes: RouteNamer,
    private readonly emit: (exchange: Exchange) => void,
    private readonly options: TrackerOptions = {},
  ) {
    this.maxPending = options.maxPending ?? 100_000;
    this.answered = new BoundedMap(4096); // enough to tell a late duplicate from a stranger
    this.timeoutMs = options.pendingTimeoutMs ?? 60_000;
    this.clientHeader = (options.clientHeader ?? 'x-real-ip').toLowerCase();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  observe(msg: Message): void {
    const type = msg.meta.type;
    if (type === '1') this.onRequest(msg);
    else if (type === '2') {
      if (this.options.responses !== 'replayed') this.onResponse(msg, 'original');
    } else if (type === '3') {
      if (this.options.responses !== 'original') this.onResponse(msg, 'replayed');
    } else this.counters.not_http++;
  }

  /** Answers every request that has waited longer than the timeout at `nowMs` (message time). */
  expire(nowMs = this.latestMs): void {
    const limit = nowMs - this.timeoutMs;
    for (let p = this.oldest(); p !== undefined && p.startMs < limit; p = this.oldest()) this.finish(p);
  }

  /** End of input: every waiting request is answered with what it has. */
  flush(): void {
    for (let p = this.oldest(); p !== undefined; p = this.oldest()) this.finish(p);
  }

  private oldest(): Pending | undefined {
    const q = this.queue;
    while (this.head < q.length) {
      const p = q[this.head]!;
      if (this.pending.get(p.id) === p) return p;
      this.head++;
    }
    if (this.head > 0) {
      this.queue = [];
      this.head = 0;
    }
    return undefined;
  }

  private enqueue(p: Pending): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.queue.push(p);
  }

  private onRequest(msg: Message): void {
    const facts = measureRequest(msg.data, this.clientHeader);
    if (!facts) {
      this.counters.not_http++;
      return;
    }
    const startNs = msg.meta.timestampNs;
    const startMs = Number(startNs) / 1e6;
    if (startMs > this.latestMs) {
      this.latestMs = startMs;
      const oldest = this.oldest();
      if (oldest && oldest.startMs < startMs - this.timeoutMs) this.expire(startMs);
    }
    const id = msg.meta.id;
    const previous = this.pending.get(id);
    if (previous) this.finish(previous); // the same id again (replayed file read twice): answer the first
    const { path, authority } = pathOf(facts.target);
    const p: Pending = {
      id,
      startNs,
      startMs,
      req: facts,
      host: facts.host || authority,
      path,
      route: this.routes.route(path),
      client: facts.client || (this.options.clientFromId ? clientFromId(id) : ''),
      interimBytes: 0,
    };
    this.pending.set(id, p);
    this.enqueue(p);
    if (this.pending.size > this.maxPending) this.finish(this.oldest()!);
  }

  private onResponse(msg: Message, source: 'original' | 'replayed'): void {
    const facts = measureResponse(msg.data);
    if (!facts) {
      this.counters.not_http++;
      return;
    }
    const id = msg.meta.id;
    const p = this.pending.get(id);
    const latencyNs = source === 'replayed' ? replayedLatency(msg) : p ? originalLatency(msg, p.startNs) : undefined;
    if (!p) {
      if (this.answered.has(id)) this.counters.duplicate_responses++;
      else this.counters.responses_without_request++;
      this.emitExchange(orphan(id, msg), facts, source, undefined);
      return;
    }
    if (facts.status >= 100 && facts.status < 200 && facts.status !== 101) {
      this.counters.interim_responses++;
      p.interimBytes += msg.data.length;
      return;
    }
    if (source === 'original' && this.options.preferReplayed) {
      if (p.held) this.counters.duplicate_responses++;
      else p.held = { facts, latencyNs };
      return;
    }
    if (source === 'replayed' && p.held) this.counters.original_responses_replaced++;
    this.pending.delete(id);
    this.answered.set(id, true);
    this.emitExchange(p, facts, source, latencyNs);
  }

  /** Answers `p` with its held original response, or as no-response. */
  private finish(p: Pending): void {
    this.pending.delete(p.id);
    if (p.held) {
      this.answered.set(p.id, true);
      this.emitExchange(p, p.held.facts, 'original', p.held.latencyNs);
    } else {
      this.counters.no_response++;
      this.emitExchange(p, undefined, 'original', undefined);
    }
  }

  private emitExchange(
    p: Pending,
    res: ResponseFacts | undefined,
    source: 'original' | 'replayed',
    latencyNs: bigint | undefined,
  ): void {
    const req = p.req;
    this.emit({
      id: p.id,
      source,
      startNs: p.startNs,
      method: req.method,
      host: p.host,
      path: p.path,
      route: p.route,
      client: p.client,
      requestHeaderBytes: req.headerBytes,
      requestBodyBytes: req.bodyBytes,
      requestBodyEntityBytes: req.bodyEntityBytes,
      status: res?.status,
      responseHeaderBytes: (res?.headerBytes ?? 0) + p.interimBytes,
      responseBodyBytes: res?.bodyBytes ?? 0,
      responseBodyEntityBytes: res?.bodyEntityBytes ?? 0,
      responseBodyDecodedBytes: res?.bodyDecodedBytes ?? 0,
      contentType: res?.contentType ?? '',
      contentEncoding: res?.contentEncoding ?? '',
      latencyNs,
    });
  }
}

/** A response without its request: counted, under its own route. */
function orphan(id: string, msg: Message): Pending {
  const startNs = msg.meta.timestampNs;
  return {
    id,
    startNs,
    startMs: Number(startNs) / 1e6,
    req: NO_REQUEST,
    host: '',
    path: '',
    route: NO_REQUEST_ROUTE,
    client: '',
    interimBytes: 0,
  };
}

/** Request first byte → response last byte: the response's start plus its own capture duration (spec §2.1). */
function originalLatency(msg: Message, requestStartNs: bigint): bigint | undefined {
  const own = msg.meta.latencyNs;
  const end = msg.meta.timestampNs + (own !== undefined && own > 0n ? own : 0n);
  const latency = end - requestStartNs;
  return latency >= 0n && requestStartNs > 0n ? latency : undefined;
}

/** The replay's round trip, measured by output-http (spec §7.4). */
function replayedLatency(msg: Message): bigint | undefined {
  const rtt = msg.meta.latencyNs;
  return rtt !== undefined && rtt >= 0n ? rtt : undefined;
}

/** gor capture ids carry the client IPv4 (or the last 4 bytes of an IPv6 address) in bytes 4–7. */
function clientFromId(id: string): string {
  if (id.length !== 24 || !/^[0-9a-f]{24}$/.test(id)) return '';
  const ip = [8, 10, 12, 14].map((i) => Number.parseInt(id.slice(i, i + 2), 16));
  return ip.join('.');
}
