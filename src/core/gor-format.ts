/**
 * The `.gor` record format (spec §2.3–2.4): `meta LF payload LF 🐵🙈🙉 LF`, every record followed by the
 * 14-byte separator `0A F0 9F 90 B5 F0 9F 99 88 F0 9F 99 89 0A`. The same framing is used by
 * `--output-stdout` and the tcp link.
 *
 * `GorRecordReader` is a sans-IO splitter: push chunks, get records. It is where tapline is more forgiving
 * and more talkative than gor, always saying what it did:
 *  - a last record without a separator is read (gor drops it) and reported as `unterminated`;
 *  - a separator at the very end of a file without its final LF is accepted;
 *  - Windows line endings (`\r\n🐵🙈🙉\r\n`, CRLF meta lines) are read and reported once as `crlf`; a record
 *    whose meta line ends in a bare LF (every gor record) ends only at `\n🐵🙈🙉\n`, as in gor;
 *  - a record whose meta line is malformed, or whose payload is empty, is skipped and reported;
 *  - binary garbage does not grow memory: once a record's first line is clearly not a meta line, its bytes
 *    are discarded up to the next separator and reported as `garbage`.
 */
import { ERROR_CODES, TaplineError } from './errors.js';
import { type FileAddon, fileAddon } from './gor-format-native.js';
import type { Message, Meta } from './message.js';
import { metaLineKey, metaLineLength, parseMeta, parseMetaBytes, preview, timestampKey } from './meta.js';

export const SEPARATOR = Buffer.from('\n🐵🙈🙉\n', 'utf8');
/**
 * A UTF-8 byte order mark: an editor's or a Windows tool's mark at the start of a saved file, not a byte of a
 * record. gor reads it into the first record's type ('\uFEFF1'), so that record is no request to any output;
 * tapline's readers skip it (GorRecordReader.skipStart) and say so.
 */
export const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The bytes begin with a UTF-8 byte order mark. */
export function startsWithBom(buf: Buffer): boolean {
  return buf.length >= UTF8_BOM.length && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
}
/** The separator without its final LF: what we search for, then look at the byte after it. */
const SEP_CORE = SEPARATOR.subarray(0, 13);
const CORE_LEN = 13;
const LF = 0x0a;
const CR = 0x0d;
/** A meta line longer than this is not a meta line: the record is garbage. */
const MAX_META_LINE = 4096;
/** A single record larger than this is refused (Buffers cannot be much larger). */
const MAX_RECORD = 1 << 30;

export type RecordProblemKind =
  | 'malformed-meta'
  | 'empty-payload'
  | 'unterminated'
  | 'crlf'
  | 'garbage'
  | 'too-large'
  | 'bom'
  | 'merged';

export interface RecordProblem {
  readonly kind: RecordProblemKind;
  /** 1-based record number in this stream (every record counts, good or bad). */
  readonly record: number;
  /** Byte offset of the record's first byte in the (decompressed) stream. */
  readonly offset: number;
  /** True when the record was skipped; false for warnings about records that were still read. */
  readonly skipped: boolean;
  readonly message: string;
}

export interface GorRecord extends Message {
  readonly record: number;
  readonly offset: number;
  /** Bytes the record took in the stream, separator included. */
  readonly size: number;
  /** Payload length, without making the `data` view (the reader creates it only when asked). */
  readonly dataLength: number;
  /**
   * When the record's exact encoding (meta line, LF, payload, 14-byte separator) is `rawBuf[rawStart, rawEnd)`,
   * writers may copy those bytes, or write the span as is, instead of encoding again. Only set for records
   * read whole from one chunk with the standard LF separator; a message changed by a processor is a new
   * object without it.
   */
  readonly rawBuf?: Buffer;
  readonly rawStart?: number;
  readonly rawEnd?: number;
}

/**
 * A record as the reader makes it, once per record on the hottest path: one small object whose meta and
 * payload view are made on first use. A million Metas and Buffer views a second cost more than the rest of the
 * parse, and a file-to-file copy or a replay to --output-null needs neither: the reader checks the meta
 * line and keeps its timestamp key, which is all the replay needs.
 */
