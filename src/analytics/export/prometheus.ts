/**
 * `--metrics ADDR`: Prometheus text exposition (format 0.0.4) of the run's analytics, served by node:http at
 * `/metrics`. Counters come from the aggregator's cumulative snapshot at scrape time, so a scrape costs nothing
 * while nobody scrapes; latency histograms are bucketed here, one exchange at a time.
 *
 *   aggregator ─ onExchange ─▶ LatencyBuckets ─┐
 *              ─ snapshot() (at scrape) ───────┴─▶ renderPrometheus ─▶ GET /metrics
 *
 * Series (docs/exporters.md):
 *   tapline_route_bytes_total{host,route,direction="request|response",part="header|body"}   counter
 *   tapline_route_requests_total{host,route,status_class="1xx…5xx|none"}                    counter
 *   tapline_route_latency_seconds_bucket{host,route,le} / _sum / _count                    histogram
 *   tapline_requests_total, tapline_bytes_total, tapline_routes_overflowed_total            counters
 *   tapline_bandwidth_bytes_per_second                                                      gauge
 *
 * A scrape is made as it is read (expositionPieces, sendPieces): the snapshot and histograms are copied when it
 * is asked for, and the text (54 MB for 1,000 routes with 1,200-character names and hosts) is written a piece at a
 * time with backpressure, so a slow reader holds ~64 KB of it, not all of it (4 slow scrapes took such a run from
 * 132 MB to 945 MB when each was rendered whole). At most MAX_SCRAPES_IN_FLIGHT are answered at once (more are
 * answered 503), and one not read within SCRAPE_SEND_TIMEOUT_MS is cut off, so scrapers that never read cannot
 * keep Prometheus out for long.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { drainedOrClosed } from '../../net/conduit.js';
import type { AnalyticsSnapshot } from '../types.js';
import type { AnalyticsFeed } from './feed.js';
import {
  addSeries,
  emptySeries,
  LATENCY_BOUNDS_S,
  LatencyBuckets,
  type LatencySeries,
  OVERFLOW_SERIES,
} from './latency-buckets.js';
import { closeServer, listenOn, serverUrl } from './listen.js';
import { shortName } from './long-names.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Scrapes answered at once; Prometheus sends one at a time per target (an HA pair: two). */
export const MAX_SCRAPES_IN_FLIGHT = 4;
/** How long a scrape may take to be read before its connection is closed (Prometheus's scrape_timeout: 10 s). */
export const SCRAPE_SEND_TIMEOUT_MS = 30_000;

/**
 * Label values escape backslash, double quote and newline (the exposition format's only escapes); a route or
 * host over 1,000 characters is cut with a hash of the whole (long-names.ts).
 */
