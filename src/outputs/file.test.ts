import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  constants as fsConstants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { cliArgv } from '../../test/support/cli.js';
import { ERROR_CODES, type TaplineError } from '../core/errors.js';
import { FlagSet } from '../core/flags.js';
import { encodeRecord, GorRecordReader, SEPARATOR } from '../core/gor-format.js';
import { memoryLogger } from '../core/log.js';
import { type Message, makeMeta } from '../core/message.js';
import type { Output } from '../core/plugin.js';
import { fileInput } from '../inputs/file.js';
import { fileOutput, fileOutputPlugin } from './file.js';

const msg = (id: string, type = '1', body = `GET /${id} HTTP/1.1\r\nHost: x\r\n\r\n`): Message => ({
  meta: makeMeta({ type, id, timestampNs: 1_700_000_000_000_000_000n, latencyNs: 0n }),
  data: Buffer.from(body),
});

async function writeAll(out: Output, msgs: Message[]): Promise<void> {
  for (const m of msgs) await out.write(m);
}

function readRecords(file: string): Message[] {
  let bytes = readFileSync(file);
  if (file.endsWith('.gz')) bytes = gunzipSync(bytes);
  const reader = new GorRecordReader(() => {});
  return [...reader.push(bytes), ...reader.end()];
}

const list = (dir: string) => readdirSync(dir).sort();

