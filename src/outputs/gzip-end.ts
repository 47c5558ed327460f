/**
 * Appending to a `.gz` adds a gzip member after what the file holds. When what it holds is cut short (the run
 * that wrote it was killed, SIGKILL or a crash, before it closed the file), gzip readers stop at the cut with an
 * error: `zcat`, `gzip -t` and tapline's own readers never reach the members after it, so every record appended
 * would be written and never readable. Before appending, the file is read through once (streamed, nothing
 * kept) to see that its gzip data ends where it should; that costs a read of the file at each open.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ERROR_CODES, TaplineError } from '../core/errors.js';

/** Resolves when the first `size` bytes of `path` are whole gzip data; throws TaplineError(FILE_IO) otherwise. */
export async function checkGzipEnd(path: string, size: number): Promise<void> {
  notGzip(path, size);
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  try {
    await pipeline(createReadStream(path, { start: 0, end: size - 1 }), gunzip, async (decoded) => {
      for await (const _ of decoded) {
        // only whether it decodes to its end matters
      }
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (!code.startsWith('Z_') && !/unexpected end of file/i.test(String((err as Error).message))) {
      throw new TaplineError(ERROR_CODES.FILE_IO, `cannot read it to check its gzip data: ${String(err)}`, {
        where: path,
        cause: err,
      });
    }
    const truncated = code === 'Z_BUF_ERROR' || code === '';
    const what = truncated
      ? `its gzip data stops short at its end (byte ${size})`
      : `its gzip data is damaged near byte ${gunzip.bytesWritten} of ${size}`;
    throw new TaplineError(
      ERROR_CODES.FILE_IO,
      `cannot append: ${what}: was the run that wrote it killed before it closed it? gzip readers (zcat, ` +
        'tapline) stop there, so records appended after it could never be read. Keep what it ' +
        `holds with 'tapline --input-file "${path}|max" --output-file recovered.gor.gz --output-file-append', then ` +
        'move the file aside, or write to another file',
      { where: path, cause: err },
    );
  }
}

/**
 * A file named .gz that holds no gzip data at all (plain .gor records, or anything else, under a .gz name): it
 * was said as damaged by a killed run, with a recovery command that cannot read it either.
 */
function notGzip(path: string, size: number): void {
  const head = Buffer.alloc(Math.min(size, 64));
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return; // the check that follows reads it and says why it cannot
  }
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return;
  const start = head.subarray(0, n);
  const plainGor = /^[1-9] \S+ \d+/.test(start.toString('latin1'));
  throw new TaplineError(
    ERROR_CODES.FILE_IO,
    `cannot append: it is not gzip data (it starts with ${JSON.stringify(start.subarray(0, 16).toString('latin1'))}, ` +
      'not the gzip bytes 1f 8b), and a name ending in .gz is written compressed: a reader would stop at its first ' +
      `byte. ${plainGor ? 'It holds uncompressed .gor records: rename it to a .gor name, or write' : 'Write'} to another file`,
    { where: path },
  );
}
