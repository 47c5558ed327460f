/**
 * The packet-to-message half of `--input-raw`, with no I/O: decoder → port filter → TcpAssembler →
 * per-direction HTTP/1 (or binary) streams → `emit(message)`. The raw input runs one on the main thread;
 * with `--input-raw-workers N` each worker thread runs its own on the flows the kernel hands it.
 *
 *   push(RawPacket[]) ──▶ decoder ──segments──▶ [port filter] ──▶ TcpAssembler ──▶ Http/BinaryDirection ──▶ emit
 *   push(view) ──▶ NativeFlows (addon: the common case) ──messages──────────────────────────────────────▶ emit
 *                    └─ every other packet, after adopting its connection ──▶ the path above
 *   expire(nowNs)     ──▶ idle connections are given up (their unfinished messages reported)
 *   finish()          ──▶ everything still open is reported: nothing is held back
 *
 * A view (PacketBatchView: af_packet and classic pcap batches left in their buffer) goes to the native fast
 * path when the addon is there and the options allow it (HTTP, no sampling, no real-IP header, capture
 * clock, no VLAN filter); otherwise its packets are made into objects and take the TypeScript path. Both
 * give the same messages, in the same order, and the same counters (native-flows.ts).
 */

import { createDecoder, type Decoder, SNAPLEN_CUT_REASONS } from '../../capture/decode/index.js';
import { isBatchView, type PacketBatch, type RawPacket, TcpFlag, type TcpSegment } from '../../capture/types.js';
import { type Message, nowNs } from '../../core/message.js';
import { hasRequestTitle, hasResponseTitle } from '../../protocol/http1/index.js';
import { TcpAssembler } from '../../tcp/index.js';
import type { AdoptedFlow, StreamConsumer, StreamSide, TcpConnection } from '../../tcp/types.js';
import { BinaryConnection, BinaryDirection, newBinaryCutCounters } from './binary-streams.js';
import { ConnectionState, type HttpCutCounters, HttpDirection, newHttpCutCounters } from './http-streams.js';
import { MemoryBudget } from './memory-budget.js';
import { flowAddon, type NativeFlowCounters, NativeFlows, type PendingBytes } from './native-flows.js';

/** What turns packets into messages. Plain data (no functions but `random`), so it can be sent to a worker. */
/** Bounds `ipv6Clients` (about 100 bytes each); later connections show the id's address tail. */
export const MAX_IPV6_CLIENTS = 1_000_000;

export interface FlowOptions {
  /** Server ports; empty = every port. */
  ports: readonly number[];
  protocol: 'http' | 'binary';
  trackResponse: boolean;
  allowIncomplete: boolean;
  realIpHeader: string;
  /**
   * Filled with the client address of each IPv6 connection, by its id prefix (tcp/ids.ts), at most
   * MAX_IPV6_CLIENTS of them: gor ids carry only an address's last 4 bytes (report's client column).
   */
  ipv6Clients?: Map<string, string>;
  /** Idle time after which a connection is given up (its unfinished messages are reported). */
  expireNs: bigint;
  maxSize: number;
  /**
   * `--input-raw-memory-budget`: bytes all messages in progress may hold together (this pipeline's share with
   * workers); beyond, the largest is emitted cut (memory-budget.ts).
   */
  memoryBudget: number;
  probability: number;
  /** `--input-raw-timestamp-type go`: stamp messages with the wall clock instead of the capture time. */
  wallClock: boolean;
  vxlanPort: number;
  vxlanVnis: readonly number[];
  vlanOnly: boolean;
  vlanIds: readonly number[];
  random?: () => number;
}

