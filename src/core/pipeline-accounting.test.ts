/**
 * Every message an input passed on is counted somewhere, however the run stops: by the loop (messages, empty),
 * by the transform (its own counters), or as `not_passed_on` when a failed transform left it in the merge.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeStreams } from './async.js';
import { ERROR_CODES, TaplineError } from './errors.js';
import { memoryLogger } from './log.js';
import { type Message, makeMeta } from './message.js';
import { Pipeline } from './pipeline.js';
import type { Batch, Input, Output } from './plugin.js';

const request = (i: number): Message => ({
  meta: makeMeta({ type: '1', id: `id${i}`, timestampNs: BigInt(i), latencyNs: 0n }),
  data: Buffer.from(`GET /${i} HTTP/1.1\r\n\r\n`),
});

/**
 * Batches of `size` until closed. Each batch is counted as read when the input starts building it, as the file
 * input counts records, and handed over once its read is done, `readMs` later: a stop that comes meanwhile
 * finds records counted as read that are not passed on yet (they are, when the read is done).
 */
function countingInput(size: number, batches: number, readMs = 0): Input & { counted: number } {
  let closed = false;
  let i = 0;
  const self = {
    name: 'counting',
    counted: 0,
    async *read(): AsyncGenerator<Batch> {
      for (let b = 0; b < batches && !closed; b++) {
        self.counted += size;
        await new Promise((r) => (readMs > 0 ? setTimeout(r, readMs) : setImmediate(r)));
        yield Array.from({ length: size }, () => request(i++));
      }
    },
    async close() {
      closed = true;
    },
  };
  return self;
}

function sink(): Output & { got: number } {
  const self = {
    name: 'sink',
    got: 0,
    write() {
      self.got++;
    },
    async close() {},
  };
  return self;
}

const died = () => new TaplineError(ERROR_CODES.MIDDLEWARE, 'middleware "x" (pid 1) exited (status 0)');

describe('accounting of what the inputs passed on', () => {
  it('mergeStreams: a consumer that stops early gets the batches the sources had already handed over reported', async () => {
    async function* source(tag: number): AsyncGenerator<Batch> {
      for (let i = 0; i < 5; i++) yield Array.from({ length: tag + 1 }, () => request(i)) as Batch;
    }
    const discarded: [number, number][] = [];
    const merged = mergeStreams([source(0), source(1), source(2)], undefined, (index, item) =>
      discarded.push([index, item.length]),
    );
    const first = await merged.next();
    assert.equal(first.value?.length, 1); // source 0 served first
    await merged.return(undefined);
    await new Promise((r) => setImmediate(r));
    // Source 0 was re-armed after being served; 1 and 2 had their first batch waiting: one batch each.
    assert.deepEqual(
      discarded.sort((a, b) => a[0] - b[0]),
      [
        [0, 1],
        [1, 2],
        [2, 3],
      ],
    );
  });

  it('a transform that fails without taking the next batch: it is counted as not passed on', async () => {
    const input = countingInput(10, 100);
    let taken = 0;
    const summary = await new Pipeline({
      inputs: [input],
      outputs: [sink()],
      log: memoryLogger(),
      async *transform(source) {
        for await (const batch of source) {
          taken += batch.length;
          yield batch;
          throw died();
        }
      },
    }).run();
    assert.equal(taken, 10);
    assert.equal(summary.counters.not_passed_on, 10, 'the batch the merge held when the transform failed');
    assert.equal(input.counted, taken + summary.counters.not_passed_on);
  });

  it('a transform whose reader runs on after it failed (external middleware): its last batch is counted before the summary', async () => {
    // The reader stands for the middleware's stdin writer: it takes batches in a loop of its own, and once the
    // process is gone counts each as not sent. The input's last batch, counted as read, comes after the failure.
    const input = countingInput(10, 1000, 2);
    const counts = { sent: 0, notSent: 0 };
    let dead = false;
    const summary = await new Pipeline({
      inputs: [input],
      outputs: [sink()],
      log: memoryLogger(),
      transform(source) {
        void (async () => {
          for await (const batch of source) {
            if (dead) counts.notSent += batch.length;
            else counts.sent += batch.length;
            if (counts.sent >= 50) dead = true;
          }
        })();
        return (async function* () {
          while (!dead) await new Promise((r) => setImmediate(r));
          throw died();
        })();
      },
    }).run();
    assert.equal(
      input.counted,
      counts.sent + counts.notSent + summary.counters.not_passed_on,
      `read ${input.counted}, sent ${counts.sent}, not sent ${counts.notSent}, not passed on ${summary.counters.not_passed_on}`,
    );
  });

  it('without a transform, a run stopped mid-stream passes on everything read: nothing is counted as not passed on', async () => {
    const input = countingInput(10, 1000, 1);
    const out = sink();
    const pipeline = new Pipeline({ inputs: [input], outputs: [out], log: memoryLogger() });
    const run = pipeline.run();
    await new Promise((r) => setTimeout(r, 5));
    await pipeline.stop();
    const summary = await run;
    assert.equal(summary.counters.not_passed_on, 0);
    assert.equal(out.got, input.counted);
  });
});
