/**
 * Link layer: dispatch by LINKTYPE to the parser that finds where the IP header starts. Raw-IP link types
 * (no header at all) are handled here. Parsers fill a reused `LinkInfo` and return a drop reason or null,
 * so decoding a packet allocates nothing until the segment itself.
 */
import { LinkType } from '../types.js';
import { parseEthernet } from './ethernet.js';
import { parseFddi } from './fddi.js';
import { parseIpnet } from './ipnet.js';
import { parseNflog } from './nflog.js';
import { parseNull } from './null.js';
import { LINKTYPE_C_HDLC, LINKTYPE_PPP, LINKTYPE_PPP_ETHER, LINKTYPE_PPP_HDLC, parsePppLink } from './ppp.js';
import type { DropReason } from './reasons.js';
import { parseSll, parseSll2 } from './sll.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;

/** DLT_RAW's value on most BSDs (12) and on OpenBSD (14): some files carry it instead of LINKTYPE_RAW. */
const DLT_RAW_BSD = 12;
const DLT_RAW_OPENBSD = 14;

/** The link types `parseLink` decodes. */
export const SUPPORTED_LINK_TYPES: readonly number[] = [
  LinkType.NULL,
  LinkType.ETHERNET,
  LinkType.RAW,
  DLT_RAW_BSD,
  DLT_RAW_OPENBSD,
  LinkType.LOOP,
  LinkType.LINUX_SLL,
  LinkType.IPV4,
  LinkType.IPV6,
  LinkType.NFLOG,
  LinkType.LINUX_SLL2,
  LinkType.FDDI,
  LinkType.IPNET,
  LINKTYPE_PPP,
  LINKTYPE_PPP_HDLC,
  LINKTYPE_PPP_ETHER,
  LINKTYPE_C_HDLC,
];

/** `SUPPORTED_LINK_TYPES` in words, for messages about a link type that is not among them. */
export const SUPPORTED_LINK_SUMMARY =
  'Ethernet (with VLAN tags, PPPoE, MPLS), Linux cooked SLL/SLL2, BSD loopback, raw IP, NFLOG, FDDI, Solaris IPNET, ' +
  'PPP, Cisco HDLC';

/** Where the network layer starts and what it is. Reused across packets: copy what you keep. */
export class LinkInfo {
  /** Offset of the network header in the frame. */
  offset = 0;
  /** End of the network layer's bytes (the frame's end, except where the link says less, as NFLOG does). */
  end = 0;
  /** EtherType of the network layer: 0x0800, 0x86dd, or anything else for non-IP. */
  etherType = 0;
  /** VLAN ids (12-bit VIDs), outermost first; empty when untagged. */
  readonly vlanIds: number[] = [];
  /** The id of the innermost tunnel with one the packet came out of (`TcpSegment.tunnel`), or 0. */
  tunnel = 0;

  reset(): void {
    this.offset = 0;
    this.end = 0;
    this.etherType = 0;
    this.tunnel = 0;
    // Writing `length` is slow even when it does not change; most frames are untagged.
    if (this.vlanIds.length !== 0) this.vlanIds.length = 0;
  }
}

export function parseLink(linkType: number, buf: Buffer, link: LinkInfo): DropReason | null {
  link.end = buf.length;
  switch (linkType) {
    case LinkType.ETHERNET:
      return parseEthernet(buf, 0, link);
    case LinkType.NULL:
    case LinkType.LOOP:
      return parseNull(buf, link);
    case LinkType.LINUX_SLL:
      return parseSll(buf, link);
    case LinkType.LINUX_SLL2:
      return parseSll2(buf, link);
    case LinkType.NFLOG:
      return parseNflog(buf, link);
    case LinkType.FDDI:
      return parseFddi(buf, link);
    case LinkType.IPNET:
      return parseIpnet(buf, link);
    case LINKTYPE_PPP:
    case LINKTYPE_PPP_HDLC:
    case LINKTYPE_PPP_ETHER:
    case LINKTYPE_C_HDLC:
      return parsePppLink(linkType, buf, link);
    case LinkType.RAW:
    case DLT_RAW_BSD:
    case DLT_RAW_OPENBSD:
      return parseRawIp(buf, 0, link);
    case LinkType.IPV4:
      link.offset = 0;
      link.etherType = ETHERTYPE_IPV4;
      return null;
    case LinkType.IPV6:
      link.offset = 0;
      link.etherType = ETHERTYPE_IPV6;
      return null;
    default:
      return 'unsupported-link-type';
  }
}

/** No link header: the IP version nibble says which IP it is. */
export function parseRawIp(buf: Uint8Array, off: number, link: LinkInfo): DropReason | null {
  if (buf.length <= off) return 'link-truncated';
  const version = buf[off]! >> 4;
  if (version === 4) link.etherType = ETHERTYPE_IPV4;
  else if (version === 6) link.etherType = ETHERTYPE_IPV6;
  else return 'ip-bad-version';
  link.offset = off;
  return null;
}
