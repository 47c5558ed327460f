/**
 * One `--input-file` file: streamed in large chunks, split into records, and held in a read-ahead window
 * of `--input-file-read-depth` records ordered by timestamp (gor's per-file heap, spec §5.3; here a sorted window).
 *
 *   HandlePool ──positional reads (16 KiB growing to 1 MiB; full windows of plain files mapped, file-map.ts)
 *        ──▶ [gunzip for *.gz] ──▶ GorRecordReader
 *        ──records (views into the chunks)──▶ pending ──one in per one out──▶ window (sorted by ts, then arrival)
 *
 * Memory is bounded whatever the file size: a chunk is read only when the window needs a record and none is
 * pending. File descriptors are bounded too: a glob over thousands of chunk files keeps at most
 * `HandlePool.capacity` of them open, reopening a file where it left off when its turn comes.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { describeError } from '../core/errors.js';
import { captureFormatOf } from '../core/file-magic.js';
import {
  DeferredRecord,
  type GorRecord,
  GorRecordReader,
  messageKey,
  RawSpan,
  type RecordProblem,
  startsWithBom,
  UTF8_BOM,
} from '../core/gor-format.js';
import type { FileBytes } from '../core/plugin.js';
import { canMapFiles, mapFaults, mapWindow, prefetchWindow, releaseScan, viewFaulted } from './file-map.js';
import { FileRun, type RunSegment, SpanRange } from './file-run.js';
import { SequentialFile, type StreamKind } from './file-stream.js';
import { GZIP_REGION, recoverBeforeDamage } from './gzip-recover.js';

const FIRST_READ = 16 * 1024;
const MAX_READ = 1024 * 1024;
/**
 * With raw runs (enableRuns()), reads (views of the mapping) are larger: a run a read, so half the writes,
 * prefetches and wake-ups of the thread pool; 1.1 GiB copy, user CPU 0.7-0.9 s with 1 MiB, 0.5-0.6 s with 2 MiB
 * (4 MiB no better, and the RSS grows with it: MAPPED_KEEP reads stay mapped).
 */
const RUN_READ = 2 * MAX_READ;
/** gzip-recover.ts looks for the damage within one read of where zlib stopped. */
const GZIP_READ = GZIP_REGION;
/**
 * A record of a plain file bigger than this is not gathered from its chunks and then copied into one Buffer (twice
 * its size in memory, 2 GiB for gor's largest) but read again in one piece once its end is found. Tests lower it.
 */
export const fileSourceLimits = { deferAbove: 64 * 1024 * 1024 };
/** Full-size reads in flight while a chunk is parsed. */
const READ_AHEAD = 1;
/**
 * Mapped windows stay in this process's RSS until this many newer ones were handed on: far enough behind that
 * an output has written them (2 MiB in flight at most), so releasing them costs no page faults.
 */
const MAPPED_KEEP = 8;
/**
 * Bytes mapped at once; reads are views of it, their pages mapped on the thread pool (prefetchWindow). V8
 * counts every new Buffer's outside memory and collects garbage when it adds up: a Buffer per 1 MiB read (or
 * per 16 MiB map) cost ~55 extra scavenges and ~25 full collections on the 1.1 GiB bench file, one per GiB
 * costs 1 and 2 (~0.8 s less CPU). Mapping costs address space only, not memory.
 */
const MAP_WINDOW = 1024 * 1024 * 1024;
/** Fewer records than this in a raw run are not worth one: they go one by one. */
const MIN_RUN = 32;

/**
 * Keeps at most `capacity` files open; idle ones are closed least-recently-used first. When the process runs out
 * of descriptors all the same (a low `ulimit -n`; sockets, dashboard viewers holding them), the pool holds fewer
 * files from then on rather than failing the ones it cannot open (openFile()).
 */
export class HandlePool {
  private readonly entries = new Map<number, PoolEntry>();
  /** The `dev:ino` of each file when it was first opened. */
  private readonly identities = new Map<number, string>();
  /** Closes of evicted files still in progress: their descriptors are not free yet. */
  private readonly closing = new Set<Promise<void>>();
  /** Opens waiting for a change in the pool (openFile()). */
  private waiting: (() => void)[] = [];
  private closed = false;
  private limit: number;

  constructor(capacity = 64) {
    this.limit = capacity;
  }

  /** Files open at most (lowered when the process ran out of descriptors). */
  get capacity(): number {
    return this.limit;
  }

