/**
 * The native sender of `--output-http` (native/src/http_sender.cc, tapline_http.node): the same job as
 * ReplayPool + ReplayConnection (http-pool.ts, http-connection.ts) — queue, keep-alive connections, framing,
 * timeouts, failure reasons — done on a thread of its own, so a replayed request costs JavaScript only its
 * copy into a batch and its result.
 *
 *   submit(job) ─▶ batch (one Buffer + offsets, flushed after the current synchronous run or when full)
 *        ▲ promise while `outstanding` ≥ queue-len + workers            │ addon.submit (copied there)
 *        └── backpressure ◀── onResults(fields, n, kept, details) ◀─────┘ one call per batch of results
 *
 * Used for plain http:// targets without --output-http-redirects when the addon is built (http.ts decides;
 * TAPLINE_HTTP_CLIENT=js|native forces one). Everything else — https, redirects, no addon — uses the
 * JavaScript client, with identical counters and reasons.
 */

import { loadAddon } from '../core/native-addon.js';
import type { FailureReason } from './http-connection.js';
import type { JobOutcome, ReplayJob } from './http-pool.js';
import type { HttpTarget } from './http-target.js';

interface NativeSender {
  /** cuts[2i], cuts[2i+1]: the bytes of request i to send as the target's Host value instead (-1: none). */
  submit(buffer: Buffer, offsets: Int32Array, heads: Uint8Array, firstSeq: number, n: number, cuts?: Int32Array): void;
  /** [connections, opened, retired, busy, CPU ms of the sender thread] */
  stats(): number[];
  ref(): void;
  unref(): void;
  close(): void;
}

export interface HttpAddon {
  HttpSender: new (
    options: {
      host: string;
      port: number;
      maxConns: number;
      minConns: number;
      timeoutMs: number;
      workerTimeoutMs: number;
      keepBytes: number;
      /** The Host value submit()'s cuts are replaced by. */
      hostHeader?: Buffer;
    },
    onResults: (fields: Float64Array, n: number, kept: Buffer[] | null, details: string[] | null) => void,
  ) => NativeSender;
  /** The response framer alone, fed `buffer` cut at `cuts` (for tests): [step, status, end, closeAfter, error]. */
  frame(
    buffer: Buffer,
    head: boolean,
    cuts: Int32Array,
    eof: boolean,
  ): [step: 'done' | 'bad' | 'more', status: number, end: number, closeAfter: boolean, error: string | null];
  abiVersion: number;
}

const ABI_VERSION = 1;
let addon: HttpAddon | null | undefined;

/** The addon, or null when it is not built (or not for this Node) or TAPLINE_HTTP_CLIENT=js. */
export function httpAddon(): HttpAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  // Without it (not built, not Linux, another version) the JavaScript client replays.
  if (process.platform === 'linux') addon = loadAddon<HttpAddon>('tapline_http.node', ABI_VERSION).addon;
  return addon;
}

/** Which client an output to `target` uses: TAPLINE_HTTP_CLIENT=js|native forces one where it can work. */
export function useNativeClient(target: HttpTarget, redirects: number, forced?: 'js' | 'native'): boolean {
  const choice = forced ?? process.env.TAPLINE_HTTP_CLIENT;
  if (choice === 'js') return false;
  if (target.secure || redirects > 0) return false;
  return httpAddon() !== null;
}

/** The addon's result reasons, by code (http_sender.cc `Reason`). */
const REASONS: (FailureReason | undefined)[] = [
  undefined,
  'connect-refused',
  'connect-failed',
  'dns',
  'reset',
  'timeout',
  'bad-response',
  'closed',
];
const FIELDS = 7;
const BATCH_BYTES = 256 * 1024;
const BATCH_COUNT = 512;

export interface NativeSenderOptions {
  minWorkers: number;
  maxWorkers: number;
  queueLen: number;
  workerTimeoutMs: number;
  timeoutMs: number;
  keepBytes: number;
}

/** ReplayPool's surface (submit, drain, close, counts) over the native sender. */
export class NativeReplayPool {
  private readonly sender: NativeSender;
  /** Jobs outstanding, at seq & mask (a ring; it grows if ever two outstanding seqs share a slot). */
  private jobs: (ReplayJob | undefined)[];
  private seqs: number[];
  private mask: number;
  private nextSeq = 0;
  private outstanding = 0;
  private readonly limit: number;
  private readonly maxWorkers: number;
  private readonly resumeAt: number;
  private roomWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private closed = false;
  /** The sender's counts when it closed ([connections, opened, retired, busy]): the summary reads them after. */
  private final: number[] | undefined;
  // The batch being filled.
  private batch = Buffer.allocUnsafe(BATCH_BYTES);
  private batchBytes = 0;
  private batchCount = 0;
  private batchSeq = 0;
  private readonly offsets = new Int32Array(BATCH_COUNT + 1);
  private readonly heads = new Uint8Array(BATCH_COUNT);
  private readonly cuts = new Int32Array(2 * BATCH_COUNT);
  private flushQueued = false;
  private readonly flushSoon = () => {
    this.flushQueued = false;
    this.flush();
  };

  constructor(
    addon: HttpAddon,
    target: HttpTarget,
    options: NativeSenderOptions,
    private readonly onDone: (job: ReplayJob, outcome: JobOutcome) => void,
  ) {
    this.sender = new addon.HttpSender(
      {
        host: target.host,
        port: target.port,
        maxConns: options.maxWorkers,
        minConns: options.minWorkers,
        timeoutMs: options.timeoutMs,
        workerTimeoutMs: options.workerTimeoutMs,
        keepBytes: options.keepBytes,
        hostHeader: target.hostHeaderBytes,
      },
      (fields, n, kept, details) => this.onResults(fields, n, kept, details),
    );
    // As ReplayPool: writers wait while queue-len requests wait for a connection, and go on at 3/4 of it.
    this.maxWorkers = options.maxWorkers;
    let size = 1024;
    while (size < 2 * (options.queueLen + options.maxWorkers) + BATCH_COUNT) size *= 2;
    this.jobs = new Array<ReplayJob | undefined>(size).fill(undefined);
    this.seqs = new Array<number>(size).fill(-1);
    this.mask = size - 1;
    this.limit = options.queueLen + options.maxWorkers;
    this.resumeAt = Math.floor((options.queueLen * 3) / 4) + options.maxWorkers;
  }