describe('output-file', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tapline-output-file-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const fresh = () => {
    const d = join(root, String(n++));
    mkdirSync(d);
    return d;
  };

  it('writes records that input-file reads back (TestFileOutput: 200 records, append mode)', async () => {
    const dir = fresh();
    const out = fileOutput({ path: join(dir, 'requests.gor'), append: true });
    const msgs = Array.from({ length: 200 }, (_, i) => msg(String(i), i % 2 ? '2' : '1'));
    await writeAll(out, msgs);
    await out.close();
    assert.deepEqual(list(dir), ['requests.gor']);
    const back: Message[] = [];
    for await (const b of fileInput({
      patterns: [join(dir, 'requests.gor')],
      speed: Number.POSITIVE_INFINITY,
    }).read()) {
      back.push(...b);
    }
    assert.equal(back.length, 200);
    assert.deepEqual(
      back.map((m) => [m.meta.line, m.data.toString()]),
      msgs.map((m) => [m.meta.line, m.data.toString()]),
    );
  });

  it('writes GET, POST and a large payload byte for byte (TestInputFileWithGETAndPOST / 64Kb)', async () => {
    const dir = fresh();
    const msgs = [
      msg('a'),
      msg('b', '1', 'POST /p HTTP/1.1\r\nContent-Length: 7\r\n\r\na=1&b=2'),
      msg('c', '1', `POST / HTTP/1.1\r\n\r\n${'z'.repeat(87_000)}`),
    ];
    const out = fileOutput({ path: join(dir, 'x.gor'), append: true });
    await writeAll(out, msgs);
    await out.close();
    assert.deepEqual(readFileSync(join(dir, 'x.gor')), Buffer.concat(msgs.map(encodeRecord)));
  });

  it('cleans the path and numbers the chunk (TestFileOutputWithNameCleaning)', async () => {
    const dir = fresh();
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const out = fileOutput({ path: './test_requests.gor' });
      await writeAll(out, [msg('1')]);
      await out.close();
    } finally {
      process.chdir(cwd);
    }
    assert.deepEqual(list(dir), ['test_requests_0.gor']);
  });

  it('expands date parts and the payload type (TestFileOutputPathTemplate)', async () => {
    const dir = fresh();
    const now = () => new Date(2024, 2, 4, 5, 6, 7);
    const out = fileOutput({ path: join(dir, 'log-%Y-%m-%d-%S-%t'), append: true, now });
    await writeAll(out, [msg('1', '1'), msg('1', '2')]);
    await out.close();
    assert.deepEqual(list(dir), ['log-2024-03-04-07-1', 'log-2024-03-04-07-2']);
  });

  it('a new file when the second changes (TestFileOutputMultipleFiles)', async () => {
    const dir = fresh();
    let second = 1;
    const out = fileOutput({
      path: join(dir, 'log-%S.gor'),
      append: true,
      now: () => new Date(2024, 0, 1, 0, 0, second),
    });
    await writeAll(out, [msg('1'), msg('2')]);
    second = 2;
    await writeAll(out, [msg('3')]);
    await out.close();
    assert.deepEqual(list(dir), ['log-01.gor', 'log-02.gor']);
    assert.equal(readRecords(join(dir, 'log-01.gor')).length, 2);
  });

  it('%r gives a file per request id (TestFileOutputFilePerRequest)', async () => {
    const dir = fresh();
    const out = fileOutput({ path: join(dir, 'req-%r.gor'), append: true });
    await writeAll(out, [msg('aa', '1'), msg('bb', '1'), msg('aa', '2')]);
    await out.close();
    assert.deepEqual(list(dir), ['req-aa.gor', 'req-bb.gor']);
    // Coming back to a name appends (gor truncates it).
    assert.deepEqual(
      readRecords(join(dir, 'req-aa.gor')).map((m) => m.meta.type),
      ['1', '2'],
    );
  });

  it('%r: an id holding / or .. writes one file in the directory, said once (gor wrote outside it)', async () => {
    const dir = fresh();
    const inside = join(dir, 'in');
    mkdirSync(inside);
    const warnings: string[] = [];
    const out = fileOutput({ path: join(inside, '%r'), append: true, warn: (w) => warnings.push(w) });
    await writeAll(out, [msg('../escaped.gor'), msg('a/b'), msg('..'), msg('ok')]);
    await out.close();
    assert.deepEqual(list(dir), ['in']); // nothing beside the directory
    assert.deepEqual(list(inside), ['%2E%2E', '..%2Fescaped.gor', 'a%2Fb', 'ok']);
    assert.deepEqual(
      readRecords(join(inside, 'a%2Fb')).map((m) => m.meta.id),
      ['a/b'],
    );
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /id or type, "\.\.\/escaped\.gor", cannot be part of a file name.*written "\.\.%2Fescaped\.gor"/,
    );
    assert.equal(out.stats!().names_escaped, 3);
  });

  it('a file removed while written: its records counted and said, the next ones go to the name again', async () => {
    for (const append of [false, true]) {
      const dir = fresh();
      const warnings: string[] = [];
      const out = fileOutput({ path: join(dir, 'r.gor'), append, flushIntervalMs: 5, warn: (w) => warnings.push(w) });
      await writeAll(out, [msg('a'), msg('b'), msg('c')]);
      const file = join(dir, append ? 'r.gor' : 'r_0.gor');
      rmSync(file); // gor goes on writing to the removed file: every later record lost without a word
      let written = 3;
      // A flush (every 5 ms) sees the file has no name; the write after it opens the name again. Bounded.
      for (let i = 0; i < 400 && Number(out.stats!().lost_in_removed_file) === 0; i++) {
        await new Promise((r) => setTimeout(r, 5));
        await out.write(msg(`m${i}`));
        written++;
      }
      await out.write(msg('last'));
      written++;
      await out.close();
      const lost = Number(out.stats!().lost_in_removed_file);
      assert.ok(lost >= 3, `lost ${lost}`);
      const kept = readRecords(file).map((m) => m.meta.id);
      assert.equal(kept.length + lost, written);
      assert.equal(kept.at(-1), 'last');
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, new RegExp(`r(_0)?\\.gor was removed while this run wrote to it: the ${lost} record`));
      assert.match(warnings[0]!, /the next records go to a new /);
    }
    // Removed, and the chunk full before a flush looked: seen at the switch to the next chunk.
    {
      const dir = fresh();
      const warnings: string[] = [];
      const out = fileOutput({ path: join(dir, 'r.gor'), queueLimit: 2, warn: (w) => warnings.push(w) });
      await writeAll(out, [msg('a'), msg('b')]);
      rmSync(join(dir, 'r_0.gor'));
      await writeAll(out, [msg('c')]);
      await out.close();
      assert.equal(out.stats!().lost_in_removed_file, 2);
      assert.deepEqual(list(dir), ['r_0.gor']); // the next chunk's name, gor's rule with r_0 gone
      assert.deepEqual(
        readRecords(join(dir, 'r_0.gor')).map((m) => m.meta.id),
        ['c'],
      );
      assert.match(
        warnings[0]!,
        /r_0\.gor was removed while this run wrote to it: the 2 record\(s\) written to it are in no file \(counted in lost_in_removed_file\); the next records go to a new chunk$/,
      );
    }
    // Removed after the last write: seen at close.
    const dir = fresh();
    const warnings: string[] = [];
    const out = fileOutput({ path: join(dir, 'r.gor'), warn: (w) => warnings.push(w) });
    await writeAll(out, [msg('a'), msg('b')]);
    rmSync(join(dir, 'r_0.gor'));
    await out.close();
    assert.equal(out.stats!().lost_in_removed_file, 2);
    assert.deepEqual(list(dir), []);
    assert.match(
      warnings[0]!,
      /r_0\.gor was removed while this run wrote to it: the 2 record\(s\) written to it are in no file \(counted in lost_in_removed_file\)$/,
    );
  });

  it('two outputs of one run on one file: the second is refused (records were lost), .gz or plain', async () => {
    for (const name of ['both.gz', 'both.gor']) {
      const dir = fresh();
      const first = fileOutput({ path: join(dir, name), append: true });
      const second = fileOutput({ path: join(dir, '.', name), append: true });
      await first.write(msg('a'));
      await assert.rejects(
        async () => second.write(msg('b')),
        (err: TaplineError) =>
          err.code === ERROR_CODES.FILE_IO &&
          err.where === join(dir, name) &&
          /another --output-file of this run is writing this file.*give each output its own file/.test(err.message),
      );
      await first.write(msg('c'));
      await second.close();
      await first.close();
      assert.deepEqual(
        readRecords(join(dir, name)).map((m) => m.meta.id),
        ['a', 'c'],
      );
    }
    // A device loses nothing: /dev/null twice is taken.
    const nulls = [fileOutput({ path: '/dev/null', append: true }), fileOutput({ path: '/dev/null', append: true })];
    for (const out of nulls) await out.write(msg('n'));
    for (const out of nulls) await out.close();
  });

  it('a file with no name from the start (stdout redirected to a removed file) is written, not said removed', async () => {
    const gone = join(fresh(), 'gone.gor');
    const fd = openSync(gone, 'w');
    try {
      rmSync(gone);
      const warnings: string[] = [];
      const path = `/proc/self/fd/${fd}`; // as /dev/stdout names such a file
      const out = fileOutput({ path, append: true, flushIntervalMs: 5, warn: (w) => warnings.push(w) });
      for (let i = 0; i < 20; i++) {
        await out.write(msg(String(i)));
        await new Promise((r) => setTimeout(r, 2)); // flushes run meanwhile
      }
      await out.close();
      assert.deepEqual(warnings, []);
      assert.equal(out.stats!().lost_in_removed_file, 0);
      assert.equal(readRecords(path).length, 20);
    } finally {
      closeSync(fd);
    }
  });

  it('.gz output is a valid gzip file, smaller than plain (TestFileOutputCompression)', async () => {
    const dir = fresh();
    const msgs = Array.from({ length: 500 }, (_, i) => msg(String(i)));
    const gz = fileOutput({ path: join(dir, 'c.gz'), append: true });
    await writeAll(gz, msgs);
    await gz.close();
    const plainSize = Buffer.concat(msgs.map(encodeRecord)).length;
    assert.ok(statSync(join(dir, 'c.gz')).size < plainSize / 5);
    assert.deepEqual(gunzipSync(readFileSync(join(dir, 'c.gz'))), Buffer.concat(msgs.map(encodeRecord)));
  });

  it('a .gz file is sync-flushed at each flush interval, readable before close', async () => {
    const dir = fresh();
    const out = fileOutput({ path: join(dir, 'live.gz'), append: true, flushIntervalMs: 20 });
    await writeAll(out, [msg('1'), msg('2')]);
    await new Promise((r) => setTimeout(r, 120));
    const partial = gunzipSync(readFileSync(join(dir, 'live.gz')), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    assert.deepEqual(partial, Buffer.concat([encodeRecord(msg('1')), encodeRecord(msg('2'))]));
    await out.close();
    assert.equal(gunzipSync(readFileSync(join(dir, 'live.gz'))).length, partial.length);
  });

  it('plain files are flushed at each flush interval', async () => {
    const dir = fresh();
    const out = fileOutput({ path: join(dir, 'live.gor'), append: true, flushIntervalMs: 20 });
    await writeAll(out, [msg('1')]);
    assert.equal(readFileSync(join(dir, 'live.gor')).length, 0);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(readFileSync(join(dir, 'live.gor')), encodeRecord(msg('1')));
    await out.close();
  });

  for (const [ext, limit, want] of [
    ['.gor', 2, ['q_0.gor', 'q_1.gor']],
    ['.gor', 3, ['q_0.gor']],
    ['.gz', 2, ['q_0.gz', 'q_1.gz']],
  ] as const) {
    it(`queue-limit ${limit}: 3 records give ${want.join(', ')} (TestFileOutputAppendQueueLimit…)`, async () => {
      const dir = fresh();
      const out = fileOutput({ path: join(dir, `q${ext}`), queueLimit: limit });
      await writeAll(out, [msg('1'), msg('2'), msg('3')]);
      await out.close();
      assert.deepEqual(list(dir), want);
      if (want.length === 2)
        assert.deepEqual(
          readRecords(join(dir, want[1])).map((m) => m.meta.id),
          ['3'],
        );
    });
  }

  it('size-limit of two records: the third goes to _1 (TestFileOutputAppendSizeLimitOverflow)', async () => {
    const dir = fresh();
    const size = encodeRecord(msg('1')).length;
    const out = fileOutput({ path: join(dir, 's.gor'), sizeLimit: 2 * size, queueLimit: 0 });
    await writeAll(out, [msg('1'), msg('2'), msg('3')]);
    await out.close();
    assert.deepEqual(list(dir), ['s_0.gor', 's_1.gor']);
    assert.equal(statSync(join(dir, 's_0.gor')).size, 2 * size);
  });

  it('default chunking: a new chunk every 256 records', async () => {
    const dir = fresh();
    const out = fileOutput({ path: join(dir, 'd.gor') });
    await writeAll(
      out,
      Array.from({ length: 600 }, (_, i) => msg(String(i))),
    );
    await out.close();
    assert.deepEqual(list(dir), ['d_0.gor', 'd_1.gor', 'd_2.gor']);
    assert.equal(readRecords(join(dir, 'd_2.gor')).length, 600 - 512);
  });

  it('on restart, writing continues at the highest existing index + 1', async () => {
    const dir = fresh();
    for (const i of [0, 1, 10, 2]) writeFileSync(join(dir, `r_${i}.gor`), 'old');
    const out = fileOutput({ path: join(dir, 'r.gor') });
    await writeAll(out, [msg('1'), msg('2')]);
    await out.close();
    assert.deepEqual(list(dir), ['r_0.gor', 'r_1.gor', 'r_10.gor', 'r_11.gor', 'r_2.gor']);
    assert.equal(readFileSync(join(dir, 'r_10.gor'), 'utf8'), 'old');
    assert.equal(readRecords(join(dir, 'r_11.gor')).length, 2);
  });

  it('an unrelated file matching the chunk glob is left alone (gor would write to it or after it)', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'r-old.gor'), 'old');
    writeFileSync(join(dir, 'rz_5.gor'), 'old');
    const out = fileOutput({ path: join(dir, 'r.gor') });
    await writeAll(out, [msg('1')]);
    await out.close();
    assert.deepEqual(list(dir), ['r-old.gor', 'r_0.gor', 'rz_5.gor']);
    assert.equal(readRecords(join(dir, 'r_0.gor')).length, 1);
  });

  it('a path holding glob characters finds its own chunks (gor globs it as written: one chunk for good)', async () => {
    const dir = fresh();
    for (const name of ['out1_7.gor', 'out[1]_0.gor']) writeFileSync(join(dir, name), 'old');
    const out = fileOutput({ path: join(dir, 'out[1].gor'), queueLimit: 1 });
    await writeAll(out, [msg('1'), msg('2')]);
    await out.close();
    // gor's glob out[1]*.gor finds out1_7.gor alone: it wrote out1_8.gor, out1_9.gor.
    assert.deepEqual(list(dir), ['out1_7.gor', 'out[1]_0.gor', 'out[1]_1.gor', 'out[1]_2.gor']);
  });

  it('chunks of such a path in a raw-run copy: the same chunks (the copy looped until the stack overflowed)', () => {
    const dir = fresh();
    const input = join(dir, 'in.gor');
    writeFileSync(input, Buffer.concat(Array.from({ length: 20 }, (_, i) => encodeRecord(msg(String(i))))));
    const [node, ...args] = cliArgv(
      '--input-file',
      `${input}|max`,
      '--output-file',
      join(dir, 'o[1].gor'),
      '--output-file-queue-limit',
      '5',
    );
    const r = spawnSync(node!, args, { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(list(dir), ['in.gor', 'o[1]_0.gor', 'o[1]_1.gor', 'o[1]_2.gor', 'o[1]_3.gor']);
    for (const i of [0, 1, 2, 3]) assert.equal(readRecords(join(dir, `o[1]_${i}.gor`)).length, 5);
  });

  for (const path of ['', 'dir/', 'dir/.', 'dir/..']) {
    it(`a path with no file name (${JSON.stringify(path)}) is a usage error naming --output-file`, () => {
      assert.throws(
        () => fileOutput({ path }),
        (e: TaplineError) =>
          e.code === ERROR_CODES.USAGE && /--output-file/.test(e.describe()) && /names a directory/.test(e.message),
      );
    });
  }

  it('--output-file-append really appends to an existing file, without an index', async () => {
    const dir = fresh();
    const file = join(dir, 'keep.gor');
    writeFileSync(file, encodeRecord(msg('old')));
    const out = fileOutput({ path: file, append: true });
    await writeAll(out, [msg('new')]);
    await out.close();
    assert.deepEqual(list(dir), ['keep.gor']);
    assert.deepEqual(
      readRecords(file).map((m) => m.meta.id),
      ['old', 'new'],
    );
  });

  it('appending to an existing .gz adds a gzip member; input-file reads the whole file', async () => {
    const dir = fresh();
    const file = join(dir, 'twice.gz');
    for (const id of ['a', 'b']) {
      const out = fileOutput({ path: file, append: true });
      await writeAll(out, [msg(id)]);
      await out.close();
    }
    assert.deepEqual(
      readRecords(file).map((m) => m.meta.id),
      ['a', 'b'],
    );
    const back: Message[] = [];
    for await (const b of fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY }).read()) back.push(...b);
    assert.deepEqual(
      back.map((m) => m.meta.id),
      ['a', 'b'],
    );
  });

  it('switching names back and forth never wipes a file (gor truncates)', async () => {
    const dir = fresh();
    const out = fileOutput({ path: join(dir, 't-%t.gor') });
    await writeAll(out, [msg('1', '1'), msg('1', '2'), msg('2', '1'), msg('2', '2')]);
    await out.close();
    assert.deepEqual(list(dir), ['t-1_0.gor', 't-2_0.gor']);
    assert.deepEqual(
      readRecords(join(dir, 't-1_0.gor')).map((m) => m.meta.id),
      ['1', '2'],
    );
  });

  it('--output-file-max-size-limit: LIMIT_REACHED from write; what fit is kept', async () => {
    const dir = fresh();
    const size = encodeRecord(msg('1')).length;
    const out = fileOutput({ path: join(dir, 'm.gor'), append: true, maxSizeLimit: 2 * size + 5 });
    await writeAll(out, [msg('1'), msg('2')]);
    assert.throws(
      () => out.write(msg('3')),
      (e: TaplineError) => e.code === ERROR_CODES.LIMIT_REACHED && /max-size-limit/.test(e.message),
    );
    await out.close();
    assert.equal(statSync(join(dir, 'm.gor')).size, 2 * size);
  });

  it('a directory named by a placeholder is made when its name comes up (a fixed one is not)', async () => {
    const dir = fresh();
    let day = 1;
    const now = () => new Date(2024, 0, day, 12);
    const out = fileOutput({ path: join(dir, '%Y-%m/%d/requests.gor'), now });
    await writeAll(out, [msg('1'), msg('2')]);
    day = 2; // the next day's directory cannot have been made in advance
    await writeAll(out, [msg('3')]);
    await out.close();
    assert.equal(readRecords(join(dir, '2024-01', '01', 'requests_0.gor')).length, 2);
    assert.equal(readRecords(join(dir, '2024-01', '02', 'requests_0.gor')).length, 1);
    // Where the directory cannot be made, the error names it.
    writeFileSync(join(dir, 'flat'), '');
    const blocked = fileOutput({ path: join(dir, 'flat/%Y/requests.gor'), now });
    await assert.rejects(Promise.resolve(blocked.write(msg('4'))), (e: TaplineError) => {
      assert.equal(e.code, ERROR_CODES.FILE_IO);
      assert.equal(e.where, join(dir, 'flat', '2024'));
      assert.match(e.message, /cannot create the directory: a part of the path is not a directory/);
      return true;
    });
    await blocked.close().catch(() => undefined);
  });

  it('a placeholder directory under /proc: an error naming it, not a hang (Node recursive mkdir looped there)', {
    timeout: 20_000,
  }, async () => {
    const out = fileOutput({ path: '/proc/%Y/requests.gor', now: () => new Date(2024, 0, 1, 12) });
    await assert.rejects(Promise.resolve(out.write(msg('1'))), (e: TaplineError) => {
      assert.equal(e.code, ERROR_CODES.FILE_IO);
      assert.equal(e.where, '/proc/2024');
      assert.match(e.message, /^cannot create the directory: \/proc exists but takes no new directories \(ENOENT/);
      return true;
    });
    await out.close().catch(() => undefined);
  });

  it('a placeholder directory on a read-only file system: the error says so (Node said ENOENT: "does not exist")', async (t) => {
    const mnt = join(fresh(), 'ro');
    mkdirSync(mnt);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', mnt], { stdio: 'ignore' }).status !== 0) {
      t.skip('cannot mount a tmpfs here (not root?)');
      return;
    }
    try {
      const out = fileOutput({ path: join(mnt, '%Y/%m/requests.gor'), now: () => new Date(2024, 0, 1, 12) });
      await assert.rejects(Promise.resolve(out.write(msg('1'))), (e: TaplineError) => {
        assert.equal(e.code, ERROR_CODES.FILE_IO);
        assert.equal(e.where, join(mnt, '2024'));
        assert.match(e.message, /^cannot create the directory: read-only file system \(EROFS\)$/);
        return true;
      });
      await out.close().catch(() => undefined);
    } finally {
      spawnSync('umount', [mnt], { stdio: 'ignore' });
    }
  });

  it('a missing directory: FILE_IO naming the file, from write()', async () => {
    const file = join(root, 'no-such-dir', 'x.gor');
    const out = fileOutput({ path: file, append: true });
    await assert.rejects(Promise.resolve(out.write(msg('1'))), (e: TaplineError) => {
      assert.equal(e.code, ERROR_CODES.FILE_IO);
      assert.equal(e.where, file);
      assert.match(e.message, /directory does not exist/);
      return true;
    });
    assert.throws(
      () => out.write(msg('2')),
      (e: TaplineError) => e.code === ERROR_CODES.FILE_IO,
    );
    await out.close();
  });

  it('appending to a .gz a killed writer left cut short is refused: what followed the cut could never be read', async () => {
    const dir = fresh();
    const whole = join(dir, 'whole.gor.gz');
    const first = fileOutput({ path: whole, append: true });
    await writeAll(first, [msg('1'), msg('2'), msg('3')]);
    await first.close();
    const bytes = readFileSync(whole);
    // Its trailer cut off (SIGKILL after a flush), its header only (killed before the first), a byte damaged.
    const damaged = Buffer.from(bytes);
    damaged[14] = damaged[14]! ^ 0xff;
    /** `content` under `name`: appending is refused with words matching every pattern, the file left as it was. */
    const refused = async (name: string, content: Buffer, ...said: RegExp[]) => {
      const file = join(dir, name);
      writeFileSync(file, content);
      const out = fileOutput({ path: file, append: true });
      await assert.rejects(Promise.resolve(out.write(msg('4'))), (e: TaplineError) => {
        assert.equal(e.code, ERROR_CODES.FILE_IO);
        assert.equal(e.where, file);
        for (const words of said) assert.match(e.message, words);
        return true;
      });
      await out.close().catch(() => undefined);
      assert.deepEqual(readFileSync(file), content, `${name} is left as it was`);
    };
    const killed = /records appended after it could never be read/;
    await refused('cut.gor.gz', bytes.subarray(0, bytes.length - 8), /stops short at its end \(byte \d+\)/, killed);
    await refused('header.gor.gz', bytes.subarray(0, 10), /stops short at its end \(byte 10\)/, killed);
    await refused('damaged.gor.gz', damaged, /is damaged near byte \d+ of \d+/, killed);
    // No gzip data at all under a .gz name (plain records, or text): not said as a killed run's damage, whose
    // recovery command could not read it either.
    const notGzip = /cannot append: it is not gzip data/;
    await refused(
      'plain.gor.gz',
      encodeRecord(msg('p')),
      notGzip,
      /starts with "1 p 170000000000".*It holds uncompressed \.gor records: rename it/,
    );
    await refused(
      'text.gz',
      Buffer.from('hello\n'),
      notGzip,
      /starts with "hello\\n", not the gzip bytes 1f 8b.*Write to/,
    );
    // A whole one takes a second gzip member, read with the first.
    const more = fileOutput({ path: whole, append: true });
    await writeAll(more, [msg('4')]);
    await more.close();
    assert.deepEqual(
      readRecords(whole).map((m) => m.meta.id),
      ['1', '2', '3', '4'],
    );
  });

  it('a FIFO whose reader goes away: FILE_IO in words, not EPIPE in Node\'s ("broken pipe, write")', async () => {
    const fifo = join(fresh(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const out = fileOutput({ path: fifo, append: true });
    await out.write(msg('1'));
    closeSync(reader);
    let error: TaplineError | undefined;
    try {
      for (let i = 0; i < 2000 && !error; i++)
        await out.write(msg(String(i), '1', `GET /${'x'.repeat(2000)} HTTP/1.1\r\n\r\n`));
    } catch (e) {
      error = e as TaplineError;
    }
    await out.close().catch((e) => {
      error ??= e as TaplineError;
    });
    assert.equal(error?.code, ERROR_CODES.FILE_IO);
    assert.equal(error.where, fifo);
    assert.equal(error.message, 'cannot write: the pipe has no reader any more (its reader went away) (EPIPE)');
  });

  it('a path that is a directory: FILE_IO', async () => {
    const dir = fresh();
    const out = fileOutput({ path: dir, append: true });
    await assert.rejects(Promise.resolve(out.write(msg('1'))), (e: TaplineError) => e.code === ERROR_CODES.FILE_IO);
    await out.close();
  });

  it('write errors (/dev/full: ENOSPC) surface as FILE_IO from write() or close(), never unhandled', async () => {
    const out = fileOutput({ path: '/dev/full', append: true });
    const errors: TaplineError[] = [];
    const big = msg('1', '1', 'x'.repeat(300_000));
    for (let i = 0; i < 40 && errors.length === 0; i++) {
      try {
        await out.write(big);
      } catch (e) {
        errors.push(e as TaplineError);
      }
      await new Promise((r) => setImmediate(r));
    }
    await out.close().catch((e) => errors.push(e));
    assert.ok(errors.length > 0);
    assert.equal(errors[0]!.code, ERROR_CODES.FILE_IO);
    assert.equal(errors[0]!.where, '/dev/full');
    assert.match(errors[0]!.message, /no space left on device \(ENOSPC\)/);
  });

  describe('a full disk (64 KiB tmpfs)', () => {
    let mnt: string | undefined;
    before(() => {
      const dir = join(root, 'tmpfs');
      mkdirSync(dir);
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
      if (r.status === 0) mnt = dir;
    });
    after(() => {
      if (mnt) spawnSync('umount', [mnt], { stdio: 'ignore' });
    });

    for (const name of ['full.gor', 'full.gz']) {
      it(`ENOSPC while writing ${name}: FILE_IO naming the file`, async (t) => {
        if (!mnt) {
          t.skip('cannot mount a tmpfs here (not root?); /dev/full covers write errors');
          return;
        }
        const file = join(mnt, name);
        const out = fileOutput({ path: file, append: true });
        let error: TaplineError | undefined;
        try {
          for (let i = 0; i < 2000; i++) {
            const body = `POST / HTTP/1.1\r\n\r\n${randomBytes(300).toString('hex')}`;
            await out.write(msg(String(i), '1', body));
          }
        } catch (e) {
          error = e as TaplineError;
        }
        await out.close().catch((e) => {
          error ??= e as TaplineError;
        });
        assert.ok(error, 'the disk is full: an error is expected');
        assert.equal(error.code, ERROR_CODES.FILE_IO);
        assert.equal(error.where, file);
        assert.match(error.message, /ENOSPC/);
        // What the output took and the file does not hold whole is counted, not reported as written.
        const stats = out.stats!() as Record<string, number>;
        const lost = stats.lost_when_the_file_failed!;
        assert.ok(lost > 0, `lost ${lost}`);
        const bytes = readFileSync(file);
        let whole: number;
        if (name.endsWith('.gz')) {
          // Every record its deflate stream gives up to the cut is readable, and counted as such (the count
          // stopped at the last sync flush the file held, often none: every record taken said lost).
          const reader = new GorRecordReader(() => {});
          const inflated = gunzipSync(bytes, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
          whole = reader.push(inflated).length;
          assert.ok(whole > 0, 'the full disk holds some records');
          assert.equal(stats.messages! - lost, whole, `${stats.messages} taken, ${lost} lost, ${whole} readable`);
        } else {
          // Every whole record ends with a separator; the cut one at the end does not.
          whole = 0;
          for (let at = bytes.indexOf(SEPARATOR); at !== -1; at = bytes.indexOf(SEPARATOR, at + 1)) whole++;
          assert.equal(stats.messages! - lost, whole);
        }
        rmSync(file, { force: true });
      });
    }
  });

  it('write() returns a promise when the disk is behind, and memory stays bounded', async () => {
    const dir = fresh();
    const out = fileOutput({ path: join(dir, 'bp.gor'), append: true });
    const big = msg('1', '1', 'b'.repeat(100_000));
    let sent = 0;
    let waited = false;
    while (sent < 64 * 1024 * 1024) {
      const r = out.write(big);
      sent += 100_000;
      if (r) {
        waited = true;
        await r;
        break;
      }
    }
    assert.ok(waited, 'a promise once a few MiB are in flight');
    assert.ok(sent < 32 * 1024 * 1024, `${sent} bytes accepted before backpressure`);
    await out.close();
    assert.equal(readRecords(join(dir, 'bp.gor')).length, sent / 100_000);
  });

  it('close() writes everything and can be called twice; write after close is refused', async () => {
    const dir = fresh();
    const out = fileOutput({ path: join(dir, 'c.gor'), append: true });
    await writeAll(out, [msg('1')]);
    await out.close();
    await out.close();
    assert.throws(() => out.write(msg('2')));
    assert.equal(readRecords(join(dir, 'c.gor')).length, 1);
    assert.ok(!existsSync(join(dir, 'c_0.gor')));
  });

  describe('plugin', () => {
    const flagSet = (values: Record<string, string | boolean | number>) =>
      new FlagSet(new Map(Object.entries(fileOutputPlugin.flags)), new Map(Object.entries(values)));

    it('declares its flags with gor’s defaults', () => {
      const f = flagSet({});
      assert.equal(f.bool('output-file-append'), false);
      assert.equal(f.number('output-file-flush-interval'), 1000);
      assert.equal(f.number('output-file-size-limit'), 32 * 1024 * 1024);
      assert.equal(f.number('output-file-queue-limit'), 256);
      assert.equal(f.number('output-file-max-size-limit'), 2 ** 40);
    });

    it('passes the flags to the output', async () => {
      const dir = fresh();
      const out = await fileOutputPlugin.create({
        address: join(dir, 'p.gor'),
        limit: { kind: 'none' },
        flags: flagSet({ 'output-file-queue-limit': 1 }),
        ctx: { log: memoryLogger(), signal: new AbortController().signal },
      });
      await writeAll(out, [msg('1'), msg('2')]);
      await out.close();
      assert.deepEqual(list(dir), ['p_0.gor', 'p_1.gor']);
    });

    it("warns that gor's chunk rule eats a _%Y%m%d name (all goes to name_0.gor); append mode keeps the date", async () => {
      for (const append of [false, true]) {
        const dir = fresh();
        const log = memoryLogger();
        const out = await fileOutputPlugin.create({
          address: join(dir, 'requests_%Y%m%d.gor'),
          limit: { kind: 'none' },
          flags: flagSet(append ? { 'output-file-append': true } : { 'output-file-queue-limit': 1 }),
          ctx: { log, signal: new AbortController().signal },
        });
        await writeAll(out, [msg('1'), msg('2')]);
        await out.close();
        const files = list(dir);
        if (append) {
          assert.match(files.join(), /^requests_\d{8}\.gor$/);
          assert.deepEqual(log.lines, []);
        } else {
          assert.deepEqual(files, ['requests_0.gor'], 'gor names it so too: the queue limit starts no new chunk');
          assert.equal(log.lines.length, 1);
          assert.match(log.lines[0]!, /--output-file ".*requests_%Y%m%d\.gor".*requests_0\.gor.*requests-%Y%m%d\.gor/);
        }
      }
    });

    it('warns that a FIFO given without --output-file-append gets chunks beside it, as in gor', async () => {
      for (const append of [false, true]) {
        const dir = fresh();
        const fifo = join(dir, 'pipe.gor');
        execFileSync('mkfifo', [fifo]);
        const log = memoryLogger();
        // (Append mode would open the FIFO and wait for a reader: only the warning is checked, not a write.)
        const out = await fileOutputPlugin.create({
          address: fifo,
          limit: { kind: 'none' },
          flags: flagSet(append ? { 'output-file-append': true } : {}),
          ctx: { log, signal: new AbortController().signal },
        });
        if (append) {
          assert.deepEqual(log.lines, []);
        } else {
          await writeAll(out, [msg('1')]);
          assert.equal(log.lines.length, 1, log.lines.join('\n'));
          assert.match(
            log.lines[0]!,
            /--output-file ".*pipe\.gor" is a pipe \(FIFO\), not a regular file: .*pipe_0\.gor/,
          );
          assert.deepEqual(list(dir), ['pipe.gor', 'pipe_0.gor']);
        }
        await out.close();
      }
    });

    it('warns that chunk limits given with --output-file-append have no effect (one file, as gor)', async () => {
      for (const [values, said] of [
        [{ 'output-file-queue-limit': 10 }, /^--output-file-queue-limit has no effect with --output-file-append: /],
        [
          { 'output-file-queue-limit': 10, 'output-file-size-limit': 10_240 },
          /^--output-file-queue-limit and --output-file-size-limit have no effect with --output-file-append: /,
        ],
        [{}, undefined],
      ] as const) {
        const dir = fresh();
        const log = memoryLogger();
        const out = await fileOutputPlugin.create({
          address: join(dir, 'a.gor'),
          limit: { kind: 'none' },
          flags: flagSet({ ...values, 'output-file-append': true }),
          ctx: { log, signal: new AbortController().signal },
        });
        await writeAll(
          out,
          Array.from({ length: 12 }, (_, i) => msg(String(i))),
        );
        await out.close();
        assert.deepEqual(list(dir), ['a.gor']);
        if (said === undefined) assert.deepEqual(log.lines, []);
        else {
          assert.equal(log.lines.length, 1, log.lines.join('\n'));
          assert.match(log.lines[0]!.replace('tapline: warning: ', ''), said);
        }
      }
    });
  });
});
