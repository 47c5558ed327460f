/**
 * Public types of the TCP stream assembler: what a protocol layer receives and what it may configure.
 *
 * The assembler turns `TcpSegment`s into two ordered byte streams per connection. A protocol layer
 * (HTTP/1 splitter, HTTP/2, 'binary') receives those bytes through a `StreamConsumer` and decides where
 * messages begin and end; the metadata on every chunk is what gor's id formula (§2.5) and timing need.
 */

import type { TcpSegment } from '../capture/types.js';

/** Who sent the bytes of a stream: `'client'` streams carry requests, `'server'` streams carry responses. */
export type StreamSide = 'client' | 'server';

/**
 * How the assembler decided which end is the client, strongest first:
 * - `syn`: a SYN without ACK was seen (its sender is the client);
 * - `synack`: a SYN+ACK was seen (its sender is the server);
 * - `classify`: the caller's `classify` predicate (e.g. "dst port is a configured server port");
 * - `content`: the caller's `contentHint` on the first payload (e.g. an HTTP request line);
 * - `guess`: nothing decided; the lower port is taken as the server's. Treat with suspicion.
 */
export type RoleSource = 'syn' | 'synack' | 'classify' | 'content' | 'guess';

/** One TCP connection as seen by the capture. Immutable once created. */
export interface TcpConnection {
  /** Sequential number, unique within one assembler; handy for logs and maps. */
  readonly id: number;
  readonly clientIp: string;
  readonly clientPort: number;
  /** gor's 4 id bytes of the client address (IPv4, or the last 4 bytes of IPv6). */
  readonly clientIp4: number;
  readonly serverIp: string;
  readonly serverPort: number;
  readonly serverIp4: number;
  /** The tunnel id its packets carry (`TcpSegment.tunnel`), 0 for none: part of the connection's identity. */
  readonly tunnel: number;
  /** The VLAN ids its packets carry (`TcpSegment.vlan`), 0 for none: part of the connection's identity. */
  readonly vlan: number;
  readonly roleSource: RoleSource;
  /** Timestamp of the packet that created the flow (Unix ns). */
  readonly openedNs: bigint;
}

/**
 * Metadata of one delivered chunk. A chunk never spans two segments, so every byte in it shares `ack`
 * and `tsNs`; byte `offset + i` has sequence number `(seq + i) >>> 0`. The assembler passes the same
 * object to every `data` call, overwritten each time (one object less per packet): it is valid only
 * during the call, so copy the fields you keep.
 */
export interface ChunkMeta {
  /** Absolute stream offset of the chunk's first byte (0 = first byte after the SYN, or first byte seen). */
  readonly offset: number;
  /** TCP sequence number of the chunk's first byte (unsigned 32-bit). */
  readonly seq: number;
  /** ACK number carried by the segment that delivered these bytes (unsigned 32-bit; see `ackValid`). */
  readonly ack: number;
  /** False when the segment had no ACK flag (its `ack` field is then meaningless, e.g. TFO data on a SYN). */
  readonly ackValid: boolean;
  /** Capture timestamp of that segment (Unix ns). */
  readonly tsNs: bigint;
}

/**
 * Why bytes were skipped:
 * - `timeout`: out-of-order data waited longer than `reorderTimeoutNs` (`missingHoldNs` for a hole the
 *   receiver said it misses) for a hole to fill;
 * - `acked`: the peer acknowledged bytes the capture never saw (they will not be retransmitted);
 * - `buffer-limit`: the per-stream or global out-of-order buffer bound was hit;
 * - `truncated`: the snaplen cut a segment short;
 * - `jump`: the sender's bytes went on more than a window (1 GiB) beyond the expected position (the capture
 *   lost that much, or the sequence numbers jumped): everything up to where they resumed is skipped;
 * - an `EndReason`: the stream was closed with a hole still open.
 */
export type GapReason = 'timeout' | 'acked' | 'buffer-limit' | 'truncated' | 'jump' | EndReason;

export interface GapMeta {
  /** Stream offset where the skipped bytes begin. */
  readonly offset: number;
  /** Sequence number of the first skipped byte. */
  readonly seq: number;
  /** Timestamp of the packet (or `expire` clock) that made the assembler give up on the hole. */
  readonly tsNs: bigint;
  readonly reason: GapReason;
}

