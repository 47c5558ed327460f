/**
 * Adds exchanges (as Tallies) up per route, per host and overall, and turns the totals into the AnalyticsSnapshot.
 *
 *   Tally ─▶ route bucket (≤ routeLimit, else `(other)`) ─┐
 *         ─▶ host bucket  (≤ hostLimit,  else `(other)`) ─┼─▶ snapshot(): sorted by bytes, shares, p50/95/99
 *         ─▶ totals, bandwidth series (bounded slots)    ─┘
 *
 * Memory is flat whatever the traffic: bucket counts are capped, each bucket is a few numbers and a sparse
 * histogram, and the series halves its resolution instead of growing. Aggregators merge, which is how
 * window() sums its slices.
 */
import { SparseHistogram } from './histogram.js';
import { NO_REQUEST_ROUTE, OVERFLOW_ROUTE } from './routes.js';
import type { TrackerCounters } from './tracker.js';
import type { AnalyticsSnapshot, BandwidthSeries, RouteTotals } from './types.js';

export interface AggregatorOptions {
  /** Distinct routes kept; later ones are filed under `(other)`. Default 1000. */
  routeLimit?: number;
  /** Distinct hosts kept; later ones under `(other)`. Default 200. */
  hostLimit?: number;
  /** Most slots in the bandwidth series (the slot width doubles to stay under). Default 720. */
  seriesSlots?: number;
}

/**
 * One finished exchange as the aggregator adds it: the keys and the numbers, no BigInt, no strings it does not
 * file under. The tracker fills one and reuses it for every exchange, so add() must not keep it.
 */
export interface Tally {
  route: string;
  host: string;
  requestHeaderBytes: number;
  requestBodyBytes: number;
  responseHeaderBytes: number;
  responseBodyBytes: number;
  responseBodyDecodedBytes: number;
  /** -1 without a response. */
  status: number;
  /** Request first byte → response last byte, ms; NaN when unknown. */
  latencyMs: number;
  /** Request first byte, Unix ms. */
  startMs: number;
  /**
   * A captured response's first and last byte, Unix ms (its bytes count in the series at the first; the run's
   * span reaches the last). NaN without a response, and for a replayed one (its clock is the replay's): its bytes
   * then count at startMs.
   */
  responseMs: number;
  responseEndMs: number;
}

/** A zeroed Tally, for a tracker to fill and reuse. */
export function emptyTally(): Tally {
  return {
    route: '',
    host: '',
    requestHeaderBytes: 0,
    requestBodyBytes: 0,
    responseHeaderBytes: 0,
    responseBodyBytes: 0,
    responseBodyDecodedBytes: 0,
    status: -1,
    latencyMs: Number.NaN,
    startMs: 0,
    responseMs: Number.NaN,
    responseEndMs: Number.NaN,
  };
}

const KIB = 1024;
const MIB = 1024 * 1024;

/** Running totals of one bucket. Public fields: read by exporters through snapshot() only. */
export class Bucket {
  requests = 0;
  responses = 0;
  requestHeaderBytes = 0;
  requestBodyBytes = 0;
  responseHeaderBytes = 0;
  responseBodyBytes = 0;
  responseBodyDecodedBytes = 0;
  status = [0, 0, 0, 0, 0, 0]; // index = status / 100 (0 and >5 land in 0: unknown)
  noResponse = 0;
  readonly latency = new SparseHistogram();
  /** The one host (or route) seen in this bucket, '*' once there were several. */
  other = '';

  /** `latencyBucket`: SparseHistogram.bucketOf(t.latencyMs), computed once for the exchange's buckets. */
  add(t: Tally, other: string, latencyBucket: number): void {
    // A response whose request was never seen is counted for its bytes, not as a request.
    if (t.route !== NO_REQUEST_ROUTE) this.requests++;
    this.requestHeaderBytes += t.requestHeaderBytes;
    this.requestBodyBytes += t.requestBodyBytes;
    this.responseHeaderBytes += t.responseHeaderBytes;
    this.responseBodyBytes += t.responseBodyBytes;
    this.responseBodyDecodedBytes += t.responseBodyDecodedBytes;
    if (t.status < 0) this.noResponse++;
    else {
      this.responses++;
      const cls = Math.floor(t.status / 100);
      this.status[cls >= 1 && cls <= 5 ? cls : 0]!++;
    }
    this.latency.recordIn(latencyBucket, t.latencyMs);
    if (this.other === '') this.other = other;
    else if (this.other !== other) this.other = '*';
  }

