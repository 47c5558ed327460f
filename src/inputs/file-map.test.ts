import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeRecord } from '../core/gor-format.js';
import { memoryLogger } from '../core/log.js';
import { makeMeta } from '../core/message.js';
import { fileInput } from './file.js';
import { canMapFiles, mapFaults, mapWindow, releaseWindow } from './file-map.js';

// The addon is built by `npm install` (scripts/build-native.mjs) on Linux; without it files are read, and
// these tests have nothing to test.
const skip = canMapFiles() ? false : 'the file-map addon is not built (node scripts/build-native.mjs)';

describe('file-map addon', { skip }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tapline-file-map-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('maps a window byte for byte at any offset, shorter at the end of the file, empty past it', async () => {
    const file = join(dir, 'bytes.bin');
    const bytes = Buffer.alloc(3 * 4096 + 777);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
    writeFileSync(file, bytes);
    const fd = openSync(file, 'r');
    try {
      for (const [offset, length] of [
        [0, 4096],
        [5, 100],
        [4095, 4098],
        [4096 + 13, 1 << 20],
      ] as const) {
        const win = await mapWindow(fd, offset, length);
        assert.deepEqual(win, bytes.subarray(offset, offset + length), `window ${offset}+${length}`);
      }
      assert.equal((await mapWindow(fd, bytes.length, 4096)).length, 0);
      assert.equal((await mapWindow(fd, bytes.length + 9999, 4096)).length, 0);
      const win = await mapWindow(fd, 100, 9000);
      releaseWindow(win); // drops the pages; reading faults them back in from the page cache
      assert.deepEqual(win, bytes.subarray(100, 9100));
      releaseWindow(Buffer.from('not a mapping')); // refused: must not zero ordinary memory
    } finally {
      closeSync(fd);
    }
  });

  it('turns pages cut off by a truncation into zeros and counts them, instead of dying of SIGBUS', async () => {
    const file = join(dir, 'shrinks.bin');
    writeFileSync(file, Buffer.alloc(4 * 4096, 0x41));
    const fd = openSync(file, 'r');
    try {
      const win = await mapWindow(fd, 10, 4 * 4096 - 10);
      const before = mapFaults();
      truncateSync(file, 4096);
      let sum = 0;
      for (let i = 0; i < win.length; i++) sum += win[i]!;
      assert.equal(sum, (4096 - 10) * 0x41, 'the bytes still in the file, zeros after them');
      assert.equal(mapFaults() - before, 3, 'one fault per page cut off');
    } finally {
      closeSync(fd);
    }
  });

  it('input-file: a file truncated while it is replayed ends early with a warning naming it, no crash', async () => {
    const file = join(dir, 'replayed.gor');
    const body = `GET /x HTTP/1.1\r\nHost: a\r\nX-Pad: ${'p'.repeat(1000)}\r\n\r\n`;
    const records = Array.from({ length: 6000 }, (_, i) =>
      encodeRecord({
        meta: makeMeta({ type: '1', id: String(i), timestampNs: BigInt(i), latencyNs: 0n }),
        data: Buffer.from(body),
      }),
    );
    writeFileSync(file, Buffer.concat(records));
    const log = memoryLogger();
    const input = fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY, log });
    const whole = Buffer.from(body);
    let seen = 0;
    let zeroed = 0;
    for await (const batch of input.read()) {
      // A record is whole, or (handed out before the cut was seen) reads zeros where its bytes were.
      for (const msg of batch) {
        if (msg.data.equals(whole)) continue;
        assert.ok(msg.data.every((b) => b === 0) && msg.data.length === whole.length, 'whole or zeros');
        zeroed++;
      }
      if (seen === 0) truncateSync(file, 0);
      seen += batch.length;
    }
    assert.ok(seen > 0 && seen < records.length, `read ${seen} of ${records.length} records`);
    // Few reach the consumer that way at |max: the read-ahead window and the batch in hand.
    assert.ok(zeroed <= 1024 + 100, `${zeroed} records read zeros`);
    const warned = log.lines.filter((l) => l.includes(file) && l.includes('truncated'));
    assert.ok(warned.length > 0, `a warning names the file: ${log.lines.join(' | ')}`);
    assert.equal(input.stats!().file_errors, warned.length);
    assert.equal(readFileSync(file).length, 0);
  });
});