class ReadRecord implements GorRecord {
  private parsed: Meta | undefined;
  private view: Buffer | undefined;
  constructor(
    private readonly buf: Buffer,
    /** The meta line is `buf[rawStart, metaEnd)`; the record's raw encoding starts there too. */
    readonly rawStart: number,
    readonly metaEnd: number,
    private readonly dataStart: number,
    private readonly dataEnd: number,
    /** timestampKey() of the meta. */
    readonly key: number,
    readonly record: number,
    readonly offset: number,
    readonly size: number,
    /** End of the raw encoding in `buf`, or -1 when the record has none (CRLF). */
    readonly rawEnd: number,
  ) {}

  get meta(): Meta {
    this.parsed ??= parseMetaBytes(this.buf, this.rawStart, this.metaEnd);
    return this.parsed;
  }

  get data(): Buffer {
    this.view ??= this.buf.subarray(this.dataStart, this.dataEnd);
    return this.view;
  }

  get dataLength(): number {
    return this.dataEnd - this.dataStart;
  }

  get rawBuf(): Buffer | undefined {
    return this.rawEnd === -1 ? undefined : this.buf;
  }
}

/** A message's payload length, without making a payload view when the message is a record read from bytes. */
export function payloadLength(msg: Message): number {
  return msg instanceof ReadRecord ? msg.dataLength : msg.data.length;
}

/** timestampKey() of a message's meta, without making the Meta when the message is a record read from bytes. */
export function messageKey(msg: Message): number {
  return msg instanceof ReadRecord ? msg.key : timestampKey(msg.meta);
}

/** Byte length of a message's meta line, without making the Meta when the message is a record read from bytes. */
export function metaLength(msg: Message): number {
  return msg instanceof ReadRecord ? msg.metaEnd - msg.rawStart : metaLineLength(msg.meta);
}

/**
 * A record the reader did not hold (deferRecordsAbove()): bytes `[offset, offset + size)` of the stream, its
 * separator excluded. The caller reads them again once it is whole and hands them to materialize().
 */
export class DeferredRecord {
  constructor(
    readonly record: number,
    readonly offset: number,
    readonly size: number,
    readonly crlf: boolean,
    readonly endOffset: number,
  ) {}
}

export class GorRecordReader {
  /** Pieces of the record being accumulated (views into pushed chunks). */
  private pieces: Buffer[] = [];
  private piecesLen = 0;
  /** Absolute offset of the first byte of `pieces`. */
  private recordOffset = 0;
  /** Absolute offset of the next byte to be pushed. */
  private streamOffset = 0;
  private recordNo = 0;
  /** Discarding a garbage record up to the next separator. */
  private skipping = false;
  private metaChecked = false;
  private crlfReported = false;
  private out: (GorRecord | RawSpan)[] = [];
  /** pushItems(): clean records scanned natively come as RawSpans instead of one object each. */
  private spans = false;
  /** deferRecordsAbove(): records past this size are not held but handed on as DeferredRecords. */
  private deferAbove = Number.POSITIVE_INFINITY;
  /** Bytes of the record being deferred so far (-1: none); only its last bytes are kept (a straddling separator). */
  private deferredLen = -1;
  /** Its meta line ends in CR (crlfRecord() cannot look at it any more). */
  private deferredMetaCR = false;
  /** The last push() or end() handed on a DeferredRecord. */
  deferred = false;
  /** Stream offsets of `\n🐵🙈🙉\r\n` read as payload in the record being read (noteMerged()). */
  private mergedAt: number[] = [];

  constructor(private readonly onProblem: (p: RecordProblem) => void) {}

  /** Feeds the next chunk; returns the records it completed. Chunks are referenced, not copied. */
  push(chunk: Buffer): GorRecord[] {
    this.spans = false;
    return this.pushAny(chunk) as GorRecord[];
  }

  /**
   * push(), except that the records the native scanner finds whole and valid come as RawSpans (one object
   * per scan call instead of one per record); everything else (and every record without the addon) comes
   * as records, in stream order. Problems are reported the same way.
   */
  pushItems(chunk: Buffer): (GorRecord | RawSpan)[] {
    this.spans = true;
    return this.pushAny(chunk);
  }

