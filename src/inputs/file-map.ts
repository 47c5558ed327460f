/**
 * Memory-mapped reads of plain `.gor` files (native/src/file_map.cc), used by FileSource when the addon is
 * built. A window of the file is mapped read-only from the page cache instead of being read into a fresh
 * buffer: the parse reads the page cache itself, and a copy to `--output-file` writes records straight from
 * it. The kernel then copies every byte once (like `cat`'s copy_file_range) instead of twice, and no fresh
 * memory is faulted in for the reads: a file copy measured half the kernel CPU time (docs/benchmarks.md).
 *
 *   FileSource ──map(fd, offset, length)──▶ thread pool: fstat, mmap(MAP_POPULATE) ──▶ Buffer over the mapping
 *        │ parse, hand records on                                     (unmapped when the Buffer is collected)
 *        └──release(window LAG windows back)──▶ madvise(DONTNEED): RSS stays bounded whatever the GC does;
 *                                               a later access faults the page cache back in, same bytes
 *
 * A file truncated by another process while mapped does not crash tapline: the addon's SIGBUS handler puts
 * zeros where the pages were and counts them (`faults()`); the source checks the count after parsing each
 * window and ends the file with a read error, dropping what was parsed from the window. A file rewritten in
 * place while it is replayed shows its new bytes to records not yet written (a read would have copied them
 * earlier); the docs say so. Without the addon (core/gor-format-native.ts) or with TAPLINE_FILE_MAP=off,
 * files are read as before.
 */
import { offerPreScan, type PreScan, takePreScan } from '../core/gor-format.js';
import { type FileAddon, fileAddon } from '../core/gor-format-native.js';

// Mapping has its own switch besides the addon's (TAPLINE_FILE_ADDON=off), to compare reads with maps.
let mapOff: boolean | undefined;
const load = () => {
  mapOff ??= process.env.TAPLINE_FILE_MAP === 'off';
  return mapOff ? null : fileAddon();
};

/** True when windows of plain files can be mapped. */
export function canMapFiles(): boolean {
  return load() !== null;
}

/** Maps `[offset, offset + length)` of the open file (shorter at the end of the file; empty past it). */
export function mapWindow(fd: number, offset: number, length: number): Promise<Buffer> {
  const mod = load();
  if (!mod) return Promise.reject(new Error('file mapping is not available'));
  return new Promise((resolve, reject) => {
    mod.map(fd, offset, length, (errno, buf) => {
      if (errno === 0) resolve(buf);
      else reject(Object.assign(new Error(`mmap failed (errno ${errno})`), { errno }));
    });
  });
}

/**
 * Maps the pages under a view of a mapped window on the thread pool (reading them from disk if need be), so
 * that parsing it neither faults nor blocks the main thread; drops the pages of `old` (a view parsed long
 * ago) there too. With `scanFrom`, the same job also scans the view into records (below). Never fails: at
 * worst the parse faults the pages in.
 */
export function prefetchWindow(view: Buffer, old?: Buffer, scanFrom?: number): Promise<Buffer> {
  const mod = load();
  if (!mod || view.length === 0) return Promise.resolve(view);
  if (scanFrom !== undefined && mod.prefetchScan && !scanOff)
    return prefetchAndScan(mod.prefetchScan, view, old, scanFrom);
  return new Promise((resolve) => mod.prefetch(view, old ?? null, () => resolve(view)));
}

/**
 * Scanning ahead: the thread-pool job that maps a view's pages in also splits it into records (from `scanFrom`,
 * or from after its first separator when -1: the record cut by the view's start is the reader's), and the
 * reader takes that scan in place of its own (core/gor-format.ts, offerPreScan). The main thread then neither
 * reads the view's bytes nor waits for them; a copy's main thread spent ~0.15 s of its ~0.5 s in that scan.
 * TAPLINE_FILE_PRESCAN=off scans on the main thread as before.
 *
 *   prefetchWindow(view, old, from) ─▶ thread pool: drop `old`, populate `view`, scan it into a free array set
 *        ◀─ view (+ offerPreScan) ───┘   reader.push(view) uses it ─▶ releaseScan(view): the set is free again
 *
 * A page lost to a truncation while the job scanned leaves zeros in the view: such a view is marked
 * (viewFaulted()) and the source ends the file with a read error, as when the main thread meets the fault.
 */
const scanOff = process.env.TAPLINE_FILE_PRESCAN === 'off';
/** Records per scan ahead: a 2 MiB view of ~250-byte records; the reader scans on where a scan stops. */
const PRESCAN_MAX = 8192;
const freeSets: { ints: Int32Array; keys: Float64Array }[] = [];
const faultedViews = new WeakSet<Buffer>();

type PrefetchScan = Required<FileAddon>['prefetchScan'];

function prefetchAndScan(run: PrefetchScan, view: Buffer, old: Buffer | undefined, from: number): Promise<Buffer> {
  const set = freeSets.pop() ?? { ints: new Int32Array(3 * PRESCAN_MAX + 1), keys: new Float64Array(PRESCAN_MAX) };
  return new Promise((resolve) =>
    run(view, old ?? null, set.ints, set.keys, from, (_errno, count, at, faulted) => {
      if (faulted) faultedViews.add(view);
      if (count >= 0 && !faulted) offerPreScan(view, { from: at, count, ints: set.ints, keys: set.keys });
      else freeSets.push(set);
      resolve(view);
    }),
  );
}

/** The reader is done with `view`: the arrays of its scan ahead go back to the free list. */
export function releaseScan(view: Buffer): void {
  const scan: PreScan | undefined = takePreScan(view);
  if (scan !== undefined && freeSets.length < 8) freeSets.push({ ints: scan.ints, keys: scan.keys });
}

/** True when a mapping lost pages while `view` was scanned ahead: its bytes may be zeros. */
export function viewFaulted(view: Buffer): boolean {
  return faultedViews.has(view);
}

/** Drops a mapped window's pages from this process; its bytes stay readable (faulted in again if touched). */
export function releaseWindow(buf: Buffer): void {
  load()?.release(buf);
}

/** Pages of mapped windows found cut off by a truncation so far (any file). */
export function mapFaults(): number {
  return load()?.faults() ?? 0;
}
