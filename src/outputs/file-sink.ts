/**
 * One open `--output-file` file: records are batched by a RecordBuffer and handed to a WriteStream in big
 * pieces (it writes them with writev), through a gzip stream for `.gz` names.
 *
 *   append(msg) ─▶ RecordBuffer ─push()─▶ [Gzip, sync flush at every flush()] ─▶ WriteStream(fd, O_APPEND)
 *                                  ▲ push() returns a promise while more than HIGH_WATER bytes are in flight
 *   appendEncoded(raw run) ─────────┘  (parts that are file ranges: copied by the kernel, file-copy.ts; the
 *                                       copies queued there count as in flight too)
 *
 * Files are opened with O_APPEND|O_CREAT (mode 0660, like gor) and never truncated. Any error of the file
 * (ENOSPC, EIO, …) is kept as a TaplineError(FILE_IO) naming the file, and thrown by the next push()/close();
 * no promise handed out here rejects without a caller to catch it.
 */
import {
  type BigIntStats,
  closeSync,
  createReadStream,
  createWriteStream,
  fstat,
  fstatSync,
  open,
  openSync,
  readSync,
  statSync,
  type WriteStream,
} from 'node:fs';
import { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, type Gzip, constants as zlibConstants } from 'node:zlib';
import { describeIoError, ERROR_CODES, TaplineError } from '../core/errors.js';
import { SEPARATOR } from '../core/gor-format.js';
import type { Message } from '../core/message.js';
import type { FileBytes } from '../core/plugin.js';
import { fileIdentity, isBeingRead, isBeingWritten, startWriting } from '../inputs/file-in-use.js';
import { canCopyInKernel, KernelCopy, markFileBytes } from './file-copy.js';
import { checkGzipEnd } from './gzip-end.js';
import { RecordBuffer } from './record-buffer.js';

/**
 * Bytes in flight before push() makes the caller wait, and the level at which it may go on. A stream's own
 * 'drain' comes only once everything is written, which leaves the disk thread idle while the next batch is
 * parsed; resuming at LOW_WATER keeps a write queued behind the one in progress. Kept small so that what is
 * written was read moments ago and is still in the CPU cache (8 MiB in flight cost ~8% more CPU on a copy).
 */
const HIGH_WATER = 2 * 1024 * 1024;
const LOW_WATER = HIGH_WATER / 2;
/**
 * The same for raw runs the kernel copies (file-copy.ts): their bytes are never read by this process, so the
 * cache argument does not hold, and more in flight keeps the copy queue fed while the main thread scans on
 * (contiguous runs become one copy): a 1.1 GiB copy left the copy thread idle ~half the time with 2 MiB.
 */
const COPY_HIGH_WATER = 16 * 1024 * 1024;
const COPY_LOW_WATER = COPY_HIGH_WATER / 2;
/** Up to this many compressed bytes of a failed .gz are decoded to count the records it holds (countLost). */
const GZIP_RECOUNT = 256 * 1024 * 1024;
/** Batch size handed to the stream: small enough that the bytes are still in the CPU cache when written. */
const PUSH_PLAIN = 256 * 1024;
/** Smaller for gzip so the compressed size (the chunk criterion) follows the writes closely. */
const PUSH_GZIP = 64 * 1024;

/** A file error in words, naming the file. */
export function fileError(path: string, action: string, err: unknown): TaplineError {
  if (err instanceof TaplineError) return err;
  const reason = describeIoError(err);
  // `detail`: what else the failure cost (file-copy.ts: queued copies dropped with a failed one).
  const detail = (err as { detail?: unknown }).detail;
  const more = typeof detail === 'string' ? `; ${detail}` : '';
  return new TaplineError(ERROR_CODES.FILE_IO, `cannot ${action}: ${reason}${more}`, { where: path, cause: err });
}

