/**
 * Linux NFLOG (LINKTYPE 239, `tcpdump -i nflog:N`): a 4-byte header (address family, version, resource
 * id) then netlink TLVs, each `length, type, value` padded to 4 bytes. The packet is the value of the
 * NFULA_PAYLOAD attribute (type 9), starting at the IP header.
 *
 * TLV length and type are in the capturing host's byte order, which the file does not record; we take the
 * order in which the first TLV looks sane (length fits, type is a small attribute number).
 */
import { u16be, u16le } from './bytes.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, type LinkInfo, parseRawIp } from './link.js';
import type { DropReason } from './reasons.js';

const NFLOG_HEADER = 4;
const NFULA_PAYLOAD = 9;
/** Attribute numbers are small (NFULA_* ends in the twenties); the top two bits are netlink flags. */
const MAX_ATTRIBUTE = 64;
const TYPE_MASK = 0x3fff;

export function parseNflog(buf: Uint8Array, link: LinkInfo): DropReason | null {
  const end = buf.length;
  if (end < NFLOG_HEADER) return 'link-truncated';
  const family = buf[0]!;
  let p = NFLOG_HEADER;
  if (end - p < 4) return 'nflog-malformed';
  const le = pickLittleEndian(buf, p, end - p);
  if (le === null) return 'nflog-malformed';
  while (end - p >= 4) {
    const len = le ? u16le(buf, p) : u16be(buf, p);
    const type = (le ? u16le(buf, p + 2) : u16be(buf, p + 2)) & TYPE_MASK;
    if (len < 4) return 'nflog-malformed';
    if (type === NFULA_PAYLOAD) {
      const valueOff = p + 4;
      // A snaplen cut leaves the payload attribute shorter than its length says: the IP layer reports it.
      link.end = Math.min(p + len, end);
      if (family === 2) link.etherType = ETHERTYPE_IPV4;
      else if (family === 10) link.etherType = ETHERTYPE_IPV6;
      else return parseRawIp(buf, valueOff, link);
      link.offset = valueOff;
      return null;
    }
    if (len > end - p) return 'nflog-malformed';
    p += (len + 3) & ~3;
  }
  return 'nflog-malformed';
}

/** Byte order in which the first TLV looks sane; little-endian (every common host) wins a tie. */
function pickLittleEndian(buf: Uint8Array, p: number, room: number): boolean | null {
  const le = score(u16le(buf, p), u16le(buf, p + 2), room);
  const be = score(u16be(buf, p), u16be(buf, p + 2), room);
  if (le === 0 && be === 0) return null;
  return le >= be;
}

/** 0: impossible; 1: plausible attribute; 2: plausible and fits in the frame. */
function score(len: number, type: number, room: number): number {
  if (len < 4 || (type & TYPE_MASK) >= MAX_ATTRIBUTE) return 0;
  return len <= room ? 2 : 1;
}
