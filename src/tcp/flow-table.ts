/**
 * The flow table: direction → sender's stream (two entries per flow), plus a doubly linked activity list
 * so that expiry and eviction start from the least recently active flow and stop at the first one that
 * is still fresh — no scan of the whole table on the hot path or on every `expire` tick.
 *
 * Entries live in a Map keyed by `directionHash`; streams whose hashes collide are chained through
 * `Stream.chain`, and every hit is confirmed with `sameDirection`.
 */

import type { TcpSegment } from '../capture/types.js';
import type { Flow } from './flow.js';
import { type DirectionTuple, directionHash, sameDirection } from './flow-key.js';
import type { Stream } from './stream.js';

/** See `touch`. */
const RELINK_NS = 10_000_000n;

export type DirectionHasher = (
  srcIp4: number,
  srcPort: number,
  dstIp4: number,
  dstPort: number,
  tunnel: number,
  vlan: number,
) => number;

export class FlowTable {
  private readonly streams = new Map<number, Stream>();
  /** Least recently active flow, and most recently active. */
  head: Flow | null = null;
  tail: Flow | null = null;
  size = 0;

  /** `hash` is replaceable so tests can force collisions. */
  constructor(private readonly hash: DirectionHasher = directionHash) {}

  /** The stream `seg`'s sender writes to, if its flow is known. */
  get(seg: TcpSegment): Stream | undefined {
    let s: Stream | null | undefined = this.streams.get(
      this.hash(seg.srcIp4 >>> 0, seg.srcPort, seg.dstIp4 >>> 0, seg.dstPort, seg.tunnel ?? 0, seg.vlan ?? 0),
    );
    while (s !== undefined && s !== null && !sameDirection(s, seg)) s = s.chain;
    return s ?? undefined;
  }

  add(flow: Flow): void {
    this.insert(flow.client);
    this.insert(flow.server);
    this.append(flow);
    this.size++;
  }

  remove(flow: Flow): void {
    this.delete(flow.client);
    this.delete(flow.server);
    this.unlink(flow);
    this.size--;
  }

  /**
   * A packet of `flow` arrived: it becomes the most recently active. Moving it to the tail of the list
   * touches three other objects (cache misses with many flows), so a flow is moved at most once per
   * `RELINK_NS`; the list is then ordered to within that, which expiry and eviction can afford.
   */
  touch(flow: Flow, tsNs: bigint): void {
    if (tsNs > flow.lastSeenNs) flow.lastSeenNs = tsNs;
    if (tsNs >= flow.relinkAfterNs && this.tail !== flow) {
      flow.relinkAfterNs = tsNs + RELINK_NS;
      this.unlink(flow);
      this.append(flow);
    }
  }

  private keyOf(t: DirectionTuple): number {
    return this.hash(t.srcIp4, t.srcPort, t.dstIp4, t.dstPort, t.tunnel, t.vlan);
  }

  private insert(stream: Stream): void {
    const key = this.keyOf(stream);
    stream.chain = this.streams.get(key) ?? null;
    this.streams.set(key, stream);
  }

  private delete(stream: Stream): void {
    const key = this.keyOf(stream);
    const first = this.streams.get(key);
    if (first === stream) {
      if (stream.chain === null) this.streams.delete(key);
      else this.streams.set(key, stream.chain);
    } else {
      for (let s: Stream | null = first ?? null; s !== null; s = s.chain) {
        if (s.chain === stream) {
          s.chain = stream.chain;
          break;
        }
      }
    }
    stream.chain = null;
  }

  private append(flow: Flow): void {
    flow.prev = this.tail;
    flow.next = null;
    if (this.tail !== null) this.tail.next = flow;
    else this.head = flow;
    this.tail = flow;
  }

  private unlink(flow: Flow): void {
    if (flow.prev !== null) flow.prev.next = flow.next;
    else this.head = flow.next;
    if (flow.next !== null) flow.next.prev = flow.prev;
    else this.tail = flow.prev;
    flow.prev = null;
    flow.next = null;
  }
}
