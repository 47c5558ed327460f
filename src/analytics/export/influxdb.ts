/**
 * `--output-influxdb URL`: every interval, the run's analytics as InfluxDB 1.x line protocol, POSTed to
 * `/write?db=NAME`. One point per route (measurement `tapline_route`, tags host and route) and one for the run
 * (`tapline`). Counters are cumulative, as Telegraf writes them (use non_negative_derivative); `interval_*`
 * fields carry what changed since the previous write, so `sum()` over time works too.
 *
 *   timer (interval) ─▶ snapshot() ─▶ lines ─▶ POST /write ──▶ 204
 *                                                 ├─ 400 partial write ─▶ stored in part: dropped points counted
 *                                                 └─ 404 database not found ─▶ CREATE DATABASE, retry once
 *
 * A write never overlaps the previous one (a slow server makes ticks skip, counted); a failed write is counted
 * and warned about (rate-limited), never stops the run; close() writes the final totals, within two write
 * timeouts at most (one when the server does not answer), and says so when they were not written.
 */
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { redactText, redactUrl } from '../../core/redact.js';
import type { AnalyticsSnapshot } from '../types.js';
import { describeFetchError } from './fetch-error.js';
import { shortName } from './long-names.js';
import { answerText, checkReceiverUrl, oneLine, portProblem, postFollowingBody } from './post.js';

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
    const why = portProblem(text) ?? 'expected an InfluxDB URL like http://127.0.0.1:8086?db=tapline';
    throw new TaplineError(ERROR_CODES.USAGE, why, {
      where: `--${flag} ${redactUrl(text)}`,
      cause,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TaplineError(ERROR_CODES.USAGE, `InfluxDB URL must be http or https, got ${url.protocol}`, {
      where: `--${flag} ${redactUrl(text)}`,
    });
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (path !== '' && path !== '/write') {
    throw new TaplineError(ERROR_CODES.USAGE, `unexpected path ${url.pathname}: give the server and ?db=NAME`, {
      where: `--${flag} ${redactUrl(text)}`,
    });
  }
  checkReceiverUrl(url, flag);
  // Taken as 'tapline' (an empty db=, a script's unset variable) or as the first of two, the run wrote to a
  // database nobody asked for, created for it, without a word.
  const dbs = url.searchParams.getAll('db');
  if (dbs.length > 1 || dbs[0] === '') {
    const why =
      dbs.length > 1
        ? `db is given ${dbs.length} times (${dbs.map((d) => JSON.stringify(d)).join(', ')}): give one database`
        : 'db= is empty: give the database name (or leave db out for the default, tapline)';
    throw new TaplineError(ERROR_CODES.USAGE, why, { where: `--${flag} ${redactUrl(text)}` });
  }
  const db = dbs[0] ?? 'tapline';
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
 * is written `%5C`, its URL encoding. A newline is written `\n` (line protocol has no way to carry one). A value
 * over 1,000 characters is cut (long-names.ts): InfluxDB refuses a series key over 64 KiB.
 */
function influxTagValue(value: string): string {
  return shortName(value)
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
  // By route alone, as the aggregator keys its totals: a route's host tag turns from its one host to '*' when a
  // second host is seen, and keyed by both its whole total was written again as the interval's bytes.
  const before = new Map(previous?.routes.map((r) => [r.route, r]));
  const lines: string[] = [];
  for (const r of snapshot.routes) {
    const was = before.get(r.route);
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
  /** Writes InfluxDB took, wholly or in part (a partial write). */
  writes: number;
  /** Points InfluxDB stored. */
  points: number;
  failures: number;
  /** Ticks skipped because the previous write was still in flight. */
  skipped: number;
  /** Points InfluxDB refused in a partial write (a field type conflict, beyond the retention policy, …). */
  points_dropped: number;
  /** Points of the final write (the run's last totals) that did not reach InfluxDB: it failed or was not made. */
  points_not_written: number;
  last_error?: string;
}

/** How one write went. */
type Outcome = 'written' | 'failed' | 'timed out';

export class InfluxWriter {
  private previous: AnalyticsSnapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<Outcome> | undefined;
  private createdDb = false;
  private readonly counters: InfluxStats = {
    writes: 0,
    points: 0,
    failures: 0,
    skipped: 0,
    points_dropped: 0,
    points_not_written: 0,
  };

  /** `timeoutMs` bounds one write, all its requests together (CREATE DATABASE and the retry included). */
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
    await this.write(false);
  }

  /**
   * Stops the timer and writes the final totals: at most two timeouts (a write in flight, then the final one),
   * one when the server does not answer. A write in flight that got no answer means the server is not
   * answering: the final write is not made (it would hold the exit for another timeout to fail the same way).
   * A final write that fails or is not made is said once, with the points it held.
   */
  async close(): Promise<void> {
    clearInterval(this.timer);
    let previous: Outcome | undefined;
    while (this.inFlight) previous = await this.inFlight;
    const url = redactUrl(this.target.writeUrl);
    if (previous === 'timed out') {
      const points = toLineProtocol(this.snapshot(), this.previous, 0n).length;
      this.counters.points_not_written += points;
      this.log.write(
        `tapline: warning: output-influxdb: the final write was not made: ${url} did not answer the previous one within ${this.timeoutMs} ms; ${points} point${points === 1 ? '' : 's'} (the run's last totals) not written`,
      );
      return;
    }
    await this.write(true);
  }

  stats(): InfluxStats {
    return { ...this.counters };
  }

  private async write(final: boolean): Promise<Outcome> {
    while (this.inFlight) await this.inFlight;
    const pending = this.writeOnce(final).finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = pending;
    return pending;
  }

  private async writeOnce(final: boolean): Promise<Outcome> {
    const snap = this.snapshot();
    const lines = toLineProtocol(snap, this.previous, BigInt(Date.now()) * 1_000_000n);
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      let res = await this.post(this.target.writeUrl, lines.join('\n'), signal);
      if (res.status === 404 && !this.createdDb && /database not found/.test(res.body)) {
        this.createdDb = true;
        const q = `CREATE DATABASE "${this.target.db.replace(/["\\]/g, '\\$&')}"`;
        const created = await this.post(
          `${this.target.queryUrl}${this.target.queryUrl.includes('?') ? '&' : '?'}q=${encodeURIComponent(q)}`,
          '',
          signal,
        );
        // InfluxDB answers a refused statement 200 with the error inside ("invalid name" for a name ending in a
        // backslash): taken as created, the retried write's 404 'database not found' hid the reason.
        const refused = created.status < 300 ? statementError(created.body) : undefined;
        if (created.status >= 300 || refused !== undefined) {
          const why = refused !== undefined ? oneLine(refused) : answered(created.status, created.body);
          throw new Error(`database ${this.target.db} not found, and CREATE DATABASE failed: ${why}`);
        }
        this.log.info(`output-influxdb: created database ${this.target.db}`);
        res = await this.post(this.target.writeUrl, lines.join('\n'), signal);
      }
      const partial = partialWrite(res.status, res.body);
      if (res.status !== 204 && res.status !== 200 && !partial) throw new Error(answered(res.status, res.body));
      // A partial write stored the points it could: the next write's interval_* fields start from here, or the
      // traffic of this interval would be counted twice. What it refused is counted and said.
      this.previous = snap;
      this.counters.writes++;
      const dropped = Math.min(partial?.dropped ?? 0, lines.length);
      this.counters.points += lines.length - dropped;
      if (partial) {
        this.counters.points_dropped += dropped;
        this.counters.last_error = `partial write: ${partial.reason}`;
        this.log.warn(
          `output-influxdb: InfluxDB stored ${lines.length - dropped} of ${lines.length} point${lines.length === 1 ? '' : 's'} and dropped ${dropped}: ${partial.reason}`,
          'output-influxdb',
        );
      }
      return 'written';
    } catch (err) {
      this.counters.failures++;
      const why = describeFetchError(err, this.timeoutMs);
      this.counters.last_error = why;
      const url = redactUrl(this.target.writeUrl);
      if (final) {
        this.counters.points_not_written += lines.length;
        this.log.write(
          `tapline: warning: output-influxdb: the final write to ${url} failed: ${why}; ${lines.length} point${lines.length === 1 ? '' : 's'} (the run's last totals) not written`,
        );
      } else {
        this.log.warn(`output-influxdb: write to ${url} failed: ${why}`, 'output-influxdb');
      }
      return err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : 'failed';
    }
  }

  private async post(url: string, body: string, signal: AbortSignal): Promise<{ status: number; body: string }> {
    const res = await postFollowingBody(url, { body, contentType: 'text/plain; charset=utf-8', signal });
    return { status: res.status, body: await answerText(res) };
  }
}

/**
 * InfluxDB 1.x takes what it can of a write and answers 400 `{"error":"partial write: REASON dropped=N"}`:
 * N points were refused (a field type conflict with what the database holds, points beyond the retention
 * policy), the others stored. Lines it could not parse are named in REASON ("unable to parse '…'") and are not
 * in N. (When both happen, 1.6 names only the refused points: unparsed lines then go uncounted; tapline's
 * lines always parse.) Undefined for any other answer.
 */
export function partialWrite(status: number, body: string): { reason: string; dropped: number } | undefined {
  if (status !== 400) return undefined;
  let error: unknown;
  try {
    error = (JSON.parse(body) as { error?: unknown }).error;
  } catch {
    return undefined;
  }
  const m = typeof error === 'string' ? /^partial write: ([\s\S]*?)\s*dropped=(\d+)\s*$/.exec(error) : null;
  if (!m) return undefined;
  const unparsed = m[1]!.match(/unable to parse '/g)?.length ?? 0;
  return { reason: oneLine(m[1]!, 300), dropped: Number(m[2]) + unparsed };
}

/**
 * A refusal as a warning says it: InfluxDB's `{"error":"…"}` by its words, any other body (a proxy's HTML 502
 * page, bytes) on one line. The body is not tapline's to print as it is: a proxy's page broke the warning and
 * the summary over 9 lines, and escape sequences in it (ESC [2J) cleared the reader's screen.
 */
function answered(status: number, body: string): string {
  let error: unknown;
  try {
    error = (JSON.parse(body) as { error?: unknown }).error;
  } catch {}
  // A proxy's page may quote the request's URL, InfluxDB's u= and p= with it ('Cannot POST /write?…&p=…').
  const text = oneLine(redactText(typeof error === 'string' ? error : body));
  return text ? `answered ${status}: ${text}` : `answered ${status}`;
}

/** The error of the first statement in a /query answer (`{"results":[{"error":"…"}]}`), if any. */
function statementError(body: string): string | undefined {
  try {
    const error = (JSON.parse(body) as { results?: { error?: unknown }[] }).results?.[0]?.error;
    return typeof error === 'string' ? error : undefined;
  } catch {
    return undefined;
  }
}