  get openCount(): number {
    return this.entries.size;
  }

  async acquire(id: number, path: string): Promise<FileHandle> {
    if (this.closed) throw new Error('input closed');
    let entry = this.entries.get(id);
    if (entry) {
      this.entries.delete(id); // re-insert: most recently used last
    } else {
      this.evictIdle(this.limit - 1);
      const made = { users: 0, state: 'opening' } as PoolEntry;
      made.handle = this.open(id, path, made);
      entry = made;
    }
    this.entries.set(id, entry);
    entry.users++;
    try {
      return await entry.handle;
    } catch (err) {
      if (this.entries.get(id) === entry) this.entries.delete(id);
      throw err;
    }
  }

  /**
   * A file is closed when idle and opened again by its name when its turn comes. If another file has been
   * renamed or moved over that name meanwhile (a log rotation), the open fails instead of reading on in the
   * other file from where this one was (gor holds every file open and reads the old one to its end). Both
   * identities come from fstat: stat by name and fstat need not agree on every file system (overlayfs).
   */
  private async open(id: number, path: string, entry: PoolEntry): Promise<FileHandle> {
    let handle: FileHandle;
    try {
      handle = await this.openFile(id, path, entry);
      entry.state = 'open';
    } catch (err) {
      entry.state = 'failed';
      throw err;
    } finally {
      this.wake(); // opens waiting on this one look again (openFile())
    }
    let identity: string;
    try {
      const st = await handle.stat({ bigint: true });
      identity = `${st.dev}:${st.ino}`;
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
    const first = this.identities.get(id);
    if (first === undefined) this.identities.set(id, identity);
    else if (first !== identity) {
      await handle.close().catch(() => {});
      throw new Error(
        'the file was replaced while it was read: its name now leads to another file (one renamed or moved ' +
          'over it, as a log rotation does)',
      );
    }
    return handle;
  }

  /**
   * open(2); when the process has no descriptor left (EMFILE, ENFILE: a low `ulimit -n`, or sockets holding
   * them), the pool keeps at most as many files as it has open now, and tries again once one of its own is
   * closed: an idle one at once, else when a read in progress or an open under way is over. Those files
   * failed with 'too many open files' (their records lost) where the pool could close its own. It gives up
   * only when none of its files is open or opening: the descriptors are held elsewhere.
   */
  private async openFile(id: number, path: string, entry: PoolEntry): Promise<FileHandle> {
    for (;;) {
      try {
        return await open(path, 'r');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'EMFILE' && code !== 'ENFILE') || this.closed) throw err;
        if (this.closing.size > 0) {
          await Promise.all(this.closing);
          continue;
        }
        const others = [...this.entries].filter(
          ([other, e]) => other !== id && (e.state === 'open' || e.state === 'opening'),
        );
        if (others.length === 0) throw err;
        this.limit = Math.max(1, Math.min(this.limit, others.length));
        const idle = others.find(([, e]) => e.state === 'open' && e.users === 0);
        if (idle !== undefined) {
          this.entries.delete(idle[0]);
          this.closeEntry(idle[1]);
          continue;
        }
        entry.state = 'waiting';
        await new Promise<void>((resolve) => this.waiting.push(resolve));
        entry.state = 'opening';
      }
    }
  }

  release(id: number): void {
    const entry = this.entries.get(id);
    if (entry) entry.users--;
    this.wake();
  }

  /** The file is finished: close its handle now. */
  forget(id: number): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.closeEntry(entry);
  }

  closeAll(): void {
    this.closed = true;
    for (const entry of this.entries.values()) this.closeEntry(entry);
    this.entries.clear();
    this.wake();
  }

  /** Closes a file taken out of the pool; its descriptor counts as held until the close is done. */
  private closeEntry(entry: PoolEntry): void {
    const done: Promise<void> = entry.handle
      .then(
        (h) => h.close(),
        () => {},
      )
      .catch(() => {})
      .finally(() => {
        this.closing.delete(done);
        this.wake();
      });
    this.closing.add(done);
  }

  private wake(): void {
    if (this.waiting.length === 0) return;
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  private evictIdle(keep: number): void {
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= keep) return;
      if (entry.users > 0) continue;
      this.entries.delete(id);
      this.closeEntry(entry);
    }
  }
}

interface PoolEntry {
  handle: Promise<FileHandle>;
  users: number;
  /** Being opened; open; failed (it leaves the pool); out of descriptors, waiting to try again (openFile()). */
  state: 'opening' | 'open' | 'failed' | 'waiting';
}

