/**
 * What the dashboard page shows, computed on the server once a second whatever the number of viewers:
 * a bandwidth time series (sampled here, wall clock, bounded ring), the top routes by bytes with their
 * share, the status mix and the alerts. One JSON object, sent whole over SSE (small: top N routes only).
 *
 * Routes and hosts come from the traffic and may be tens of kilobytes long: they are sent as the exporters label
 * them (shortName: 1,000 characters, '…' and a hash of the whole). Sent whole, 15 routes of 75 KB and the alerts
 * naming them made each sample 4.2 MB, sent every second to every viewer (25 MB in 5 s to one `curl`), and a
 * viewer on a slow link was cut off as one that does not read. The page shows 200 characters of them anyway.
 */
import type { AlertEvent } from '../analytics/export/alerts.js';
import type { AnalyticsFeed } from '../analytics/export/feed.js';
import { shortName } from '../analytics/export/long-names.js';

export interface DashboardRoute {
  readonly route: string;
  readonly host: string;
  readonly requests: number;
  readonly total_bytes: number;
  readonly request_bytes: number;
  readonly response_bytes: number;
  /** 0..1 of all bytes. */
  readonly share: number;
  readonly p95_ms: number;
  readonly errors: number;
}

export interface DashboardState {
  /** Unix ms of this sample. */
  readonly at: number;
  readonly elapsed_s: number;
  readonly total_requests: number;
  readonly total_bytes: number;
  /** Bytes per second over the last sample period. */
  readonly bytes_per_s: number;
  readonly requests_per_s: number;
  /** Parallel arrays, oldest first: sample time (Unix seconds, as uPlot wants), bytes/s, requests/s. */
  readonly series: { readonly t: number[]; readonly bytes_per_s: number[]; readonly requests_per_s: number[] };
  readonly routes: readonly DashboardRoute[];
  readonly routes_total: number;
  readonly status: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number; none: number };
  readonly alerts: {
    /** The active alerts that `recent` names (at most as many). */
    readonly active: readonly AlertEvent[];
    /** How many alerts are active in all. */
    readonly active_total: number;
    readonly recent: readonly AlertEvent[];
  };
}

export interface AlertSource {
  active(): AlertEvent[];
  recent(): AlertEvent[];
}

export class DashboardSampler {
  private readonly t: number[] = [];
  private readonly bytes: number[] = [];
  private readonly requests: number[] = [];
  private last: { at: number; bytes: number; requests: number };
  private current: DashboardState;

  constructor(
    private readonly feed: AnalyticsFeed,
    private readonly alerts: AlertSource | undefined,
    private readonly options: { points?: number; top?: number; now?: () => number } = {},
  ) {
    const now = this.now();
    this.last = { at: now, bytes: 0, requests: 0 };
    this.current = this.sample();
  }

  /** The latest sample (what a new viewer gets first). */
  state(): DashboardState {
    return this.current;
  }

  /** Takes a new sample: adds a point to the series and recomputes the tables. */
  sample(): DashboardState {
    const at = this.now();
    const snap = this.feed.snapshot();
    const seconds = (at - this.last.at) / 1000;
    const bytesPerS = seconds > 0 ? (snap.total_bytes - this.last.bytes) / seconds : 0;
    const requestsPerS = seconds > 0 ? (snap.total_requests - this.last.requests) / seconds : 0;
    if (seconds > 0) {
      this.t.push(at / 1000);
      this.bytes.push(Math.max(0, bytesPerS));
      this.requests.push(Math.max(0, requestsPerS));
      const max = this.options.points ?? 300;
      while (this.t.length > max) {
        this.t.shift();
        this.bytes.shift();
        this.requests.shift();
      }
    }
    this.last = { at, bytes: snap.total_bytes, requests: snap.total_requests };
    const status = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 };
    for (const r of snap.routes) {
      status['1xx'] += r.status_1xx;
      status['2xx'] += r.status_2xx;
      status['3xx'] += r.status_3xx;
      status['4xx'] += r.status_4xx;
      status['5xx'] += r.status_5xx;
      status.none += r.no_response;
    }
    const routes = [...snap.routes]
      .sort((a, b) => b.total_bytes - a.total_bytes)
      .slice(0, this.options.top ?? 15)
      .map(
        (r): DashboardRoute => ({
          route: shortName(r.route),
          host: shortName(r.host),
          requests: r.requests,
          total_bytes: r.total_bytes,
          request_bytes: r.request_header_bytes + r.request_body_bytes,
          response_bytes: r.response_header_bytes + r.response_body_bytes,
          share: r.share,
          p95_ms: r.p95_ms,
          errors: r.status_4xx + r.status_5xx,
        }),
      );
    this.current = {
      at,
      elapsed_s: snap.elapsed_s,
      total_requests: snap.total_requests,
      total_bytes: snap.total_bytes,
      bytes_per_s: bytesPerS,
      requests_per_s: requestsPerS,
      series: { t: [...this.t], bytes_per_s: [...this.bytes], requests_per_s: [...this.requests] },
      routes,
      routes_total: snap.routes.length,
      status,
      alerts: this.alertState(),
    };
    return this.current;
  }

  /**
   * The recent events, and of the active alerts those the recent events name (what the page marks "active"),
   * with how many are active in all: every active alert went in each second's sample, 1,001 of them (and the
   * 75 KB routes they carried) when a slow backend broke every route's --max-latency.
   */
  private alertState(): DashboardState['alerts'] {
    const recent = this.alerts?.recent() ?? [];
    const active = this.alerts?.active() ?? [];
    const named = new Set(recent.map(alertKey));
    return {
      active: active.filter((a) => named.has(alertKey(a))).map(shortEvent),
      active_total: active.length,
      recent: recent.map(shortEvent),
    };
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function alertKey(e: AlertEvent): string {
  return `${e.budget} ${e.host} ${e.route}`;
}

/** An alert as the page gets it: its route and host cut as the routes table's (the message names it cut already). */
function shortEvent(e: AlertEvent): AlertEvent {
  const [route, host] = [shortName(e.route), shortName(e.host)];
  return route === e.route && host === e.host ? e : { ...e, route, host };
}
