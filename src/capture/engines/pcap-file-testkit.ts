/**
 * pcapng builders for tests (the classic format has `pcap-writer.ts`). Each function returns one block,
 * in either byte order, so tests can assemble files with odd mixes: several sections, interfaces with
 * different link types and resolutions, unknown blocks in between.
 */

export interface Order {
  bigEndian?: boolean;
}

function u16(v: number, o: Order): Buffer {
  const b = Buffer.alloc(2);
  if (o.bigEndian) b.writeUInt16BE(v);
  else b.writeUInt16LE(v);
  return b;
}

function u32(v: number, o: Order): Buffer {
  const b = Buffer.alloc(4);
  if (o.bigEndian) b.writeUInt32BE(v >>> 0);
  else b.writeUInt32LE(v >>> 0);
  return b;
}

function pad4(b: Buffer): Buffer {
  const n = (4 - (b.length % 4)) % 4;
  return n === 0 ? b : Buffer.concat([b, Buffer.alloc(n)]);
}

/** Any block: type, total length, body padded to 4, total length again. */
export function block(type: number, body: Buffer, o: Order = {}): Buffer {
  const padded = pad4(body);
  const len = 12 + padded.length;
  return Buffer.concat([u32(type, o), u32(len, o), padded, u32(len, o)]);
}

/** One option TLV, value padded; pass code 0 for opt_endofopt. */
export function option(code: number, value: Buffer, o: Order = {}): Buffer {
  return Buffer.concat([u16(code, o), u16(value.length, o), pad4(value)]);
}

export function shb(o: Order = {}, options: Buffer = Buffer.alloc(0)): Buffer {
  const section = Buffer.alloc(8, 0xff); // section length -1: unknown
  const body = Buffer.concat([u32(0x1a2b3c4d, o), u16(1, o), u16(0, o), section, options]);
  return block(0x0a0d0d0a, body, o);
}

export interface IdbOptions extends Order {
  /** Raw if_tsresol byte: 6 → µs (default), 9 → ns, 0x80|20 → 2^-20 s. */
  tsresol?: number;
  /** if_tsoffset in seconds. */
  tsoffset?: bigint;
  name?: string;
}

export function idb(linkType: number, snaplen: number, o: IdbOptions = {}): Buffer {
  const opts: Buffer[] = [];
  if (o.name !== undefined) opts.push(option(2, Buffer.from(o.name), o));
  if (o.tsresol !== undefined) opts.push(option(9, Buffer.from([o.tsresol]), o));
  if (o.tsoffset !== undefined) {
    const v = Buffer.alloc(8);
    if (o.bigEndian) v.writeBigInt64BE(o.tsoffset);
    else v.writeBigInt64LE(o.tsoffset);
    opts.push(option(14, v, o));
  }
  if (opts.length > 0) opts.push(option(0, Buffer.alloc(0), o));
  return block(1, Buffer.concat([u16(linkType, o), u16(0, o), u32(snaplen, o), ...opts]), o);
}

/** Enhanced Packet Block; `ts` in the interface's units. */
export function epb(ifId: number, ts: bigint, data: Buffer, o: Order & { origLen?: number } = {}): Buffer {
  const hi = Number(ts >> 32n);
  const lo = Number(ts & 0xffffffffn);
  const head = Buffer.concat([u32(ifId, o), u32(hi, o), u32(lo, o), u32(data.length, o)]);
  return block(6, Buffer.concat([head, u32(o.origLen ?? data.length, o), pad4(data)]), o);
}

/** Simple Packet Block: no interface id (always 0), no timestamp, no captured length. */
export function spb(data: Buffer, o: Order & { origLen?: number } = {}): Buffer {
  return block(3, Buffer.concat([u32(o.origLen ?? data.length, o), pad4(data)]), o);
}

/** The obsolete Packet Block: 16-bit interface id and drops count. */
export function pb(ifId: number, ts: bigint, data: Buffer, o: Order = {}): Buffer {
  const hi = Number(ts >> 32n);
  const lo = Number(ts & 0xffffffffn);
  const head = Buffer.concat([u16(ifId, o), u16(0, o), u32(hi, o), u32(lo, o), u32(data.length, o)]);
  return block(2, Buffer.concat([head, u32(data.length, o), pad4(data)]), o);
}
