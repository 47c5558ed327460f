/**
 * Snappy decompression for Kafka record batches: gor's producer (sarama) compresses with snappy, and kafkajs,
 * tapline's reader, ships no snappy codec (it failed every fetch of such a topic: 'Snappy compression not
 * implemented'). Two framings occur in Kafka:
 *   raw snappy (sarama, librdkafka):    <varint uncompressed length> <elements...>
 *   xerial (the Java client):           0x82 "SNAPPY" 0x00, version (4 bytes), compatible version (4 bytes),
 *                                       then blocks of <int32 BE length> <raw snappy>
 * An element is a literal (tag low bits 00) or a back-reference copy (01: 1-byte offset, 10: 2 bytes,
 * 11: 4 bytes) into what was already written; a copy may overlap its own output (a run).
 * Every length and offset is checked: a corrupt value is an error naming the byte, never a read out of bounds.
 */

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = 16;
/** The most one input byte can expand to (a 3-byte copy of 64 bytes is ~21×): bounds the declared length. */
const MAX_RATIO = 32;

export class SnappyError extends Error {}

export function snappyDecompress(src: Buffer): Buffer {
  if (src.length >= XERIAL_HEADER && src.subarray(0, 8).equals(XERIAL_MAGIC)) return xerial(src);
  return rawBlock(src, 0, src.length);
}

function xerial(src: Buffer): Buffer {
  const blocks: Buffer[] = [];
  let at = XERIAL_HEADER;
  while (at < src.length) {
    if (at + 4 > src.length) throw new SnappyError(`xerial block length cut short at byte ${at}`);
    const length = src.readUInt32BE(at);
    at += 4;
    if (at + length > src.length) {
      throw new SnappyError(`xerial block at byte ${at - 4} claims ${length} bytes, ${src.length - at} left`);
    }
    blocks.push(rawBlock(src, at, at + length));
    at += length;
  }
  return Buffer.concat(blocks);
}

/** Decompresses the raw snappy block src[start, end). */
function rawBlock(src: Buffer, start: number, end: number): Buffer {
  let at = start;
  // Uncompressed length: little-endian base-128 varint, at most 32 bits.
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (at >= end || shift > 28) throw new SnappyError(`bad length header at byte ${at}`);
    const b = src[at++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length > (end - at) * MAX_RATIO + 64) {
    throw new SnappyError(`declared length ${length} is impossible for ${end - start} compressed bytes`);
  }
  const out = Buffer.allocUnsafe(length);
  let pos = 0;
  while (at < end) {
    const tagAt = at;
    const tag = src[at++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >> 2;
      if (n >= 60) {
        const bytes = n - 59;
        if (at + bytes > end) throw new SnappyError(`literal length cut short at byte ${tagAt}`);
        n = src.readUIntLE(at, bytes);
        at += bytes;
      }
      n += 1;
      if (at + n > end || pos + n > length) throw new SnappyError(`literal of ${n} bytes at byte ${tagAt} overruns`);
      src.copy(out, pos, at, at + n);
      at += n;
      pos += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      if (at + 1 > end) throw new SnappyError(`copy cut short at byte ${tagAt}`);
      n = 4 + ((tag >> 2) & 7);
      offset = ((tag >> 5) << 8) | src[at++]!;
    } else {
      const bytes = kind === 2 ? 2 : 4;
      if (at + bytes > end) throw new SnappyError(`copy cut short at byte ${tagAt}`);
      n = 1 + (tag >> 2);
      offset = src.readUIntLE(at, bytes);
      at += bytes;
    }
    if (offset === 0 || offset > pos || pos + n > length) {
      throw new SnappyError(`copy of ${n} bytes from ${offset} back at byte ${tagAt} is out of range`);
    }
    if (offset >= n) out.copy(out, pos, pos - offset, pos - offset + n);
    else for (let i = 0; i < n; i++) out[pos + i] = out[pos - offset + i]!; // overlapping: a run
    pos += n;
  }
  if (pos !== length) throw new SnappyError(`decompressed ${pos} bytes, the header declared ${length}`);
  return out;
}
