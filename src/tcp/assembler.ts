/**
 * The TCP stream assembler: sans-IO, synchronous, one per capture. Segments go in through `push`; each
 * connection comes out as two ordered byte streams (client→server, server→client) handed to consumers
 * the caller creates. Message boundaries are not decided here but by the protocol layer reading the
 * streams — unlike gor, which groups packets by ACK and loses pipelined or oddly segmented data (§8.5).
 *
 *   push(seg) ──▶ flow table ──(no flow: SYN / data opens one; role from SYN, classify, content, guess)
 *                  │  hash(src, sport, dst, dport) → sender's Stream
 *                  ▼
 *        ┌──── Flow (TcpConnection) ─────────────────────────────────────────────┐
 *        │  client Stream: seq → offset ─ in order ──▶ consumer.data(view, meta)  │
 *        │                  └─ ahead ─▶ ReorderBuffer ─(hole filled)─┘            │
 *        │                          └─(timeout │ peer ACKed │ bound)─▶ gap(n)     │
 *        │  server Stream: same; each side's ACKs reveal the other side's holes   │
 *        └────────────────────────────────────────────────────────────────────────┘
 *                  │  FIN reached → end('fin');  RST → gaps, end('rst') both ways
 *   expire(now) ───┴─▶ idle flows (activity list, oldest first): gaps, end('expired'), removed
 *   flush()     ─────▶ every flow: gaps, end('flush'), removed
 *
 * Every discarded, delayed or doubled byte is counted in `stats`.
 */

import type { TcpSegment } from '../capture/types.js';
import { TcpFlag } from '../capture/types.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { connectionOf, Flow } from './flow.js';
import { FlowTable } from './flow-table.js';
import { senderRole } from './role.js';
import { type AssemblerStats, createStats } from './stats.js';
import { ChunkMetaScratch, type Stream, type StreamContext } from './stream.js';
import type { AdoptedDirection, AdoptedFlow, AssemblerOptions, EndReason, StreamSide, TcpConnection } from './types.js';

const NS_PER_MS = 1_000_000n;

export const ASSEMBLER_DEFAULTS = {
  expireNs: 2000n * NS_PER_MS,
  reorderTimeoutNs: 1000n * NS_PER_MS,
  missingHoldNs: 10_000n * NS_PER_MS,
  maxStreamBufferBytes: 4 * 1024 * 1024,
  maxStreamBufferSegments: 4096,
  maxBufferBytes: 128 * 1024 * 1024,
  maxFlows: 200_000,
  skipAckedHoles: true,
} as const;

const SYN = TcpFlag.SYN;
const ACK = TcpFlag.ACK;
const FIN = TcpFlag.FIN;
const RST = TcpFlag.RST;

export class TcpAssembler {
  /** Live counters; read them, copy them (`{ ...stats }`), never write them. */
  readonly stats: AssemblerStats = createStats();

  private readonly table = new FlowTable();
  private readonly ctx: StreamContext;
  private readonly classify: ((seg: TcpSegment) => StreamSide | undefined) | undefined;
  private readonly contentHint: ((payload: Buffer) => StreamSide | undefined) | undefined;
  private readonly expireNs: bigint;
  private readonly maxBufferBytes: number;
  private readonly maxFlows: number;
  private readonly skipAckedHoles: boolean;
  private readonly onFlowRemoved: ((conn: TcpConnection) => void) | undefined;
  private nextConnId = 1;

