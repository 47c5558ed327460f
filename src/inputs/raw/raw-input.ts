/**
 * `--input-raw`: capture (live or from a pcap file), reassemble TCP, cut HTTP/1 messages (or binary turns)
 * and emit gor messages. This is the only place where capture, TCP and protocol meet.
 *
 *   engine ──RawPacket[]──▶ decoder ──segments──▶ [port filter] ──▶ TcpAssembler ──streams──▶ HttpDirection
 *     (pump task)                                                     ▲ expire: every 100 ms      │
 *                                                                     │ (wall clock live, packet  ▼
 *                                                                     │  clock for files)    Channel<Message>
 *   read() ◀── batches ◀──────────────────────────────────────────────────────────────────────────┘
 *
 * The channel is bounded: when the pipeline is slow the pump waits, the engine's queue fills, and the kernel
 * drops packets — and counts them (`kernel_dropped`), so a loss is always visible in the stats.
 */

import { createDecoder, type Decoder } from '../../capture/decode/index.js';
import type { TcpSegment } from '../../capture/types.js';
import { Channel } from '../../core/async.js';
import type { Logger } from '../../core/log.js';
import { type Message, nowNs } from '../../core/message.js';
import type { Batch, Input } from '../../core/plugin.js';
import { hasRequestTitle, hasResponseTitle } from '../../protocol/http1/index.js';
import { TcpAssembler } from '../../tcp/index.js';
import type { StreamConsumer, StreamSide, TcpConnection } from '../../tcp/types.js';
import type { RawAddress } from './address.js';
import { BinaryConnection, BinaryDirection, newBinaryCutCounters } from './binary-streams.js';
import { ConnectionState, HttpDirection, newHttpCutCounters } from './http-streams.js';
import type { PacketSource } from './sources.js';

export interface RawInputOptions {
  address: RawAddress;
  /** Opens the capture (engine chosen by the caller). */
  open: () => Promise<PacketSource>;
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
  /** Print the fidelity counters every this many ms (0 = only at the end), when `printStats`. */
  printStats: boolean;
  statsIntervalMs: number;
  log: Logger;
  name: string;
  random?: () => number;
}

/** The flags' defaults (gor's, and tapline's own), for code that builds a raw input without the CLI. */
export const RAW_INPUT_DEFAULTS = {
  protocol: 'http',
  trackResponse: true,
  allowIncomplete: false,
  realIpHeader: '',
  expireNs: 2_000_000_000n,
  maxSize: 64 * 1024 * 1024,
  probability: 1,
  wallClock: false,
  vxlanPort: 4789,
  vxlanVnis: [],
  vlanOnly: false,
  vlanIds: [],
  printStats: false,
  statsIntervalMs: 0,
} as const satisfies Partial<RawInputOptions>;

const TICK_NS = 100_000_000n;
const CHANNEL_CAPACITY = 10_000;

