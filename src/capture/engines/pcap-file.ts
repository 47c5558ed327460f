/**
 * The pcap_file engine: reads classic pcap or pcapng from a path, stdin or any byte stream and yields
 * packets in batches (one batch per chunk read, typically thousands of packets), as the rest of the
 * pipeline expects.
 *
 *   file / Readable ──chunks (1 MiB)──▶ PcapStreamParser ──RawPacket[]──▶ for await (const batch of reader)
 *
 * Memory stays bounded whatever the file size: the stream reads ahead at most one chunk, and packets are
 * views into the chunk they came from, kept alive only while the consumer holds them.
 */
import { createReadStream } from 'node:fs';
import { ERROR_CODES, isTaplineError, TaplineError } from '../../core/errors.js';
import type { PacketBatch, RawPacket } from '../types.js';
import type { PacketFilter, PcapFileStats, PcapFileWarning, PcapInterface } from './pcap-file-common.js';
import { IndexSink } from './pcap-file-index.js';
import { type PcapFormat, PcapStreamParser } from './pcap-file-parser.js';

export type { PacketFilter, PcapFileStats, PcapFileWarning, PcapInterface } from './pcap-file-common.js';
export { type PcapFormat, PcapStreamParser } from './pcap-file-parser.js';

export interface PcapReadOptions {
  /** Name used in errors and warnings. Default: the path, or `<stream>`. */
  name?: string;
  /**
   * Called for non-fatal problems: an interface whose link type is not decoded, the first packet the snaplen
   * cut (both as soon as they are read, before the batch that holds them), a last record cut short by the end.
   */
  onWarning?: (warning: PcapFileWarning) => void;
  /** Bytes per read from a file (default 1 MiB): also the natural batch size. */
  chunkSize?: number;
  /** Deliver only the packets this accepts (`--input-raw-bpf-filter`: `bpfFileFilter`); count the others. */
  filter?: PacketFilter;
}

const DEFAULT_CHUNK = 1024 * 1024;

/** An async iterable of packet batches. Iterate it once. */
export class PcapFileReader implements AsyncIterable<RawPacket[]> {
  private readonly parser: PcapStreamParser;
  private started = false;

  constructor(
    private readonly open: () => AsyncIterable<unknown> & { destroy?: () => void },
    private readonly name: string,
    private readonly options: PcapReadOptions,
  ) {
    this.parser = new PcapStreamParser(name);
    this.parser.filterWith(options.filter ?? null);
  }

  /** Counters so far: packets, bytes, skipped blocks, truncated records. */
  get stats(): Readonly<PcapFileStats> {
    return this.parser.stats;
  }

  /** `pcap` or `pcapng`, once the first bytes have been read. */
  get format(): PcapFormat | null {
    return this.parser.format;
  }

  /** Interfaces described so far (one for classic pcap). */
  get interfaces(): readonly PcapInterface[] {
    return this.parser.interfaces;
  }

  [Symbol.asyncIterator](): AsyncIterator<RawPacket[]> {
    return this.read(null) as AsyncIterator<RawPacket[]>;
  }

  /**
   * The batches as views where the format allows (classic pcap: an index over each chunk, no object per
   * packet; see PacketBatchView), packet arrays elsewhere (pcapng). Iterate this or the reader, once.
   */
  batches(): AsyncIterable<PacketBatch> {
    return { [Symbol.asyncIterator]: () => this.read(new IndexSink()) };
  }

  private async *read(sink: IndexSink | null): AsyncGenerator<PacketBatch> {
    if (this.started) {
      throw new TaplineError(ERROR_CODES.INTERNAL, 'a PcapFileReader can be iterated only once', { where: this.name });
    }
    this.started = true;
    const parser = this.parser;
    parser.indexInto(sink);
    const source = this.open();
    try {
      for await (const chunk of source) {
        const out: RawPacket[] = [];
        let failure: unknown;
        try {
          parser.push(toBuffer(chunk, this.name), out);
        } catch (err) {
          failure = err;
        }
        this.warn(parser.takeWarnings());
        // The good packets before a corrupt record are delivered before the error is raised.
        if (sink) for (const view of sink.take()) yield view;
        if (out.length > 0) yield out;
        if (failure !== undefined) throw failure;
      }
    } catch (err) {
      if (isTaplineError(err)) throw err;
      throw new TaplineError(ERROR_CODES.FILE_IO, `cannot read capture: ${describeIo(err)}`, {
        where: this.name,
        cause: err,
      });
    } finally {
      source.destroy?.();
    }
    const warning = parser.end();
    if (warning) this.options.onWarning?.(warning);
  }

  private warn(warnings: readonly PcapFileWarning[]): void {
    for (const w of warnings) this.options.onWarning?.(w);
  }
}

/** Reads a capture file from disk. Errors opening or reading it are `FILE_IO`; bad content is `BAD_PACKET`. */
export function openPcapFile(path: string, options: PcapReadOptions = {}): PcapFileReader {
  const chunk = options.chunkSize ?? DEFAULT_CHUNK;
  return new PcapFileReader(() => createReadStream(path, { highWaterMark: chunk }), options.name ?? path, options);
}

/** Reads a capture from any byte stream (stdin, a pipe from `tcpdump -w -`, a socket). */
export function readPcapStream(
  input: AsyncIterable<Uint8Array | string> & { destroy?: () => void },
  options: PcapReadOptions = {},
): PcapFileReader {
  return new PcapFileReader(() => input, options.name ?? '<stream>', options);
}

/** Synchronous helper for tests and small in-memory captures: all packets, or a thrown `TaplineError`. */
export function readPcapBuffer(
  bytes: Uint8Array,
  options: Pick<PcapReadOptions, 'name' | 'onWarning' | 'filter'> = {},
): { packets: RawPacket[]; stats: PcapFileStats; parser: PcapStreamParser } {
  const parser = new PcapStreamParser(options.name ?? '<buffer>');
  parser.filterWith(options.filter ?? null);
  const packets: RawPacket[] = [];
  parser.push(toBuffer(bytes, options.name ?? '<buffer>'), packets);
  for (const w of parser.takeWarnings()) options.onWarning?.(w);
  const warning = parser.end();
  if (warning) options.onWarning?.(warning);
  return { packets, stats: parser.stats, parser };
}

function toBuffer(chunk: unknown, name: string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TaplineError(ERROR_CODES.FILE_IO, 'capture stream delivers text, not bytes (remove setEncoding)', {
    where: name,
  });
}

/** Why a capture file could not be read, in words (Node's text, 'EISDIR: illegal operation on a directory, read', only for others). */
const READ_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory; name a capture file (dump.pcap, dump.pcapng)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is not a directory',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
};

function describeIo(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && READ_REASONS[code]) return `${READ_REASONS[code]} (${code})`;
    return code ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