/**
 * Why a stream ended:
 * - `fin`: all bytes up to the sender's FIN were delivered (or skipped as gaps);
 * - `rst`: either side reset the connection;
 * - `expired`: no packet for `expireNs`;
 * - `evicted`: the flow table was full and this was the least recently active flow;
 * - `reused`: a new SYN arrived for the same 4-tuple (port reuse);
 * - `flush`: end of input.
 */
export type EndReason = 'fin' | 'rst' | 'expired' | 'evicted' | 'reused' | 'flush';

/**
 * Receives one direction of one connection, in order. Called synchronously from `push`, `expire` and
 * `flush`; a consumer must not call back into the assembler.
 */
export interface StreamConsumer {
  /**
   * In-order bytes. `chunk` is a view into the segment's payload (no copy) for in-order data, or a copy
   * for data that waited in the reorder buffer: copy it if you keep it beyond the packet buffer's life.
   */
  data(chunk: Buffer, meta: ChunkMeta): void;
  /**
   * Bytes that will never arrive. `length` is null when unknown (a truncated tail at the end of the
   * stream); an unknown gap is always followed by `end`. After a known gap the next chunk's offset is
   * `meta.offset + length`.
   */
  gap(length: number | null, meta: GapMeta): void;
  /** No more calls follow. */
  end(reason: EndReason): void;
}

/**
 * Creates the consumer for one direction, on that direction's first byte (or gap). Return `undefined`
 * to discard a direction (it is still reassembled and counted). Directions that never carry a byte get
 * no consumer and no `end`.
 */
export type StreamFactory = (conn: TcpConnection, side: StreamSide) => StreamConsumer | undefined;

export interface AssemblerOptions {
  onStream: StreamFactory;
  /**
   * Who sent this segment, for connections whose handshake was not captured. Typically: `'client'` if
   * `seg.dstPort` is a configured server port, `'server'` if `seg.srcPort` is, else `undefined`.
   */
  classify?: (seg: TcpSegment) => StreamSide | undefined;
  /** Who sent this payload, judged by its content (e.g. a request line → `'client'`). Asked after `classify`. */
  contentHint?: (payload: Buffer) => StreamSide | undefined;
  /** A flow with no packet for this long is flushed and removed by `expire`. Default 2 s (`--input-raw-expire`). */
  expireNs?: bigint;
  /** How long out-of-order data waits for a hole before the hole is skipped. Default 1 s. */
  reorderTimeoutNs?: bigint;
  /**
   * How long it waits for a hole the receiver said it misses (a duplicate ACK at the hole's start, seen after
   * the data beyond it): lost on the network, the sender retransmits it after its retransmission timeout,
   * which backs off 0.2, 0.4, 0.8, 1.6, 3.2 s... Default 10 s (never less than `reorderTimeoutNs`).
   */
  missingHoldNs?: bigint;
  /** Out-of-order bytes held per direction before the first hole is skipped. Default 4 MiB. */
  maxStreamBufferBytes?: number;
  /** Out-of-order segments held per direction (bounds bookkeeping for tiny segments). Default 4096. */
  maxStreamBufferSegments?: number;
  /** Out-of-order bytes held by all flows together. Default 128 MiB. */
  maxBufferBytes?: number;
  /** Flows tracked at once; the least recently active is evicted beyond it. Default 200 000. */
  maxFlows?: number;
  /**
   * Skip a hole at once when the peer's ACK shows the receiver already has those bytes (so the capture
   * lost them and no retransmission will come). Default true. Turn off for captures that reorder packets
   * across directions (merged taps).
   */
  skipAckedHoles?: boolean;
  /** Told of every flow the assembler removes (expiry, eviction, port reuse, flush). */
  onFlowRemoved?: (conn: TcpConnection) => void;
}

/** One direction of a flow followed elsewhere until now (see `TcpAssembler.adopt`). */
export interface AdoptedDirection {
  readonly started: boolean;
  readonly synSeen: boolean;
  readonly isn: number;
  /** Sequence number of the next byte expected; the stream's offsets restart at 0 there. */
  readonly nextSeq: number;
}

/**
 * A connection another reader (the native fast path) followed from its SYN and now hands over, in order
 * and at a message boundary in both directions: nothing buffered, no gap, no FIN, no RST.
 */
export interface AdoptedFlow {
  readonly clientIp: string;
  readonly clientIp4: number;
  readonly clientPort: number;
  readonly serverIp: string;
  readonly serverIp4: number;
  readonly serverPort: number;
  readonly roleSource: RoleSource;
  readonly openedNs: bigint;
  readonly lastSeenNs: bigint;
  readonly client: AdoptedDirection;
  readonly server: AdoptedDirection;
}