export class FlowPipeline {
  private readonly decoder: Decoder;
  private readonly assembler: TcpAssembler;
  private readonly ports: ReadonlySet<number>;
  private readonly httpCounters = newHttpCutCounters();
  private readonly binaryCounters = newBinaryCutCounters();
  /** HTTP state of every connection, keyed by its object: it goes away with the flow. */
  private readonly http = new WeakMap<TcpConnection, ConnectionState>();
  private readonly native: NativeFlows | null;
  private readonly budget: MemoryBudget;
  /** IPv4 connections the assembler removed since the last batch (see releaseRemoved). */
  private readonly removed: TcpConnection[] = [];
  private packets = 0;
  private portFiltered = 0;

  /** `onBudgetCut`: told of each message the memory budget cuts (the raw input warns), before it is emitted. */
  constructor(
    private readonly options: FlowOptions,
    private readonly emit: (msg: Message) => void,
    onBudgetCut?: (what: string, bytes: number) => void,
  ) {
    this.budget = new MemoryBudget(options.memoryBudget, onBudgetCut);
    this.decoder = createDecoder({
      vxlanPort: options.vxlanPort,
      vxlanVnis: options.vxlanVnis,
      vlanIds: options.vlanIds,
      vlanOnly: options.vlanOnly,
      // Each segment is done with (assembled, or its payload kept by the reorder buffer) before the next.
      reuseSegment: true,
    });
    this.ports = new Set(options.ports);
    this.assembler = new TcpAssembler({
      onStream: this.streamFactory(),
      classify: this.ports.size > 0 ? classifyByPort(this.ports) : undefined,
      contentHint: options.protocol === 'http' ? contentHint : undefined,
      expireNs: options.expireNs,
      onFlowRemoved: (conn) => {
        // A server that never sent a byte has no direction to end: its requests are settled here.
        this.http.get(conn)?.close(this.httpCounters, options.trackResponse);
        // The fast path marks the tuples of plain IPv4 connections only (it hands tunnelled and VLAN-tagged
        // packets over).
        if (this.native !== null && conn.tunnel === 0 && conn.vlan === 0 && !conn.clientIp.includes(':')) {
          this.removed.push(conn);
        }
      },
    });
    this.native = this.nativeFlows();
  }

  /** What the native fast path handled (null when it is off): for tests and diagnostics. */
  nativeCounters(): NativeFlowCounters | null {
    return this.native?.counters() ?? null;
  }

  /** Feeds one batch of packets; returns the latest segment timestamp seen (or `latest` when none is later). */
  push(batch: PacketBatch, latest: bigint): bigint {
    if (this.native !== null) this.releaseRemoved(this.native);
    if (isBatchView(batch)) {
      this.packets += batch.count;
      if (this.native !== null) return this.native.push(batch, latest);
      batch = batch.packets();
    } else {
      this.packets += batch.length;
    }
    for (let i = 0; i < batch.length; i++) latest = this.pushPacket(batch[i]!, latest);
    return latest;
  }

  /** One packet through the TypeScript path (decoder, port filter, assembler). */
  private pushPacket(packet: RawPacket, latest: bigint): bigint {
    const seg = this.decoder.decode(packet);
    if (seg === null) return latest;
    const ports = this.ports;
    if (ports.size > 0 && !ports.has(seg.dstPort) && !ports.has(seg.srcPort)) {
      this.portFiltered++;
      return latest;
    }
    this.assembler.push(seg);
    return seg.tsNs > latest ? seg.tsNs : latest;
  }

  /** Gives up connections idle since before `nowNs - expire`. */
  expire(now: bigint): void {
    this.assembler.expire(now);
    this.native?.expire(now);
  }

  /** The input ended: unfinished messages are reported (and counted) now. */
  finish(): void {
    this.decoder.finish();
    this.assembler.flush();
    this.native?.finish();
  }

  /**
   * Tuples whose TypeScript flow is gone may start on the fast path again (a new SYN). Not while the assembler
   * tracks a newer flow on the same tuple (opened by the packet that removed the old one: port reuse).
   */
  private releaseRemoved(native: NativeFlows): void {
    for (const conn of this.removed) {
      if (!this.assembler.tracks(conn))
        native.released4(conn.clientIp4, conn.clientPort, conn.serverIp4, conn.serverPort);
    }
    this.removed.length = 0;
  }

