/**
 * IP fragment reassembly (IPv4 and IPv6), bounded in memory and time.
 *
 *   fragment ──▶ table[key] ──(all bytes 0..total present)──▶ one contiguous payload (a copy)
 *                   │
 *                   ├─ timeout (packet time since the first piece) ──▶ dropped as fragment-expired
 *                   └─ too many datagrams or bytes held ──▶ oldest dropped as fragment-evicted
 *
 * Pieces are copied when held so that a pending fragment does not pin a whole 1 MiB read chunk. Overlaps
 * other than exact duplicates discard the datagram (RFC 5722's rule, and the safe one for IPv4 too:
 * overlapping fragments are an evasion trick, and no honest sender produces them).
 */
import type { DropReason } from './reasons.js';

export interface FragmentLimits {
  /** Datagrams being reassembled at once (default 1024). */
  maxDatagrams: number;
  /** Bytes held across all of them (default 16 MiB). */
  maxBytes: number;
  /** Packet-time budget from a datagram's first piece to its completion (default 30 s, as Linux). */
  timeoutNs: bigint;
}

export const DEFAULT_FRAGMENT_LIMITS: FragmentLimits = {
  maxDatagrams: 1024,
  maxBytes: 16 * 1024 * 1024,
  timeoutNs: 30_000_000_000n,
};

/** Largest reassembled payload: the IP length fields are 16 bits. */
const MAX_DATAGRAM = 65_535;

interface Piece {
  readonly off: number;
  readonly data: Buffer;
}

interface Datagram<M> {
  readonly firstNs: bigint;
  readonly pieces: Piece[];
  received: number;
  /** Payload length once the last piece (no "more fragments") has arrived, else -1. */
  total: number;
  meta: M;
}

export interface FragmentCounters {
  /** Fragments held right now. */
  pending: number;
  /** Fragments absorbed into a completed datagram (not counting the one that completed it). */
  merged: number;
  /** Datagrams completed. */
  reassembled: number;
}

export type FragmentDrop = (reason: DropReason, fragments: number) => void;

/** What became of the piece just added; on 'complete', `payload` and `meta` hold the datagram. */
export type FragmentStatus = 'held' | 'complete' | 'fragment-invalid' | 'fragment-duplicate' | 'fragment-evicted';

export class FragmentTable<M> {
  readonly counters: FragmentCounters = { pending: 0, merged: 0, reassembled: 0 };
  /** The datagram completed by the last `add` that returned 'complete'. */
  payload: Buffer = Buffer.alloc(0);
  meta: M | undefined;
  private readonly table = new Map<string, Datagram<M>>();
  private bytes = 0;

  constructor(
    private readonly limits: FragmentLimits,
    private readonly drop: FragmentDrop,
  ) {}

  /**
   * Adds one piece, after expiring what is too old at `tsNs`. Pieces at offset 0 carry the authoritative
   * meta (for IPv6, the next header of the fragmentable part). Every piece dropped, this one or held ones,
   * is reported through the drop callback; the status says what became of this one.
   */
  add(key: string, off: number, data: Uint8Array, more: boolean, tsNs: bigint, meta: M): FragmentStatus {
    this.expire(tsNs);
    const len = data.length;
    if (off + len > MAX_DATAGRAM || (more && (len % 8 !== 0 || len === 0))) {
      this.drop('fragment-invalid', 1);
      return 'fragment-invalid';
    }
    let d = this.table.get(key);
    if (d === undefined) {
      d = { firstNs: tsNs, pieces: [], received: 0, total: -1, meta };
      this.table.set(key, d);
    } else if (off === 0) {
      d.meta = meta;
    }
    const end = off + len;
    for (const p of d.pieces) {
      const pEnd = p.off + p.data.length;
      if (p.off === off && pEnd === end) {
        this.drop('fragment-duplicate', 1);
        return 'fragment-duplicate';
      }
      if (off < pEnd && p.off < end) return this.discard(key, d);
    }
    if (!more) {
      if (d.total !== -1 && d.total !== end) return this.discard(key, d);
      d.total = end;
      for (const p of d.pieces) if (p.off + p.data.length > end) return this.discard(key, d);
    } else if (d.total !== -1 && end > d.total) {
      return this.discard(key, d);
    }
    d.pieces.push({ off, data: Buffer.from(data) });
    d.received += len;
    this.bytes += len;
    this.counters.pending++;
    if (d.total !== -1 && d.received === d.total) {
      this.complete(key, d);
      return 'complete';
    }
    this.evictOverflow();
    return this.table.has(key) ? 'held' : 'fragment-evicted';
  }

  /** Drops datagrams whose first piece is older than the timeout at packet time `nowNs`. */
  expire(nowNs: bigint): void {
    if (this.table.size === 0) return;
    const limit = nowNs - this.limits.timeoutNs;
    // Map order is arrival order of first pieces, so the expired ones are at the front.
    for (const [key, d] of this.table) {
      if (d.firstNs >= limit) break;
      this.remove(key, d, 'fragment-expired');
    }
  }

  /** The input has ended: nothing pending can complete any more. */
  clear(): void {
    for (const [key, d] of this.table) this.remove(key, d, 'fragment-expired');
  }

  get size(): number {
    return this.table.size;
  }

  private complete(key: string, d: Datagram<M>): void {
    const payload = Buffer.allocUnsafe(d.total);
    for (const p of d.pieces) payload.set(p.data, p.off);
    this.table.delete(key);
    this.bytes -= d.received;
    this.counters.pending -= d.pieces.length;
    this.counters.merged += d.pieces.length - 1;
    this.counters.reassembled++;
    this.payload = payload;
    this.meta = d.meta;
  }

  /** Overlapping or inconsistent pieces: the whole datagram, this piece included, is dropped. */
  private discard(key: string, d: Datagram<M>): 'fragment-invalid' {
    this.remove(key, d, 'fragment-invalid');
    this.drop('fragment-invalid', 1);
    return 'fragment-invalid';
  }

  private evictOverflow(): void {
    for (const [key, d] of this.table) {
      if (this.table.size <= this.limits.maxDatagrams && this.bytes <= this.limits.maxBytes) return;
      this.remove(key, d, 'fragment-evicted');
    }
  }

  private remove(key: string, d: Datagram<M>, reason: DropReason): void {
    this.table.delete(key);
    this.bytes -= d.received;
    this.counters.pending -= d.pieces.length;
    if (d.pieces.length > 0) this.drop(reason, d.pieces.length);
  }
}
