/**
 * Assembler counters: every way a byte can be delayed, doubled or lost has a number here, so a user can
 * answer "why did I lose this?". Plain mutable numbers on one object: the hot path increments fields, a
 * reader takes a copy with `{ ...assembler.stats }`.
 */

export interface AssemblerStats {
  /** Segments pushed, of any kind. */
  segments: number;
  /** Zero-length segments without SYN/FIN/RST on a known flow (pure ACKs, window updates): used for ACK hints. */
  emptySegments: number;
  /** Segments that matched no flow and could not open one (no payload and no SYN: pure ACK, FIN, RST). */
  orphanSegments: number;
  /** Payload bytes handed to consumers. */
  bytesDelivered: number;

  /** Segments that arrived ahead of a hole and were buffered. */
  outOfOrderSegments: number;
  /** Segments carrying bytes already received (wholly or partly), and how many such bytes. */
  retransmittedSegments: number;
  retransmittedBytes: number;
  /** Retransmissions whose overlapping bytes differed from the buffered ones (the first-seen bytes were kept). */
  conflictingOverlaps: number;
  /** TCP keepalive probes: one byte just below the next expected sequence number (or a lone zero byte
   *  opening a mid-stream capture). */
  keepalives: number;

  /** Holes skipped, and the bytes in them (known lengths only). */
  gaps: number;
  bytesLost: number;
  /** Gaps whose length could not be known (a snaplen-truncated tail at the end of a stream). */
  unknownGaps: number;
  /** Holes skipped because of `reorderTimeoutNs`, the peer's ACK, buffer bounds and snaplen truncation. */
  gapsTimeout: number;
  gapsAcked: number;
  gapsBufferLimit: number;
  gapsTruncated: number;
  /** Data that arrived after its hole had already been skipped (arrived too late to be used). */
  lateSegments: number;
  lateBytes: number;
  /** Segments cut by the snaplen. */
  truncatedSegments: number;
  /** Data segments too far from the expected sequence number to belong to the stream (|Δ| ≥ 2^30). */
  outOfWindowSegments: number;
  /** Data at or beyond the sender's FIN, or arriving after its stream ended (FIN reached, RST): stragglers. */
  afterCloseSegments: number;
  /** Times a buffer bound (per-stream bytes, per-stream segments or global bytes) forced a hole to be skipped. */
  bufferLimitHits: number;

  /** Directions whose first byte was not preceded by a SYN (the capture started mid-connection). */
  midstreamStarts: number;
  /** Connections whose client/server roles were guessed (see `RoleSource`). */
  rolesGuessed: number;

  flowsOpened: number;
  /** Flows removed after every stream had ended by FIN or RST. */
  flowsClosed: number;
  /** Flows removed by `expire` with a stream still open. */
  flowsExpired: number;
  /** Flows removed by the `maxFlows` cap with a stream still open. */
  flowsEvicted: number;
  /** Flows replaced by a new connection on the same 4-tuple with a stream still open. */
  flowsReused: number;
  /** Flows removed by `flush` with a stream still open. */
  flowsFlushed: number;

  /** Gauges: flows in the table, out-of-order bytes held now. */
  flowsActive: number;
  bufferedBytes: number;
}

export function createStats(): AssemblerStats {
  return {
    segments: 0,
    emptySegments: 0,
    orphanSegments: 0,
    bytesDelivered: 0,
    outOfOrderSegments: 0,
    retransmittedSegments: 0,
    retransmittedBytes: 0,
    conflictingOverlaps: 0,
    keepalives: 0,
    gaps: 0,
    bytesLost: 0,
    unknownGaps: 0,
    gapsTimeout: 0,
    gapsAcked: 0,
    gapsBufferLimit: 0,
    gapsTruncated: 0,
    lateSegments: 0,
    lateBytes: 0,
    truncatedSegments: 0,
    outOfWindowSegments: 0,
    afterCloseSegments: 0,
    bufferLimitHits: 0,
    midstreamStarts: 0,
    rolesGuessed: 0,
    flowsOpened: 0,
    flowsClosed: 0,
    flowsExpired: 0,
    flowsEvicted: 0,
    flowsReused: 0,
    flowsFlushed: 0,
    flowsActive: 0,
    bufferedBytes: 0,
  };
}