  /**
   * A record that grows past `bytes` is no longer held (its pieces are dropped as they come) but handed on as a
   * DeferredRecord where it ends, for a caller that can read its bytes again (a plain file): a record is then
   * in memory once, not as the pieces and then their copy. push() and pushItems() may then return them
   * (`deferred` says so).
   */
  deferRecordsAbove(bytes: number): void {
    this.deferAbove = bytes;
  }

  /** The record `d` stands for, from its bytes (read again by the caller), or undefined (a problem reported). */
  materialize(d: DeferredRecord, bytes: Buffer): GorRecord | undefined {
    const out = this.out;
    this.out = [];
    this.emitAt(bytes, 0, bytes.length, d.crlf, d.endOffset, -1, d.record, d.offset);
    const made = this.out[0] as GorRecord | undefined;
    this.out = out;
    return made;
  }

  private pushAny(chunk: Buffer): (GorRecord | RawSpan)[] {
    this.out = [];
    this.deferred = false;
    let from = 0;
    if (this.piecesLen > 0) from = this.scanStraddle(chunk);
    /** Where the separator search goes on: past a look-alike that is payload (`\n🐵🙈🙉` + another byte). */
    let search = from;
    while (from >= 0) {
      if (search === from && this.piecesLen === 0 && !this.skipping && scanner) {
        // Every record that needs no decision, in one native call per SCAN_MAX; the loop below takes the
        // record the scan stopped at (or keeps the tail for the next chunk).
        from = this.scanClean(scanner, chunk, from);
        search = from;
      }
      const idx = findCore(chunk, search);
      if (idx === -1) break;
      const after = idx + CORE_LEN;
      if (after >= chunk.length) break; // cannot tell yet: the next chunk decides (scanStraddle)
      let sepLen = separatorLength(chunk, after);
      if (sepLen === -1) break; // "\r" is the chunk's last byte: the next chunk decides
      if (sepLen === 2 && !this.crlfRecord(chunk, from)) {
        this.mergedAt.push(this.streamOffset + idx);
        sepLen = 0;
      }
      if (sepLen === 0) {
        search = idx + 1;
        continue;
      }
      const next = idx + CORE_LEN + sepLen;
      if (this.piecesLen === 0 && !this.skipping) {
        // Fast path: the whole record is inside this chunk; no piece list, one Buffer view for the payload.
        this.emit(chunk, from, idx, sepLen === 2, this.streamOffset + next, sepLen === 1 ? next : -1);
      } else {
        this.take(chunk.subarray(from, idx));
        this.finishRecord(sepLen === 2, this.streamOffset + next);
      }
      from = next;
      search = next;
    }
    if (from >= 0 && from < chunk.length) this.take(chunk.subarray(from));
    this.streamOffset += chunk.length;
    return this.out;
  }

