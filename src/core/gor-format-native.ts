/**
 * tapline's optional file addon (native/src/file_map.cc, file_scan.cc; built by scripts/build-native.mjs):
 * the `.gor` reader's record scanner, and the file mapping used by `--input-file` (inputs/file-map.ts).
 * Without it (not built, not Linux, built for another Node) or with TAPLINE_FILE_ADDON=off, everything
 * works the same in JavaScript, only slower.
 */

import { loadAddon } from './native-addon.js';

export interface FileAddon {
  /**
   * Splits `chunk` from `from` into records that need no decision (meta line that parses, payload, LF
   * separator), at most `keys.length`: ints[3i, 3i+1, 3i+2] = start, meta line end, payload end; keys[i] =
   * timestampKey(); ints[3 * keys.length] = where it stopped. Returns the count.
   */
  scanRecords(chunk: Buffer, from: number, ints: Int32Array, keys: Float64Array): number;
  map(fd: number, offset: number, length: number, done: (errno: number, buf: Buffer) => void): void;
  prefetch(view: Buffer, old: Buffer | null, done: (errno: number) => void): void;
  /**
   * prefetch(), then scanRecords() of the view on the same thread-pool thread, from `hint` (or, when -1, after
   * the view's first LF separator), into `ints`/`keys` (which must not be touched until `done`). `count` -1:
   * nothing scanned; `faulted`: a mapping lost pages meanwhile (the results must not be used). Missing from
   * builds before it.
   */
  prefetchScan?(
    view: Buffer,
    old: Buffer | null,
    ints: Int32Array,
    keys: Float64Array,
    hint: number,
    done: (errno: number, count: number, from: number, faulted: boolean) => void,
  ): void;
  release(buf: Buffer): number;
  faults(): number;
  /**
   * Copies `length` bytes of inFd from inOffset to the current end of outFd with copy_file_range(2), on the
   * thread pool (native/src/file_copy.cc); `copied` < `length` with errno 0 when the input ends sooner.
   * Missing from builds before it.
   */
  copyRange?(
    inFd: number,
    inOffset: number,
    outFd: number,
    length: number,
    done: (errno: number, copied: number) => void,
  ): void;
  /** A queue of copies for one output (native/src/file_copy.cc); missing from builds before it. */
  copyQueue?(): unknown;
  /** Queues a copy (as copyRange) behind those queued; false when the queue stopped or the arguments are bad. */
  copyQueueAdd?(
    queue: unknown,
    seq: number,
    inFd: number,
    inOffset: number,
    outFd: number,
    length: number,
    progress: (seq: number, errno: number, copied: number) => void,
  ): boolean;
  abiVersion: number;
}

const ABI_VERSION = 2;
let addon: FileAddon | null | undefined;

/** The addon, or null when it cannot be used. */
export function fileAddon(): FileAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  const env = process.env;
  if (process.platform !== 'linux' || env.TAPLINE_FILE_ADDON === 'off') return addon;
  // Without it (not built, another version) the JavaScript paths read.
  addon = loadAddon<FileAddon>('tapline_file.node', ABI_VERSION).addon;
  return addon;
}
