/**
 * Starts what reads analytics while a pipeline runs, from the flags: --metrics (Prometheus), --output-influxdb,
 * --dashboard, and alerts (the --max-* budgets over --alert-window, optionally POSTed to --alert-webhook).
 * Everything is validated before anything listens, so a bad value is a usage error before the run starts.
 *
 *   analytics ─┬─▶ Prometheus /metrics      (snapshot at scrape, histograms from onExchange)
 *              ├─▶ InfluxWriter             (snapshot every interval, and at close)
 *              ├─▶ AlertMonitor ─┬─▶ lines, webhook
 *              │   (window(ms))  └─▶ dashboard
 *              └─▶ dashboard SSE            (snapshot every second)
 *
 *   inputs ended ─▶ inputsEnded(): alerts stop judging (the window would only empty from then on)
 *   exit ─▶ close(): every consumer at once, each within its own bound (InfluxDB: the final write; the
 *           webhook: its queue), so the slowest one sets the wait, not their sum
 *        ─▶ undelivered(): what InfluxDB or the webhook did not take, one error line each; the run exits 1, as
 *           for an output that did not deliver what it took (cli/summary.ts undeliveredLines)
 */

import type { Budgets } from '../analytics/budgets.js';
import { budgetsFromFlags, hasBudgets } from '../analytics/budgets.js';
import { AlertMonitor } from '../analytics/export/alerts.js';
import type { AnalyticsFeed } from '../analytics/export/feed.js';
import { InfluxWriter, parseInfluxUrl } from '../analytics/export/influxdb.js';
import { browsable } from '../analytics/export/listen.js';
import { checkReceiverUrl, portProblem } from '../analytics/export/post.js';
import { MAX_SCRAPES_IN_FLIGHT, SCRAPE_SEND_TIMEOUT_MS, startMetricsServer } from '../analytics/export/prometheus.js';
import type { AnalyticsSnapshot } from '../analytics/types.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet } from '../core/flags.js';
import type { Logger } from '../core/log.js';
import { redactUrl } from '../core/redact.js';
import { startDashboard } from './server.js';

export interface LiveFeed extends AnalyticsFeed {
  window(ms: number): AnalyticsSnapshot;
}

export interface LiveConsumers {
  /** Lines for the end-of-run summary (what each consumer did, what failed). */
  describe(): string[];
  /** Counters for the --stats object. */
  stats(): Record<string, unknown>;
  /** After close(): a line for each consumer that did not deliver everything (the run then exits 1). */
  undelivered(): string[];
  /** Every input has ended (end of input, a signal, --exit-after): alerts stop judging the window. */
  inputsEnded(): void;
  /** The final InfluxDB write, the pending webhooks and the servers' close, side by side. Never throws. */
  close(): Promise<void>;
}

type ParseListen = (address: string, flag: string) => { host: string; port: number };

/** True when a flag of a live consumer (or a budget, for alerts) is given. */
export function wantsLiveConsumers(flags: FlagSet): boolean {
  return (
    ['metrics', 'output-influxdb', 'dashboard', 'alert-webhook'].some((f) => flags.has(f)) ||
    hasBudgets(budgetsFromFlags(flags))
  );
}

