/**
 * Linux "cooked" captures (`tcpdump -i any`): SLL v1 (LINKTYPE 113, 16-byte header, protocol last) and
 * SLL v2 (LINKTYPE 276, 20-byte header, protocol first). The protocol field is an EtherType; libpcap
 * re-inserts VLAN tags the kernel stripped right after the header, so a VLAN TPID there starts a tag stack.
 */
import { u16be } from './bytes.js';
import type { LinkInfo } from './link.js';
import type { DropReason } from './reasons.js';
import { isVlanTpid, parseVlanTags } from './vlan.js';

const SLL_HEADER = 16;
const SLL2_HEADER = 20;

export function parseSll(buf: Uint8Array, link: LinkInfo): DropReason | null {
  if (buf.length < SLL_HEADER) return 'link-truncated';
  return afterProtocol(buf, u16be(buf, 14), SLL_HEADER, link);
}

export function parseSll2(buf: Uint8Array, link: LinkInfo): DropReason | null {
  if (buf.length < SLL2_HEADER) return 'link-truncated';
  return afterProtocol(buf, u16be(buf, 0), SLL2_HEADER, link);
}

function afterProtocol(buf: Uint8Array, protocol: number, off: number, link: LinkInfo): DropReason | null {
  if (isVlanTpid(protocol)) return parseVlanTags(buf, off, protocol, link);
  link.etherType = protocol;
  link.offset = off;
  return null;
}
