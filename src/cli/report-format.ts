/**
 * How `tapline report` prints a snapshot: a readable table (top routes by bytes with share, by count, by
 * latency; status mix; bandwidth over time), CSV (one row per route), and the per-route comparison with a
 * baseline (`--compare`).
 */

import { printable } from '../analytics/printable.js';
import { OVERFLOW_ROUTE } from '../analytics/routes.js';
import type { AnalyticsSnapshot, RouteTotals } from '../analytics/types.js';
import { formatBytes, namesOf } from '../core/values.js';
import { clipToWidth, displayWidth, padToWidth } from './text-width.js';

export interface RouteChange {
  route: string;
  baseline_bytes: number;
  bytes: number;
  /** Relative change, e.g. 0.25 = +25%; null when the route is new (no baseline bytes). */
  bytes_change: number | null;
  baseline_requests: number;
  requests: number;
  /** null when that side has no latency sample (not in it, or no response there): not a 0 that reads as 0 ms. */
  baseline_p95_ms: number | null;
  p95_ms: number | null;
  /** null when either side has no latency sample (a new or gone route, responses without requests). */
  p95_change: number | null;
  /** Bytes per request now vs before (null when either side has no requests). */
  bytes_per_request_change: number | null;
}

/** Per-route change between a baseline and the current snapshot, largest absolute byte change first. */
export function compareSnapshots(baseline: AnalyticsSnapshot, current: AnalyticsSnapshot): RouteChange[] {
  const before = new Map(baseline.routes.map((r) => [r.route, r]));
  const after = new Map(current.routes.map((r) => [r.route, r]));
  const names = new Set([...before.keys(), ...after.keys()]);
  const rel = (a: number, b: number) => (a > 0 ? round((b - a) / a) : null);
  const perRequest = (r: RouteTotals | undefined) => (r && r.requests > 0 ? r.total_bytes / r.requests : 0);
  return [...names]
    .map((route) => {
      const a = before.get(route);
      const b = after.get(route);
      const pa = perRequest(a);
      const pb = perRequest(b);
      return {
        route,
        baseline_bytes: a?.total_bytes ?? 0,
        bytes: b?.total_bytes ?? 0,
        bytes_change: rel(a?.total_bytes ?? 0, b?.total_bytes ?? 0),
        baseline_requests: a?.requests ?? 0,
        requests: b?.requests ?? 0,
        baseline_p95_ms: a && a.latency_samples > 0 ? a.p95_ms : null,
        p95_ms: b && b.latency_samples > 0 ? b.p95_ms : null,
        // A side without latency samples has no p95 (its 0 is not a measurement): no change to give.
        p95_change: a && b && a.latency_samples > 0 && b.latency_samples > 0 ? rel(a.p95_ms, b.p95_ms) : null,
        bytes_per_request_change: pa > 0 && pb > 0 ? rel(pa, pb) : null,
      };
    })
    .sort((x, y) => Math.abs(y.bytes - y.baseline_bytes) - Math.abs(x.bytes - x.baseline_bytes));
}

function round(n: number): number {
  return Math.round(n * 10000) / 10000;
}

