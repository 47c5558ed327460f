/**
 * Solaris IPNET (LINKTYPE_IPNET 226, libpcap on a Solaris/illumos `/dev/ipnet` device): a 24-byte header
 * (version, address family, type, packet length, interface and zone ids) before the IP packet. The family
 * says which IP: 2 (AF_INET) or 26 (AF_INET6 on Solaris). gor skips the same 24 bytes.
 */
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, type LinkInfo } from './link.js';
import type { DropReason } from './reasons.js';

const IPNET_HEADER = 24;
const AF_INET = 2;
const AF_INET6_SOLARIS = 26;

export function parseIpnet(buf: Uint8Array, link: LinkInfo): DropReason | null {
  if (buf.length < IPNET_HEADER) return 'link-truncated';
  const family = buf[1]!;
  if (family === AF_INET) link.etherType = ETHERTYPE_IPV4;
  else if (family === AF_INET6_SOLARIS) link.etherType = ETHERTYPE_IPV6;
  else return 'non-ip';
  link.offset = IPNET_HEADER;
  return null;
}
