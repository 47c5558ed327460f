/**
 * The native sender of `--output-http` (native/src/http_sender.cc, tapline_http.node): the same job as
 * ReplayPool + ReplayConnection (http-pool.ts, http-connection.ts) — queue, keep-alive connections, framing,
 * timeouts, failure reasons — done on a thread of its own, so a replayed request costs JavaScript only its
 * copy into a batch and its result.
 *
 *   submit(bytes, head, meta, edit) ─▶ batch (one Buffer + offsets, flushed after the current synchronous
 *        ▲ promise while `outstanding`       run or when full)   │ addon.submit (copied there, the Host rule
 *        │ ≥ queue-len + workers                                 │ applied in the copy: FIND_HOST)
 *        └── backpressure ◀── onResults(fields, n, kept, details) ◀┘ one call per batch of results
 *                               │ answered, nothing kept ─▶ report.answered (counters only, no object)
 *                               └ failed, or response kept ─▶ onDone(meta, outcome)
 *   submitRun(rawRun, write) ─▶ addon.submitRun per slice of ≤ 512: the addon reads the .gor records itself
 *        (no message objects); a record it leaves to JavaScript goes through write() in its place
 *
 * Used for plain http:// targets without --output-http-redirects when the addon is built (http.ts decides;
 * TAPLINE_HTTP_CLIENT=js|native forces one). Everything else — https, redirects, no addon — uses the
 * JavaScript client, with identical counters and reasons.
 */

import type { Message, Meta } from '../core/message.js';
import { loadAddon } from '../core/native-addon.js';
import type { RawRun } from '../core/plugin.js';
import { numericZone } from '../net/address.js';
import type { FailureReason } from './http-connection.js';
import type { JobOutcome } from './http-pool.js';
import type { ReplayReport } from './http-report.js';
import type { HttpTarget } from './http-target.js';

export interface NativeSender {
  /**
   * cuts[2i], cuts[2i+1]: the bytes of request i to send as the target's Host value instead; -1: none;
   * FIND_HOST: the addon finds them (the Host rule for an origin-form request whose Host is not kept).
   */
  submit(buffer: Buffer, offsets: Int32Array, heads: Uint8Array, firstSeq: number, n: number, cuts?: Int32Array): void;
  /**
   * Sends `part`'s records (whole .gor records) from byte `from`, at most `max`, numbered from firstSeq, the
   * Host rule applied: returns how many; keys[i] is record i's timestampKey(), next[0] the byte after the
   * last one sent, next[1] the byte after a record it stopped at because write() must handle it (-1: none;
   * -2: no whole record there).
   */
  submitRun(part: Buffer, from: number, max: number, firstSeq: number, keys: Float64Array, next: Float64Array): number;
  /**
   * [connections, opened, retired, busy, CPU ms of the sender thread, unsolicited answers, requests resent,
   * connections reopened] (the last three: ReplayConnection's onUnsolicited, onResend, onReopen)
   */
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
    /** ids[i]: the id of a failed request sent by submitRun (its meta is not kept in JS). */
    onResults: (
      fields: Float64Array,
      n: number,
      kept: Buffer[] | null,
      details: string[] | null,
      ids: string[] | null,
    ) => void,
  ) => NativeSender;
  /** The response framer alone, fed `buffer` cut at `cuts` (for tests): [step, status, end, closeAfter, error]. */
  frame(
    buffer: Buffer,
    head: boolean,
    cuts: Int32Array,
    eof: boolean,
  ): [step: 'done' | 'bad' | 'more', status: number, end: number, closeAfter: boolean, error: string | null];
  /** The payload as submit() sends it with a find-Host cut (FIND_HOST), for tests. */
  editHost(payload: Buffer, host: Buffer): Buffer;
  abiVersion: number;
}

const ABI_VERSION = 6;
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
/** The ring's mark for a request sent by submitRun: the addon keeps its id (no meta in JavaScript). */
const RUN_RECORD = { id: '' };
/** Most records one submitRun() call sends (the keys it fills). */
const RUN_SLICE = 512;
/** submit()'s edit: none, or the Host rule applied by the addon in its copy (http_sender.cc kFindHost). */
export const NO_EDIT = -1;
export const FIND_HOST = -2;
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

