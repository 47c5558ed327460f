/**
 * `--input-file` on what is not a regular file: a pipe (`zcat x.gor.gz | tapline --input-file /dev/stdin`), a
 * process substitution (`<(zcat x.gor.gz)`), a FIFO, a socket (ssh hands a remote command's stdin over as one)
 * or a character device. Such a file cannot be read at a position, mapped, or closed and opened again where it
 * left off (file-source.ts does all three with regular files): it is opened once and read in order to its end.
 *
 *   /dev/stdin, /dev/fd/N ──the descriptor itself (opening it again fails for a socket, and a pipe reopened
 *   after its writer left never ends)──┐
 *   FIFO path ──open O_NONBLOCK (waits for a writer without holding a thread-pool thread, as gor's open waits)──┤
 *                                                                                                              ▼
 *   pipes, FIFOs, sockets: net.Socket over the descriptor (epoll; a slow writer holds no thread)  ──▶ chunks
 *   character devices: tty.ReadStream for a terminal, else a sequential fs read stream           ──▶ chunks
 */
import type { BigIntStats, Stats } from 'node:fs';
import { closeSync, constants, createReadStream, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { isatty, ReadStream } from 'node:tty';

/** What kind of file that must be read in order this is; undefined for one read at positions. */
export type StreamKind = 'pipe' | 'socket' | 'device';

/** Regular files, directories and block devices are read at positions; the rest in order. */
export function streamKindOf(info: Stats | BigIntStats): StreamKind | undefined {
  if (info.isFIFO()) return 'pipe';
  if (info.isSocket()) return 'socket';
  if (info.isCharacterDevice()) return 'device';
  return undefined;
}

/** In words, for messages: `/dev/stdin is a pipe`. */
export function describeStreamKind(kind: StreamKind): string {
  return kind === 'pipe' ? 'a pipe' : kind === 'socket' ? 'a socket' : 'a character device';
}

/** The descriptor a path names (`/dev/stdin` 0, `/dev/fd/63` 63, `/proc/self/fd/N`), when it names one. */
export function descriptorNamed(path: string): number | undefined {
  if (path === '/dev/stdin') return 0;
  const m = /^\/(?:dev|proc\/self)\/fd\/(\d+)$/.exec(path);
  return m ? Number(m[1]) : undefined;
}

/** One non-regular file, opened at the first read and read in order; close() ends it at any time. */
export class SequentialFile {
  private stream: Readable | undefined;
  private closed = false;

  constructor(
    readonly path: string,
    readonly kind: StreamKind,
  ) {}

  async *chunks(): AsyncGenerator<Buffer> {
    if (this.closed) return;
    const stream = this.open();
    this.stream = stream;
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } finally {
      stream.destroy();
    }
  }

  close(): void {
    this.closed = true;
    this.stream?.destroy();
  }

  private open(): Readable {
    const named = descriptorNamed(this.path);
    if (this.kind === 'device') {
      const fd = named ?? openSync(this.path, 'r');
      return isatty(fd) ? new ReadStream(fd) : createReadStream('', { fd, autoClose: true });
    }
    // O_NONBLOCK: the open returns at once; a FIFO without a writer yet reads nothing (no end) until one comes.
    let fd: number;
    try {
      fd = named ?? openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      // A Unix socket file (a server's listening socket) cannot be opened, only connected to: open(2) says ENXIO,
      // 'no such device or address', which named nothing the user could see.
      if ((err as NodeJS.ErrnoException).code === 'ENXIO' && this.kind === 'socket') throw socketFileError(this.path);
      throw err;
    }
    try {
      return new Socket({ fd, readable: true, writable: false });
    } catch (err) {
      if (named === undefined) closeSync(fd);
      throw err;
    }
  }
}

function socketFileError(path: string): Error {
  const err: NodeJS.ErrnoException = new Error(
    'it is a Unix socket file, not a file, pipe or device (what tapline reads): a socket is connected to, not ' +
      `opened; to read what the program listening on it sends, use e.g. socat: socat -u UNIX-CONNECT:${path} - ` +
      '| tapline --input-file /dev/stdin',
  );
  err.code = 'ENXIO';
  return err;
}
