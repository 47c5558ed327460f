/**
 * gor's middleware wire format (spec §4.2), both directions: one message per line, `hex(meta LF payload) LF`.
 *
 *   encodeHexLines(batch)      messages ──▶ a few large Buffers of lowercase hex lines (one write each)
 *   HexLineDecoder.push(chunk) stdout chunks ──▶ messages + problems (sans-IO: any chunking gives the same result)
 *
 * Speed matters (tens of thousands of lines a second go through a pipe both ways): payloads are encoded and
 * decoded by Buffer's native hex codec, whole lines found with native indexOf, and decoded messages are views
 * into one slab per chunk. Lines are unbounded except by `maxMessageBytes`; a line that spans chunks is
 * decoded as it arrives, so a 100 MB message costs its decoded pieces and then, while they are joined, the
 * whole once more (about 2x its decoded size at the peak), never its hex text.
 */
import type { Message } from '../core/message.js';
import { copyMetaLine, metaLineLength, parseMetaBytes, preview, timestampKey } from '../core/meta.js';

const LF = 0x0a;
const CR = 0x0d;
/** Hex text for one byte value, as two char codes packed in a number: no allocation per byte. */
const HEX_PAIR = (() => {
  const digits = '0123456789abcdef';
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) t[i] = (digits.charCodeAt(i >> 4) << 8) | digits.charCodeAt(i & 15);
  return t;
})();

/** Hex lines are flushed to the pipe in writes of about this size (fewer syscalls and wake-ups). */
export const WRITE_CHUNK_BYTES = 1 << 20;

/** Length of a message's hex line, LF included. */
export function hexLineLength(msg: Message): number {
  return 2 * (metaLineLength(msg.meta) + 1 + msg.data.length) + 1;
}

const scratch = { buf: Buffer.allocUnsafe(1024) };

/** Writes `msg` as a hex line into `out` at `offset`; returns the new offset. `out` must have room. */
export function writeHexLine(msg: Message, out: Buffer, offset: number): number {
  // The meta line is short: a table loop beats making a hex string for it.
  const metaLen = metaLineLength(msg.meta);
  if (scratch.buf.length < metaLen + 1) scratch.buf = Buffer.allocUnsafe(metaLen * 2 + 1);
  const meta = scratch.buf;
  copyMetaLine(msg.meta, meta, 0);
  meta[metaLen] = LF;
  let o = offset;
  for (let i = 0; i <= metaLen; i++) {
    const pair = HEX_PAIR[meta[i]!]!;
    out[o++] = pair >> 8;
    out[o++] = pair & 0xff;
  }
  if (msg.data.length > 0) o += out.write(msg.data.toString('hex'), o, 'latin1');
  out[o++] = LF;
  return o;
}

/**
 * Encodes a batch as hex lines, grouped into Buffers of about WRITE_CHUNK_BYTES (a larger message gets a
 * Buffer of its own). Each returned Buffer is meant for one write(). `counts`, when given, receives the number
 * of messages in each Buffer (to count what was written when the writes stop part-way).
 */
export function encodeHexLines(batch: readonly Message[], counts?: number[]): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < batch.length) {
    let size = 0;
    let j = i;
    while (j < batch.length && (j === i || size + hexLineLength(batch[j]!) <= WRITE_CHUNK_BYTES)) {
      size += hexLineLength(batch[j]!);
      j++;
    }
    const buf = Buffer.allocUnsafe(size);
    let o = 0;
    counts?.push(j - i);
    for (; i < j; i++) o = writeHexLine(batch[i]!, buf, o);
    out.push(o === size ? buf : buf.subarray(0, o));
  }
  return out;
}

/** One hex line as a string, LF included (helpers and tests). */
export function formatHexLine(msg: Message): string {
  const buf = Buffer.allocUnsafe(hexLineLength(msg));
  return buf.toString('latin1', 0, writeHexLine(msg, buf, 0));
}

export type LineProblemKind = 'not-hex' | 'odd-length' | 'crlf' | 'no-meta' | 'no-payload' | 'bad-meta' | 'too-large';

/** A line the decoder could not turn into a message. The message says what and where; the line is dropped. */
export interface LineProblem {
  readonly kind: LineProblemKind;
  /** 1-based line number in the middleware's stdout. */
  readonly line: number;
  readonly message: string;
}

