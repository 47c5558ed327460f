/**
 * The packet-to-message half of `--input-raw`, with no I/O: decoder → port filter → TcpAssembler →
 * per-direction HTTP/1 (or binary) streams → `emit(message)`. The raw input runs one on the main thread;
 * with `--input-raw-workers N` each worker thread runs its own on the flows the kernel hands it.
 *
 *   push(RawPacket[]) ──▶ decoder ──segments──▶ [port filter] ──▶ TcpAssembler ──▶ Http/BinaryDirection ──▶ emit
 *   expire(nowNs)     ──▶ idle connections are given up (their unfinished messages reported)
 *   finish()          ──▶ everything still open is reported: nothing is held back
 */

import { createDecoder, type Decoder } from '../../capture/decode/index.js';
import type { RawPacket, TcpSegment } from '../../capture/types.js';
import { type Message, nowNs } from '../../core/message.js';
import { hasRequestTitle, hasResponseTitle } from '../../protocol/http1/index.js';
import { TcpAssembler } from '../../tcp/index.js';
import type { StreamConsumer, StreamSide, TcpConnection } from '../../tcp/types.js';
import { BinaryConnection, BinaryDirection, newBinaryCutCounters } from './binary-streams.js';
import { ConnectionState, HttpDirection, newHttpCutCounters } from './http-streams.js';

/** What turns packets into messages. Plain data (no functions but `random`), so it can be sent to a worker. */
export interface FlowOptions {
  /** Server ports; empty = every port. */
  ports: readonly number[];
  protocol: 'http' | 'binary';
  trackResponse: boolean;
  allowIncomplete: boolean;
  realIpHeader: string;
  /** Idle time after which a connection is given up (its unfinished messages are reported). */
  expireNs: bigint;
  maxSize: number;
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
  private packets = 0;
  private portFiltered = 0;

  constructor(
    private readonly options: FlowOptions,
    private readonly emit: (msg: Message) => void,
  ) {
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
    });
  }

  /** Feeds one batch of packets; returns the latest segment timestamp seen (or `latest` when none is later). */
  push(batch: readonly RawPacket[], latest: bigint): bigint {
    const { decoder, assembler, ports } = this;
    const filterPorts = ports.size > 0;
    for (let i = 0; i < batch.length; i++) {
      this.packets++;
      const seg = decoder.decode(batch[i]!);
      if (seg === null) continue;
      if (filterPorts && !ports.has(seg.dstPort) && !ports.has(seg.srcPort)) {
        this.portFiltered++;
        continue;
      }
      assembler.push(seg);
      if (seg.tsNs > latest) latest = seg.tsNs;
    }
    return latest;
  }

  /** Gives up connections idle since before `nowNs - expire`. */
  expire(now: bigint): void {
    this.assembler.expire(now);
  }

  /** The input ended: unfinished messages are reported (and counted) now. */
  finish(): void {
    this.decoder.finish();
    this.assembler.flush();
  }

  /** The fidelity counters (without the engine's), in the order the stats line prints them. */
  counters(): Record<string, number> {
    const d = this.decoder.counters;
    const a = this.assembler.stats;
    let decodeDropped = 0;
    for (const v of Object.values(d.dropped)) decodeDropped += v;
    const cut = this.options.protocol === 'http' ? this.httpCounters : this.binaryCounters;
    return {
      packets: this.packets,
      not_tcp_or_filtered: decodeDropped,
      other_ports: this.portFiltered,
      segments: d.segments,
      retransmitted_segments: a.retransmittedSegments,
      out_of_order_segments: a.outOfOrderSegments,
      gaps: a.gaps,
      bytes_lost: a.bytesLost,
      connections: a.flowsOpened,
      ...cut,
    };
  }

  private streamFactory() {
    const options = this.options;
    const emit = this.emit;
    const clock = options.wallClock ? () => nowNs() : null;
    const random = options.random ?? Math.random;
    // Keyed by the connection object: its state goes away with the flow, whichever direction ends first.
    const http = new WeakMap<TcpConnection, ConnectionState>();
    const binary = new WeakMap<TcpConnection, BinaryConnection>();
    const binaryOptions = { trackResponse: options.trackResponse, maxSize: options.maxSize, clock, emit };
    const httpOptions = {
      trackResponse: options.trackResponse,
      allowIncomplete: options.allowIncomplete,
      maxSize: options.maxSize,
      realIpHeader: options.realIpHeader,
      probability: options.probability,
      random,
      clock,
      emit,
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
      }
      return new HttpDirection(state, side, httpOptions, this.httpCounters);
    };
  }
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
