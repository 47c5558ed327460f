/**
 * A feed for tests: exchanges made here and totals summed here, independently of the aggregator, so a test can
 * compare what an exporter published with sums it computed itself.
 */
import type { AnalyticsFeed } from '../../src/analytics/export/feed.js';
import type { AnalyticsSnapshot, Exchange, RouteTotals } from '../../src/analytics/types.js';

let nextId = 1;

/** An exchange with plausible defaults. Cast: the contract may carry more fields than the exporters read. */
export function exchange(fields: Partial<Exchange> & { route: string }): Exchange {
  const requestBodyBytes = fields.requestBodyBytes ?? 0;
  const responseBodyBytes = fields.responseBodyBytes ?? 1000;
  return {
    id: (nextId++).toString(16).padStart(24, '0'),
    source: 'original',
    startNs: BigInt(Date.now()) * 1_000_000n,
    method: 'GET',
    host: 'shop.test',
    path: fields.route,
    client: '10.0.0.1',
    requestHeaderBytes: 100,
    requestBodyBytes: 0,
    status: 200,
    responseHeaderBytes: 150,
    responseBodyBytes: 1000,
    responseBodyDecodedBytes: 1000,
    contentType: 'application/json',
    contentEncoding: '',
    latencyNs: 20_000_000n,
    requestIncomplete: false,
    responseIncomplete: false,
    requestBodyEntityBytes: requestBodyBytes,
    responseBodyEntityBytes: responseBodyBytes,
    ...fields,
  } as Exchange;
}

export function totalsOf(exchanges: readonly Exchange[], route: string, host: string): RouteTotals {
  const mine = exchanges.filter((e) => (route === '*' || e.route === route) && (host === '*' || e.host === host));
  const sum = (f: (e: Exchange) => number) => mine.reduce((a, e) => a + f(e), 0);
  const status = (c: number) => mine.filter((e) => e.status !== undefined && Math.floor(e.status / 100) === c).length;
  const all = exchanges.reduce(
    (a, e) => a + e.requestHeaderBytes + e.requestBodyBytes + e.responseHeaderBytes + e.responseBodyBytes,
    0,
  );
  const total =
    sum((e) => e.requestHeaderBytes) +
    sum((e) => e.requestBodyBytes) +
    sum((e) => e.responseHeaderBytes) +
    sum((e) => e.responseBodyBytes);
  const latencies = mine
    .filter((e) => e.latencyNs !== undefined)
    .map((e) => Number(e.latencyNs) / 1e6)
    .sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? 0;
  return {
    route,
    host,
    requests: mine.length,
    responses: mine.filter((e) => e.status !== undefined).length,
    request_header_bytes: sum((e) => e.requestHeaderBytes),
    request_body_bytes: sum((e) => e.requestBodyBytes),
    response_header_bytes: sum((e) => e.responseHeaderBytes),
    response_body_bytes: sum((e) => e.responseBodyBytes),
    response_body_decoded_bytes: sum((e) => e.responseBodyDecodedBytes),
    total_bytes: total,
    share: all > 0 ? total / all : 0,
    status_1xx: status(1),
    status_2xx: status(2),
    status_3xx: status(3),
    status_4xx: status(4),
    status_5xx: status(5),
    no_response: mine.filter((e) => e.status === undefined).length,
    latency_samples: latencies.length,
    p50_ms: pct(50),
    p95_ms: pct(95),
    p99_ms: pct(99),
  };
}

export function snapshotOf(exchanges: readonly Exchange[], elapsedS = 1): AnalyticsSnapshot {
  const keys = new Map<string, { route: string; host: string }>();
  for (const e of exchanges) keys.set(`${e.host} ${e.route}`, { route: e.route, host: e.host });
  const routes = [...keys.values()]
    .map((k) => totalsOf(exchanges, k.route, k.host))
    .sort((a, b) => b.total_bytes - a.total_bytes);
  const total = routes.reduce((a, r) => a + r.total_bytes, 0);
  return {
    elapsed_s: elapsedS,
    total_requests: exchanges.length,
    avg_request_size:
      exchanges.length === 0
        ? 0
        : exchanges.reduce((a, e) => a + e.requestHeaderBytes + e.requestBodyBytes, 0) / exchanges.length / 1024,
    max_response_size: Math.max(0, ...exchanges.map((e) => (e.responseHeaderBytes + e.responseBodyBytes) / 1024)),
    top_endpoints: routes.slice(0, 10).map((r) => ({ path: r.route, bandwidth_mb: r.total_bytes / 1048576 })),
    total_bytes: total,
    bandwidth_bytes_per_s: total / elapsedS,
    routes,
    hosts: [],
    routes_overflowed: 0,
    hosts_overflowed: 0,
    totals: totalsOf(exchanges, '*', '*'),
    series: { start_ms: 0, slot_ms: 1000, bytes: [], requests: [] },
    accounting: {
      no_response: exchanges.filter((e) => e.status === undefined).length,
      responses_without_request: 0,
      original_responses_replaced: 0,
      earlier_replay_responses: 0,
      replayed_responses_cut: 0,
      marked_incomplete: 0,
      repeated_rounds: 0,
      interim_responses: 0,
      duplicate_responses: 0,
      not_http: 0,
      pending: 0,
    },
  } as AnalyticsSnapshot;
}

/** A feed over a growing list of exchanges: `push` adds one and tells the listeners. */
export class FixedFeed implements AnalyticsFeed {
  readonly exchanges: Exchange[] = [];
  private readonly listeners = new Set<(e: Exchange) => void>();

  push(...exchanges: Exchange[]): void {
    for (const e of exchanges) {
      this.exchanges.push(e);
      for (const l of this.listeners) l(e);
    }
  }

  snapshot(): AnalyticsSnapshot {
    return snapshotOf(this.exchanges);
  }

  onExchange(listener: (e: Exchange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
