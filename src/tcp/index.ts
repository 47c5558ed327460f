/**
 * TCP stream assembler: segments in, two ordered byte streams per connection out, with gaps, ends and the
 * per-chunk metadata (seq, ack, timestamp, offset) that gor's ids and timings need. Sans-IO: no timers,
 * no sockets; the caller drives it with `push`, `expire` and `flush`.
 *
 *   const asm = new TcpAssembler({
 *     onStream: (conn, side) => ({ data: (chunk, m) => parser.feed(chunk, m), gap: (n) => parser.lost(n), end: () => parser.close() }),
 *     classify: (seg) => (ports.has(seg.dstPort) ? 'client' : ports.has(seg.srcPort) ? 'server' : undefined),
 *   });
 *   for (const seg of segments) asm.push(seg);
 *   setInterval(() => asm.expire(BigInt(Date.now()) * 1_000_000n), 100); // and asm.flush() at end of input
 */

export { ASSEMBLER_DEFAULTS, TcpAssembler } from './assembler.js';
export { CONTINUE_ACK_SHIFT, continueAck, requestId, responseId } from './ids.js';
export type { AssemblerStats } from './stats.js';
export type {
  AssemblerOptions,
  ChunkMeta,
  EndReason,
  GapMeta,
  GapReason,
  RoleSource,
  StreamConsumer,
  StreamFactory,
  StreamSide,
  TcpConnection,
} from './types.js';
