/**
 * The tracker of tracker.ts on the stats addon's C++ core (native/src/stats_core.cc): the same pairing and the
 * same numbers, per batch of messages instead of per message, without a string or an object per message.
 *
 *   observe(msg) ─▶ batch (offsets into the records' own buffers; ≤ BATCH messages)   scanGor(chunk): the
 *        process(): core.prepare(batch) ─▶ jobs ─▶ JS answers: route of a new path    core walks .gor bytes
 *                                                   (routes.ts templates it), host of     itself, same jobs
 *                                                   new Host bytes, decoded size of an encoded body
 *                   core.commit(answers, times) ─▶ the core's totals (aggregate(): loadAggregate() reads them)
 *                                                └▶ tallies (11 doubles each) ─▶ sink.add() in tracker.ts's
 *                      order, with the wall-clock time of the batch (only while setTallies(true), or without
 *                      aggregate())
 *   A batch is processed when BATCH messages wait, at the end of the event-loop turn its first message came in
 *   (setImmediate), before any read (sync(): snapshot, window, counters) and at finish(). The clock is read once
 *   per batch, not per message: every message of a batch came in during one turn, so the live second an exchange
 *   counts in is the one it completed in (to within that turn's run time).
 *
 * Routes and hosts cross as indexes into tables here; the tables stay bounded: past TABLE_MAX live entries,
 * the indexes no waiting request and no bucket holds are reused (the core's path and host caches are emptied).
 * Exchange objects are not made: analytics uses this tracker only when no onExchange listener exists.
 */
import { type GorRecord, metaLength, payloadLength } from '../core/gor-format.js';
import type { Message } from '../core/message.js';
import { type Aggregator, emptyTally, type Tally } from './aggregator.js';
import { SparseHistogram } from './histogram.js';
import { hasMark } from './meta-view.js';
import { NO_REQUEST_ROUTE, OVERFLOW_ROUTE, type RouteNamer } from './routes.js';
import { responseBodySizes, valueText } from './sizes.js';
import type { StatsAddon, StatsCore } from './stats-addon.js';
import { type ExchangeSink, ROUND_STARTS, type TrackerCounters, type TrackerOptions } from './tracker.js';
import { hostText, wireText } from './wire-text.js';

/** Messages per native call. */
const BATCH = 1024;
const REC_INTS = 6;
const JOB_INTS = 8;
const TALLY = 13;
/** Tallies per copy out of the core. */
const OUT_TALLIES = 2048;
/** Live route (or host) indexes before unused ones are reclaimed. */
const TABLE_MAX = 1 << 14;
const NS = 1_000_000_000n;
/** Added to a marked message's type in `metas` (stats_core.cc kMarkedType). */
const MARKED_TYPE = 256;

/** Strings by index, reusing the indexes of dropped ones. The first indexes are reserved for `reserved`. */
class NameTable {
  names: (string | null)[];
  private readonly index = new Map<string, number>();
  private readonly free: number[] = [];

  constructor(private readonly reserved: readonly string[]) {
    this.names = [...reserved];
    for (const [i, name] of reserved.entries()) this.index.set(name, i);
  }

  get live(): number {
    return this.names.length - this.free.length;
  }

  indexOf(name: string): number {
    const found = this.index.get(name);
    if (found !== undefined) return found;
    const i = this.free.length > 0 ? this.free.pop()! : this.names.length;
    this.names[i] = name;
    this.index.set(name, i);
    return i;
  }

  /** Drops every name whose index is not marked (the reserved ones stay). */
  keep(marks: Uint8Array): void {
    for (let i = this.reserved.length; i < this.names.length; i++) {
      const name = this.names[i];
      if (name === null || name === undefined || marks[i] === 1) continue;
      this.index.delete(name);
      this.names[i] = null;
      this.free.push(i);
    }
  }
}

