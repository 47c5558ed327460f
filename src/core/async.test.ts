import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeStreams, sleep } from './async.js';
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

test('sleep longer than setTimeout can count (a month between two records) waits instead of firing at once', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  const stop = new AbortController();
  let woke = false;
  const slept = sleep(30 * 24 * 3600 * 1000, stop.signal).then(() => {
    woke = true;
  });
  await new Promise((r) => setTimeout(r, 50)); // Node would fire a 2^31 ms timer after 1 ms
  assert.equal(woke, false);
  stop.abort();
  await slept;
  await new Promise((r) => setImmediate(r)); // process 'warning' events are emitted on a later tick
  process.off('warning', onWarning);
  assert.deepEqual(warnings, []);
});
