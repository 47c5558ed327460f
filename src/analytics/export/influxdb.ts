/**
 * `--output-influxdb URL`: every interval, the run's analytics as InfluxDB 1.x line protocol, POSTed to
 * `/write?db=NAME`. One point per route (measurement `tapline_route`, tags host and route) and one for the run
 * (`tapline`). Counters are cumulative, as Telegraf writes them (use non_negative_derivative); `interval_*`
 * fields carry what changed since the previous write, so `sum()` over time works too.
 *
 *   timer (interval) ─▶ snapshot() ─▶ lines ─▶ POST /write ──▶ 204
 *                                                 └─ 404 database not found ─▶ CREATE DATABASE, retry once
 *
 * A write never overlaps the previous one (a slow server makes ticks skip, counted); a failed write is counted
 * and warned about (rate-limited), never stops the run; close() writes the final totals.
 */
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { AnalyticsSnapshot } from '../types.js';
import { describeFetchError } from './fetch-error.js';
import { postFollowingBody, redactUrl } from './post.js';

export interface InfluxTarget {
  /** `http://host:8086/write?db=NAME[&rp=..&u=..&p=..]`, precision ns. */
  readonly writeUrl: string;
  readonly queryUrl: string;
  readonly db: string;
}

/**
 * Accepts `http(s)://host:port[/write]?db=NAME` (plus InfluxDB's own `rp`, `u`, `p` parameters). The database
 * defaults to `tapline`.
 */