export class NativeTracker {
  private readonly core: StatsCore;
  private buffers: Buffer[] = [];
  private lastBuffer: Buffer | undefined;
  private ids = Buffer.alloc(BATCH * 32);
  private idsUsed = 0;
  private readonly recs = new Int32Array(BATCH * REC_INTS);
  private readonly metas = new Float64Array(BATCH * 4);
  /** The time of each batched message: the batch's (stamp(), once per batch; see the diagram). */
  private readonly times = new Float64Array(BATCH);
  private readonly jobs = new Int32Array(BATCH * 2 * JOB_INTS);
  private readonly answers = new Float64Array(BATCH * 2);
  private readonly out = new Float64Array(OUT_TALLIES * TALLY);
  /**
   * The core's counters (see stats_core.cc counters()): 9 counts, then ROUND_STARTS round starts (-1: none), then
   * replayed_responses_cut and marked_incomplete.
   */
  private readonly counts = new Float64Array(9 + ROUND_STARTS + 2);
  private n = 0;
  // Index 0: responses without request, and no host; 1: the overflow bucket (stats_core.cc counts on both).
  private readonly routeNames = new NameTable([NO_REQUEST_ROUTE, OVERFLOW_ROUTE]);
  private readonly hostNames = new NameTable(['', OVERFLOW_ROUTE]);
  private readonly tally: Tally = emptyTally();

  constructor(
    addon: StatsAddon,
    private readonly routes: RouteNamer,
    private readonly sink: ExchangeSink,
    options: TrackerOptions = {},
    /** The wall clock when the sink uses it, else anything (called once per batch). */
    private readonly stamp: () => number = () => 0,
  ) {
    const responses = options.responses === 'original' ? 1 : options.responses === 'replayed' ? 2 : 0;
    this.core = new addon.StatsCore(
      options.maxPending ?? 100_000,
      options.pendingTimeoutMs ?? 60_000,
      options.preferReplayed ?? false,
      responses,
      !routes.hasRules,
      options.latestReplayed ?? false,
    );
  }

  get counters(): TrackerCounters {
    this.sync();
    const c = this.counts;
    this.core.counters(c);
    return {
      no_response: c[0]!,
      responses_without_request: c[1]!,
      original_responses_replaced: c[2]!,
      interim_responses: c[3]!,
      duplicate_responses: c[4]!,
      not_http: c[5]!,
      earlier_replay_responses: c[7]!,
      repeated_rounds: c[8]!,
      replayed_responses_cut: c[9 + ROUND_STARTS]!,
      marked_incomplete: c[10 + ROUND_STARTS]!,
    };
  }

  /** Message numbers (from 0) where a new round started (tracker.ts roundStarts). */
  get roundStarts(): number[] {
    this.sync();
    const c = this.counts;
    this.core.counters(c);
    const out: number[] = [];
    for (let k = 9; k < 9 + ROUND_STARTS && c[k]! >= 0; k++) out.push(c[k]!);
    return out;
  }

  get pendingCount(): number {
    this.sync();
    this.core.counters(this.counts);
    return this.counts[6]!;
  }