export class FileSink {
  private readonly buffer = new RecordBuffer(256 * 1024);
  private readonly gz: Gzip | undefined;
  private error: TaplineError | undefined;
  private waiters: (() => void)[] = [];
  private closing: Promise<void> | undefined;
  /** The last batch was a raw run marked for a kernel copy: the larger in-flight limits apply. */
  private copying = false;
  /** Tells file-in-use.ts the file is closed. */
  private writingDone: (() => void) | undefined;
  /** Records appended since the file was opened. */
  private records = 0;
  /** Bytes handed to the stream since the file was opened (uncompressed). */
  private handed = 0;
  /**
   * [bytes past the size at open, records]: once the file holds that many bytes more, those records are all
   * in it (plain: at each push; gzip: at each sync flush, in compressed bytes). Read when the disk fails.
   */
  private marks: [number, number][] = [[0, 0]];
  /** After a failure, at close: records appended that the file does not hold whole (and their bytes, plain). */
  lost: { records: number; bytes: number | undefined } | undefined;
  /** Bytes of this file on disk: its size when opened plus bytes written (compressed bytes for .gz). */
  diskBytes: number;
  /**
   * The file has no name left (removed while written: `rm` on it, a clean-up job): what is written to it can
   * never be read. Seen at a flush (flush() asks the kernel) or by removedNow().
   */
  removed = false;
  /**
   * The file had a name when opened: only then can its going be seen (/dev/stdout redirected to a file already
   * removed has none from the start, and reopening it would not give it one).
   */
  named = true;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly ws: WriteStream,
    gzip: boolean,
    private readonly initialSize: number,
    /** Copies raw runs' file ranges in the kernel (file-copy.ts). */
    private readonly copy?: KernelCopy,
  ) {
    this.diskBytes = initialSize;
    copy?.listen({ progress: () => this.written(), failure: (err) => this.fail(err) });
    ws.on('error', (err) => this.fail(err));
    ws.on('drain', () => this.wake());
    if (gzip) {
      const gz = createGzip({ highWaterMark: HIGH_WATER } as object); // a stream option, missing from ZlibOptions
      this.gz = gz;
      gz.on('data', (chunk: Buffer) => {
        this.diskBytes += chunk.length;
      });
      gz.on('error', (err) => this.fail(err));
      gz.on('drain', () => this.wake());
      gz.pipe(ws);
    }
  }

  /**
   * Opens (creating it if needed) for appending. Throws TaplineError(FILE_IO). `kernelCopy`: parts of raw
   * runs that are ranges of a file may be copied by the kernel (plain files, when the addon can).
   */
  static async open(path: string, gzip: boolean, kernelCopy = false): Promise<FileSink> {
    const fd = await new Promise<number>((resolve, reject) =>
      open(path, 'a', 0o660, (err, fd) => (err ? reject(fileError(path, 'open for writing', err)) : resolve(fd))),
    );
    const st = await new Promise<BigIntStats | undefined>((resolve) =>
      fstat(fd, { bigint: true }, (err, st) => resolve(err ? undefined : st)),
    );
    const identity = st ? fileIdentity(st) : undefined;
    if (identity !== undefined && isBeingRead(identity)) {
      closeSync(fd);
      throw new TaplineError(
        ERROR_CODES.FILE_IO,
        'cannot write to the file --input-file is reading: every record written would be read back and ' +
          'written again, without end (as `cat f >> f`); write to another file',
        { where: path },
      );
    }
    if (identity !== undefined && (st!.isFile() || st!.isFIFO()) && isBeingWritten(identity)) {
      // Two outputs of this run on one file lose records: a kernel copy writes at the end it saw, which the other
      // output may have written meanwhile (the copy lands over its records), and two gzip streams interleaved
      // cannot be read past the first byte of the other's; on a pipe, their batches interleave. gor truncates the
      // file at each output's open. A device (/dev/null twice) loses nothing.
      closeSync(fd);
      throw new TaplineError(
        ERROR_CODES.FILE_IO,
        'cannot write: another --output-file of this run is writing this file, and two outputs writing one file ' +
          "lose records (a copy of one lands over the other's records; two gzip streams cannot be read back); " +
          'give each output its own file',
        { where: path },
      );
    }
    if (gzip && st !== undefined && st.size > 0n) {
      // A .gz cut short by a killed writer: what is appended after the cut could never be read (gzip-end.ts).
      try {
        await checkGzipEnd(path, Number(st.size));
      } catch (err) {
        closeSync(fd);
        throw err;
      }
    }
    const copy = kernelCopy && !gzip && canCopyInKernel() ? new KernelCopy(path, fd) : undefined;
    const ws = createWriteStream('', {
      fd,
      highWaterMark: HIGH_WATER,
      autoClose: true,
      ...(copy ? { fs: copy.fs() } : {}),
    });
    const sink = new FileSink(path, fd, ws, gzip, st ? Number(st.size) : 0, copy);
    sink.named = st !== undefined && st.nlink > 0n;
    if (identity !== undefined) sink.writingDone = startWriting(identity, st!.birthtimeNs);
    return sink;
  }

  get gzip(): boolean {
    return this.gz !== undefined;
  }

  /** Enough is batched to hand it to the stream (push()): one threshold for every writer of a sink. */
  get full(): boolean {
    return this.buffer.size >= (this.gz ? PUSH_GZIP : PUSH_PLAIN);
  }

  get failure(): TaplineError | undefined {
    return this.error;
  }

  /** Adds one record to the batch; returns its encoded size. */
  append(msg: Message): number {
    this.copying = false;
    const n = this.buffer.append(msg);
    this.records++;
    if (!this.gz) this.diskBytes += n;
    return n;
  }

  /** Adds `records` records already encoded (a raw run: core/plugin.ts), `bytes` in all. */
  appendEncoded(
    parts: readonly Buffer[],
    bytes: number,
    records: number,
    sources?: readonly (FileBytes | undefined)[],
  ): void {
    this.copying = false;
    this.records += records;
    if (this.copy && sources) {
      for (let i = 0; i < parts.length; i++) {
        const where = sources[i];
        if (where) {
          markFileBytes(parts[i]!, where);
          this.copying = true;
        }
      }
    }
    this.buffer.appendEncoded(parts, bytes);
    if (!this.gz) this.diskBytes += bytes;
  }

  /** Hands the batch to the stream. Returns a promise (resolving when there is room again) when it is full. */
  push(): Promise<void> | undefined {
    if (this.error) throw this.error;
    const target = this.gz ?? this.ws;
    for (const part of this.buffer.take()) {
      this.handed += part.length;
      target.write(part, this.written);
    }
    if (!this.gz) this.mark(this.handed, this.records);
    if (this.inFlight <= (this.copying ? COPY_HIGH_WATER : HIGH_WATER) && !this.error) return undefined;
    return new Promise<void>((resolve) => {
      if (this.error || this.inFlight <= this.lowWater) resolve();
      else this.waiters.push(resolve);
    }).then(() => {
      if (this.error) throw this.error;
    });
  }

  /** Write callback: wakes the waiters once the bytes in flight are down to LOW_WATER. */
  private readonly written = (): void => {
    if (this.waiters.length > 0 && this.inFlight <= this.lowWater) this.wake();
  };

  /** Bytes handed on and not written yet: the stream's, and the kernel copies queued behind it. */
  private get inFlight(): number {
    return (this.gz ?? this.ws).writableLength + (this.copy?.queuedBytes ?? 0);
  }

  private get lowWater(): number {
    return this.copying ? COPY_LOW_WATER : LOW_WATER;
  }

  /** Periodic flush: pushes the batch, and for gzip emits a sync flush so the file is readable so far. */
  flush(): void {
    if (this.error || this.closing) return;
    const pending = this.push();
    pending?.catch(() => {}); // the error is kept and thrown by the next write or close
    const records = this.records;
    this.gz?.flush(zlibConstants.Z_SYNC_FLUSH, () => this.mark(this.diskBytes - this.initialSize, records));
    if (!this.named) return;
    fstat(this.fd, (err, st) => {
      if (!err && st.nlink === 0) this.removed = true;
    });
  }

  /** Whether the file has no name left, asked now (removed). */
  removedNow(): boolean {
    if (!this.removed && !this.closing && this.named) {
      try {
        this.removed = fstatSync(this.fd).nlink === 0;
      } catch {
        // closed already: nothing to say
      }
    }
    return this.removed;
  }

  private mark(bytes: number, records: number): void {
    const last = this.marks[this.marks.length - 1]!;
    if (last[1] === records) return;
    this.marks.push([bytes, records]);
    // Far more than are ever in flight (16 MiB at most, pushed 64-256 KiB at a time).
    if (this.marks.length > 1024) this.marks.splice(0, 512);
  }

  /**
   * The file failed: how many of the records appended it holds whole. Plain: those before the last mark it
   * holds, plus the separators in its bytes after that mark (every record ends with one). Gzip: the records its
   * deflate stream gives up to the cut (decoded from where this run began writing; a cut stream decodes up to
   * its last whole piece), or, past GZIP_RECOUNT compressed bytes, those before the last sync flush it holds.
   */
  private async countLost(): Promise<void> {
    let size: number;
    try {
      size = statSync(this.path).size - this.initialSize;
    } catch {
      return; // removed or renamed meanwhile: nothing to say
    }
    let i = this.marks.length - 1;
    while (i > 0 && this.marks[i]![0] > size) i--;
    const [from, before] = this.marks[i]!;
    let whole = before;
    if (this.gz && size > from && size <= GZIP_RECOUNT) whole = Math.max(whole, await this.wholeInGzip(size));
    if (!this.gz && size > from && size - from <= 64 * 1024 * 1024) {
      const tail = Buffer.allocUnsafe(size - from);
      const fd = openSync(this.path, 'r');
      try {
        const n = readSync(fd, tail, 0, tail.length, this.initialSize + from);
        for (let at = tail.subarray(0, n).indexOf(SEPARATOR); at !== -1; at = tail.indexOf(SEPARATOR, at + 1)) {
          if (at + SEPARATOR.length > n) break;
          whole++;
        }
      } finally {
        closeSync(fd);
      }
    }
    whole = Math.min(whole, this.records);
    this.lost = {
      records: this.records - whole,
      bytes: this.gz ? undefined : Math.max(0, this.diskBytes - this.initialSize - size),
    };
  }

  /** Whole records in the first `size` bytes this run wrote to a .gz (it failed): their separators, decoded. */
  private async wholeInGzip(size: number): Promise<number> {
    let whole = 0;
    let tail: Buffer = Buffer.alloc(0);
    const counter = new Writable({
      write(chunk: Buffer, _encoding, done) {
        const bytes = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
        let after = 0;
        for (let at = bytes.indexOf(SEPARATOR); at !== -1; at = bytes.indexOf(SEPARATOR, after)) {
          whole++;
          after = at + SEPARATOR.length;
        }
        tail = bytes.subarray(Math.max(after, bytes.length - SEPARATOR.length + 1));
        done();
      },
    });
    try {
      await pipeline(
        createReadStream(this.path, { start: this.initialSize, end: this.initialSize + size - 1 }),
        createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH }),
        counter,
      );
    } catch {
      // bytes past the cut that do not decode: the records before them are counted
    }
    return whole;
  }

  /** Writes everything, ends the gzip stream (its trailer) and closes the file. Throws TaplineError(FILE_IO). */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    try {
      await this.finishWriting();
    } finally {
      if (this.error) await this.countLost().catch(() => {});
      this.writingDone?.();
    }
  }

  private async finishWriting(): Promise<void> {
    if (!this.error) {
      const target = this.gz ?? this.ws;
      for (const part of this.buffer.take()) target.write(part);
      target.end();
    } else {
      this.ws.destroy();
    }
    try {
      await finished(this.ws);
    } catch (err) {
      this.fail(err);
    }
    this.gz?.destroy();
    this.ws.destroy();
    try {
      await this.copy?.close();
    } catch (err) {
      this.fail(err);
    }
    if (this.error) throw this.error;
  }

  private fail(err: unknown): void {
    this.error ??= fileError(this.path, 'write', err);
    this.wake();
    if (this.gz && !this.gz.destroyed) this.gz.unpipe(this.ws);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
