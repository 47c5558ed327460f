/**
 * TCP header: ports, sequence and acknowledgement numbers (unsigned 32-bit), flags, window, and the
 * payload after the data offset (options skipped). When the IP layer says the snaplen cut the packet, a
 * complete header still yields a segment, marked truncated so the assembler accounts for missing bytes.
 */
import { u16be, u32be } from './bytes.js';
import type { DropReason } from './reasons.js';

const MIN_HEADER = 20;

export class TcpInfo {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  /** The 8 flag bits of byte 13 (FIN 0x01 ... URG 0x20, ECE 0x40, CWR 0x80). */
  flags = 0;
  window = 0;
  payloadOff = 0;
}

/** Parses the TCP header in `[off, end)`; `ipTruncated` tells a snaplen cut from a malformed header. */
export function parseTcp(
  buf: Uint8Array,
  off: number,
  end: number,
  ipTruncated: boolean,
  tcp: TcpInfo,
): DropReason | null {
  const avail = end - off;
  if (avail < MIN_HEADER) return ipTruncated ? 'tcp-truncated-header' : 'tcp-bad-data-offset';
  const doff = (buf[off + 12]! >> 4) * 4;
  if (doff < MIN_HEADER) return 'tcp-bad-data-offset';
  if (doff > avail) return ipTruncated ? 'tcp-truncated-header' : 'tcp-bad-data-offset';
  tcp.srcPort = u16be(buf, off);
  tcp.dstPort = u16be(buf, off + 2);
  tcp.seq = u32be(buf, off + 4);
  tcp.ack = u32be(buf, off + 8);
  tcp.flags = buf[off + 13]!;
  tcp.window = u16be(buf, off + 14);
  tcp.payloadOff = off + doff;
  return null;
}
