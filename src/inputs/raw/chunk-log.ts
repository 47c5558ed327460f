/**
 * The chunks of one stream direction from the oldest byte a pending message may still start at: what a
 * message's id (the ACK or SEQ of its first byte) and timestamp are read from once the splitter reports it.
 *
 * The assembler's `ChunkMeta` is valid only during its `data` call, so the fields are copied into parallel
 * arrays (numbers stay unboxed, nothing is allocated per chunk). Old entries are forgotten by moving a head
 * index and the few live ones are moved back to slot 0, reusing the slots instead of changing the arrays'
 * length (growing and shrinking reallocates their stores): adding and trimming allocate nothing. An object
 * per chunk and an array per trim were measurable garbage at 50k messages a second.
 *
 *   offsets/ends/seqs/acks/ts: [ dead | dead | c2 | c3 | (free) ]   live = [head, n)
 */
import type { ChunkMeta } from '../../tcp/types.js';

/** Entries moved down at a trim when at most this many are still live (the usual case is one). */
const MOVE_AT_MOST = 8;
/** Dead entries tolerated before live ones are moved down anyway. */
const COMPACT_AT = 64;
/** Arrays grown past this (one long message in many chunks) are dropped once it is done. */
const SHRINK_ABOVE = 4096;

/** One logged chunk, as `at()` returns it. */
export interface ChunkRef {
  readonly offset: number;
  readonly seq: number;
  readonly ack: number;
  readonly tsNs: bigint;
}

export class ChunkLog {
  private offsets: number[] = [];
  private ends: number[] = [];
  private seqs: number[] = [];
  private acks: number[] = [];
  private ts: bigint[] = [];
  /** Live entries are [head, n); slots past n are reused (never shrinking `length`, which reallocates). */
  private head = 0;
  private n = 0;
  /** What `at()` returns, overwritten by the next call. */
  private readonly found = { offset: 0, seq: 0, ack: 0, tsNs: 0n };

  get size(): number {
    return this.n - this.head;
  }

  add(meta: ChunkMeta, length: number): void {
    const i = this.n++;
    if (i < this.ends.length) {
      this.offsets[i] = meta.offset;
      this.ends[i] = meta.offset + length;
      this.seqs[i] = meta.seq;
      this.acks[i] = meta.ack;
      this.ts[i] = meta.tsNs;
    } else {
      this.offsets.push(meta.offset);
      this.ends.push(meta.offset + length);
      this.seqs.push(meta.seq);
      this.acks.push(meta.ack);
      this.ts.push(meta.tsNs);
    }
  }

  /** Forgets chunks that end at or before `offset`, always keeping the latest one. */
  trimBefore(offset: number): void {
    const ends = this.ends;
    const n = this.n;
    let h = this.head;
    while (h < n - 1 && ends[h]! <= offset) h++;
    this.head = h;
    if (h === 0 || (n - h > MOVE_AT_MOST && h < COMPACT_AT)) return;
    const live = n - h;
    if (ends.length > SHRINK_ABOVE && live <= MOVE_AT_MOST) {
      this.offsets = this.offsets.slice(h, n);
      this.ends = ends.slice(h, n);
      this.seqs = this.seqs.slice(h, n);
      this.acks = this.acks.slice(h, n);
      this.ts = this.ts.slice(h, n);
    } else {
      for (let j = 0; j < live; j++) {
        this.offsets[j] = this.offsets[h + j]!;
        ends[j] = ends[h + j]!;
        this.seqs[j] = this.seqs[h + j]!;
        this.acks[j] = this.acks[h + j]!;
        this.ts[j] = this.ts[h + j]!;
      }
    }
    this.head = 0;
    this.n = live;
  }

  /**
   * The chunk that carried the byte at `offset` (or the first one after it, when it fell in a gap), else the
   * latest; undefined when empty. The object is reused: read it before the next call.
   */
  at(offset: number): ChunkRef | undefined {
    const ends = this.ends;
    const n = this.n;
    let i = this.head;
    while (i < n && ends[i]! <= offset) i++;
    if (i === n) i = n - 1;
    if (i < this.head) return undefined;
    const f = this.found;
    f.offset = this.offsets[i]!;
    f.seq = this.seqs[i]!;
    f.ack = this.acks[i]!;
    f.tsNs = this.ts[i]!;
    return f;
  }

  clear(): void {
    this.offsets = [];
    this.ends = [];
    this.seqs = [];
    this.acks = [];
    this.ts = [];
    this.head = 0;
    this.n = 0;
  }
}