export interface SourceHooks {
  /** A record problem (malformed, unterminated, …) found by the reader. */
  problem(p: RecordProblem, source: FileSource): void;
  /** The file could not be read to its end (read error, truncated gzip). */
  readError(err: unknown, source: FileSource, droppedBytes: number): void;
  /** Raw bytes read from disk (compressed bytes for .gz). */
  rawBytes(n: number): void;
}

/**
 * The read-ahead window: records sorted by (key, arrival), smallest first. Recorded traffic is almost always
 * in order, so a new record usually goes at the end after one comparison; an out-of-order one is inserted in
 * place (the window is small). Same order as gor's heap, with ties kept in file order.
 *
 * A ring over two fixed arrays (doubled when full): a record passes through it with two stores and no
 * allocation. The arrays that grew with push() and were cut with slice() every 1,024 records cost array
 * growth and write barriers on the hottest path of a file replay (docs/benchmarks.md, `file`).
 */
export class SortedWindow<T> {
  private items: (T | undefined)[] = new Array(128).fill(undefined);
  private keys = new Float64Array(128);
  private mask = 127;
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  peek(): T | undefined {
    return this.count > 0 ? this.items[this.head] : undefined;
  }

  peekKey(): number | undefined {
    return this.count > 0 ? this.keys[this.head] : undefined;
  }

  /** The largest key (the last in order). */
  lastKey(): number | undefined {
    return this.count > 0 ? this.keys[(this.head + this.count - 1) & this.mask] : undefined;
  }

  push(item: T, key: number): void {
    if (this.count === this.items.length) this.grow();
    const { items, keys, mask, head } = this;
    // Logical position: after every record whose key is not greater (ties stay in arrival order).
    let i = this.count;
    while (i > 0 && keys[(head + i - 1) & mask]! > key) i--;
    for (let j = this.count; j > i; j--) {
      const to = (head + j) & mask;
      const from = (head + j - 1) & mask;
      items[to] = items[from];
      keys[to] = keys[from]!;
    }
    const at = (head + i) & mask;
    items[at] = item;
    keys[at] = key;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // the window no longer keeps the record alive
    this.head = (this.head + 1) & this.mask;
    this.count--;
    return item;
  }

  private grow(): void {
    const size = this.items.length * 2;
    const items: (T | undefined)[] = new Array(size).fill(undefined);
    const keys = new Float64Array(size);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & this.mask;
      items[i] = this.items[from];
      keys[i] = this.keys[from]!;
    }
    this.items = items;
    this.keys = keys;
    this.mask = size - 1;
    this.head = 0;
  }
}

/**
 * Raw runs (enableRuns(), for `|max` copies; core/plugin.ts): the reader hands over RawSpans, and takeRun()
 * moves records in bulk when the window cannot change their order. The window works on keys alone: a record
 * goes in after every key not greater, and the smallest comes out. So when the next records, in file order,
 * each have a key at least as large as every key before them (window included), taking one and entering
 * one at a time hands out the window as it is, then those records in file order, keeping the last `depth`
 * of them in the window. takeRun() does exactly that in one step, and keeps those last `depth` records as
 * `held` segments (the window's content, without objects) until either the next run takes them along or a
 * record-by-record call (head(), take(), fill()) needs them as objects in the window.
 *
 *   pending (records and spans) ──takeRun──▶ FileRun [window or held, then records] + held (the last depth)
 *                               ──take────▶ window (held entered first) ──▶ one record
 */
export class FileSource {
  private readonly window = new SortedWindow<GorRecord>();
  private pending: (GorRecord | RawSpan)[] = [];
  private pendingAt = 0;
  /** Next record of `pending[pendingAt]` when it is a span. */
  private spanAt = 0;
  private runs = false;
  /** The window's content as segments, when the last raw run left it so (the real window is then empty). */
  private held: RunSegment[] | undefined;
  private heldCount = 0;
  /** The largest ordering key among the held records, and `lastKey` before the first of them. */
  private heldMaxKey = 0;
  private heldLastKeyBefore = 0;
  /** Ordering key for records with a bad timestamp: the last good one of this file (keeps them in place). */
  private lastKey = 0;
  private readonly reader: GorRecordReader;
  private chunks: AsyncIterator<Buffer> | undefined;
  private gunzip: ReturnType<typeof createGunzip> | undefined;
  /** The damaged byte of a .gz, when decoding it again found it (gzip-recover.ts). */
  private damageAt: number | undefined;
  /**
   * Where a read error happened, for its warning: the decompressed byte, and for gzip the compressed bytes
   * zlib had taken by then (the damage is near that byte of the file).
   */
  get readErrorAt(): string {
    if (!this.gzip) return `byte ${this.pushed}`;
    const taken = this.damageAt ?? this.gunzip?.bytesWritten;
    return `byte ${this.pushed} of the decompressed data${taken !== undefined ? `, near byte ${taken} of the file` : ''}`;
  }

