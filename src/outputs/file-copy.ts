/**
 * Kernel copies for `--output-file` (raw runs, core/plugin.ts): a part of a run that is a range of the input
 * file is copied page cache to page cache by copy_file_range(2) (native/src/file_copy.cc) instead of being
 * written from the input's mapping, which costs page-table work besides the copy (docs/benchmarks.md, `file`).
 *
 *   FileSink's WriteStream ──write(part)──▶ marked with its file range? ──no──▶ fs.write / fs.writev (O_APPEND fd)
 *    (one write at a time, in order)            │ yes                             (after the queued copies)
 *                                               ▼
 *     the first copy: copyRange(input fd, offset, second fd of the output without O_APPEND, length), awaited
 *       ├─ the input or output is not the file it was, or the kernel cannot (EXDEV, EINVAL, ENOSYS,
 *       │  EOPNOTSUPP, EBADF, …): written from the mapping as before, and no more copies for this file
 *       └─ it worked: the next ones go to a native queue (copyQueueAdd) and the stream hears "written" at
 *          once; one thread-pool job runs the queue back to back and reports each copy (`copied`)
 *
 * copy_file_range refuses an O_APPEND descriptor, so the copy goes to the end of the file as fstat sees it
 * just before; copies run one after the other and a write from memory waits for the queue, so tapline's own
 * writes stay in order (a writer in another process appending at the very same moment could be overwritten,
 * which O_APPEND alone would not allow: TAPLINE_FILE_COPY=off writes every byte with O_APPEND). Errors
 * (ENOSPC, EIO, …) put the sink out of service with their code, and the sink names the file; a queued copy
 * that fails takes the copies queued behind it along, and the error says how many bytes were not written.
 */
import fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { type FileAddon, fileAddon } from '../core/gor-format-native.js';
import type { FileBytes } from '../core/plugin.js';

const marks = new WeakMap<Buffer, FileBytes>();

/** Says that `part` holds the file bytes `where` (the sink may then copy them in the kernel). */
export function markFileBytes(part: Buffer, where: FileBytes): void {
  marks.set(part, where);
}

/** The addon's copyRange, unless missing or TAPLINE_FILE_COPY=off. */
function copier(): (FileAddon & Required<Pick<FileAddon, 'copyRange'>>) | null {
  const addon = process.env.TAPLINE_FILE_COPY === 'off' ? null : fileAddon();
  return addon?.copyRange ? (addon as FileAddon & Required<Pick<FileAddon, 'copyRange'>>) : null;
}

export function canCopyInKernel(): boolean {
  return copier() !== null;
}

/** TAPLINE_COPY_QUEUE=off: every copy waits for the one before (through the main thread), as before the queue. */
const queueOff = process.env.TAPLINE_COPY_QUEUE === 'off';

/** errno values after which the bytes are written instead (the pair of files cannot be copied so). */
const CANNOT = new Set(['EXDEV', 'EINVAL', 'ENOSYS', 'EOPNOTSUPP', 'ENOTSUP', 'EBADF', 'EPERM', 'ETXTBSY', 'EISDIR']);

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

/** The `fs` option of createWriteStream (the types have no name for it). */
type StreamFs = NonNullable<Extract<Parameters<typeof fs.createWriteStream>[1], object>['fs']>;

type WriteCb = (err: NodeJS.ErrnoException | null, written: number) => void;

/** What a sink hears from its kernel copies: a queued copy ended (room for more), or the copies failed. */
export interface CopyListener {
  progress(): void;
  failure(err: NodeJS.ErrnoException): void;
}

/**
 * The output side of kernel copies for one open output file (fd: its O_APPEND descriptor).
 *
 * The first copy runs on its own (copyRange) and tells whether the kernel can copy between the two files at
 * all; after it, copies go to a native queue (copyQueueAdd) and the stream is told they are written at once:
 * one thread-pool job runs them back to back, so the copy thread never waits for the main thread between two
 * runs (on the 1.1 GiB bench copy it otherwise idled between copies, the main thread being busy). The sink
 * counts the queued bytes as in flight (`queuedBytes`, its backpressure) and hears each copy end (`progress`).
 * A write of bytes from memory waits until the queue is empty, so the file's bytes stay in order. A copy that
 * fails ends the queue (what was queued behind it is dropped) and `failure` puts the sink out of service with
 * that error, as a failed write does; close() waits for the queue and throws the failure.
 */
export class KernelCopy {
  private off = false;
  private output: Promise<number | undefined> | undefined;
  private readonly inputs = new Map<string, Promise<number | undefined>>();
  /** The native queue, once a first copy went through. */
  private queue: unknown;
  private seq = 0;
  private readonly queued = new Map<number, number>();
  private failed: NodeJS.ErrnoException | undefined;
  private idleWaiters: (() => void)[] = [];
  private listener: CopyListener | undefined;
  /** Bytes handed to the queue and not copied yet. */
  queuedBytes = 0;

