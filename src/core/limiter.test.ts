// LimitGate: `|N%` and `|N` on a plugin. Responses follow the decision taken for their request (same id).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitGate } from './limiter.js';
import { type Message, makeMeta } from './message.js';

const msg = (type: string, id: string): Message => ({
  meta: makeMeta({ type, id, timestampNs: 1n }),
  data: Buffer.from(type === '1' ? 'GET / HTTP/1.1\r\n\r\n' : 'HTTP/1.1 200 OK\r\n\r\n'),
});

/** A random source that answers from a list: 0 passes any percentage above 0, 0.99 fails below 100. */
const scripted = (values: number[]) => () => values.shift() ?? 0;

describe('LimitGate', () => {
  it('|N%: a dropped request takes its responses with it; an admitted one keeps them', () => {
    const gate = new LimitGate({ kind: 'percent', percent: 50 }, scripted([0.99, 0]));
    assert.equal(gate.admit(msg('1', 'a')), false);
    assert.equal(gate.admit(msg('2', 'a')), false);
    assert.equal(gate.admit(msg('3', 'a')), false);
    assert.equal(gate.admit(msg('1', 'b')), true);
    assert.equal(gate.admit(msg('2', 'b')), true);
    assert.deepEqual(gate.counters, { admitted: 2, dropped: 3 });
  });

  it('an id seen again (--input-file-loop) follows the new decision for its request', () => {
    // Pass 1 drops request a, pass 2 admits it: its response must go out with it (it was dropped before).
    const gate = new LimitGate({ kind: 'percent', percent: 50 }, scripted([0.99, 0, 0.99]));
    assert.equal(gate.admit(msg('1', 'a')), false);
    assert.equal(gate.admit(msg('2', 'a')), false);
    assert.equal(gate.admit(msg('1', 'a')), true);
    assert.equal(gate.admit(msg('2', 'a')), true);
    assert.equal(gate.admit(msg('1', 'a')), false);
    assert.equal(gate.admit(msg('2', 'a')), false);
  });

  it('|N: N requests a window, their responses not counted against it; the window restarts after 1 s', () => {
    let now = 0;
    const gate = new LimitGate({ kind: 'rate', perSecond: 2 }, Math.random, () => now);
    const got = ['a', 'b', 'c'].flatMap((id) => [gate.admit(msg('1', id)), gate.admit(msg('2', id))]);
    assert.deepEqual(got, [true, true, true, true, false, false]);
    now = 1001;
    assert.equal(gate.admit(msg('1', 'c')), true);
    assert.equal(gate.admit(msg('2', 'c')), true);
  });
});
