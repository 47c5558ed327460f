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
 * earlier); the docs say so. Without the addon (not built, not Linux) or with TAPLINE_FILE_MAP=off, files
 * are read as before.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface FileMapAddon {
  map(fd: number, offset: number, length: number, done: (errno: number, buf: Buffer) => void): void;
  release(buf: Buffer): number;
  faults(): number;
  abiVersion: number;
}

let addon: FileMapAddon | null | undefined;

function load(): FileMapAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  const env = process.env;
  if (process.platform !== 'linux' || env.TAPLINE_FILE_MAP === 'off') return addon;
  // Next to the capture addon when TAPLINE_NATIVE_ADDON names it; else native/build (src/inputs/ and
  // dist/inputs/ are both two levels below the package root).
  const candidates = env.TAPLINE_NATIVE_ADDON
    ? [join(dirname(env.TAPLINE_NATIVE_ADDON), 'tapline_file_map.node')]
    : ['Release', 'Debug'].map((b) =>
        fileURLToPath(new URL(`../../native/build/${b}/tapline_file_map.node`, import.meta.url)),
      );
  const path = candidates.find((p) => existsSync(p));
  if (!path) return addon;
  try {
    const mod = createRequire(import.meta.url)(path) as FileMapAddon;
    if (mod.abiVersion === 1) addon = mod;
  } catch {
    // An addon that does not load (built for another Node) only means: files are read, not mapped.
  }
  return addon;
}

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

/** Drops a mapped window's pages from this process; its bytes stay readable (faulted in again if touched). */
export function releaseWindow(buf: Buffer): void {
  load()?.release(buf);
}

/** Pages of mapped windows found cut off by a truncation so far (any file). */
export function mapFaults(): number {
  return load()?.faults() ?? 0;
}
