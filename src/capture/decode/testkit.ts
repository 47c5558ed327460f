/**
 * Packet builders for tests: each returns the bytes of one layer wrapped around its payload, so a test
 * reads like the packet it builds: `ethernet(ipv4(tcp({ payload }), { ... }))`. Checksums are left 0:
 * the decoders do not verify them (captures of offloaded traffic carry wrong ones).
 */
import type { RawPacket } from '../types.js';
import { LinkType } from '../types.js';

export function ip4(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** 16 bytes of an IPv6 address in full or `::` form. */
export function ip6(text: string): Buffer {
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) b.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return b;
}

export interface TcpFields {
  srcPort?: number;
  dstPort?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  /** Option bytes (padded to 4) after the 20-byte header. */
  options?: Buffer;
  /** Overrides the data offset nibble (in 4-byte words), for malformed headers. */
  dataOffsetWords?: number;
  payload?: Buffer | string;
}

export function tcp(f: TcpFields = {}): Buffer {
  const options = f.options ?? Buffer.alloc(0);
  const optLen = (options.length + 3) & ~3;
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload) : (f.payload ?? Buffer.alloc(0));
  const b = Buffer.alloc(20 + optLen + payload.length);
  b.writeUInt16BE(f.srcPort ?? 40000, 0);
  b.writeUInt16BE(f.dstPort ?? 80, 2);
  b.writeUInt32BE((f.seq ?? 1000) >>> 0, 4);
  b.writeUInt32BE((f.ack ?? 2000) >>> 0, 8);
  b[12] = (f.dataOffsetWords ?? 5 + optLen / 4) << 4;
  b[13] = f.flags ?? 0x18;
  b.writeUInt16BE(f.window ?? 65535, 14);
  options.copy(b, 20);
  payload.copy(b, 20 + optLen);
  return b;
}

export function udp(payload: Buffer, srcPort = 50000, dstPort = 4789): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b.writeUInt16BE(srcPort, 0);
  b.writeUInt16BE(dstPort, 2);
  b.writeUInt16BE(8 + payload.length, 4);
  payload.copy(b, 8);
  return b;
}

export interface Ipv4Fields {
  src?: string;
  dst?: string;
  protocol?: number;
  id?: number;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset?: number;
  moreFragments?: boolean;
  /** Option bytes (padded to 4). */
  options?: Buffer;
  /** Overrides the total length field. */
  totalLength?: number;
  /** Overrides the IHL nibble. */
  ihlWords?: number;
}

export function ipv4(payload: Buffer, f: Ipv4Fields = {}): Buffer {
  const options = f.options ?? Buffer.alloc(0);
  const hl = 20 + ((options.length + 3) & ~3);
  const b = Buffer.alloc(hl + payload.length);
  b[0] = 0x40 | (f.ihlWords ?? hl / 4);
  b.writeUInt16BE(f.totalLength ?? hl + payload.length, 2);
  b.writeUInt16BE(f.id ?? 1, 4);
  b.writeUInt16BE(((f.fragOffset ?? 0) / 8) | (f.moreFragments ? 0x2000 : 0), 6);
  b[8] = 64;
  b[9] = f.protocol ?? 6;
  b.writeUInt32BE(ip4(f.src ?? '192.0.2.1'), 12);
  b.writeUInt32BE(ip4(f.dst ?? '192.0.2.2'), 16);
  options.copy(b, 20);
  payload.copy(b, hl);
  return b;
}

export interface Ipv6Fields {
  src?: string;
  dst?: string;
  /** Next header of the fixed header (default 6, or the first extension's type). */
  nextHeader?: number;
  /** Overrides the payload length field. */
  payloadLength?: number;
}

export function ipv6(payload: Buffer, f: Ipv6Fields = {}): Buffer {
  const b = Buffer.alloc(40 + payload.length);
  b[0] = 0x60;
  b.writeUInt16BE(f.payloadLength ?? payload.length, 4);
  b[6] = f.nextHeader ?? 6;
  b[7] = 64;
  ip6(f.src ?? '2001:db8::1').copy(b, 8);
  ip6(f.dst ?? '2001:db8::2').copy(b, 24);
  payload.copy(b, 40);
  return b;
}