export interface DecodeResult {
  messages: Message[];
  problems: LineProblem[];
  /** Empty lines (skipped, as gor does). */
  empty: number;
  /**
   * Messages (line number, meta line) whose meta line's timestamp is not a number. They are passed on, as gor does (it reads
   * such a timestamp as 0), but the middleware is most likely writing its meta lines wrong: said and counted.
   */
  badTimestamps: { line: number; meta: string }[];
}

/** A line that spans chunks: its hex is decoded piece by piece as it arrives. */
interface LongLine {
  decoded: Buffer[];
  decodedBytes: number;
  /** A hex digit left over from the previous piece (pieces can split a byte's two digits). */
  carry: string;
  /** Hex chars consumed so far (for error columns). */
  column: number;
  /** Set when the line is already known to be bad: its remaining bytes are skipped up to the LF. */
  problem?: LineProblem;
  /** Last byte seen (to spot CR LF). */
  lastByte: number;
}

export class HexLineDecoder {
  private lineNo = 0;
  private long: LongLine | undefined;
  private slab = Buffer.allocUnsafe(0);
  private slabUsed = 0;

  constructor(private readonly maxMessageBytes: number = 0) {}

  /** Lines completed so far. */
  get lines(): number {
    return this.lineNo;
  }

  /** True while a line has started but not ended. */
  get inLine(): boolean {
    return this.long !== undefined;
  }

  push(chunk: Buffer): DecodeResult {
    const result: DecodeResult = { messages: [], problems: [], empty: 0, badTimestamps: [] };
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) {
        this.appendLong(chunk, pos, chunk.length);
        break;
      }
      if (this.long) {
        this.appendLong(chunk, pos, nl);
        this.finishLong(result);
      } else {
        this.decodeLine(chunk, pos, nl, result);
      }
      pos = nl + 1;
    }
    return result;
  }

  /** The stream ended: a started line without its LF is a truncated line. */
  end(): DecodeResult {
    const result: DecodeResult = { messages: [], problems: [], empty: 0, badTimestamps: [] };
    if (this.long) {
      const line = ++this.lineNo;
      const bytes = this.long.column + this.long.carry.length;
      this.long = undefined;
      result.problems.push({
        kind: 'odd-length',
        line,
        message: `line ${line} is truncated: the output ended after ${bytes} hex digits without a final LF`,
      });
    }
    return result;
  }

  /** A line wholly inside one chunk: the common, fast case. */
  private decodeLine(chunk: Buffer, start: number, end: number, result: DecodeResult): void {
    const line = ++this.lineNo;
    if (end === start) {
      result.empty++;
      return;
    }
    if (chunk[end - 1] === CR) {
      result.problems.push(crlfProblem(line));
      return;
    }
    const digits = end - start;
    if (digits % 2 !== 0) {
      // An odd count is most often a stray character (a space around the line), not a cut: name it if so.
      const text = chunk.toString('latin1', start, end);
      const bad = text.search(NON_HEX);
      if (bad !== -1) {
        result.problems.push(notHex(line, bad, text.slice(bad, bad + 40)));
        return;
      }
      result.problems.push({
        kind: 'odd-length',
        line,
        message: `line ${line} has an odd number of hex digits (${digits}): truncated or not hex`,
      });
      return;
    }
    const size = digits / 2;
    if (this.maxMessageBytes > 0 && size > this.maxMessageBytes) {
      result.problems.push(tooLarge(line, size, this.maxMessageBytes));
      return;
    }
    if (this.slab.length - this.slabUsed < size) {
      this.slab = Buffer.allocUnsafe(Math.max(size, 64 * 1024));
      this.slabUsed = 0;
    }
    const at = this.slabUsed;
    const text = chunk.toString('latin1', start, end);
    const written = this.slab.write(text, at, size, 'hex');
    if (written !== size) {
      result.problems.push(notHex(line, written * 2, text.slice(written * 2, written * 2 + 40)));
      return;
    }
    this.slabUsed += size;
    this.toMessage(this.slab, at, at + size, line, result);
  }

  private appendLong(chunk: Buffer, start: number, end: number): void {
    this.long ??= { decoded: [], decodedBytes: 0, carry: '', column: 0, lastByte: -1 };
    const long = this.long;
    if (end === start) return;
    long.lastByte = chunk[end - 1]!;
    if (long.problem) return;
    let text = long.carry + chunk.toString('latin1', start, end);
    // Keep a trailing CR undecoded: it is either the CR of a CR LF (reported at the LF) or a hex error later.
    let keep = text.length % 2;
    if (keep === 0 && text.charCodeAt(text.length - 1) === CR) keep = 2;
    long.carry = keep > 0 ? text.slice(text.length - keep) : '';
    text = keep > 0 ? text.slice(0, text.length - keep) : text;
    if (text.length === 0) return;
    const size = text.length / 2;
    const line = this.lineNo + 1;
    if (this.maxMessageBytes > 0 && long.decodedBytes + size > this.maxMessageBytes) {
      long.problem = tooLarge(line, long.decodedBytes + size, this.maxMessageBytes, true);
      long.decoded = [];
      return;
    }
    const buf = Buffer.allocUnsafe(size);
    const written = buf.write(text, 0, size, 'hex');
    if (written !== size) {
      long.problem = notHex(line, long.column + written * 2, text.slice(written * 2, written * 2 + 40));
      long.decoded = [];
      return;
    }
    long.decoded.push(buf);
    long.decodedBytes += size;
    long.column += text.length;
  }

  private finishLong(result: DecodeResult): void {
    const long = this.long!;
    this.long = undefined;
    const line = ++this.lineNo;
    if (long.problem) {
      result.problems.push(long.problem);
      return;
    }
    if (long.lastByte === CR) {
      result.problems.push(crlfProblem(line));
      return;
    }
    if (long.carry.length > 0) {
      if (NON_HEX.test(long.carry)) {
        result.problems.push(notHex(line, long.column, long.carry));
        return;
      }
      result.problems.push({
        kind: 'odd-length',
        line,
        message: `line ${line} has an odd number of hex digits (${long.column + long.carry.length}): truncated or not hex`,
      });
      return;
    }
    if (long.decodedBytes === 0) {
      result.empty++;
      return;
    }
    const all = long.decoded.length === 1 ? long.decoded[0]! : Buffer.concat(long.decoded, long.decodedBytes);
    this.toMessage(all, 0, all.length, line, result);
  }

  /** Splits decoded bytes at the first LF into meta and payload, as gor does. */
  private toMessage(buf: Buffer, start: number, end: number, line: number, result: DecodeResult): void {
    const lf = buf.indexOf(LF, start);
    if (lf === -1 || lf >= end) {
      const text = buf.toString('latin1', start, Math.min(end, start + 60));
      result.problems.push({
        kind: 'no-meta',
        line,
        message: `line ${line} decodes to ${end - start} bytes without a meta line (no LF; expected "<type> <id> <timestamp> ...\\n" first): ${preview(text)}`,
      });
      return;
    }
    if (lf === end - 1) {
      result.problems.push({
        kind: 'no-payload',
        line,
        message: `line ${line} has a meta line but no payload after it: ${preview(buf.toString('latin1', start, lf))}`,
      });
      return;
    }
    try {
      const meta = parseMetaBytes(buf, start, lf);
      result.messages.push({ meta, data: buf.subarray(lf + 1, end) });
      if (Number.isNaN(timestampKey(meta))) result.badTimestamps.push({ line, meta: meta.line });
    } catch (err) {
      result.problems.push({ kind: 'bad-meta', line, message: `line ${line}: ${(err as Error).message}` });
    }
  }
}

