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
 * A scrape holds its exposition until the scraper has read it (8.4 MB for 300 long routes, 52 MB for 1,000
 * routes with 1,000-character names): at most MAX_SCRAPES_IN_FLIGHT are answered at once (more are answered 503),
 * and one not read within SCRAPE_SEND_TIMEOUT_MS is cut off, so scrapers that never read cannot hold memory
 * without bound (40 of them took the run from 350 MB to 1.08 GB) nor keep Prometheus out for long.
 */
import { createServer, type Server } from 'node:http';
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

/** The whole exposition for one scrape. */
export function renderPrometheus(snapshot: AnalyticsSnapshot, latency: LatencyBuckets): string {
  const lines: string[] = [];
  header(lines, 'tapline_route_bytes_total', 'counter', 'Bytes on the wire per route, by direction and part.');
  for (const r of snapshot.routes) {
    const base = `host="${label(r.host)}",route="${label(r.route)}"`;
    lines.push(
      `tapline_route_bytes_total{${base},direction="request",part="header"} ${num(r.request_header_bytes)}`,
      `tapline_route_bytes_total{${base},direction="request",part="body"} ${num(r.request_body_bytes)}`,
      `tapline_route_bytes_total{${base},direction="response",part="header"} ${num(r.response_header_bytes)}`,
      `tapline_route_bytes_total{${base},direction="response",part="body"} ${num(r.response_body_bytes)}`,
    );
  }
  header(lines, 'tapline_route_requests_total', 'counter', 'Requests per route by response status class.');
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
    for (const [cls, n] of classes) lines.push(`tapline_route_requests_total{${base},status_class="${cls}"} ${num(n)}`);
  }
  header(
    lines,
    'tapline_route_latency_seconds',
    'histogram',
    'Request first byte to response last byte, per route, in seconds.',
  );
  for (const [host, s] of latencyByRoute(snapshot, latency)) {
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
  return `${lines.join('\n')}\n`;
}

/**
 * The histograms under the labels of their routes' counters: a route's host label is the one its totals carry
 * (its host, or `*` once several were seen), and the routes the aggregator filed under `(other)` (past
 * --route-limit) are added into the `(other)` histogram, so a histogram never names a route the counters do
 * not have and the series stay as bounded as the route limit.
 */
function latencyByRoute(snapshot: AnalyticsSnapshot, latency: LatencyBuckets): [string, LatencySeries][] {
  const hostOf = new Map(snapshot.routes.map((r) => [r.route, r.host]));
  const out: [string, LatencySeries][] = [];
  let other: LatencySeries | undefined;
  for (const s of latency.all()) {
    const host = s.route === OVERFLOW_SERIES ? undefined : hostOf.get(s.route);
    if (host !== undefined) {
      out.push([host, s]);
      continue;
    }
    other ??= emptySeries(OVERFLOW_SERIES);
    addSeries(other, s);
  }
  if (other) out.push([hostOf.get(OVERFLOW_SERIES) ?? '', other]);
  return out;
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
      let body: string;
      try {
        body = renderPrometheus(feed.snapshot(), latency);
      } catch (err) {
        // A scrape must never stop the run (an exposition too large for one string threw out of this handler).
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`cannot render the metrics: ${(err as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
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