  /** Decompressed bytes pushed into the reader, and where the last complete record ended. */
  private pushed = 0;
  private parsedEnd = 0;
  private exhausted = false;
  /** Full-size windows of a plain file are mapped, not read, until a map fails. */
  private mapping: boolean;
  /** Mapped views handed out lately, oldest first. */
  private views: Buffer[] = [];
  /** The last MAP_WINDOW mapped: `[at, end)` of the file. */
  private mapped: { at: number; end: number; buf: Promise<Buffer> } | undefined;
  /** The last two mappings (raw runs may hold records of the one before), and the file's `dev:ino`. */
  private maps: { at: number; mem: Buffer }[] = [];
  private fileId: string | undefined;
  /** A pipe, FIFO, socket or device (readSequentially()): read in order, never through the pool. */
  private stream: SequentialFile | undefined;
  /** The window must be refilled before this file's head can be compared with the others. */
  needsFill = true;
  /** Records this file produced. */
  records = 0;
  /** Records parsed so far (produced, or still waiting in the window): all of them will be produced. */
  parsedRecords = 0;
  /** A plain file (no .gz name) whose first bytes are gzip's magic: its problems get a hint. */
  startsLikeGzip = false;

  constructor(
    readonly path: string,
    readonly index: number,
    private readonly depth: number,
    private readonly pool: HandlePool,
    private readonly hooks: SourceHooks,
    private readonly size = 0,
    /** Map full-size windows when the addon is there (file-map.ts: for `|max` replays only). */
    map = false,
  ) {
    this.mapping = map && canMapFiles();
    this.reader = new GorRecordReader((p) => hooks.problem(p, this));
    // A plain file's bytes can be read again: a big record is read once it is whole, not held twice.
    if (!this.gzip) this.reader.deferRecordsAbove(fileSourceLimits.deferAbove);
  }

  get gzip(): boolean {
    return this.path.endsWith('.gz');
  }

  /** The record this file offers next (smallest in its window). */
  head(): GorRecord | undefined {
    this.unhold();
    return this.window.peek();
  }

  headKey(): number {
    this.unhold();
    return this.window.peekKey() ?? 0;
  }

  /** Reads until the window holds `depth` records or the file ends. */
  async fill(): Promise<void> {
    this.unhold();
    while (this.window.size < this.depth) {
      const rec = this.nextPending();
      if (rec !== undefined) {
        this.enter(rec);
        continue;
      }
      if (this.exhausted) break;
      await this.readMore();
    }
    this.needsFill = false;
  }

  /** Removes the head; call fill() afterwards when `needsFill` is set. */
  take(): GorRecord {
    this.unhold();
    const rec = this.window.shift()!;
    const next = this.nextPending();
    if (next !== undefined) this.enter(next);
    else if (!this.exhausted) this.needsFill = true;
    this.records++;
    return rec;
  }

  get done(): boolean {
    return this.exhausted && this.window.size === 0 && this.held === undefined && !this.hasPending;
  }

  /** Let the reader hand over spans and takeRun() make raw runs (before the first fill()). */
  enableRuns(): void {
    this.runs = true;
  }

  /** Not a regular file (file-stream.ts): opened once and read in order, never mapped nor read at a position. */
  readSequentially(kind: StreamKind): void {
    this.stream = new SequentialFile(this.path, kind);
    this.mapping = false;
    this.reader.deferRecordsAbove(Number.POSITIVE_INFINITY); // a big record cannot be read again: it is held
  }

  /** readSequentially() was called. */
  get sequential(): boolean {
    return this.stream !== undefined;
  }

  /** Records read and waiting in the window to be taken (none taken from it yet at the start). */
  get waiting(): number {
    return this.held !== undefined ? this.heldCount : this.window.size;
  }

