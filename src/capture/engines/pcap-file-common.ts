/**
 * Pieces shared by the classic-pcap and pcapng record parsers: the parser contract the stream driver calls,
 * the statistics both keep, the size limits that turn corrupt lengths into errors instead of giant
 * allocations, and the helper that builds a `TaplineError` naming file, packet number and byte offset.
 */
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { SUPPORTED_LINK_SUMMARY, SUPPORTED_LINK_TYPES } from '../decode/link.js';
import type { RawPacket } from '../types.js';
import type { IndexSink } from './pcap-file-index.js';

/**
 * Largest packet we accept when the file's own snaplen is smaller: Wireshark uses the same 256 KiB bound
 * for ordinary link types, and real captures never exceed it.
 */
export const DEFAULT_MAX_PACKET = 262_144;
/** Hard ceiling whatever the file claims: anything above is a corrupt length, not a packet. */
export const HARD_MAX_PACKET = 64 * 1024 * 1024;

/** What a reader has seen so far; the numbers a user asks for when packets seem to be missing. */
export interface PcapFileStats {
  /** Packets delivered. */
  packets: number;
  /** Captured bytes delivered (sum of `data.length`). */
  bytes: number;
  /** pcapng blocks skipped because they carry no packets (NRB, ISB, DSB, custom, unknown). */
  blocksSkipped: number;
  /** Records cut off by the end of the input (0 or 1): reported through `onWarning`, never delivered. */
  truncatedAtEof: number;
  /** pcapng sections (SHB blocks) seen; 1 for classic pcap. */
  sections: number;
  /** Packets delivered with fewer bytes than they had on the wire: the capture's snaplen cut them. */
  snaplenCut: number;
  /** Packets read but not delivered because the packet filter (`--input-raw-bpf-filter`) left them out. */
  filtered: number;
}

export function newStats(): PcapFileStats {
  return { packets: 0, bytes: 0, blocksSkipped: 0, truncatedAtEof: 0, sections: 0, snaplenCut: 0, filtered: 0 };
}

/**
 * A non-fatal problem: the input goes on (or ends) and the good packets were delivered.
 * - `truncated-record`: the input ends inside a record (at the end only);
 * - `unsupported-link-type`: an interface (the file's, or a pcapng IDB's) has a link type the decoder does not
 *   read, so none of its packets can become TCP (once per interface);
 * - `snaplen-cut`: the first packet the capture's snaplen cut short (once per input; all are counted in
 *   `snaplenCut`), which leaves the HTTP messages with bytes in such packets incomplete.
 */
export interface PcapFileWarning {
  readonly code: 'truncated-record' | 'unsupported-link-type' | 'snaplen-cut';
  readonly message: string;
  /** `file:packet N (offset X)`, as in errors. */
  readonly where: string;
}

/** Per-interface facts: one for classic pcap, one per IDB for pcapng (numbered per section). */
export interface PcapInterface {
  readonly linkType: number;
  readonly snaplen: number;
  /** Human form of the timestamp resolution: `1e-6`, `1e-9`, `2^-20`. */
  readonly tsResolution: string;
  readonly name?: string;
}

/**
 * Decides whether a packet read from the file is delivered (`--input-raw-bpf-filter`, see pcap-file-filter.ts).
 * `data` is a view valid only during the call. It may throw a `TaplineError` (a filter that cannot apply to
 * this link type); the parser then fails like on corrupt input.
 */
export type PacketFilter = (linkType: number, data: Buffer, origLen: number) => boolean;

/** Context a record parser needs to name the place of a problem. */
export interface ParseContext {
  /** Shown in errors: the path, or a name given for a stream (`<stdin>`). */
  readonly source: string;
  readonly stats: PcapFileStats;
  /** Warnings raised while parsing, taken by the reader after each chunk (`PcapStreamParser.takeWarnings`). */
  readonly warnings: PcapFileWarning[];
  /** When set, only the packets it accepts are delivered; the others are counted in `stats.filtered`. */
  filter?: PacketFilter | null;
  /** When set, classic pcap records go here as an index instead of `RawPacket`s (pcap-file-index.ts). */
  sink?: IndexSink | null;
}

/**
 * A format's record parser. The stream driver feeds it contiguous bytes; it never sees chunk boundaries
 * except through `need`.
 */
