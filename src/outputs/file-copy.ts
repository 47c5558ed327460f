/**
 * Kernel copies for `--output-file` (raw runs, core/plugin.ts): a part of a run that is a range of the input
 * file is copied page cache to page cache by copy_file_range(2) (native/src/file_copy.cc) instead of being
 * written from the input's mapping, which costs page-table work besides the copy (docs/benchmarks.md, `file`).
 *
 *   FileSink's WriteStream ──write(part)──▶ marked with its file range? ──no──▶ fs.write / fs.writev (O_APPEND fd)
 *    (one write at a time, in order)            │ yes
 *                                               ▼
 *         copyRange(input fd, offset, second fd of the output without O_APPEND, length) at the file's end
 *           └─ the input or output is not the file it was, or the kernel cannot (EXDEV, EINVAL, ENOSYS,
 *              EOPNOTSUPP, EBADF, …): written from the mapping as before, and no more copies for this file
 *
 * copy_file_range refuses an O_APPEND descriptor, so the copy goes to the end of the file as fstat sees it
 * just before; the WriteStream runs one write at a time, so tapline's own writes stay in order (a writer in
 * another process appending at the very same moment could be overwritten, which O_APPEND alone would not
 * allow: TAPLINE_FILE_COPY=off writes every byte with O_APPEND). Errors (ENOSPC, EIO, …) come back as the
 * write's error, with its code, and the sink names the file.
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
function copier(): Required<Pick<FileAddon, 'copyRange'>> | null {
  const addon = process.env.TAPLINE_FILE_COPY === 'off' ? null : fileAddon();
  return addon?.copyRange ? (addon as Required<Pick<FileAddon, 'copyRange'>>) : null;
}

export function canCopyInKernel(): boolean {
  return copier() !== null;
}

/** errno values after which the bytes are written instead (the pair of files cannot be copied so). */
const CANNOT = new Set(['EXDEV', 'EINVAL', 'ENOSYS', 'EOPNOTSUPP', 'ENOTSUP', 'EBADF', 'EPERM', 'ETXTBSY', 'EISDIR']);

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

/** The `fs` option of createWriteStream (the types have no name for it). */
type StreamFs = NonNullable<Extract<Parameters<typeof fs.createWriteStream>[1], object>['fs']>;

type WriteCb = (err: NodeJS.ErrnoException | null, written: number) => void;

/** The output side of kernel copies for one open output file (fd: its O_APPEND descriptor). */
export class KernelCopy {
  private off = false;
  private output: Promise<number | undefined> | undefined;
  private readonly inputs = new Map<string, Promise<number | undefined>>();

  constructor(
    private readonly path: string,
    private readonly fd: number,
  ) {}

  /** The `fs` of the output's WriteStream: marked parts are copied, everything else written as usual. */
  fs(): StreamFs {
    const write = (fd: number, buf: Buffer, offset: number, length: number, position: number | null, cb: WriteCb) => {
      const where = marks.get(buf);
      if (where === undefined || this.off) {
        fs.write(fd, buf, offset, length, position, cb);
        return;
      }
      this.copy(where, offset, length).then(
        (copied) => {
          if (copied === length) cb(null, copied);
          else fs.write(fd, buf, offset + copied, length - copied, position, (err, n) => cb(err, copied + (n ?? 0)));
        },
        (err: NodeJS.ErrnoException) => cb(err, 0),
      );
    };
    const writev = (fd: number, bufs: Buffer[], position: number | null, cb: WriteCb) => {
      if (this.off || !bufs.some((b) => marks.has(b))) {
        fs.writev(fd, bufs, position, cb);
        return;
      }
      // One group at a time, in order; a short write ends the call (the stream writes the rest). Marked parts
      // that follow each other in the same input file are one copy: the copy thread then goes from one run to
      // the next without waiting for this thread to hand it the next part.
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
        if (g.where === undefined) write(fd, g.buf, 0, g.buf.length, null, done);
        else if (this.off) fs.writev(fd, g.parts, null, done);
        else this.copyOrWrite(fd, g, done);
      };
      next(0);
    };
    return { open: fs.open, close: fs.close, write, writev };
  }

  /** A group of parts: copied from the input file, or written from memory if the copy stops short. */
  private copyOrWrite(fd: number, g: RangeGroup, cb: WriteCb): void {
    this.copy(g.where!, 0, g.length).then(
      (copied) => {
        if (copied === g.length) return cb(null, copied);
        // The rest from memory: the parts after the bytes copied.
        const rest = sliceParts(g.parts, copied);
        fs.writev(fd, rest, null, (err, n) => cb(err, copied + (n ?? 0)));
      },
      (err: NodeJS.ErrnoException) => cb(err, 0),
    );
  }

  /** Copies; resolves with the bytes copied (0: write them instead). */
  private async copy(where: FileBytes, offset: number, length: number): Promise<number> {
    const addon = copier();
    const [input, output] = await Promise.all([this.input(where), this.openOutput()]);
    if (addon === null || input === undefined || output === undefined) {
      this.off = true;
      return 0;
    }
    const [errno, copied] = await new Promise<[number, number]>((resolve) =>
      addon.copyRange(input, where.offset + offset, output, length, (e, n) => resolve([e, n])),
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
    let fd = this.inputs.get(where.path);
    if (!fd) {
      fd = openChecked(where.path, fs.constants.O_RDONLY, where.id);
      this.inputs.set(where.path, fd);
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

  /** Closes the descriptors opened for copies. */
  async close(): Promise<void> {
    const all = [this.output, ...this.inputs.values()];
    this.output = undefined;
    this.inputs.clear();
    for (const p of all) {
      const fd = await p?.catch(() => undefined);
      if (fd !== undefined) await new Promise<void>((resolve) => fs.close(fd, () => resolve()));
    }
  }
}

/** Consecutive parts of a writev: a run of marked parts that follow each other in one file, or one unmarked part. */
interface RangeGroup {
  /** Where the first part is in its file (undefined: an unmarked part, written as it is). */
  where: FileBytes | undefined;
  parts: Buffer[];
  length: number;
  /** The single part of an unmarked group. */
  buf: Buffer;
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
    last = { where, parts: [b], length: b.length, buf: b };
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
