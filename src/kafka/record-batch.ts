/**
 * A batch of Kafka records encoded into one buffer, as the output builds it: no Buffer object per record,
 * one allocation per batch, and the librdkafka producer reads the whole batch in one native call.
 *
 *   bytes: [value 0][key 0][value 1][key 1]...      spans (4 ints per record):
 *                                                   value offset, value length, key offset (-1: no key), key length
 *
 * A batch's buffer is never reused once sent: a client may keep views of it until the batch is acknowledged
 * (kafkajs). Views are only made after the batch is complete (growing replaces the buffer).
 */
import type { Message } from '../core/message.js';
import { copyMetaLine, metaLineLength } from '../core/meta.js';
import type { ProducedRecord } from './client.js';

type Meta = Message['meta'];

export interface RecordBatch {
  readonly bytes: Buffer;
  readonly spans: Int32Array;
  readonly count: number;
  /** Bytes of values and keys. */
  readonly size: number;
}

export class RecordBatchBuilder implements RecordBatch {
  bytes: Buffer;
  spans: Int32Array;
  count = 0;
  size = 0;

  /**
   * `capacity`: bytes to start with (the output passes its last batch's size, so a steady stream never grows
   * and a trickle does not take megabytes per batch); more is made room for by reserve().
   */
  constructor(capacity = 64 << 10, records = 256) {
    this.bytes = Buffer.allocUnsafe(Math.max(4096, capacity));
    this.spans = new Int32Array(4 * Math.max(1, records));
  }

  /** Makes room for `bytes` more (a record and its key), growing the buffer (doubling) when needed. */
  reserve(bytes: number): void {
    if (this.size + bytes <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.size + bytes));
    this.bytes.copy(grown, 0, 0, this.size);
    this.bytes = grown;
  }

  /** A raw gor value (`<meta line> LF <payload>`) and its key (a latin1 string, e.g. the id), if any. Call reserve(rawRecordSize()) first. */
  addRaw(meta: Meta, data: Buffer, key: string | null): void {
    const at = this.size;
    const end = at + copyMetaLine(meta, this.bytes, at);
    this.bytes[end] = 0x0a;
    this.size = end + 1 + data.copy(this.bytes, end + 1);
    this.span(at, key);
  }

  /** An encoded value (and key). Call reserve() first. */
  addValue(value: Buffer, key: string | null): void {
    const at = this.size;
    this.size += value.copy(this.bytes, at);
    this.span(at, key);
  }

  private span(valueAt: number, key: string | null): void {
    if (4 * this.count === this.spans.length) {
      const grown = new Int32Array(this.spans.length * 2);
      grown.set(this.spans);
      this.spans = grown;
    }
    const s = 4 * this.count++;
    this.spans[s] = valueAt;
    this.spans[s + 1] = this.size - valueAt;
    if (key === null) {
      this.spans[s + 2] = -1;
      this.spans[s + 3] = 0;
    } else {
      this.spans[s + 2] = this.size;
      this.size += this.bytes.write(key, this.size, 'latin1');
      this.spans[s + 3] = this.size - this.spans[s + 2]!;
    }
  }
}

/** Bytes a raw value and its key take in a batch. */
export function rawRecordSize(meta: Meta, data: Buffer, key: string | null): number {
  return metaLineLength(meta) + 1 + data.length + (key === null ? 0 : key.length);
}

/** A batch from records (tests, tools). */
export function batchOf(records: readonly ProducedRecord[]): RecordBatch {
  const size = records.reduce((n, r) => n + r.value.length + (r.key?.length ?? 0), 0);
  const builder = new RecordBatchBuilder(size, records.length);
  for (const r of records) builder.addValue(r.value, r.key === null ? null : r.key.toString('latin1'));
  return builder;
}

/** The records of a batch, as views of its buffer (for clients that take one Buffer per value and key). */
export function recordsOf(batch: RecordBatch): ProducedRecord[] {
  const { bytes, spans } = batch;
  const out: ProducedRecord[] = new Array(batch.count);
  for (let i = 0, s = 0; i < batch.count; i++, s += 4) {
    const keyAt = spans[s + 2]!;
    out[i] = {
      value: bytes.subarray(spans[s]!, spans[s]! + spans[s + 1]!),
      key: keyAt < 0 ? null : bytes.subarray(keyAt, keyAt + spans[s + 3]!),
    };
  }
  return out;
}

/** Records `from` to `to` (exclusive) of a batch, as a batch sharing its buffer (spans are offsets into it). */
export function sliceBatch(batch: RecordBatch, from: number, to: number): RecordBatch {
  const spans = batch.spans.subarray(4 * from, 4 * to);
  let size = 0;
  for (let s = 0; s < spans.length; s += 4) size += spans[s + 1]! + Math.max(0, spans[s + 3]!);
  return { bytes: batch.bytes, spans, count: to - from, size };
}