  /** The native fast path, when the addon is there and nothing in the options needs the TypeScript path. */
  private nativeFlows(): NativeFlows | null {
    const o = this.options;
    const a = flowAddon();
    if (a === null || o.protocol !== 'http' || o.probability < 1 || o.realIpHeader !== '' || o.wallClock) return null;
    if (o.vlanOnly || o.vlanIds.length > 0) return null;
    return new NativeFlows(
      a,
      {
        ports: o.ports,
        maxSize: o.maxSize,
        trackResponse: o.trackResponse,
        expireNs: o.expireNs,
        // As the TS decoder reads it: 0 means gor's default.
        vxlanPort: o.vxlanPort || 4789,
        allowIncomplete: o.allowIncomplete,
        budget: this.budget,
      },
      {
        emit: this.emit,
        adopt: (flow, waiting, pending) => this.adopt(flow, waiting, pending),
        runPacket: (packet, latest) => this.pushPacket(packet, latest),
      },
    );
  }

  /**
   * A connection leaves the fast path: the assembler and the HTTP state take it over where it is. A message
   * the fast path had begun (its body spanning segments) is given to the assembler as the one segment it was
   * so far, with the SEQ, ACK and time of its first: the state the TypeScript path would be in.
   */
  private adopt(
    flow: AdoptedFlow,
    waiting: readonly { idNumber: number; ack: number }[],
    pending: PendingBytes | null,
  ): void {
    const conn = this.assembler.adopt(flow);
    const state = new ConnectionState(conn);
    this.noteIpv6Client(state);
    // Only HEAD and CONNECT change how a response is framed, and the fast path hands those over before.
    // The fast path emitted every request it queued.
    const track = this.options.trackResponse;
    for (const w of waiting)
      state.push({ idNumber: w.idNumber, ack: w.ack, sampled: true, emitted: true }, 'GET', this.httpCounters, track);
    this.http.set(conn, state);
    if (pending === null) return;
    const c = pending.fromClient;
    this.assembler.push({
      tsNs: pending.tsNs,
      srcIp: c ? conn.clientIp : conn.serverIp,
      dstIp: c ? conn.serverIp : conn.clientIp,
      srcIp4: c ? conn.clientIp4 : conn.serverIp4,
      dstIp4: c ? conn.serverIp4 : conn.clientIp4,
      srcPort: c ? conn.clientPort : conn.serverPort,
      dstPort: c ? conn.serverPort : conn.clientPort,
      seq: pending.seq,
      ack: pending.ack,
      flags: TcpFlag.ACK | TcpFlag.PSH,
      window: 0,
      payload: pending.bytes,
      truncated: false,
    });
  }

  /** The fidelity counters (without the engine's), in the order the stats line prints them. */
  counters(): Record<string, number> {
    const d = this.decoder.counters;
    const a = this.assembler.stats;
    // Headers the snaplen cut are their own count: with --input-raw-snaplen 64 every packet landed in
    // not_tcp_or_filtered, which sends the user to their filters instead of the snaplen.
    let cutBySnaplen = 0;
    for (const reason of SNAPLEN_CUT_REASONS) cutBySnaplen += d.dropped[reason];
    let decodeDropped = -cutBySnaplen;
    for (const v of Object.values(d.dropped)) decodeDropped += v;
    const n = this.native?.counters();
    const cut = this.options.protocol === 'http' ? withNative(this.httpCounters, n) : this.binaryCounters;
    return {
      packets: this.packets,
      not_tcp_or_filtered: decodeDropped,
      headers_cut_by_snaplen: cutBySnaplen,
      other_ports: this.portFiltered,
      segments: d.segments + (n?.segments ?? 0),
      retransmitted_segments: a.retransmittedSegments,
      out_of_order_segments: a.outOfOrderSegments,
      conflicting_overlaps: a.conflictingOverlaps,
      out_of_window_segments: a.outOfWindowSegments,
      gaps: a.gaps,
      bytes_lost: a.bytesLost,
      connections: a.flowsOpened + (n?.connections ?? 0),
      connections_evicted: a.flowsEvicted,
      ...cut,
    };
  }

