/**
 * One direction of one connection: turns that sender's segments into in-order bytes, gaps and an end.
 *
 * Positions are kept twice: `nextSeq` (TCP's unsigned 32-bit sequence number of the next byte expected)
 * and `nextOffset` (the same position as an absolute stream offset, a plain number that never wraps).
 * A segment is placed by its signed 32-bit distance from `nextSeq`, which is what makes wrap-around at
 * 2^32 a non-event. Segments at the expected position are delivered as views without copying; segments
 * ahead of a hole wait in a `ReorderBuffer` until the hole fills or the assembler gives up on it.
 */

import type { Flow } from './flow.js';
import type { DirectionTuple } from './flow-key.js';
import { ReorderBuffer } from './reorder-buffer.js';
import type { AssemblerStats } from './stats.js';
import type {
  ChunkMeta,
  EndReason,
  GapReason,
  StreamConsumer,
  StreamFactory,
  StreamSide,
  TcpConnection,
} from './types.js';

/** The mutable `ChunkMeta` an assembler reuses for every delivered chunk. */
export class ChunkMetaScratch implements ChunkMeta {
  offset = 0;
  seq = 0;
  ack = 0;
  ackValid = false;
  tsNs = 0n;
}

/** Settings and counters shared by every stream of one assembler. */
export interface StreamContext {
  readonly stats: AssemblerStats;
  /** The one `ChunkMeta` every `data` call of this assembler gets, overwritten each time (see ChunkMeta). */
  readonly chunkMeta: ChunkMetaScratch;
  readonly onStream: StreamFactory;
  readonly reorderTimeoutNs: bigint;
  readonly missingHoldNs: bigint;
  readonly maxStreamBufferBytes: number;
  readonly maxStreamBufferSegments: number;
}

/** Segments farther than this from the expected position cannot belong to the stream (max scaled window). */
const WINDOW = 0x40000000;
/** Skipped holes remembered to tell "late" data from ordinary retransmissions. */
const RECENT_GAPS = 4;

export class Stream implements DirectionTuple {
  /** The other direction of the same connection, and the flow both belong to. Set by `Flow`. */
  peer!: Stream;
  flow!: Flow;
  /** Next stream whose flow-table hash collides with this one's (see `FlowTable`). */
  chain: Stream | null = null;

  /** This direction's 4-tuple, sender first. */
  readonly srcIp: string;
  readonly srcIp4: number;
  readonly srcPort: number;
  readonly dstIp: string;
  readonly dstIp4: number;
  readonly dstPort: number;
  readonly tunnel: number;
  readonly vlan: number;

  /** A SYN, data or FIN fixed the start position. */
  started = false;
  /** No more bytes will be accepted: `end` was delivered (or would have been, had a consumer existed). */
  ended = false;
  synSeen = false;
  /** The SYN's sequence number, when `synSeen`. */
  isn = 0;
  nextSeq = 0;
  nextOffset = 0;
  /** Stream offset of the sender's FIN, or -1. */
  finOffset = -1;

  private buf: ReorderBuffer | null = null;
  /** When the current hole became known (only meaningful while `hasHole`). */
  private holeSinceNs = 0n;
  /**
   * The receiver said it misses the current hole (it ACKed the hole's start after the data beyond it was
   * seen): a loss on the network, which the sender will retransmit, not one of the capture's.
   */
  private holeMissed = false;
  /** The last delivered bytes came from a snaplen-truncated segment: the bytes after them are lost. */
  private lossPending = false;
  /** [start, end) offset pairs of recently skipped holes. */
  private recentGaps: number[] | null = null;
  /** Sequence number just past the last data segment taken for a stray (out of the window), when `strayValid`. */
  private strayNext = 0;
  private strayValid = false;
  private consumer: StreamConsumer | undefined = undefined;
  private consumerMade = false;