  /**
   * The next records as one raw run, when the window cannot reorder them and there are at least MIN_RUN
   * (see the class comment); undefined otherwise (then take() goes on one by one). Reads the next chunk
   * first when nothing is pending. Counts the run's records in `records`.
   */
  async takeRun(): Promise<FileRun | undefined> {
    if (!this.runs) return undefined;
    while (!this.hasPending && !this.exhausted) await this.readMore();
    const windowSize = this.held !== undefined ? this.heldCount : this.window.size;
    if (windowSize === 0) return undefined;
    if (!this.hasPending) return this.exhausted ? this.runOf(0, 0, false) : undefined; // the window empties in order
    if (windowSize !== this.depth) return undefined;
    for (;;) {
      const run = this.tryRun();
      if (run !== 'short') return run;
      // Too few records pending to tell (small reads at the start of a file): read on, keeping them.
      await this.readMore();
    }
  }

  /** takeRun() on what is pending: a run, undefined when there is none, 'short' when reading on may make one. */
  private tryRun(): FileRun | undefined | 'short' {
    // How many pending records, in file order, have non-decreasing ordering keys from the window's largest on.
    let maxKey = this.held !== undefined ? this.heldMaxKey : this.window.lastKey()!;
    let lastKey = this.lastKey;
    let sorted = 0;
    let left = 0; // pending records in all
    let broken = false;
    for (let p = this.pendingAt, from = this.spanAt; p < this.pending.length; p++, from = 0) {
      const item = this.pending[p]!;
      if (item instanceof RawSpan) {
        const keys = item.keys;
        left += keys.length - from;
        for (let i = from; i < keys.length && !broken; i++) {
          const key = keys[i]!;
          const stored = Number.isNaN(key) ? lastKey : key; // NaN: stays behind the last good one (enter())
          if (!(stored >= maxKey)) broken = true;
          else {
            maxKey = stored;
            lastKey = stored;
            sorted++;
          }
        }
      } else {
        left++;
        if (broken) continue;
        const key = messageKey(item);
        const stored = Number.isNaN(key) ? lastKey : key;
        if (!(stored >= maxKey)) broken = true;
        else {
          maxKey = stored;
          lastKey = stored;
          sorted++;
        }
      }
    }
    // At the end of the file the window empties in order: nothing needs holding back.
    const all = this.exhausted && sorted === left;
    const emit = all ? sorted : sorted - this.depth;
    if (emit < (all ? 1 : MIN_RUN)) return broken || this.exhausted ? undefined : 'short';
    return this.runOf(emit, maxKey, !all);
  }

  /**
   * The window (or the held records), then the next `emit` pending records, as a run; with `hold`, the
   * `depth` pending records after them become the held window, `maxKey` being the largest of their keys.
   */
  private runOf(emit: number, maxKey: number, hold: boolean): FileRun {
    const segments: RunSegment[] = [];
    if (this.held !== undefined) segments.push(...this.held);
    else while (this.window.size > 0) segments.push(this.window.shift()!);
    this.held = undefined;
    this.heldCount = 0;
    const fromPending = segments.length;
    this.takePending(emit, segments);
    let lastKey = this.lastKey;
    if (hold) {
      // The last `depth` sorted records stay in the window, as segments.
      this.heldLastKeyBefore = this.lastKeyAfter(segments, fromPending);
      this.held = [];
      this.takePending(this.depth, this.held);
      this.heldCount = this.depth;
      this.heldMaxKey = maxKey;
      lastKey = this.lastKeyAfter(this.held, 0, this.heldLastKeyBefore);
    } else {
      lastKey = this.lastKeyAfter(segments, fromPending);
    }
    this.lastKey = lastKey;
    const run = new FileRun(segments, this.fileId !== undefined ? this.locate : undefined);
    this.records += run.count;
    return run;
  }

  destroy(): void {
    this.held = undefined;
    this.heldCount = 0;
    this.exhausted = true;
    this.gunzip?.destroy();
    this.stream?.close();
    this.mapped = undefined;
    this.maps = [];
    this.views = [];
    this.pool.forget(this.index);
  }

  /** Where a view of one of the last mappings is in the file. */
  private readonly locate = (part: Buffer): FileBytes | undefined => {
    for (const m of this.maps) {
      const from = part.byteOffset - m.mem.byteOffset;
      if (part.buffer === m.mem.buffer && from >= 0 && from + part.length <= m.mem.length)
        return { path: this.path, id: this.fileId!, offset: m.at + from };
    }
    return undefined;
  };