  observe(msg: Message): void {
    const raw = (msg as Partial<GorRecord>).rawBuf;
    const r = this.recs;
    const at = this.n * REC_INTS;
    if (raw !== undefined) {
      const a = (msg as GorRecord).rawStart!;
      const b = a + metaLength(msg);
      r[at] = 0;
      r[at + 1] = this.bufferIndex(raw);
      r[at + 2] = a;
      r[at + 3] = b;
      r[at + 4] = b + 1;
      r[at + 5] = b + 1 + payloadLength(msg);
    } else {
      const meta = msg.meta;
      const m = this.n * 4;
      // A message marked incomplete=REASON: its type plus MARKED_TYPE (stats_core.cc kMarkedType).
      const type = meta.type.length === 1 ? meta.type.charCodeAt(0) : 0;
      this.metas[m] = meta.extra.length > 0 && hasMark(meta.extra) ? type + MARKED_TYPE : type;
      const ts = meta.timestampNs;
      this.metas[m + 1] = Number(ts / NS);
      this.metas[m + 2] = Number(ts % NS);
      this.metas[m + 3] = meta.latencyNs === undefined ? Number.NaN : Number(meta.latencyNs);
      const id = meta.id;
      if (this.idsUsed + id.length > this.ids.length) {
        const grown = Buffer.alloc(Math.max(this.ids.length * 2, this.idsUsed + id.length));
        this.ids.copy(grown, 0, 0, this.idsUsed);
        this.ids = grown;
      }
      // latin1: an id is ASCII (hex) in practice; a record's id bytes are read the same way (meta-view.ts).
      const written = this.ids.write(id, this.idsUsed, 'latin1');
      r[at] = 1;
      r[at + 1] = this.bufferIndex(msg.data);
      r[at + 2] = this.idsUsed;
      r[at + 3] = this.idsUsed + written;
      r[at + 4] = 0;
      r[at + 5] = msg.data.length;
      this.idsUsed += written;
    }
    if (this.n === 0 && !this.turnEndSet) {
      this.turnEndSet = true;
      setImmediate(this.atTurnEnd);
    }
    if (++this.n === BATCH) this.process();
  }

  /** Whether a batch waits for the end of this event-loop turn (setImmediate, at most one at a time). */
  private turnEndSet = false;
  private readonly atTurnEnd = () => {
    this.turnEndSet = false;
    this.sync();
  };

  /** Processes what is batched: every read (snapshot, counters) sees every message observed so far. */
  sync(): void {
    if (this.n > 0) this.process();
  }

  /** End of input: every waiting request is answered with what it has. */
  flush(): void {
    this.sync();
    const at = this.stamp();
    this.drain(this.core.flush(this.out, at), at);
  }

  private bufferIndex(buf: Buffer): number {
    if (buf !== this.lastBuffer) {
      this.lastBuffer = buf;
      this.buffers.push(buf);
    }
    return this.buffers.length - 1;
  }

  private process(): void {
    this.times.fill(this.stamp(), 0, this.n);
    this.answer(this.core.prepare(this.buffers, this.ids, this.recs, this.metas, this.n, this.jobs, this.times));
    this.n = 0;
    this.idsUsed = 0;
    this.commit();
  }

  /**
   * Walks the `.gor` records of `chunk` from `from` in the core itself (stats_core.cc scanGor: no reader, no
   * record objects), batch after batch, until it needs more bytes or meets a record the JavaScript reader must
   * read. Returns [where it stopped, records taken, 1 when it needs more bytes (else 2)]; the array is reused.
   */
  scanGor(chunk: Buffer, from: number): Int32Array {
    this.sync();
    const state = this.scanState;
    let records = 0;
    for (;;) {
      this.times.fill(this.stamp());
      const count = this.core.scanGor(chunk, from, this.jobs, state, this.times);
      this.buffers = [chunk];
      this.answer(count);
      this.commit();
      records += state[1]!;
      from = state[0]!;
      if (state[2] !== 0) break;
    }
    state[1] = records;
    return state;
  }

  private readonly scanState = new Int32Array(3);

  /** Answers the core's `count` jobs (see stats_core.cc): route and host indexes, decoded sizes. */
  private answer(count: number): void {
    const buffers = this.buffers;
    const jobs = this.jobs;
    const answers = this.answers;
    for (let j = 0; j < count; j++) {
      const at = j * JOB_INTS;
      const rec = jobs[at]!;
      const what = jobs[at + 1]!;
      const buf = buffers[jobs[at + 2]!]!;
      const from = jobs[at + 3]!;
      const to = jobs[at + 4]!;
      // (Strings made here as tracker.ts makes them, wire-text.ts: the same routes and hosts either way.)
      if (what === 0) {
        answers[2 * rec] = this.routeNames.indexOf(this.routes.route(to > from ? wireText(buf, from, to) : '/'));
      } else if (what === 1) {
        const host = jobs[at + 7] === 0 ? hostText(buf, from, to) : wireText(buf, from, to);
        answers[2 * rec + 1] = this.hostNames.indexOf(host);
      } else {
        const encoding = valueText(buf, jobs[at + 5]!, jobs[at + 6]!).toLowerCase();
        answers[2 * rec] = responseBodySizes(buf, from, to, jobs[at + 7] === 1, encoding)[1];
      }
    }
  }

