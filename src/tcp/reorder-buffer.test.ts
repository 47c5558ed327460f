/** The out-of-order buffer: sorted, non-overlapping, first-seen bytes kept, conflicts reported. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ReorderBuffer } from './reorder-buffer.js';

function put(buf: ReorderBuffer, offset: number, text: string, ts = 0n): number {
  return buf.insert(offset, 1000 + offset, 7, true, ts, Buffer.from(text, 'latin1'), false);
}

function dump(buf: ReorderBuffer): string[] {
  const out: string[] = [];
  while (buf.count > 0) {
    const p = buf.shift();
    out.push(`${p.offset}:${p.data.toString('latin1')}`);
  }
  return out;
}

describe('ReorderBuffer', () => {
  it('keeps pieces sorted and fills only the space between existing ones', () => {
    const buf = new ReorderBuffer();
    assert.equal(put(buf, 20, 'klm'), 3);
    assert.equal(put(buf, 10, 'abc'), 3);
    assert.equal(put(buf, 9, 'XabcdefghijklmnY'), 10); // 9, 13..19, 23, 24 are new
    assert.equal(buf.lastConflict, false);
    assert.equal(buf.bytes, 16);
    assert.deepEqual(dump(buf), ['9:X', '10:abc', '13:defghij', '20:klm', '23:nY']);
    assert.equal(buf.bytes, 0);
  });

  it('keeps the first-seen bytes and reports a conflicting overlap', () => {
    const buf = new ReorderBuffer();
    put(buf, 5, 'hello');
    assert.equal(put(buf, 5, 'HELLO!'), 1);
    assert.equal(buf.lastConflict, true);
    assert.deepEqual(dump(buf), ['5:hello', '10:!']);
  });

  it('derives each piece’s seq from its offset, wrapping at 2^32', () => {
    const buf = new ReorderBuffer();
    buf.insert(0, 0xfffffffe, 1, true, 0n, Buffer.from('abcd'), false);
    buf.insert(10, 0xfffffffe + 10, 1, true, 0n, Buffer.from('z'), false);
    buf.insert(2, 0, 1, true, 0n, Buffer.from('cdefgh'), false);
    assert.deepEqual(
      [buf.shift(), buf.shift(), buf.shift()].map((p) => [p.offset, p.seq]),
      [
        [0, 0xfffffffe],
        [4, 2],
        [10, 8],
      ],
    );
  });

  it('cuts everything at or beyond a FIN', () => {
    const buf = new ReorderBuffer();
    put(buf, 0, 'abc');
    put(buf, 5, 'defgh');
    put(buf, 12, 'xyz');
    assert.equal(buf.truncateAt(7), 3 + 3);
    assert.deepEqual(dump(buf), ['0:abc', '5:de']);
  });

  it('holds every byte exactly once, first writer wins (any inserts)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ offset: fc.nat(200), len: fc.integer({ min: 1, max: 40 }), fill: fc.nat(25) }), {
          maxLength: 40,
        }),
        (inserts) => {
          const buf = new ReorderBuffer();
          const model = new Map<number, string>();
          for (const { offset, len, fill } of inserts) {
            const ch = String.fromCharCode(97 + fill);
            put(buf, offset, ch.repeat(len));
            for (let i = offset; i < offset + len; i++) if (!model.has(i)) model.set(i, ch);
          }
          assert.equal(buf.bytes, model.size);
          const seen = new Map<number, string>();
          let last = -1;
          while (buf.count > 0) {
            const p = buf.shift();
            assert.ok(p.offset >= last, 'sorted, no overlap');
            for (let i = 0; i < p.data.length; i++) seen.set(p.offset + i, String.fromCharCode(p.data[i]!));
            last = p.end;
          }
          assert.deepEqual(
            new Map([...seen].sort((a, b) => a[0] - b[0])),
            new Map([...model].sort((a, b) => a[0] - b[0])),
          );
        },
      ),
    );
  });
});