  private get hasPending(): boolean {
    return this.pendingAt < this.pending.length;
  }

  /** The next pending record (made from its span if need be), or undefined. */
  private nextPending(): GorRecord | undefined {
    if (this.pendingAt >= this.pending.length) return undefined;
    const item = this.pending[this.pendingAt]!;
    if (!(item instanceof RawSpan)) {
      this.pendingAt++;
      return item;
    }
    const rec = item.record(this.spanAt++);
    if (this.spanAt === item.count) {
      this.pendingAt++;
      this.spanAt = 0;
    }
    return rec;
  }

  /** Moves the next `n` pending records to `out` as segments. */
  private takePending(n: number, out: RunSegment[]): void {
    while (n > 0) {
      const item = this.pending[this.pendingAt]!;
      if (item instanceof RawSpan) {
        const take = Math.min(n, item.count - this.spanAt);
        out.push(new SpanRange(item, this.spanAt, this.spanAt + take));
        this.spanAt += take;
        n -= take;
        if (this.spanAt === item.count) {
          this.pendingAt++;
          this.spanAt = 0;
        }
      } else {
        out.push(item);
        this.pendingAt++;
        n--;
      }
    }
  }

  /** `lastKey` once the pending records among `segments` (from index `from` on) have entered the window. */
  private lastKeyAfter(segments: readonly RunSegment[], from: number, start = this.lastKey): number {
    // The last key that is a number wins: search from the end (nearly always the very last record).
    for (let s = segments.length - 1; s >= from; s--) {
      const seg = segments[s]!;
      if (seg instanceof SpanRange) {
        const keys = seg.span.keys;
        for (let i = seg.to - 1; i >= seg.from; i--) if (!Number.isNaN(keys[i]!)) return keys[i]!;
      } else {
        const key = messageKey(seg);
        if (!Number.isNaN(key)) return key;
      }
    }
    return start;
  }

  /** Puts held records into the window as objects, as if they had entered one by one. */
  private unhold(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    this.heldCount = 0;
    this.lastKey = this.heldLastKeyBefore;
    for (const seg of held) {
      if (seg instanceof SpanRange) for (let i = seg.from; i < seg.to; i++) this.enter(seg.span.record(i));
      else this.enter(seg);
    }
  }

  private enter(rec: GorRecord): void {
    // Ordering uses the timestamp as a double (no BigInt per record); records within ~256 ns of each other
    // keep file order. A record whose timestamp is not a number stays behind the last good one.
    const key = messageKey(rec);
    if (!Number.isNaN(key)) this.lastKey = key;
    this.window.push(rec, this.lastKey);
  }

  private async readMore(): Promise<void> {
    this.chunks ??= this.gzip ? this.gunzipChunks() : this.plainChunks(this.runs ? RUN_READ : MAX_READ);
    let step: IteratorResult<Buffer>;
    try {
      step = await this.chunks.next();
    } catch (err) {
      this.exhausted = true;
      this.pool.forget(this.index);
      this.hooks.readError(err, this, this.pushed - this.parsedEnd);
      return;
    }
    if (step.done) {
      this.exhausted = true;
      this.pool.forget(this.index);
      const records = this.reader.end();
      this.setPending(this.reader.deferred ? await this.readDeferred(records) : records);
      return;
    }
    if (this.pushed === 0) {
      const capture = captureFormatOf(step.value);
      if (capture !== undefined) {
        // Never a .gor file (read leniently, as gor does, it came out as one huge record of junk).
        releaseScan(step.value);
        this.exhausted = true;
        this.pool.forget(this.index);
        const how = `read it with --input-raw ${this.path}:PORT --input-raw-engine pcap_file, or tapline report`;
        this.hooks.readError(new Error(`it is a ${capture} capture, not a .gor file: ${how}`), this, 0);
        return;
      }
      if (!this.gzip) this.startsLikeGzip = step.value[0] === 0x1f && step.value[1] === 0x8b;
    }
    this.pushed += step.value.length;
    if (this.pushed === step.value.length && startsWithBom(step.value)) {
      // An editor's or a Windows tool's mark, not a byte of a record: gor reads it into the first record's type
      // ("\uFEFF1"), so that --output-http did not send that request, in silence.
      this.hooks.problem(
        {
          kind: 'bom',
          record: 1,
          offset: 0,
          skipped: false,
          message:
            'the file starts with a UTF-8 byte order mark (EF BB BF), written by an editor or a Windows tool ' +
            "(Notepad, PowerShell's Out-File): skipped, the first record is read from the byte after it (gor reads " +
            "it into the record's type, so --output-http does not send that record)",
        },
        this,
      );
      this.reader.skipStart(UTF8_BOM.length);
      step = { done: false, value: step.value.subarray(UTF8_BOM.length) };
    }
    const faultsBefore = this.mapping ? mapFaults() : 0;
    let records = this.runs ? this.reader.pushItems(step.value) : this.reader.push(step.value);
    releaseScan(step.value);
    if (this.reader.deferred) records = await this.readDeferred(records);
    if (this.mapping && (mapFaults() !== faultsBefore || viewFaulted(step.value))) {
      // Pages of this window vanished while it was parsed: another process truncated the file. Its records
      // may hold the zeros put in their place, so none of them is used.
      this.exhausted = true;
      this.pool.forget(this.index);
      const err = new Error('the file was truncated by another process while it was read');
      this.hooks.readError(err, this, this.pushed - this.parsedEnd);
      return;
    }
    this.setPending(records);
  }

