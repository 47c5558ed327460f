/**
 * Sans-IO pcap/pcapng stream parser: feed it chunks of any size, get `RawPacket`s out.
 *
 *   push(chunk) ──▶ [skip bytes of an ignored block] ──▶ [stitch the record that straddles chunks]
 *                ──▶ format parser over the rest of the chunk, in place ──▶ out[]
 *
 * Packets are views into the chunks (no copies), except a record split across two chunks: only its own
 * bytes are copied into a small buffer. Memory is bounded by one chunk plus one record, whatever the file
 * size. It detects the format from the magic, and names file, packet number and offset in every error.
 */
import { ERROR_CODES, isTaplineError, TaplineError } from '../../core/errors.js';
import type { RawPacket } from '../types.js';
import {
  CLASSIC_HEADER_LEN,
  type ClassicHeader,
  ClassicParser,
  isClassicMagic,
  isModifiedMagic,
  parseClassicHeader,
} from './pcap-file-classic.js';
import {
  badPacket,
  checkLinkType,
  newStats,
  type PacketFilter,
  type ParseContext,
  type PcapFileStats,
  type PcapFileWarning,
  type PcapInterface,
  type RecordParser,
  whereIs,
} from './pcap-file-common.js';
import type { IndexSink } from './pcap-file-index.js';
import { isPcapngMagic, PcapngParser } from './pcap-file-ng.js';

export type PcapFormat = 'pcap' | 'pcapng';

export class PcapStreamParser {
  readonly stats: PcapFileStats = newStats();
  /** Known once the first 4 bytes have arrived. */
  format: PcapFormat | null = null;
  /** The classic file header, for `format === 'pcap'`. */
  classicHeader: ClassicHeader | null = null;

  private readonly ctx: ParseContext;
  private parser: RecordParser | null = null;
  /** Bytes needed before the format is known (magic, then the classic header). */
  private headerNeed = 4;
  /** The unparsed tail of earlier chunks: the start of a record that straddles chunk boundaries. */
  private pieces: Buffer[] = [];
  private pendingLen = 0;
  /** Bytes of an ignored block still to be skipped. */
  private skip = 0;
  /** File offset of the first byte not yet consumed (the start of `pieces`, or of the next chunk). */
  private base = 0;
  private seen = 0;
  private failed: TaplineError | null = null;

  constructor(source = '<stream>') {
    this.ctx = { source, stats: this.stats, warnings: [] };
  }

  /** From now on only the packets `filter` accepts are delivered; the others are counted in `stats.filtered`. */
  filterWith(filter: PacketFilter | null): void {
    this.ctx.filter = filter;
  }

  /** Classic pcap records go to `sink` as an index from now on, instead of into `out` (pcap-file-index.ts). */
  indexInto(sink: IndexSink | null): void {
    this.ctx.sink = sink;
  }

  /** Interfaces known so far (classic: exactly one; pcapng: those of the current section). */
  get interfaces(): readonly PcapInterface[] {
    return this.parser?.interfaces ?? [];
  }

  /**
   * Warnings raised since the last call (an unsupported link type, the first packet the snaplen cut), in file
   * order. The input goes on; the end-of-input warning comes from `end()` instead.
   */
  takeWarnings(): PcapFileWarning[] {
    return this.ctx.warnings.splice(0);
  }

  /**
   * Parses `chunk`, appending packets to `out`. On corrupt input it throws a `TaplineError` after having
   * appended every good packet that preceded the problem; later calls throw the same error.
   */
  push(chunk: Buffer, out: RawPacket[]): void {
    if (this.failed) throw this.failed;
    this.seen += chunk.length;
    try {
      this.consume(chunk, out);
    } catch (err) {
      this.failed = isTaplineError(err)
        ? err
        : new TaplineError(ERROR_CODES.INTERNAL, `pcap parser failed: ${String(err)}`, {
            where: whereIs(this.ctx, this.base),
            cause: err,
          });
      throw this.failed;
    }
  }

