/**
 * The chunks of one stream direction from the oldest byte a pending message may still start at: what a
 * message's id (the ACK or SEQ of its first byte) and timestamp are read from once the splitter reports it.
 *
 * It keeps the assembler's own `ChunkMeta` objects (not reused, so they may be kept) and their end offsets
 * in a parallel number array, and forgets old entries by moving a head index: adding and trimming allocate
 * nothing (an object per chunk and an array per trim were measurable garbage at 50k messages a second).
 *
 *   metas: [ m0 | m1 | m2 | m3 ]      head → first kept entry; compacted in place once half is dead
 *   ends:  [ e0 | e1 | e2 | e3 ]      ends[i] = metas[i].offset + chunk length
 */
import type { ChunkMeta } from '../../tcp/types.js';

/** Dead entries tolerated before the arrays are compacted. */
const COMPACT_AT = 64;

export class ChunkLog {
  private metas: ChunkMeta[] = [];
  private ends: number[] = [];
  private head = 0;

  get size(): number {
    return this.metas.length - this.head;
  }

  add(meta: ChunkMeta, length: number): void {
    this.metas.push(meta);
    this.ends.push(meta.offset + length);
  }

  /** Forgets chunks that end at or before `offset`, always keeping the latest one. */
  trimBefore(offset: number): void {
    const ends = this.ends;
    const last = ends.length - 1;
    let h = this.head;
    while (h < last && ends[h]! <= offset) h++;
    this.head = h;
    if (h >= COMPACT_AT && h * 2 >= ends.length) {
      this.metas.copyWithin(0, h);
      this.metas.length -= h;
      ends.copyWithin(0, h);
      ends.length -= h;
      this.head = 0;
    }
  }

  /** The chunk that carried the byte at `offset` (or the first one after it, when it fell in a gap); else the latest. */
  at(offset: number): ChunkMeta | undefined {
    const ends = this.ends;
    for (let i = this.head; i < ends.length; i++) if (ends[i]! > offset) return this.metas[i];
    return ends.length > this.head ? this.metas[ends.length - 1] : undefined;
  }

  clear(): void {
    this.metas = [];
    this.ends = [];
    this.head = 0;
  }
}