/**
 * ReplayPool's surface (drain, close, counts) over the native sender. A request costs JavaScript no object of
 * its own: its bytes are copied into the batch, its meta kept in a ring (for a failure's warning or a tracked
 * response's id), and an answered request whose response is not kept is only counted (`report.answered`).
 */
export class NativeReplayPool {
  private readonly sender: NativeSender;
  /** Metas of the requests outstanding, at seq & mask (a ring; it grows if two outstanding seqs share a slot). */
  private jobs: (Meta | typeof RUN_RECORD | undefined)[];
  private seqs: number[];
  private mask: number;
  private nextSeq = 0;
  private outstanding = 0;
  private readonly limit: number;
  /** Responses are kept (tracked): every result goes through onDone with its outcome. */
  private readonly keeps: boolean;
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
  private readonly runKeys = new Float64Array(RUN_SLICE);
  private readonly runNext = new Float64Array(2);
  private flushQueued = false;
  private readonly flushSoon = () => {
    this.flushQueued = false;
    this.flush();
  };

  constructor(
    addon: HttpAddon,
    target: HttpTarget,
    options: NativeSenderOptions,
    /** Where answered requests are counted when no per-response object is needed. */
    private readonly report: ReplayReport,
    /** Each failure, and each answer when responses are kept. */
    private readonly onDone: (meta: { readonly id: string }, outcome: JobOutcome) => void,
  ) {
    this.keeps = options.keepBytes > 0;
    this.sender = new addon.HttpSender(
      {
        host: numericZone(target.host), // getaddrinfo takes a zone name on link-local addresses only
        port: target.port,
        maxConns: options.maxWorkers,
        minConns: options.minWorkers,
        timeoutMs: options.timeoutMs,
        workerTimeoutMs: options.workerTimeoutMs,
        keepBytes: options.keepBytes,
        hostHeader: target.hostHeaderBytes,
      },
      (fields, n, kept, details, ids) => this.onResults(fields, n, kept, details, ids),
    );
    // As ReplayPool: writers wait while queue-len requests wait for a connection, and go on at 3/4 of it.
    this.maxWorkers = options.maxWorkers;
    let size = 1024;
    while (size < 2 * (options.queueLen + options.maxWorkers) + BATCH_COUNT) size *= 2;
    this.jobs = new Array<Meta | typeof RUN_RECORD | undefined>(size).fill(undefined);
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

  /** Answers the target sent that no request asked for (dropped, the connection closed). */
  get unsolicited(): number {
    return this.counts()[5] ?? 0;
  }

  /** The sender's counts of what the JavaScript client counts through its callbacks, into `counters`. */
  copyCounters(counters: ReplayReport['counters']): void {
    const c = this.counts();
    counters.unsolicited_responses = c[5] ?? 0;
    counters.resent_after_close = c[6] ?? 0;
    counters.connections_reopened = c[7] ?? 0;
  }

  /** Requests submitted and not finished (in a batch, queued in the sender or in flight). */
  get pending(): number {
    return this.outstanding;
  }

  /** CPU time of the sender thread so far, ms (the rest of the process's CPU is JavaScript's). */
  get threadCpuMs(): number {
    return this.counts()[4]!;
  }

  private counts(): number[] {
    return this.final ?? this.sender.stats();
  }

  /**
   * Sends `payload` (copied now) with `edit`: NO_EDIT, or FIND_HOST to have the addon apply the Host rule in
   * its copy (only for an origin-form request whose Host is not kept, to a target without path or
   * credentials: http-target.ts adaptRequest does everything else). `head`: a HEAD request (no body comes).
   */
  submit(payload: Buffer, head: boolean, meta: Meta, edit: number): void | Promise<void> {
    const size = payload.length;
    if (this.batchCount === BATCH_COUNT || this.batchBytes + size > this.batch.length) this.flush();
    if (size > this.batch.length) this.batch = Buffer.allocUnsafe(size);
    const seq = this.nextSeq++;
    if (this.batchCount === 0) this.batchSeq = seq;
    this.remember(seq, meta);
    const at = this.batchBytes;
    this.batch.set(payload, at);
    const i = this.batchCount;
    this.offsets[i] = at;
    this.heads[i] = head ? 1 : 0;
    this.cuts[2 * i] = edit;
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

  /**
   * Sends a raw run's records (core/plugin.ts) as write() would send each: the addon reads each record and
   * sends it with the Host rule applied, each counted by `report.accepted`, waiting for room as submit()
   * does. A record write() treats otherwise (not a request, no gor title, CONNECT, not origin-form) is given
   * to `writeOne` (the output's write()) in its place, so the order and the counts stay write()'s.
   */
  async submitRun(run: RawRun, writeOne: (msg: Message) => void | Promise<void>): Promise<void> {
    const keys = this.runKeys;
    const next = this.runNext;
    let index = 0; // records of the run handled so far
    let records: Message[] | undefined;
    for (const part of run.parts) {
      let from = 0;
      while (from < part.length) {
        if (this.closed) {
          // Given up at a stop (giveUp): the records left go through write(), which counts each.
          records ??= run.records();
          while (index < records.length) {
            const pending = writeOne(records[index++]!);
            if (pending) await pending;
          }
          return;
        }
        const room = this.limit - this.outstanding;
        if (room <= 0) {
          await new Promise<void>((r) => this.roomWaiters.push(r));
          continue;
        }
        this.flush(); // requests written one by one before these go first
        const seq = this.nextSeq;
        const n = this.sender.submitRun(part, from, Math.min(room, RUN_SLICE), seq, keys, next);
        this.nextSeq += n;
        for (let i = 0; i < n; i++) {
          this.remember(seq + i, RUN_RECORD);
          this.report.accepted(keys[i]!);
        }
        if (n > 0 && this.outstanding === 0) this.sender.ref();
        this.outstanding += n;
        index += n;
        from = next[0]!;
        const after = next[1]!;
        if (after >= 0) {
          records ??= run.records();
          const pending = writeOne(records[index++]!);
          if (pending) await pending;
          from = after;
        } else if (after === -2) {
          throw new Error(`output-http: a raw run holds no whole .gor record at byte ${from}`);
        }
      }
    }
  }

  private remember(seq: number, meta: Meta | typeof RUN_RECORD): void {
    while (this.jobs[seq & this.mask] !== undefined) this.grow();
    this.jobs[seq & this.mask] = meta;
    this.seqs[seq & this.mask] = seq;
  }

  private grow(): void {
    const size = this.jobs.length * 2;
    const jobs = new Array<Meta | typeof RUN_RECORD | undefined>(size).fill(undefined);
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

  /**
   * The stop's time ran out (http.ts): the sender is closed with requests still outstanding, which then get no
   * result (one arriving after this is ignored). Returns how many were in flight (on a connection) and how
   * many were still queued (in a batch or waiting for a connection).
   */
  giveUp(): { inFlight: number; queued: number } {
    const outstanding = this.outstanding;
    const inFlight = Math.min(outstanding, this.busy);
    this.outstanding = 0;
    this.batchCount = 0;
    this.batchBytes = 0;
    this.jobs.fill(undefined);
    this.close();
    if (this.final) this.final[3] = 0; // the connections it had in use are closed with the sender
    return { inFlight, queued: outstanding - inFlight };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sender.unref();
    this.sender.close();
    // After close: the thread has stopped and stored its final CPU time.
    this.final = this.sender.stats();
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

  private onResults(
    fields: Float64Array,
    n: number,
    kept: Buffer[] | null,
    details: string[] | null,
    ids: string[] | null,
  ): void {
    if (this.closed) return; // given up (giveUp): what was outstanding is counted there
    let answered = false;
    for (let i = 0; i < n; i++) {
      const f = i * FIELDS;
      const slot = fields[f]! & this.mask;
      const meta = this.jobs[slot];
      if (meta === undefined || this.seqs[slot] !== fields[f]) continue;
      this.jobs[slot] = undefined;
      this.outstanding--;
      const code = fields[f + 2]!;
      if (code === 0 && !this.keeps) {
        // The common case: counted, no outcome object (the report's `record` path without allocation).
        this.report.answered(fields[f + 1]!, fields[f + 4]!, fields[f + 5]!);
        answered = true;
        continue;
      }
      const reason = REASONS[code];
      this.onDone(meta === RUN_RECORD ? { id: ids?.[i] ?? '?' } : meta, {
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
    if (answered) this.report.finished();
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