  merge(b: Bucket): void {
    this.requests += b.requests;
    this.responses += b.responses;
    this.requestHeaderBytes += b.requestHeaderBytes;
    this.requestBodyBytes += b.requestBodyBytes;
    this.responseHeaderBytes += b.responseHeaderBytes;
    this.responseBodyBytes += b.responseBodyBytes;
    this.responseBodyDecodedBytes += b.responseBodyDecodedBytes;
    for (let i = 0; i < this.status.length; i++) this.status[i]! += b.status[i]!;
    this.noResponse += b.noResponse;
    this.latency.merge(b.latency);
    if (this.other === '') this.other = b.other;
    else if (b.other !== '' && b.other !== this.other) this.other = '*';
  }

  get totalBytes(): number {
    return this.requestHeaderBytes + this.requestBodyBytes + this.responseHeaderBytes + this.responseBodyBytes;
  }

  totals(route: string, host: string, allBytes: number): RouteTotals {
    const total = this.totalBytes;
    return {
      route,
      host,
      requests: this.requests,
      responses: this.responses,
      request_header_bytes: this.requestHeaderBytes,
      request_body_bytes: this.requestBodyBytes,
      response_header_bytes: this.responseHeaderBytes,
      response_body_bytes: this.responseBodyBytes,
      response_body_decoded_bytes: this.responseBodyDecodedBytes,
      total_bytes: total,
      share: allBytes > 0 ? round(total / allBytes, 6) : 0,
      status_1xx: this.status[1]!,
      status_2xx: this.status[2]!,
      status_3xx: this.status[3]!,
      status_4xx: this.status[4]!,
      status_5xx: this.status[5]!,
      no_response: this.noResponse,
      latency_samples: this.latency.count,
      p50_ms: round(this.latency.percentile(50), 3),
      p95_ms: round(this.latency.percentile(95), 3),
      p99_ms: round(this.latency.percentile(99), 3),
    };
  }
}

/** Wire bytes per time slot, by when they were on the wire (aggregator add()), and requests by their timestamps. */
class Series {
  startMs = -1;
  slotMs = 1000;
  bytes: number[] = [];
  requests: number[] = [];

  constructor(private readonly maxSlots: number) {}

  add(atMs: number, bytes: number, requests: number): void {
    if (!Number.isFinite(atMs) || atMs <= 0) return; // 0 timestamps (bad meta) have no place in time
    if (this.startMs < 0) this.startMs = Math.floor(atMs / this.slotMs) * this.slotMs;
    let i = Math.floor((atMs - this.startMs) / this.slotMs);
    if (i < 0) {
      // Earlier than the first slot (exchanges complete in their responses' order, not their requests'):
      // slots are added in front, wider ones if that would pass maxSlots.
      while (this.bytes.length - i > Math.max(this.maxSlots, 2)) {
        this.halve();
        i = Math.floor((atMs - this.startMs) / this.slotMs);
      }
      const front = new Array<number>(-i).fill(0);
      this.bytes = front.concat(this.bytes);
      this.requests = front.concat(this.requests);
      this.startMs += i * this.slotMs;
      i = 0;
    }
    while (i >= this.maxSlots) {
      this.halve();
      i = Math.floor((atMs - this.startMs) / this.slotMs);
    }
    while (this.bytes.length <= i) {
      this.bytes.push(0);
      this.requests.push(0);
    }
    this.bytes[i]! += bytes;
    this.requests[i]! += requests;
  }

  load(startMs: number, slotMs: number, bytes: number[], requests: number[]): void {
    this.startMs = startMs;
    this.slotMs = slotMs;
    this.bytes = bytes;
    this.requests = requests;
  }

  /** Slots twice as wide: pairs are added. */
  private halve(): void {
    const pair = <T extends number[]>(a: T) => {
      const out: number[] = [];
      for (let i = 0; i < a.length; i += 2) out.push(a[i]! + (a[i + 1] ?? 0));
      return out;
    };
    this.bytes = pair(this.bytes);
    this.requests = pair(this.requests);
    this.slotMs *= 2;
  }

  merge(o: Series): void {
    if (o.startMs < 0) return;
    for (let i = 0; i < o.bytes.length; i++) this.add(o.startMs + i * o.slotMs, o.bytes[i]!, o.requests[i]!);
  }

  view(): BandwidthSeries {
    return { start_ms: Math.max(0, this.startMs), slot_ms: this.slotMs, bytes: this.bytes, requests: this.requests };
  }
}

export interface SnapshotContext {
  elapsedS: number;
  /** Bytes per second to report (live: over the last interval); default total / elapsed. */
  bandwidthBytesPerS?: number;
  counters?: TrackerCounters;
  pending?: number;
  /** Length of top_endpoints. Default 10. */
  top?: number;
}

