/**
 * Alerts on live runs: the budgets (--max-total, --max-route, --max-share, --max-latency; judged by
 * budgets.ts) over a sliding window (--alert-window, default 1m) of the traffic, checked every second. An
 * alert fires when a budget starts being broken and resolves once it has not been broken at any check for
 * RESOLVE_AFTER_MS (30 s: as Prometheus's keep_firing_for, so a value hovering at the limit is one alert, not
 * a fire and a resolve every few seconds); while it stays firing it is said again every REPEAT_MS (1 h, as
 * Alertmanager's repeat_interval re-sends). Each change and reminder prints one line and is POSTed as JSON to
 * --alert-webhook when given; changes also go to the dashboard.
 *
 *   timer (1 s) ─▶ window(ms) ─▶ evaluateBudgets ─▶ diff against the active set ─┬─▶ log line
 *                                                                                 ├─▶ listeners (dashboard)
 *                                                                                 └─▶ webhook queue ─▶ POST (one at a time)
 *
 * Alerts judge only the window, as the run goes; the run's totals are judged once at exit by a separate
 * verdict under its own header (budgetLines in ../live.ts), so the two never print the same claim twice.
 * Judging stops when the inputs end (stopJudging(): end of input, a signal, --exit-after): from then on the
 * window only empties, and judged it would "resolve" every alert while the run flushes (with `--alert-window 1s`
 * a Ctrl-C printed "10 resolved, 0 still active" over a verdict of "10 broken"). Alerts firing then stay
 * active in the summary. The window gets a last look then and at close() (lastLook: new alerts fire, none
 * resolves), so a run shorter than one check, or a breach in its last second, is still said and POSTed.
 *
 * The webhook queue is bounded (a dead receiver cannot grow memory): events past it are dropped and counted;
 * failed POSTs are counted and warned about, never stop the run; at exit, a failed POST drops the rest of the
 * queue (counted) instead of holding the exit for a timeout per alert, and what is not sent within one POST
 * timeout of close() is dropped too (a receiver that answers, slowly, each of 100 queued alerts). A redirect is followed only when it
 * keeps the POST's body (307, 308; post.ts).
 */
import type { Logger } from '../../core/log.js';
import { redactUrl } from '../../core/redact.js';
import { type Breach, type Budgets, evaluateBudgets, formatWindow } from '../budgets.js';
import type { AnalyticsSnapshot } from '../types.js';
import { describeFetchError } from './fetch-error.js';
import { postFollowingBody } from './post.js';

export interface AlertEvent {
  readonly state: 'firing' | 'resolved';
  readonly budget: Breach['budget'];
  readonly route: string;
  readonly host: string;
  /** The value that broke the limit (for 'resolved': the last value that did). */
  readonly value: number;
  readonly limit: number;
  readonly message: string;
  /** The sliding window the budgets were judged over, seconds. */
  readonly window_s: number;
  /** ISO 8601. */
  readonly at: string;
  /** When the alert started firing, ISO 8601: `at` of its first event; a reminder's `at` is later. */
  readonly started_at: string;
}

export interface AlertStats {
  fired: number;
  resolved: number;
  active: number;
  webhook_posts: number;
  webhook_failures: number;
  webhook_dropped: number;
  last_error?: string;
}

export interface AlertMonitorOptions {
  /** The traffic of the last `windowMs` (the aggregator's window()). */
  window: (ms: number) => AnalyticsSnapshot;
  budgets: Budgets;
  windowMs: number;
  log: Logger;
  webhook?: string;
  /** Events kept for the dashboard's list. Default 50. */
  keep?: number;
  /** Webhook events waiting to be sent before new ones are dropped. Default 100. */
  queueLimit?: number;
  /** How long one webhook POST may take, ms. Default 5000. */
  webhookTimeoutMs?: number;
  /** How long a budget must hold (no breach at any check) before its alert resolves, ms. Default 30 s. */
  resolveAfterMs?: number;
  /** How often an alert that stays firing is said again (line and webhook), ms. Default 1 h. */
  repeatMs?: number;
  now?: () => number;
}

