/**
 * Feeds the files of `tapline report` into analytics: `.gor` (and `.gor.gz`) through the record reader,
 * pcap and pcapng through the capture engine (the same raw input `--input-raw FILE:PORTS` runs, with
 * responses tracked). A file is recognised by its first bytes, not its name.
 *
 *   file ─▶ reads of 8 MiB ─▶ analytics.scanGor (native core walks the records itself) ─┐
 *        └▶ [gunzip] ─▶ GorRecordReader (from the first record the core leaves, or all) ─┤
 *   pcap ─▶ rawInput (pcap_file engine) ──────────────────────────────────────────────┴─▶ analytics.observe(msg)
 *
 * `stop` (the report's SIGINT/SIGTERM/SIGHUP) is looked at between chunks (a native view, a read, a stream
 * chunk, a capture batch) and before each file: reading ends there, with every record taken so far counted
 * and the record cut by the chunk's end dropped (it was never read whole); FeedResult.interrupted says where.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Analytics } from '../analytics/index.js';
import { statsAddon } from '../analytics/stats-addon.js';
import { readPcapStream } from '../capture/engines/pcap-file.js';
import { ERROR_CODES, isTaplineError, TaplineError } from '../core/errors.js';
import { describeProblem, type GorRecord, GorRecordReader, startsWithBom, UTF8_BOM } from '../core/gor-format.js';
import type { Logger } from '../core/log.js';
import { parseMetaBytes } from '../core/meta.js';
import { canMapFiles, mapFaults, mapWindow, releaseWindow } from '../inputs/file-map.js';
import { describeReadError } from '../inputs/file-source.js';
import { GZIP_REGION, recoverBeforeDamage } from '../inputs/gzip-recover.js';
import { parseRawAddress, type RawAddress } from '../inputs/raw/address.js';
import { flowAddon } from '../inputs/raw/native-flows.js';
import { RAW_INPUT_DEFAULTS, rawInput } from '../inputs/raw/raw-input.js';
import { openFileSource, type PacketSource } from '../inputs/raw/sources.js';
import { GZIP_PEEK, gzipHoldsCapture, kindOf, type StreamInput, type StreamKind } from './report-stream.js';

export type InputKind = StreamKind;

export interface ReportProgress {
  records: number;
  bytesRead: number;
  bytesTotal: number;
}

/**
 * `dump.pcap:80,8080` names server ports; `x.gor` or `dump.pcap` a whole file. Standard input and the names a
 * shell gives a pipe (`-:80`, `/dev/stdin:80`, `/dev/fd/63:80` from `<(…)`) take ports too: they have no
 * extension to tell a capture by.
 */
export function splitPorts(spec: string): { path: string; ports: string } {
  const m = /^(.*\.(?:pcap|pcapng|cap)(?:\.gz)?|-|\/dev\/stdin|\/dev\/fd\/\d+|\/proc\/self\/fd\/\d+):([\d,]+)$/i.exec(
    spec,
  );
  return m ? { path: m[1]!, ports: m[2]! } : { path: spec, ports: '' };
}

/**
 * A failure while reading `path`: the file's own (FILE_IO, naming it), unless it is already a TaplineError from
 * the work done on what was read (a usage error, a bad record): that one keeps its code and where.
 */
function readFailure(err: unknown, path: string): TaplineError {
  if (isTaplineError(err)) return err;
  // Node's words for a directory ('EISDIR: illegal operation on a directory, read') say nothing of what to do.
  const why =
    (err as NodeJS.ErrnoException).code === 'EISDIR'
      ? `it is a directory; report reads files: name the ones in it (${path.replace(/\/+$/, '')}/*.gor) (EISDIR)`
      : (err as Error).message;
  return new TaplineError(ERROR_CODES.FILE_IO, `cannot read: ${why}`, { where: path, cause: err });
}

