/**
 * Meta line parsing. gor's rule (spec §2.1, §3): split on single spaces, at least 3 fields; only type, id and
 * timestamp are interpreted. A non-numeric timestamp reads as 0 (gor does the same) and is flagged.
 *
 * This runs once per record on the hottest path (a million records a second), so it scans with indexOf and
 * char codes instead of split() and regular expressions.
 */
import { ERROR_CODES, TaplineError } from './errors.js';
import type { Meta } from './message.js';

const NO_EXTRA: readonly string[] = Object.freeze([]);

/** Parses a meta line (without its LF). Throws BAD_META when it has fewer than 3 fields or an empty type/id. */
export function parseMeta(line: string): Meta {
  const s1 = line.indexOf(' ');
  const s2 = s1 === -1 ? -1 : line.indexOf(' ', s1 + 1);
  if (s2 === -1) {
    if (line === '' || line === '\r') {
      // Blank lines after a separator (a file edited by hand, records joined with echo): gor loses the record too.
      throw new TaplineError(
        ERROR_CODES.BAD_META,
        'the record starts with an empty line where its meta line (type id timestamp) should be: a blank line ' +
          'after the record separator before it? (the record is skipped whole, as gor skips it)',
      );
    }
    const fields = line.split(' ').length;
    throw new TaplineError(
      ERROR_CODES.BAD_META,
      `meta line needs at least 3 space-separated fields (type id timestamp), got ${fields}: ${preview(line)}`,
    );
  }
  if (s1 === 0 || s2 === s1 + 1) {
    throw new TaplineError(ERROR_CODES.BAD_META, `meta line has an empty type or id field: ${preview(line)}`);
  }
  return new LineMeta(line, undefined, 0, line.length, s1, s2);
}

/**
 * Parses the meta line at `buf[start, end)` without making a string: the line text is made only if someone
 * reads it. Same rules and errors as parseMeta().
 */
export function parseMetaBytes(buf: Buffer, start: number, end: number): Meta {
  // Native memchr for the two spaces: measured faster than a JS loop over the bytes.
  let s1 = buf.indexOf(SPACE, start);
  let s2 = s1 === -1 || s1 >= end ? -1 : buf.indexOf(SPACE, s1 + 1);
  if (s2 >= end) s2 = -1;
  s1 -= start;
  s2 = s2 === -1 ? -1 : s2 - start;
  if (s2 === -1 || s1 === 0 || s2 === s1 + 1) return parseMeta(buf.toString('utf8', start, end)); // throws (utf8: the error quotes the line as written)
  return new LineMeta(undefined, buf, start, end, s1, s2);
}

/**
 * Checks the meta line at `buf[start, end)` as parseMetaBytes() does (same errors), without making a Meta,
 * and returns its timestampKey(). The `.gor` reader calls this once per record and makes the Meta only if
 * someone reads it.
 */
export function metaLineKey(buf: Buffer, start: number, end: number): number {
  // The type is nearly always one character: one comparison instead of a search.
  const s1 = start + 1 < end && buf[start + 1] === SPACE ? start + 1 : buf.indexOf(SPACE, start);
  const s2 = s1 === -1 || s1 >= end ? -1 : buf.indexOf(SPACE, s1 + 1);
  if (s2 === -1 || s2 >= end || s1 === start || s2 === s1 + 1) parseMeta(buf.toString('utf8', start, end)); // throws (utf8: the error quotes the line as written)
  return keyFromBytes(buf, s2 + 1, end);
}

const SPACE = 0x20;
/** One-character type strings, so a type read from bytes costs no allocation. */
const CHAR = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i));

/**
 * A meta read from a line: the line is kept, fields are cut and converted the first time they are read.
 * Records copied from file to file never pay for the id, latency or extra fields.
 */
class LineMeta implements Meta {
  private text: string | undefined;
  private key: number | undefined;
  private cachedId: string | undefined;
  private cachedTs: bigint | undefined;
  private bad: boolean | undefined;
  private tail: { latencyNs: bigint | undefined; extra: readonly string[] } | undefined;
  readonly type: string;

  /**
   * Either `text` is the line, or the line is `src[srcStart, srcEnd)` (latin1) and is turned into a string
   * only when read. `s1`, `s2`: offsets of the first two spaces within the line.
   */
  constructor(
    text: string | undefined,
    private readonly src: Buffer | undefined,
    private readonly srcStart: number,
    private readonly srcEnd: number,
    private readonly s1: number,
    private readonly s2: number,
  ) {
    this.text = text;
    if (text !== undefined) this.type = text.slice(0, s1);
    else this.type = s1 === 1 ? CHAR[src![srcStart]!]! : src!.toString('latin1', srcStart, srcStart + s1);
  }

  get line(): string {
    this.text ??= this.src!.toString('latin1', this.srcStart, this.srcEnd);
    return this.text;
  }

  /** Byte length of the line (latin1: one byte per char). */
  get lineLength(): number {
    return this.srcEnd - this.srcStart;
  }