  /**
   * The big records the reader did not hold (fileSourceLimits.deferAbove), read from the file now that their
   * ends are known: one Buffer each, the only copy. A file cut shorter meanwhile gives what it holds, which the
   * reader then finds malformed or cut.
   */
  private async readDeferred(items: (GorRecord | RawSpan)[]): Promise<(GorRecord | RawSpan)[]> {
    const out: (GorRecord | RawSpan)[] = [];
    for (const item of items as (GorRecord | RawSpan | DeferredRecord)[]) {
      if (!(item instanceof DeferredRecord)) {
        out.push(item);
        continue;
      }
      const record = this.reader.materialize(item, await this.readAt(item.offset, item.size));
      if (record) out.push(record);
    }
    return out;
  }

  /** The records of the chunk just read follow those still pending (takeRun() may read before they are used). */
  private setPending(records: (GorRecord | RawSpan)[]): void {
    for (const r of records) this.parsedRecords += r instanceof RawSpan ? r.count : 1;
    if (this.hasPending) {
      this.pending = this.pending.slice(this.pendingAt).concat(records);
      this.pendingAt = 0; // spanAt still counts in the same span, now first
    } else {
      this.pending = records;
      this.pendingAt = 0;
      this.spanAt = 0;
    }
    const last = records[records.length - 1];
    if (last instanceof RawSpan) this.parsedEnd = last.offsetOf(last.count - 1) + last.sizeOf(last.count - 1);
    else if (last) this.parsedEnd = last.offset + last.size;
  }

  /**
   * Positional reads through the pool. Read sizes grow (16 KiB → 1 MiB) so that the idle files of a big glob
   * stay small; once a file reads at full size, the next READ_AHEAD chunks are read while this one is parsed.
   */
  private async *plainChunks(maxRead: number): AsyncGenerator<Buffer> {
    if (this.stream !== undefined) {
      for await (const buf of this.stream.chunks()) {
        this.hooks.rawBytes(buf.length);
        yield buf;
      }
      return;
    }
    let next = 0; // where the next read starts
    let want = Math.min(FIRST_READ, maxRead);
    const ahead: { at: number; size: number; buf: Promise<Buffer> }[] = [];
    const issue = () => {
      const left = this.size - next;
      const size = left > 0 ? Math.min(want, left) : FIRST_READ; // past the size seen at start: probe for growth
      const map = this.mapping && !this.gzip && want === maxRead && left > 0;
      const buf = map ? this.mapAt(next, size) : this.readAt(next, size);
      buf.catch(() => {}); // a failure is seen when it is awaited
      ahead.push({ at: next, size, buf });
      next += size;
    };
    try {
      for (;;) {
        if (ahead.length === 0) issue();
        const read = ahead.shift()!;
        const buf = await read.buf;
        if (buf.length === 0) {
          // The end came before the size the file had when the pass began: another process cut it (a
          // truncation, copytruncate's rotation). What it held past here is lost; gor ends the file in silence.
          if (read.at < this.size) {
            throw new Error(
              `the file was truncated by another process while it was read: it held ${this.size} bytes when ` +
                'the replay started',
            );
          }
          return;
        }
        this.hooks.rawBytes(buf.length);
        if (buf.length < read.size) {
          // The file is shorter than when it was opened: what was read past this point is not there.
          for (const a of ahead.splice(0)) await a.buf.catch(() => {});
          next = read.at + buf.length;
        }
        want = Math.min(want * 4, maxRead);
        if (want === maxRead) while (ahead.length < READ_AHEAD && next < this.size) issue();
        yield buf;
      }
    } finally {
      for (const a of ahead) await a.buf.catch(() => {});
    }
  }

