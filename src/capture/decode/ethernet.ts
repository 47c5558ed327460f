/**
 * Ethernet II (LINKTYPE_ETHERNET, and the inner frame of VXLAN): 6+6 byte addresses, then an EtherType,
 * possibly a stack of VLAN tags. A type/length value ≤ 1500 is an 802.3 length (LLC/SNAP frames, never IP
 * on today's networks) and is reported as non-IP.
 */
import { u16be } from './bytes.js';
import type { LinkInfo } from './link.js';
import type { DropReason } from './reasons.js';
import { isVlanTpid, parseVlanTags } from './vlan.js';

const ETHERNET_HEADER = 14;

export function parseEthernet(buf: Uint8Array, off: number, link: LinkInfo): DropReason | null {
  if (buf.length - off < ETHERNET_HEADER) return 'link-truncated';
  const type = u16be(buf, off + 12);
  if (isVlanTpid(type)) return parseVlanTags(buf, off + ETHERNET_HEADER, type, link);
  link.etherType = type;
  link.offset = off + ETHERNET_HEADER;
  return null;
}
