/**
 * GRE (RFC 2784 with the key and sequence fields of RFC 2890): a 4-byte header (flags, version 0, protocol
 * type) and the optional checksum, key and sequence words its flags announce, then the carried packet:
 * IPv4, IPv6 or MPLS (GRE tunnels, as tshark decodes them), or an Ethernet frame (0x6558, transparent Ethernet
 * bridging; ERSPAN types I/II 0x88be and III 0x22eb, how Cisco, Arista and cloud traffic mirrors send copies
 * of traffic to a collector). Version 1 (PPTP), source routing and other protocols carry no packet this
 * decoder reads and are non-TCP.
 *
 * A key names the tunnel (RFC 2890: one traffic flow, in practice often one tenant), so it becomes part of
 * the carried connections' identity (`link.tunnel`). In an Ethernet-carrying GRE packet the key is NVGRE's
 * (RFC 7637): a 24-bit virtual subnet id, then an 8-bit FlowID each end may fill with its own per-flow
 * entropy, so only the subnet id is taken (both directions of a connection must have the same identity).
 */

import { TunnelKind, tunnelId } from '../types.js';
import { u16be, u32be } from './bytes.js';
import { parseEthernet } from './ethernet.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, type LinkInfo } from './link.js';
import { isMpls } from './mpls.js';
import type { DropReason } from './reasons.js';

export const PROTO_GRE = 47;
const FLAG_CHECKSUM = 0x8000;
const FLAG_ROUTING = 0x4000;
const FLAG_KEY = 0x2000;
const FLAG_SEQUENCE = 0x1000;
const VERSION_MASK = 0x0007;
const TRANSPARENT_ETHERNET = 0x6558;
const ERSPAN_2 = 0x88be;
const ERSPAN_3 = 0x22eb;
const ERSPAN_2_HEADER = 8;
const ERSPAN_3_HEADER = 12;
/** ERSPAN III's O flag (last bit of its header): an 8-byte platform-specific subheader follows. */
const ERSPAN_3_SUBHEADER = 8;

/**
 * The GRE header at `[off, end)` of `buf`; on success `link` holds the carried packet: its EtherType, offset
 * and end (and the VLAN tags of a carried Ethernet frame, after any already there).
 */
export function parseGre(buf: Buffer, off: number, end: number, link: LinkInfo): DropReason | null {
  if (end - off < 4) return 'non-tcp';
  const flags = u16be(buf, off);
  if ((flags & (VERSION_MASK | FLAG_ROUTING)) !== 0) return 'non-tcp';
  const protocol = u16be(buf, off + 2);
  let at = off + 4;
  if (flags & FLAG_CHECKSUM) at += 4;
  const keyAt = flags & FLAG_KEY ? at : -1;
  if (keyAt >= 0) at += 4;
  if (flags & FLAG_SEQUENCE) at += 4;
  if (keyAt >= 0 && keyAt + 4 <= end) {
    const key = u32be(buf, keyAt);
    link.tunnel =
      protocol === TRANSPARENT_ETHERNET
        ? tunnelId(TunnelKind.NVGRE_VSID, key >>> 8)
        : tunnelId(TunnelKind.GRE_KEY, key);
  }
  if (protocol === ETHERTYPE_IPV4 || protocol === ETHERTYPE_IPV6 || isMpls(protocol)) {
    if (at >= end) return 'non-tcp';
    link.etherType = protocol;
    link.offset = at;
    link.end = end;
    return null;
  }
  if (protocol === ERSPAN_2) {
    // Type I has no header of its own and no sequence number; type II has both.
    if (flags & FLAG_SEQUENCE) at += ERSPAN_2_HEADER;
  } else if (protocol === ERSPAN_3) {
    if (end - at < ERSPAN_3_HEADER) return 'non-tcp';
    if (((buf[at + 10]! >> 2) & 0x1f) !== 0) return 'non-tcp'; // frame type: 0 Ethernet, 2 IP (not sent in practice)
    const withSubheader = (buf[at + ERSPAN_3_HEADER - 1]! & 1) === 1;
    at += ERSPAN_3_HEADER + (withSubheader ? ERSPAN_3_SUBHEADER : 0);
  } else if (protocol !== TRANSPARENT_ETHERNET) return 'non-tcp';
  if (at > end) return 'non-tcp';
  const r = parseEthernet(buf.subarray(0, end), at, link);
  if (r !== null) return r;
  link.end = end;
  return null;
}
