/**
 * What the IPv4 and IPv6 parsers report about a packet, in one reused object: addresses, the transport
 * protocol, where the transport bytes are, whether the snaplen cut them, and fragment facts.
 */

/** IP in IP (RFC 2003; LVS-TUN direct-return load balancers) and IPv6 in IP (RFC 4213, 6in4, 4in6). */
export const PROTO_IPIP = 4;
export const PROTO_IPV6 = 41;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export class IpInfo {
  version: 4 | 6 = 4;
  /** Transport protocol (after IPv6 extension headers). */
  protocol = 0;
  /** IPv4 addresses, or the last 4 bytes of the IPv6 ones (gor's id formula uses these). */
  src4 = 0;
  dst4 = 0;
  /** IPv6 only: the buffer and offset of the 16-byte source address; the destination follows it. */
  addrBuf: Uint8Array = EMPTY;
  addrOff = 0;
  /** The transport bytes: `[payloadOff, payloadEnd)`, clipped to what was captured. */
  payloadOff = 0;
  payloadEnd = 0;
  /** The IP length says more bytes than were captured (snaplen). */
  truncated = false;
  /** How many bytes of the packet the snaplen cut off (0 unless `truncated`). */
  missing = 0;
  /** A fragment (not an atomic one): the transport bytes are a piece of a larger datagram. */
  fragment = false;
  /** Byte offset of this piece in the datagram, whether more pieces follow, and the datagram id. */
  fragOffset = 0;
  moreFragments = false;
  fragId = 0;
}

const EMPTY = new Uint8Array(0);
