import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeMeta } from '../core/message.js';
import { KafkaPacer, parseKafkaOffset } from './kafka.js';

test('offsets: -1 newest without pacing, -2 oldest, N everywhere, |N% speed', () => {
  assert.deepEqual(parseKafkaOffset('-1'), { start: 'latest' });
  assert.deepEqual(parseKafkaOffset('-1|200%'), { start: 'latest' });
  assert.deepEqual(parseKafkaOffset('-2'), { start: 'earliest', speed: 1 });
  assert.deepEqual(parseKafkaOffset('-2|200%'), { start: 'earliest', speed: 2 });
  assert.deepEqual(parseKafkaOffset('42|50%'), { start: 42n, speed: 0.5 });
  assert.deepEqual(parseKafkaOffset('9223372036854775807'), { start: 9223372036854775807n, speed: 1 });
  for (const bad of ['', 'x', '-3', '1.5', '-2|0%', '-2|7', '9223372036854775808', '99999999999999999999999'])
    assert.throws(
      () => parseKafkaOffset(bad),
      (e: { where?: string }) => e.where === '--input-kafka-offset',
    );
});

test("pacing: gor's wait is (timestamp gap − wall time since the previous message) / speed", () => {
  let clock = 5000;
  const pacer = new KafkaPacer(2, () => clock);
  const at = (ms: number) => ({
    meta: makeMeta({ type: '1', id: 'a', timestampNs: BigInt(ms) * 1_000_000n }),
    data: Buffer.alloc(0),
  });
  assert.equal(pacer.waitMs(at(1000)), 0);
  clock += 10;
  assert.equal(pacer.waitMs(at(1400)), 195); // (400 ms gap − 10 ms spent) at 2× speed
  // The wait is counted as spent: 300 ms later in the timestamps, 150 ms after the wait ended, waits 75 ms.
  clock += 195 + 150;
  assert.equal(pacer.waitMs(at(1700)), 75);
  assert.equal(pacer.waitMs({ ...at(0), meta: { ...at(0).meta, badTimestamp: true } }), 0, 'no number, no pacing');
  const fresh = new KafkaPacer(1, () => clock);
  fresh.waitMs(at(1000));
  assert.ok(fresh.waitMs(at(900)) < 0, 'an older timestamp never waits');
});
