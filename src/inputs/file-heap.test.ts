import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MinHeap } from './file-heap.js';
import { SortedWindow } from './file-source.js';

describe('MinHeap', () => {
  it('pops in order, whatever the pushes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 })), (values) => {
        const heap = new MinHeap<number>((a, b) => a < b);
        for (const v of values) heap.push(v);
        const out: number[] = [];
        while (heap.size > 0) out.push(heap.pop()!);
        assert.deepEqual(
          out,
          [...values].sort((a, b) => a - b),
        );
      }),
    );
  });

  it('updateTop() re-sorts after the top item grew', () => {
    const items = [{ k: 1 }, { k: 2 }, { k: 3 }];
    const heap = new MinHeap<{ k: number }>((a, b) => a.k < b.k);
    for (const i of items) heap.push(i);
    heap.peek()!.k = 10;
    heap.updateTop();
    assert.deepEqual([heap.pop()!.k, heap.pop()!.k, heap.pop()!.k], [2, 3, 10]);
  });
});

describe('SortedWindow (the read-ahead window)', () => {
  it('behaves like a stable priority queue of bounded size, as gor’s heap with ties in file order', () => {
    // Small windows, and windows past the ring's first size (128) that wrap around and grow.
    const sizes = fc.oneof(
      fc.tuple(fc.array(fc.integer({ min: 0, max: 20 })), fc.integer({ min: 1, max: 8 })),
      fc.tuple(
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 100, maxLength: 700 }),
        fc.integer({ min: 100, max: 300 }),
      ),
    );
    fc.assert(
      fc.property(sizes, ([keys, depth]) => {
        const window = new SortedWindow<number>();
        const out: number[] = [];
        keys.forEach((k, i) => {
          window.push(i, k);
          if (window.size >= depth) out.push(window.shift()!);
        });
        while (window.size > 0) out.push(window.shift()!);
        // Reference: a naive window of the same depth, min by (key, arrival).
        const ref: number[] = [];
        const pending: number[] = [];
        keys.forEach((_, i) => {
          pending.push(i);
          if (pending.length >= depth) {
            pending.sort((a, b) => keys[a]! - keys[b]! || a - b);
            ref.push(pending.shift()!);
          }
        });
        pending.sort((a, b) => keys[a]! - keys[b]! || a - b);
        ref.push(...pending);
        assert.deepEqual(out, ref);
      }),
    );
  });

  it('grows when full with its head anywhere in the ring, keeping the order', () => {
    const window = new SortedWindow<number>();
    for (let i = 0; i < 100; i++) window.push(i, i);
    for (let i = 0; i < 90; i++) assert.equal(window.shift(), i);
    // 10 left, at the end of the ring; 300 more wrap around it and make it grow twice (one out of order).
    for (let i = 100; i < 400; i++) window.push(i, i === 250 ? 95 : i);
    const out: number[] = [];
    while (window.size > 0) out.push(window.shift()!);
    const rest = Array.from({ length: 300 }, (_, k) => k + 100).filter((v) => v !== 250);
    assert.deepEqual(out, [90, 91, 92, 93, 94, 95, 250, 96, 97, 98, 99, ...rest]);
  });

  it('stays compact over a long run', () => {
    const window = new SortedWindow<number>();
    for (let i = 0; i < 100_000; i++) {
      window.push(i, i);
      if (window.size > 100) assert.equal(window.shift(), i - 100);
    }
    assert.equal(window.size, 100);
  });
});
