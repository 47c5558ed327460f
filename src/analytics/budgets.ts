/**
 * Budgets: thresholds over a snapshot, for CI (`tapline report … --max-total 500mb` exits 3) and live runs.
 * A pure function of the snapshot, so the same rules judge a whole file, a live run's totals, or a sliding
 * window (alerts).
 *
 *   --max-total SIZE       all wire bytes together
 *   --max-route SIZE       any one route's wire bytes
 *   --max-share PCT        any one route's share of all wire bytes (`30%` or `30`); a run with fewer than
 *                          two routes is not judged (one route is always 100%)
 *   --max-latency DURATION any one route's p95 latency
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet } from '../core/flags.js';
import { formatBytes } from '../core/values.js';
import { printableRoute } from './printable.js';
import { OVERFLOW_ROUTE } from './routes.js';
import type { AnalyticsSnapshot } from './types.js';

export interface Budgets {
  maxTotalBytes?: number;
  maxRouteBytes?: number;
  /** 0..1. */
  maxShare?: number;
  maxLatencyMs?: number;
}

export interface Breach {
  readonly budget: 'max-total' | 'max-route' | 'max-share' | 'max-latency';
  /** The route that broke it ('*' for max-total). */
  readonly route: string;
  readonly host: string;
  readonly value: number;
  readonly limit: number;
  /** One line for a human: `max-route: /videos/:id 612.0 MiB > 500.0 MiB`. */
  readonly message: string;
}

export function hasBudgets(b: Budgets): boolean {
  return (
    b.maxTotalBytes !== undefined ||
    b.maxRouteBytes !== undefined ||
    b.maxShare !== undefined ||
    b.maxLatencyMs !== undefined
  );
}

/** Every budget the snapshot breaks, worst first within each budget. Empty = within budget. */
export function evaluateBudgets(s: AnalyticsSnapshot, b: Budgets): Breach[] {
  const out: Breach[] = [];
  const breach = (
    budget: Breach['budget'],
    r: { route: string; host: string },
    value: number,
    limit: number,
    what: string,
  ) => out.push({ budget, route: r.route, host: r.host, value, limit, message: `${budget}: ${what}${pooled(r)}` });
  // The overflow bucket is every route past the route limit added together, not one route: said, or a CI log
  // reads "(other) broke max-route" as a route to look for. Still a breach: a heavy route may be in it.
  const pooled = (r: { route: string }) =>
    r.route === OVERFLOW_ROUTE
      ? ` (${s.routes_overflowed} exchanges of the routes past --route-limit, added together; raise it to tell them apart)`
      : '';
  if (b.maxTotalBytes !== undefined && s.total_bytes > b.maxTotalBytes) {
    const what = `all routes ${bytesOver(s.total_bytes, b.maxTotalBytes)}`;
    breach('max-total', { route: '*', host: '*' }, s.total_bytes, b.maxTotalBytes, what);
  }
  const { maxRouteBytes, maxShare, maxLatencyMs } = b;
  if (maxRouteBytes !== undefined) {
    for (const r of s.routes.filter((r) => r.total_bytes > maxRouteBytes)) {
      const what = `${printableRoute(r.route)} ${bytesOver(r.total_bytes, maxRouteBytes)}`;
      breach('max-route', r, r.total_bytes, maxRouteBytes, what);
    }
  }
  // One route is always 100% of the bytes: a share budget needs at least two to compare.
  if (maxShare !== undefined && s.routes.length > 1) {
    for (const r of s.routes.filter((r) => r.share > maxShare)) {
      breach('max-share', r, r.share, maxShare, `${printableRoute(r.route)} ${shareOver(r.share, maxShare)}`);
    }
  }
  if (maxLatencyMs !== undefined) {
    const slow = s.routes.filter((r) => r.responses > 0 && r.p95_ms > maxLatencyMs).sort((x, y) => y.p95_ms - x.p95_ms);
    for (const r of slow)
      breach(
        'max-latency',
        r,
        r.p95_ms,
        maxLatencyMs,
        `${printableRoute(r.route)} p95 ${r.p95_ms} ms > ${maxLatencyMs} ms`,
      );
  }
  return out;
}

/**
 * `value > limit` in words that show the difference. Rounded to the usual digits, a value just over its limit
 * read as equal to it or below ("154 KiB > 154 KiB", "16.8% of all bytes > 0.0%" for `--max-share 0.001%`).
 */
function bytesOver(value: number, limit: number): string {
  const [v, l] = [formatBytes(value), formatBytes(limit)];
  return v === l ? `${v} (${value} B) > ${l} (${limit} B)` : `${v} > ${l}`;
}

function shareOver(value: number, limit: number): string {
  const l = percent(limit, (text) => Number(text) === exact(limit * 100));
  const v = percent(value, (text) => Number(text) > Number(l));
  return `${v}% of all bytes > ${l}%`;
}

/** `share` as a percentage with one decimal, or as many more (up to 12) as `enough` asks for. */
function percent(share: number, enough: (text: string) => boolean): string {
  for (let digits = 1; digits <= 12; digits++) {
    const text = (share * 100).toFixed(digits);
    if (enough(text)) return text;
  }
  return String(exact(share * 100));
}

/** Without binary noise: 0.001% is 0.00001 as a share, and 0.00001 × 100 is 0.0010000000000000002. */
function exact(n: number): number {
  return Number(n.toPrecision(12));
}

/**
 * `30%`, `30` or `0.3%` → 0..1. Throws a usage error naming `where`. A bare number below 1 (`0.5`) is refused:
 * written as a fraction it means half, read as a percentage half a percent, and a budget of the wrong one
 * breaks on every run (or never); `0.5%` or `50%` says which.
 */
export function parseShare(text: string, where: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!(n > 0 && n <= 100)) {
    throw new TaplineError(ERROR_CODES.USAGE, `${JSON.stringify(text)} is not a percentage above 0 and at most 100`, {
      where,
    });
  }
  if (n < 1 && m![2] === '') {
    const asFraction = Number((n * 100).toPrecision(12)); // 0.07 → 7, not 7.000000000000001
    const given = m![1];
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `${JSON.stringify(text)} could be a fraction (${asFraction}%) or a percentage (${given}%): write ${asFraction}% or ${given}%`,
      { where },
    );
  }
  return n / 100;
}

/** The budgets given as flags (`budgetFlags` in flags.ts); none given = no budgets. */
export function budgetsFromFlags(flags: FlagSet): Budgets {
  const b: Budgets = {};
  if (flags.has('max-total')) b.maxTotalBytes = flags.number('max-total');
  if (flags.has('max-route')) b.maxRouteBytes = flags.number('max-route');
  if (flags.has('max-share')) b.maxShare = parseShare(flags.string('max-share'), '--max-share');
  if (flags.has('max-latency')) b.maxLatencyMs = flags.number('max-latency');
  return b;
}

/**
 * `60` → `1m`, `30` → `30s`: how alert lines (export/alerts.ts) and the exit verdict (live.ts) name the window.
 * (Here, not in alerts.ts: a --stats run loads live.ts and this file, not the alerts and their webhook code.)
 */
export function formatWindow(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
