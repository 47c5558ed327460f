/**
 * A FIFO's big record: a plain file's record past fileSourceLimits.deferAbove is read again in one piece once its
 * end is known (file-source.ts); a pipe cannot be read again, so its records are held as they come, whatever
 * their size. The CLI end-to-end cases are in test/e2e/file-pipes.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { encodeRecord } from '../core/gor-format.js';
import { type Message, makeMeta } from '../core/message.js';
import { fileInput } from './file.js';
import { fileSourceLimits } from './file-source.js';
import { descriptorNamed } from './file-stream.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapline-file-stream-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

it('a FIFO holding records bigger than the deferral threshold: every record, whole', async () => {
  const fifo = join(dir, 'big.gor');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const sizes = [10, 300 * 1024, 20, 1024 * 1024, 5];
  const records = sizes.map((size, n) => {
    const data = Buffer.concat([Buffer.from(`POST /${n} HTTP/1.1\r\n\r\n`), Buffer.alloc(size, 0x61 + n)]);
    const meta = makeMeta({ type: '1', id: `${n}`.padStart(24, '0'), timestampNs: BigInt(n), latencyNs: 0n });
    return { meta, data };
  });
  const before = fileSourceLimits.deferAbove;
  fileSourceLimits.deferAbove = 100 * 1024;
  try {
    const input = fileInput({ patterns: [fifo], speed: Number.POSITIVE_INFINITY });
    const writer = createWriteStream(fifo);
    writer.end(Buffer.concat(records.map((r) => encodeRecord(r))));
    const seen: Message[] = [];
    for await (const batch of input.read()) seen.push(...batch);
    assert.equal(seen.length, records.length);
    for (const [i, m] of seen.entries()) assert.ok(m.data.equals(records[i]!.data), `record ${i}`);
    assert.equal(input.stats!().file_errors, 0);
  } finally {
    fileSourceLimits.deferAbove = before;
  }
});

it('the descriptors a path names', () => {
  assert.equal(descriptorNamed('/dev/stdin'), 0);
  assert.equal(descriptorNamed('/dev/fd/63'), 63);
  assert.equal(descriptorNamed('/proc/self/fd/7'), 7);
  assert.equal(descriptorNamed('/dev/stdout'), undefined);
  assert.equal(descriptorNamed('/tmp/fd/3'), undefined);
});