const WEBHOOK_TIMEOUT_MS = 5000;
export const RESOLVE_AFTER_MS = 30_000;
export const REPEAT_MS = 3_600_000;
/**
 * Alert lines one check prints; the rest are said in one line. Every route's p95 crossing --max-latency at once
 * (a slow backend) printed a line per route: 1,001 lines in one second with the default --route-limit.
 */
export const MAX_LINES_PER_CHECK = 10;
/**
 * Alerts kept firing while their budget holds (RESOLVE_AFTER_MS), at most: past it the longest held resolve at
 * once. Without it, routes that change from second to second (2,000 routes over a --route-limit of 1,000 made
 * 2,001 alerts in 8 s) would keep 30 s of them, each with its route, and the dashboard would send them all.
 */
export const MAX_HELD = 1000;

/** An alert firing now: its latest event, when its budget was last seen broken, when it was last said. */
interface Active {
  event: AlertEvent;
  lastBrokenAt: number;
  lastSaidAt: number;
}

export class AlertMonitor {
  private readonly activeAlerts = new Map<string, Active>();
  private readonly history: AlertEvent[] = [];
  private readonly listeners = new Set<(e: AlertEvent) => void>();
  private readonly queue: AlertEvent[] = [];
  private sending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** close() was called: a failed post drops what is still queued. */
  private closing = false;
  /** When close() stops waiting for the queue (performance.now() ms). */
  private closeDeadline = Number.POSITIVE_INFINITY;
  /** stopJudging() was called: the window is no longer judged. */
  private judging = true;
  private readonly counters: AlertStats = {
    fired: 0,
    resolved: 0,
    active: 0,
    webhook_posts: 0,
    webhook_failures: 0,
    webhook_dropped: 0,
  };

  constructor(private readonly options: AlertMonitorOptions) {}

  start(everyMs = 1000): void {
    if (!this.judging) return;
    this.timer = setInterval(() => this.check(), everyMs);
    this.timer.unref();
  }

  /**
   * The inputs have ended: one last look at the window, then no more checks; alerts firing now stay active (see
   * the file comment). The look fires a budget broken since the last check: checked only by the 1 s timer, a run
   * shorter than a second (a file replay) never fired an alert nor POSTed one, whatever its traffic, and a
   * breach in the last second of a longer run went unsaid.
   */
  stopJudging(): void {
    if (this.judging) this.lastLook();
    this.judging = false;
    clearInterval(this.timer);
  }

  /**
   * Judges the window now; returns the events this check produced (also printed, queued for the webhook;
   * fired and resolved ones broadcast). A budget broken that was not firing fires; one firing that is not
   * broken now resolves only once it has held for resolveAfterMs; one firing for repeatMs since it was last
   * said is said again (a reminder: state 'firing', `at` later than `started_at`).
   */
  check(): AlertEvent[] {
    return this.judging ? this.judge(true) : [];
  }

  /**
   * Fires the budgets broken in the window that are not firing yet, and nothing else: no reminder, no
   * resolution (the window only empties once the inputs have ended, and an emptied window resolves nothing).
   * Taken when the inputs end and again at close(), after the last exchanges were counted (analytics' finish).
   */
  private lastLook(): void {
    this.judge(false);
  }