  constructor(
    private readonly ctx: StreamContext,
    readonly conn: TcpConnection,
    readonly side: StreamSide,
  ) {
    const fromClient = side === 'client';
    this.srcIp = fromClient ? conn.clientIp : conn.serverIp;
    this.srcIp4 = fromClient ? conn.clientIp4 : conn.serverIp4;
    this.srcPort = fromClient ? conn.clientPort : conn.serverPort;
    this.dstIp = fromClient ? conn.serverIp : conn.clientIp;
    this.dstIp4 = fromClient ? conn.serverIp4 : conn.clientIp4;
    this.dstPort = fromClient ? conn.serverPort : conn.clientPort;
    this.tunnel = conn.tunnel;
    this.vlan = conn.vlan;
  }

  /** Started and not ended: closing it now would lose or cut something. */
  get open(): boolean {
    return this.started && !this.ended;
  }

  /** Bytes are missing before data or a FIN that has already arrived. */
  get hasHole(): boolean {
    return (this.buf !== null && this.buf.count > 0) || this.finOffset > this.nextOffset;
  }

  get bufferedBytes(): number {
    return this.buf === null ? 0 : this.buf.bytes;
  }

  /**
   * A SYN, FIN or data segment from this direction's sender. `syn`/`fin` are the segment's flags;
   * `ack` is meaningful only when `ackValid`.
   */
  receive(
    seq: number,
    ack: number,
    ackValid: boolean,
    syn: boolean,
    fin: boolean,
    payload: Buffer,
    truncated: boolean,
    tsNs: bigint,
  ): void {
    const stats = this.ctx.stats;
    const len = payload.length;
    if (this.ended) {
      if (len > 0) stats.afterCloseSegments++;
      return;
    }
    // Data of a SYN (TCP Fast Open) starts one past the SYN's own sequence number.
    const dataSeq = syn ? (seq + 1) >>> 0 : seq;
    if (!this.started) {
      this.started = true;
      this.nextSeq = dataSeq;
      if (syn) {
        this.synSeen = true;
        this.isn = seq;
      } else if (len === 1 && payload[0] === 0 && !fin) {
        // A lone zero byte opening a mid-stream capture is almost surely a keepalive probe (it repeats the
        // last byte already acknowledged, one below the real next sequence number; gor drops all-zero
        // payloads too). Taking it as data would glue a NUL to the front of the next message.
        this.nextSeq = (dataSeq + 1) >>> 0;
        stats.keepalives++;
        return;
      } else if (len > 0) {
        stats.midstreamStarts++;
      }
    } else if (syn && !this.synSeen) {
      this.synSeen = true;
      this.isn = seq;
    }
    let rel = (dataSeq - this.nextSeq) | 0;
    if (rel >= WINDOW || rel < -WINDOW) {
      if (len === 0 || truncated || !this.resumesFar(dataSeq, len, tsNs)) {
        stats.outOfWindowSegments++;
        return;
      }
      rel = 0;
    } else if (len > 0) {
      this.strayValid = false;
    }
    const offset = this.nextOffset + rel;
    if (len > 0) this.onData(offset, dataSeq, ack, ackValid, payload, truncated, tsNs);
    if (fin && !this.ended) this.onFin(offset + len, tsNs);
  }

