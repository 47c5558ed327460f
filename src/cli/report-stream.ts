/**
 * `tapline report -` (standard input) and inputs that cannot be read by offset: a FIFO, `/dev/stdin` on a
 * pipe, a process substitution (`<(zcat x.gor.gz)`), a terminal. They are read once, front to back: the kind
 * (gzip, pcap/pcapng, .gor) comes from the first bytes read, which are kept and handed on before the rest.
 *
 *   open (a FIFO waits for its writer) ─▶ first ≥ 4 bytes ─▶ kind ─▶ bytes: head, then the rest as it comes
 *   stop (a signal) ─▶ the source destroyed ─▶ a read waiting on an idle writer ends at once
 *
 * Nothing is held beyond the chunk being read: the consumer pulls (a pipe's writer waits while it works).
 */
import { closeSync, constants, createReadStream, open as openCallback, openSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { isatty, ReadStream as TtyReadStream } from 'node:tty';
import { promisify } from 'node:util';
import { createGunzip, gunzipSync, constants as zlibConstants } from 'node:zlib';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { captureFormatOf } from '../core/file-magic.js';

/** What an input holds: a .gor recording, one gzip-compressed, or a capture (pcap or pcapng). */
export type StreamKind = 'gor' | 'gor.gz' | 'pcap';

/** A stream input, its kind known: iterate `bytes` once; `close()` ends the reading at once. */
export interface StreamInput {
  readonly kind: StreamKind;
  /** Decompressed from a gzip file (a `dump.pcap.gz`: report-input.ts). */
  readonly compressed?: boolean;
  readonly bytes: Readable;
  close(): void;
}

/** `-`: standard input. */
export const STDIN = '-';

/** Is this named input read as a stream (not by offset)? `-`, a FIFO, a socket or a character device. */
export async function isStreamInput(path: string): Promise<boolean> {
  if (path === STDIN) return true;
  try {
    const s = await stat(path);
    return s.isFIFO() || s.isSocket() || s.isCharacterDevice();
  } catch {
    return false; // missing: the file path names it
  }
}

const openFd = promisify(openCallback);

/**
 * The descriptor a name stands for: `/dev/stdin`, `/dev/fd/N`, `/proc/self/fd/N`. Read through it, not opened
 * again: a socket (standard input from a program that spawned tapline) cannot be opened by name (ENXIO).
 */
function descriptorOf(path: string): number | undefined {
  if (path === STDIN || path === '/dev/stdin') return 0;
  const m = /^\/(?:dev|proc\/self)\/fd\/(\d+)$/.exec(path);
  return m ? Number(m[1]) : undefined;
}

/** A pipe or socket through libuv (a read can be dropped at once); anything else as a file stream by fd. */
async function openSource(path: string): Promise<Readable> {
  const own = descriptorOf(path);
  if (own === 0) return process.stdin;
  const fd = own ?? (await openFd(path, 'r')); // a FIFO: waits for its writer
  const s = await stat(path);
  if (s.isFIFO() || s.isSocket()) return new Socket({ fd, readable: true, writable: false, allowHalfOpen: true });
  if (isatty(fd)) return new TtyReadStream(fd); // a terminal: a read that waits for typing can be dropped
  return createReadStream(path, { fd, highWaterMark: 1 << 20 });
}

/**
 * A FIFO's open for reading waits for a writer, in a thread the process waits for at exit. Opening it for
 * writing (without waiting) ends that wait; the reading side is let go of as soon as it opens.
 */
function releaseFifoOpen(path: string): void {
  if (descriptorOf(path) !== undefined) return;
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // no reader waiting any more (ENXIO), or not a FIFO: nothing to release
  }
}

/**
 * What an input's first bytes (up to 4) say: gzip, a capture, else a .gor recording (whose reader judges it
 * record by record). Files (report-input.ts inputKind) and streams are told apart by the same rule.
 */
export function kindOf(head: Buffer): StreamKind {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gor.gz';
  if (captureFormatOf(head.subarray(0, 4)) !== undefined) return 'pcap';
  return 'gor';
}

/** Compressed bytes looked at, at most, to find the first decompressed bytes of a gzip input. */
export const GZIP_PEEK = 64 * 1024;

