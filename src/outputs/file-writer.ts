/**
 * Writes one plain (not .gz) output file, in order, one operation at a time: runs of byte parts with
 * writev(2) on the file's O_APPEND descriptor, copy spans (records passed through unchanged, see
 * core/file-copy.ts) with copy_file_range(2) on a second descriptor of the same file without O_APPEND (the
 * kernel refuses O_APPEND targets), at the file's end.
 *
 *   write(part) ─▶ queue ─▶ pump ─┬─ Buffer run ─▶ writev(appendFd)
 *                                 └─ CopySpan (contiguous ones merged) ─▶ origin.copyTo(copyFd)
 *                                        └ copied short / refused / source changed ─▶ the span's bytes from
 *                                          memory, written (or rewritten) at the span's place with pwritev
 *   onWritten() after every operation; the first error stops the writer and goes to onError().
 *
 * One operation at a time is what makes the copies safe: nothing else moves the file's end between the
 * native side's fstat and its copy. A refusal (EXDEV across file systems, EINVAL, ENOSYS, EOPNOTSUPP, …)
 * turns copying off for this file; the bytes are written instead, so the output is the same either way.
 */
import { close, closeSync, constants, openSync, writev } from 'node:fs';
import { fileCopyAvailable } from '../core/file-copy.js';
import type { CopySpan, RecordPart } from './record-buffer.js';

export interface CopyCounters {
  /** Bytes the kernel copied (and that stayed: a span rewritten from memory is not counted). */
  copiedBytes: number;
  /** Spans written from memory because a copy fell short, was refused or its source changed. */
  copyFallbacks: number;
  /** errno of the refusal that turned copying off, 0 while it is on. */
  copyRefusedErrno: number;
}

export class PlainFileWriter implements CopyCounters {
  private queue: RecordPart[] = [];
  private queued = 0;
  private running = false;
  private idle: (() => void)[] = [];
  private failed = false;
  private closed = false;
  private destroyed = false;
  /** A second descriptor of the file without O_APPEND, or -1 (no addon, cannot open: no copies). */
  private copyFd = -1;
  copiedBytes = 0;
  copyFallbacks = 0;
  copyRefusedErrno = 0;

  constructor(
    private readonly fd: number,
    private readonly onWritten: () => void,
    private readonly onError: (err: unknown) => void,
  ) {
    if (fileCopyAvailable()) {
      try {
        // The same open file (even if renamed meanwhile): /proc/self/fd names it.
        this.copyFd = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY);
      } catch {
        this.copyFd = -1;
      }
    }
  }

  /** True while copy spans are worth making for this file. */
  get copies(): boolean {
    return this.copyFd >= 0 && this.copyRefusedErrno === 0;
  }

  /** Bytes queued or being written. */
  get writableLength(): number {
    return this.queued;
  }

  write(part: RecordPart): void {
    if (this.failed || this.closed) {
      if (!Buffer.isBuffer(part)) part.origin.release();
      return;
    }
    this.queue.push(part);
    this.queued += part.length;
    if (!this.running) void this.pump();
  }

  /** Writes what is queued, then closes both descriptors. Rejects with the writer's error, if any. */
  async end(): Promise<void> {
    if (this.running) await new Promise<void>((resolve) => this.idle.push(resolve));
    this.closed = true;
    if (this.copyFd >= 0) closeSync(this.copyFd);
    this.copyFd = -1;
    await new Promise<void>((resolve, reject) => close(this.fd, (err) => (err ? reject(err) : resolve())));
  }

  /** Drops what is queued and closes (after an error), once the operation in progress is done. */
  destroy(): void {
    this.failed = true;
    this.destroyed = true;
    this.dropQueue();
    if (!this.running) this.closeNow();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.copyFd >= 0) closeSync(this.copyFd);
    this.copyFd = -1;
    close(this.fd, () => {});
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.failed) {
        const head = this.queue[0]!;
        let n: number;
        if (Buffer.isBuffer(head)) {
          let k = 1;
          while (k < this.queue.length && Buffer.isBuffer(this.queue[k])) k++;
          const run = this.queue.splice(0, k) as Buffer[];
          n = sum(run);
          await writeAll(this.fd, run, null);
        } else {
          const span = this.takeSpan();
          n = span.length;
          try {
            await this.writeSpan(span);
          } finally {
            span.origin.release();
          }
        }
        this.queued -= n;
        this.onWritten();
      }
    } catch (err) {
      this.failed = true;
      this.dropQueue();
      this.onError(err);
    } finally {
      this.running = false;
      if (this.destroyed) this.closeNow();
      const idle = this.idle;
      this.idle = [];
      for (const resolve of idle) resolve();
    }
  }

  /** The head span, with the contiguous spans of the same file queued right behind it merged in. */
  private takeSpan(): CopySpan {
    const first = this.queue.shift() as CopySpan;
    let span = first;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (Buffer.isBuffer(next) || next.origin !== span.origin || next.offset !== span.offset + span.length) break;
      this.queue.shift();
      next.origin.release(); // the merged span holds the first one's reference
      span = {
        origin: span.origin,
        offset: span.offset,
        length: span.length + next.length,
        bytes: [...span.bytes, ...next.bytes],
      };
    }
    return span;
  }

  private async writeSpan(span: CopySpan): Promise<void> {
    if (!this.copies) {
      await writeAll(this.fd, span.bytes, null);
      return;
    }
    const r = await span.origin.copyTo(this.copyFd, span.offset, span.length);
    if (!r.changed && r.copied === span.length) {
      this.copiedBytes += r.copied;
      return;
    }
    this.copyFallbacks++;
    if (r.errno !== 0) this.copyRefusedErrno = r.errno;
    // The source changed: rewrite the whole span from memory; else write what was not copied after the rest.
    const from = r.changed ? 0 : r.copied;
    if (!r.changed) this.copiedBytes += r.copied;
    await writeAll(this.copyFd, skip(span.bytes, from), r.outStart + from);
  }

  private dropQueue(): void {
    for (const part of this.queue) if (!Buffer.isBuffer(part)) part.origin.release();
    this.queue = [];
    this.queued = 0;
  }
}

function sum(buffers: readonly Buffer[]): number {
  let n = 0;
  for (const b of buffers) n += b.length;
  return n;
}

/** `buffers` without their first `n` bytes. */
function skip(buffers: readonly Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}

/** writev until every byte is written (a regular file may take fewer bytes, e.g. right before ENOSPC). */
async function writeAll(fd: number, buffers: Buffer[], position: number | null): Promise<void> {
  let rest = buffers;
  let at = position;
  while (rest.length > 0) {
    const n = await new Promise<number>((resolve, reject) =>
      writev(fd, rest, at, (err, written) => (err ? reject(err) : resolve(written))),
    );
    const total = sum(rest);
    if (n >= total) return;
    if (n === 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' });
    rest = skip(rest, n);
    if (at !== null) at += n;
  }
}
