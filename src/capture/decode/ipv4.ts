/**
 * IPv4 header: the IHL is honoured (options skipped) and the total length is honoured, which strips the
 * padding Ethernet adds to short frames. A total length of 0 is what a sender's own capture shows for TCP
 * segmentation offload; we then take the captured length, as gopacket does.
 */
import { u16be, u32be } from './bytes.js';
import type { IpInfo } from './ip.js';
import type { DropReason } from './reasons.js';

const MIN_HEADER = 20;
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff;

/** Parses the IPv4 header at `off`; the packet's bytes end at `end` (the link layer's end). */
export function parseIpv4(buf: Uint8Array, off: number, end: number, ip: IpInfo): DropReason | null {
  const avail = end - off;
  if (avail < MIN_HEADER) return 'ipv4-truncated-header';
  const vihl = buf[off]!;
  if (vihl >> 4 !== 4) return 'ip-bad-version';
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < MIN_HEADER) return 'ipv4-bad-header-length';
  if (ihl > avail) return 'ipv4-truncated-header';
  let total = u16be(buf, off + 2);
  if (total === 0) total = avail;
  if (total < ihl) return 'ipv4-bad-total-length';
  const frag = u16be(buf, off + 6);
  ip.version = 4;
  ip.protocol = buf[off + 9]!;
  ip.src4 = u32be(buf, off + 12);
  ip.dst4 = u32be(buf, off + 16);
  ip.payloadOff = off + ihl;
  ip.truncated = total > avail;
  ip.missing = ip.truncated ? total - avail : 0;
  ip.payloadEnd = ip.truncated ? end : off + total;
  ip.fragOffset = (frag & OFFSET_MASK) * 8;
  ip.moreFragments = (frag & FLAG_MF) !== 0;
  ip.fragment = ip.moreFragments || ip.fragOffset !== 0;
  ip.fragId = u16be(buf, off + 4);
  return null;
}