  private onData(
    offset: number,
    seq: number,
    ack: number,
    ackValid: boolean,
    payload: Buffer,
    truncated: boolean,
    tsNs: bigint,
  ): void {
    const stats = this.ctx.stats;
    let data = payload;
    let end = offset + data.length;
    if (this.finOffset >= 0 && end > this.finOffset) {
      // The sender said its stream ends at the FIN: anything beyond is bogus.
      stats.afterCloseSegments++;
      if (offset >= this.finOffset) return;
      data = data.subarray(0, this.finOffset - offset);
      end = this.finOffset;
      truncated = false;
    }
    const next = this.nextOffset;
    if (end <= next) {
      // A keepalive probe carries one garbage byte just below the next expected sequence number.
      if (end - offset === 1 && end === next) stats.keepalives++;
      else this.countRetransmitted(this.countOld(offset, end));
      return;
    }
    if (offset > next) {
      // Ahead of a hole: wait in the buffer.
      stats.outOfOrderSegments++;
      const hadHole = this.hasHole;
      this.countRetransmitted(this.stash(offset, seq, ack, ackValid, tsNs, data, truncated));
      if (!hadHole) this.newHole(tsNs);
      this.enforceStreamBounds(tsNs);
      if (this.lossPending) this.advance(tsNs);
      return;
    }
    // In order, perhaps with a head we already have. Bytes already buffered beyond win (first seen).
    const head = next - offset;
    let again = head > 0 ? this.countOld(offset, next) : 0;
    let stop = data.length;
    const buf = this.buf;
    if (buf !== null && buf.count > 0 && buf.first().offset < end) stop = buf.first().offset - offset;
    const chunk = head === 0 && stop === data.length ? data : data.subarray(head, stop);
    this.deliver(chunk, (seq + head) >>> 0, ack, ackValid, tsNs);
    this.lossPending = truncated && stop === data.length;
    if (stop < data.length) {
      again += this.stash(offset + stop, (seq + stop) >>> 0, ack, ackValid, tsNs, data.subarray(stop), truncated);
    }
    this.countRetransmitted(again);
    this.advance(tsNs);
    if (this.hasHole) this.newHole(tsNs);
  }

  /**
   * A data segment more than a window from the expected position is taken for a stray (stale or forged) and
   * dropped, unless the one before it was dropped so too and this one starts where that one ended: then the
   * sender's stream really goes on there (the capture lost over a GiB of it), so what is held is delivered
   * behind its holes and everything up to this segment is a gap, the dropped segment's bytes with it (not
   * held: a forged stray in each of 200,000 flows would hold that many segments). True when the stream moved
   * to `dataSeq`.
   */
  private resumesFar(dataSeq: number, len: number, tsNs: bigint): boolean {
    const goesOn = this.strayValid && dataSeq === this.strayNext;
    this.strayNext = (dataSeq + len) >>> 0;
    this.strayValid = !goesOn;
    if (!goesOn) return false;
    while (this.skipHole('jump', tsNs)) {
      // each pass skips one hole and delivers what follows it
    }
    if (this.ended || this.finOffset >= 0) return false;
    this.lossPending = false;
    this.gap((dataSeq - this.nextSeq) >>> 0, 'jump', tsNs);
    this.resetHoleClock(tsNs);
    return true;
  }

  private onFin(finOffset: number, tsNs: bigint): void {
    // Keep the first FIN; a FIN before bytes already delivered contradicts them and is ignored.
    if (this.finOffset >= 0 || finOffset < this.nextOffset) return;
    const hadHole = this.hasHole;
    this.finOffset = finOffset;
    if (this.buf !== null) {
      const dropped = this.buf.truncateAt(finOffset);
      if (dropped > 0) {
        this.ctx.stats.bufferedBytes -= dropped;
        this.ctx.stats.afterCloseSegments++;
      }
    }
    if (!hadHole) this.newHole(tsNs);
    this.advance(tsNs);
  }

  /**
   * The peer acknowledged every byte before `ack`, so missing bytes below it reached the receiver and will
   * never be retransmitted: the capture lost them. Skip them now instead of waiting for a timeout.
   */
  ackedUpTo(ack: number, tsNs: bigint): void {
    if (!this.started || this.ended) return;
    const rel = (ack - this.nextSeq) | 0;
    if (rel === 0 && this.hasHole) this.holeMissed = true;
    if (rel <= 0 || rel >= WINDOW) return;
    const holeEnd = this.holeEnd();
    // With nothing received past the missing bytes, an ACK exactly one past them may only acknowledge a
    // FIN the capture did not see: not worth a gap.
    if (holeEnd < 0 && rel === 1 && !this.lossPending) return;
    const acked = this.nextOffset + rel;
    const target = holeEnd < 0 ? acked : Math.min(acked, holeEnd);
    const reason = this.lossPending ? 'truncated' : 'acked';
    this.lossPending = false;
    this.gap(target - this.nextOffset, reason, tsNs);
    this.advance(tsNs);
    this.resetHoleClock(tsNs);
  }

