/**
 * PPP framings: the PPP protocol field (RFC 1661; IPv4 0x0021, IPv6 0x0057, one byte when protocol-field
 * compression is on), shared by PPPoE; the link types that carry PPP (LINKTYPE_PPP 9 and PPP_HDLC 50, with or
 * without the 0xff 0x03 address and control bytes; PPP_ETHER 51, a PPPoE session header and no Ethernet)
 * and Cisco HDLC (LINKTYPE_C_HDLC 104, and type 50 frames that start with its address 0x0f or 0x8f), whose
 * protocol field is an EtherType. Control protocols (LCP, IPCP, ...) carry no IP and are non-IP.
 */
import { u16be } from './bytes.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, type LinkInfo } from './link.js';
import { parsePppoe } from './pppoe.js';
import type { DropReason } from './reasons.js';

export const LINKTYPE_PPP = 9;
export const LINKTYPE_PPP_HDLC = 50;
export const LINKTYPE_PPP_ETHER = 51;
export const LINKTYPE_C_HDLC = 104;
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
const CISCO_UNICAST = 0x0f;
const CISCO_MULTICAST = 0x8f;

/** The PPP protocol field at `at` (the frame ends at `end`); on success `link` points at the IP packet. */
export function parsePppProtocol(buf: Uint8Array, at: number, end: number, link: LinkInfo): DropReason | null {
  if (end - at < 1) return 'link-truncated';
  let protocol: number;
  if ((buf[at]! & 1) === 1) {
    // Protocol-field compression: the low byte alone (odd by definition, the high byte never is).
    protocol = buf[at++]!;
  } else {
    if (end - at < 2) return 'link-truncated';
    protocol = u16be(buf, at);
    at += 2;
  }
  if (protocol === PPP_IPV4) link.etherType = ETHERTYPE_IPV4;
  else if (protocol === PPP_IPV6) link.etherType = ETHERTYPE_IPV6;
  else return 'non-ip';
  link.offset = at;
  link.end = end;
  return null;
}

/** A frame of link type 9, 50, 51 or 104: `link` then points at the IP packet it carries. */
export function parsePppLink(linkType: number, buf: Uint8Array, link: LinkInfo): DropReason | null {
  const end = buf.length;
  if (linkType === LINKTYPE_PPP_ETHER) {
    link.offset = 0;
    link.end = end;
    return parsePppoe(buf, link);
  }
  if (end < 2) return 'link-truncated';
  if (
    linkType === LINKTYPE_C_HDLC ||
    (linkType === LINKTYPE_PPP_HDLC && (buf[0] === CISCO_UNICAST || buf[0] === CISCO_MULTICAST))
  ) {
    if (end < 4) return 'link-truncated';
    link.etherType = u16be(buf, 2);
    link.offset = 4;
    return null;
  }
  const at = buf[0] === 0xff && buf[1] === 0x03 ? 2 : 0;
  return parsePppProtocol(buf, at, end, link);
}