  constructor(options: AssemblerOptions) {
    if (typeof options?.onStream !== 'function') {
      throw new TaplineError(ERROR_CODES.USAGE, 'onStream must be a function', { where: 'TcpAssembler' });
    }
    const d = ASSEMBLER_DEFAULTS;
    this.ctx = {
      stats: this.stats,
      chunkMeta: new ChunkMetaScratch(),
      onStream: options.onStream,
      reorderTimeoutNs: positiveNs('reorderTimeoutNs', options.reorderTimeoutNs ?? d.reorderTimeoutNs),
      missingHoldNs: positiveNs('missingHoldNs', options.missingHoldNs ?? d.missingHoldNs),
      maxStreamBufferBytes: positiveInt('maxStreamBufferBytes', options.maxStreamBufferBytes ?? d.maxStreamBufferBytes),
      maxStreamBufferSegments: positiveInt(
        'maxStreamBufferSegments',
        options.maxStreamBufferSegments ?? d.maxStreamBufferSegments,
      ),
    };
    this.classify = options.classify;
    this.contentHint = options.contentHint;
    this.expireNs = positiveNs('expireNs', options.expireNs ?? d.expireNs);
    this.maxBufferBytes = positiveInt('maxBufferBytes', options.maxBufferBytes ?? d.maxBufferBytes);
    this.maxFlows = positiveInt('maxFlows', options.maxFlows ?? d.maxFlows);
    this.skipAckedHoles = options.skipAckedHoles ?? d.skipAckedHoles;
    this.onFlowRemoved = options.onFlowRemoved;
  }

  /** Flows currently tracked (including closed ones kept until idle, to absorb their late packets). */
  get flowCount(): number {
    return this.table.size;
  }

  /** Feeds one segment. Consumers are called synchronously from here. */
  push(seg: TcpSegment): void {
    const stats = this.stats;
    stats.segments++;
    const flags = seg.flags;
    const payload = seg.payload;
    if (seg.truncated) stats.truncatedSegments++;
    let stream = this.table.get(seg);
    if (flags & SYN && stream !== undefined && isNewConnection(stream, seg.seq)) {
      this.remove(stream.flow, 'reused', seg.tsNs);
      stream = undefined;
    }
    if (stream === undefined) {
      if (payload.length === 0 && !(flags & SYN)) {
        stats.orphanSegments++;
        return;
      }
      stream = this.open(seg);
    }
    const flow = stream.flow;
    this.table.touch(flow, seg.tsNs);
    const peer = stream.peer;
    if (flags & ACK && this.skipAckedHoles) peer.ackedUpTo(seg.ack, seg.tsNs);
    if (flags & RST) {
      // The connection is gone: deliver what is buffered behind gaps; the flow lingers to absorb stragglers.
      stream.close('rst', seg.tsNs);
      peer.close('rst', seg.tsNs);
      return;
    }
    if (payload.length > 0 || flags & (SYN | FIN)) {
      stream.receive(
        seg.seq,
        seg.ack,
        (flags & ACK) !== 0,
        (flags & SYN) !== 0,
        (flags & FIN) !== 0,
        payload,
        seg.truncated,
        seg.tsNs,
      );
    } else {
      stats.emptySegments++;
    }
    if (stream.hasHole) stream.checkTimeout(seg.tsNs);
    if (peer.hasHole) peer.checkTimeout(seg.tsNs);
    if (stats.bufferedBytes > this.maxBufferBytes) this.shed(seg.tsNs);
  }

  /**
   * Flushes and removes flows with no packet since `nowNs - expireNs`; returns how many. Pass the capture
   * clock: wall time for live capture, the latest packet timestamp when reading files.
   */
  expire(nowNs: bigint): number {
    const cutoff = nowNs - this.expireNs;
    let removed = 0;
    for (let f = this.table.head; f !== null && f.lastSeenNs <= cutoff; f = this.table.head) {
      this.remove(f, 'expired', nowNs);
      removed++;
    }
    return removed;
  }

  /** End of input: every flow is flushed (holes become gaps), ended and removed. */
  flush(): void {
    for (let f = this.table.head; f !== null; f = this.table.head) this.remove(f, 'flush', f.lastSeenNs);
  }