  private judge(ongoing: boolean): AlertEvent[] {
    const o = this.options;
    const breaches = evaluateBudgets(o.window(o.windowMs), o.budgets);
    const now = (o.now ?? Date.now)();
    const at = new Date(now).toISOString();
    const windowS = o.windowMs / 1000;
    const seen = new Set<string>();
    const events: AlertEvent[] = [];
    for (const b of breaches) {
      const key = `${b.budget} ${b.host} ${b.route}`;
      seen.add(key);
      const was = this.activeAlerts.get(key);
      const event: AlertEvent = {
        state: 'firing',
        ...pick(b),
        window_s: windowS,
        at,
        started_at: was?.event.started_at ?? at,
      };
      if (!was) {
        this.activeAlerts.set(key, { event, lastBrokenAt: now, lastSaidAt: now });
        events.push(event);
        continue;
      }
      was.event = event; // keep the latest value for the dashboard
      was.lastBrokenAt = now;
      if (ongoing && now - was.lastSaidAt >= (o.repeatMs ?? REPEAT_MS)) {
        was.lastSaidAt = now;
        events.push(event);
      }
    }
    const held: [string, Active][] = [];
    for (const [key, was] of ongoing ? this.activeAlerts : []) {
      if (seen.has(key)) continue;
      if (now - was.lastBrokenAt < (o.resolveAfterMs ?? RESOLVE_AFTER_MS)) {
        held.push([key, was]);
        continue;
      }
      this.activeAlerts.delete(key);
      events.push({ ...was.event, state: 'resolved', at });
    }
    // Routes that come and go (paths no --route names) would keep 30 s of them: the longest held resolve first.
    if (held.length > MAX_HELD) {
      held.sort((a, b) => a[1].lastBrokenAt - b[1].lastBrokenAt);
      for (const [key, was] of held.slice(0, held.length - MAX_HELD)) {
        this.activeAlerts.delete(key);
        events.push({ ...was.event, state: 'resolved', at });
      }
    }
    for (const [i, e] of events.entries()) this.emit(e, i < MAX_LINES_PER_CHECK);
    if (events.length > MAX_LINES_PER_CHECK) this.options.log.write(notPrinted(events.slice(MAX_LINES_PER_CHECK)));
    return events;
  }

  /** Alerts firing now, latest values. */
  active(): AlertEvent[] {
    return [...this.activeAlerts.values()].map((a) => a.event);
  }

  /** The latest events, oldest first. */
  recent(): AlertEvent[] {
    return [...this.history];
  }

