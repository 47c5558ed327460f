/**
 * Analytics on a live run (or any pipeline run): built from the flags only when something reads it, observed
 * through a pipeline Processor that returns each message untouched, judged against budgets as it goes.
 *
 *   pipeline ─ processors ─▶ … ─▶ observer(msg) { analytics.observe(msg); return msg } ─▶ router ─▶ outputs
 *   --stats timer ─▶ snapshot() ─▶ the stats line;  at exit: budgets over the whole run ─▶ budgetLines()
 *   (budgets over a sliding window while running are the alerts of src/analytics/export/alerts.ts)
 *
 * Two verdicts, never the same one twice: an alert line ("tapline: alert: … (over the last 1m)") says a budget
 * is broken by the traffic of the sliding --alert-window, as it happens, and again when that stops; the exit
 * verdict (budgetLines) judges the run's totals once, under a header that names the whole run and points at the
 * alerts, so a breach seen in both places reads as two different measurements, not a repeated message.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet } from '../core/flags.js';
import type { Logger } from '../core/log.js';
import type { Message } from '../core/message.js';
import type { Processor, RawRun } from '../core/plugin.js';
import { type Breach, budgetsFromFlags, evaluateBudgets, formatWindow, hasBudgets } from './budgets.js';
import { leaveOutEarlierReplays } from './earlier-replays.js';
import { type Analytics, createAnalytics } from './index.js';
import type { AnalyticsSnapshot } from './types.js';

export interface LiveAnalytics {
  readonly analytics: Analytics;
  readonly processor: Processor;
  /** Every budget `snapshot` breaks. */
  breaches(snapshot: AnalyticsSnapshot): Breach[];
  /** The exit verdict on the whole run's `snapshot`: a header and a line per breach; [] without budgets. */
  budgetLines(snapshot: AnalyticsSnapshot): string[];
}

/**
 * Analytics for this run, or undefined when neither --stats, a budget nor another consumer (`consumers`:
 * --metrics, --dashboard, … decided by src/web/live-consumers.ts) reads it: then it costs nothing.
 */
export function liveAnalytics(
  flags: FlagSet,
  consumers: boolean,
  now?: () => number,
  log?: Logger,
): LiveAnalytics | undefined {
  const budgets = budgetsFromFlags(flags);
  refuseIdleFlags(flags, hasBudgets(budgets), consumers || flags.bool('stats'));
  if (!consumers && !flags.bool('stats') && !hasBudgets(budgets)) return undefined;
  // A replay that tracks responses: the replayed response is the one to account (see tracker.ts).
  const preferReplayed = flags.has('output-http-track-response') && flags.bool('output-http-track-response');
  const startedNs = BigInt(Math.floor((now ?? Date.now)())) * 1_000_000n;
  const analytics = createAnalytics({
    routes: flags.list('route').map(String),
    routeLimit: flags.number('route-limit'),
    preferReplayed,
    clientHeader: flags.string('input-raw-realip-header') || 'x-real-ip',
    // bandwidth_bytes_per_s: over the last --stats-interval, the same for every reader (snapshot() is pure).
    rateWindowMs: Math.max(1000, flags.has('stats-interval') ? flags.number('stats-interval') : 5000),
    // The alerts judge --alert-window: its slices must be kept that long (the default keeps 5 minutes).
    ...(hasBudgets(budgets) ? { maxWindowMs: alertWindowMs(flags) } : {}),
    ...(now ? { now } : {}), // tests
  });
  // Replayed responses an input brings (an earlier replay's file) are not this run's (earlier-replays.ts).
  if (preferReplayed) leaveOutEarlierReplays(analytics, startedNs, log);
  const breaches = (s: AnalyticsSnapshot) => (hasBudgets(budgets) ? evaluateBudgets(s, budgets) : []);
  const alertWindow = formatWindow(alertWindowMs(flags) / 1000);
  return {
    budgetLines: (s) => (hasBudgets(budgets) ? wholeRunVerdict(breaches(s), alertWindow) : []),
    analytics,
    processor: Object.assign(
      (msg: Message) => {
        analytics.observe(msg);
        return msg;
      },
      // Leaving out earlier replays looks at each message's type and time: no raw runs then (plugin.ts).
      preferReplayed ? {} : { run: (run: RawRun) => analytics.observeRun(run) },
    ),
    breaches,
  };
}

function alertWindowMs(flags: FlagSet): number {
  return flags.has('alert-window') ? flags.number('alert-window') : 60_000;
}

/**
 * A flag that shapes something nothing on this run reads (`--route` without --stats or a consumer,
 * `--alert-window` without a budget, `--output-influxdb-interval` without --output-influxdb) would be accepted
 * and do nothing: a usage error that says what it needs instead, as `--alert-webhook` without a budget is.
 */
function refuseIdleFlags(flags: FlagSet, budgets: boolean, read: boolean): void {
  const idle = (flag: string, needs: string) => {
    throw new TaplineError(ERROR_CODES.USAGE, `has no effect on this run: it needs ${needs}`, { where: `--${flag}` });
  };
  if (!read && !budgets) {
    const readers = '--stats, a --max-* budget, --metrics, --dashboard or --output-influxdb';
    // --route also names the route field of --output-http-elasticsearch's documents.
    if (flags.has('route') && !flags.has('output-http-elasticsearch')) {
      idle('route', `${readers} (or --output-http-elasticsearch)`);
    }
    if (flags.has('route-limit')) idle('route-limit', readers);
  }
  if (flags.has('alert-window') && !budgets) idle('alert-window', 'a --max-* budget to judge');
  if (flags.has('output-influxdb-interval') && !flags.has('output-influxdb')) {
    idle('output-influxdb-interval', '--output-influxdb');
  }
}

/** The exit verdict: what the run's totals break, set apart from the sliding-window alerts printed while running. */
export function wholeRunVerdict(breaches: readonly Breach[], alertWindow: string): string[] {
  const head = `tapline: budgets over the whole run (the alert lines judge the last ${alertWindow} while running)`;
  if (breaches.length === 0) return [`${head}: none broken`];
  const shown = breaches.slice(0, VERDICT_LINES).map((b) => `  ${b.message}`);
  const rest = breaches.slice(VERDICT_LINES);
  if (rest.length > 0) {
    const budgets = new Map<string, number>();
    for (const b of rest) budgets.set(b.budget, (budgets.get(b.budget) ?? 0) + 1);
    shown.push(`  … and ${rest.length} more (${[...budgets].map(([k, n]) => `${k} ${n}`).join(', ')})`);
  }
  return [`${head}: ${breaches.length} broken`, ...shown];
}

/** Breaches the exit verdict lists; the rest are counted (every route of 1,001 broke --max-route: 1,001 lines). */
const VERDICT_LINES = 20;