export class Aggregator {
  readonly total = new Bucket();
  readonly routes = new Map<string, Bucket>();
  readonly hosts = new Map<string, Bucket>();
  routesOverflowed = 0;
  hostsOverflowed = 0;
  maxResponseBytes = 0;
  firstMs = Number.POSITIVE_INFINITY;
  lastMs = 0;
  private readonly series: Series;
  private readonly routeLimit: number;
  private readonly hostLimit: number;

  constructor(private readonly options: AggregatorOptions = {}) {
    this.routeLimit = options.routeLimit ?? 1000;
    this.hostLimit = options.hostLimit ?? 200;
    this.series = new Series(options.seriesSlots ?? 720);
  }

  add(t: Tally): void {
    const route = this.bucket(this.routes, t.route, this.routeLimit);
    if (this.overflowed) this.routesOverflowed++;
    // Most traffic names one host: the last host's bucket is remembered (the same string, usually the same object).
    let host = this.lastHostBucket;
    if (t.host !== this.lastHost || host === undefined) {
      host = this.bucket(this.hosts, t.host, this.hostLimit);
      if (this.overflowed) this.hostsOverflowed++;
      else {
        this.lastHost = t.host;
        this.lastHostBucket = host;
      }
    }
    const latencyBucket = SparseHistogram.bucketOf(t.latencyMs);
    route.add(t, t.host, latencyBucket);
    host.add(t, t.route, latencyBucket);
    this.total.add(t, '*', latencyBucket);
    const responseBytes = t.responseHeaderBytes + t.responseBodyBytes;
    if (responseBytes > this.maxResponseBytes) this.maxResponseBytes = responseBytes;
    // Bytes count when they were on the wire (as a packet capture's I/O graph counts them): the request's at its
    // timestamp, a captured response's at its own; the span runs from the first byte to the last.
    const ms = t.startMs;
    if (ms > 0) {
      if (ms < this.firstMs) this.firstMs = ms;
      if (ms > this.lastMs) this.lastMs = ms;
    }
    const requests = t.route === NO_REQUEST_ROUTE ? 0 : 1;
    const atMs = t.responseMs;
    if (atMs > 0) {
      if (atMs < this.firstMs) this.firstMs = atMs;
      if (t.responseEndMs > this.lastMs) this.lastMs = t.responseEndMs;
    }
    if (atMs > 0 && atMs !== ms) {
      this.series.add(ms, t.requestHeaderBytes + t.requestBodyBytes, requests);
      this.series.add(atMs, responseBytes, 0);
    } else this.series.add(ms, t.requestHeaderBytes + t.requestBodyBytes + responseBytes, requests);
  }

  private lastHost = '';
  private lastHostBucket: Bucket | undefined;

  /** Whether the last bucket() call filed its key under the overflow bucket (a field: no object per call). */
  private overflowed = false;

  /** The bucket of `key`, or the overflow bucket when the map is full (it may take the map one over). */
  private bucket(map: Map<string, Bucket>, key: string, limit: number): Bucket {
    const found = map.get(key);
    if (found) {
      this.overflowed = false;
      return found;
    }
    this.overflowed = map.size >= limit && key !== OVERFLOW_ROUTE;
    const name = this.overflowed ? OVERFLOW_ROUTE : key;
    let bucket = map.get(name);
    if (!bucket) {
      bucket = new Bucket();
      map.set(name, bucket);
    }
    return bucket;
  }

  /**
   * Takes the state of the native core's aggregator (native/src/stats_core.cc Aggregate::Dump; native-tracker.ts
   * reads it): the same buckets, counters and series this class would hold had it added the exchanges itself.
   * `routeName`/`hostName` turn the core's indexes into strings. Returns where the dump ended.
   */
  load(d: Float64Array, routeName: (i: number) => string, hostName: (i: number) => string): number {
    const routeCount = d[0]!;
    const hostCount = d[1]!;
    this.routesOverflowed = d[2]!;
    this.hostsOverflowed = d[3]!;
    this.maxResponseBytes = d[4]!;
    this.firstMs = d[5]!;
    this.lastMs = d[6]!;
    const slots = d[9]!;
    this.series.load(
      d[7]!,
      d[8]!,
      Array.from(d.subarray(10, 10 + slots)),
      Array.from(d.subarray(10 + slots, 10 + 2 * slots)),
    );
    let at = 10 + 2 * slots;
    const bucket = (b: Bucket, other: (i: number) => string): number => {
      const o = d[at + 1]!;
      b.other = o === -2 ? '' : o === -1 ? '*' : other(o);
      b.requests = d[at + 2]!;
      b.responses = d[at + 3]!;
      b.requestHeaderBytes = d[at + 4]!;
      b.requestBodyBytes = d[at + 5]!;
      b.responseHeaderBytes = d[at + 6]!;
      b.responseBodyBytes = d[at + 7]!;
      b.responseBodyDecodedBytes = d[at + 8]!;
      for (let k = 0; k < 6; k++) b.status[k] = d[at + 9 + k]!;
      b.noResponse = d[at + 15]!;
      const used = d[at + 19]!;
      b.latency.load(d[at + 16]!, d[at + 17]!, d[at + 18]!, d, at + 20, used);
      const key = d[at]!;
      at += 20 + 2 * used;
      return key;
    };
    this.routes.clear();
    this.hosts.clear();
    bucket(this.total, () => '*');
    for (let i = 0; i < routeCount; i++) {
      const b = new Bucket();
      this.routes.set(routeName(bucket(b, hostName)), b);
    }
    for (let i = 0; i < hostCount; i++) {
      const b = new Bucket();
      this.hosts.set(hostName(bucket(b, routeName)), b);
    }
    return at;
  }

