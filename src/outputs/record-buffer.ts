/**
 * Collects encoded `.gor` records into large chunks, so a million small records cost a few hundred
 * writes instead of a million. Payloads larger than the chunk are passed through without a copy, and records
 * read unchanged from a `.gor` file are not encoded again: consecutive ones that sit side by side in the same
 * read buffer become one span of that buffer (a file-to-file copy writes what it read, without a memcpy).
 *
 * With `copies` on (a plain output file that can copy in the kernel), records that carry a FileOrigin
 * (fileOriginOf) and sit side by side in their file become a CopySpan instead: the writer copies those file
 * bytes with copy_file_range, and still has the same bytes in memory (`bytes`) should the copy not be possible.
 */
import type { FileOrigin } from '../core/file-copy.js';
import { encodeRecord, fileOriginOf, type GorRecord, SEPARATOR } from '../core/gor-format.js';
import type { Message } from '../core/message.js';
import { copyMetaLine, metaLineLength } from '../core/meta.js';

const LF = 0x0a;

/** Bytes `[offset, offset + length)` of `origin`'s file, which are exactly the records' encoding, in order. */
export interface CopySpan {
  readonly origin: FileOrigin;
  readonly offset: number;
  readonly length: number;
  /** The same bytes, from memory: written instead when the copy cannot be made. */
  readonly bytes: Buffer[];
}

/** What take() returns: bytes to write, or a span to copy (holding a reference to its origin until written). */
export type RecordPart = Buffer | CopySpan;

interface OpenCopySpan {
  origin: FileOrigin;
  offset: number;
  length: number;
  bytes: Buffer[];
}

export class RecordBuffer {
  private buf: Buffer;
  private used = 0;
  private parts: RecordPart[] = [];
  private partsLen = 0;
  /** The open copy span; while it is open, the open source-buffer span below holds its bytes. */
  private copySpan: OpenCopySpan | undefined;
  /** Make CopySpans of records that have a FileOrigin; the writer turns this off when the kernel refuses. */
  copies = false;
  /** The open span of a source buffer: records read unchanged, side by side. */
  private spanBuf: Buffer | undefined;
  private spanStart = 0;
  private spanEnd = 0;

  constructor(private readonly chunkSize = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(chunkSize);
  }

  /** Bytes waiting to be written. */
  get size(): number {
    return this.partsLen + this.used + (this.copySpan ? this.copySpan.length : this.spanEnd - this.spanStart);
  }

  /** Appends one record; returns its encoded size. */
  append(msg: Message): number {
    if (this.copies) {
      const n = this.appendCopy(msg);
      if (n >= 0) return n;
    }
    if (this.copySpan) this.sealCopySpan();
    const raw = msg as GorRecord;
    if (raw.rawBuf !== undefined) {
      const start = raw.rawStart!;
      const end = raw.rawEnd!;
      if (this.spanBuf === raw.rawBuf && this.spanEnd === start) {
        this.spanEnd = end;
      } else {
        this.sealSpan();
        this.sealCopy();
        this.spanBuf = raw.rawBuf;
        this.spanStart = start;
        this.spanEnd = end;
      }
      return end - start;
    }
    this.sealSpan();
    const metaLen = metaLineLength(msg.meta); // latin1: one byte per char
    const total = metaLen + 1 + msg.data.length + SEPARATOR.length;
    if (total <= this.chunkSize - this.used) {
      this.used += copyMetaLine(msg.meta, this.buf, this.used);
      this.buf[this.used++] = LF;
      this.used += msg.data.copy(this.buf, this.used);
      this.used += SEPARATOR.copy(this.buf, this.used);
      return total;
    }
    if (total <= this.chunkSize) {
      this.sealCopy();
      return this.append(msg);
    }
    // Large payload: head, payload and separator go out as they are.
    this.sealCopy();
    const head = Buffer.from(`${msg.meta.line}\n`, 'latin1');
    this.parts.push(head, msg.data, SEPARATOR);
    this.partsLen += total;
    return total;
  }

  /** Takes everything buffered, in order, and starts afresh: bytes only (for a buffer with `copies` off). */
  take(): Buffer[] {
    if (this.copies) throw new Error('RecordBuffer.take() with copies on: use takeParts()');
    return this.takeParts() as Buffer[];
  }

  /** Takes everything buffered, in order, and starts afresh: bytes and copy spans. */
  takeParts(): RecordPart[] {
    if (this.copySpan) this.sealCopySpan();
    this.sealSpan();
    this.sealCopy();
    const out = this.parts;
    this.parts = [];
    this.partsLen = 0;
    return out;
  }

  /** A record that can be copied from its file: extends the open copy span or opens one. -1: it cannot. */
  private appendCopy(msg: Message): number {
    const origin = fileOriginOf(msg);
    if (origin === undefined) return -1;
    const rec = msg as GorRecord;
    let span = this.copySpan;
    if (span === undefined || span.origin !== origin || span.offset + span.length !== rec.offset) {
      if (!origin.acquire()) return -1; // the input closed the file already: write the bytes
      if (span) this.sealCopySpan();
      this.sealSpan();
      this.sealCopy();
      span = { origin, offset: rec.offset, length: 0, bytes: [] };
      this.copySpan = span;
    }
    span.length += rec.size;
    const rawBuf = rec.rawBuf;
    if (rawBuf === undefined) {
      // A record that straddled two reads: its bytes in memory are not one piece; encode them.
      this.sealSpan();
      span.bytes.push(encodeRecord(msg));
    } else if (this.spanBuf === rawBuf && this.spanEnd === rec.rawStart) {
      this.spanEnd = rec.rawEnd!;
    } else {
      this.sealSpan();
      this.spanBuf = rawBuf;
      this.spanStart = rec.rawStart!;
      this.spanEnd = rec.rawEnd!;
    }
    return rec.size;
  }

  private sealCopySpan(): void {
    const span = this.copySpan!;
    this.sealSpan();
    this.copySpan = undefined;
    this.parts.push(span);
    this.partsLen += span.length;
  }

  /** The open source-buffer span goes to the open copy span's bytes, or to the parts. */
  private sealSpan(): void {
    if (this.spanBuf === undefined) return;
    const view = this.spanBuf.subarray(this.spanStart, this.spanEnd);
    if (this.copySpan) this.copySpan.bytes.push(view);
    else {
      this.parts.push(view);
      this.partsLen += view.length;
    }
    this.spanBuf = undefined;
    this.spanStart = 0;
    this.spanEnd = 0;
  }

  private sealCopy(): void {
    if (this.used === 0) return;
    // The filled part becomes a part of its own; a fresh buffer takes the next records.
    this.parts.push(this.buf.subarray(0, this.used));
    this.partsLen += this.used;
    this.buf = Buffer.allocUnsafe(this.chunkSize);
    this.used = 0;
  }
}
