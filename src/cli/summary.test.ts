import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { groupDigits } from './summary.js';

it('groups digits exactly as toLocaleString("en-US") does, for whole numbers of any size and sign', () => {
  for (const n of [0, 7, 999, 1000, 12_345, 999_999, 1_000_000, 1_234_567_890, -1000, Number.MAX_SAFE_INTEGER]) {
    assert.equal(groupDigits(n), n.toLocaleString('en-US'), String(n));
  }
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), (n) => {
      assert.equal(groupDigits(n), n.toLocaleString('en-US'));
    }),
    { numRuns: 500 },
  );
});

it('falls back to toLocaleString for what is not a plain whole number', () => {
  for (const n of [1.5, 1e21, Number.NaN, Number.POSITIVE_INFINITY])
    assert.equal(groupDigits(n), n.toLocaleString('en-US'));
});