  /**
   * Takes over a connection followed elsewhere until now (the native fast path), in the state this assembler
   * would have it in: the next segments continue it exactly as if every earlier one had come through `push`.
   * Its stream offsets restart at 0 (consumers see offsets, never sequence numbers, as positions). Not
   * counted in `flowsOpened`: whoever followed it counted its opening.
   */
  adopt(a: AdoptedFlow): TcpConnection {
    const conn: TcpConnection = {
      id: this.nextConnId++,
      clientIp: a.clientIp,
      clientPort: a.clientPort,
      clientIp4: a.clientIp4 >>> 0,
      serverIp: a.serverIp,
      serverPort: a.serverPort,
      serverIp4: a.serverIp4 >>> 0,
      // The fast path follows untunnelled, untagged connections only.
      tunnel: 0,
      vlan: 0,
      roleSource: a.roleSource,
      openedNs: a.openedNs,
    };
    const flow = new Flow(this.ctx, conn);
    adoptDirection(flow.client, a.client);
    adoptDirection(flow.server, a.server);
    flow.lastSeenNs = a.lastSeenNs;
    this.table.add(flow);
    this.stats.flowsActive = this.table.size;
    return conn;
  }

  /** A flow for this connection's 4-tuple is tracked now (the same one or a newer one on the same ports). */
  tracks(conn: TcpConnection): boolean {
    const tuple = {
      srcIp: conn.clientIp,
      srcIp4: conn.clientIp4,
      srcPort: conn.clientPort,
      dstIp: conn.serverIp,
      dstIp4: conn.serverIp4,
      dstPort: conn.serverPort,
      tunnel: conn.tunnel,
      vlan: conn.vlan,
    };
    return this.table.get(tuple as TcpSegment) !== undefined;
  }

  private open(seg: TcpSegment): Stream {
    const stats = this.stats;
    if (this.table.size >= this.maxFlows && this.table.head !== null) {
      this.remove(this.table.head, 'evicted', seg.tsNs);
    }
    const role = senderRole(seg, this.classify, this.contentHint);
    if (role.source === 'guess') stats.rolesGuessed++;
    const flow = new Flow(this.ctx, connectionOf(this.nextConnId++, seg, role));
    this.table.add(flow);
    stats.flowsOpened++;
    stats.flowsActive = this.table.size;
    return role.side === 'client' ? flow.client : flow.server;
  }

  private remove(flow: Flow, reason: EndReason, tsNs: bigint): void {
    const stats = this.stats;
    const wasOpen = flow.open;
    flow.client.close(reason, tsNs);
    flow.server.close(reason, tsNs);
    this.table.remove(flow);
    stats.flowsActive = this.table.size;
    this.onFlowRemoved?.(flow.conn);
    if (!wasOpen) stats.flowsClosed++;
    else if (reason === 'expired') stats.flowsExpired++;
    else if (reason === 'evicted') stats.flowsEvicted++;
    else if (reason === 'reused') stats.flowsReused++;
    else stats.flowsFlushed++;
  }

  /** The global buffer bound was crossed: skip holes in the least recently active flows until under it. */
  private shed(tsNs: bigint): void {
    const stats = this.stats;
    stats.bufferLimitHits++;
    for (let f = this.table.head; f !== null && stats.bufferedBytes > this.maxBufferBytes; f = f.next) {
      for (const s of [f.client, f.server]) {
        while (s.bufferedBytes > 0 && stats.bufferedBytes > this.maxBufferBytes) {
          if (!s.skipHole('buffer-limit', tsNs)) break;
        }
      }
    }
  }
}

function adoptDirection(stream: Stream, d: AdoptedDirection): void {
  stream.started = d.started;
  stream.synSeen = d.synSeen;
  stream.isn = d.isn >>> 0;
  stream.nextSeq = d.nextSeq >>> 0;
}

/** A SYN on a known direction opens a new connection (port reuse) unless it repeats the SYN already seen. */
function isNewConnection(stream: Stream, seq: number): boolean {
  if (stream.synSeen) return stream.isn !== seq;
  return stream.started || stream.ended;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TaplineError(ERROR_CODES.USAGE, `${name} must be a positive integer, got ${value}`, {
      where: `TcpAssembler ${name}`,
    });
  }
  return value;
}

function positiveNs(name: string, value: bigint): bigint {
  if (typeof value !== 'bigint' || value <= 0n) {
    throw new TaplineError(ERROR_CODES.USAGE, `${name} must be a positive bigint (nanoseconds), got ${value}`, {
      where: `TcpAssembler ${name}`,
    });
  }
  return value;
}
