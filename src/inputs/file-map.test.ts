import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { collect, startTapline } from '../../test/support/cli.js';
import { encodeRecord, SEPARATOR } from '../core/gor-format.js';
import { fileAddon } from '../core/gor-format-native.js';
import { memoryLogger } from '../core/log.js';
import { makeMeta } from '../core/message.js';
import { fileInput } from './file.js';
import {
  canMapFiles,
  mapFaults,
  mapWindow,
  prefetchWindow,
  releaseScan,
  releaseWindow,
  viewFaulted,
} from './file-map.js';

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

  /** A `.gor` file of `count` ~1 KiB requests with `body` (several mapped windows). */
  const requestsFile = (name: string, body: string, count: number) => {
    const file = join(dir, name);
    const records = Array.from({ length: count }, (_, i) =>
      encodeRecord({
        meta: makeMeta({ type: '1', id: String(i), timestampNs: BigInt(i), latencyNs: 0n }),
        data: Buffer.from(body),
      }),
    );
    writeFileSync(file, Buffer.concat(records));
    return { file, records };
  };

  it('input-file: a file truncated while it is replayed ends early with a warning naming it, no crash', async () => {
    const body = `GET /x HTTP/1.1\r\nHost: a\r\nX-Pad: ${'p'.repeat(1000)}\r\n\r\n`;
    const { file, records } = requestsFile('replayed.gor', body, 6000);
    const log = memoryLogger();
    const input = fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY, log });
    const whole = Buffer.from(body);
    let seen = 0;
    let zeroed = 0;
    const reading = async () => {
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
    };
    // The input ends in an error once it has passed on what it read: the file was not read to its end.
    await assert.rejects(reading(), /could not be read to the end/);
    assert.ok(seen > 0 && seen < records.length, `read ${seen} of ${records.length} records`);
    // Few reach the consumer that way at |max: the read-ahead window and the batch in hand.
    assert.ok(zeroed <= 1024 + 100, `${zeroed} records read zeros`);
    const warned = log.lines.filter((l) => l.includes(file) && l.includes('truncated'));
    assert.ok(warned.length > 0, `a warning names the file: ${log.lines.join(' | ')}`);
    assert.equal(input.stats!().file_errors, warned.length);
    assert.equal(readFileSync(file).length, 0);
  });

  it('input-file, raw runs: a truncation mid-copy ends the file with a warning naming it, no crash', async () => {
    const body = `GET /y HTTP/1.1\r\nHost: a\r\nX-Pad: ${'q'.repeat(1000)}\r\n\r\n`;
    const { file, records } = requestsFile('copied.gor', body, 8000);
    const log = memoryLogger();
    const input = fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY, log });
    let seen = 0;
    const copying = async () => {
      for await (const item of input.readRuns!()) {
        const n = 'kind' in item ? item.count : item.length;
        if (seen === 0) truncateSync(file, 0);
        seen += n;
      }
    };
    // The cut can come while the first (plain) reads are used, before any mapping: that was the end of the
    // file in silence, the piece of a record read last passed on as 'read as is and may be truncated'.
    await assert.rejects(copying(), /could not be read to the end/);
    assert.ok(seen > 0 && seen < records.length, `read ${seen} of ${records.length} records`);
    const warned = log.lines.filter((l) => l.includes(file) && /truncated by another process/.test(l));
    assert.ok(warned.length > 0, `a warning names the file: ${log.lines.join(' | ')}`);
    assert.equal(input.stats!().unterminated, 0, 'no piece of a record passed on as one');
  });

  describe('scanning ahead (prefetchScan)', () => {
    const addon = fileAddon()!;
    type Done = (errno: number, count: number, from: number, faulted: boolean) => void;
    const scanAhead = (view: unknown, old: unknown, ints: unknown, keys: unknown, hint: unknown) =>
      new Promise<[number, number, number, boolean]>((resolve) => {
        const done: Done = (e, n, f, x) => resolve([e, n, f, x]);
        (addon.prefetchScan as unknown as (...a: unknown[]) => void)(view, old, ints, keys, hint, done);
      });

    it('finds what scanRecords finds from the same point, on record-like and random bytes (fast-check)', async () => {
      const file = join(dir, 'scan.bin');
      const piece = fc.oneof(
        fc.constantFrom('1 a 1\n', '2 ff 17 3\n', '3 x -5\n', '1 b x\n', '1\n', '\r\n', 'GET / HTTP/1.1\r\n\r\n'),
        fc.constant(SEPARATOR.toString('latin1')),
        fc.constant(SEPARATOR.toString('latin1').replace(/\n$/, '\r\n')),
        fc.constant(SEPARATOR.toString('latin1').slice(0, 9)),
        fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a).toString('latin1')),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(piece, { maxLength: 60 }), fc.integer({ min: -1, max: 50 }), async (pieces, hint) => {
          const bytes = Buffer.from(pieces.join(''), 'latin1');
          if (bytes.length === 0) return;
          writeFileSync(file, bytes);
          const fd = openSync(file, 'r');
          try {
            const view = await mapWindow(fd, 0, bytes.length);
            const ints = new Int32Array(3 * 16 + 1);
            const keys = new Float64Array(16);
            const [, count, from, faulted] = await scanAhead(view, null, ints, keys, hint);
            assert.equal(faulted, false);
            if (count < 0) return; // nothing to scan from (no LF separator first): the reader scans itself
            if (hint >= 0) assert.equal(from, hint);
            const ints2 = new Int32Array(3 * 16 + 1);
            const keys2 = new Float64Array(16);
            const n2 = addon.scanRecords(view, from, ints2, keys2);
            assert.equal(count, n2);
            assert.deepEqual([...ints.subarray(0, 3 * count)], [...ints2.subarray(0, 3 * n2)]);
            assert.equal(ints[3 * 16], ints2[3 * 16], 'where the scan stopped');
            assert.deepEqual([...keys.subarray(0, count)], [...keys2.subarray(0, n2)]);
          } finally {
            closeSync(fd);
          }
        }),
        { numRuns: 300 },
      );
    });

    it('any arguments: a callback with EINVAL or a TypeError, never a crash (fast-check)', async () => {
      const anything = fc.oneof(
        fc.constant(Buffer.from('not a mapping')),
        fc.constant(new Int32Array(4)),
        fc.constant(new Float64Array(1)),
        fc.constant(new Int32Array(2)),
        fc.integer({ min: -10, max: 100 }),
        fc.double(),
        fc.constant(null),
        fc.constant(undefined),
        fc.string(),
      );
      await fc.assert(
        fc.asyncProperty(anything, anything, anything, anything, anything, async (a, b, c, d, e) => {
          const [errno, count] = await scanAhead(a, b, c, d, e);
          assert.equal(typeof errno, 'number');
          assert.ok(count === -1 || errno === 0);
        }),
        { numRuns: 300 },
      );
      assert.throws(() => (addon.prefetchScan as unknown as (...a: unknown[]) => void)(1, 2, 3), TypeError);
    });

    it('a view that loses pages while it is scanned ahead is marked, and its scan is not offered', async () => {
      const file = join(dir, 'lost.bin');
      const record = Buffer.concat([Buffer.from(`1 a 1\n${'x'.repeat(3000)}`), SEPARATOR]);
      writeFileSync(file, Buffer.concat(Array.from({ length: 40 }, () => record)));
      const fd = openSync(file, 'r');
      try {
        const view = await mapWindow(fd, 0, 40 * record.length);
        truncateSync(file, 4096);
        const before = mapFaults();
        assert.equal(await prefetchWindow(view, undefined, 0), view);
        assert.ok(mapFaults() > before, 'the scan met the cut pages');
        assert.equal(viewFaulted(view), true);
        releaseScan(view);
      } finally {
        closeSync(fd);
      }
    });
  });

  it('a copy and a replay with scans ahead and without: the same bytes, counters and warnings', async () => {
    // ~9 MiB of records, some of which the scan stops at (CRLF, bad meta lines, empty payloads, look-alike
    // separators in payloads), so that scans ahead and the reader's own scans take turns.
    const file = join(dir, 'mixed.gor');
    const lookAlike = `${SEPARATOR.toString('latin1').slice(0, -1)}X`;
    const parts: Buffer[] = [];
    for (let i = 0; i < 9000; i++) {
      const payload = `GET /r/${i} HTTP/1.1\r\nX-Pad: ${'p'.repeat(600 + ((i * 37) % 900))}\r\n\r\n`;
      if (i % 997 === 5) parts.push(Buffer.from(`1 ${i} ${i}\r\n${payload}\n🐵🙈🙉\r\n`));
      else if (i % 1499 === 7) parts.push(Buffer.from(`bad meta line\n${payload}`), SEPARATOR);
      else if (i % 1999 === 9) parts.push(Buffer.from(`1 ${i} ${i}\n`), SEPARATOR);
      else if (i % 701 === 3) parts.push(Buffer.from(`1 ${i} ${i}\n${payload}${lookAlike}`), SEPARATOR);
      else parts.push(Buffer.from(`1 ${i} ${i * 1000}\n${payload}`), SEPARATOR);
    }
    writeFileSync(file, Buffer.concat(parts));
    const outputs: string[] = [];
    const summaries: string[] = [];
    for (const prescan of ['on', 'off']) {
      const saved = process.env.TAPLINE_FILE_PRESCAN;
      process.env.TAPLINE_FILE_PRESCAN = prescan;
      try {
        const out = join(dir, `mixed-${prescan}.gor`);
        const copy = await collect(
          startTapline(['--input-file', `${file}|max`, '--output-file', out, '--output-file-append']),
          60_000,
        );
        const replay = await collect(startTapline(['--input-file', `${file}|max`, '--output-stdout']), 60_000);
        assert.equal(copy.code, 0, copy.stderr);
        assert.equal(replay.code, 0, replay.stderr);
        outputs.push(readFileSync(out).toString('latin1'), replay.stdout.toString('latin1'));
        // Times and rates differ from run to run; everything else must not.
        const said = [copy.stderr, replay.stderr].join('\n').replaceAll(`mixed-${prescan}`, 'mixed-X');
        summaries.push(said.replace(/[\d.,]+ ?(s|ms|\/s)\b/g, 'T'));
      } finally {
        if (saved === undefined) delete process.env.TAPLINE_FILE_PRESCAN;
        else process.env.TAPLINE_FILE_PRESCAN = saved;
      }
    }
    assert.ok(outputs[0]!.length > 8_000_000);
    // (assert.ok: a diff of two 10 MB strings would take the test runner's memory)
    assert.ok(outputs[0] === outputs[2], 'the copies differ');
    assert.ok(outputs[1] === outputs[3], 'the replays to stdout differ');
    assert.match(summaries[0]!, /skipped|malformed|empty/i);
    assert.equal(summaries[0], summaries[1]);
  });
});
