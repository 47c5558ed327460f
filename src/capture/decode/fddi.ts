/**
 * FDDI (LINKTYPE_FDDI 10): frame control, 6+6 byte addresses, then an 802.2 LLC header. IP rides in SNAP
 * (DSAP AA, SSAP AA, control 03, a 3-byte OUI, then the EtherType), so the IP header starts at byte 21,
 * as tshark reads it (gor skips 13 bytes and lands on the LLC header, so it decodes nothing).
 */
import { u16be } from './bytes.js';
import type { LinkInfo } from './link.js';
import type { DropReason } from './reasons.js';

const FDDI_HEADER = 13;
const SNAP_HEADER = 8;
const SNAP_SAP = 0xaa;
const UNNUMBERED_INFORMATION = 0x03;

export function parseFddi(buf: Uint8Array, link: LinkInfo): DropReason | null {
  if (buf.length < FDDI_HEADER + SNAP_HEADER) return 'link-truncated';
  const llc = FDDI_HEADER;
  if (buf[llc] !== SNAP_SAP || buf[llc + 1] !== SNAP_SAP || buf[llc + 2] !== UNNUMBERED_INFORMATION) return 'non-ip';
  link.etherType = u16be(buf, llc + 6);
  link.offset = FDDI_HEADER + SNAP_HEADER;
  return null;
}