  /**
   * Records the native scanner found whole and valid, made as emit() makes them; returns where it stopped.
   * The first scan comes from the thread pool when the chunk was scanned there from this very point
   * (offerPreScan()): the same call on the same bytes, made ahead.
   */
  private scanClean(addon: FileAddon, chunk: Buffer, from: number): number {
    const out = this.out;
    const base = this.streamOffset;
    let pre = preScans.get(chunk);
    if (pre !== undefined && pre.from !== from) pre = undefined;
    for (;;) {
      let n: number;
      let ints: Int32Array = SCAN_INTS;
      let keys: Float64Array = SCAN_KEYS;
      if (pre !== undefined) {
        ({ count: n, ints, keys } = pre);
        pre = undefined;
      } else {
        n = addon.scanRecords(chunk, from, SCAN_INTS, SCAN_KEYS);
      }
      const capacity = keys.length;
      if (this.spans) {
        if (n > 0) {
          const span = new RawSpan(chunk, ints.slice(0, 3 * n), keys.slice(0, n), this.recordNo + 1, this.recordOffset);
          out.push(span);
          this.recordNo += n;
          this.recordOffset = span.offsetOf(n - 1) + span.sizeOf(n - 1);
        }
        from = ints[3 * capacity]!;
        if (n < capacity) return from;
        continue;
      }
      let offset = this.recordOffset;
      let record = this.recordNo;
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        const start = ints[j]!;
        const nl = ints[j + 1]!;
        const end = ints[j + 2]!;
        const next = end + SEPARATOR_LEN;
        const endOffset = base + next;
        record++;
        out.push(new ReadRecord(chunk, start, nl, nl + 1, end, keys[i]!, record, offset, endOffset - offset, next));
        offset = endOffset;
      }
      this.recordOffset = offset;
      this.recordNo = record;
      from = ints[3 * capacity]!;
      if (n < capacity) return from;
    }
  }

  /** End of stream: a trailing record without separator is still read, and reported. */
  end(): GorRecord[] {
    this.spans = false;
    const out: GorRecord[] = []; // end() makes no spans: the scanner runs only in push()
    this.out = out;
    this.deferred = false;
    if (this.piecesLen === 0 && !this.skipping) return out;
    let bytes = Buffer.concat(this.pieces, this.piecesLen);
    // A separator at EOF without its final LF ("…\n🐵🙈🙉").
    const eofSeparator = bytes.length >= CORE_LEN && bytes.subarray(bytes.length - CORE_LEN).equals(SEP_CORE);
    if (eofSeparator) {
      bytes = bytes.subarray(0, bytes.length - CORE_LEN);
      if (this.deferredLen >= 0) this.deferredLen -= CORE_LEN; // the pieces are only its last bytes
    }
    this.pieces = [bytes];
    this.piecesLen = bytes.length;
    if (this.skipping || this.deferredLen >= 0 || bytes.some((b) => b > 0x20)) {
      const record = this.recordNo + 1;
      const offset = this.recordOffset;
      const had = this.out.length;
      this.finishRecord(false, this.streamOffset);
      if (!eofSeparator && this.out.length > had) {
        this.onProblem({
          kind: 'unterminated',
          record,
          offset,
          skipped: false,
          message: 'stream ends without a record separator; the last record was read as is and may be truncated',
        });
      }
    }
    this.pieces = [];
    this.piecesLen = 0;
    return out;
  }

  /**
   * Before the first push(): the stream's first `n` bytes are not records (a byte order mark) and are not
   * pushed; offsets still count them, so that they stay offsets of the stream.
   */
  skipStart(n: number): void {
    this.streamOffset += n;
    this.recordOffset += n;
  }

  /** Records seen so far (good and bad). */
  get records(): number {
    return this.recordNo;
  }

  /** Bytes held for the record still arriving (0 between records and while one is skipped). */
  get pendingBytes(): number {
    return this.skipping ? 0 : this.piecesLen;
  }

  /**
   * Drops the record still arriving without reading it (a caller bounding memory; it says why, no problem is
   * reported): the rest of it is skipped up to the next separator. Its number and offset, or null when none.
   */
  dropPending(): { record: number; offset: number } | null {
    if (this.skipping || this.piecesLen === 0) return null;
    this.recordNo += 1;
    const dropped = { record: this.recordNo, offset: this.recordOffset };
    this.skipRest();
    return dropped;
  }

  /**
   * End of stream for a caller that passes no cut-off record on: forgets the record still arriving without
   * copying or parsing it (end() joins it whole: seconds for hundreds of MB). Its number and offset when it
   * held more than blanks; null when none (or it was being skipped, so already reported).
   */
  discard(): { record: number; offset: number } | null {
    this.mergedAt = [];
    const pending = !this.skipping && (this.deferredLen >= 0 || this.pieces.some((p) => hasNonBlank(p, 0, p.length)));
    const cut = pending ? { record: this.recordNo + 1, offset: this.recordOffset } : null;
    this.pieces = [];
    this.piecesLen = 0;
    this.deferredLen = -1;
    this.skipping = false;
    this.metaChecked = false;
    return cut;
  }

  /** A separator may straddle the previous chunk and this one: look at the seam. Returns where to continue. */
  private scanStraddle(chunk: Buffer): number {
    const tailLen = Math.min(CORE_LEN + 1, this.piecesLen);
    const tail = lastBytes(this.pieces, tailLen);
    const probe = Buffer.concat([tail, chunk.subarray(0, CORE_LEN + 2)]);
    let from = 0;
    for (;;) {
      const idx = probe.indexOf(SEP_CORE, from);
      if (idx === -1 || idx >= tailLen) return 0; // none starting in the tail: the in-chunk scan handles the rest
      const after = idx + CORE_LEN;
      let sepLen = after >= probe.length ? -1 : separatorLength(probe, after);
      if (sepLen === 2 && !this.crlfRecord(chunk, 0)) {
        this.mergedAt.push(this.streamOffset - tailLen + idx);
        sepLen = 0;
      }
      if (sepLen === -1) {
        // The chunk is tiny and still does not tell; keep everything for the next push.
        this.take(chunk);
        return -1;
      }
      if (sepLen === 0) {
        from = idx + 1;
        continue;
      }
      const keep = this.piecesLen - (tailLen - idx);
      if (this.deferredLen >= 0) this.deferredLen -= tailLen - idx; // the pieces are only its tail
      const whole = Buffer.concat(this.pieces, this.piecesLen);
      this.pieces = [whole.subarray(0, keep)];
      this.piecesLen = keep;
      const resume = CORE_LEN + sepLen - (tailLen - idx);
      this.finishRecord(sepLen === 2, this.streamOffset + resume);
      return resume;
    }
  }

  /**
   * Whether `\n🐵🙈🙉\r\n` ends the record being read (the pieces, then `chunk` from `from`): only in a file
   * with Windows line endings, whose meta lines end in CR too. gor writes meta lines with a bare LF, so in a
   * gor file that sequence is payload (gor reads it as such), not a separator. A record being skipped as
   * garbage has no meta line left to look at: any separator ends it.
   */
  private crlfRecord(chunk: Buffer, from: number): boolean {
    if (this.skipping) return true;
    if (this.deferredLen >= 0) return this.deferredMetaCR;
    let before = -1; // the byte before the one looked at, across pieces
    for (const piece of this.pieces) {
      const nl = piece.indexOf(LF);
      if (nl !== -1) return (nl > 0 ? piece[nl - 1] : before) === CR;
      if (piece.length > 0) before = piece[piece.length - 1]!;
    }
    const nl = chunk.indexOf(LF, from);
    return nl !== -1 && (nl > from ? chunk[nl - 1] : before) === CR;
  }

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.skipping) {
      // Keep only what a straddling separator could need.
      this.pieces.push(piece);
      this.piecesLen += piece.length;
      if (this.piecesLen > 4 * (CORE_LEN + 1)) {
        const tail = lastBytes(this.pieces, CORE_LEN + 1);
        this.pieces = [tail];
        this.piecesLen = tail.length;
      }
      return;
    }
    this.pieces.push(piece);
    this.piecesLen += piece.length;
    if (this.deferredLen >= 0) {
      this.deferredLen += piece.length;
      this.keepTail();
      if (this.deferredLen > MAX_RECORD) this.startSkipping('too-large', `record is larger than ${MAX_RECORD} bytes`);
      return;
    }
    if (!this.metaChecked && this.piecesLen > MAX_META_LINE) this.checkMetaEarly();
    if (this.piecesLen > MAX_RECORD) this.startSkipping('too-large', `record is larger than ${MAX_RECORD} bytes`);
    else if (this.piecesLen > this.deferAbove && this.metaChecked && !this.skipping) this.startDeferring();
  }

  /** Only the last bytes of the record being read are kept from now on (deferRecordsAbove()). */
  private startDeferring(): void {
    const head = Buffer.concat(this.pieces, Math.min(this.piecesLen, MAX_META_LINE + 1));
    const nl = head.indexOf(LF); // there: checkMetaEarly() found the meta line
    this.deferredMetaCR = nl > 0 && head[nl - 1] === CR;
    this.deferredLen = this.piecesLen;
    this.keepTail();
  }

  /** Keeps what a separator straddling the next chunk could need, once the pieces hold more. */
  private keepTail(): void {
    if (this.piecesLen > 4 * (CORE_LEN + 1)) {
      const tail = lastBytes(this.pieces, CORE_LEN + 1);
      this.pieces = [tail];
      this.piecesLen = tail.length;
    }
  }

  /** Decides early whether the record being read starts with a meta line, so garbage is not buffered. */
  private checkMetaEarly(): void {
    this.metaChecked = true;
    const head = Buffer.concat(this.pieces, Math.min(this.piecesLen, MAX_META_LINE + 1)).subarray(0, MAX_META_LINE + 1);
    const nl = head.indexOf(LF);
    if (nl === -1) {
      this.startSkipping('garbage', `no meta line in the first ${MAX_META_LINE} bytes: not a .gor record`);
      return;
    }
    try {
      parseMeta(stripCR(head.toString('latin1', 0, nl)));
    } catch (err) {
      this.startSkipping('garbage', (err as TaplineError).message);
    }
  }

  private startSkipping(kind: RecordProblemKind, why: string): void {
    this.recordNo += 1;
    this.onProblem({
      kind,
      record: this.recordNo,
      offset: this.recordOffset,
      skipped: true,
      message: `${why}; skipping to the next record separator`,
    });
    this.skipRest();
  }

  /** Skips the record being read up to the next separator, keeping only what a straddling one could need. */
  private skipRest(): void {
    this.skipping = true;
    this.deferredLen = -1;
    const tail = lastBytes(this.pieces, Math.min(this.piecesLen, CORE_LEN + 1));
    this.pieces = [tail];
    this.piecesLen = tail.length;
  }

  /** The accumulated pieces form one record (separator excluded); `endOffset` is where the next one starts. */
  private finishRecord(crlf: boolean, endOffset: number): void {
    const wasSkipping = this.skipping;
    const pieces = this.pieces;
    const len = this.piecesLen;
    this.pieces = [];
    this.piecesLen = 0;
    this.metaChecked = false;
    this.skipping = false;
    if (wasSkipping || this.deferredLen >= 0) this.mergedAt = []; // not held: not looked at again
    if (wasSkipping) {
      this.recordOffset = endOffset; // already reported (and numbered) when skipping started
      return;
    }
    if (this.deferredLen >= 0) {
      const size = this.deferredLen;
      this.deferredLen = -1;
      this.recordNo += 1;
      if (crlf) this.noteCrlf(this.recordNo, this.recordOffset); // said in file order, as emit() says it
      (this.out as unknown[]).push(new DeferredRecord(this.recordNo, this.recordOffset, size, crlf, endOffset));
      this.recordOffset = endOffset;
      this.deferred = true;
      return;
    }
    const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, len);
    this.emit(bytes, 0, bytes.length, crlf, endOffset);
  }

  /** Turns `buf[start, end)` (one record, separator excluded) into a record, or a reported problem. */
  private emit(buf: Buffer, start: number, end: number, crlf: boolean, endOffset: number, rawEnd = -1): void {
    const offset = this.recordOffset;
    this.recordOffset = endOffset;
    this.recordNo += 1;
    this.emitAt(buf, start, end, crlf, endOffset, rawEnd, this.recordNo, offset);
  }

  /** emit() for record number `record` at stream offset `offset`. */
  private emitAt(
    buf: Buffer,
    start: number,
    end: number,
    crlf: boolean,
    endOffset: number,
    rawEnd: number,
    record: number,
    offset: number,
  ): void {
    if (this.mergedAt.length > 0) this.noteMerged(buf, start, end, record, offset);
    if (crlf) {
      if (end > start && buf[end - 1] === CR) end--;
      this.noteCrlf(record, offset);
    }
    const nl = indexOfLF(buf, start, end);
    if (nl === -1) {
      if (hasNonBlank(buf, start, end)) {
        this.problem(
          'malformed-meta',
          record,
          offset,
          `record has no payload after its first line ${preview(buf.toString('latin1', start, end))}`,
        );
      }
      return;
    }
    const metaEnd = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    let key: number;
    try {
      key = metaLineKey(buf, start, metaEnd);
    } catch (err) {
      this.problem('malformed-meta', record, offset, (err as TaplineError).message);
      return;
    }
    if (nl + 1 >= end) {
      this.problem('empty-payload', record, offset, 'record has a meta line but no payload');
      return;
    }
    const raw = rawEnd !== -1 && metaEnd === nl;
    this.out.push(
      new ReadRecord(buf, start, metaEnd, nl + 1, end, key, record, offset, endOffset - offset, raw ? rawEnd : -1),
    );
  }

  /** The first record with Windows line endings is said, once. */
  private noteCrlf(record: number, offset: number): void {
    if (this.crlfReported) return;
    this.crlfReported = true;
    this.onProblem({
      kind: 'crlf',
      record,
      offset,
      skipped: false,
      message: 'Windows line endings (CRLF) around record separators; read anyway (gor would find no records)',
    });
  }

  /**
   * The record `buf[start, end)` (number `record`, at stream offset `offset`) holds `\n🐵🙈🙉\r\n` at the
   * stream offsets `mergedAt` while its meta line ends in LF: payload, as gor reads it (its separator is a line
   * that is exactly `🐵🙈🙉\n`). When a meta line follows one, it is a record separator whose line ending an
   * editor or a tool changed, and the record after it is read inside this one: said (once a record).
   */
  private noteMerged(buf: Buffer, start: number, end: number, record: number, offset: number): void {
    const positions = this.mergedAt;
    this.mergedAt = [];
    // Said relative to the record: readers of windows (report's mapped files) rebase `offset` and `record` for
    // the message's prefix, not the message text, so a stream offset here named the wrong byte.
    for (const at of positions) {
      const line = start + (at - offset) + CORE_LEN + 2;
      if (line < start || line >= end) continue;
      const nl = indexOfLF(buf, line, end);
      if (!META_START.test(buf.toString('latin1', line, nl === -1 ? end : nl))) continue;
      this.onProblem({
        kind: 'merged',
        record,
        offset,
        skipped: false,
        message:
          `holds a record separator ending in CRLF (\\n🐵🙈🙉\\r\\n, ${at - offset} bytes into the record) followed by a ` +
          'meta line, while its own meta line ends in LF: read as payload, as gor reads it, so the record after it was ' +
          'passed on inside this one (a line ending changed by an editor or a tool?)',
      });
      return;
    }
  }

  private problem(kind: RecordProblemKind, record: number, offset: number, message: string): void {
    this.onProblem({ kind, record, offset, skipped: true, message });
  }
}