export async function startLiveConsumers(
  flags: FlagSet,
  feed: LiveFeed,
  log: Logger,
  parseListen: ParseListen,
): Promise<LiveConsumers> {
  // Validate everything first. A flag given with an empty value (`--metrics=`, `--dashboard ""`) is judged as
  // given, so it is refused as the malformed address it is instead of leaving that consumer off in silence.
  const metricsAt = flags.has('metrics') ? parseListen(flags.string('metrics'), 'metrics') : undefined;
  const dashboardAt = flags.has('dashboard') ? parseListen(flags.string('dashboard'), 'dashboard') : undefined;
  const influx = flags.has('output-influxdb') ? parseInfluxUrl(flags.string('output-influxdb')) : undefined;
  const webhook = flags.has('alert-webhook') ? flags.string('alert-webhook') : undefined;
  const budgets: Budgets = budgetsFromFlags(flags);
  if (webhook !== undefined) checkWebhookUrl(webhook);
  if (webhook && !hasBudgets(budgets)) {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      'alerts need a budget to judge: add --max-total, --max-route, --max-share or --max-latency',
      { where: '--alert-webhook' },
    );
  }
  const windowMs = flags.number('alert-window');
  if (!(windowMs >= 1000)) {
    throw new TaplineError(ERROR_CODES.USAGE, 'the alert window must be at least 1s', { where: '--alert-window' });
  }
  const influxEvery = flags.number('output-influxdb-interval');
  if (influx && !(influxEvery >= 100)) {
    throw new TaplineError(ERROR_CODES.USAGE, 'the interval must be at least 100ms', {
      where: '--output-influxdb-interval',
    });
  }

  const closers: (() => Promise<void>)[] = [];
  const lines: (() => string)[] = [];
  const losses: (() => string | undefined)[] = [];
  const stats: Record<string, () => unknown> = {};
  // Side by side: one after another, a receiver that never answers held the exit for the InfluxDB bound and
  // then the webhook's (13.6 s for a Ctrl-C); each closer bounds itself and says what it abandoned.
  const closeAll = async () => {
    await Promise.allSettled(closers.map((close) => close()));
  };
  let stopJudging = () => {};
  try {
    let alerts: AlertMonitor | undefined;
    if (hasBudgets(budgets)) {
      alerts = new AlertMonitor({
        window: (ms) => feed.window(ms),
        budgets,
        windowMs,
        log,
        ...(webhook ? { webhook } : {}),
      });
      alerts.start();
      const a = alerts;
      stopJudging = () => a.stopJudging();
      closers.push(() => a.close());
      stats.alerts = () => a.stats();
      lines.push(() => {
        const s = a.stats();
        const hook = webhook
          ? `; webhook: ${s.webhook_posts} posted, ${s.webhook_failures} failed, ${s.webhook_dropped} dropped${s.last_error ? ` (last error: ${s.last_error})` : ''}`
          : '';
        return `alerts: ${s.fired} fired, ${s.resolved} resolved, ${s.active} still active${hook}`;
      });
      losses.push(() => {
        const s = a.stats();
        const lost = s.webhook_failures + s.webhook_dropped;
        if (!webhook || lost === 0) return undefined;
        const parts = [
          s.webhook_failures ? `${s.webhook_failures} failed` : '',
          s.webhook_dropped ? `${s.webhook_dropped} dropped` : '',
        ].filter(Boolean);
        return `alert-webhook: ${lost} alert event(s) not delivered to ${redactUrl(webhook)} (${parts.join(', ')}; ${s.webhook_posts} posted)`;
      });
    }
    if (metricsAt) {
      const m = await startMetricsServer(feed, metricsAt, 'metrics', { routeLimit: flags.number('route-limit') });
      m.server.unref();
      closers.push(() => m.close());
      log.write(`tapline: Prometheus metrics on ${m.url}/metrics`);
      stats.metrics = () => {
        const { in_flight: _, ...s } = m.stats();
        return s;
      };
      lines.push(() => {
        const s = m.stats();
        const refused = s.refused ? `, ${s.refused} refused (${MAX_SCRAPES_IN_FLIGHT} being sent already)` : '';
        const cut = s.cut_off ? `, ${s.cut_off} cut off (not read within ${SCRAPE_SEND_TIMEOUT_MS / 1000} s)` : '';
        return `metrics: ${s.scrapes} scrapes answered at ${m.url}/metrics${refused}${cut}`;
      });
    }
    if (influx) {
      const w = new InfluxWriter(influx, () => feed.snapshot(), log);
      w.start(influxEvery);
      closers.push(() => w.close());
      stats.influxdb = () => w.stats();
      lines.push(() => {
        const s = w.stats();
        const dropped = s.points_dropped ? `, ${points(s.points_dropped)} dropped by InfluxDB (partial writes)` : '';
        const lost = s.points_not_written ? `, final write not written (${points(s.points_not_written)})` : '';
        return `output-influxdb: ${s.writes} writes (${s.points} points) to database ${influx.db}, ${s.failures} failed${dropped}${lost}${s.skipped ? `, ${s.skipped} intervals skipped (server slow)` : ''}${s.last_error ? ` (last error: ${s.last_error})` : ''}`;
      });
      losses.push(() => {
        // A skipped interval loses nothing (the next write carries the totals); a failed write loses its point.
        const s = w.stats();
        if (s.failures + s.points_dropped + s.points_not_written === 0) return undefined;
        const parts = [
          s.failures ? `${s.failures} of ${s.writes + s.failures} writes failed` : '',
          s.points_not_written
            ? `the final write's ${points(s.points_not_written)} (the run's last totals) not written`
            : '',
          s.points_dropped ? `${points(s.points_dropped)} dropped by InfluxDB (partial writes)` : '',
        ].filter(Boolean);
        return `output-influxdb: database ${influx.db} does not hold all of the run's data: ${parts.join(', ')}`;
      });
    }
    if (dashboardAt) {
      const d = await startDashboard(feed, dashboardAt, alerts ? { alerts } : {});
      closers.push(() => d.close());
      log.write(`tapline: dashboard on ${browsable(d.url)}`);
      stats.dashboard = () => d.stats();
      lines.push(() => {
        const s = d.stats();
        const turned = s.viewers_refused ? `, ${s.viewers_refused} turned away (${s.max_viewers} at most at once)` : '';
        const cut = s.viewers_dropped ? `, ${s.viewers_dropped} cut off for not reading` : '';
        return `dashboard: ${d.url}/${turned}${cut}`;
      });
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return {
    describe: () => lines.map((l) => `  ${l()}`),
    stats: () => Object.fromEntries(Object.entries(stats).map(([k, f]) => [k, f()])),
    undelivered: () => losses.map((l) => l()).filter((l): l is string => l !== undefined),
    inputsEnded: () => stopJudging(),
    close: closeAll,
  };
}

/** '1 point', '3 points': 'the final write's 1 points' read wrong. */
function points(n: number): string {
  return `${n} point${n === 1 ? '' : 's'}`;
}

function checkWebhookUrl(text: string): void {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {}
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    const port = portProblem(text);
    throw new TaplineError(
      ERROR_CODES.USAGE,
      port ?? `expected an http(s) URL, got ${JSON.stringify(redactUrl(text))}`,
      {
        where: '--alert-webhook',
      },
    );
  }
  checkReceiverUrl(url, 'alert-webhook');
}
