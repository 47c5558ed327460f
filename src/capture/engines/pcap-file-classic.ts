/**
 * Classic libpcap file format (tcpdump.org/manpages/pcap-savefile.5.html): a 24-byte file header, then
 * 16-byte record headers each followed by the captured bytes. Both byte orders, microsecond (a1b2c3d4) and
 * nanosecond (a1b23c4d) magic. This is the hot path: one DataView per chunk, no per-packet copies.
 */
import type { RawPacket } from '../types.js';
import {
  badPacket,
  countSnaplenCut,
  maxPacketFor,
  type ParseContext,
  type PcapInterface,
  type RecordParser,
} from './pcap-file-common.js';

export const CLASSIC_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
/** Alexey Kuznetzov's "modified" format: 24-byte records. Rare, and recognised only to say so clearly. */
const MAGIC_MODIFIED = 0xa1b2cd34;

export interface ClassicHeader {
  readonly littleEndian: boolean;
  readonly nanosecond: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly snaplen: number;
  readonly linkType: number;
}

/** True when the first 4 bytes are a classic pcap magic we can read (either byte order). */
export function isClassicMagic(buf: Buffer): boolean {
  const be = buf.readUInt32BE(0);
  const le = buf.readUInt32LE(0);
  return be === MAGIC_US || be === MAGIC_NS || le === MAGIC_US || le === MAGIC_NS;
}

export function isModifiedMagic(buf: Buffer): boolean {
  return buf.readUInt32BE(0) === MAGIC_MODIFIED || buf.readUInt32LE(0) === MAGIC_MODIFIED;
}

/** Decodes the 24-byte file header; the caller has checked the magic and the length. */
export function parseClassicHeader(buf: Buffer, pos: number): ClassicHeader {
  const le = buf.readUInt32LE(pos) === MAGIC_US || buf.readUInt32LE(pos) === MAGIC_NS;
  const magic = le ? buf.readUInt32LE(pos) : buf.readUInt32BE(pos);
  const u16 = (o: number) => (le ? buf.readUInt16LE(pos + o) : buf.readUInt16BE(pos + o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(pos + o) : buf.readUInt32BE(pos + o));
  return {
    littleEndian: le,
    nanosecond: magic === MAGIC_NS,
    versionMajor: u16(4),
    versionMinor: u16(6),
    snaplen: u32(16),
    // The upper bits carry FCS-length flags (pcap-savefile(5)); libpcap masks them the same way.
    linkType: u32(20) & 0x03ffffff,
  };
}

export class ClassicParser implements RecordParser {
  need = RECORD_HEADER_LEN;
  readonly interfaces: readonly PcapInterface[];
  private readonly le: boolean;
  /** 1000 for µs files, 1 for ns: a number, so the fraction converts with one BigInt() and no bigint multiply. */
  private readonly fracToNs: number;
  private readonly linkType: number;
  private readonly maxLen: number;
  /** Seconds of the previous packet and its value in ns: most packets share a second with their predecessor. */
  private lastSec = -1;
  private lastSecNs = 0n;

  constructor(
    header: ClassicHeader,
    private readonly ctx: ParseContext,
  ) {
    this.le = header.littleEndian;
    this.fracToNs = header.nanosecond ? 1 : 1000;
    this.linkType = header.linkType;
    this.maxLen = maxPacketFor(header.snaplen);
    this.interfaces = [
      { linkType: header.linkType, snaplen: header.snaplen, tsResolution: header.nanosecond ? '1e-9' : '1e-6' },
    ];
  }

  parse(buf: Buffer, pos: number, base: number, out: RawPacket[]): number {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const le = this.le;
    const end = buf.length;
    const linkType = this.linkType;
    const fracToNs = this.fracToNs;
    const sink = this.ctx.sink;
    const filter = this.ctx.filter ?? null;
    // Counted locally and added to the shared stats when the loop exits: keeps a store out of the loop.
    let packets = 0;
    let bytes = 0;
    while (end - pos >= RECORD_HEADER_LEN) {
      const incl = dv.getUint32(pos + 8, le);
      if (incl > this.maxLen) {
        this.count(packets, bytes);
        throw badPacket(
          this.ctx,
          base + pos,
          `record claims ${incl} captured bytes (limit ${this.maxLen}): the file is corrupt or not a pcap file`,
        );
      }
      const dataStart = pos + RECORD_HEADER_LEN;
      if (end - dataStart < incl) {
        this.count(packets, bytes);
        this.need = RECORD_HEADER_LEN + incl;
        return pos;
      }
      const sec = dv.getUint32(pos, le);
      const orig = dv.getUint32(pos + 12, le);
      if (filter !== null) {
        this.count(packets, bytes); // a filter that throws names this packet
        packets = 0;
        bytes = 0;
        if (!filter(linkType, buf.subarray(dataStart, dataStart + incl), orig)) {
          this.ctx.stats.filtered++;
          pos = dataStart + incl;
          continue;
        }
      }
      if (orig > incl) {
        // Counted (and, the first time, warned about) at its own packet number: the local counts go in first.
        this.count(packets, bytes);
        packets = 0;
        bytes = 0;
        countSnaplenCut(this.ctx, base + pos, incl, orig);
      }
      if (sink) {
        sink.add(buf, linkType, fracToNs, dataStart, incl, orig, sec, dv.getUint32(pos + 4, le));
      } else {
        if (sec !== this.lastSec) {
          this.lastSec = sec;
          this.lastSecNs = BigInt(sec) * 1_000_000_000n;
        }
        const tsNs = this.lastSecNs + BigInt(dv.getUint32(pos + 4, le) * fracToNs);
        out.push({
          tsNs,
          linkType,
          data: buf.subarray(dataStart, dataStart + incl),
          origLen: orig,
        });
      }
      packets++;
      bytes += incl;
      pos = dataStart + incl;
    }
    this.count(packets, bytes);
    this.need = RECORD_HEADER_LEN;
    return pos;
  }

  private count(packets: number, bytes: number): void {
    this.ctx.stats.packets += packets;
    this.ctx.stats.bytes += bytes;
  }
}