const SEPARATOR_LEN = 14;
/** What a gor meta line starts with: a payload type, an id and a timestamp of digits (gor-format noteMerged()). */
const META_START = /^[123] \S+ \d+(?: |\r?$)/;

/**
 * Records the native scanner found whole and valid, side by side in one chunk, without an object each:
 * record i is `buf[start(i), start(i) + sizeOf(i))` (meta line, LF, payload, LF separator: its exact `.gor`
 * encoding). record(i) makes the same record object push() would have made; raw runs (core/plugin.ts) write
 * the bytes as they are.
 */
export class RawSpan {
  constructor(
    readonly buf: Buffer,
    /** start, meta line end, payload end of each record (scanRecords' layout). */
    private readonly ints: Int32Array,
    /** timestampKey() of each record (NaN when the timestamp is not a number). */
    readonly keys: Float64Array,
    /** Record number of the first record. */
    readonly firstRecord: number,
    /** Stream offset of the first record. */
    readonly firstOffset: number,
  ) {}

  get count(): number {
    return this.keys.length;
  }

  /** Where record i starts in `buf`. */
  start(i: number): number {
    return this.ints[3 * i]!;
  }

  /** Where record i ends in `buf`, separator included. */
  end(i: number): number {
    return this.ints[3 * i + 2]! + SEPARATOR_LEN;
  }

