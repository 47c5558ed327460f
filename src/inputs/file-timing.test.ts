import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GorWaits, MAX_INT64, ReplayClock } from './file-timing.js';

const ms = (n: number) => BigInt(n) * 1_000_000n;

function run(rules: { speed: number; maxWaitNs?: bigint }, ts: bigint[], bad: number[] = []): [bigint[], GorWaits] {
  const w = new GorWaits({ speed: rules.speed, maxWaitNs: rules.maxWaitNs ?? 0n });
  return [ts.map((t, i) => w.next(t, bad.includes(i))), w];
}

describe('gor wait rules (spec §5.3)', () => {
  it('waits the original gaps; the first record at once', () => {
    const [waits, w] = run({ speed: 1 }, [ms(100), ms(150), ms(250)]);
    assert.deepEqual(waits, [0n, ms(50), ms(100)]);
    assert.equal(w.totalWait, ms(150));
    assert.equal(w.firstWait, ms(50));
    assert.equal(w.minWait, ms(50));
    assert.equal(w.maxWait, ms(100));
  });

  it('divides by the speed factor and truncates to whole ns, like int64(float64(d)/f)', () => {
    assert.deepEqual(run({ speed: 2 }, [0n, 101n, 202n])[0], [0n, 50n, 50n]);
    assert.deepEqual(run({ speed: 3 }, [0n, 10n])[0], [0n, 3n]);
    assert.deepEqual(run({ speed: 0.5 }, [0n, ms(10)])[0], [0n, ms(20)]);
  });

  it('caps each wait at max-wait after the speed factor', () => {
    assert.deepEqual(run({ speed: 2, maxWaitNs: ms(30) }, [0n, ms(40), ms(200)])[0], [0n, ms(20), ms(30)]);
  });

  it('emits out-of-order records at once, counts them, and measures later gaps from the last in-order one', () => {
    const [waits, w] = run({ speed: 1 }, [ms(100), ms(200), ms(150), ms(260)]);
    assert.deepEqual(waits, [0n, ms(100), 0n, ms(60)]);
    assert.equal(w.negative, 1);
  });

  it('first wait is the first non-zero raw gap, even a negative one', () => {
    const [, w] = run({ speed: 10 }, [ms(100), ms(100), ms(50), ms(300)]);
    assert.equal(w.firstWait, -ms(50));
  });

  it('|max waits for nothing but still counts out-of-order records', () => {
    const [waits, w] = run({ speed: Number.POSITIVE_INFINITY }, [ms(100), ms(300), ms(200)]);
    assert.deepEqual(waits, [0n, 0n, 0n]);
    assert.equal(w.negative, 1);
  });

  it('records with a non-numeric timestamp are not waited for and do not move the reference', () => {
    const [waits, w] = run({ speed: 1 }, [ms(100), 0n, ms(130)], [1]);
    assert.deepEqual(waits, [0n, 0n, ms(30)]);
    assert.equal(w.badTimestamp, 1);
    assert.equal(w.negative, 0);
  });

  it('restart() (loop) does not wait between passes', () => {
    const w = new GorWaits({ speed: 1, maxWaitNs: 0n });
    w.next(ms(500));
    w.restart();
    assert.equal(w.next(ms(1)), 0n);
    assert.equal(w.negative, 0);
  });

  it('min wait stays at max int64 when nothing was waited', () => {
    assert.equal(run({ speed: 1 }, [5n])[1].minWait, MAX_INT64);
  });
});

describe('ReplayClock', () => {
  it('schedules in absolute time, so lateness does not accumulate', () => {
    let now = 1000;
    const clock = new ReplayClock(() => now, 100);
    clock.restart();
    assert.equal(clock.advance(ms(10)), 10);
    now = 1013; // woke up 3 ms late
    assert.equal(clock.advance(ms(10)), 7); // the next one is still due at start + 20 ms
    now = 1050;
    assert.equal(clock.advance(0n), -30);
  });

  it('while catching up, says "emit now" once records have been held for flushMs', () => {
    let now = 1000;
    const clock = new ReplayClock(() => now, 1);
    clock.restart();
    now = 1000.5; // records due since the start, gathered for half a millisecond: keep gathering
    assert.ok(clock.advance(ms(0)) <= 0);
    now = 1001; // held for 1 ms: emit (a tiny positive value: nothing to wait for)
    const flush = clock.advance(ms(0));
    assert.ok(flush > 0 && flush < 1e-300);
    assert.ok(clock.untilDue() <= 0, 'nothing to sleep for after emitting');
    now = 1001.2;
    assert.ok(clock.advance(ms(0)) <= 0, 'the hold time starts again at each emission');
  });
});