  /**
   * Skips the first hole if it has been open longer than the reorder timeout, or than `missingHoldNs` when
   * the receiver said it misses it (the sender will send it again).
   */
  checkTimeout(tsNs: bigint): void {
    const ctx = this.ctx;
    while (
      this.hasHole &&
      !this.ended &&
      tsNs - this.holeSinceNs >
        (this.holeMissed && ctx.missingHoldNs > ctx.reorderTimeoutNs ? ctx.missingHoldNs : ctx.reorderTimeoutNs)
    ) {
      this.skipHole('timeout', tsNs);
    }
  }

  /** Gives up on the first hole: reports it as a gap and delivers what follows it. False if there is none. */
  skipHole(reason: GapReason, tsNs: bigint): boolean {
    if (this.ended) return false;
    const target = this.holeEnd();
    if (target < 0) return false;
    this.gap(target - this.nextOffset, reason, tsNs);
    this.advance(tsNs);
    this.resetHoleClock(tsNs);
    return true;
  }

  /**
   * Ends the stream now (RST, expiry, eviction, reuse, end of input): what is buffered is delivered
   * behind gaps, then `end`. A stream that never started is just marked ended, so late packets of a
   * reset connection cannot start it afresh.
   */
  close(reason: EndReason, tsNs: bigint): void {
    if (this.ended) return;
    if (!this.started) {
      this.ended = true;
      return;
    }
    while (this.skipHole(reason, tsNs)) {
      // each pass skips one hole and delivers what follows it
    }
    if (this.ended) return;
    if (this.lossPending) {
      this.lossPending = false;
      this.gap(null, 'truncated', tsNs);
    }
    this.finish(this.finOffset >= 0 ? 'fin' : reason);
  }

  /** Where the first hole ends: the first buffered piece, else a FIN beyond the delivered bytes, else -1. */
  private holeEnd(): number {
    if (this.buf !== null && this.buf.count > 0) return this.buf.first().offset;
    return this.finOffset > this.nextOffset ? this.finOffset : -1;
  }

  /** After a skip, the new first hole has been known since the oldest piece still waiting arrived. */
  private resetHoleClock(tsNs: bigint): void {
    this.holeSinceNs = (this.buf !== null ? this.buf.oldestTs() : undefined) ?? tsNs;
    this.holeMissed = false;
  }

  /** A hole starts (or the first hole moved): known since now, and no ACK said it is missed yet. */
  private newHole(tsNs: bigint): void {
    this.holeSinceNs = tsNs;
    this.holeMissed = false;
  }

  /** Delivers buffered pieces that are now in order, skips truncation losses, and ends at the FIN. */
  private advance(tsNs: bigint): void {
    const buf = this.buf;
    for (;;) {
      while (buf !== null && buf.count > 0 && buf.first().offset === this.nextOffset) {
        const p = buf.shift();
        this.ctx.stats.bufferedBytes -= p.data.length;
        this.deliver(p.data, p.seq, p.ack, p.ackValid, p.tsNs);
        this.lossPending = p.truncated;
      }
      if (!this.lossPending) break;
      // The snaplen ate the tail of the last segment: its length is known only once later data shows where
      // the stream resumes. Until then, wait.
      const target = this.holeEnd();
      if (target < 0) break;
      this.lossPending = false;
      this.gap(target - this.nextOffset, 'truncated', tsNs);
    }
    if (this.finOffset >= 0 && this.nextOffset >= this.finOffset) this.finish('fin');
  }

  /** Buffers out-of-order bytes; returns how many overlapped bytes already held. */
  private stash(
    offset: number,
    seq: number,
    ack: number,
    ackValid: boolean,
    tsNs: bigint,
    data: Buffer,
    truncated: boolean,
  ): number {
    if (this.buf === null) this.buf = new ReorderBuffer();
    const added = this.buf.insert(offset, seq, ack, ackValid, tsNs, data, truncated);
    this.ctx.stats.bufferedBytes += added;
    if (this.buf.lastConflict) this.ctx.stats.conflictingOverlaps++;
    return data.length - added;
  }

