/**
 * Snappy blocks built by hand from the format (literals, the three copy kinds, overlapping runs, xerial
 * framing) and corrupt ones. What librdkafka's real compressor writes is read in test/kafka/kcat-cross.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SnappyError, snappyDecompress } from './snappy.js';

const b = (...bytes: (number | string | Buffer)[]) =>
  Buffer.concat(bytes.map((x) => (typeof x === 'number' ? Buffer.from([x]) : Buffer.from(x))));
/** A literal element of a short string (< 61 bytes). */
const lit = (s: string) => b(((s.length - 1) << 2) | 0, s);

test('literals and copies with 1-, 2- and 4-byte offsets', () => {
  // "abcd", copy 4 from 4 back (1-byte offset), copy 2 from 8 back (2-byte), copy 3 from 2 back (4-byte).
  const block = b(13, lit('abcd'), 0b000_000_01, 4, ((2 - 1) << 2) | 2, b(8, 0), ((3 - 1) << 2) | 3, b(2, 0, 0, 0));
  assert.equal(snappyDecompress(block).toString(), 'abcdabcdababa');
});

test('an overlapping copy repeats a run (offset 1, 10 bytes)', () => {
  // 4 + 6 = 10 bytes copied from 1 back: 11 bytes.
  assert.equal(snappyDecompress(b(11, lit('x'), 0b000_110_01, 1)).toString(), 'x'.repeat(11));
});

test('a literal of 60+ bytes carries its length in the next bytes; the length header is a varint', () => {
  const text = 'y'.repeat(300);
  const block = b(0xac, 0x02, (61 << 2) | 0, b(299 & 0xff, 299 >> 8), text);
  assert.equal(snappyDecompress(block).toString(), text);
});

test("xerial framing (the Java client's): header, then length-prefixed raw blocks", () => {
  const header = b(0x82, 'SNAPPY', 0, b(0, 0, 0, 1), b(0, 0, 0, 1));
  const block = (s: string) => {
    const raw = b(s.length, lit(s));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(raw.length);
    return b(len, raw);
  };
  assert.equal(snappyDecompress(b(header, block('hello '), block('world'))).toString(), 'hello world');
});

test('corrupt blocks are errors naming the byte, never reads out of bounds', () => {
  const cases: [Buffer, RegExp][] = [
    [b(5, lit('abc')), /decompressed 3 bytes, the header declared 5/],
    [b(8, lit('ab'), 0b000_000_01, 9), /copy of 4 bytes from 9 back at byte 4 is out of range/],
    [b(8, lit('ab'), 0b000_000_01, 0), /from 0 back/],
    [b(2, lit('abc')), /literal of 3 bytes at byte 1 overruns/],
    [b(9, (10 << 2) | 0, 'ab'), /overruns/],
    [b(0xff, 0xff, 0xff, 0xff, 0x0f, 0), /declared length 4294967295 is impossible/],
    [b(0x80), /bad length header/],
    [b(4, lit('ab'), 0b10), /copy cut short at byte 4/],
    [b(0x82, 'SNAPPY', 0, b(0, 0, 0, 1), b(0, 0, 0, 1), b(0, 0, 0, 9), 1), /claims 9 bytes, 1 left/],
  ];
  for (const [block, message] of cases) {
    assert.throws(
      () => snappyDecompress(block),
      (err: Error) => err instanceof SnappyError && message.test(err.message),
    );
  }
});
