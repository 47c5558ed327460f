import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkLog } from './chunk-log.js';

const meta = (offset: number) => ({
  offset,
  seq: 1000 + offset,
  ack: 7 + offset,
  ackValid: true,
  tsNs: BigInt(offset) * 10n,
});

test('ChunkLog: finds the chunk holding an offset, trims old ones, keeps the latest, compacts without losing any', () => {
  const log = new ChunkLog();
  assert.equal(log.at(0), undefined);
  // 200 chunks of 10 bytes: [0,10), [10,20), ...
  for (let i = 0; i < 200; i++) log.add(meta(i * 10), 10);
  assert.deepEqual({ ...log.at(0)! }, { offset: 0, seq: 1000, ack: 7, tsNs: 0n });
  assert.deepEqual({ ...log.at(15)! }, { offset: 10, seq: 1010, ack: 17, tsNs: 100n });
  assert.equal(log.at(5000)!.offset, 1990, 'past the end: the latest');
  log.trimBefore(1500); // drops [0,1500): 150 chunks, past the compaction threshold
  assert.equal(log.size, 50);
  assert.equal(log.at(0)!.offset, 1500, 'a trimmed offset: the first chunk kept');
  assert.deepEqual({ ...log.at(1995)! }, { offset: 1990, seq: 2990, ack: 1997, tsNs: 19900n });
  log.trimBefore(10_000); // everything ends before: the latest stays
  assert.equal(log.size, 1);
  assert.equal(log.at(0)!.offset, 1990);
  log.add(meta(2000), 10);
  assert.equal(log.at(2005)!.offset, 2000);
  // One long message over many chunks grows the arrays; once it is done they are dropped for small ones.
  for (let i = 0; i < 5000; i++) log.add(meta(2010 + i * 10), 10);
  assert.equal(log.size, 5002);
  assert.equal(log.at(30_005)!.offset, 30_000);
  log.trimBefore(52_000);
  assert.equal(log.size, 1);
  assert.deepEqual({ ...log.at(0)! }, { offset: 52_000, seq: 53_000, ack: 52_007, tsNs: 520_000n });
  log.add(meta(52_010), 10);
  assert.equal(log.at(52_015)!.offset, 52_010);
  log.clear();
  assert.equal(log.size, 0);
  assert.equal(log.at(0), undefined);
});
