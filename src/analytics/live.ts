/**
 * Analytics on a live run (or any pipeline run): built from the flags only when something reads it, observed
 * through a pipeline Processor that returns each message untouched, judged against budgets as it goes.
 *
 *   pipeline ─ processors ─▶ … ─▶ observer(msg) { analytics.observe(msg); return msg } ─▶ router ─▶ outputs
 *   --stats timer ─▶ snapshot() ─▶ the stats line;  at exit: budgets over the whole run ─▶ a line per breach
 *   (budgets over a sliding window while running are the alerts of src/analytics/export/alerts.ts)
 */
import type { FlagSet } from '../core/flags.js';
import type { Processor } from '../core/plugin.js';
import { type Breach, budgetsFromFlags, evaluateBudgets, hasBudgets } from './budgets.js';
import { type Analytics, createAnalytics } from './index.js';
import type { AnalyticsSnapshot } from './types.js';

export interface LiveAnalytics {
  readonly analytics: Analytics;
  readonly processor: Processor;
  /** Every budget `snapshot` breaks. */
  breaches(snapshot: AnalyticsSnapshot): Breach[];
}

/**
 * Analytics for this run, or undefined when neither --stats, a budget nor another consumer (`consumers`:
 * --metrics, --dashboard, … decided by src/web/live-consumers.ts) reads it: then it costs nothing.
 */
export function liveAnalytics(flags: FlagSet, consumers: boolean): LiveAnalytics | undefined {
  const budgets = budgetsFromFlags(flags);
  if (!consumers && !flags.bool('stats') && !hasBudgets(budgets)) return undefined;
  const analytics = createAnalytics({
    routes: flags.list('route').map(String),
    routeLimit: flags.number('route-limit'),
    // A replay that tracks responses: the replayed response is the one to account (see tracker.ts).
    preferReplayed: flags.has('output-http-track-response') && flags.bool('output-http-track-response'),
    clientHeader: flags.string('input-raw-realip-header') || 'x-real-ip',
  });
  const breaches = (s: AnalyticsSnapshot) => (hasBudgets(budgets) ? evaluateBudgets(s, budgets) : []);
  return {
    analytics,
    processor: (msg) => {
      analytics.observe(msg);
      return msg;
    },
    breaches,
  };
}