function crlfProblem(line: number): LineProblem {
  return {
    kind: 'crlf',
    line,
    message: `line ${line} ends with CR LF; lines must end with LF only (on Windows or in Python, write "\\n" in binary mode)`,
  };
}

const NON_HEX = /[^0-9a-fA-F]/;

/**
 * `column`: 0-based offset of the first bad pair of digits (or the bad character); `excerpt`: the line from
 * there. The column is made exact (the second digit of a pair may be the bad one), and whitespace is named:
 * a space before or after the hex (a print with a separator, an editor) is the usual cause.
 */
function notHex(line: number, column: number, excerpt: string): LineProblem {
  const at = Math.max(0, excerpt.search(NON_HEX));
  const what = /\s/.test(excerpt.charAt(at))
    ? 'whitespace is not allowed anywhere in a line, as in gor: write the hex digits, then LF'
    : 'each message must be written as hex digits, then LF';
  return {
    kind: 'not-hex',
    line,
    message: `line ${line} is not hex at column ${column + at + 1}: ${preview(excerpt.slice(at))} (${what})`,
  };
}

function tooLarge(line: number, size: number, max: number, partial = false): LineProblem {
  return {
    kind: 'too-large',
    line,
    message: `line ${line} decodes to ${partial ? 'more than ' : ''}${size} bytes, over --middleware-max-size (${max})`,
  };
}