function label(value: string): string {
  return shortName(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

function header(lines: string[], name: string, type: string, help: string): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

/** Lines as exposition text: each ends with a newline. */
function text(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** The whole exposition for one scrape. */
export function renderPrometheus(snapshot: AnalyticsSnapshot, latency: LatencyBuckets): string {
  return [...expositionPieces(snapshot, latencyByRoute(snapshot, latency))].join('');
}

/**
 * The exposition in pieces, in order: a section's header, one route's lines of a section (26 lines a route in
 * all, 55 KB for a route and host of 1,000 characters), the run's totals. Joined, they are the whole text. Made as
 * they are asked for, from a snapshot and histograms copied at the scrape, so a scrape sent slowly sends what
 * the data was when it was asked for and holds one piece at a time, not the whole text.
 */
export function* expositionPieces(
  snapshot: AnalyticsSnapshot,
  histograms: readonly [string, LatencySeries][],
): Generator<string, void, undefined> {
  const lines: string[] = [];
  header(lines, 'tapline_route_bytes_total', 'counter', 'Bytes on the wire per route, by direction and part.');
  yield text(lines.splice(0));
  for (const r of snapshot.routes) {
    const base = `host="${label(r.host)}",route="${label(r.route)}"`;
    yield text([
      `tapline_route_bytes_total{${base},direction="request",part="header"} ${num(r.request_header_bytes)}`,
      `tapline_route_bytes_total{${base},direction="request",part="body"} ${num(r.request_body_bytes)}`,
      `tapline_route_bytes_total{${base},direction="response",part="header"} ${num(r.response_header_bytes)}`,
      `tapline_route_bytes_total{${base},direction="response",part="body"} ${num(r.response_body_bytes)}`,
    ]);
  }
  header(lines, 'tapline_route_requests_total', 'counter', 'Requests per route by response status class.');
  yield text(lines.splice(0));
  for (const r of snapshot.routes) {
    const base = `host="${label(r.host)}",route="${label(r.route)}"`;
    const classes: [string, number][] = [
      ['1xx', r.status_1xx],
      ['2xx', r.status_2xx],
      ['3xx', r.status_3xx],
      ['4xx', r.status_4xx],
      ['5xx', r.status_5xx],
      ['none', r.no_response],
    ];
    yield text(classes.map(([cls, n]) => `tapline_route_requests_total{${base},status_class="${cls}"} ${num(n)}`));
  }
  header(
    lines,
    'tapline_route_latency_seconds',
    'histogram',
    'Request first byte to response last byte, per route, in seconds.',
  );
  yield text(lines.splice(0));
  for (const [host, s] of histograms) {
    const base = `host="${label(host)}",route="${label(s.route)}"`;
    let cumulative = 0;
    for (let i = 0; i < LATENCY_BOUNDS_S.length; i++) {
      cumulative += s.counts[i]!;
      lines.push(`tapline_route_latency_seconds_bucket{${base},le="${LATENCY_BOUNDS_S[i]}"} ${cumulative}`);
    }
    lines.push(
      `tapline_route_latency_seconds_bucket{${base},le="+Inf"} ${s.count}`,
      `tapline_route_latency_seconds_sum{${base}} ${num(s.sumSeconds)}`,
      `tapline_route_latency_seconds_count{${base}} ${s.count}`,
    );
    yield text(lines.splice(0));
  }
  header(lines, 'tapline_requests_total', 'counter', 'Requests seen by the analytics.');
  lines.push(`tapline_requests_total ${num(snapshot.total_requests)}`);
  header(lines, 'tapline_bytes_total', 'counter', 'Bytes on the wire, all routes, both directions.');
  lines.push(`tapline_bytes_total ${num(snapshot.total_bytes)}`);
  header(
    lines,
    'tapline_routes_overflowed_total',
    'counter',
    'Routes folded into the overflow bucket by the cardinality limit.',
  );
  lines.push(`tapline_routes_overflowed_total ${num(snapshot.routes_overflowed)}`);
  header(lines, 'tapline_bandwidth_bytes_per_second', 'gauge', 'Bandwidth over the last stats interval.');
  lines.push(`tapline_bandwidth_bytes_per_second ${num(snapshot.bandwidth_bytes_per_s)}`);
  yield text(lines);
}

/**
 * The histograms under the labels of their routes' counters: a route's host label is the one its totals carry
 * (its host, or `*` once several were seen), and the routes the aggregator filed under `(other)` (past
 * --route-limit) are added into the `(other)` histogram, so a histogram never names a route the counters do
 * not have and the series stay as bounded as the route limit. Copies (a scrape is sent while exchanges go on
 * filling the buckets).
 */
function latencyByRoute(snapshot: AnalyticsSnapshot, latency: LatencyBuckets): [string, LatencySeries][] {
  const hostOf = new Map(snapshot.routes.map((r) => [r.route, r.host]));
  const out: [string, LatencySeries][] = [];
  let other: LatencySeries | undefined;
  for (const s of latency.all()) {
    const host = s.route === OVERFLOW_SERIES ? undefined : hostOf.get(s.route);
    if (host !== undefined) {
      const copy = emptySeries(s.route);
      addSeries(copy, s);
      out.push([host, copy]);
      continue;
    }
    other ??= emptySeries(OVERFLOW_SERIES);
    addSeries(other, s);
  }
  if (other) out.push([hostOf.get(OVERFLOW_SERIES) ?? '', other]);
  return out;
}

/** Characters given to one write of a scrape's answer (one HTTP chunk). */
const WRITE_CHARS = 64 * 1024;

/**
 * Sends the pieces as the scraper reads them (chunked): about WRITE_CHARS are written, then the next are made
 * only once the socket has taken them, so a scrape holds its snapshot and a piece or two however slowly it is read.
 * A piece that cannot be made after the answer has begun ends the connection without the last chunk, which
 * the scraper sees as a failed scrape.
 */
async function sendPieces(
  res: ServerResponse,
  first: IteratorResult<string, void>,
  pieces: Iterator<string, void>,
): Promise<void> {
  let batch = '';
  try {
    for (let p = first; !p.done; p = pieces.next()) {
      batch += p.value;
      if (batch.length < WRITE_CHARS) continue;
      const more = res.write(batch);
      batch = '';
      if (!more && !res.destroyed) await drainedOrClosed(res);
      if (res.destroyed) return;
    }
  } catch {
    res.destroy();
    return;
  }
  res.end(batch);
}

export interface MetricsStats {
  /** Scrapes answered. */
  scrapes: number;
  /** Scrapes answered 503: MAX_SCRAPES_IN_FLIGHT were being sent already. */
  refused: number;
  /** Scrapes whose reader did not take the answer within the send timeout: their connection was closed. */
  cut_off: number;
  /** Scrapes being sent now. */
  in_flight: number;
}

export interface MetricsServer {
  readonly url: string;
  readonly server: Server;
  /** Scrapes answered (shown in the run summary). */
  scrapes(): number;
  stats(): MetricsStats;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** The cardinality limit of the analytics (--route-limit). Default 1000. */
  routeLimit?: number;
  /** Default MAX_SCRAPES_IN_FLIGHT. */
  maxInFlight?: number;
  /** Default SCRAPE_SEND_TIMEOUT_MS. */
  sendTimeoutMs?: number;
}

/** Serves `/metrics` on host:port (the CLI parses `--metrics ADDR`; a bare `:port` means 127.0.0.1). */
export async function startMetricsServer(
  feed: AnalyticsFeed,
  listen: { host: string; port: number },
  flag = 'metrics',
  options: MetricsServerOptions = {},
): Promise<MetricsServer> {
  // Room for every route the aggregator keeps (and its '(no request)' and '(other)'): past it the histograms
  // would be filed apart from the counters.
  const latency = new LatencyBuckets((options.routeLimit ?? 1000) + 2);
  const unsubscribe = feed.onExchange((e) => latency.observe(e));
  const maxInFlight = options.maxInFlight ?? MAX_SCRAPES_IN_FLIGHT;
  const sendTimeoutMs = options.sendTimeoutMs ?? SCRAPE_SEND_TIMEOUT_MS;
  const counters: MetricsStats = { scrapes: 0, refused: 0, cut_off: 0, in_flight: 0 };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      if (counters.in_flight >= maxInFlight) {
        counters.refused++;
        res
          .writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' })
          .end(`${maxInFlight} scrapes are being sent already; try again when one has been read\n`);
        return;
      }
      counters.scrapes++;
      counters.in_flight++;
      const cutOff = setTimeout(() => {
        counters.cut_off++;
        res.destroy();
      }, sendTimeoutMs);
      cutOff.unref();
      res.once('close', () => {
        clearTimeout(cutOff);
        counters.in_flight--;
      });
      let pieces: Generator<string, void, undefined>;
      let first: IteratorResult<string, void>;
      let length: number | undefined;
      try {
        const snapshot = feed.snapshot();
        pieces = expositionPieces(snapshot, latencyByRoute(snapshot, latency));
        first = pieces.next();
        if (req.method === 'HEAD') {
          // The length the answer would have, counted a piece at a time.
          length = first.done ? 0 : Buffer.byteLength(first.value);
          for (const piece of pieces) length += Buffer.byteLength(piece);
        }
      } catch (err) {
        // A scrape must never stop the run (an exposition too large for one string threw out of this handler).
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`cannot render the metrics: ${(err as Error).message}\n`);
        return;
      }
      if (length !== undefined) {
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': length }).end();
        return;
      }
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
      void sendPieces(res, first, pieces);
      return;
    }
    if (path === '/metrics') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('/metrics is read with GET\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('tapline serves Prometheus metrics at /metrics\n');
  });
  await listenOn(server, listen, flag);
  const url = serverUrl(server);
  return {
    url,
    server,
    scrapes: () => counters.scrapes,
    stats: () => ({ ...counters }),
    close: () => {
      unsubscribe();
      return closeServer(server);
    },
  };
}
