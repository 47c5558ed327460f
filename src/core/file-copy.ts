/**
 * In-kernel copies of unchanged records, file to file (native/src/file_copy.cc, copy_file_range(2)).
 *
 *   input file ──read──▶ records (parsed as always) ──pipeline──▶ --output-file
 *        │                    └ origin: this file, offset, size          │ a run of records that are side by side
 *        └──────────────── copy_file_range: page cache → page cache ◀────┘ in their file becomes one span
 *
 * A `FileOrigin` is a file the input reads, opened a second time for copying. A record carries its origin
 * only while its bytes can be nothing but the file's bytes (`fileOriginOf` in gor-format.ts: a record made by
 * the reader itself, never handed out as a payload view, with the exact LF framing). Even then nothing is
 * taken on trust: each copy compares the file's stamp (device, inode, ctime, mtime) with the one taken when
 * the origin was opened, before and after copying, and the writer writes the record bytes it holds in memory
 * instead whenever the stamp differs, the kernel refuses (EXDEV, EINVAL, ENOSYS, …) or the file ends early.
 * ctime cannot be set by a program, and since Linux 6.13 a change right after a stat gets a fine-grained
 * ctime, so a rewrite of the file is seen; on older kernels a rewrite within the same clock tick as the
 * stamp could go unseen (the docs say so).
 *
 * The addon is optional: without it (not built, not Linux) or with TAPLINE_FILE_COPY=off, nothing has an
 * origin and every byte is written as before.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CopyResult {
  /** Size of the output when the copy started: where the span went. */
  outStart: number;
  copied: number;
  /** Why the copy stopped short (0: the source ended). */
  errno: number;
  /** 0 unchanged; 1 the source changed before (nothing copied); 2 it changed during the copy. */
  changed: number;
}

interface FileCopyAddon {
  stamp(fd: number): string;
  copySpan(
    inFd: number,
    inOffset: number,
    outFd: number,
    length: number,
    stamp: string,
    failErrno: number,
    failAfter: number,
    done: (r: CopyResult) => void,
  ): void;
}

/** Test hook, read once: `TAPLINE_TEST_COPY_FAIL=<errno number>[@<bytes>]` makes every copy fail after <bytes>. */
interface FailHook {
  errno: number;
  after: number;
}

let addon: FileCopyAddon | null | undefined;
let failHook: FailHook | undefined;

function load(): FileCopyAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  // Configuration by environment, like the capture addons' paths: an escape hatch and a test hook, not flags.
  const env = process.env;
  if (process.platform !== 'linux' || env.TAPLINE_FILE_COPY === 'off') return addon;
  const fail = /^(\d+)(?:@(\d+))?$/.exec(env.TAPLINE_TEST_COPY_FAIL ?? '');
  if (fail) failHook = { errno: Number(fail[1]), after: Number(fail[2] ?? 0) };
  // Next to the capture addon when TAPLINE_NATIVE_ADDON names it; else native/build (src/core/ and
  // dist/core/ are both two levels below the package root).
  const candidates = env.TAPLINE_NATIVE_ADDON
    ? [join(dirname(env.TAPLINE_NATIVE_ADDON), 'tapline_file_copy.node')]
    : ['Release', 'Debug'].map((b) =>
        fileURLToPath(new URL(`../../native/build/${b}/tapline_file_copy.node`, import.meta.url)),
      );
  const path = candidates.find((p) => existsSync(p));
  if (!path) return addon;
  try {
    addon = createRequire(import.meta.url)(path) as FileCopyAddon;
  } catch {
    addon = null; // an addon that does not load (built for another Node) only means: no in-kernel copies
  }
  return addon;
}

/** True when spans can be copied in the kernel here. */
export function fileCopyAvailable(): boolean {
  return load() !== null;
}

/** What one span copy did; `copied < length` or `changed` means the caller writes the bytes it holds. */
export interface SpanCopy {
  /** Where in the output the span starts. */
  outStart: number;
  copied: number;
  errno: number;
  /** The source changed before or during the copy: the copied bytes (if any) must be rewritten. */
  changed: boolean;
}

/**
 * An input file opened once more, for copying from. Reference-counted: the input holds one reference while it
 * reads the file, each pending span one more; the descriptor is closed when the last one is released, so a
 * copy never runs on a closed (or reused) descriptor.
 */
export class FileOrigin {
  private refs = 1;

  private constructor(
    readonly path: string,
    private fd: number,
    /** The file's stamp when opened; every copy checks it again. */
    readonly stamp: string,
  ) {}

  /**
   * Opens `path` for copying, or undefined (no addon, cannot open). `sameAs` is the stamp-less identity check:
   * the descriptor the input reads from must be the same file (dev and inode), else no origin.
   */
  static open(path: string, readerFd: number): FileOrigin | undefined {
    const native = load();
    if (!native) return undefined;
    let fd = -1;
    try {
      fd = openSync(path, 'r');
      const stamp = native.stamp(fd);
      const reader = native.stamp(readerFd);
      const identity = (s: string) => s.split(':', 2).join(':');
      if (identity(stamp) !== identity(reader)) throw new Error('the path names another file now');
      return new FileOrigin(path, fd, stamp);
    } catch {
      if (fd >= 0) closeSync(fd);
      return undefined;
    }
  }

  /** Takes a reference for a pending span; false once the descriptor is closed. */
  acquire(): boolean {
    if (this.refs === 0) return false;
    this.refs++;
    return true;
  }

  release(): void {
    if (this.refs === 0) return;
    if (--this.refs === 0) {
      const fd = this.fd;
      this.fd = -1;
      try {
        closeSync(fd);
      } catch {
        // already gone: nothing to release
      }
    }
  }

  /** Copies `[offset, offset + length)` of this file to the end of `outFd` (not O_APPEND). Needs a reference. */
  copyTo(outFd: number, offset: number, length: number): Promise<SpanCopy> {
    const native = load()!;
    return new Promise((resolve) => {
      native.copySpan(this.fd, offset, outFd, length, this.stamp, failHook?.errno ?? 0, failHook?.after ?? 0, (r) =>
        resolve({ outStart: r.outStart, copied: r.copied, errno: r.errno, changed: r.changed !== 0 }),
      );
    });
  }
}
