/**
 * Collects encoded `.gor` records into large chunks, so a million small records cost a few hundred
 * writes instead of a million. Payloads larger than the chunk are passed through without a copy.
 */
import { SEPARATOR } from '../core/gor-format.js';
import type { Message } from '../core/message.js';

const LF = 0x0a;

export class RecordBuffer {
  private buf: Buffer;
  private used = 0;
  private parts: Buffer[] = [];
  private partsLen = 0;

  constructor(private readonly chunkSize = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(chunkSize);
  }

  /** Bytes waiting to be written. */
  get size(): number {
    return this.partsLen + this.used;
  }

  /** Appends one record; returns its encoded size. */
  append(msg: Message): number {
    const line = msg.meta.line;
    const metaLen = line.length; // latin1: one byte per char
    const total = metaLen + 1 + msg.data.length + SEPARATOR.length;
    if (total <= this.chunkSize - this.used) {
      this.used += this.buf.write(line, this.used, 'latin1');
      this.buf[this.used++] = LF;
      this.used += msg.data.copy(this.buf, this.used);
      this.used += SEPARATOR.copy(this.buf, this.used);
      return total;
    }
    if (total <= this.chunkSize) {
      this.seal();
      return this.append(msg);
    }
    // Large payload: head, payload and separator go out as they are.
    this.seal();
    const head = Buffer.from(`${line}\n`, 'latin1');
    this.parts.push(head, msg.data, SEPARATOR);
    this.partsLen += total;
    return total;
  }

  /** Takes everything buffered, in order, and starts afresh. */
  take(): Buffer[] {
    this.seal();
    const out = this.parts;
    this.parts = [];
    this.partsLen = 0;
    return out;
  }

  private seal(): void {
    if (this.used === 0) return;
    // The filled part becomes a part of its own; a fresh buffer takes the next records.
    this.parts.push(this.buf.subarray(0, this.used));
    this.partsLen += this.used;
    this.buf = Buffer.allocUnsafe(this.chunkSize);
    this.used = 0;
  }
}