  sizeOf(i: number): number {
    return this.end(i) - this.start(i);
  }

  offsetOf(i: number): number {
    return this.firstOffset + this.start(i) - this.ints[0]!;
  }

  payloadLength(i: number): number {
    return this.ints[3 * i + 2]! - this.ints[3 * i + 1]! - 1;
  }

  /** Record i as push() makes it. */
  record(i: number): GorRecord {
    const start = this.ints[3 * i]!;
    const nl = this.ints[3 * i + 1]!;
    const end = this.ints[3 * i + 2]!;
    const next = end + SEPARATOR_LEN;
    const offset = this.offsetOf(i);
    return new ReadRecord(
      this.buf,
      start,
      nl,
      nl + 1,
      end,
      this.keys[i]!,
      this.firstRecord + i,
      offset,
      next - start,
      next,
    );
  }
}
/** Records per native scan call, and its output arrays (one reader at a time uses them: push() is sync). */
const SCAN_MAX = 4096;
const SCAN_INTS = new Int32Array(3 * SCAN_MAX + 1);
const SCAN_KEYS = new Float64Array(SCAN_MAX);
/**
 * A chunk's records scanned ahead on the thread pool (inputs/file-map.ts, prefetchScan): what scanRecords(chunk,
 * from, ints, keys) returns, `count` records. The reader uses it in place of its own first scan of the chunk
 * when it would scan from that same `from`.
 */
