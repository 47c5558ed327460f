/**
 * pcapng (IETF draft-ietf-opsawg-pcapng): a sequence of blocks `type, length, body, length`.
 *
 * - Section Header Blocks set the byte order for the blocks that follow; a file may hold several sections,
 *   each with its own byte order and its own interface numbering.
 * - Interface Description Blocks give link type, snaplen and the timestamp unit (`if_tsresol`, base 10 or
 *   base 2) and offset (`if_tsoffset`).
 * - Packets come in Enhanced (EPB), Simple (SPB) and the obsolete Packet Block (PB).
 * - Every other block (NRB, ISB, DSB, custom, unknown) is skipped without being buffered, so a huge
 *   decryption-secrets block costs no memory.
 */
import type { RawPacket } from '../types.js';
import {
  badPacket,
  checkLinkType,
  countSnaplenCut,
  HARD_MAX_PACKET,
  maxPacketFor,
  type ParseContext,
  type PcapInterface,
  type RecordParser,
} from './pcap-file-common.js';

export const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 1;
const BLOCK_PB = 2;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_END = 0;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

/** Blocks we must hold in memory (headers and packets) may not exceed this; skipped blocks may. */
const MAX_BUFFERED_BLOCK = HARD_MAX_PACKET + 1024 * 1024;

/** An interface plus what turns its timestamp units into Unix nanoseconds. */
interface NgInterface extends PcapInterface {
  /** How units convert to ns: multiply (10^-k, k ≤ 9), divide (k > 9) or scale by 1e9 / 2^k. */
  readonly mode: 'mul' | 'div' | 'pow2';
  readonly factor: bigint;
  readonly offsetNs: bigint;
  readonly maxLen: number;
}

export function isPcapngMagic(buf: Buffer): boolean {
  return buf.readUInt32LE(0) === BLOCK_SHB;
}

export class PcapngParser implements RecordParser {
  need = 8;
  interfaces: NgInterface[] = [];
  private le = true;
  /** SPBs carry no timestamp: they get the previous packet's time (0 before any), so ordering survives. */
  private lastTsNs = 0n;

  constructor(private readonly ctx: ParseContext) {}

  parse(buf: Buffer, pos: number, base: number, out: RawPacket[]): number {
    const end = buf.length;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (;;) {
      if (end - pos < 8) {
        this.need = 8;
        return pos;
      }
      let le = this.le;
      const type = dv.getUint32(pos, le);
      if (type === BLOCK_SHB) {
        // The section header's length can be read only with the byte-order magic that follows it.
        if (end - pos < 12) {
          this.need = 12;
          return pos;
        }
        // The byte-order magic tells how to read everything in the section, this block's length included.
        const bom = dv.getUint32(pos + 8, true);
        if (bom === BYTE_ORDER_MAGIC) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else throw badPacket(this.ctx, base + pos, 'section header has a bad byte-order magic', 'block');
      }
      const len = dv.getUint32(pos + 4, le);
      if (len < 12 || len % 4 !== 0) {
        throw badPacket(
          this.ctx,
          base + pos,
          `block of type 0x${type.toString(16)} has an invalid length ${len}: the file is corrupt`,
          type === BLOCK_EPB || type === BLOCK_SPB || type === BLOCK_PB ? 'packet' : 'block',
        );
      }
      const buffered = type === BLOCK_SHB || type === BLOCK_IDB || isPacketBlock(type);
      if (!buffered) {
        this.ctx.stats.blocksSkipped++;
        pos += len;
        if (pos > end) return pos;
        continue;
      }
      if (len > MAX_BUFFERED_BLOCK) {
        throw badPacket(this.ctx, base + pos, `block claims ${len} bytes: the file is corrupt`, 'block');
      }
      if (end - pos < len) {
        this.need = len;
        return pos;
      }
      if (dv.getUint32(pos + len - 4, le) !== len) {
        throw badPacket(
          this.ctx,
          base + pos,
          `block length ${len} does not match its trailing copy: the file is corrupt`,
          isPacketBlock(type) ? 'packet' : 'block',
        );
      }
      if (type === BLOCK_SHB) this.sectionHeader(dv, pos, len, base, le);
      else if (type === BLOCK_IDB) this.interfaceDescription(dv, pos, len, base);
      else this.packet(buf, dv, type, pos, len, base, out);
      pos += len;
    }
  }

  private sectionHeader(dv: DataView, pos: number, len: number, base: number, le: boolean): void {
    if (len < 28) throw badPacket(this.ctx, base + pos, `section header block too short (${len} bytes)`, 'block');
    const major = dv.getUint16(pos + 12, le);
    if (major !== 1) {
      throw badPacket(this.ctx, base + pos, `unsupported pcapng major version ${major}`, 'block');
    }
    this.le = le;
    // Interface ids are per section: a new section starts an empty table.
    this.interfaces = [];
    this.ctx.stats.sections++;
  }