  /** Pairs and counts the prepared batch; its tallies go to the sink. */
  private commit(): void {
    // (The batch's buffers stay referenced until commit returns.)
    const count = this.core.commit(this.answers, this.out, this.times);
    this.buffers = [];
    this.lastBuffer = undefined;
    this.drain(count, 0);
    if (this.routeNames.live > TABLE_MAX || this.hostNames.live > TABLE_MAX) this.reclaim();
  }

  /** Hands `count` tallies of `out` to the sink, then any the core still holds (`atFlush`: their time at flush). */
  private drain(count: number, atFlush: number): void {
    const times = this.times;
    const o = this.out;
    const t = this.tally;
    const routes = this.routeNames.names;
    const hosts = this.hostNames.names;
    for (;;) {
      for (let i = 0; i < count; i++) {
        const at = i * TALLY;
        t.route = routes[o[at]!]!;
        t.host = hosts[o[at + 1]!]!;
        t.requestHeaderBytes = o[at + 2]!;
        t.requestBodyBytes = o[at + 3]!;
        t.responseHeaderBytes = o[at + 4]!;
        t.responseBodyBytes = o[at + 5]!;
        t.responseBodyDecodedBytes = o[at + 6]!;
        t.status = o[at + 7]!;
        t.latencyMs = o[at + 8]!;
        t.startMs = o[at + 9]!;
        t.responseMs = o[at + 11]!;
        t.responseEndMs = o[at + 12]!;
        const rec = o[at + 10]!;
        this.sink.add(t, undefined, rec >= 0 ? times[rec]! : atFlush);
      }
      if (count < OUT_TALLIES) return;
      count = this.core.take(o);
    }
  }

  /**
   * From now on the core adds exchanges up itself (aggregator.ts's rules, see stats_core.cc Aggregate) and hands
   * out tallies only while setTallies(true) (window() slices). Call before the first message.
   * `recentWindowMs`: the live rate's window, 0 for none.
   */
  aggregate(options: { routeLimit: number; hostLimit: number; seriesSlots: number; recentWindowMs: number }): void {
    this.core.aggregate(
      options.routeLimit,
      options.hostLimit,
      options.seriesSlots,
      Math.log(1.02),
      options.recentWindowMs,
      (ms) => SparseHistogram.bucketOf(ms),
    );
  }

  setTallies(on: boolean): void {
    this.sync();
    this.core.setTallies(on);
  }

  /** The core's totals, loaded into `into` (an empty Aggregator with the run's limits). */
  loadAggregate(into: Aggregator): Aggregator {
    this.sync();
    const routes = this.routeNames.names;
    const hosts = this.hostNames.names;
    into.load(
      this.core.aggregateState(),
      (i) => routes[i] ?? '',
      (i) => hosts[i] ?? '',
    );
    return into;
  }

  /** The live rate (recent-rate.ts perSecond()) kept by the core. */
  recentPerSecond(nowMs: number, sinceMs: number): number {
    this.sync();
    return this.core.recentPerSecond(nowMs, sinceMs);
  }

  /** Frees the route and host indexes no waiting request and no bucket of the core's totals holds. */
  private reclaim(): void {
    const routes = new Uint8Array(this.routeNames.names.length);
    const hosts = new Uint8Array(this.hostNames.names.length);
    this.core.usedIndexes(routes, hosts);
    this.routeNames.keep(routes);
    this.hostNames.keep(hosts);
  }
}