  /**
   * Requests waiting for a connection. The sender puts a request on a free connection as soon as it sees it,
   * so up to `maxWorkers` outstanding requests count as on their way to a connection, not as queued.
   */
  get waiting(): number {
    return Math.max(0, this.outstanding - this.maxWorkers);
  }

  get connections(): number {
    return this.counts()[0]!;
  }

  get opened(): number {
    return this.counts()[1]!;
  }

  get retired(): number {
    return this.counts()[2]!;
  }

  get busy(): number {
    return this.counts()[3]!;
  }

  /** CPU time of the sender thread so far, ms (the rest of the process's CPU is JavaScript's). */
  get threadCpuMs(): number {
    return this.counts()[4]!;
  }

  private counts(): number[] {
    return this.final ?? this.sender.stats();
  }

  submit(job: ReplayJob): void | Promise<void> {
    return this.enqueue(job, -1, -1);
  }

  /**
   * Submits `job.payload` with the bytes [cutStart, cutEnd) replaced by the target's Host value: the Host
   * edit, made by the addon as it copies the batch (no copy of the request of its own here).
   */
  submitWithHost(job: ReplayJob, cutStart: number, cutEnd: number): void | Promise<void> {
    return this.enqueue(job, cutStart, cutEnd);
  }

  private enqueue(job: ReplayJob, cutStart: number, cutEnd: number): void | Promise<void> {
    const payload = job.payload;
    const size = payload.length;
    if (this.batchCount === BATCH_COUNT || this.batchBytes + size > this.batch.length) this.flush();
    if (size > this.batch.length) this.batch = Buffer.allocUnsafe(size);
    const seq = this.nextSeq++;
    if (this.batchCount === 0) this.batchSeq = seq;
    this.remember(seq, job);
    const at = this.batchBytes;
    this.batch.set(payload, at);
    const i = this.batchCount;
    this.offsets[i] = at;
    this.heads[i] = job.method === 'HEAD' ? 1 : 0;
    this.cuts[2 * i] = cutStart;
    this.cuts[2 * i + 1] = cutEnd;
    this.batchBytes += size;
    this.batchCount++;
    if (this.outstanding++ === 0) this.sender.ref();
    if (this.outstanding >= this.limit) {
      this.flush();
      return new Promise<void>((r) => this.roomWaiters.push(r));
    }
    if (!this.flushQueued) {
      // After the pipeline's synchronous run over its batch: one hand-over for many requests.
      this.flushQueued = true;
      queueMicrotask(this.flushSoon);
    }
  }

  private remember(seq: number, job: ReplayJob): void {
    while (this.jobs[seq & this.mask] !== undefined) this.grow();
    this.jobs[seq & this.mask] = job;
    this.seqs[seq & this.mask] = seq;
  }

  private grow(): void {
    const size = this.jobs.length * 2;
    const jobs = new Array<ReplayJob | undefined>(size).fill(undefined);
    const seqs = new Array<number>(size).fill(-1);
    for (let i = 0; i < this.jobs.length; i++) {
      const job = this.jobs[i];
      if (job === undefined) continue;
      jobs[this.seqs[i]! & (size - 1)] = job;
      seqs[this.seqs[i]! & (size - 1)] = this.seqs[i]!;
    }
    this.jobs = jobs;
    this.seqs = seqs;
    this.mask = size - 1;
  }

  drain(): Promise<void> {
    this.flush();
    return this.outstanding === 0 ? Promise.resolve() : new Promise<void>((r) => this.drainWaiters.push(r));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.final = this.sender.stats();
    this.sender.unref();
    this.sender.close();
    for (const w of this.roomWaiters.splice(0)) w();
    for (const w of this.drainWaiters.splice(0)) w();
  }

  private flush(): void {
    if (this.batchCount === 0 || this.closed) return;
    this.offsets[this.batchCount] = this.batchBytes;
    this.sender.submit(this.batch, this.offsets, this.heads, this.batchSeq, this.batchCount, this.cuts);
    this.batchBytes = 0;
    this.batchCount = 0;
  }

  private onResults(fields: Float64Array, n: number, kept: Buffer[] | null, details: string[] | null): void {
    for (let i = 0; i < n; i++) {
      const f = i * FIELDS;
      const slot = fields[f]! & this.mask;
      const job = this.jobs[slot];
      if (job === undefined || this.seqs[slot] !== fields[f]) continue;
      this.jobs[slot] = undefined;
      const reason = REASONS[fields[f + 2]!];
      this.outstanding--;
      this.onDone(job, {
        ok: reason === undefined,
        status: fields[f + 1]!,
        reason,
        detail: details?.[i],
        startedMs: fields[f + 3]!,
        latencyMs: fields[f + 4]!,
        responseBytes: fields[f + 5]!,
        response: kept?.[i],
        truncated: fields[f + 6] === 1,
        redirects: 0,
      });
    }
    if (this.roomWaiters.length > 0 && this.outstanding <= this.resumeAt) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w();
    }
    if (this.outstanding === 0) {
      if (!this.closed) this.sender.unref();
      for (const w of this.drainWaiters.splice(0)) w();
    }
  }
}