  constructor(
    private readonly path: string,
    private readonly fd: number,
  ) {}

  listen(listener: CopyListener): void {
    this.listener = listener;
  }

  /** The `fs` of the output's WriteStream: marked parts are copied, everything else written as usual. */
  fs(): StreamFs {
    const write = (fd: number, buf: Buffer, offset: number, length: number, position: number | null, cb: WriteCb) => {
      const where = marks.get(buf);
      if (where === undefined || this.off) {
        this.afterQueue(cb, () => fs.write(fd, buf, offset, length, position, cb));
        return;
      }
      const part = buf.subarray(offset, offset + length);
      this.submit(fd, { where: { ...where, offset: where.offset + offset }, parts: [part], length }, cb);
    };
    const writev = (fd: number, bufs: Buffer[], position: number | null, cb: WriteCb) => {
      if (this.off || !bufs.some((b) => marks.has(b))) {
        this.afterQueue(cb, () => fs.writev(fd, bufs, position, cb));
        return;
      }
      // One group at a time, in order; a short write ends the call (the stream writes the rest). Marked parts
      // that follow each other in the same input file are one copy.
      const groups = groupRanges(bufs);
      let total = 0;
      const next = (i: number): void => {
        if (i === groups.length) {
          cb(null, total);
          return;
        }
        const g = groups[i]!;
        const done = (err: NodeJS.ErrnoException | null, n: number) => {
          total += n;
          if (err || n < g.length) cb(err, total);
          else next(i + 1);
        };
        const only = g.parts[0]!;
        if (g.where === undefined) this.afterQueue(done, () => fs.write(fd, only, 0, only.length, null, done));
        else this.submit(fd, g, done);
      };
      next(0);
    };
    return { open: fs.open, close: fs.close, write, writev };
  }

  /** A group of marked parts: queued, copied on its own (the first), or written (copies are off). */
  private submit(fd: number, g: RangeGroup, cb: WriteCb): void {
    if (this.failed) {
      cb(this.failed, 0);
    } else if (this.off) {
      this.afterQueue(cb, () => fs.writev(fd, g.parts, null, (err, n) => cb(err, n ?? 0)));
    } else if (this.queue !== undefined && this.enqueue(g)) {
      cb(null, g.length);
    } else {
      // The first copy (is copying possible at all?), or one from an input file not opened yet: after the
      // queued copies, on its own.
      this.afterQueue(cb, () => this.copyOrWrite(fd, g, cb));
    }
  }

  /** Queues the copy of `g`; false when the queue cannot take it (it stopped, or the descriptors are not open). */
  private enqueue(g: RangeGroup): boolean {
    const addon = copier();
    const input = this.openInputs.get(fileKey(g.where!));
    if (!addon?.copyQueueAdd || input === undefined || this.outputFd === undefined) return false;
    const seq = ++this.seq;
    const ok = addon.copyQueueAdd(this.queue, seq, input, g.where!.offset, this.outputFd, g.length, this.copied);
    if (!ok) return false;
    this.queued.set(seq, g.length);
    this.queuedBytes += g.length;
    return true;
  }