/**
 * Does gzip data starting with `head` (compressed bytes) hold a capture (`dump.pcap.gz`, as `tcpdump -z gzip` and
 * logrotate leave them)? Its first decompressed bytes tell, as a plain input's first bytes do. undefined: `head`
 * decompresses to fewer than 4 bytes (more of it is needed); false also when it is not gzip data after all.
 */
export function gzipHoldsCapture(head: Buffer): boolean | undefined {
  let data: Buffer;
  try {
    // A sync flush at the end: the beginning of the data, without needing the rest.
    data = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    return false; // not gzip data after all: the .gor.gz reader says why
  }
  if (data.length < 4) return undefined;
  return captureFormatOf(data.subarray(0, 4)) !== undefined;
}

/**
 * Opens `path` (or standard input) and reads until its kind is known. `stop` aborted while waiting (a FIFO with
 * no writer yet, a writer that sends nothing): an empty .gor input, so that the feed stops before it.
 */
export async function openStreamInput(path: string, stop: AbortSignal): Promise<StreamInput> {
  let source: Readable | undefined;
  let closed = false;
  const close = () => {
    closed = true;
    source?.destroy();
  };
  stop.addEventListener('abort', close, { once: true });
  const aborted = new Promise<'aborted'>((resolve) => {
    if (stop.aborted) resolve('aborted');
    else stop.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  const opening = openSource(path);
  let opened: Readable | 'aborted';
  try {
    opened = await Promise.race([opening, aborted]);
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENXIO'
        ? 'a socket cannot be opened by its name; send what it carries on standard input (nc -U … | tapline report -)'
        : (err as Error).message;
    throw new TaplineError(ERROR_CODES.FILE_IO, `cannot read: ${why}`, { where: path, cause: err });
  }
  if (opened === 'aborted') {
    opening.then((s) => s.destroy()).catch(() => {}); // opened later: let go of it
    releaseFifoOpen(path);
    return { kind: 'gor', bytes: Readable.from([]), close };
  }
  source = opened;
  if (closed) source.destroy();
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  let failure: unknown;
  /** Reads one more chunk into `head`; false at the end (or an error, or closed). */
  const readMore = async (): Promise<boolean> => {
    try {
      const next = await chunks.next();
      if (next.done) {
        ended = true;
        return false;
      }
      head.push(next.value);
      headBytes += next.value.length;
      return true;
    } catch (err) {
      if (!closed) failure = err; // read on: the feed reports it where it happened, with what came before
      ended = true;
      return false;
    }
  };
  while (headBytes < 4 && !closed && (await readMore()));
  let kind = kindOf(Buffer.concat(head, headBytes));
  // Gzip data: a compressed capture (`cat dump.pcap.gz | tapline report -`) or a .gor.gz, told by the first
  // decompressed bytes, as for a named file (report-input.ts).
  let capture: boolean | undefined;
  if (kind === 'gor.gz') {
    for (;;) {
      capture = gzipHoldsCapture(Buffer.concat(head, headBytes));
      if (capture !== undefined || closed || ended || headBytes >= GZIP_PEEK || !(await readMore())) break;
    }
  }
  if (capture === true) kind = 'pcap';
  async function* all(): AsyncGenerator<Buffer> {
    yield* head;
    if (failure !== undefined) throw failure;
    if (ended) return;
    // Closing ends the bytes as an end of input would (the read the source's destroy fails is not an error):
    // every consumer, the capture engine's too, then finishes with what it took. (Not a Promise.race with a
    // closing promise: each race would leave a reaction on it holding its chunk, every chunk kept to the end.)
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        if (closed) return;
        throw err;
      }
      if (next.done || closed) return;
      yield next.value;
    }
  }
  const bytes = Readable.from(all(), { objectMode: false });
  if (capture !== true) return { kind, bytes, close };
  // Decompressed as it is read; a read error of the input ends the decompressed stream with it.
  const gunzip = createGunzip();
  bytes.on('error', (err) => gunzip.destroy(err));
  bytes.pipe(gunzip);
  return {
    kind,
    compressed: true,
    bytes: gunzip,
    close: () => {
      close();
      bytes.destroy();
      gunzip.destroy();
    },
  };
}