/** Fixed-width columns; the first column left-aligned, the others right-aligned. */
function table(header: string[], rows: string[][]): string[] {
  // Terminal columns, not string length: a route with 日本 or an emoji is wider than its length says.
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i]!))));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => padToWidth(c, widths[i]!, i === 0 ? 'end' : 'start')).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3));
const num = (n: number) => n.toLocaleString('en-US');
const signed = (change: number | null) =>
  change === null ? 'new' : `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;

/** A route for a table cell: control characters made visible (printable.ts), clipped to 60 columns. */
function clipRoute(raw: string): string {
  return clipToWidth(printable(raw), 60);
}

/** The readable report. `top` rows per table. */
export function formatReport(s: AnalyticsSnapshot, top: number, sources: readonly string[], partial?: string): string {
  const out: string[] = [];
  const t = s.totals;
  // Named up to 11, then counted: the chunks of a long replay (replayed_0.gor … replayed_1999.gor) made a first
  // line of 30,000 characters.
  out.push(`tapline report: ${namesOf(sources, 10)}`);
  if (partial) out.push(partial);
  out.push(
    `  ${num(s.total_requests)} requests, ${num(t.responses)} responses, ${formatBytes(s.total_bytes)} on the wire ` +
      `over ${s.elapsed_s.toFixed(1)}s (${formatBytes(Math.round(s.bandwidth_bytes_per_s))}/s)`,
    `  requests: headers ${formatBytes(t.request_header_bytes)}, bodies ${formatBytes(t.request_body_bytes)}; ` +
      `responses: headers ${formatBytes(t.response_header_bytes)}, bodies ${formatBytes(t.response_body_bytes)} ` +
      `(${formatBytes(t.response_body_decoded_bytes)} decoded)`,
    '',
    `Top routes by bytes (${Math.min(top, s.routes.length)} of ${s.routes.length})`,
  );
  const byBytes = s.routes.slice(0, top);
  out.push(
    ...table(
      ['ROUTE', 'REQUESTS', 'REQ HDR', 'REQ BODY', 'RESP HDR', 'RESP BODY', 'TOTAL', 'SHARE', ''.padEnd(20)],
      byBytes.map((r) => [
        clipRoute(r.route),
        num(r.requests),
        formatBytes(r.request_header_bytes),
        formatBytes(r.request_body_bytes),
        formatBytes(r.response_header_bytes),
        formatBytes(r.response_body_bytes),
        formatBytes(r.total_bytes),
        pct(r.share),
        '█'.repeat(Math.round(r.share * 20)).padEnd(20),
      ]),
    ),
  );
  out.push('', 'Top routes by count');
  const byCount = [...s.routes].sort((a, b) => b.requests - a.requests).slice(0, top);
  out.push(
    ...table(
      ['ROUTE', 'REQUESTS', '2xx', '3xx', '4xx', '5xx', 'NO RESPONSE'],
      byCount.map((r) => [
        clipRoute(r.route),
        num(r.requests),
        num(r.status_2xx),
        num(r.status_3xx),
        num(r.status_4xx),
        num(r.status_5xx),
        num(r.no_response),
      ]),
    ),
  );
  out.push('', 'Top routes by latency (p95, request first byte to response last byte)');
  // Routes with no timed exchange (responses whose request was never seen) have no latency to rank.
  const byLatency = s.routes
    .filter((r) => r.latency_samples > 0)
    .sort((a, b) => b.p95_ms - a.p95_ms)
    .slice(0, top);
  if (byLatency.length === 0) out.push(`  (${noLatencyReason(s)})`);
  else {
    out.push(
      ...table(
        ['ROUTE', 'SAMPLES', 'p50 ms', 'p95 ms', 'p99 ms'],
        byLatency.map((r) => [clipRoute(r.route), num(r.latency_samples), ms(r.p50_ms), ms(r.p95_ms), ms(r.p99_ms)]),
      ),
    );
  }
  const classes: [string, number][] = [
    ['1xx', t.status_1xx],
    ['2xx', t.status_2xx],
    ['3xx', t.status_3xx],
    ['4xx', t.status_4xx],
    ['5xx', t.status_5xx],
    ['no response', t.no_response],
  ];
  // Every exchange has one outcome; a response without its request has no request to divide by.
  const outcomes = t.responses + t.no_response;
  const mix = classes
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${num(n)} (${pct(outcomes > 0 ? n / outcomes : 0)})`)
    .join(', ');
  out.push('', `Status mix: ${mix || 'no exchange'}`);
  out.push('', ...formatSeries(s));
  const a = s.accounting;
  const notes = Object.entries(a).filter(([, v]) => v > 0);
  if (notes.length > 0)
    out.push('', `Accounting: ${notes.map(([k, v]) => `${k.replace(/_/g, ' ')} ${num(v)}`).join(', ')}`);
  if (s.routes_overflowed > 0) {
    out.push(
      '',
      `${OVERFLOW_ROUTE}: ${num(s.routes_overflowed)} exchanges of routes past the route limit, added together ` +
        '(routes_overflowed in --json); --route-limit raises the limit, --route rules fold paths into fewer routes',
    );
  }
  return out.join('\n');
}

/** The bandwidth series folded into at most 20 rows, with a bar each. */
function formatSeries(s: AnalyticsSnapshot): string[] {
  const { start_ms, slot_ms, bytes } = s.series;
  if (bytes.length === 0) return ['Bandwidth over time: no timestamps'];
  const per = Math.ceil(bytes.length / 20);
  const rows: { at: number; bytes: number }[] = [];
  for (let i = 0; i < bytes.length; i += per) {
    rows.push({ at: start_ms + i * slot_ms, bytes: bytes.slice(i, i + per).reduce((x, y) => x + y, 0) });
  }
  const width = (slot_ms * per) / 1000;
  const max = Math.max(...rows.map((r) => r.bytes), 1);
  return [
    `Bandwidth over time (${width}s per row, bytes when they were on the wire)`,
    ...rows.map(
      (r) =>
        `  ${new Date(r.at).toISOString().replace('T', ' ').slice(0, 19)}  ${formatBytes(Math.round(r.bytes / width)).padStart(10)}/s  ${'█'.repeat(Math.round((r.bytes / max) * 40))}`,
    ),
  ];
}