  private enforceStreamBounds(tsNs: bigint): void {
    const { maxStreamBufferBytes, maxStreamBufferSegments } = this.ctx;
    const over = (): boolean =>
      this.buf !== null && (this.buf.bytes > maxStreamBufferBytes || this.buf.count > maxStreamBufferSegments);
    if (!over()) return;
    this.ctx.stats.bufferLimitHits++;
    while (over()) if (!this.skipHole('buffer-limit', tsNs)) break;
  }

  /**
   * Bytes at offsets before `nextOffset` arrived again. Those that fall in a hole already skipped are
   * counted as late here; the rest (an ordinary retransmission) are returned for the caller to count.
   */
  private countOld(offset: number, end: number): number {
    const stats = this.ctx.stats;
    let late = 0;
    const gaps = this.recentGaps;
    if (gaps !== null) {
      for (let i = 0; i < gaps.length; i += 2) {
        const a = Math.max(offset, gaps[i]!);
        const b = Math.min(end, gaps[i + 1]!);
        if (b > a) late += b - a;
      }
    }
    if (late > 0) {
      stats.lateSegments++;
      stats.lateBytes += late;
    }
    return end - offset - late;
  }

  /** One segment carried `bytes` bytes already received (none: nothing to count). */
  private countRetransmitted(bytes: number): void {
    if (bytes <= 0) return;
    this.ctx.stats.retransmittedSegments++;
    this.ctx.stats.retransmittedBytes += bytes;
  }

  private deliver(chunk: Buffer, seq: number, ack: number, ackValid: boolean, tsNs: bigint): void {
    const offset = this.nextOffset;
    this.nextOffset = offset + chunk.length;
    this.nextSeq = (seq + chunk.length) >>> 0;
    this.ctx.stats.bytesDelivered += chunk.length;
    const consumer = this.consumerMade ? this.consumer : this.makeConsumer();
    if (consumer !== undefined) {
      const meta = this.ctx.chunkMeta;
      meta.offset = offset;
      meta.seq = seq;
      meta.ack = ack;
      meta.ackValid = ackValid;
      meta.tsNs = tsNs;
      consumer.data(chunk, meta);
    }
  }

  private gap(length: number | null, reason: GapReason, tsNs: bigint): void {
    const stats = this.ctx.stats;
    const offset = this.nextOffset;
    const seq = this.nextSeq;
    stats.gaps++;
    if (length === null) {
      stats.unknownGaps++;
    } else {
      stats.bytesLost += length;
      this.nextOffset = offset + length;
      this.nextSeq = (seq + length) >>> 0;
      const gaps = this.recentGaps ?? [];
      if (gaps.length >= RECENT_GAPS * 2) gaps.splice(0, 2);
      gaps.push(offset, offset + length);
      this.recentGaps = gaps;
    }
    if (reason === 'timeout') stats.gapsTimeout++;
    else if (reason === 'acked') stats.gapsAcked++;
    else if (reason === 'buffer-limit') stats.gapsBufferLimit++;
    else if (reason === 'truncated') stats.gapsTruncated++;
    const consumer = this.consumerMade ? this.consumer : this.makeConsumer();
    if (consumer !== undefined) consumer.gap(length, { offset, seq, tsNs, reason });
  }

  private finish(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.lossPending = false;
    if (this.buf !== null) {
      this.ctx.stats.bufferedBytes -= this.buf.bytes;
      this.buf = null;
    }
    // Only a stream that received something has a consumer to tell.
    if (this.consumerMade && this.consumer !== undefined) this.consumer.end(reason);
  }

  private makeConsumer(): StreamConsumer | undefined {
    this.consumerMade = true;
    this.consumer = this.ctx.onStream(this.conn, this.side);
    return this.consumer;
  }
}
