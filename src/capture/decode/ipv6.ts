/**
 * IPv6 header and extension headers: hop-by-hop (0), routing (43), destination options (60),
 * authentication (51, whose length counts 4-byte words) and fragment (44). gor skips only 0, 43 and 44;
 * we also walk 60 and 51 so TCP behind them is found. A payload length of 0 (jumbogram, or a sender's TSO
 * capture) means "the rest of the captured bytes".
 */
import { u16be, u32be } from './bytes.js';
import type { IpInfo } from './ip.js';
import type { DropReason } from './reasons.js';

const HEADER = 40;
const EXT_HOP_BY_HOP = 0;
const EXT_ROUTING = 43;
const EXT_FRAGMENT = 44;
const EXT_AUTH = 51;
const EXT_DEST_OPTS = 60;
/** Bounds the walk: real packets carry a handful of extension headers. */
const MAX_EXTENSIONS = 16;

/** Extension headers we walk (the fragment header excepted). */
export function isIpv6Extension(next: number): boolean {
  return next === EXT_HOP_BY_HOP || next === EXT_ROUTING || next === EXT_DEST_OPTS || next === EXT_AUTH;
}

export function parseIpv6(buf: Uint8Array, off: number, end: number, ip: IpInfo): DropReason | null {
  const avail = end - off;
  if (avail < HEADER) return 'ipv6-truncated-header';
  if (buf[off]! >> 4 !== 6) return 'ip-bad-version';
  const plen = u16be(buf, off + 4);
  ip.version = 6;
  ip.addrBuf = buf;
  ip.addrOff = off + 8;
  ip.src4 = u32be(buf, off + 20);
  ip.dst4 = u32be(buf, off + 36);
  ip.truncated = plen !== 0 && HEADER + plen > avail;
  ip.missing = ip.truncated ? HEADER + plen - avail : 0;
  const payloadEnd = plen === 0 || ip.truncated ? end : off + HEADER + plen;
  ip.fragment = false;
  const r = walkIpv6Extensions(buf, off + HEADER, payloadEnd, buf[off + 6]!, ip);
  // An extension header that runs past a snaplen-cut capture is a truncation, not a malformed packet.
  return r === 'ipv6-bad-extension' && ip.truncated ? 'ipv6-truncated-header' : r;
}

/**
 * Follows the extension-header chain from `next` at `p`, up to the transport header or a fragment header
 * that starts a real fragment. Used again on a reassembled datagram, whose fragmentable part may begin
 * with more extension headers.
 */
export function walkIpv6Extensions(
  buf: Uint8Array,
  p: number,
  end: number,
  next: number,
  ip: IpInfo,
): DropReason | null {
  for (let i = 0; i < MAX_EXTENSIONS; i++) {
    if (isIpv6Extension(next)) {
      if (end - p < 2) return 'ipv6-bad-extension';
      const len = next === EXT_AUTH ? (buf[p + 1]! + 2) * 4 : (buf[p + 1]! + 1) * 8;
      if (len > end - p) return 'ipv6-bad-extension';
      next = buf[p]!;
      p += len;
    } else if (next === EXT_FRAGMENT) {
      if (end - p < 8) return 'ipv6-bad-extension';
      const fo = u16be(buf, p + 2);
      const nh = buf[p]!;
      const offset = fo & 0xfff8;
      const more = (fo & 1) !== 0;
      p += 8;
      next = nh;
      // An "atomic" fragment (offset 0, no more) is a whole datagram: keep walking.
      if (offset !== 0 || more) {
        ip.fragment = true;
        ip.fragOffset = offset;
        ip.moreFragments = more;
        ip.fragId = u32be(buf, p - 4);
        ip.protocol = nh;
        ip.payloadOff = p;
        ip.payloadEnd = end;
        return null;
      }
    } else {
      ip.protocol = next;
      ip.payloadOff = p;
      ip.payloadEnd = end;
      return null;
    }
  }
  return 'ipv6-bad-extension';
}