export interface PreScan {
  readonly from: number;
  readonly count: number;
  readonly ints: Int32Array;
  readonly keys: Float64Array;
}
const preScans = new WeakMap<Buffer, PreScan>();

/** Offers the reader a scan of `chunk` made ahead (until takePreScan()). */
export function offerPreScan(chunk: Buffer, scan: PreScan): void {
  preScans.set(chunk, scan);
}

/** Withdraws the scan offered for `chunk` (after the chunk was pushed), so that its arrays can be reused. */
export function takePreScan(chunk: Buffer): PreScan | undefined {
  const scan = preScans.get(chunk);
  preScans.delete(chunk);
  return scan;
}

/** The native scanner, unless the addon is missing or TAPLINE_FILE_ADDON=off. */
let scanner: FileAddon | null = fileAddon();

/**
 * Turns the native record scanner off or back on (when the addon is there); returns whether it is on. For
 * the tests and benchmarks that compare it with the JavaScript reader: both must read the same records.
 */
export function useNativeScanner(on: boolean): boolean {
  scanner = on ? fileAddon() : null;
  return scanner !== null;
}

const FIRST_EMOJI_BYTE = 0xf0;

/**
 * Index of the next `\n🐵🙈🙉` at or after `from`, or -1. Searching for the emoji's first byte uses memchr,
 * several times faster than a 13-byte pattern search; 0xF0 is rare in HTTP, so it is nearly always a hit.
 * A separator cut by the end of the buffer is not found here: the reader's seam check handles it.
 */