  merge(o: Aggregator): void {
    const into = (mine: Map<string, Bucket>, theirs: Map<string, Bucket>, limit: number) => {
      let overflowed = 0;
      for (const [k, b] of theirs) {
        const m = this.bucket(mine, k, limit);
        if (this.overflowed) overflowed += b.requests;
        m.merge(b);
      }
      return overflowed;
    };
    this.routesOverflowed += o.routesOverflowed + into(this.routes, o.routes, this.routeLimit);
    this.hostsOverflowed += o.hostsOverflowed + into(this.hosts, o.hosts, this.hostLimit);
    this.total.merge(o.total);
    this.maxResponseBytes = Math.max(this.maxResponseBytes, o.maxResponseBytes);
    this.firstMs = Math.min(this.firstMs, o.firstMs);
    this.lastMs = Math.max(this.lastMs, o.lastMs);
    this.series.merge(o.series);
  }

  /** An empty aggregator with the same limits. */
  fresh(): Aggregator {
    return new Aggregator(this.options);
  }

  /** Seconds between the first byte on the wire and the last (requests' and captured responses' timestamps). */
  get spanS(): number {
    return this.lastMs > this.firstMs ? (this.lastMs - this.firstMs) / 1000 : 0;
  }

  snapshot(ctx: SnapshotContext): AnalyticsSnapshot {
    const all = this.total.totalBytes;
    const byBytes = (a: RouteTotals, b: RouteTotals) => b.total_bytes - a.total_bytes || (a.route < b.route ? -1 : 1);
    const routes = [...this.routes].map(([route, b]) => b.totals(route, b.other, all)).sort(byBytes);
    const hosts = [...this.hosts]
      .map(([host, b]) => b.totals(b.other, host, all))
      .sort((a, b) => b.total_bytes - a.total_bytes || (a.host < b.host ? -1 : 1));
    const requestBytes = this.total.requestHeaderBytes + this.total.requestBodyBytes;
    const c = ctx.counters;
    return {
      elapsed_s: round(ctx.elapsedS, 3),
      total_requests: this.total.requests,
      avg_request_size: this.total.requests > 0 ? round(requestBytes / this.total.requests / KIB, 3) : 0,
      max_response_size: round(this.maxResponseBytes / KIB, 3),
      top_endpoints: routes
        .slice(0, ctx.top ?? 10)
        .map((r) => ({ path: r.route, bandwidth_mb: round(r.total_bytes / MIB, 6) })),
      total_bytes: all,
      bandwidth_bytes_per_s: round(ctx.bandwidthBytesPerS ?? (ctx.elapsedS > 0 ? all / ctx.elapsedS : 0), 1),
      routes,
      hosts,
      routes_overflowed: this.routesOverflowed,
      hosts_overflowed: this.hostsOverflowed,
      totals: this.total.totals('*', '*', all),
      series: this.series.view(),
      accounting: {
        no_response: c?.no_response ?? this.total.noResponse,
        responses_without_request: c?.responses_without_request ?? 0,
        original_responses_replaced: c?.original_responses_replaced ?? 0,
        interim_responses: c?.interim_responses ?? 0,
        duplicate_responses: c?.duplicate_responses ?? 0,
        not_http: c?.not_http ?? 0,
        earlier_replay_responses: c?.earlier_replay_responses ?? 0,
        repeated_rounds: c?.repeated_rounds ?? 0,
        replayed_responses_cut: c?.replayed_responses_cut ?? 0,
        marked_incomplete: c?.marked_incomplete ?? 0,
        pending: ctx.pending ?? 0,
      },
    };
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