export function parseInfluxUrl(text: string, flag = 'output-influxdb'): InfluxTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new TaplineError(ERROR_CODES.USAGE, `expected an InfluxDB URL like http://127.0.0.1:8086?db=tapline`, {
      where: `--${flag} ${text}`,
      cause,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TaplineError(ERROR_CODES.USAGE, `InfluxDB URL must be http or https, got ${url.protocol}`, {
      where: `--${flag} ${text}`,
    });
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (path !== '' && path !== '/write') {
    throw new TaplineError(ERROR_CODES.USAGE, `unexpected path ${url.pathname}: give the server and ?db=NAME`, {
      where: `--${flag} ${text}`,
    });
  }
  const db = url.searchParams.get('db') || 'tapline';
  const write = new URL('/write', url);
  const query = new URL('/query', url);
  for (const [k, v] of url.searchParams) {
    if (k !== 'db' && k !== 'precision') write.searchParams.set(k, v);
    if (k === 'u' || k === 'p') query.searchParams.set(k, v);
  }
  write.searchParams.set('db', db);
  write.searchParams.set('precision', 'ns');
  return { writeUrl: write.toString(), queryUrl: query.toString(), db };
}

/**
 * A tag value in line protocol: comma, equals and space are escaped with a backslash. InfluxDB 1.x unescapes
 * only those three, so a backslash is written as it is (doubled, it would be stored doubled: `/a\b` read back as
 * `/a\\b`). A backslash that the server would read as an escape (before a comma, equals or space) or that ends
 * the value (refused: "invalid tag format", which failed the whole write, every interval) has no exact form; it
 * is written `%5C`, its URL encoding. A newline is written `\n` (line protocol has no way to carry one).
 */
function influxTagValue(value: string): string {
  return value
    .replace(/\\(?=[,= ]|$)/g, '%5C')
    .replace(/[,= ]/g, '\\$&')
    .replace(/\n/g, '\\n');
}

function int(n: number): string {
  return `${Math.round(n)}i`;
}

function float(n: number): string {
  return Number.isFinite(n) ? String(n) : '0';
}

/**
 * The lines for one interval. `previous` is the snapshot written last time (for the interval_* fields),
 * `timeNs` the timestamp every point of this write shares.
 */
export function toLineProtocol(
  snapshot: AnalyticsSnapshot,
  previous: AnalyticsSnapshot | undefined,
  timeNs: bigint,
): string[] {
  const before = new Map(previous?.routes.map((r) => [`${r.host} ${r.route}`, r]));
  const lines: string[] = [];
  for (const r of snapshot.routes) {
    const was = before.get(`${r.host} ${r.route}`);
    const tags = `${r.host ? `,host=${influxTagValue(r.host)}` : ''},route=${influxTagValue(r.route || '/')}`;
    const fields = [
      `requests=${int(r.requests)}`,
      `responses=${int(r.responses)}`,
      `request_header_bytes=${int(r.request_header_bytes)}`,
      `request_body_bytes=${int(r.request_body_bytes)}`,
      `response_header_bytes=${int(r.response_header_bytes)}`,
      `response_body_bytes=${int(r.response_body_bytes)}`,
      `response_body_decoded_bytes=${int(r.response_body_decoded_bytes)}`,
      `total_bytes=${int(r.total_bytes)}`,
      `interval_bytes=${int(r.total_bytes - (was?.total_bytes ?? 0))}`,
      `interval_requests=${int(r.requests - (was?.requests ?? 0))}`,
      `share=${float(r.share)}`,
      `status_1xx=${int(r.status_1xx)}`,
      `status_2xx=${int(r.status_2xx)}`,
      `status_3xx=${int(r.status_3xx)}`,
      `status_4xx=${int(r.status_4xx)}`,
      `status_5xx=${int(r.status_5xx)}`,
      `no_response=${int(r.no_response)}`,
      `latency_samples=${int(r.latency_samples)}`,
      `p50_ms=${float(r.p50_ms)}`,
      `p95_ms=${float(r.p95_ms)}`,
      `p99_ms=${float(r.p99_ms)}`,
    ];
    lines.push(`tapline_route${tags} ${fields.join(',')} ${timeNs}`);
  }
  const run = [
    `total_requests=${int(snapshot.total_requests)}`,
    `total_bytes=${int(snapshot.total_bytes)}`,
    `interval_bytes=${int(snapshot.total_bytes - (previous?.total_bytes ?? 0))}`,
    `interval_requests=${int(snapshot.total_requests - (previous?.total_requests ?? 0))}`,
    `bandwidth_bytes_per_s=${float(snapshot.bandwidth_bytes_per_s)}`,
    `avg_request_size_kib=${float(snapshot.avg_request_size)}`,
    `max_response_size_kib=${float(snapshot.max_response_size)}`,
    `routes_overflowed=${int(snapshot.routes_overflowed)}`,
  ];
  lines.push(`tapline ${run.join(',')} ${timeNs}`);
  return lines;
}

export interface InfluxStats {
  writes: number;
  points: number;
  failures: number;
  /** Ticks skipped because the previous write was still in flight. */
  skipped: number;
  last_error?: string;
}

export class InfluxWriter {
  private previous: AnalyticsSnapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private createdDb = false;
  private readonly counters: InfluxStats = { writes: 0, points: 0, failures: 0, skipped: 0 };

  constructor(
    private readonly target: InfluxTarget,
    private readonly snapshot: () => AnalyticsSnapshot,
    private readonly log: Logger,
    private readonly timeoutMs = 5000,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.inFlight) this.counters.skipped++;
      else void this.flush();
    }, intervalMs);
    this.timer.unref();
  }

  /** Writes the current totals now (waits for a write in flight first). Never throws. */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    this.inFlight = this.writeOnce().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Stops the timer and writes the final totals. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  stats(): InfluxStats {
    return { ...this.counters };
  }

  private async writeOnce(): Promise<void> {
    const snap = this.snapshot();
    const lines = toLineProtocol(snap, this.previous, BigInt(Date.now()) * 1_000_000n);
    try {
      let res = await this.post(this.target.writeUrl, lines.join('\n'));
      if (res.status === 404 && !this.createdDb && /database not found/.test(res.body)) {
        this.createdDb = true;
        const q = `CREATE DATABASE "${this.target.db.replace(/["\\]/g, '\\$&')}"`;
        const created = await this.post(
          `${this.target.queryUrl}${this.target.queryUrl.includes('?') ? '&' : '?'}q=${encodeURIComponent(q)}`,
          '',
        );
        if (created.status >= 300) throw new Error(`CREATE DATABASE answered ${created.status}: ${created.body}`);
        this.log.info(`output-influxdb: created database ${this.target.db}`);
        res = await this.post(this.target.writeUrl, lines.join('\n'));
      }
      if (res.status !== 204 && res.status !== 200)
        throw new Error(`answered ${res.status}: ${res.body.slice(0, 200)}`);
      this.previous = snap;
      this.counters.writes++;
      this.counters.points += lines.length;
    } catch (err) {
      this.counters.failures++;
      const why = describeFetchError(err, this.timeoutMs);
      this.counters.last_error = why;
      this.log.warn(
        `output-influxdb: write to ${redactUrl(this.target.writeUrl, { queryPassword: true })} failed: ${why}`,
        'output-influxdb',
      );
    }
  }

  private async post(url: string, body: string): Promise<{ status: number; body: string }> {
    const res = await postFollowingBody(url, {
      body,
      contentType: 'text/plain; charset=utf-8',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    return { status: res.status, body: await res.text() };
  }
}
