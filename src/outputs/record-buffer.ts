/**
 * Collects encoded `.gor` records into large chunks, so a million small records cost a few hundred
 * writes instead of a million. Payloads larger than the chunk are passed through without a copy, and records
 * read unchanged from a `.gor` file are not encoded again: consecutive ones that sit side by side in the same
 * read buffer become one span of that buffer (a file-to-file copy writes what it read, without a memcpy).
 */
import { type GorRecord, SEPARATOR } from '../core/gor-format.js';
import type { Message } from '../core/message.js';
import { copyMetaLine, metaLineLength } from '../core/meta.js';

const LF = 0x0a;

export class RecordBuffer {
  private buf: Buffer;
  private used = 0;
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** The open span of a source buffer: records read unchanged, side by side. */
  private spanBuf: Buffer | undefined;
  private spanStart = 0;
  private spanEnd = 0;

  constructor(private readonly chunkSize = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(chunkSize);
  }

  /** Bytes waiting to be written. */
  get size(): number {
    return this.partsLen + this.used + (this.spanEnd - this.spanStart);
  }

  /** Appends one record; returns its encoded size. */
  append(msg: Message): number {
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

  /** Appends records already encoded (a raw run's parts, `bytes` in all), without a copy. */
  appendEncoded(parts: readonly Buffer[], bytes: number): void {
    this.sealSpan();
    this.sealCopy();
    for (const part of parts) this.parts.push(part);
    this.partsLen += bytes;
  }

  /** Takes everything buffered, in order, and starts afresh. */
  take(): Buffer[] {
    this.sealSpan();
    this.sealCopy();
    const out = this.parts;
    this.parts = [];
    this.partsLen = 0;
    return out;
  }

  private sealSpan(): void {
    if (this.spanBuf === undefined) return;
    this.parts.push(this.spanBuf.subarray(this.spanStart, this.spanEnd));
    this.partsLen += this.spanEnd - this.spanStart;
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