  private interfaceDescription(dv: DataView, pos: number, len: number, base: number): void {
    const le = this.le;
    if (len < 20) throw badPacket(this.ctx, base + pos, `interface block too short (${len} bytes)`, 'block');
    const linkType = dv.getUint16(pos + 8, le);
    const snaplen = dv.getUint32(pos + 12, le);
    let resol = 6;
    let offsetSec = 0n;
    let name: string | undefined;
    const optEnd = pos + len - 4;
    let o = pos + 16;
    while (optEnd - o >= 4) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === OPT_END) break;
      const next = o + 4 + ((olen + 3) & ~3);
      if (next > optEnd) {
        throw badPacket(this.ctx, base + o, `interface option ${code} runs past the end of its block`, 'block');
      }
      if (code === OPT_IF_TSRESOL && olen >= 1) resol = dv.getUint8(o + 4);
      else if (code === OPT_IF_TSOFFSET && olen >= 8) offsetSec = dv.getBigInt64(o + 4, le);
      else if (code === OPT_IF_NAME) {
        name = Buffer.from(dv.buffer, dv.byteOffset + o + 4, olen)
          .toString('utf8')
          .replace(/\0+$/, '');
      }
      o = next;
    }
    checkLinkType(this.ctx, linkType, base + pos, 'block', this.interfaces.length);
    this.interfaces.push(makeInterface(linkType, snaplen, resol, offsetSec, name));
  }

  private packet(
    buf: Buffer,
    dv: DataView,
    type: number,
    pos: number,
    len: number,
    base: number,
    out: RawPacket[],
  ): void {
    const le = this.le;
    let ifId: number;
    let hi = 0;
    let lo = 0;
    let capLen: number;
    let origLen: number;
    let dataOff: number;
    if (type === BLOCK_SPB) {
      if (len < 16) throw badPacket(this.ctx, base + pos, `simple packet block too short (${len} bytes)`);
      ifId = 0;
      origLen = dv.getUint32(pos + 8, le);
      dataOff = pos + 12;
      // SPB has no captured-length field: it is the smaller of the wire length, the room in the block
      // and the interface snaplen.
      capLen = Math.min(origLen, len - 16);
      const snap = this.interfaces[0]?.snaplen ?? 0;
      if (snap > 0) capLen = Math.min(capLen, snap);
    } else {
      if (len < 32) throw badPacket(this.ctx, base + pos, `packet block too short (${len} bytes)`);
      if (type === BLOCK_EPB) ifId = dv.getUint32(pos + 8, le);
      else ifId = dv.getUint16(pos + 8, le);
      hi = dv.getUint32(pos + 12, le);
      lo = dv.getUint32(pos + 16, le);
      capLen = dv.getUint32(pos + 20, le);
      origLen = dv.getUint32(pos + 24, le);
      dataOff = pos + 28;
      if (capLen > len - 32) {
        throw badPacket(
          this.ctx,
          base + pos,
          `packet claims ${capLen} captured bytes but its block holds ${len - 32}: the file is corrupt`,
        );
      }
    }
    const iface = this.interfaces[ifId];
    if (iface === undefined) {
      throw badPacket(
        this.ctx,
        base + pos,
        `packet refers to interface ${ifId} but the section describes ${this.interfaces.length}`,
      );
    }
    if (capLen > iface.maxLen) {
      throw badPacket(this.ctx, base + pos, `packet claims ${capLen} captured bytes (limit ${iface.maxLen})`);
    }
    const tsNs = type === BLOCK_SPB ? this.lastTsNs : toNs(iface, hi, lo);
    this.lastTsNs = tsNs;
    const data = buf.subarray(dataOff, dataOff + capLen);
    const filter = this.ctx.filter;
    if (filter && !filter(iface.linkType, data, origLen)) {
      this.ctx.stats.filtered++;
      return;
    }
    if (capLen < origLen) countSnaplenCut(this.ctx, base + pos, capLen, origLen);
    out.push({ tsNs, linkType: iface.linkType, data, origLen });
    this.ctx.stats.packets++;
    this.ctx.stats.bytes += capLen;
  }
}

function isPacketBlock(type: number): boolean {
  return type === BLOCK_EPB || type === BLOCK_SPB || type === BLOCK_PB;
}

/** `if_tsresol`: high bit clear → 10^-v seconds, set → 2^-(v & 0x7f) seconds. Default 10^-6. */
function makeInterface(
  linkType: number,
  snaplen: number,
  resol: number,
  offsetSec: bigint,
  name: string | undefined,
): NgInterface {
  const exp = resol & 0x7f;
  const pow2 = (resol & 0x80) !== 0;
  const common = { linkType, snaplen, offsetNs: offsetSec * 1_000_000_000n, maxLen: maxPacketFor(snaplen) };
  const named = name === undefined ? {} : { name };
  if (pow2) return { ...common, ...named, tsResolution: `2^-${exp}`, mode: 'pow2', factor: BigInt(exp) };
  const tsResolution = `1e-${exp}`;
  if (exp <= 9) return { ...common, ...named, tsResolution, mode: 'mul', factor: 10n ** BigInt(9 - exp) };
  return { ...common, ...named, tsResolution, mode: 'div', factor: 10n ** BigInt(exp - 9) };
}

/** Exact conversion of a 64-bit unit count to Unix ns (floors sub-ns fractions). */
function toNs(iface: NgInterface, hi: number, lo: number): bigint {
  // Below 2^53 a double holds the unit count exactly, and one BigInt() is cheaper than shift-and-add.
  const units = hi < 0x200000 ? BigInt(hi * 4294967296 + lo) : (BigInt(hi) << 32n) + BigInt(lo);
  let ns: bigint;
  if (iface.mode === 'mul') ns = units * iface.factor;
  else if (iface.mode === 'div') ns = units / iface.factor;
  else ns = (units * 1_000_000_000n) >> iface.factor;
  return iface.offsetNs === 0n ? ns : ns + iface.offsetNs;
}
