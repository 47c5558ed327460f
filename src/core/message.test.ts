// The message model's generators: gor's producer meta format, random ids, and the ns clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeMeta, nowNs, randomId } from './message.js';

describe('makeMeta', () => {
  it("writes gor's producer format: '%c %s %d %d', 3 fields without a latency", () => {
    assert.equal(makeMeta({ type: '1', id: 'ab', timestampNs: 5n, latencyNs: -1n }).line, '1 ab 5 -1');
    assert.equal(makeMeta({ type: '3', id: 'ab', timestampNs: 5n }).line, '3 ab 5');
  });
});

describe('randomId', () => {
  it('is 24 lowercase hex characters (12 random bytes), as gor generates', () => {
    const ids = new Set(Array.from({ length: 100 }, randomId));
    assert.equal(ids.size, 100);
    for (const id of ids) assert.match(id, /^[0-9a-f]{24}$/);
  });
});

describe('nowNs', () => {
  it('never goes backwards (it went back by up to 1 ms when the wall and monotonic clocks ticked apart)', () => {
    // About 200 ms of calls: every millisecond boundary was a chance to step back.
    const until = Date.now() + 200;
    let previous = nowNs();
    let calls = 0;
    let backwards = 0;
    while (calls < 5_000_000 && Date.now() < until) {
      calls++;
      const t = nowNs();
      if (t < previous) backwards++;
      previous = t;
    }
    assert.equal(backwards, 0, `${backwards} steps back in ${calls} calls`);
  });

  it('is the Unix time in ns (within a millisecond of Date.now())', () => {
    const before = Date.now();
    const ms = Number(nowNs() / 1_000_000n);
    const after = Date.now();
    assert.ok(ms >= before - 1 && ms <= after + 1, `${ms} not in [${before}, ${after}]`);
  });
});