  /** Copies the line's bytes into `target` at `offset`; returns the count. */
  copyLine(target: Buffer, offset: number): number {
    if (this.src) return this.src.copy(target, offset, this.srcStart, this.srcEnd);
    return target.write(this.text!, offset, 'latin1');
  }

  get id(): string {
    this.cachedId ??= this.line.slice(this.s1 + 1, this.s2);
    return this.cachedId;
  }

  get timestampNs(): bigint {
    if (this.cachedTs === undefined) this.parseTimestamp();
    return this.cachedTs!;
  }

  get badTimestamp(): true | undefined {
    if (this.cachedTs === undefined) this.parseTimestamp();
    return this.bad ? true : undefined;
  }

  private parseTimestamp(): void {
    const ts = this.timestampText();
    this.bad = !isDecimal(ts);
    this.cachedTs = this.bad ? 0n : BigInt(ts);
  }

  get latencyNs(): bigint | undefined {
    return this.parseTail().latencyNs;
  }

  get extra(): readonly string[] {
    return this.parseTail().extra;
  }

  /** The timestamp as a double (exact to ~256 ns at today's values), NaN when it is not a number. No allocation. */
  sortKey(): number {
    if (this.key === undefined)
      this.key = this.src
        ? keyFromBytes(this.src, this.srcStart + this.s2 + 1, this.srcEnd)
        : this.keyFromText(this.text!);
    return this.key;
  }

  private keyFromText(line: string): number {
    let i = this.s2 + 1;
    const end = line.length;
    const negative = i < end && line.charCodeAt(i) === 45;
    if (negative) i++;
    const first = i;
    let v = 0;
    for (; i < end; i++) {
      const c = line.charCodeAt(i);
      if (c === SPACE) break;
      if (c < 48 || c > 57) return Number.NaN;
      v = v * 10 + (c - 48);
    }
    if (i === first) return Number.NaN;
    return negative ? -v : v;
  }

  private timestampText(): string {
    const s3 = this.line.indexOf(' ', this.s2 + 1);
    return s3 === -1 ? this.line.slice(this.s2 + 1) : this.line.slice(this.s2 + 1, s3);
  }

  private parseTail(): { latencyNs: bigint | undefined; extra: readonly string[] } {
    if (this.tail) return this.tail;
    const line = this.line;
    const s3 = line.indexOf(' ', this.s2 + 1);
    let latencyNs: bigint | undefined;
    let extra = NO_EXTRA;
    if (s3 !== -1) {
      const s4 = line.indexOf(' ', s3 + 1);
      const latency = s4 === -1 ? line.slice(s3 + 1) : line.slice(s3 + 1, s4);
      latencyNs = isDecimal(latency) ? BigInt(latency) : 0n;
      if (s4 !== -1) extra = line.slice(s4 + 1).split(' ');
    }
    this.tail = { latencyNs, extra };
    return this.tail;
  }

  toJSON(): object {
    return metaFields(this);
  }
}

/** A meta's fields as a plain object (what `toJSON` of a meta whose fields are getters returns). */
export function metaFields(meta: Meta): object {
  return {
    type: meta.type,
    id: meta.id,
    timestampNs: meta.timestampNs,
    latencyNs: meta.latencyNs,
    extra: meta.extra,
    line: meta.line,
  };
}

/**
 * A meta's timestamp as a double, for ordering and pacing on the hot path: exact to about 256 ns for current
 * Unix-ns values, NaN when the timestamp is not a number. Exact arithmetic uses `meta.timestampNs`.
 */
export function timestampKey(meta: Meta): number {
  if (meta instanceof LineMeta) return meta.sortKey();
  return meta.badTimestamp ? Number.NaN : Number(meta.timestampNs);
}

/** The timestamp field starting at `src[i]`, up to a space or `end`, as a double; NaN when not a number. */
function keyFromBytes(src: Buffer, i: number, end: number): number {
  const negative = i < end && src[i] === 45;
  if (negative) i++;
  const first = i;
  let v = 0;
  for (; i < end; i++) {
    const c = src[i]!;
    if (c === SPACE) break;
    if (c < 48 || c > 57) return Number.NaN;
    v = v * 10 + (c - 48);
  }
  if (i === first) return Number.NaN;
  return negative ? -v : v;
}

/** Byte length of a meta line as written (latin1). */
export function metaLineLength(meta: Meta): number {
  return meta instanceof LineMeta ? meta.lineLength : meta.line.length;
}

/** Writes a meta line's bytes into `target` at `offset` (from the source bytes when there are any). */
export function copyMetaLine(meta: Meta, target: Buffer, offset: number): number {
  if (meta instanceof LineMeta) return meta.copyLine(target, offset);
  return target.write(meta.line, offset, 'latin1');
}

/** `-?[0-9]+`, the integers BigInt() takes here. */
function isDecimal(text: string): boolean {
  const n = text.length;
  let i = n > 0 && text.charCodeAt(0) === 45 ? 1 : 0;
  if (i >= n) return false;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** A short printable excerpt of a line for error messages. */
export function preview(text: string, max = 60): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(shown);
}