/** Why the latency table is empty, from what the input held: it said "responses without their requests" for all. */
function noLatencyReason(s: AnalyticsSnapshot): string {
  const { requests, responses } = s.totals;
  const orphans = s.accounting.responses_without_request;
  if (requests === 0 && responses === 0) return 'no exchange';
  if (responses === 0) return `no response: ${num(requests)} request(s) without one, nothing to time`;
  if (orphans === responses) return 'no exchange has a latency: responses without their requests have none';
  return orphans > 0
    ? 'no exchange has a latency: responses without their requests have none, nor responses timed before their request'
    : 'no exchange has a latency: every response is timed before its request (timestamps out of step)';
}

const LATENCY_COLUMNS = new Set<keyof RouteTotals>(['p50_ms', 'p95_ms', 'p99_ms']);

/** CSV: one row per route (RFC 4180 quoting). */
export function formatCsv(s: AnalyticsSnapshot): string {
  const columns: (keyof RouteTotals)[] = [
    'route',
    'host',
    'requests',
    'responses',
    'request_header_bytes',
    'request_body_bytes',
    'response_header_bytes',
    'response_body_bytes',
    'response_body_decoded_bytes',
    'total_bytes',
    'share',
    'status_1xx',
    'status_2xx',
    'status_3xx',
    'status_4xx',
    'status_5xx',
    'no_response',
    'p50_ms',
    'p95_ms',
    'p99_ms',
  ];
  return rowsCsv(
    columns,
    // A route without a latency sample (no response, responses without their request, clock out of step) has no
    // p-values: empty, as --compare's missing changes are, not a 0 that reads as 0 ms.
    s.routes.map((r) => columns.map((c) => (r.latency_samples === 0 && LATENCY_COLUMNS.has(c) ? null : r[c]))),
  );
}

export function formatCompareCsv(changes: readonly RouteChange[]): string {
  const columns = Object.keys(changes[0] ?? compareColumns) as (keyof RouteChange)[];
  return rowsCsv(
    columns,
    changes.map((c) => columns.map((k) => c[k])),
  );
}

const compareColumns: RouteChange = {
  route: '',
  baseline_bytes: 0,
  bytes: 0,
  bytes_change: null,
  baseline_requests: 0,
  requests: 0,
  baseline_p95_ms: null,
  p95_ms: null,
  p95_change: null,
  bytes_per_request_change: null,
};

/**
 * A text cell a spreadsheet would run as a formula (OWASP "CSV Injection": one starting with = + - @, a tab or
 * a carriage return, or their full-width forms, which Excel also takes) gets a leading apostrophe, so Excel,
 * LibreOffice and Google Sheets show it as text. Routes and hosts come from the traffic: a captured
 * `GET =HYPERLINK(...)` or `Host: @SUM(...)` is the sender's text. Numbers are never changed (a negative
 * change such as -0.25 stays a number).
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * RFC 4180 quoting, and also around a `;` or a tab: Excel in locales whose list separator is `;` splits an
 * unquoted cell there, and the part after it would start a cell of its own (`/a;=1+1`).
 */
function csvCell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const text = FORMULA_START.test(v) ? `'${v}` : v;
  return /[",;\t\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function rowsCsv(columns: readonly string[], rows: readonly (string | number | null)[][]): string {
  return `${[columns.map(csvCell).join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n')}\n`;
}

export function formatCompare(changes: readonly RouteChange[], baseline: string, top: number): string {
  // A change that cannot be given says why: the route is new, gone (in the baseline only), or has no latency.
  const missing = (c: RouteChange) =>
    c.baseline_requests === 0 && c.baseline_bytes === 0 ? 'new' : c.requests === 0 && c.bytes === 0 ? 'gone' : '-';
  const change = (c: RouteChange, v: number | null) => (v === null ? missing(c) : signed(v));
  const p95 = (v: number | null) => (v === null ? '-' : ms(v));
  const rows = changes
    .slice(0, top)
    .map((c) => [
      clipRoute(c.route),
      formatBytes(c.baseline_bytes),
      formatBytes(c.bytes),
      change(c, c.bytes_change),
      change(c, c.bytes_per_request_change),
      p95(c.baseline_p95_ms),
      p95(c.p95_ms),
      change(c, c.p95_change),
    ]);
  return [
    '',
    `Change against ${baseline} (largest byte changes first)`,
    ...table(['ROUTE', 'BEFORE', 'AFTER', 'BYTES', 'PER REQUEST', 'p95 BEFORE', 'p95 AFTER', 'p95'], rows),
  ].join('\n');
}