/** The first `bytes` bytes of a file (fewer when it is shorter). Throws what open or read throws. */
function readHead(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(bytes);
    return head.subarray(0, readSync(fd, head, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

/** What a file holds, from its first 4 bytes. Throws FILE_IO naming the file when it cannot be read. */
export function inputKind(path: string): InputKind {
  try {
    return kindOf(readHead(path, 4));
  } catch (err) {
    throw readFailure(err, path);
  }
}

/**
 * Does the gzip file at `path` hold a capture (`dump.pcap.gz`, as `tcpdump -z gzip` and logrotate leave them;
 * tshark reads them as they are)? Its first decompressed bytes tell, as a plain file's first bytes do.
 */
function fileHoldsCapture(path: string): boolean {
  try {
    return gzipHoldsCapture(readHead(path, GZIP_PEEK)) === true;
  } catch {
    return false; // unreadable: the .gor.gz reader says why
  }
}

/** A gzip-compressed capture file, decompressed as it is read (the stream path of a capture on a pipe). */
function gzipCaptureStream(path: string): StreamInput {
  const file = createReadStream(path);
  const bytes = createGunzip();
  // A read error of the file ends the stream with it: the capture reader says it as the file's error.
  file.on('error', (err) => bytes.destroy(err));
  file.pipe(bytes);
  return {
    kind: 'pcap',
    compressed: true,
    bytes,
    close: () => {
      file.destroy();
      bytes.destroy();
    },
  };
}

const MONKEYS = Buffer.from('🐵🙈🙉', 'utf8');
/** A record of type 3 after a separator (LF or CRLF line ends), or at the very start of a file. */
const REPLAYED_AFTER = [Buffer.from('\n3 ', 'latin1'), Buffer.from('\r\n3 ', 'latin1')].map((tail) =>
  Buffer.concat([MONKEYS, tail]),
);
const SCAN_CHUNK = 4 << 20;

/**
 * Could these inputs hold replayed responses (type 3)? pcap files never do (capture makes types 1 and 2);
 * a `.gor` file is searched for a type-3 record (a native byte search, stopping at the first); a gzipped one
 * is assumed to (finding out would mean decompressing it twice). `report --responses auto` holds each
 * original response back for a replayed one only when this says yes: holding keeps every request waiting
 * until it times out, which costs memory and time for nothing on a plain recording.
 */
export async function mayHoldReplayed(
  specs: readonly string[],
  stop?: AbortSignal,
  streams?: ReadonlyMap<string, StreamInput>,
): Promise<boolean> {
  for (const spec of specs) {
    const { path } = splitPorts(spec);
    const stream = streams?.get(path);
    // A stream is read once: searching it first would mean holding all of it. Assumed to, as gzip.
    if (stream) {
      if (stream.kind === 'pcap') continue;
      return true;
    }
    const kind = inputKind(path);
    if (kind === 'gor.gz') return true;
    if (kind === 'gor' && (await hasReplayedRecord(path, stop))) return true;
  }
  return false;
}

/**
 * Reads asynchronously so that a signal is taken during the search too: it reads the whole of a file without a
 * type-3 record (seconds for a few GiB), and a Ctrl-C waited for its end. Stopped, it answers no: the feed
 * then stops before reading anything more.
 */
async function hasReplayedRecord(path: string, stop: AbortSignal | undefined): Promise<boolean> {
  const addon = statsAddon(); // one memchr pass instead of two indexOf passes per chunk
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const overlap = REPLAYED_AFTER[1]!.length - 1;
    const buf = Buffer.alloc(SCAN_CHUNK + overlap);
    let carried = 0;
    let position = 0;
    for (;;) {
      if (stop?.aborted) return false;
      const n = (await handle.read(buf, carried, SCAN_CHUNK, position)).bytesRead;
      if (n === 0) return false;
      const view = buf.subarray(0, carried + n);
      if (position === 0 && view[0] === 0x33 && view[1] === 0x20) return true;
      if (addon ? addon.hasReplayed(view) : REPLAYED_AFTER.some((pattern) => view.indexOf(pattern) !== -1)) return true;
      position += n;
      carried = Math.min(overlap, view.length);
      view.copy(buf, 0, view.length - carried);
    }
  } catch (err) {
    throw readFailure(err, path);
  } finally {
    await handle?.close();
  }
}

export interface FeedResult {
  /** Counters of the inputs, by name (records read, problems, capture counters). */
  inputs: Record<string, Record<string, number | string>>;
  /**
   * Set when `stop` ended the reading: the file it was in, how far in (`stream`: its size is not known, `size`
   * is 0), and the files never opened.
   */
  interrupted?: { file: string; bytesRead: number; size: number; stream?: true; unread: string[] };
  /** An input was a stream: the total size (ReportProgress.bytesTotal) is not known. */
  streamed: boolean;
  /** The messages each input gave analytics, in order: numbers [from, to) of analytics.roundStarts(). */
  messages: InputMessages[];
}

export interface InputMessages {
  spec: string;
  path: string;
  kind: InputKind;
  stream: boolean;
  from: number;
  to: number;
}

/** What one file's feed gives back: its counters, and whether `stop` cut it before its end. */
interface Fed {
  stats: Record<string, number | string>;
  cut: boolean;
}

/**
 * Reads every file into `analytics` in order, then finishes it. `map`: plain `.gor` files may be mapped.
 * `ipv6Clients`: filled from capture files with the IPv6 client of each connection (see TrackerOptions).
 * `streams`: the inputs read as streams (report-stream.ts), by path, already opened and their kind known;
 * with any, `progress.bytesTotal` is 0 (no total is known: the progress line shows bytes, no percentage).
 */
export async function feedFiles(
  specs: readonly string[],
  analytics: Analytics,
  log: Logger,
  progress: ReportProgress,
  map = canMapFiles(),
  stop?: AbortSignal,
  ipv6Clients?: Map<string, string>,
  streams?: ReadonlyMap<string, StreamInput>,
): Promise<FeedResult> {
  const kinds = specs.map((spec) => {
    const { path } = splitPorts(spec);
    const stream = streams?.get(path);
    if (stream) return { spec, path, stream, kind: stream.kind, size: undefined };
    const kind = inputKind(path);
    if (kind === 'gor.gz' && fileHoldsCapture(path)) {
      // Read as a capture on a pipe is: no size of the decompressed data to show progress against.
      return { spec, path, stream: gzipCaptureStream(path), kind: 'pcap' as const, size: undefined };
    }
    return { spec, path, stream, kind, size: statSync(path).size };
  });
  const sizes = kinds.map((k) => k.size);
  progress.bytesTotal = sizes.includes(undefined) ? 0 : sizes.reduce((n: number, size) => n + size!, 0);
  const inputs: FeedResult['inputs'] = {};
  const messages: InputMessages[] = [];
  let interrupted: FeedResult['interrupted'];
  for (const [i, k] of kinds.entries()) {
    if (stop?.aborted) {
      const unread = kinds.slice(i + 1).map((u) => u.spec);
      interrupted = { file: k.spec, bytesRead: 0, size: k.size ?? 0, ...(k.stream ? { stream: true } : {}), unread };
      break;
    }
    const before = progress.bytesRead;
    const recordsBefore = progress.records;
    const marksBefore = analytics.counters();
    const fed =
      k.kind === 'pcap'
        ? await feedPcap(k.spec, analytics, log, progress, stop, ipv6Clients, k.stream)
        : await feedGor(k.path, k.kind === 'gor.gz', analytics, log, progress, map, stop, k.stream);
    inputs[k.spec] = fed.stats;
    // Records of this file held cut (incomplete=REASON): what report warns about, by file in --json.
    const marks = analytics.counters();
    for (const key of ['replayed_responses_cut', 'marked_incomplete'] as const) {
      const n = marks[key] - marksBefore[key];
      if (n > 0) fed.stats[key] = n;
    }
    const from = messages.length > 0 ? messages[messages.length - 1]!.to : 0;
    const count = k.kind === 'pcap' ? progress.records - recordsBefore : Number(fed.stats.records ?? 0);
    messages.push({ spec: k.spec, path: k.path, kind: k.kind, stream: k.stream !== undefined, from, to: from + count });
    if (fed.cut) {
      const unread = kinds.slice(i + 1).map((u) => u.spec);
      const bytesRead = progress.bytesRead - before;
      interrupted = { file: k.spec, bytesRead, size: k.size ?? 0, ...(k.stream ? { stream: true } : {}), unread };
      break;
    }
  }
  analytics.finish();
  return { inputs, streamed: sizes.includes(undefined), messages, ...(interrupted ? { interrupted } : {}) };
}

/**
 * Where the `index`-th record (from 0) the reader takes from a `.gor` or `.gor.gz` file is: its number (bad records
 * count, as in the reader's warnings) and stream offset (for a .gz, of the decompressed data). The file is read
 * again up to it (only when rounds repeat, which is said with it). undefined when it cannot be read again or holds
 * fewer records now.
 */
export async function recordAt(
  path: string,
  gzip: boolean,
  index: number,
): Promise<{ record: number; offset: number } | undefined> {
  const reader = new GorRecordReader(() => {});
  let seen = 0;
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (err: Error) => stream.destroy(err));
  try {
    for await (const read of stream as AsyncIterable<Buffer>) {
      const chunk = read;
      const batch = reader.push(chunk);
      if (seen + batch.length > index) return where(batch[index - seen]!);
      seen += batch.length;
    }
    const rest = reader.end();
    return seen + rest.length > index ? where(rest[index - seen]!) : undefined;
  } catch {
    return undefined;
  } finally {
    raw.destroy();
  }
}

const where = (r: GorRecord) => ({ record: r.record, offset: r.offset });

/** A plain file's first bytes are a UTF-8 byte order mark (false when they cannot be read: the read says why). */
function fileStartsWithBom(path: string): boolean {
  try {
    return startsWithBom(readHead(path, UTF8_BOM.length));
  } catch {
    return false;
  }
}

async function feedGor(
  path: string,
  gzip: boolean,
  analytics: Analytics,
  log: Logger,
  progress: ReportProgress,
  map: boolean,
  stop: AbortSignal | undefined,
  source?: StreamInput,
): Promise<Fed> {
  // A plain file goes straight into the native core while its records are plain; the reader takes over at the
  // first record the core leaves to it (and reads everything when the core is not in use). A stream goes to
  // the reader from its first byte (the direct paths read by offset).
  // A file that starts with a byte order mark goes to the reader, which skips it (below).
  const direct =
    gzip || source || fileStartsWithBom(path)
      ? { position: 0, records: 0, done: false, cut: false }
      : map
        ? await feedGorMapped(path, analytics, progress, stop)
        : await feedGorDirect(path, analytics, progress, stop);
  if (direct.done || direct.cut) return { stats: { records: direct.records, bad_records: 0 }, cut: direct.cut };
  const base = direct;
  let problems = 0;
  // Records skipped (a malformed meta line, …): what `bad_records` counts. The other problems are said, and
  // their record is in the report (a merged separator, CRLF lines, no final separator).
  let skipped = 0;
  const reader = new GorRecordReader((p) => {
    // Offsets and record numbers of the whole file, not of the rest the reader reads.
    const at = { ...p, offset: p.offset + base.position, record: p.record + base.records };
    if (problems++ < 5) log.warn(describeProblem(at, path).describe(), 'report:record');
    if (p.skipped) skipped++;
  });
  let records = base.records;
  let fileBytes = base.position; // read from the file (compressed, for gzip)
  let streamBytes = base.position; // handed to the reader (decompressed)
  let cut = false;
  // A .gz is read in writes of GZIP_REGION: gzip-recover.ts looks for a damaged byte within one write.
  const highWaterMark = gzip ? GZIP_REGION : 1 << 20;
  const raw = source ? source.bytes : createReadStream(path, { highWaterMark, start: base.position });
  raw.on('data', (chunk: Buffer) => {
    progress.bytesRead += chunk.length;
    fileBytes += chunk.length;
  });
  const gunzip = gzip ? createGunzip({ chunkSize: 64 * 1024 }) : undefined;
  const stream = gunzip ? raw.pipe(gunzip) : raw;
  raw.on('error', (err: Error) => stream.destroy(err)); // pipe() does not pass a read error on to the gunzip side
  try {
    for await (const read of stream as AsyncIterable<Buffer>) {
      let chunk = read;
      if (stop?.aborted) {
        cut = true; // the record the reader holds part of is not counted: it was never read whole
        break;
      }
      if (streamBytes === 0 && startsWithBom(chunk)) {
        log.warn(
          `${path}: the file starts with a UTF-8 byte order mark (EF BB BF), written by an editor or a Windows ` +
            "tool: skipped, the first record is read from the byte after it (gor reads it into the record's type)",
          'report:bom',
        );
        reader.skipStart(UTF8_BOM.length);
        streamBytes += UTF8_BOM.length;
        chunk = chunk.subarray(UTF8_BOM.length);
      }
      streamBytes += chunk.length;
      const batch = reader.push(chunk);
      for (let i = 0; i < batch.length; i++) analytics.observe(batch[i]!);
      records += batch.length;
      progress.records += batch.length;
    }
    // A stream a signal closed (its writer idle) ends without a chunk to see `stop` on.
    if (source && stop?.aborted) cut = true;
    if (!cut) {
      for (const r of reader.end()) {
        analytics.observe(r);
        records++;
      }
    }
  } catch (err) {
    if (isTaplineError(err)) throw err; // from the work on what was read (a usage error), not the file's
    if (source && stop?.aborted) return { stats: { records, bad_records: skipped }, cut: true };
    // A gzip file cut short (gor or tapline killed before the trailer, a copy interrupted) or a read error
    // part way: what was read before it is reported, as gor's --input-file passes it on; the run exits 1.
    // Damaged gzip data: zlib dropped what its failing call had decoded, records whole before the damage
    // (gzip-recover.ts); decoded again, they are in the report as --input-file passes them on.
    if (gunzip && !source && (err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR') {
      const recovered = await recoverDamagedGzip(path, gunzip.bytesWritten, streamBytes);
      if (recovered) {
        fileBytes = recovered.damageAt;
        streamBytes += recovered.bytes.length;
        const batch = reader.push(recovered.bytes);
        for (let i = 0; i < batch.length; i++) analytics.observe(batch[i]!);
        records += batch.length;
        progress.records += batch.length;
      }
    }
    const cut = reader.discard();
    const at = gzip
      ? `at byte ${streamBytes} of the decompressed data, near byte ${fileBytes} of the file`
      : `at byte ${streamBytes}`;
    const tail = cut ? `; the incomplete record ${cut.record} (byte ${cut.offset}) after them is dropped` : '';
    const text =
      records === 0 && !cut
        ? `cannot read: ${describeReadError(err, gzip)} (${at})`
        : `cannot read to the end: ${describeReadError(err, gzip)} (${at}); the ${records} records before it ` +
          `are in the report${tail}`;
    const error = new TaplineError(ERROR_CODES.FILE_IO, text, { where: path, cause: err });
    log.warn(error.describe(), 'report:read');
    return { stats: { records, bad_records: skipped, file_errors: 1, error: error.describe() }, cut: false };
  } finally {
    raw.destroy();
  }
  return { stats: { records, bad_records: skipped }, cut };
}

/** recoverBeforeDamage() on the file at `path` (undefined when it cannot be read again). */
async function recoverDamagedGzip(path: string, consumed: number, yielded: number) {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const h = handle;
    const read = async (position: number, size: number) => {
      const buf = Buffer.alloc(size);
      const { bytesRead } = await h.read(buf, 0, size, position);
      return buf.subarray(0, bytesRead);
    };
    return await recoverBeforeDamage(read, consumed, yielded);
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/** Where the direct paths left a file: `done` read to its end, `cut` stopped by `stop`, else the reader goes on. */
interface DirectResult {
  position: number;
  records: number;
  done: boolean;
  cut: boolean;
}

/** Bytes mapped at once (a record cut by a mapping's end starts the next one). */
const MAP_SPAN = 1 << 30;

/**
 * The direct path over a mapping of the file (inputs/file-map.ts; the file addon built): the core walks the
 * page cache itself, 8 MiB views at a time, each view's pages dropped from this process once walked (RSS stays
 * flat). No read copies the file: about a quarter of `report`'s CPU on a large file was the kernel copying it.
 * A file cut short while mapped (the addon's SIGBUS handler gives zeros and counts them) is a read error.
 */
async function feedGorMapped(
  path: string,
  analytics: Analytics,
  progress: ReportProgress,
  stop: AbortSignal | undefined,
): Promise<DirectResult> {
  let position = 0;
  let records = 0;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const size = (await handle.stat()).size;
    const faults = mapFaults();
    while (position < size) {
      if (stop?.aborted) return { position, records, done: false, cut: true };
      const map = await mapWindow(handle.fd, position, Math.min(MAP_SPAN, size - position));
      let at = 0; // where the walk resumes in `map`: a record's start
      let span = DIRECT_CHUNK;
      while (at < map.length) {
        const viewEnd = Math.min(map.length, at + span);
        const view = map.subarray(at, viewEnd);
        const taken = analytics.scanGor(view, 0);
        if (taken === undefined) return { position, records, done: false, cut: false };
        releaseWindow(view);
        if (mapFaults() !== faults) throw new Error('the file was cut short while it was read');
        records += taken.records;
        progress.records += taken.records;
        progress.bytesRead += taken.next;
        position += taken.next;
        at += taken.next;
        if (!taken.needsMore) return { position, records, done: false, cut: false }; // the reader's record
        // A record larger than a view that does not start with a meta line is garbage (zeros, another format):
        // the reader skips it to its separator without keeping it. Growing the view to find that separator
        // kept every byte of it resident, up to the 1 GiB mapping: 1.1 GB of RSS for 1.5 GB of zeros.
        if (taken.next === 0 && !startsWithMetaLine(view)) return { position, records, done: false, cut: false };
        if (viewEnd === map.length) break; // the mapping's end: the next mapping starts at the cut record
        span = taken.next === 0 ? span * 2 : DIRECT_CHUNK; // a record larger than a view: a larger view
        await new Promise<void>((r) => setImmediate(r)); // timers (the progress line), signals between views
        if (stop?.aborted) return { position, records, done: false, cut: true };
      }
      if (at === 0 && map.length === MAP_SPAN) return { position, records, done: false, cut: false }; // a record > 1 GiB
      if (position + (map.length - at) >= size && at < map.length)
        return { position, records, done: false, cut: false }; // cut end
    }
    return { position, records, done: true, cut: false };
  } catch (err) {
    throw readFailure(err, path);
  } finally {
    await handle?.close();
  }
}

/**
 * Whether `view` (a record's first bytes) starts with a meta line as the reader checks it (GorRecordReader:
 * an LF within MAX_META_LINE bytes, then a line parseMeta takes); a record that does not is skipped by it.
 */
function startsWithMetaLine(view: Buffer): boolean {
  const nl = view.subarray(0, MAX_META_LINE + 1).indexOf(0x0a);
  if (nl === -1) return false;
  const end = nl > 0 && view[nl - 1] === 0x0d ? nl - 1 : nl;
  try {
    parseMetaBytes(view, 0, end);
    return true;
  } catch {
    return false;
  }
}
/** The reader's longest meta line (core/gor-format.ts): past it without an LF, a record is garbage. */
const MAX_META_LINE = 4096;

/** Bytes per read of the direct path: one native walk per read. */
const DIRECT_CHUNK = 8 << 20;
/** Room before a read's bytes for the record cut by the previous read's end (larger ones are read again). */
const CARRY = 64 << 10;

/**
 * Reads a plain `.gor` file into the native core (Analytics.scanGor), the next read in flight while the core
 * walks the current one; the record cut by a read's end is carried in front of the next read's bytes. Stops
 * where the reader must go on: a record the core does not take, a record larger than a read, an unterminated
 * end — or at once when the native core is not in use.
 *
 *   buffers A, B: [carry room | 8 MiB read]   walk A ‖ read B;  copy A's cut tail before B;  walk B ‖ read A …
 */
async function feedGorDirect(
  path: string,
  analytics: Analytics,
  progress: ReportProgress,
  stop: AbortSignal | undefined,
): Promise<DirectResult> {
  let position = 0; // file offset of the bytes at bufs[which][start]
  let records = 0;
  let handle: FileHandle | undefined;
  let ahead: Promise<{ bytesRead: number }> | undefined;
  try {
    handle = await open(path, 'r');
    const file = handle;
    const bufs = [Buffer.allocUnsafe(CARRY + DIRECT_CHUNK), Buffer.allocUnsafe(CARRY + DIRECT_CHUNK)];
    const readInto = (buf: Buffer, at: number) => file.read(buf, CARRY, DIRECT_CHUNK, at);
    let which = 0;
    let start = CARRY;
    let read = (await readInto(bufs[0]!, 0)).bytesRead;
    let end = CARRY + read;
    for (;;) {
      if (end === start) return { position, records, done: true, cut: false };
      const buf = bufs[which]!;
      const other = bufs[1 - which]!;
      const last = read < DIRECT_CHUNK;
      ahead = last ? undefined : readInto(other, position + (end - start));
      const taken = analytics.scanGor(buf.subarray(start, end), 0);
      if (taken === undefined) return { position, records, done: false, cut: false };
      records += taken.records;
      progress.records += taken.records;
      progress.bytesRead += taken.next;
      position += taken.next;
      const tail = end - start - taken.next;
      if (!taken.needsMore || (taken.next === 0 && end - start >= DIRECT_CHUNK)) {
        return { position, records, done: false, cut: false }; // the reader's record, or one larger than a read
      }
      if (ahead === undefined) return { position, records, done: tail === 0, cut: false };
      read = (await ahead).bytesRead;
      ahead = undefined;
      if (stop?.aborted) return { position, records, done: false, cut: true }; // the cut tail was never whole
      which = 1 - which;
      if (tail <= CARRY) {
        buf.copy(other, CARRY - tail, end - tail, end);
        start = CARRY - tail;
      } else {
        read = (await readInto(other, position)).bytesRead; // a long record cut: read again from its start
        start = CARRY;
      }
      end = CARRY + read;
    }
  } catch (err) {
    throw readFailure(err, path);
  } finally {
    await ahead?.catch(() => {});
    await handle?.close();
  }
}

async function feedPcap(
  spec: string,
  analytics: Analytics,
  log: Logger,
  progress: ReportProgress,
  stop: AbortSignal | undefined,
  ipv6Clients: Map<string, string> | undefined,
  stream: StreamInput | undefined,
): Promise<Fed> {
  const address = portsOf(spec);
  const input = rawInput({
    ...RAW_INPUT_DEFAULTS,
    ...(ipv6Clients ? { ipv6Clients } : {}),
    address,
    open: async () => (stream ? streamPacketSource(stream, address.host, log) : openFileSource(address, log)),
    log,
    name: `report(${spec})`,
  });
  let before = 0;
  let cut = false;
  let readError: TaplineError | undefined;
  const requestsBefore = progress.records;
  try {
    for await (const batch of input.read()) {
      if (stop?.aborted) {
        cut = true;
        break;
      }
      for (let i = 0; i < batch.length; i++) analytics.observe(batch[i]!);
      progress.records += batch.length;
      const read = Number(input.stats?.().file_bytes ?? 0);
      progress.bytesRead += read - before;
      before = read;
    }
  } catch (err) {
    // A compressed stream a signal closed ends inside its gzip data: the end of what was read (cut below), not
    // a read error. A compressed capture cut short (a copy taken while tcpdump -z gzip wrote it) or damaged: what
    // was read before it is reported, as for a .gor.gz, and the run exits 1 (unreadEnds in report.ts).
    // The raw input ends a capture cut inside its last packet with an error of its own (no cause), after passing
    // on every message before the cut: the report says that cut itself (file_cut_short: unreadEnds in report.ts,
    // not after a signal), with what came before.
    const cutShort =
      isTaplineError(err) &&
      err.code === ERROR_CODES.FILE_IO &&
      err.cause === undefined &&
      Number(input.stats?.().file_cut_short ?? 0) > 0;
    // A capture damaged part way (a block naming an interface its section lacks, a record length past any
    // snaplen, a read error), as tshark reads one: the packets before the damage are reported, the damage named,
    // and the run exits 1 (unreadEnds). One damaged before its first packet is no capture to report on.
    const damaged =
      isTaplineError(err) &&
      (err.code === ERROR_CODES.BAD_PACKET || err.code === ERROR_CODES.FILE_IO) &&
      Number(input.stats?.().file_packets ?? 0) > 0;
    if (!cutShort && damaged && !stream?.compressed) {
      readError = new TaplineError(
        err.code,
        `cannot read to the end: ${err.message.replace(/^cannot read capture: /, '')}; the ` +
          `${progress.records - requestsBefore} messages before it are in the report`,
        { where: err.where ?? address.host, cause: err },
      );
      log.warn(readError.describe(), 'report:read');
    } else if (!cutShort && !(stream?.compressed && stop?.aborted)) {
      if (!stream?.compressed || !isTaplineError(err) || err.code !== ERROR_CODES.FILE_IO) throw err;
      readError = new TaplineError(
        ERROR_CODES.FILE_IO,
        `cannot read to the end: ${err.message.replace(/^cannot read capture: /, '')} (at byte ` +
          `${Number(input.stats?.().file_bytes ?? 0)} of the decompressed data); the ` +
          `${progress.records - requestsBefore} messages before it are in the report`,
        { where: address.host, cause: err },
      );
      log.warn(readError.describe(), 'report:read');
    }
  }
  if (stream && stop?.aborted) cut = true; // a stream a signal closed ends as if at its end
  await input.close();
  const stats: Record<string, number | string> = { ...(input.stats?.() ?? {}) };
  if (readError) Object.assign(stats, { file_errors: 1, error: readError.describe() });
  // Every packet on other ports (a mistyped port): the report would show nothing with nothing to say why.
  const elsewhere = Number(stats.other_ports ?? 0);
  if (!cut && address.ports.length > 0 && elsewhere > 0 && Number(stats.connections ?? 0) === 0) {
    log.warn(
      `${spec}: none of its TCP packets is on port ${address.ports.join(' or ')} (${elsewhere} on other ports, ` +
        'other_ports in --json): nothing to report from it; name the server port, or no port for every port',
      'report:ports',
    );
  }
  // Packets but not one TCP segment read (GRE before it was decoded, MPLS, a capture of other traffic): the
  // report would be empty with nothing to say why.
  const packets = Number(stats.packets ?? 0);
  if (!cut && packets > 0 && Number(stats.segments ?? 0) === 0) {
    log.warn(
      `${spec}: none of its ${packets} packet(s) holds a TCP segment tapline reads (not_tcp_or_filtered in ` +
        '--json): nothing to report from it; docs/capture.md lists the link layers and tunnels decoded',
      'report:no-tcp',
    );
  }
  return { stats, cut };
}

/**
 * The capture file address in `dump.pcap:80,8080`; a bad port is a usage error of `tapline report` naming the
 * argument (the parser it shares names --input-raw, which a report user never wrote).
 */
export function portsOf(spec: string): RawAddress {
  try {
    return parseRawAddress(spec, true);
  } catch (err) {
    if (isTaplineError(err) && err.code === ERROR_CODES.USAGE)
      throw new TaplineError(ERROR_CODES.USAGE, err.message, { where: 'tapline report' });
    throw err;
  }
}

/**
 * A capture read from a stream, as openFileSource reads one from a file (packets in order, timestamps as
 * recorded, every port tracked with responses): the same engine (PcapStreamParser), fed by the stream.
 */
function streamPacketSource(stream: StreamInput, name: string, log: Logger): PacketSource {
  const reader = readPcapStream(stream.bytes, {
    name,
    onWarning: (w) => log.warn(`${w.where}: ${w.message}`, 'report:pcap'),
  });
  return {
    live: false,
    filterText: '',
    packets: flowAddon() !== null ? reader.batches() : reader,
    stats: () => ({
      file_packets: reader.stats.packets,
      file_bytes: reader.stats.bytes,
      snaplen_truncated: reader.stats.snaplenCut,
      bpf_filtered: reader.stats.filtered,
      file_cut_short: reader.stats.truncatedAtEof,
    }),
    close: () => stream.close(),
  };
}
