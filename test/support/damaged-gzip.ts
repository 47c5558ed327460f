/**
 * A `.gor.gz` damaged past its middle, as a disk or a copy damages one, and what `zcat` gets out of it before the
 * damage: the test input of gzip-recover.ts (zlib drops what its failing call had decoded, up to 64 KiB).
 */
import { createGzip, gunzipSync, constants as zlibConstants } from 'node:zlib';
import { SEPARATOR } from '../../src/core/gor-format.js';

export interface DamagedGzip {
  /** The damaged file's bytes. */
  readonly bytes: Buffer;
  /** Offset of the damaged byte. */
  readonly damage: number;
  /** Bytes the data before the damaged byte decodes to. */
  readonly decodedBefore: number;
  /** Records whole in those bytes: the first `wholeRecords` of `records`. */
  readonly wholeRecords: number;
}

/**
 * `records` (encoded `.gor` records) gzipped as --output-file writes a `.gz` (a sync flush every `flushEvery`, so a
 * deflate block starts on a byte), then the first block after a flush past the middle given block type 3, which
 * does not exist.
 */
export async function damagedGzip(records: readonly Buffer[], flushEvery = 400): Promise<DamagedGzip> {
  const gz = createGzip();
  const parts: Buffer[] = [];
  gz.on('data', (c: Buffer) => parts.push(c));
  for (const [i, record] of records.entries()) {
    gz.write(record);
    if (i % flushEvery === flushEvery - 1)
      await new Promise<void>((resolve) => gz.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
  }
  await new Promise<void>((resolve) => gz.end(resolve));
  const whole = Buffer.concat(parts);
  const damage = whole.indexOf(Buffer.from([0, 0, 0xff, 0xff]), whole.length / 2) + 4;
  const bytes = Buffer.from(whole);
  bytes[damage] = (bytes[damage]! & ~0x07) | 0x06;
  const before = gunzipSync(bytes.subarray(0, damage), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  let wholeRecords = 0;
  for (let at = before.indexOf(SEPARATOR); at !== -1; at = before.indexOf(SEPARATOR, at + 1)) wholeRecords++;
  return { bytes, damage, decodedBefore: before.length, wholeRecords };
}
