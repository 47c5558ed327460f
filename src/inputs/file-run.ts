/**
 * A raw run of a `.gor` file (core/plugin.ts, "Raw runs"): records the input hands to the pipeline as their
 * bytes, without an object each. Its segments are ranges of RawSpans (records the native scanner found
 * whole, side by side in one chunk) and single records (read by the JavaScript reader: a record cut by the
 * end of a chunk, or one already in the read-ahead window), in output order.
 *
 *   segments ─▶ parts: views of the chunks (adjacent views merged, so a run in one mapped window is one
 *               Buffer); single records as their raw bytes, or encoded as the file output would encode them
 *            ─▶ records(): the same record objects the reader would have made (for outputs that need them)
 */
import { encodeRecord, type GorRecord, messageKey, payloadLength, type RawSpan } from '../core/gor-format.js';
import type { Message } from '../core/message.js';
import type { FileBytes, RawRun } from '../core/plugin.js';

/** Records `[from, to)` of a span. */
export class SpanRange {
  constructor(
    readonly span: RawSpan,
    readonly from: number,
    readonly to: number,
  ) {}
}

export type RunSegment = SpanRange | GorRecord;

/** What every run of this file has; the constructors fill it in. */
abstract class RunFields implements RawRun {
  readonly kind = 'raw-run' as const;
  count = 0;
  payloadBytes = 0;
  maxPayload = 0;
  bytes = 0;
  readonly parts: Buffer[] = [];
  sources?: (FileBytes | undefined)[];
  abstract readonly sizes: number[];
  abstract records(): Message[];
  abstract slice(start: number, end: number): RawRun;
}

/**
 * The per-record sizes and payload lengths are made when first asked for (chunked outputs and slices ask;
 * an appending copy never does): a copy of a million records spent ~60 ms making them and more in collecting
 * them.
 */
export class FileRun extends RunFields {
  private perRecord: { sizes: number[]; payloads: number[] } | undefined;

  /** `locate`: where a part is in the input file, when it is a view of a mapping of it. */
  constructor(
    private readonly segments: readonly RunSegment[],
    locate?: (part: Buffer) => FileBytes | undefined,
  ) {
    super();
    let count = 0;
    let payload = 0;
    let max = 0;
    let bytes = 0;
    for (const seg of segments) {
      let view: Buffer;
      if (seg instanceof SpanRange) {
        const { span, from, to } = seg;
        for (let i = from; i < to; i++) {
          const n = span.payloadLength(i);
          payload += n;
          if (n > max) max = n;
        }
        count += to - from;
        view = span.buf.subarray(span.start(from), span.end(to - 1));
      } else {
        const n = payloadLength(seg);
        payload += n;
        if (n > max) max = n;
        count++;
        // Raw bytes when the reader kept them; otherwise encoded, as the file output encodes such a record.
        view = seg.rawBuf !== undefined ? seg.rawBuf.subarray(seg.rawStart!, seg.rawEnd!) : encodeRecord(seg);
      }
      bytes += view.length;
      this.append(view);
    }
    this.count = count;
    this.payloadBytes = payload;
    this.maxPayload = max;
    this.bytes = bytes;
    if (locate) this.sources = this.parts.map(locate);
  }

  /**
   * Adds a view; one that continues the last part in memory extends it instead. A record cut by a chunk
   * boundary comes encoded (its pieces were joined); when the chunks are views of one mapping, the bytes
   * between the part before it and this view are that record itself (checked), and the three become one.
   */
  private append(view: Buffer): void {
    const parts = this.parts;
    const n = parts.length;
    const last = parts[n - 1];
    if (last !== undefined && last.buffer === view.buffer && last.byteOffset + last.length === view.byteOffset) {
      parts[n - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + view.length);
      return;
    }
    const before = parts[n - 2];
    if (
      before !== undefined &&
      last !== undefined &&
      before.buffer === view.buffer &&
      before.byteOffset + before.length + last.length === view.byteOffset &&
      Buffer.from(view.buffer, before.byteOffset + before.length, last.length).equals(last)
    ) {
      parts.length = n - 2;
      parts.push(Buffer.from(view.buffer, before.byteOffset, before.length + last.length + view.length));
      return;
    }
    parts.push(view);
  }

  /** Encoded size of each record, in order. */
  get sizes(): number[] {
    return this.made().sizes;
  }

  /** Payload length of each record. */
  get payloads(): number[] {
    return this.made().payloads;
  }

  private made(): { sizes: number[]; payloads: number[] } {
    if (this.perRecord) return this.perRecord;
    const sizes: number[] = [];
    const payloads: number[] = [];
    for (const seg of this.segments) {
      if (seg instanceof SpanRange) {
        for (let i = seg.from; i < seg.to; i++) {
          payloads.push(seg.span.payloadLength(i));
          sizes.push(seg.span.sizeOf(i));
        }
      } else {
        payloads.push(payloadLength(seg));
        sizes.push(seg.rawBuf !== undefined ? seg.rawEnd! - seg.rawStart! : encodeRecord(seg).length);
      }
    }
    this.perRecord = { sizes, payloads };
    return this.perRecord;
  }

  /**
   * Hands every record's timestampKey(), in order, to the input's wait counters: `range` takes a span's keys
   * at once (no call per record), `one` a single record's.
   */
  forEachKey(range: (keys: Float64Array, from: number, to: number) => void, one: (key: number) => void): void {
    for (const seg of this.segments) {
      if (seg instanceof SpanRange) range(seg.span.keys, seg.from, seg.to);
      else one(messageKey(seg));
    }
  }

  slice(start: number, end: number): RawRun {
    return new RunPiece(this, start, end);
  }

  records(): GorRecord[] {
    const out: GorRecord[] = [];
    for (const seg of this.segments) {
      if (seg instanceof SpanRange) for (let i = seg.from; i < seg.to; i++) out.push(seg.span.record(i));
      else out.push(seg);
    }
    return out;
  }
}

/** Records `[start, end)` of a FileRun: views of its parts. */
class RunPiece extends RunFields {
  readonly sizes: number[];

  constructor(
    private readonly whole: FileRun,
    private readonly start: number,
    private readonly end: number,
  ) {
    super();
    let from = 0;
    for (let i = 0; i < start; i++) from += whole.sizes[i]!;
    let to = from;
    let payload = 0;
    let max = 0;
    for (let i = start; i < end; i++) {
      to += whole.sizes[i]!;
      const n = whole.payloads[i]!;
      payload += n;
      if (n > max) max = n;
    }
    this.count = end - start;
    this.payloadBytes = payload;
    this.maxPayload = max;
    this.bytes = to - from;
    this.sizes = whole.sizes.slice(start, end);
    if (whole.sources) this.sources = [];
    let at = 0; // where the current part starts in the whole run
    whole.parts.forEach((part, i) => {
      const a = Math.max(from, at) - at;
      const b = Math.min(to, at + part.length) - at;
      if (b > a) {
        this.parts.push(part.subarray(a, b));
        const where = whole.sources?.[i];
        this.sources?.push(where ? { ...where, offset: where.offset + a } : undefined);
      }
      at += part.length;
    });
  }

  records(): Message[] {
    return this.whole.records().slice(this.start, this.end);
  }

  slice(start: number, end: number): RawRun {
    return this.whole.slice(this.start + start, this.start + end);
  }
}
