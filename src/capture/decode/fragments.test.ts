import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FragmentLimits, FragmentTable } from './fragments.js';
import type { DropReason } from './reasons.js';

const SECOND = 1_000_000_000n;

function table(limits: Partial<FragmentLimits> = {}) {
  const drops: Partial<Record<DropReason, number>> = {};
  const t = new FragmentTable<string>(
    { maxDatagrams: 16, maxBytes: 1 << 20, timeoutNs: 30n * SECOND, ...limits },
    (reason, n) => {
      drops[reason] = (drops[reason] ?? 0) + n;
    },
  );
  return { t, drops };
}

const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);

describe('fragment table', () => {
  it('reassembles pieces arriving in any order; meta comes from the offset-0 piece', () => {
    const { t, drops } = table();
    assert.equal(t.add('k', 16, bytes(5, 3), false, 1n, 'last'), 'held');
    assert.equal(t.add('k', 8, bytes(8, 2), true, 2n, 'middle'), 'held');
    assert.deepEqual(t.counters, { pending: 2, merged: 0, reassembled: 0 });
    assert.equal(t.add('k', 0, bytes(8, 1), true, 3n, 'first'), 'complete');
    assert.deepEqual(t.payload, Buffer.concat([bytes(8, 1), bytes(8, 2), bytes(5, 3)]));
    assert.equal(t.meta, 'first');
    assert.deepEqual(t.counters, { pending: 0, merged: 2, reassembled: 1 });
    assert.deepEqual(drops, {});
    assert.equal(t.size, 0);
  });

  it('copies held pieces (does not pin or alias the caller’s buffer)', () => {
    const { t } = table();
    const piece = bytes(8, 7);
    t.add('k', 0, piece, true, 1n, '');
    piece.fill(0);
    t.add('k', 8, bytes(1, 9), false, 2n, '');
    assert.deepEqual(t.payload, Buffer.from([7, 7, 7, 7, 7, 7, 7, 7, 9]));
  });

  it('an exact duplicate is dropped alone; an overlap discards the whole datagram', () => {
    const { t, drops } = table();
    t.add('k', 0, bytes(8, 1), true, 1n, '');
    assert.equal(t.add('k', 0, bytes(8, 1), true, 2n, ''), 'fragment-duplicate');
    assert.equal(t.add('k', 8, bytes(8, 1), true, 3n, ''), 'held');
    assert.equal(t.add('k', 4, bytes(8, 1), true, 4n, ''), 'fragment-invalid');
    assert.deepEqual(drops, { 'fragment-duplicate': 1, 'fragment-invalid': 3 });
    assert.equal(t.counters.pending, 0);
  });

  it('inconsistent ends, misaligned middles and oversize datagrams are invalid', () => {
    const { t, drops } = table();
    assert.equal(t.add('a', 0, bytes(7, 1), true, 1n, ''), 'fragment-invalid');
    assert.equal(t.add('b', 65528, bytes(16, 1), false, 1n, ''), 'fragment-invalid');
    t.add('c', 16, bytes(4, 1), false, 1n, '');
    assert.equal(t.add('c', 32, bytes(8, 1), true, 1n, ''), 'fragment-invalid');
    t.add('d', 16, bytes(8, 1), true, 1n, '');
    assert.equal(t.add('d', 0, bytes(8, 1), false, 1n, ''), 'fragment-invalid');
    assert.deepEqual(drops, { 'fragment-invalid': 6 });
  });

  it('expires datagrams by packet time since their first piece', () => {
    const { t, drops } = table({ timeoutNs: 10n * SECOND });
    t.add('old', 0, bytes(8, 1), true, 1n * SECOND, '');
    t.add('old', 8, bytes(8, 1), true, 2n * SECOND, '');
    t.add('new', 0, bytes(8, 1), true, 5n * SECOND, '');
    t.expire(11n * SECOND + 1n);
    assert.deepEqual(drops, { 'fragment-expired': 2 });
    assert.equal(t.size, 1);
    t.clear();
    assert.deepEqual(drops, { 'fragment-expired': 3 });
    assert.equal(t.counters.pending, 0);
  });

  it('evicts the oldest datagrams beyond the count and byte bounds', () => {
    const byCount = table({ maxDatagrams: 2 });
    for (const k of ['a', 'b', 'c']) byCount.t.add(k, 0, bytes(8, 1), true, 1n, '');
    assert.deepEqual(byCount.drops, { 'fragment-evicted': 1 });
    assert.equal(byCount.t.add('a', 8, bytes(1, 1), false, 2n, ''), 'held', 'a was evicted, this starts afresh');

    const byBytes = table({ maxBytes: 20 });
    byBytes.t.add('a', 0, bytes(16, 1), true, 1n, '');
    assert.equal(byBytes.t.add('b', 0, bytes(16, 1), true, 1n, ''), 'held');
    assert.deepEqual(byBytes.drops, { 'fragment-evicted': 1 });
    assert.equal(byBytes.t.add('c', 0, bytes(32, 1), true, 1n, ''), 'fragment-evicted');
  });
});
