/**
 * The meta fields accounting reads — type, id, timestamp, the 4th field — and where the payload is, read
 * straight from a `.gor` record's bytes when the message is one (the reader checked its meta line and kept its
 * raw encoding), else from `msg.meta` and `msg.data`. No Meta object, no BigInt, one string (the id).
 *
 *   rawBuf: 1 4e20…0001 1795000000000800000 0\nGET / HTTP/1.1\r\n…
 *           │ └── id ──┘ └─ sec ─┘└── ns ──┘ └ 4th field   └ payload [start, end)
 *
 * Timestamps are kept as whole seconds and nanoseconds (two exact doubles) so that a latency, a difference of
 * two Unix-ns timestamps, is exact without BigInt arithmetic.
 */
import { type GorRecord, metaLength, payloadLength } from '../core/gor-format.js';
import type { Message } from '../core/message.js';
import { latin1 } from './head-scan.js';

const SPACE = 0x20;
const NS = 1_000_000_000n;

export class MetaView {
  /** Char code of a one-character type ('1' → 0x31), 0 for any other type. */
  type = 0;
  id = '';
  /** The timestamp is sec·1e9 + ns (both carry its sign); 0 and 0 when it is not a number (as gor reads it). */
  sec = 0;
  ns = 0;
  /** The 4th meta field (ns): NaN when the line has only 3 fields, 0 when it is not a number. */
  fourth = Number.NaN;
  /**
   * A field after the 4th is `incomplete=REASON`: capture marks a message it did not hold whole, --output-http a
   * replayed response cut at --output-http-response-buffer (docs/capture.md).
   */
  marked = false;
  /** The payload is buf[start, end). */
  buf: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;

  /** Unix ms of the timestamp (ms precision is all time slots and expiry need). */
  get ms(): number {
    return this.sec * 1000 + this.ns / 1e6;
  }

  /** The timestamp in ns, exact (for the public Exchange). */
  get timestampNs(): bigint {
    return BigInt(this.sec) * NS + BigInt(this.ns);
  }

  read(msg: Message): void {
    const raw = (msg as Partial<GorRecord>).rawBuf;
    if (raw !== undefined) this.fromRecord(msg as GorRecord, raw);
    else this.fromMeta(msg);
  }

  private fromRecord(msg: GorRecord, buf: Buffer): void {
    const lineStart = msg.rawStart!;
    const lineEnd = lineStart + metaLength(msg);
    // The reader checked this line: two spaces at least, a non-empty type and id.
    const s1 = buf[lineStart + 1] === SPACE ? lineStart + 1 : buf.indexOf(SPACE, lineStart);
    let s2 = s1 + 1;
    while (buf[s2] !== SPACE) s2++;
    this.type = s1 === lineStart + 1 ? buf[lineStart]! : 0;
    this.id = latin1(buf, s1 + 1, s2);
    let i = s2 + 1;
    let s3 = i;
    while (s3 < lineEnd && buf[s3] !== SPACE) s3++;
    this.readTimestamp(buf, i, s3);
    this.marked = false;
    if (s3 >= lineEnd) this.fourth = Number.NaN;
    else {
      i = s3 + 1;
      let s4 = i;
      while (s4 < lineEnd && buf[s4] !== SPACE) s4++;
      this.fourth = decimal(buf, i, s4);
      this.marked = s4 < lineEnd && markedAfter(buf, s4, lineEnd);
    }
    this.buf = buf;
    this.start = lineEnd + 1;
    this.end = this.start + payloadLength(msg);
  }

  /** `buf[from, to)` as sec and ns; a non-decimal field reads as 0 (meta.ts's rule). */
  private readTimestamp(buf: Buffer, from: number, to: number): void {
    const negative = buf[from] === 0x2d;
    const first = negative ? from + 1 : from;
    const split = Math.max(first, to - 9);
    let sec = 0;
    let ns = 0;
    for (let k = first; k < to; k++) {
      const c = buf[k]! - 0x30;
      if (c < 0 || c > 9) {
        this.sec = 0;
        this.ns = 0;
        return;
      }
      if (k < split) sec = sec * 10 + c;
      else ns = ns * 10 + c;
    }
    if (first >= to) sec = ns = 0;
    this.sec = negative ? -sec : sec;
    this.ns = negative ? -ns : ns;
  }

  private fromMeta(msg: Message): void {
    const meta = msg.meta;
    this.type = meta.type.length === 1 ? meta.type.charCodeAt(0) : 0;
    this.id = meta.id;
    const ts = meta.timestampNs;
    this.sec = Number(ts / NS);
    this.ns = Number(ts % NS);
    this.fourth = meta.latencyNs === undefined ? Number.NaN : Number(meta.latencyNs);
    this.marked = meta.extra.length > 0 && hasMark(meta.extra);
    this.buf = msg.data;
    this.start = 0;
    this.end = msg.data.length;
  }
}

const MARK = Buffer.from('incomplete=', 'latin1');

/** Whether a field of the meta line's rest `buf[from, to)` (from: a space) starts with `incomplete=`. */
function markedAfter(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    if (buf[i] !== SPACE || to - i - 1 < MARK.length) continue;
    if (buf.compare(MARK, 0, MARK.length, i + 1, i + 1 + MARK.length) === 0) return true;
  }
  return false;
}

/** Whether one of a meta's extra fields is `incomplete=REASON`. */
export function hasMark(extra: readonly string[]): boolean {
  for (const field of extra) if (field.startsWith('incomplete=')) return true;
  return false;
}

/** A decimal field (optionally negative) as a number; 0 when it is not one (meta.ts's rule for the 4th field). */
function decimal(buf: Buffer, from: number, to: number): number {
  const negative = buf[from] === 0x2d;
  const first = negative ? from + 1 : from;
  if (first >= to) return 0;
  let v = 0;
  for (let k = first; k < to; k++) {
    const c = buf[k]! - 0x30;
    if (c < 0 || c > 9) return 0;
    v = v * 10 + c;
  }
  return negative ? -v : v;
}