  private async readAt(position: number, size: number): Promise<Buffer> {
    // A pipe's bytes cannot be read again (gzip-recover.ts asks so after damage; opening a FIFO again waits).
    if (this.stream !== undefined) throw new Error(`${this.path} is not a regular file: it cannot be read again`);
    const buf = Buffer.allocUnsafeSlow(size);
    const handle = await this.pool.acquire(this.index, this.path);
    try {
      const { bytesRead } = await handle.read(buf, 0, size, position);
      return bytesRead === size ? buf : buf.subarray(0, bytesRead);
    } finally {
      this.pool.release(this.index);
    }
  }

  /**
   * `[position, position + size)` as a view of a mapped window, or read when the file cannot be mapped (then
   * the rest of the file is read too). Shorter when the file ends sooner.
   */
  private async mapAt(position: number, size: number): Promise<Buffer> {
    let win = this.mapped;
    if (win === undefined || position < win.at || position + size > win.end) {
      const end = position + Math.max(size, Math.min(MAP_WINDOW, this.size - position));
      win = { at: position, end, buf: this.mapRange(position, end - position) };
      win.buf.catch(() => {}); // seen below
      this.mapped = win;
    }
    try {
      const buf = await win.buf;
      if (this.maps[this.maps.length - 1]?.mem !== buf) {
        this.maps.push({ at: win.at, mem: buf });
        if (this.maps.length > 2) this.maps.shift();
      }
      const from = Math.min(position - win.at, buf.length);
      const view = buf.subarray(from, Math.min(from + size, buf.length));
      // Views handed out: the oldest, MAPPED_KEEP behind the one parsed now, leaves the RSS on the thread pool.
      this.views.push(view);
      const old = this.views.length > MAPPED_KEEP + READ_AHEAD + 1 ? this.views.shift() : undefined;
      // Scanned ahead on the thread pool from the file's first byte, or from after the view's first separator.
      return await prefetchWindow(view, old, position === 0 ? 0 : -1);
    } catch {
      this.mapping = false;
      this.mapped = undefined;
      return this.readAt(position, size);
    }
  }

  private async mapRange(position: number, size: number): Promise<Buffer> {
    const handle = await this.pool.acquire(this.index, this.path);
    try {
      if (this.runs && this.fileId === undefined) {
        const st = await handle.stat({ bigint: true });
        this.fileId = `${st.dev}:${st.ino}`;
      }
      return await mapWindow(handle.fd, position, size);
    } finally {
      this.pool.release(this.index);
    }
  }

  private async *gunzipChunks(): AsyncGenerator<Buffer> {
    const raw = Readable.from(this.plainChunks(GZIP_READ), { objectMode: false, highWaterMark: GZIP_READ });
    const gunzip = createGunzip({ chunkSize: 64 * 1024 });
    this.gunzip = gunzip;
    pipeline(raw, gunzip, () => {}); // errors reach the iterator below
    let yielded = 0;
    try {
      for await (const chunk of gunzip) {
        yielded += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    } catch (err) {
      // Damaged data: zlib dropped what its failing call had decoded, records whole before the damage.
      if ((err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR') {
        const read = (position: number, size: number) => this.readAt(position, size);
        const recovered = await recoverBeforeDamage(read, gunzip.bytesWritten, yielded).catch(() => undefined);
        if (recovered) {
          this.damageAt = recovered.damageAt;
          if (recovered.bytes.length > 0) yield recovered.bytes;
        }
      }
      throw err;
    }
  }
}

/** A read error in words: `unexpected end of file` for a truncated gzip, the errno otherwise. */
export function describeReadError(err: unknown, gzip: boolean): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (gzip && (code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(String((err as Error).message)))) {
    return 'the gzip stream is truncated';
  }
  if (gzip && (code === 'Z_DATA_ERROR' || code === 'Z_STREAM_ERROR'))
    return `not valid gzip data (${describeError(err)})`;
  if (code === 'EISDIR') return 'it is a directory';
  return describeError(err);
}
