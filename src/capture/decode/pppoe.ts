/**
 * PPPoE session frames (RFC 2516, EtherType 0x8864), as a capture on the Ethernet side of a DSL or fibre
 * access link holds them: a 6-byte PPPoE header (version and type 1, code 0, session id, payload length),
 * then the PPP protocol (0x0021 IPv4, 0x0057 IPv6; one byte when protocol-field compression is on). Discovery
 * frames (0x8863) and PPP control protocols (LCP, IPCP, ...) carry no IP and are non-IP.
 */
import { u16be } from './bytes.js';
import type { LinkInfo } from './link.js';
import { parsePppProtocol } from './ppp.js';
import type { DropReason } from './reasons.js';

export const ETHERTYPE_PPPOE_SESSION = 0x8864;
const PPPOE_HEADER = 6;

/** `link` points at a PPPoE session header; on return it points at the IP packet inside. */
export function parsePppoe(buf: Uint8Array, link: LinkInfo): DropReason | null {
  const off = link.offset;
  const end = link.end;
  if (end - off < PPPOE_HEADER) return 'link-truncated';
  // Version 1, type 1, code 0 (session data): anything else is not a session frame this decoder knows.
  if (buf[off] !== 0x11 || buf[off + 1] !== 0) return 'non-ip';
  // The PPPoE length bounds the PPP frame: Ethernet padding after it is not part of the IP packet.
  const pppEnd = Math.min(end, off + PPPOE_HEADER + u16be(buf, off + 4));
  return parsePppProtocol(buf, off + PPPOE_HEADER, pppEnd, link);
}