/** A generic IPv6 extension header (hop-by-hop, routing, destination options): 8-byte units. */
export function ext6(next: number, payload: Buffer, bodyLen = 6): Buffer {
  const len = (bodyLen + 2 + 7) & ~7;
  const b = Buffer.alloc(len + payload.length);
  b[0] = next;
  b[1] = len / 8 - 1;
  payload.copy(b, len);
  return b;
}

/** Authentication header: its length counts 4-byte words, minus 2. */
export function ah6(next: number, payload: Buffer): Buffer {
  const len = 12;
  const b = Buffer.alloc(len + payload.length);
  b[0] = next;
  b[1] = len / 4 - 2;
  payload.copy(b, len);
  return b;
}

export function frag6(next: number, offset: number, more: boolean, id: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = next;
  b.writeUInt16BE(offset | (more ? 1 : 0), 2);
  b.writeUInt32BE(id >>> 0, 4);
  payload.copy(b, 8);
  return b;
}

/** Ethernet II with optional VLAN tags (outermost first, each `[tpid, vid]`). */
export function ethernet(payload: Buffer, etherType = 0x0800, tags: ReadonlyArray<[number, number]> = []): Buffer {
  const b = Buffer.alloc(14 + tags.length * 4 + payload.length);
  Buffer.from('0a0000000002', 'hex').copy(b, 0);
  Buffer.from('0a0000000001', 'hex').copy(b, 6);
  let o = 12;
  for (const [tpid, vid] of tags) {
    b.writeUInt16BE(tpid, o);
    b.writeUInt16BE(vid & 0x0fff, o + 2);
    o += 4;
  }
  b.writeUInt16BE(etherType, o);
  payload.copy(b, o + 2);
  return b;
}

export function sll(payload: Buffer, protocol = 0x0800): Buffer {
  const b = Buffer.alloc(16 + payload.length);
  b.writeUInt16BE(0, 0); // packet type: to us
  b.writeUInt16BE(1, 2); // ARPHRD_ETHER
  b.writeUInt16BE(6, 4);
  b.writeUInt16BE(protocol, 14);
  payload.copy(b, 16);
  return b;
}

export function sll2(payload: Buffer, protocol = 0x0800): Buffer {
  const b = Buffer.alloc(20 + payload.length);
  b.writeUInt16BE(protocol, 0);
  b.writeUInt32BE(2, 4); // interface index
  b.writeUInt16BE(1, 8); // ARPHRD_ETHER
  b[11] = 6;
  payload.copy(b, 20);
  return b;
}

/** FDDI: frame control, two addresses, then LLC/SNAP carrying `etherType` (`snap` false: a plain LLC frame). */
export function fddi(payload: Buffer, etherType = 0x0800, snap = true): Buffer {
  const b = Buffer.alloc(21 + payload.length);
  b[0] = 0x50; // asynchronous LLC frame
  b.fill(2, 1, 13);
  b.set(snap ? [0xaa, 0xaa, 0x03, 0, 0, 0] : [0x42, 0x42, 0x03, 0, 0, 0], 13);
  b.writeUInt16BE(etherType, 19);
  payload.copy(b, 21);
  return b;
}

/** Solaris IPNET: the 24-byte header, `family` 2 (IPv4) or 26 (IPv6). */
export function ipnet(payload: Buffer, family = 2): Buffer {
  const b = Buffer.alloc(24 + payload.length);
  b[0] = 1;
  b[1] = family;
  b.writeUInt32BE(payload.length, 4);
  b.writeUInt32BE(1, 8); // interface index
  payload.copy(b, 24);
  return b;
}

/** BSD loopback header: the family in little-endian (NULL on x86) or big-endian (LOOP). */
export function loopback(payload: Buffer, family: number, bigEndian = false): Buffer {
  const b = Buffer.alloc(4 + payload.length);
  if (bigEndian) b.writeUInt32BE(family, 0);
  else b.writeUInt32LE(family, 0);
  payload.copy(b, 4);
  return b;
}