  /** A queued copy ended (or was dropped after one that failed). */
  private readonly copied = (seq: number, errno: number, copied: number): void => {
    const length = this.queued.get(seq);
    if (length === undefined) return;
    this.queued.delete(seq);
    this.queuedBytes -= length;
    if (!this.failed && (errno !== 0 || copied < length)) {
      // The runs queued behind this copy are dropped with it: the error says how much (the summary counted
      // their records when they were handed to the file, as it counts records a failing write had buffered).
      const lost = `${length - copied + this.queuedBytes} bytes of records handed to the file were not written`;
      this.failed =
        errno !== 0
          ? Object.assign(new Error(`${errnoName(errno)}: copy_file_range failed`), {
              code: errnoName(errno),
              errno: -errno,
              detail: lost,
            })
          : Object.assign(new Error('the input file ended early: it changed while it was copied'), {
              code: 'ESHORTCOPY',
              detail: lost,
            });
      this.listener?.failure(this.failed);
    }
    if (this.queued.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    this.listener?.progress();
  };

  /** Runs `write` once the queued copies are done (bytes from memory go after them); the failure instead. */
  private afterQueue(cb: WriteCb, write: () => void): void {
    if (this.failed) cb(this.failed, 0);
    else if (this.queued.size === 0) write();
    else this.idleWaiters.push(() => (this.failed ? cb(this.failed, 0) : write()));
  }

  /** A group of parts: copied from the input file, or written from memory if the copy stops short. */
  private copyOrWrite(fd: number, g: RangeGroup, cb: WriteCb): void {
    this.copy(g.where!, g.length).then(
      (copied) => {
        if (copied === g.length) {
          // The kernel copies between these files: the next copies are queued.
          if (!queueOff) this.queue ??= copier()?.copyQueue?.();
          return cb(null, copied);
        }
        // The rest from memory: the parts after the bytes copied.
        const rest = sliceParts(g.parts, copied);
        fs.writev(fd, rest, null, (err, n) => cb(err, copied + (n ?? 0)));
      },
      (err: NodeJS.ErrnoException) => cb(err, 0),
    );
  }

  /** Descriptors opened for copies, once open (the queue takes numbers). */
  private readonly openInputs = new Map<string, number>();
  private outputFd: number | undefined;

  /** Copies; resolves with the bytes copied (0: write them instead). */
  private async copy(where: FileBytes, length: number): Promise<number> {
    const addon = copier();
    const [input, output] = await Promise.all([this.input(where), this.openOutput()]);
    if (addon === null || input === undefined || output === undefined) {
      this.off = true;
      return 0;
    }
    this.openInputs.set(fileKey(where), input);
    this.outputFd = output;
    const [errno, copied] = await new Promise<[number, number]>((resolve) =>
      addon.copyRange(input, where.offset, output, length, (e, n) => resolve([e, n])),
    );
    if (errno === 0) return copied;
    const code = errnoName(errno);
    if (copied === 0 && CANNOT.has(code)) {
      this.off = true;
      return 0;
    }
    throw Object.assign(new Error(`${code}: copy_file_range failed`), { code, errno: -errno });
  }

  /** The input file, opened once, if it is still the file that was read. */
  private input(where: FileBytes): Promise<number | undefined> {
    let fd = this.inputs.get(fileKey(where));
    if (!fd) {
      fd = openChecked(where.path, fs.constants.O_RDONLY, where.id);
      this.inputs.set(fileKey(where), fd);
    }
    return fd;
  }

  /** A second descriptor of the output file, without O_APPEND, if the path is still that file. */
  private openOutput(): Promise<number | undefined> {
    this.output ??= new Promise<string | undefined>((resolve) =>
      fs.fstat(this.fd, { bigint: true }, (err, st) => resolve(err ? undefined : `${st.dev}:${st.ino}`)),
    ).then((id) => (id === undefined ? undefined : openChecked(this.path, fs.constants.O_WRONLY, id)));
    return this.output;
  }

  /** Waits for the queued copies, closes the descriptors opened for copies; throws a copy's failure. */
  async close(): Promise<void> {
    if (this.queued.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const all = [this.output, ...this.inputs.values()];
    this.output = undefined;
    this.inputs.clear();
    this.openInputs.clear();
    this.outputFd = undefined;
    for (const p of all) {
      const fd = await p?.catch(() => undefined);
      if (fd !== undefined) await new Promise<void>((resolve) => fs.close(fd, () => resolve()));
    }
    if (this.failed) throw this.failed;
  }
}

/** Consecutive parts of a writev: a run of marked parts that follow each other in one file, or one unmarked part. */
interface RangeGroup {
  /** Where the first part is in its file (undefined: an unmarked part, written as it is). */
  where: FileBytes | undefined;
  /** The parts (an unmarked group has one). */
  parts: Buffer[];
  length: number;
}

function groupRanges(bufs: readonly Buffer[]): RangeGroup[] {
  const groups: RangeGroup[] = [];
  let last: RangeGroup | undefined;
  for (const b of bufs) {
    const where = marks.get(b);
    if (
      where !== undefined &&
      last?.where !== undefined &&
      last.where.path === where.path &&
      last.where.id === where.id &&
      last.where.offset + last.length === where.offset
    ) {
      last.parts.push(b);
      last.length += b.length;
      continue;
    }
    last = { where, parts: [b], length: b.length };
    groups.push(last);
  }
  return groups;
}

/** `parts` without their first `skip` bytes. */
function sliceParts(parts: readonly Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const p of parts) {
    if (skip >= p.length) skip -= p.length;
    else {
      out.push(skip > 0 ? p.subarray(skip) : p);
      skip = 0;
    }
  }
  return out;
}

/** An input file as it was read: its path and `dev:ino` (a path replaced between two passes is another file). */
function fileKey(where: FileBytes): string {
  return `${where.id}\0${where.path}`;
}

/** Opens `path`; undefined (closed again) unless it is the file `id` (`dev:ino`). */
function openChecked(path: string, flags: number, id: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    fs.open(path, flags, (err, fd) => {
      if (err) return resolve(undefined);
      fs.fstat(fd, { bigint: true }, (e, st) => {
        if (!e && `${st.dev}:${st.ino}` === id) return resolve(fd);
        fs.close(fd, () => resolve(undefined));
      });
    });
  });
}