  onAlert(listener: (e: AlertEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): AlertStats {
    return { ...this.counters, active: this.activeAlerts.size };
  }

  /**
   * Stops checking and waits for the queued webhook posts, one post timeout at most. Once the run is ending,
   * the first post that fails drops the rest of the queue (counted, and said once): a receiver that does not
   * answer would otherwise hold the exit for the post timeout once per queued alert (100 × 5 s); what is still
   * queued when the timeout has passed since close() is dropped the same way.
   */
  async close(): Promise<void> {
    if (!this.closing) this.lastLook();
    this.judging = false;
    clearInterval(this.timer);
    this.closing = true;
    this.closeDeadline = performance.now() + this.timeoutMs();
    while (this.sending) await this.sending;
  }

  private timeoutMs(): number {
    return this.options.webhookTimeoutMs ?? WEBHOOK_TIMEOUT_MS;
  }

  private dropQueued(url: string, why: string): void {
    const left = this.queue.length;
    if (left === 0) return;
    this.queue.length = 0;
    this.counters.webhook_dropped += left;
    this.options.log.write(
      `tapline: warning: alert-webhook: ${left} alert(s) not sent: the run is ending and ${url} ${why}`,
    );
  }

  private emit(e: AlertEvent, print: boolean): void {
    const reminder = isReminder(e);
    if (e.state === 'resolved') this.counters.resolved++;
    else if (!reminder) this.counters.fired++;
    const window = formatWindow(e.window_s);
    const since = `since ${e.started_at.slice(11, 19)} UTC`;
    const holdMs = this.options.resolveAfterMs ?? RESOLVE_AFTER_MS;
    const held = holdMs >= 1000 ? `; within the budget for ${formatWindow(Math.round(holdMs / 1000))}` : '';
    if (print)
      this.options.log.write(
        e.state === 'resolved'
          ? `tapline: alert resolved: ${e.message.replace(/^([a-z-]+): /, '$1: was ')} (over the last ${window}${held}; firing ${since})`
          : reminder
            ? `tapline: alert still firing: ${e.message} (over the last ${window}; ${since})`
            : `tapline: alert: ${e.message} (over the last ${window})`,
      );
    if (!reminder) {
      // A reminder is not a change: the dashboard shows the alert among the active ones already.
      this.history.push(e);
      if (this.history.length > (this.options.keep ?? 50)) this.history.shift();
      for (const l of this.listeners) l(e);
    }
    if (this.options.webhook) this.enqueue(e);
  }

  private enqueue(e: AlertEvent): void {
    const limit = this.options.queueLimit ?? 100;
    if (this.queue.length >= limit) {
      // Said once: the count is in the summary, and a line per event would be the flood the queue bounds.
      if (this.counters.webhook_dropped++ === 0)
        this.options.log.write(
          `tapline: warning: alert-webhook: ${limit} alert events wait for ${redactUrl(this.options.webhook!)} already; more are dropped (counted in the summary) until it takes them`,
        );
      return;
    }
    this.queue.push(e);
    if (!this.sending) {
      this.sending = this.drain().finally(() => {
        this.sending = undefined;
      });
    }
  }

  private async drain(): Promise<void> {
    const url = this.options.webhook!;
    for (let e = this.queue[0]; e; e = this.queue[0]) {
      // After close(), a post gets only what is left of close()'s one timeout.
      const left = this.closing ? this.closeDeadline - performance.now() : Number.POSITIVE_INFINITY;
      if (left <= 0) {
        this.dropQueued(redactUrl(url), `did not take them within ${this.timeoutMs()} ms of the stop`);
        return;
      }
      this.queue.shift();
      const timeoutMs = Math.ceil(Math.min(this.timeoutMs(), left));
      try {
        const res = await postFollowingBody(url, {
          body: JSON.stringify(e),
          contentType: 'application/json',
          signal: AbortSignal.timeout(timeoutMs),
        });
        // The status is the answer; the body is not read (one without end would fill memory).
        await res.body?.cancel().catch(() => {});
        if (!res.ok) throw new Error(`answered ${res.status}`);
        this.counters.webhook_posts++;
      } catch (err) {
        if (this.closing && timeoutMs < this.timeoutMs() && isTimeout(err)) {
          // Cut short by close()'s bound, not the receiver's own timeout: dropped with the rest, said once.
          this.queue.unshift(e);
          this.dropQueued(redactUrl(url), `did not take them within ${this.timeoutMs()} ms of the stop`);
          return;
        }
        this.counters.webhook_failures++;
        const why = describeFetchError(err, timeoutMs);
        this.counters.last_error = why;
        this.options.log.warn(`alert-webhook: POST to ${redactUrl(url)} failed: ${why}`, 'alert-webhook');
        if (this.closing) this.dropQueued(redactUrl(url), 'did not take the last one');
      }
    }
  }
}

function pick(b: Breach): Pick<AlertEvent, 'budget' | 'route' | 'host' | 'value' | 'limit' | 'message'> {
  return { budget: b.budget, route: b.route, host: b.host, value: b.value, limit: b.limit, message: b.message };
}

function isReminder(e: AlertEvent): boolean {
  return e.state === 'firing' && e.at !== e.started_at;
}

/** One line for the events of a check past MAX_LINES_PER_CHECK: how many, of which kind, of which budgets. */
function notPrinted(events: readonly AlertEvent[]): string {
  const kinds = new Map<string, number>();
  const budgets = new Map<string, number>();
  for (const e of events) {
    const kind = e.state === 'resolved' ? 'resolved' : isReminder(e) ? 'still firing' : 'fired';
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    budgets.set(e.budget, (budgets.get(e.budget) ?? 0) + 1);
  }
  const list = (m: Map<string, number>) => [...m].map(([k, n]) => `${n} ${k}`).join(', ');
  return `tapline: alert: ${events.length} more at this check, not printed (${list(kinds)}; ${list(budgets)}): each is on the dashboard and sent to --alert-webhook, and counted in the summary`;
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.name === 'TimeoutError';
}