/** NFLOG: header then TLVs (little-endian unless asked), the payload as attribute 9. */
export function nflog(payload: Buffer, family = 2, bigEndian = false): Buffer {
  const tlv = (type: number, value: Buffer) => {
    const len = 4 + value.length;
    const b = Buffer.alloc((len + 3) & ~3);
    if (bigEndian) {
      b.writeUInt16BE(len, 0);
      b.writeUInt16BE(type, 2);
    } else {
      b.writeUInt16LE(len, 0);
      b.writeUInt16LE(type, 2);
    }
    value.copy(b, 4);
    return b;
  };
  const header = Buffer.from([family, 0, 0, 1]);
  const prefix = tlv(10, Buffer.from('tapline\0'));
  const hw = tlv(1, Buffer.from([0x08, 0x00, 3, 0]));
  return Buffer.concat([header, hw, prefix, tlv(9, payload)]);
}

export function vxlan(inner: Buffer, vni: number, flags = 0x08): Buffer {
  const b = Buffer.alloc(8 + inner.length);
  b[0] = flags;
  b[4] = (vni >> 16) & 0xff;
  b[5] = (vni >> 8) & 0xff;
  b[6] = vni & 0xff;
  inner.copy(b, 8);
  return b;
}

export interface GreFields {
  /** Checksum, key and sequence words (their flags are set when given). */
  checksum?: boolean;
  key?: number;
  seq?: number;
  /** Flags/version word bits beyond those (0x4000 routing, a version). */
  extraFlags?: number;
}

/** A GRE header (RFC 2784/2890) carrying `inner` of protocol type `protocol` (0x0800, 0x86dd, 0x6558, ...). */
export function gre(inner: Buffer, protocol = 0x0800, f: GreFields = {}): Buffer {
  const words: number[] = [];
  let flags = f.extraFlags ?? 0;
  if (f.checksum) {
    flags |= 0x8000;
    words.push(0);
  }
  if (f.key !== undefined) {
    flags |= 0x2000;
    words.push(f.key);
  }
  if (f.seq !== undefined) {
    flags |= 0x1000;
    words.push(f.seq);
  }
  const b = Buffer.alloc(4 + words.length * 4);
  b.writeUInt16BE(flags, 0);
  b.writeUInt16BE(protocol, 2);
  for (const [i, w] of words.entries()) b.writeUInt32BE(w >>> 0, 4 + i * 4);
  return Buffer.concat([b, inner]);
}

/** An ERSPAN type II header (8 bytes: version 1, VLAN, session) before the mirrored frame. */
export function erspan2(frame: Buffer, session = 1): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16BE(0x1000, 0);
  b.writeUInt16BE(session & 0x3ff, 2);
  return Buffer.concat([b, frame]);
}

/** An ERSPAN type III header (12 bytes, version 2), with the 8-byte platform subheader when `subheader`. */
export function erspan3(frame: Buffer, subheader = false, frameType = 0): Buffer {
  const b = Buffer.alloc(12 + (subheader ? 8 : 0));
  b.writeUInt16BE(0x2000, 0);
  b[10] = frameType << 2;
  if (subheader) b[11] = 1;
  return Buffer.concat([b, frame]);
}

/** A PPPoE session header and PPP protocol (two bytes, or one when `compressed`) before `payload`. */
export function pppoe(payload: Buffer, pppProtocol = 0x0021, compressed = false): Buffer {
  const proto = compressed ? Buffer.from([pppProtocol]) : Buffer.from([pppProtocol >> 8, pppProtocol & 0xff]);
  const b = Buffer.alloc(6);
  b[0] = 0x11;
  b.writeUInt16BE(0x1234, 2);
  b.writeUInt16BE(proto.length + payload.length, 4);
  return Buffer.concat([b, proto, payload]);
}

/** An MPLS label stack (bottom-of-stack bit on the last label) before `payload`. */
export function mpls(payload: Buffer, labels: readonly number[] = [16]): Buffer {
  const b = Buffer.alloc(4 * labels.length);
  for (const [i, label] of labels.entries()) {
    b.writeUInt32BE(((label << 12) | (i === labels.length - 1 ? 0x100 : 0) | 64) >>> 0, i * 4);
  }
  return Buffer.concat([b, payload]);
}

let clock = 1_700_000_000_000_000_000n;

/** A RawPacket with a fresh, increasing timestamp unless one is given. */
export function raw(data: Buffer, linkType: number = LinkType.ETHERNET, tsNs?: bigint): RawPacket {
  clock += 1000n;
  return { tsNs: tsNs ?? clock, linkType, data, origLen: data.length };
}