export function rawInput(options: RawInputOptions): Input {
  const { log, name } = options;
  const channel = new Channel<Message>(CHANNEL_CAPACITY);
  const httpCounters = newHttpCutCounters();
  const binaryCounters = newBinaryCutCounters();
  const decoder: Decoder = createDecoder({
    vxlanPort: options.vxlanPort,
    vxlanVnis: options.vxlanVnis,
    vlanIds: options.vlanIds,
    vlanOnly: options.vlanOnly,
  });
  const ports = new Set(options.address.ports);
  const emit = (msg: Message) => channel.offer(msg);
  const clock = options.wallClock ? () => nowNs() : null;
  const random = options.random ?? Math.random;
  const assembler = new TcpAssembler({
    onStream: streamFactory(),
    classify: ports.size > 0 ? classifyByPort(ports) : undefined,
    contentHint: options.protocol === 'http' ? contentHint : undefined,
    expireNs: options.expireNs,
  });
  let source: PacketSource | undefined;
  let packets = 0;
  let portFiltered = 0;
  let started = false;
  let stopping = false;
  let finished = false;

  function streamFactory() {
    // Keyed by the connection object: its state goes away with the flow, whichever direction ends first.
    const http = new WeakMap<TcpConnection, ConnectionState>();
    const binary = new WeakMap<TcpConnection, BinaryConnection>();
    return (conn: TcpConnection, side: StreamSide): StreamConsumer => {
      if (options.protocol === 'binary') {
        let link = binary.get(conn);
        if (!link) {
          link = new BinaryConnection(conn);
          binary.set(conn, link);
        }
        return new BinaryDirection(
          link,
          side,
          { trackResponse: options.trackResponse, maxSize: options.maxSize, clock, emit },
          binaryCounters,
        );
      }
      let state = http.get(conn);
      if (!state) {
        state = new ConnectionState(conn);
        http.set(conn, state);
      }
      return new HttpDirection(
        state,
        side,
        {
          trackResponse: options.trackResponse,
          allowIncomplete: options.allowIncomplete,
          maxSize: options.maxSize,
          realIpHeader: options.realIpHeader,
          probability: options.probability,
          random,
          clock,
          emit,
        },
        httpCounters,
      );
    };
  }

  const stats = (): Record<string, number | string> => {
    const d = decoder.counters;
    const a = assembler.stats;
    const engine = source?.stats() ?? {};
    const decodeDropped = Object.values(d.dropped).reduce((n, v) => n + v, 0);
    const cut = options.protocol === 'http' ? httpCounters : binaryCounters;
    return {
      packets,
      ...engine,
      not_tcp_or_filtered: decodeDropped,
      other_ports: portFiltered,
      segments: d.segments,
      retransmitted_segments: a.retransmittedSegments,
      out_of_order_segments: a.outOfOrderSegments,
      gaps: a.gaps,
      bytes_lost: a.bytesLost,
      connections: a.flowsOpened,
      ...cut,
    };
  };

  const printStats = (final: boolean) => {
    const line = Object.entries(stats())
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    // Asked for with --input-raw-stats: printed whatever the --verbose level.
    log.write(`tapline: ${name}: ${final ? 'final ' : ''}capture stats: ${line}`);
  };

  /** Reads packets until the engine ends; expires idle connections on the capture's clock. */
  async function pump(): Promise<void> {
    let lastTick = 0n;
    let timer: NodeJS.Timeout | undefined;
    let statsTimer: NodeJS.Timeout | undefined;
    try {
      source = await options.open();
      if (source.filterText) log.info(source.filterText);
      if (source.live) {
        timer = setInterval(
          () => {
            if (!finished) assembler.expire(nowNs());
          },
          Number(TICK_NS / 1_000_000n),
        );
      }
      if (options.printStats && options.statsIntervalMs > 0) {
        statsTimer = setInterval(() => printStats(false), options.statsIntervalMs);
        statsTimer.unref();
      }
      for await (const batch of source.packets) {
        let latest = lastTick;
        for (const pkt of batch) {
          packets++;
          const seg = decoder.decode(pkt);
          if (seg === null) continue;
          if (ports.size > 0 && !ports.has(seg.dstPort) && !ports.has(seg.srcPort)) {
            portFiltered++;
            continue;
          }
          assembler.push(seg);
          if (seg.tsNs > latest) latest = seg.tsNs;
        }
        if (!source.live && latest - lastTick >= TICK_NS) {
          // Files have no wall clock: time is the packets' own, so idle connections expire as they did.
          if (lastTick !== 0n) assembler.expire(latest);
          lastTick = latest;
        }
        const room = channel.room();
        if (room) await room; // the pipeline is behind: let the engine's queue (and the kernel) hold packets
        if (stopping) break;
      }
    } finally {
      if (timer) clearInterval(timer);
      if (statsTimer) clearInterval(statsTimer);
      finished = true;
      decoder.finish();
      assembler.flush(); // unfinished messages are reported (and counted) now: nothing is held back
      if (options.printStats) printStats(true);
      channel.close();
    }
  }

  return {
    name,
    async *read(): AsyncGenerator<Batch> {
      if (started) throw new Error('read() called twice');
      started = true;
      let failure: unknown;
      const running = pump().catch((err: unknown) => {
        failure = err;
      });
      for await (const batch of channel.drain()) yield batch;
      await running;
      if (failure !== undefined) throw failure;
    },
    async close() {
      stopping = true;
      source?.close();
    },
    stats,
  };
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
