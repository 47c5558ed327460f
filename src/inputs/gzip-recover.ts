/**
 * What a damaged `.gz` decodes to before its damage. zlib decodes a write in calls of up to 64 KiB of output;
 * the call that meets damaged data fails, and Node drops what that call had decoded. So the records just before
 * the damage, whole and readable (zcat prints them), were lost with it: up to 64 KiB of them.
 *
 *   first pass (file-source.ts) ── Z_DATA_ERROR after `consumed` compressed bytes, `yielded` decoded ──▶
 *   decode [0, consumed) again ──▶ then a byte a write up to the end of the failing write ──▶ bytes past `yielded`
 *
 * One byte a write, no call decodes more than that byte holds, so nothing before the damaged byte is dropped.
 * Cost, on a damaged file only: the file decoded a second time up to the damage, and up to GZIP_REGION
 * one-byte writes (~70 µs each here).
 */
import { createGunzip } from 'node:zlib';

/** Longest write of the first pass (file-source.ts GZIP_READ): the damage is within this of `consumed`. */
export const GZIP_REGION = 64 * 1024;
/** Bytes kept past `yielded`: the first pass lost at most one call's output (and chunks it had buffered). */
const KEEP_LIMIT = 16 * 1024 * 1024;
const PREFIX_READ = 1024 * 1024;

export interface Recovered {
  /** Decoded bytes the first pass did not hand on. */
  bytes: Buffer;
  /** Compressed bytes taken before the damage: the damaged byte's offset in the file. */
  damageAt: number;
}

/**
 * Decodes the gzip data `read(position, size)` gives again and returns what it decodes past the first `yielded`
 * bytes before the error, or undefined when the second pass does not meet the first one's (the file changed).
 */
export async function recoverBeforeDamage(
  read: (position: number, size: number) => Promise<Buffer>,
  consumed: number,
  yielded: number,
): Promise<Recovered | undefined> {
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  const kept: Buffer[] = [];
  let total = 0;
  let keptBytes = 0;
  gunzip.on('data', (chunk: Buffer) => {
    if (total + chunk.length > yielded && keptBytes < KEEP_LIMIT) {
      const from = Math.max(0, yielded - total);
      const part = chunk.subarray(from, from + KEEP_LIMIT - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    total += chunk.length;
  });
  let failed = false;
  const finished = new Promise<void>((resolve) => {
    gunzip.on('error', () => {
      failed = true;
      resolve();
    });
    gunzip.on('end', resolve);
  });
  // Waits for the write to be decoded (or the stream to fail).
  const write = (buf: Buffer) =>
    Promise.race([new Promise<void>((resolve) => gunzip.write(buf, () => resolve())), finished]);

  for (let at = 0; at < consumed && !failed; ) {
    const buf = await read(at, Math.min(PREFIX_READ, consumed - at));
    if (buf.length === 0) break;
    await write(buf);
    at += buf.length;
  }
  if (failed || total < yielded) {
    gunzip.destroy();
    return undefined;
  }
  // Queued at once: each is still its own call to zlib; what follows the failing one is dropped with the stream.
  const region = await read(consumed, GZIP_REGION);
  for (let i = 0; i < region.length; i++) gunzip.write(region.subarray(i, i + 1));
  gunzip.end();
  await finished;
  if (!failed) return undefined; // no damage met this time: the file is not what the first pass read
  return { bytes: Buffer.concat(kept), damageAt: gunzip.bytesWritten };
}
