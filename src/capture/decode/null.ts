/**
 * BSD loopback: LINKTYPE_NULL (0) and LINKTYPE_LOOP (108). A 4-byte address family precedes the IP
 * header. NULL stores it in the byte order of the machine that captured, LOOP in network order; since
 * families are small numbers, a value with only high bytes set is simply the other byte order.
 * AF_INET is 2 everywhere; AF_INET6 differs by OS: 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD),
 * 30 (macOS).
 */
import { u32le } from './bytes.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, type LinkInfo } from './link.js';
import type { DropReason } from './reasons.js';

const NULL_HEADER = 4;

export function parseNull(buf: Uint8Array, link: LinkInfo): DropReason | null {
  if (buf.length < NULL_HEADER) return 'link-truncated';
  let family = u32le(buf, 0);
  if (family > 0xffff) family = ((buf[0]! << 24) | (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!) >>> 0;
  link.offset = NULL_HEADER;
  if (family === 2) link.etherType = ETHERTYPE_IPV4;
  else if (family === 10 || family === 24 || family === 28 || family === 30) link.etherType = ETHERTYPE_IPV6;
  else return 'non-ip';
  return null;
}
