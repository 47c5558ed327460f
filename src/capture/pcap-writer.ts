/**
 * A small classic-pcap writer (pcap-savefile(5)), used by tests and fixtures, and by anything that wants
 * to hand a capture to tcpdump or Wireshark. Microsecond or nanosecond magic, either byte order. Packets
 * longer than the snaplen are cut like tcpdump does (the wire length is kept), which is how tests build
 * snaplen-truncated captures.
 */
import type { Writable } from 'node:stream';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { LinkType } from './types.js';

export interface PcapWriterOptions {
  /** LINKTYPE_* of every packet (default Ethernet). */
  linkType?: number;
  /** Default 262144, tcpdump's. */
  snaplen?: number;
  /** Nanosecond timestamps (magic a1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
  /** Write big-endian headers (default little-endian, like every x86 capture). */
  bigEndian?: boolean;
}

export interface PcapRecordInput {
  /** Unix nanoseconds; truncated to microseconds unless `nanosecond` is set. */
  tsNs: bigint;
  data: Uint8Array;
  /** Length on the wire; defaults to `data.length`. */
  origLen?: number;
}

const FILE_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const MAX_SECONDS = 0xffffffffn;

export function encodePcapHeader(options: PcapWriterOptions = {}): Buffer {
  const le = !options.bigEndian;
  const b = Buffer.alloc(FILE_HEADER_LEN);
  const magic = options.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4;
  const u32 = (v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const u16 = (v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  u32(magic, 0);
  u16(2, 4);
  u16(4, 6);
  // thiszone and sigfigs stay 0, as every modern writer leaves them.
  u32(options.snaplen ?? 262144, 16);
  u32(options.linkType ?? LinkType.ETHERNET, 20);
  return b;
}

/** One record: 16-byte header plus the (possibly snaplen-cut) bytes. */
export function encodePcapRecord(packet: PcapRecordInput, options: PcapWriterOptions = {}): Buffer {
  const le = !options.bigEndian;
  const snaplen = options.snaplen ?? 262144;
  const incl = Math.min(packet.data.length, snaplen);
  const origLen = packet.origLen ?? packet.data.length;
  if (packet.tsNs < 0n || packet.tsNs / 1_000_000_000n > MAX_SECONDS) {
    throw new TaplineError(ERROR_CODES.BAD_PACKET, `timestamp ${packet.tsNs} ns does not fit a classic pcap record`);
  }
  const sec = Number(packet.tsNs / 1_000_000_000n);
  const ns = Number(packet.tsNs % 1_000_000_000n);
  const frac = options.nanosecond ? ns : Math.floor(ns / 1000);
  const b = Buffer.allocUnsafe(RECORD_HEADER_LEN + incl);
  const u32 = (v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  u32(sec, 0);
  u32(frac, 4);
  u32(incl, 8);
  u32(origLen, 12);
  b.set(packet.data.subarray(0, incl), RECORD_HEADER_LEN);
  return b;
}

/** A whole capture in memory. */
export function buildPcap(packets: Iterable<PcapRecordInput>, options: PcapWriterOptions = {}): Buffer {
  const parts = [encodePcapHeader(options)];
  for (const p of packets) parts.push(encodePcapRecord(p, options));
  return Buffer.concat(parts);
}

/** Streams a capture into a Writable (a file, stdout). Respects backpressure through `write`'s result. */
export class PcapWriter {
  private headerWritten = false;

  constructor(
    private readonly sink: Writable,
    private readonly options: PcapWriterOptions = {},
  ) {}

  /** Returns false when the sink wants the caller to wait for 'drain'. */
  write(packet: PcapRecordInput): boolean {
    if (!this.headerWritten) {
      this.headerWritten = true;
      this.sink.write(encodePcapHeader(this.options));
    }
    return this.sink.write(encodePcapRecord(packet, this.options));
  }

  /** Writes the header if nothing was written, then ends the sink and waits for it to finish. */
  end(): Promise<void> {
    if (!this.headerWritten) {
      this.headerWritten = true;
      this.sink.write(encodePcapHeader(this.options));
    }
    return new Promise((resolve, reject) => {
      this.sink.once('error', reject);
      this.sink.end(() => resolve());
    });
  }
}
