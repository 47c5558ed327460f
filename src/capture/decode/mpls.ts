/**
 * MPLS (RFC 3032, EtherType 0x8847 unicast, 0x8848 multicast), as a capture on a provider's or data centre's
 * core link holds it: a stack of 4-byte label entries, the last with the bottom-of-stack bit, then the
 * packet. MPLS does not say what it carries; as tshark does, the first nibble tells: 4 IPv4, 6 IPv6, 0 an
 * Ethernet pseudowire's frame, or its control word followed by the frame (its VLAN tags kept).
 */
import { parseEthernet } from './ethernet.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, type LinkInfo } from './link.js';
import type { DropReason } from './reasons.js';

export const ETHERTYPE_MPLS = 0x8847;
export const ETHERTYPE_MPLS_MULTICAST = 0x8848;
const LABEL_ENTRY = 4;
const PW_CONTROL_WORD = 4;
/** No network stacks more labels than this; more means a corrupt or crafted frame (and bounds the loop). */
const MAX_LABELS = 16;

export function isMpls(etherType: number): boolean {
  return etherType === ETHERTYPE_MPLS || etherType === ETHERTYPE_MPLS_MULTICAST;
}

/** `link` points at the first label entry; on return it points at the carried packet. */
export function parseMpls(buf: Buffer, link: LinkInfo): DropReason | null {
  const end = link.end;
  let at = link.offset;
  for (let n = 0; ; n++) {
    if (n === MAX_LABELS) return 'non-ip';
    if (end - at < LABEL_ENTRY) return 'link-truncated';
    const bottom = (buf[at + 2]! & 1) === 1;
    at += LABEL_ENTRY;
    if (bottom) break;
  }
  if (at >= end) return 'link-truncated';
  const nibble = buf[at]! >> 4;
  if (nibble === 4 || nibble === 6) {
    link.etherType = nibble === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
    link.offset = at;
    return null;
  }
  if (nibble !== 0) return 'non-ip';
  // An Ethernet pseudowire, with or without its control word (a first nibble of 0 too): the frame right here
  // when it carries IP (as tshark reads it), else after a control word.
  const frame = buf.subarray(0, end);
  const vlans = link.vlanIds.length;
  const r = parseEthernet(frame, at, link);
  if (r === null && (link.etherType === ETHERTYPE_IPV4 || link.etherType === ETHERTYPE_IPV6)) {
    link.end = end;
    return null;
  }
  link.vlanIds.length = vlans;
  const again = parseEthernet(frame, at + PW_CONTROL_WORD, link);
  if (again !== null) return again;
  link.end = end;
  return null;
}
