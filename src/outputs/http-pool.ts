/**
 * The connections of one `--output-http` target and the queue in front of them.
 *
 *   submit(job) ──▶ queue (--output-http-queue-len) ──▶ idle connection? send : open one (≤ max) or wait
 *        ▲ returns a promise while the queue is full                │
 *        └──────────────────── backpressure ◀── exchange done ◀──────┘ (redirects followed here)
 *   every --output-http-worker-timeout: idle connections above --output-http-workers-min are closed
 *
 * Connections open on demand (gor starts workers when the queue outgrows them) and each carries one request
 * at a time (gor's workers send synchronously). `onDone` sees every job's outcome exactly once. One sweep
 * timer enforces every connection's --output-http-timeout (a timer per request cost more than the request).
 * A full queue lets writers go on only once it is down to 3/4, so a replay at full speed wakes the writer
 * once per quarter queue, not once per answer.
 */
import type { Meta } from '../core/message.js';
import { type ConnectionOptions, ReplayConnection, type ReplayResult } from './http-connection.js';
import { nextRedirect } from './http-redirect.js';
import type { HttpTarget } from './http-target.js';

export interface ReplayJob {
  payload: Buffer;
  method: string;
  /**
   * The request's meta: type-3 messages carry its id. Kept whole and read only then, because a meta read from a
   * file cuts its id out of the line on first read (a string or two per request that a replay without
   * --output-http-track-response never needs).
   */
  meta: Meta;
}

export interface PoolOptions extends ConnectionOptions {
  minWorkers: number;
  maxWorkers: number;
  queueLen: number;
  workerTimeoutMs: number;
  redirects: number;
}

export interface JobOutcome extends ReplayResult {
  /** Redirects followed for this job. */
  redirects: number;
}

export class ReplayPool {
  private readonly queue: ReplayJob[] = [];
  private head = 0;
  private readonly idle: ReplayConnection[] = [];
  private total = 0;
  private inFlight = 0;
  private roomWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private readonly retireTimer: NodeJS.Timeout;
  private readonly timeoutTimer: NodeJS.Timeout;
  private readonly all = new Set<ReplayConnection>();
  /** One-off connections of redirects to other origins (their timeouts are swept too). */
  private readonly foreign = new Set<ReplayConnection>();
  private readonly resumeAt: number;
  private closed = false;
  /** giveUp() was called: results still arriving are not reported. */
  private abandoned = false;
  /** Connections opened over the run (reconnects of a connection not counted). */
  opened = 0;
  retired = 0;

  constructor(
    private readonly target: HttpTarget,
    private readonly options: PoolOptions,
    private readonly onDone: (job: ReplayJob, outcome: JobOutcome) => void,
  ) {
    for (let i = 0; i < options.minWorkers; i++) this.idle.push(this.open());
    this.retireTimer = setInterval(() => this.retire(), options.workerTimeoutMs);
    this.retireTimer.unref();
    // Timeouts fire up to a quarter of the timeout (at most 50 ms) late.
    this.timeoutTimer = setInterval(() => this.sweepTimeouts(), Math.min(50, Math.max(5, options.timeoutMs / 4)));
    this.timeoutTimer.unref();
    this.resumeAt = Math.max(0, Math.floor((options.queueLen * 3) / 4));
  }

  /** Jobs waiting for a connection. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  get connections(): number {
    return this.total;
  }

  get busy(): number {
    return this.inFlight;
  }

  /** Jobs taken and not finished (queued or in flight). */
  get pending(): number {
    return this.inFlight + this.waiting;
  }

  /** Queues a job; the promise (when the queue is full) resolves once there is room again. */
  submit(job: ReplayJob): void | Promise<void> {
    this.queue.push(job);
    this.pump();
    if (this.waiting >= this.options.queueLen) return new Promise<void>((r) => this.roomWaiters.push(r));
  }

  /** Resolves once nothing is queued or in flight. */
  drain(): Promise<void> {
    return this.inFlight === 0 && this.waiting === 0
      ? Promise.resolve()
      : new Promise<void>((r) => this.drainWaiters.push(r));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.retireTimer);
    clearInterval(this.timeoutTimer);
    for (const c of this.idle.splice(0)) c.close();
    for (const w of this.roomWaiters.splice(0)) w();
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /**
   * The stop's time ran out (http.ts): the queued jobs are dropped without being sent, the exchanges in flight
   * are cut off (their connections destroyed), and neither is reported to onDone. Returns how many of each.
   */
  giveUp(): { inFlight: number; queued: number } {
    const given = { inFlight: this.inFlight, queued: this.waiting };
    this.abandoned = true;
    this.queue.length = 0;
    this.head = 0;
    this.inFlight = 0;
    for (const c of this.all) c.close();
    for (const c of this.foreign) c.close();
    this.close();
    return given;
  }

