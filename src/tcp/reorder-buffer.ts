/**
 * The out-of-order buffer of one stream direction: bytes that arrived ahead of a hole.
 *
 * Pieces are kept sorted by stream offset and never overlap. A new segment is cut into the parts that
 * fall between existing pieces; bytes already held win ("first seen is kept", like a real TCP receiver),
 * and a differing overlap is reported so it can be counted. Payloads are copied in: the packet buffer a
 * segment points into may be a large capture batch, and holding views would pin whole batches for as
 * long as a hole stays open — and make the byte bounds lie.
 *
 * This is the slow path: in-order data never comes here.
 */

export interface Piece {
  /** Stream offset of `data[0]`, and one past its last byte. */
  readonly offset: number;
  readonly end: number;
  readonly seq: number;
  readonly ack: number;
  readonly ackValid: boolean;
  readonly tsNs: bigint;
  readonly data: Buffer;
  /** The segment this came from was cut by the snaplen right after this piece's last byte. */
  readonly truncated: boolean;
}

export class ReorderBuffer {
  private pieces: Piece[] = [];
  /** Bytes held. */
  bytes = 0;
  /** Set by `insert`: true when an overlapping part differed from the bytes already held. */
  lastConflict = false;

  get count(): number {
    return this.pieces.length;
  }

  /** The lowest piece; only call when `count > 0`. */
  first(): Piece {
    return this.pieces[0]!;
  }

  /** Removes and returns the lowest piece; only call when `count > 0`. */
  shift(): Piece {
    const p = this.pieces.shift()!;
    this.bytes -= p.data.length;
    return p;
  }

  /** Earliest arrival time among the pieces (how long the first hole has been known), or undefined. */
  oldestTs(): bigint | undefined {
    let min: bigint | undefined;
    for (const p of this.pieces) if (min === undefined || p.tsNs < min) min = p.tsNs;
    return min;
  }

  /**
   * Adds `data` (stream offsets `offset .. offset+data.length`) except where pieces already exist.
   * Returns the number of bytes newly held; the rest overlapped (see `lastConflict`).
   */
  insert(
    offset: number,
    seq: number,
    ack: number,
    ackValid: boolean,
    tsNs: bigint,
    data: Buffer,
    truncated: boolean,
  ): number {
    const end = offset + data.length;
    const pieces = this.pieces;
    this.lastConflict = false;
    // First piece that ends after `offset`: the only ones that can overlap or follow.
    let lo = 0;
    let hi = pieces.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pieces[mid]!.end <= offset) lo = mid + 1;
      else hi = mid;
    }
    const from = lo;
    const merged: Piece[] = [];
    let cursor = offset;
    let added = 0;
    let i = from;
    const take = (a: number, b: number): void => {
      const rel = a - offset;
      merged.push({
        offset: a,
        end: b,
        seq: (seq + rel) >>> 0,
        ack,
        ackValid,
        tsNs,
        data: Buffer.from(data.subarray(rel, b - offset)),
        truncated: truncated && b === end,
      });
      added += b - a;
    };
    for (; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (p.offset >= end) break;
      if (p.offset > cursor) take(cursor, p.offset);
      const ovStart = Math.max(cursor, p.offset);
      const ovEnd = Math.min(end, p.end);
      if (
        ovEnd > ovStart &&
        data.compare(p.data, ovStart - p.offset, ovEnd - p.offset, ovStart - offset, ovEnd - offset) !== 0
      ) {
        this.lastConflict = true;
      }
      merged.push(p);
      cursor = Math.max(cursor, p.end);
    }
    if (cursor < end) take(cursor, end);
    if (added > 0) {
      pieces.splice(from, i - from, ...merged);
      this.bytes += added;
    }
    return added;
  }

  /** Drops everything at or beyond `offset` (the sender's FIN). Returns the bytes dropped. */
  truncateAt(offset: number): number {
    const pieces = this.pieces;
    let dropped = 0;
    while (pieces.length > 0) {
      const last = pieces[pieces.length - 1]!;
      if (last.end <= offset) break;
      pieces.pop();
      if (last.offset < offset) {
        const keep = offset - last.offset;
        pieces.push({ ...last, end: offset, data: last.data.subarray(0, keep), truncated: false });
        dropped += last.data.length - keep;
        break;
      }
      dropped += last.data.length;
    }
    this.bytes -= dropped;
    return dropped;
  }
}
