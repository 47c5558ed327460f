import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeStreams } from './async.js';
import type { Batch } from './plugin.js';

/** A source whose every read resolves at once (a mapped file at |max, a channel with items waiting). */
async function* alwaysReady(tag: string, batches: number): AsyncGenerator<Batch> {
  for (let i = 0; i < batches; i++) yield [{ meta: { tag, i } }] as unknown as Batch;
}

test('mergeStreams serves sources that are ready at the same time in turn', async () => {
  const order: string[] = [];
  for await (const batch of mergeStreams([alwaysReady('a', 4), alwaysReady('b', 4), alwaysReady('c', 2)])) {
    order.push((batch[0]!.meta as unknown as { tag: string }).tag);
  }
  assert.deepEqual(order.join(''), 'abcabcabab');
});

test('mergeStreams: a source that ends early lets the others go on, and each end is reported once', async () => {
  const ended: number[] = [];
  let count = 0;
  for await (const _ of mergeStreams([alwaysReady('a', 1), alwaysReady('b', 3)], (i) => ended.push(i))) count++;
  assert.equal(count, 4);
  assert.deepEqual(ended.sort(), [0, 1]);
});