  /** `ipv6Clients`: the first address seen for an id prefix stays (two clients sharing one are rare). */
  private noteIpv6Client(state: ConnectionState): void {
    const clients = this.options.ipv6Clients;
    const ip = state.conn.clientIp;
    if (clients === undefined || !ip.includes(':') || clients.size >= MAX_IPV6_CLIENTS) return;
    if (!clients.has(state.idPrefix)) clients.set(state.idPrefix, ip);
  }

  private streamFactory() {
    const options = this.options;
    const emit = this.emit;
    const clock = options.wallClock ? () => nowNs() : null;
    const random = options.random ?? Math.random;
    const http = this.http;
    const binary = new WeakMap<TcpConnection, BinaryConnection>();
    const budget = this.budget;
    const binaryOptions = { trackResponse: options.trackResponse, maxSize: options.maxSize, clock, emit, budget };
    const httpOptions = {
      trackResponse: options.trackResponse,
      allowIncomplete: options.allowIncomplete,
      maxSize: options.maxSize,
      realIpHeader: options.realIpHeader,
      probability: options.probability,
      random,
      clock,
      emit,
      budget,
    };
    return (conn: TcpConnection, side: StreamSide): StreamConsumer => {
      if (options.protocol === 'binary') {
        let link = binary.get(conn);
        if (!link) {
          link = new BinaryConnection(conn);
          binary.set(conn, link);
        }
        return new BinaryDirection(link, side, binaryOptions, this.binaryCounters);
      }
      let state = http.get(conn);
      if (!state) {
        state = new ConnectionState(conn);
        http.set(conn, state);
        this.noteIpv6Client(state);
      }
      return new HttpDirection(state, side, httpOptions, this.httpCounters);
    };
  }
}

/** The HTTP counters with what the native fast path counted added (it handles HTTP only). */
function withNative(c: HttpCutCounters, n: NativeFlowCounters | undefined): HttpCutCounters {
  if (n === undefined) return c;
  return {
    ...c,
    requests: c.requests + n.requests,
    responses: c.responses + n.responses,
    unmatched_responses: c.unmatched_responses + n.unmatched_responses,
    unanswered_requests: c.unanswered_requests + n.unanswered_requests,
    requests_unanswered_at_close: c.requests_unanswered_at_close + n.requests_unanswered_at_close,
    incomplete_expired: c.incomplete_expired + n.incomplete_expired,
    incomplete_eof: c.incomplete_eof + n.incomplete_eof,
    incomplete_dropped: c.incomplete_dropped + n.incomplete_dropped,
  };
}

/** The stats line's order: packets first, then the engine's counters, then the flows'. */
export function withEngineStats(
  flows: Record<string, number>,
  engine: Record<string, number>,
): Record<string, number | string> {
  const { packets, ...rest } = flows;
  return { packets: packets ?? 0, ...engine, ...rest };
}

/** Before the handshake is seen: a packet to a server port is the client's, one from it the server's. */
function classifyByPort(ports: ReadonlySet<number>) {
  return (seg: TcpSegment): StreamSide | undefined =>
    ports.has(seg.dstPort) ? 'client' : ports.has(seg.srcPort) ? 'server' : undefined;
}

/** Without ports (or SYN): a request line says client, a status line says server (gor does the same). */
function contentHint(payload: Buffer): StreamSide | undefined {
  if (hasRequestTitle(payload)) return 'client';
  if (hasResponseTitle(payload)) return 'server';
  return undefined;
}
