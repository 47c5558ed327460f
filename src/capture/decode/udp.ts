/**
 * UDP header, read only to find VXLAN tunnels: ports and the payload span (the UDP length is honoured
 * when it is sane, else the IP payload's end is used).
 */
import { u16be } from './bytes.js';

const HEADER = 8;

export interface UdpView {
  srcPort: number;
  dstPort: number;
  payloadOff: number;
  payloadEnd: number;
}

/** Fills `out` and returns true, or false when fewer than 8 bytes are there. */
export function parseUdp(buf: Uint8Array, off: number, end: number, out: UdpView): boolean {
  if (end - off < HEADER) return false;
  out.srcPort = u16be(buf, off);
  out.dstPort = u16be(buf, off + 2);
  const len = u16be(buf, off + 4);
  out.payloadOff = off + HEADER;
  out.payloadEnd = len >= HEADER && off + len <= end ? off + len : end;
  return true;
}