function findCore(buf: Buffer, from: number): number {
  let i = buf.indexOf(FIRST_EMOJI_BYTE, from + 1);
  while (i !== -1) {
    const start = i - 1;
    if (buf[start] === LF && start + CORE_LEN <= buf.length && matchesCore(buf, start)) return start;
    i = buf.indexOf(FIRST_EMOJI_BYTE, i + 1);
  }
  return -1;
}

function matchesCore(buf: Buffer, at: number): boolean {
  for (let k = 1; k < CORE_LEN; k++) if (buf[at + k] !== SEP_CORE[k]) return false;
  return true;
}

/** After the 13-byte core at `pos`: 1 for `\n`, 2 for `\r\n`, 0 when it is not a separator, -1 when the
 *  buffer ends too early to tell. */
function separatorLength(buf: Buffer, pos: number): number {
  const b = buf[pos];
  if (b === LF) return 1;
  if (b === CR) {
    if (pos + 1 >= buf.length) return -1;
    return buf[pos + 1] === LF ? 2 : 0;
  }
  return 0;
}

/** The first LF in `buf[start, end)`, or -1. Native memchr: measured faster here than a JS loop over even
 *  the ~50 bytes of a meta line. */
function indexOfLF(buf: Buffer, start: number, end: number): number {
  const i = buf.indexOf(LF, start);
  return i >= end ? -1 : i;
}

function hasNonBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i]! > 0x20) return true;
  return false;
}

function stripCR(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

function lastBytes(pieces: Buffer[], n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let need = n;
  for (let i = pieces.length - 1; i >= 0 && need > 0; i--) {
    const p = pieces[i]!;
    const take = Math.min(need, p.length);
    p.copy(out, need - take, p.length - take);
    need -= take;
  }
  return out;
}

/** Encodes one record: meta line, LF, payload, separator. */
export function encodeRecord(msg: Message): Buffer {
  const metaLen = Buffer.byteLength(msg.meta.line, 'latin1');
  const out = Buffer.allocUnsafe(metaLen + 1 + msg.data.length + SEPARATOR.length);
  out.write(msg.meta.line, 0, 'latin1');
  out[metaLen] = LF;
  msg.data.copy(out, metaLen + 1);
  SEPARATOR.copy(out, metaLen + 1 + msg.data.length);
  return out;
}

/** Size of a record once encoded. */
export function encodedSize(msg: Message): number {
  return metaLength(msg) + 1 + payloadLength(msg) + SEPARATOR.length;
}

export function describeProblem(p: RecordProblem, source: string): TaplineError {
  return new TaplineError(ERROR_CODES.BAD_RECORD, p.message, {
    where: `${source}: record ${p.record} (byte ${p.offset})`,
  });
}