export interface RecordParser {
  /**
   * Parses complete records from `buf[pos..]`, pushing packets into `out`. `base` is the file offset of
   * `buf[0]`. Returns the position after the last record consumed; a position beyond `buf.length` means
   * "skip that many bytes you have not given me yet" (large blocks without packets are never buffered).
   * Throws `TaplineError` on corrupt input after pushing the packets that preceded it.
   */
  parse(buf: Buffer, pos: number, base: number, out: RawPacket[]): number;
  /** Bytes needed from the returned position before `parse` can make progress. */
  readonly need: number;
  /** Interfaces known so far (for pcapng: of the current section). */
  readonly interfaces: readonly PcapInterface[];
}

/** Which kind of thing a `where` points at. */
export type WhereKind = 'packet' | 'block' | 'header';

/**
 * The `where` of every reader error and warning: `dump.pcap:packet 12 (offset 4096)`,
 * `dump.pcapng:block after packet 11 (offset 4000)`, `dump.pcap:file header (offset 0)`.
 * Packets are numbered from 1, like tshark frame numbers.
 */
export function whereIs(ctx: ParseContext, offset: number, kind: WhereKind = 'packet'): string {
  // Numbered like tshark frames: the packets a filter left out count too.
  const next = ctx.stats.packets + ctx.stats.filtered + 1;
  if (kind === 'header') return `${ctx.source}:file header (offset ${offset})`;
  if (kind === 'block') {
    const after = next === 1 ? 'block before packet 1' : `block after packet ${next - 1}`;
    return `${ctx.source}:${after} (offset ${offset})`;
  }
  return `${ctx.source}:packet ${next} (offset ${offset})`;
}

export function badPacket(
  ctx: ParseContext,
  offset: number,
  message: string,
  kind: WhereKind = 'packet',
): TaplineError {
  return new TaplineError(ERROR_CODES.BAD_PACKET, message, { where: whereIs(ctx, offset, kind) });
}

/** The largest record length accepted for a given snaplen (see the constants above). */
export function maxPacketFor(snaplen: number): number {
  return Math.min(Math.max(snaplen, DEFAULT_MAX_PACKET), HARD_MAX_PACKET);
}

/** Names of link types a capture of another kind than Ethernet/loopback commonly has, for the warning. */
const LINK_TYPE_NAMES: Readonly<Record<number, string>> = {
  105: 'IEEE 802.11 Wi-Fi',
  119: 'IEEE 802.11 with Prism header',
  127: 'IEEE 802.11 with radiotap header',
  143: 'DOCSIS',
  163: 'IEEE 802.11 with AVS header',
  192: 'PPI',
  195: 'IEEE 802.15.4',
  220: 'USB (Linux, mmapped)',
  249: 'Netlink',
};

/**
 * Queues an `unsupported-link-type` warning when the decoder cannot read `linkType`: every packet of that
 * interface would otherwise only be counted (`not_tcp_or_filtered`) and the run end with no message and no
 * word why. `where` is the file header or the interface block that declared it.
 */
export function checkLinkType(ctx: ParseContext, linkType: number, offset: number, kind: WhereKind, iface = 0): void {
  if (SUPPORTED_LINK_TYPES.includes(linkType)) return;
  const name = LINK_TYPE_NAMES[linkType];
  const what = name === undefined ? `link type ${linkType}` : `link type ${linkType} (${name})`;
  const subject = kind === 'header' ? 'the capture has' : `interface ${iface} has`;
  ctx.warnings.push({
    code: 'unsupported-link-type',
    message:
      `${subject} ${what}, which tapline does not decode: its packets are counted as not_tcp_or_filtered and ` +
      `give no message (supported: ${SUPPORTED_LINK_SUMMARY})`,
    where: whereIs(ctx, offset, kind),
  });
}

/**
 * Counts a packet the snaplen cut (`captured` of `onWire` bytes) and, for the first one of the input, queues a
 * `snaplen-cut` warning naming it. Call before the packet is counted in `stats.packets`.
 */
export function countSnaplenCut(ctx: ParseContext, offset: number, captured: number, onWire: number): void {
  if (ctx.stats.snaplenCut++ > 0) return;
  ctx.warnings.push({
    code: 'snaplen-cut',
    message:
      `the capture's snaplen cut this packet to ${captured} of its ${onWire} bytes: HTTP messages with bytes in ` +
      'cut packets are incomplete (a cut body: counted as gaps and incomplete_gap, left out unless ' +
      '--input-raw-allow-incomplete; a cut request or status line or header: not recognised, its bytes counted ' +
      'as garbage_bytes; a cut TCP header: the packet counted as headers_cut_by_snaplen); every cut packet is ' +
      'counted as snaplen_truncated. Capture with a larger snaplen (tcpdump -s 0)',
    where: whereIs(ctx, offset, 'packet'),
  });
}
