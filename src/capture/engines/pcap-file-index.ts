/**
 * Classic pcap records as an index instead of objects: the reader's batches for the native flow core
 * (PacketBatchView 'indexed'). The parser writes 5 numbers a record (offset in its buffer, captured
 * length, length on the wire, seconds, second fraction as stored); a packet object is made only for the
 * packets the caller asks for.
 *
 *   ClassicParser ──add(buf, …)──▶ IndexSink ──take()──▶ one IndexedBatchView per buffer parsed
 */
import { viewOf } from '../buffer-view.js';
import type { PacketBatchView, RawPacket } from '../types.js';

const WORDS = 5;

export class IndexedBatchView implements PacketBatchView {
  readonly kind = 'indexed';

  /** `fracToNs`: 1000 for microsecond files, 1 for nanosecond ones. */
  constructor(
    readonly buffer: Buffer,
    readonly index: Uint32Array,
    readonly count: number,
    readonly linkType: number,
    readonly fracToNs: number,
  ) {}

  packet(i: number): RawPacket {
    const ix = this.index;
    const w = i * WORDS;
    return {
      tsNs: BigInt(ix[w + 3]!) * 1_000_000_000n + BigInt(ix[w + 4]! * this.fracToNs),
      linkType: this.linkType,
      data: viewOf(this.buffer, ix[w]!, ix[w + 1]!),
      origLen: ix[w + 2]!,
    };
  }

  packets(): RawPacket[] {
    const out: RawPacket[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.packet(i);
    return out;
  }
}

export class IndexSink {
  private views: IndexedBatchView[] = [];
  private index = new Uint32Array(WORDS * 1024);
  private n = 0;
  private buf: Buffer | null = null;
  private linkType = 0;
  private fracToNs = 1000;

  add(
    buf: Buffer,
    linkType: number,
    fracToNs: number,
    offset: number,
    caplen: number,
    origLen: number,
    sec: number,
    frac: number,
  ): void {
    if (buf !== this.buf) {
      this.seal();
      this.buf = buf;
      this.linkType = linkType;
      this.fracToNs = fracToNs;
    }
    let w = this.n * WORDS;
    if (w + WORDS > this.index.length) {
      const grown = new Uint32Array(this.index.length * 2);
      grown.set(this.index);
      this.index = grown;
    }
    const ix = this.index;
    ix[w++] = offset;
    ix[w++] = caplen;
    ix[w++] = origLen;
    ix[w++] = sec;
    ix[w] = frac;
    this.n++;
  }

  /** The views made since the last call, in record order. */
  take(): IndexedBatchView[] {
    this.seal();
    const v = this.views;
    this.views = [];
    return v;
  }

  private seal(): void {
    if (this.n > 0 && this.buf !== null) {
      this.views.push(
        new IndexedBatchView(this.buf, this.index.slice(0, this.n * WORDS), this.n, this.linkType, this.fracToNs),
      );
    }
    this.n = 0;
    this.buf = null;
  }
}