  private open(): ReplayConnection {
    this.total++;
    this.opened++;
    const conn = new ReplayConnection(this.target, this.options);
    this.all.add(conn);
    return conn;
  }

  private sweepTimeouts(): void {
    if (this.inFlight === 0) return;
    const now = performance.now();
    for (const conn of this.all) conn.checkTimeout(now);
    for (const conn of this.foreign) conn.checkTimeout(now);
  }

  private pump(): void {
    while (this.queue.length - this.head > 0) {
      let conn = this.idle.pop();
      if (!conn) {
        if (this.total >= this.options.maxWorkers || this.closed) return;
        conn = this.open();
      }
      const job = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as ReplayJob;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.inFlight++;
      const c = conn;
      if (this.options.redirects === 0) {
        c.send(job.payload, job.method, (result) => this.done(c, job, withRedirects(result, 0)));
      } else {
        void this.exchange(c, job).then((outcome) => this.done(c, job, outcome));
      }
    }
  }

  private done(conn: ReplayConnection, job: ReplayJob, outcome: JobOutcome): void {
    if (this.abandoned) return;
    this.inFlight--;
    this.onDone(job, outcome);
    if (this.closed) {
      this.all.delete(conn);
      conn.close();
    } else {
      this.idle.push(conn);
    }
    if (this.roomWaiters.length > 0 && this.waiting <= this.resumeAt) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w();
    }
    this.pump();
    if (this.inFlight === 0 && this.waiting === 0 && this.drainWaiters.length > 0) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  /** One job: its request, then the redirects it leads to (up to --output-http-redirects). */
  private async exchange(conn: ReplayConnection, job: ReplayJob): Promise<JobOutcome> {
    // --output-http-timeout bounds the whole chain, as Go's Client.Timeout does.
    const deadline = performance.now() + this.options.timeoutMs;
    const send = (c: ReplayConnection, request: Buffer, method: string) =>
      new Promise<ReplayResult>((resolve) => c.send(request, method, resolve, deadline));
    let result = await send(conn, job.payload, job.method);
    let redirects = 0;
    const startedMs = result.startedMs;
    let latencyMs = result.latencyMs;
    let request = job.payload;
    let target = this.target;
    while (redirects < this.options.redirects && result.ok && result.response) {
      const step = nextRedirect(request, requestPath(request), target, result.status, result.response);
      if (!step) break;
      redirects++;
      request = step.request;
      target = step.target;
      if (step.sameOrigin) {
        result = await send(conn, request, step.method);
      } else {
        // Another origin: a one-off connection (redirects off the target are rare; not worth a pool each).
        const other = new ReplayConnection(target, this.options);
        this.foreign.add(other);
        result = await send(other, request, step.method);
        this.foreign.delete(other);
        other.close();
      }
      latencyMs += result.latencyMs;
    }
    // A hop that failed may be on another host than the output's: the warning must send the user there.
    const detail =
      !result.ok && redirects > 0
        ? `${result.detail ?? result.reason}; after ${redirects} redirect${redirects === 1 ? '' : 's'}, at ${hopUrl(target, request)}`
        : result.detail;
    return { ...result, detail, startedMs, latencyMs, redirects };
  }

  /** Closes idle connections above the minimum that have been idle for a whole worker-timeout. */
  private retire(): void {
    if (this.waiting > 0) return;
    const now = performance.now();
    for (let i = 0; i < this.idle.length && this.total > this.options.minWorkers; ) {
      const conn = this.idle[i]!;
      if (now - conn.lastUsed >= this.options.workerTimeoutMs) {
        this.idle.splice(i, 1);
        this.all.delete(conn);
        conn.close();
        this.total--;
        this.retired++;
      } else {
        i++;
      }
    }
  }
}

function withRedirects(result: ReplayResult, redirects: number): JobOutcome {
  const outcome = result as JobOutcome;
  outcome.redirects = redirects;
  return outcome;
}

function hopUrl(target: HttpTarget, request: Buffer): string {
  return `${target.secure ? 'https' : 'http'}://${target.hostHeader}${requestPath(request)}`;
}

function requestPath(request: Buffer): string {
  const sp1 = request.indexOf(0x20);
  const sp2 = sp1 < 0 ? -1 : request.indexOf(0x20, sp1 + 1);
  return sp2 < 0 ? '/' : request.toString('latin1', sp1 + 1, sp2);
}