  /**
   * Call at the end of the input. Throws when the file header itself is missing or cut; returns a warning
   * (and counts it in `stats.truncatedAtEof`) when the last record is cut short.
   */
  end(): PcapFileWarning | null {
    if (this.failed) throw this.failed;
    if (this.seen === 0) {
      throw new TaplineError(ERROR_CODES.BAD_PACKET, 'input is empty: not a pcap or pcapng file', {
        where: whereIs(this.ctx, 0, 'header'),
      });
    }
    if (this.parser === null || (this.format === 'pcapng' && this.stats.sections === 0)) {
      throw new TaplineError(ERROR_CODES.BAD_PACKET, `input ends after ${this.seen} bytes, inside the file header`, {
        where: whereIs(this.ctx, 0, 'header'),
      });
    }
    if (this.pendingLen === 0 && this.skip === 0) return null;
    this.stats.truncatedAtEof++;
    if (this.skip > 0) {
      return {
        code: 'truncated-record',
        message: `the input ends inside a skipped (non-packet) block, ${this.skip} bytes short`,
        where: whereIs(this.ctx, this.base, 'block'),
      };
    }
    return {
      code: 'truncated-record',
      message: `the input ends inside the last record (${this.need() - this.pendingLen} bytes missing); it was not delivered`,
      where: whereIs(this.ctx, this.base, 'packet'),
    };
  }

  private consume(chunk: Buffer, out: RawPacket[]): void {
    const len = chunk.length;
    let off = 0;
    if (this.skip > 0) {
      off = Math.min(this.skip, len);
      this.skip -= off;
      this.base += off;
      if (off === len) return;
    }
    // Complete the record that straddles the previous chunk, copying only the bytes it needs.
    while (this.pendingLen > 0) {
      const want = this.need() - this.pendingLen;
      if (want <= 0) throw new Error(`stitching made no progress (need ${this.need()}, have ${this.pendingLen})`);
      if (want > len - off) {
        this.pieces.push(off === 0 ? chunk : chunk.subarray(off));
        this.pendingLen += len - off;
        return;
      }
      this.pieces.push(chunk.subarray(off, off + want));
      off += want;
      const head = Buffer.concat(this.pieces, this.pendingLen + want);
      this.pieces = [];
      this.pendingLen = 0;
      const pos = this.step(head, out);
      if (pos > head.length) {
        this.base += head.length;
        const n = Math.min(pos - head.length, len - off);
        off += n;
        this.base += n;
        this.skip = pos - head.length - n;
        if (this.skip > 0) return;
      } else {
        this.keepTail(head, pos);
      }
    }
    if (off === len) return;
    const buf = off === 0 ? chunk : chunk.subarray(off);
    const pos = this.step(buf, out);
    if (pos > buf.length) {
      this.skip = pos - buf.length;
      this.base += buf.length;
    } else {
      this.keepTail(buf, pos);
    }
  }

  private keepTail(buf: Buffer, pos: number): void {
    this.base += pos;
    if (pos < buf.length) {
      this.pieces = [buf.subarray(pos)];
      this.pendingLen = buf.length - pos;
    }
  }

  private need(): number {
    return this.parser === null ? this.headerNeed : this.parser.need;
  }

  /** Runs the format parser over `buf` (whose first byte is at file offset `base`), detecting it first. */
  private step(buf: Buffer, out: RawPacket[]): number {
    let pos = 0;
    if (this.parser === null) {
      if (buf.length < 4) {
        this.headerNeed = 4;
        return 0;
      }
      if (isPcapngMagic(buf)) {
        this.format = 'pcapng';
        this.parser = new PcapngParser(this.ctx);
      } else if (isClassicMagic(buf)) {
        if (buf.length < CLASSIC_HEADER_LEN) {
          this.headerNeed = CLASSIC_HEADER_LEN;
          return 0;
        }
        const header = parseClassicHeader(buf, 0);
        if (header.versionMajor !== 2) {
          throw badPacket(
            this.ctx,
            4,
            `unsupported pcap version ${header.versionMajor}.${header.versionMinor}`,
            'header',
          );
        }
        this.format = 'pcap';
        this.classicHeader = header;
        this.stats.sections = 1;
        this.parser = new ClassicParser(header, this.ctx);
        checkLinkType(this.ctx, header.linkType, 20, 'header');
        pos = CLASSIC_HEADER_LEN;
      } else {
        throw badPacket(this.ctx, 0, describeBadMagic(buf), 'header');
      }
    }
    return this.parser.parse(buf, pos, this.base, out);
  }
}

/** A bad-magic message that says what the file probably is, when we can tell. */
function describeBadMagic(buf: Buffer): string {
  const hex = buf.subarray(0, 4).toString('hex');
  if (isModifiedMagic(buf)) return 'the "modified" (Kuznetzov) pcap format is not supported; convert it with editcap';
  if (buf[0] === 0x1f && buf[1] === 0x8b) return 'the file is gzip-compressed: gunzip it first';
  if (/^[123] [0-9a-f]/.test(buf.subarray(0, 4).toString('latin1'))) {
    return 'this looks like a .gor recording, not a capture: use --input-file';
  }
  return `bad magic number 0x${hex}: not a pcap or pcapng file`;
}
