/**
 * Flow-table keys. Each direction of a connection is found by its own (sender-first) 4-tuple, so a lookup
 * needs no canonical ordering of the endpoints and directly yields the sender's stream.
 *
 * The key is a 30-bit hash of the numeric tuple, so the table's Map works on small integers: measured
 * ~1 µs per lookup with a freshly built string key (`"ip|port|ip|port"`, hashed and flattened on every
 * packet) against tens of ns with an integer. The hash uses gor's 4-byte address (`srcIp4`), which IPv6
 * addresses can share, so a hit is confirmed against the full tuple and collisions are chained.
 *
 * A tunnel's id (a GRE key, a VXLAN VNI: `TcpSegment.tunnel`) is part of the identity: two tenants' tunnels
 * may carry the same inner 4-tuple, which are two connections.
 */

import type { TcpSegment } from '../capture/types.js';

/** A direction's identity, sender first. `Stream` carries these fields. */
export interface DirectionTuple {
  readonly srcIp: string;
  readonly srcIp4: number;
  readonly srcPort: number;
  readonly dstIp: string;
  readonly dstIp4: number;
  readonly dstPort: number;
  /** `TcpSegment.tunnel`: 0 for none. */
  readonly tunnel: number;
  /** `TcpSegment.vlan`: 0 for none. */
  readonly vlan: number;
}

/** 30-bit hash of `src → dst` in `tunnel` and `vlan` (a V8 small integer on every platform). */
export function directionHash(
  srcIp4: number,
  srcPort: number,
  dstIp4: number,
  dstPort: number,
  tunnel: number,
  vlan: number,
): number {
  let h = Math.imul(srcIp4 ^ Math.imul(dstIp4, 0x9e3779b1), 0x85ebca6b) ^ ((srcPort << 16) | dstPort);
  // The id's value (low 32 bits, `^` takes them) and its kind (the quotient's integer part).
  if (tunnel !== 0) h = Math.imul(h ^ tunnel ^ (tunnel / 0x1_0000_0000), 0x27d4eb2f);
  // Up to four 12-bit digits base 4097: the low 32 bits and the quotient's integer part, as for a tunnel.
  if (vlan !== 0) h = Math.imul(h ^ vlan ^ (vlan / 0x1_0000_0000), 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35);
  h ^= h >>> 13;
  return h & 0x3fffffff;
}

/** Whether `seg` travels in direction `t`. Numbers first; the address strings only to rule out IPv6 twins. */
export function sameDirection(t: DirectionTuple, seg: TcpSegment): boolean {
  return (
    t.srcPort === seg.srcPort &&
    t.dstPort === seg.dstPort &&
    t.srcIp4 === seg.srcIp4 >>> 0 &&
    t.dstIp4 === seg.dstIp4 >>> 0 &&
    t.tunnel === (seg.tunnel ?? 0) &&
    t.vlan === (seg.vlan ?? 0) &&
    t.srcIp === seg.srcIp &&
    t.dstIp === seg.dstIp
  );
}
