/**
 * 802.1Q VLAN tags and their stacks (QinQ): TPID 0x8100 (C-tag), 0x88a8 (802.1ad S-tag) and 0x9100 (the
 * pre-standard QinQ TPID). Each tag is TCI (PCP, DEI, 12-bit VID) plus the next EtherType. The VIDs are
 * kept, outermost first, for VLAN filtering.
 */
import type { LinkInfo } from './link.js';
import type { DropReason } from './reasons.js';

/** No real network stacks this many tags; more means a corrupt or crafted frame (and bounds the loop). */
export const MAX_VLAN_TAGS = 8;

export function isVlanTpid(etherType: number): boolean {
  return etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100;
}

/**
 * `off` is where the first tag's TCI starts, `etherType` the TPID that announced it. On return `link`
 * holds the EtherType after the last tag and the offset of the payload.
 */
export function parseVlanTags(buf: Uint8Array, off: number, etherType: number, link: LinkInfo): DropReason | null {
  let type = etherType;
  let o = off;
  while (isVlanTpid(type)) {
    if (link.vlanIds.length >= MAX_VLAN_TAGS) return 'vlan-too-deep';
    if (buf.length - o < 4) return 'link-truncated';
    link.vlanIds.push(((buf[o]! << 8) | buf[o + 1]!) & 0x0fff);
    type = (buf[o + 2]! << 8) | buf[o + 3]!;
    o += 4;
  }
  link.etherType = type;
  link.offset = o;
  return null;
}
