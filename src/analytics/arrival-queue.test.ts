import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArrivalQueue } from './arrival-queue.js';

interface Entry {
  n: number;
  done: boolean;
}

describe('ArrivalQueue', () => {
  it('holds a bounded number of answered entries when oldest() is never called (a clock that does not move)', () => {
    // What --input-file-loop does to the tracker: every pass repeats the same timestamps, so the tracker never
    // looks for expired requests (oldest()) while each request is answered (done) soon after it is pushed.
    const q = new ArrivalQueue<Entry>();
    let most = 0;
    for (let n = 0; n < 200_000; n++) {
      const e = { n, done: false };
      q.push(e);
      e.done = true;
      most = Math.max(most, q.held);
    }
    assert.ok(most <= 2 * 4096, `held up to ${most} entries for 200,000 answered ones`);
  });

  it('keeps the entries not done, in arrival order, through the drops', () => {
    const q = new ArrivalQueue<Entry>();
    const waiting: Entry[] = [];
    for (let n = 0; n < 50_000; n++) {
      const e = { n, done: false };
      q.push(e);
      if (n % 97 === 0) waiting.push(e);
      else e.done = true;
    }
    assert.ok(q.held < 50_000, `held ${q.held}`);
    const seen: number[] = [];
    for (let e = q.oldest(); e !== undefined; e = q.oldest()) {
      seen.push(e.n);
      e.done = true;
    }
    assert.deepEqual(
      seen,
      waiting.map((e) => e.n),
    );
    assert.equal(q.held, 0);
  });
});
