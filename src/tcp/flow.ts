/**
 * A tracked connection: its identity (`TcpConnection`), one `Stream` per sender (each found in the flow
 * table by its own 4-tuple), and its place in the activity list (least recently active first) that
 * expiry and eviction walk.
 */

import type { TcpSegment } from '../capture/types.js';
import type { SenderRole } from './role.js';
import { Stream, type StreamContext } from './stream.js';
import type { TcpConnection } from './types.js';

export class Flow {
  readonly client: Stream;
  readonly server: Stream;
  lastSeenNs: bigint;
  /** Before this time a packet does not move the flow in the activity list (see `FlowTable.touch`). */
  relinkAfterNs = 0n;
  /** Neighbours in the activity list. */
  prev: Flow | null = null;
  next: Flow | null = null;

  constructor(
    ctx: StreamContext,
    readonly conn: TcpConnection,
  ) {
    this.client = new Stream(ctx, conn, 'client');
    this.server = new Stream(ctx, conn, 'server');
    this.client.peer = this.server;
    this.server.peer = this.client;
    this.client.flow = this;
    this.server.flow = this;
    this.lastSeenNs = conn.openedNs;
  }

  /** Some stream would lose or cut something if the flow were dropped now. */
  get open(): boolean {
    return this.client.open || this.server.open;
  }
}

/** The connection `seg` opens, its sender being `role.side`. */
export function connectionOf(id: number, seg: TcpSegment, role: SenderRole): TcpConnection {
  const fromClient = role.side === 'client';
  return {
    id,
    clientIp: fromClient ? seg.srcIp : seg.dstIp,
    clientPort: fromClient ? seg.srcPort : seg.dstPort,
    clientIp4: (fromClient ? seg.srcIp4 : seg.dstIp4) >>> 0,
    serverIp: fromClient ? seg.dstIp : seg.srcIp,
    serverPort: fromClient ? seg.dstPort : seg.srcPort,
    serverIp4: (fromClient ? seg.dstIp4 : seg.srcIp4) >>> 0,
    tunnel: seg.tunnel ?? 0,
    vlan: seg.vlan ?? 0,
    roleSource: role.source,
    openedNs: seg.tsNs,
  };
}
