// The splitter must not care how the stream is cut: every fixture, split at every byte offset, at every byte,
// and at random sets of offsets, reports exactly what feeding it whole reports. Also: every byte of the stream
// is accounted for (in a message, or counted as junk, blank lines, discarded or opaque).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FIXTURES, run } from './test-fixtures.js';

const COLLECT = { collect: true } as const;

describe('splitter results do not depend on chunking', () => {
  for (const fx of FIXTURES) {
    describe(fx.name, () => {
      const whole = run(fx, [], COLLECT);

      it('split once at every offset', () => {
        for (let i = 1; i < fx.stream.length; i++) {
          assert.deepEqual(run(fx, [i], COLLECT), whole, `cut at ${i}`);
        }
      });

      it('one byte at a time', () => {
        const cuts = Array.from({ length: fx.stream.length }, (_, i) => i);
        assert.deepEqual(run(fx, cuts, COLLECT), whole);
      });

      it('random multi-splits', () => {
        fc.assert(
          fc.property(fc.uniqueArray(fc.integer({ min: 1, max: fx.stream.length - 1 }), { maxLength: 12 }), (cuts) => {
            assert.deepEqual(
              run(
                fx,
                cuts.sort((a, b) => a - b),
                COLLECT,
              ),
              whole,
            );
          }),
          { numRuns: 150 },
        );
      });

      it('messages are ordered, disjoint, and their bytes are the stream slices', () => {
        let prevEnd = 0;
        for (const m of whole.raw) {
          assert.ok(m.start >= prevEnd && m.end > m.start && m.end <= fx.stream.length);
          assert.deepEqual(m.bytes, fx.stream.subarray(m.start, m.end));
          prevEnd = m.end;
        }
      });

      it('every byte is accounted for', () => {
        const inMessages = whole.raw.reduce((n, m) => n + (m.end - m.start), 0);
        const s = whole.stats;
        const total = inMessages + s.garbageBytes! + s.blankBytes! + s.discardedBytes! + s.opaqueBytes!;
        assert.equal(total, fx.stream.length);
      });
    });
  }
});
