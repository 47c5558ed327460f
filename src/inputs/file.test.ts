import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { damagedGzip } from '../../test/support/damaged-gzip.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { FlagSet } from '../core/flags.js';
import { encodeRecord } from '../core/gor-format.js';
import { memoryLogger } from '../core/log.js';
import { type Message, makeMeta } from '../core/message.js';
import { type Input, isRawRun } from '../core/plugin.js';
import { fileInput, fileInputPlugin } from './file.js';
import { fileSourceLimits } from './file-source.js';

const MS = 1_000_000n;

function rec(id: string, ts: bigint, body = `GET /${id} HTTP/1.1\r\n\r\n`, type = '1'): Buffer {
  return encodeRecord({ meta: makeMeta({ type, id, timestampNs: ts, latencyNs: 0n }), data: Buffer.from(body) });
}
/** gor's "Bytes processed" for a record: meta line, LF, payload. */
const recordBytes = (id: string, ts: bigint) => rec(id, ts).length - 14;

async function collect(input: Input): Promise<Message[]> {
  const out: Message[] = [];
  for await (const batch of input.read()) out.push(...batch);
  return out;
}

/** What the input passed on before its read() ended in an error, and that error. */
async function collectUntilError(input: Input): Promise<{ msgs: Message[]; error: unknown }> {
  const msgs: Message[] = [];
  try {
    for await (const batch of input.read()) msgs.push(...batch);
  } catch (error) {
    return { msgs, error };
  }
  return { msgs, error: undefined };
}

async function timedCollect(input: Input): Promise<{ msg: Message; at: number }[]> {
  const out: { msg: Message; at: number }[] = [];
  for await (const batch of input.read()) {
    const at = performance.now();
    for (const msg of batch) out.push({ msg, at });
  }
  return out;
}

const ids = (msgs: Message[]) => msgs.map((m) => m.meta.id);

describe('input-file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tapline-input-file-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const path = (name: string) => join(dir, `${n++}-${name}`);
  const write = (name: string, ...records: Buffer[]) => {
    const p = path(name);
    writeFileSync(p, name.endsWith('.gz') ? gzipSync(Buffer.concat(records)) : Buffer.concat(records));
    return p;
  };

  it('reads records byte for byte, a payload larger than 64 KiB included (TestInputFileWithPayloadLargerThan64Kb)', async () => {
    const big = `POST / HTTP/1.1\r\nContent-Length: 89000\r\n\r\n${'a'.repeat(89_000)}`;
    const file = write(
      'payloads.gor',
      rec('1', 1n),
      rec('2', 2n, 'POST /p HTTP/1.1\r\n\r\na=1&b=2'),
      rec('3', 3n, big),
    );
    const msgs = await collect(fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY }));
    assert.deepEqual(ids(msgs), ['1', '2', '3']);
    assert.equal(msgs[2]!.data.toString(), big);
    assert.equal(msgs[1]!.meta.line, '1 2 2 0');
  });

  it('merges files of a glob by timestamp (TestInputFileMultipleFilesWithRequestsOnly)', async () => {
    const sub = path('multi');
    mkdirSync(sub);
    writeFileSync(join(sub, 'X_0'), Buffer.concat([rec('1', 1n), rec('3', 3n)]));
    writeFileSync(join(sub, 'X_1'), Buffer.concat([rec('2', 2n), rec('4', 4n)]));
    const input = fileInput({ patterns: [join(sub, 'X*')], speed: Number.POSITIVE_INFINITY });
    assert.deepEqual(ids(await collect(input)), ['1', '2', '3', '4']);
    assert.equal(input.stats!().files, 2);
  });

  it('the file left when the others end keeps its window order and its counters', async () => {
    const sub = path('left');
    mkdirSync(sub);
    writeFileSync(join(sub, 'L_0'), Buffer.concat([rec('1', 1n), rec('2', 2n)]));
    const last = Buffer.concat([rec('3', 3n), rec('7', 7n), rec('4', 4n), rec('5', 5n)]);
    writeFileSync(join(sub, 'L_1'), last);
    const input = fileInput({ patterns: [join(sub, 'L*')], speed: Number.POSITIVE_INFINITY, readDepth: 1 });
    assert.deepEqual(ids(await collect(input)), ['1', '2', '3', '7', '4', '5']);
    const stats = input.stats!();
    assert.equal(stats.records, 6);
    assert.equal(stats.negative_wait, 2);
    assert.equal(stats.bytes, recordBytes('1', 1n) + recordBytes('2', 2n) + last.length - 4 * 14);
  });

  it('merges requests and responses across files; ties go to the earlier file', async () => {
    const sub = path('pairs');
    mkdirSync(sub);
    const r = (id: string, ts: bigint, type: string) =>
      rec(`${id}${type}`, ts, type === '1' ? 'GET / HTTP/1.1\r\n\r\n' : 'HTTP/1.1 200 OK\r\n\r\n', type);
    writeFileSync(
      join(sub, 'b_0.gor'),
      Buffer.concat([r('a', 1n, '1'), r('a', 2n, '2'), r('c', 5n, '1'), r('c', 6n, '2')]),
    );
    writeFileSync(
      join(sub, 'b_1.gor'),
      Buffer.concat([r('b', 3n, '1'), r('b', 4n, '2'), r('d', 5n, '1'), r('d', 7n, '2')]),
    );
    const msgs = await collect(fileInput({ patterns: [join(sub, 'b_*.gor')], speed: Number.POSITIVE_INFINITY }));
    assert.deepEqual(ids(msgs), ['a1', 'a2', 'b1', 'b2', 'c1', 'd1', 'c2', 'd2']);
  });

  it('keeps many files in order while holding only a few open', async () => {
    const sub = path('many');
    mkdirSync(sub);
    for (let f = 0; f < 30; f++) {
      const records: Buffer[] = [];
      for (let i = 0; i < 10; i++) records.push(rec(String(i * 30 + f), BigInt(i * 30 + f)));
      writeFileSync(join(sub, `m_${f}.gor`), Buffer.concat(records));
    }
    const msgs = await collect(
      fileInput({ patterns: [join(sub, '*.gor')], speed: Number.POSITIVE_INFINITY, maxOpenFiles: 4 }),
    );
    assert.deepEqual(
      ids(msgs),
      Array.from({ length: 300 }, (_, i) => String(i)),
    );
  });

  it('a file replaced by another (renamed over it) while it is read: said, and the other file is not read on', async () => {
    // More files than may be open at once (and than are primed at once): a file is closed when idle and opened
    // again by its name. A rotation that renamed another file over that name had the rest read from the other
    // file, from where this one was, in silence (39,695 records of it, here).
    const sub = path('rotated');
    mkdirSync(sub);
    const files = Array.from({ length: 20 }, (_, f) => {
      const records: Buffer[] = [];
      for (let i = 0; i < 2000; i++) records.push(rec(`f${f}-${i}`, BigInt(i * 20 + f) * MS));
      const p = join(sub, `r_${f}.gor`);
      writeFileSync(p, Buffer.concat(records));
      return p;
    });
    const other = path('other.gor');
    writeFileSync(other, Buffer.concat(Array.from({ length: 40_000 }, (_, i) => rec(`X${i}`, BigInt(i) * MS))));
    const log = memoryLogger();
    const input = fileInput({ patterns: [join(sub, '*.gor')], speed: Number.POSITIVE_INFINITY, maxOpenFiles: 2, log });
    const seen: string[] = [];
    const reading = async () => {
      for await (const batch of input.read()) {
        if (seen.length === 0) renameSync(other, files[1]!);
        seen.push(...batch.map((m) => m.meta.id));
      }
    };
    await assert.rejects(reading(), /1 file could not be read to the end/);
    assert.deepEqual(
      seen.filter((id) => id.startsWith('X')),
      [],
    );
    assert.ok(seen.length < 40_000, `${seen.length} records`);
    assert.match(
      log.lines.join('\n'),
      /r_1\.gor: cannot read to the end: the file was replaced while it was read: its name now leads to another file/,
    );
    assert.equal(input.stats!().file_errors, 1);
  });

  it('a UTF-8 byte order mark at the start of a file is skipped, with a warning naming the file', async () => {
    // Before: the mark became part of the first record's type ("\uFEFF1"), so --output-http left that request
    // out, in silence (as gor). The offsets of later records stay those of the file (a bad record's byte).
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const first = rec('a', 1n);
    const bad = Buffer.from('x\n🐵🙈🙉\n');
    for (const name of ['bom.gor', 'bom.gor.gz']) {
      const file = write(name, bom, first, bad, rec('b', 2n));
      for (const speed of [Number.POSITIVE_INFINITY, 1000]) {
        const log = memoryLogger();
        const msgs = await collect(fileInput({ patterns: [file], speed, log }));
        assert.deepEqual(
          msgs.map((m) => [m.meta.type, m.meta.id]),
          [
            ['1', 'a'],
            ['1', 'b'],
          ],
        );
        assert.ok(msgs[0]!.data.equals(Buffer.from('GET /a HTTP/1.1\r\n\r\n')));
        assert.equal(log.lines.length, 2, log.lines.join('\n'));
        assert.equal(
          log.lines[0],
          `tapline: warning: ${file}: record 1 (byte 0): the file starts with a UTF-8 byte order mark (EF BB BF), ` +
            "written by an editor or a Windows tool (Notepad, PowerShell's Out-File): skipped, the first record " +
            "is read from the byte after it (gor reads it into the record's type, so --output-http does not send " +
            'that record) (TAPLINE_ERR_BAD_RECORD)',
        );
        assert.match(log.lines[1]!, new RegExp(`record 2 \\(byte ${3 + first.length}\\)`));
      }
    }
  });

  it('CRLF record separators in a file of LF records: the merged records are said once a file and counted', async () => {
    // Before: 'x.gor' of 4 records came out as 2, as gor reads them, with no word.
    const crsep = Buffer.from('\n🐵🙈🙉\r\n');
    const strip = (b: Buffer) => b.subarray(0, b.length - 14);
    const file = write(
      'merged.gor',
      strip(rec('a', 1n)),
      crsep,
      rec('b', 2n),
      strip(rec('c', 3n)),
      crsep,
      rec('d', 4n),
    );
    for (const speed of [Number.POSITIVE_INFINITY, 1000]) {
      const log = memoryLogger();
      const input = fileInput({ patterns: [file], speed, log });
      assert.deepEqual(ids(await collect(input)), ['a', 'c']);
      assert.equal(input.stats!().merged, 2);
      assert.deepEqual(log.lines, [
        `tapline: warning: ${file}: record 1 (byte 0): holds a record separator ending in CRLF (\\n🐵🙈🙉\\r\\n, ` +
          `${strip(rec('a', 1n)).length} bytes into the record) followed by a meta line, while its own meta line ends in LF: read as ` +
          'payload, as gor reads it, so the record after it was passed on inside this one (a line ending changed by ' +
          "an editor or a tool?) (more in this file are counted only: 'merged' in the summary) (TAPLINE_ERR_BAD_RECORD)",
      ]);
    }
  });

  it('re-sorts out-of-order records within the read-depth window only', async () => {
    const file = write('unordered.gor', rec('c', 3n), rec('a', 1n), rec('b', 2n));
    assert.deepEqual(ids(await collect(fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY }))), [
      'a',
      'b',
      'c',
    ]);
    const shallow = fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY, readDepth: 1 });
    assert.deepEqual(ids(await collect(shallow)), ['c', 'a', 'b']);
    assert.equal(shallow.stats!().negative_wait, 2);
  });

  it('a timed replay of a recording that goes back in time (a burst sent at once) says so, once', async () => {
    // Two parts joined out of order (cat b.gor a.gor): the second part's 150 records are all earlier than the
    // first part's last, so gor's rule sends them at once, without their gaps; only 'negative wait' said so.
    const later = Array.from({ length: 150 }, (_, i) => rec(`a${i}`, 3_600_000n * MS + BigInt(i) * MS));
    const earlier = Array.from({ length: 150 }, (_, i) => rec(`b${i}`, BigInt(i) * MS));
    const file = write('joined.gor', ...later, ...earlier);
    const log = memoryLogger();
    const input = fileInput({ patterns: [file], speed: 100, readDepth: 10, log });
    assert.equal((await collect(input)).length, 300);
    assert.equal(input.stats!().negative_wait, 150);
    const first = later.reduce((n, r) => n + r.length, 0);
    // The window of 10 sends b0 right after a140 (a141…a149 are still in it): 1 h and 140 ms back.
    assert.deepEqual(log.lines, [
      `tapline: warning: input-file(${file}): the recording goes back in time at record 151 (byte ${first}) of ` +
        `${file}, 1h0m0.14s before the one sent last, further than --input-file-read-depth (10 records) ` +
        're-sorts: 100 records in a row so far are sent at once, without their gaps, until the timestamps pass ' +
        'where they were, as gor does (counted as negative wait). Files joined out of order? A glob of them ' +
        '(--input-file "part-*.gor") is merged by timestamp',
    ]);
    // Stragglers now and then (one record back, the next ones in order again) are normal: not said.
    const stragglers = Array.from({ length: 400 }, (_, i) =>
      rec(`s${i}`, (i % 10 === 9 ? BigInt(i - 50) : BigInt(i)) * MS),
    );
    const quiet = memoryLogger();
    const mixed = fileInput({
      patterns: [write('stragglers.gor', ...stragglers)],
      speed: 100,
      readDepth: 1,
      log: quiet,
    });
    assert.equal((await collect(mixed)).length, 400);
    assert.equal(mixed.stats!().negative_wait, 40);
    assert.deepEqual(quiet.lines, []);
  });

  it('reads gzip files (TestInputFileCompressed: 2 × 1000 records via a glob)', async () => {
    const sub = path('gz');
    mkdirSync(sub);
    for (const f of [0, 1]) {
      const records: Buffer[] = [];
      for (let i = 0; i < 1000; i++) records.push(rec(`${f}-${i}`, BigInt(i * 2 + f)));
      writeFileSync(join(sub, `requests_${f}.gz`), gzipSync(Buffer.concat(records)));
    }
    const input = fileInput({ patterns: [join(sub, 'requests_*.gz')], speed: Number.POSITIVE_INFINITY });
    const msgs = await collect(input);
    assert.equal(msgs.length, 2000);
    assert.deepEqual(ids(msgs).slice(0, 4), ['0-0', '1-0', '0-1', '1-1']);
    const stats = input.stats!();
    assert.equal(stats.bytes_read, stats.bytes_total);
  });

  it('replays the original gaps (TestInputFileRequestsWithLatency: 50 then 100 ms)', async () => {
    const file = write('latency.gor', rec('1', 100n * MS), rec('2', 150n * MS), rec('3', 250n * MS));
    const got = await timedCollect(fileInput({ patterns: [file] }));
    // The schedule is absolute: each record is due at first + Σ gaps, whatever the timer lateness before it.
    const t1 = got[1]!.at - got[0]!.at;
    const t2 = got[2]!.at - got[0]!.at;
    assert.ok(t1 >= 45 && t1 < 100, `second record after ${t1} ms, want 50`);
    assert.ok(t2 >= 145 && t2 <= 200, `third record after ${t2} ms, want 150 (gor's test: ≤ 200)`);
  });

  it('|100% keeps the original pacing within 5% (40 records 10 ms apart)', async () => {
    const file = write('pacing.gor', ...Array.from({ length: 40 }, (_, i) => rec(String(i), BigInt(i) * 10n * MS)));
    const got = await timedCollect(fileInput({ patterns: [file], speed: 1 }));
    assert.equal(got.length, 40);
    const span = got[39]!.at - got[0]!.at;
    assert.ok(Math.abs(span - 390) <= 390 * 0.05, `40 records over ${span.toFixed(1)} ms, want 390 ± 5%`);
  });

  it('|10000% replays 100,000 records spanning 100 s in about 1 s, not capped by timers', async () => {
    const records: Buffer[] = [];
    for (let i = 0; i < 100_000; i++) records.push(rec(String(i), BigInt(i) * MS));
    const file = write('fast.gor', ...records);
    const t0 = performance.now();
    let count = 0;
    for await (const batch of fileInput({ patterns: [file], speed: 100 }).read()) count += batch.length;
    const elapsed = performance.now() - t0;
    assert.equal(count, 100_000);
    assert.ok(elapsed >= 950, `too fast: ${elapsed} ms`);
    // A timer per record (≥ 1 ms each) would take ≥ 100 s; the margin is for a loaded CI machine.
    assert.ok(elapsed < 4000, `${elapsed} ms for a 1 s replay`);
  });

  it('--input-file-max-wait caps a long gap', async () => {
    const file = write('maxwait.gor', rec('1', 0n), rec('2', 3600n * 1000n * MS));
    const t0 = performance.now();
    const msgs = await collect(fileInput({ patterns: [file], maxWaitMs: 20 }));
    const elapsed = performance.now() - t0;
    assert.equal(msgs.length, 2);
    // Uncapped, the gap is an hour: any bound in seconds tells the two apart, whatever the machine's load.
    assert.ok(elapsed >= 15 && elapsed < 10_000, `${elapsed} ms`);
  });

  it('close() ends a replay that is sleeping, promptly', async () => {
    const file = write('sleepy.gor', rec('1', 0n), rec('2', 3600n * 1000n * MS));
    const input = fileInput({ patterns: [file] });
    const it = input.read()[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.length, 1);
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    await input.close();
    assert.equal((await pending).done, true);
    assert.ok(performance.now() - t0 < 100);
  });

  it('close() in the middle of a big gzip file ends quietly', async () => {
    const records: Buffer[] = [];
    for (let i = 0; i < 20_000; i++)
      records.push(rec(String(i), BigInt(i), `GET /${i}?${Math.random()} HTTP/1.1\r\n\r\n`));
    const file = write('close-mid.gz', ...records);
    const log = memoryLogger();
    const input = fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY, log });
    let count = 0;
    for await (const batch of input.read()) {
      count += batch.length;
      if (count >= 2048) await input.close();
    }
    assert.ok(count < 20_000);
    assert.deepEqual(log.lines, []);
  });

  it('--input-file-loop replays again and again (TestInputFileLoop: ≥ 1000 messages from 2 records)', async () => {
    const file = write('loop.gor', rec('1', 1n * MS), rec('2', 2n * MS));
    const input = fileInput({ patterns: [file], loop: true, speed: Number.POSITIVE_INFINITY });
    let count = 0;
    for await (const batch of input.read()) {
      count += batch.length;
      if (count >= 1000) await input.close();
    }
    assert.ok(count >= 1000);
    assert.ok((input.stats!().passes as number) >= 500);
  });

  it('--input-file-loop warns about an unchanged file’s bad records once, then counts them on every pass', async () => {
    const garbage = Buffer.from('garbage-without-meta\n🐵🙈🙉\n');
    const badTs = Buffer.from('1 bt abc 0\nGET /t HTTP/1.1\r\n\r\n\n🐵🙈🙉\n');
    const file = write('loop-bad.gor', rec('1', 1n * MS), garbage, badTs, rec('2', 2n * MS));
    const log = memoryLogger();
    const input = fileInput({ patterns: [file], loop: true, speed: Number.POSITIVE_INFINITY, log });
    let replaced = false;
    for await (const _ of input.read()) {
      const passes = input.stats!().passes as number;
      if (passes === 3 && !replaced) {
        // A changed file (another inode, size and mtime) is new: its problems are said again.
        replaced = true;
        const next = `${file}.next`;
        writeFileSync(next, Buffer.concat([rec('3', 1n * MS), garbage, garbage, rec('4', 2n * MS)]));
        renameSync(next, file);
      }
      if (passes >= 8) await input.close();
    }
    const stats = input.stats!();
    const lines = log.lines.join('\n');
    const said = (text: string) => log.lines.filter((l) => l.includes(text)).length;
    // Pass 1: the garbage record and the bad timestamp; pass 2: one line saying they came back.
    // Passes 1-3 read the first file, the rest the second: its two bad records once, and no second notice.
    assert.equal(said('record 2 (byte'), 2, lines);
    assert.equal(said('record 3 (byte'), 2, lines);
    assert.equal(said('timestamp is not a number'), 1, lines);
    assert.equal(said('pass 2 of --input-file-loop met the 2 problem(s) warned about above again'), 1, lines);
    assert.equal(log.lines.length, 5, lines);
    assert.equal(stats.skipped, 3 + 2 * ((stats.passes as number) - 3));
  });

  it('a long wait for the next record is said: what, how long, until when, and how to shorten it', async () => {
    const gap = 3n * 86_400_000n * MS; // three days between two records
    const file = write('gap.gor', rec('1', 0n), rec('2', gap), rec('3', gap + 1n * MS));
    const log = memoryLogger();
    const stop = new AbortController();
    const reading = collect(fileInput({ patterns: [file], log, signal: stop.signal, speed: 2 }));
    for (let i = 0; i < 500 && log.lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    assert.deepEqual(ids(await reading), ['1']);
    assert.equal(log.lines.length, 1, log.lines.join('\n'));
    assert.match(
      log.lines[0]!,
      /waiting 36h0m0s \(until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\) for record 2 of \S+gap\.gor: .* replayed at 200%; --input-file-max-wait caps a gap/,
    );
    // Capped by a long --input-file-max-wait: said so.
    const long = memoryLogger();
    const stopLong = new AbortController();
    const readingLong = collect(
      fileInput({ patterns: [file], log: long, signal: stopLong.signal, maxWaitMs: 3_600_000 }),
    );
    for (let i = 0; i < 500 && long.lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    stopLong.abort();
    await readingLong;
    assert.match(long.lines[0] ?? '', /waiting 1h0m0s .* the wait capped by --input-file-max-wait; a smaller cap/);
    // Capped by --input-file-max-wait, the same gap is a short wait: nothing to say.
    const capped = memoryLogger();
    const all = await collect(fileInput({ patterns: [file], log: capped, maxWaitMs: 20 }));
    assert.deepEqual(ids(all), ['1', '2', '3']);
    assert.deepEqual(capped.lines, []);
  });

  it('--input-file-loop whose files went away says so: the pass, and what the pass before read', async () => {
    const sub = path('gone');
    mkdirSync(sub);
    writeFileSync(join(sub, 'a.gor'), Buffer.concat([rec('1', 1n * MS), rec('2', 2n * MS)]));
    const input = fileInput({ patterns: [join(sub, '*.gor')], loop: true, speed: Number.POSITIVE_INFINITY });
    const { msgs, error } = await (async () => {
      const got: Message[] = [];
      try {
        for await (const batch of input.read()) {
          got.push(...batch);
          if ((input.stats!().passes as number) === 2) rmSync(join(sub, 'a.gor'));
        }
      } catch (err) {
        return { msgs: got, error: err };
      }
      return { msgs: got, error: undefined };
    })();
    assert.equal(msgs.length, 4);
    assert.ok(error instanceof TaplineError);
    assert.match(
      error.message,
      /no file matches ".*gone\/\*\.gor" any more: pass 3 of --input-file-loop found nothing where pass 2 read 1 file/,
    );
  });

  it('--input-file-loop restarts the timing (no wait between passes)', async () => {
    const file = write('loop-timing.gor', rec('1', 0n), rec('2', 30n * MS));
    const input = fileInput({ patterns: [file], loop: true });
    const t0 = performance.now();
    let count = 0;
    for await (const batch of input.read()) {
      count += batch.length;
      if (count >= 6) await input.close();
    }
    const elapsed = performance.now() - t0;
    // At least the three 30 ms gaps: a clock not restarted would find pass 2's records overdue and send them at
    // once (about 30 ms in all). The upper bound only catches a wait between passes of a second or more (two
    // such waits); it was 200 ms, which a loaded machine (load 11) passed with 317 ms.
    assert.ok(elapsed >= 85, `3 passes of one 30 ms gap took ${elapsed} ms: the gaps were not all kept`);
    assert.ok(elapsed < 2_000, `3 passes of one 30 ms gap took ${elapsed} ms: a wait between passes?`);
  });

  it('dry-run prints gor’s report, emits nothing and does not sleep', async () => {
    const a = write('dry-a.gor', rec('1', 100n * MS), rec('3', 250n * MS), rec('4', 120n * MS));
    const b = write('dry-b.gor', rec('2', 150n * MS), rec('5', 1250n * MS));
    let report = '';
    const input = fileInput({
      patterns: [a, b],
      dryRun: true,
      readDepth: 1,
      report: (t) => {
        report += t;
      },
    });
    const t0 = performance.now();
    assert.deepEqual(await collect(input), []);
    assert.ok(performance.now() - t0 < 500);
    const bytes =
      recordBytes('1', 100n * MS) +
      recordBytes('3', 250n * MS) +
      recordBytes('4', 120n * MS) +
      recordBytes('2', 150n * MS) +
      recordBytes('5', 1250n * MS);
    assert.equal(
      report,
      `Records found: 5\nFiles processed: 2\nBytes processed: ${bytes}\nMax wait: 1s\nMin wait: 50ms\nFirst wait: 50ms\n` +
        'It will take `1.15s` to replay at current speed.\nFound 1 records with out of order timestamp\n',
    );
  });

  it('dry-run applies the speed factor and max-wait', async () => {
    const file = write('dry-speed.gor', rec('1', 0n), rec('2', 100n * MS), rec('3', 10_100n * MS));
    let report = '';
    const input = fileInput({
      patterns: [file],
      dryRun: true,
      speed: 2,
      maxWaitMs: 1000,
      report: (t) => {
        report += t;
      },
    });
    await collect(input);
    assert.match(report, /Max wait: 1s\nMin wait: 50ms\nFirst wait: 100ms\nIt will take `1.05s` to replay/);
  });

  it('a missing file or a pattern matching nothing is a FILE_IO error naming it', async () => {
    const missing = join(dir, 'does-not-exist.gor');
    await assert.rejects(collect(fileInput({ patterns: [missing] })), (err: TaplineError) => {
      assert.equal(err.code, ERROR_CODES.FILE_IO);
      assert.match(err.message, /does-not-exist\.gor/);
      return true;
    });
    await assert.rejects(collect(fileInput({ patterns: [join(dir, 'nothing-*.gor')] })), (err: TaplineError) => {
      assert.equal(err.code, ERROR_CODES.FILE_IO);
      assert.match(err.message, /no file matches .*nothing-\*\.gor/);
      return true;
    });
  });

  it('a pattern matching nothing that is itself a file’s name (a[1].gor) says how to read that file', async () => {
    // '[1]' is a set of characters: the pattern matches a1.gor, not a[1].gor. It said only 'no file matches'.
    const literal = write('a[1]b?.gor', rec('1', 1n));
    await assert.rejects(collect(fileInput({ patterns: [literal] })), (err: TaplineError) => {
      assert.equal(err.code, ERROR_CODES.FILE_IO);
      const escaped = literal.replace(/[[?]/g, (c) => `\\${c}`);
      assert.equal(
        err.message,
        `no file matches ${JSON.stringify(literal)}; a file has that very name, but * ? [ and \\ are glob ` +
          `characters here (as in gor): to read it, escape them with \\ ('${escaped}')`,
      );
      return true;
    });
    // And the escaped pattern the error gives reads it.
    const escaped = literal.replace(/[[?]/g, (c) => `\\${c}`);
    assert.deepEqual(ids(await collect(fileInput({ patterns: [escaped] }))), ['1']);
  });

  it('bad option values are USAGE errors naming the flag', () => {
    assert.throws(
      () => fileInput({ patterns: ['x'], readDepth: 0 }),
      (e: TaplineError) => e.code === ERROR_CODES.USAGE && e.where === '--input-file-read-depth',
    );
    assert.throws(
      () => fileInput({ patterns: ['x'], speed: 0 }),
      (e: TaplineError) => e.code === ERROR_CODES.USAGE && e.where === '--input-file',
    );
    assert.throws(
      () => fileInput({ patterns: ['x[.gor'] }),
      (e: TaplineError) => e.code === ERROR_CODES.USAGE && e.where === '--input-file',
    );
  });

  it('a record after blank lines (its first line empty) is skipped with a warning that says so', async () => {
    // gor loses it too; the warning read 'meta line needs at least 3 space-separated fields …, got 1: ""'.
    const first = rec('1', 1n);
    const file = write('blank-lines.gor', first, Buffer.from('\n\n'), rec('2', 2n), rec('3', 3n));
    for (const speed of [1, Number.POSITIVE_INFINITY]) {
      const log = memoryLogger();
      const input = fileInput({ patterns: [file], speed, log });
      assert.deepEqual(ids(await collect(input)), ['1', '3']);
      assert.deepEqual(log.lines, [
        `tapline: warning: ${file}: record 2 (byte ${first.length}): the record starts with an empty line where its ` +
          'meta line (type id timestamp) should be: a blank line after the record separator before it? (the record ' +
          'is skipped whole, as gor skips it) (TAPLINE_ERR_BAD_RECORD)',
      ]);
    }
  });

  it('a corrupt record is skipped with a warning naming the file, record and offset; the rest is read', async () => {
    const good1 = rec('1', 1n);
    const file = write('corrupt.gor', good1, Buffer.from('garbage-without-meta\n🐵🙈🙉\n'), rec('3', 3n));
    const log = memoryLogger();
    const input = fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY, log });
    assert.deepEqual(ids(await collect(input)), ['1', '3']);
    assert.equal(input.stats!().skipped, 1);
    assert.equal(log.lines.length, 1);
    assert.ok(log.lines[0]!.includes(`${file}: record 2 (byte ${good1.length})`), log.lines[0]);
  });

  it('an unterminated last record is read and counted', async () => {
    const file = write('unterminated.gor', rec('1', 1n), Buffer.from('1 2 2 0\nGET /last HTTP/1.1\r\n\r\n'));
    const log = memoryLogger();
    const input = fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY, log });
    assert.deepEqual(ids(await collect(input)), ['1', '2']);
    assert.equal(input.stats!().unterminated, 1);
    assert.match(log.lines[0]!, /record 2/);
  });

  it('a truncated gzip file: a warning, and the records before the damage are emitted', async () => {
    const records: Buffer[] = [];
    for (let i = 0; i < 2000; i++)
      records.push(rec(String(i), BigInt(i), `GET /${i}?${Math.random()} HTTP/1.1\r\n\r\n`));
    const whole = gzipSync(Buffer.concat(records));
    const p = path('truncated.gz');
    writeFileSync(p, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const log = memoryLogger();
    const input = fileInput({ patterns: [p], speed: Number.POSITIVE_INFINITY, log });
    const { msgs, error } = await collectUntilError(input);
    assert.ok(msgs.length > 100 && msgs.length < 2000, `${msgs.length} records`);
    assert.deepEqual(
      ids(msgs),
      Array.from({ length: msgs.length }, (_, i) => String(i)),
    );
    assert.equal(input.stats!().file_errors, 1);
    // The count said is the count passed on (it was the count taken so far, before the read-ahead window).
    assert.match(
      log.lines.join('\n'),
      new RegExp(
        `truncated\\.gz: cannot read to the end: the gzip stream is truncated \\(at byte \\d+ of the decompressed data, ` +
          `near byte ${Math.floor(whole.length * 0.6)} of the file\\); the ${msgs.length} records before the error are passed on`,
      ),
    );
    // Then the input fails, so the run exits 1, as cat or gzip -d would.
    assert.ok(error instanceof TaplineError && error.code === ERROR_CODES.FILE_IO, String(error));
    assert.match(error.message, /1 file could not be read to the end/);
  });

  it('a file truncated by another process while it is read (a timed replay: reads, no mapping) is said', async () => {
    // All at one time: a timed replay with no waits. It ended at the cut in silence, as gor does, or with a
    // misleading 'record has no payload' for the piece of a meta line read last.
    const records = Array.from({ length: 40_000 }, (_, i) => rec(String(i), 5n * MS));
    const file = write('cut-while-read.gor', ...records);
    const size = records.reduce((n, r) => n + r.length, 0);
    const log = memoryLogger();
    const input = fileInput({ patterns: [file], speed: 1, log });
    let seen = 0;
    const reading = async () => {
      for await (const batch of input.read()) {
        if (seen === 0) truncateSync(file, 1000);
        seen += batch.length;
      }
    };
    await assert.rejects(reading(), /1 file could not be read to the end/);
    assert.ok(seen > 0 && seen < records.length, `read ${seen} of ${records.length} records`);
    assert.equal(input.stats!().file_errors, 1);
    assert.match(
      log.lines.join('\n'),
      new RegExp(
        `cut-while-read\\.gor: cannot read to the end: the file was truncated by another process while it was ` +
          `read: it held ${size} bytes when the replay started \\(at byte \\d+\\); the ${seen} records before the error are passed on`,
      ),
    );
  });

  it('a damaged gzip file: every record decoded before the damaged byte is passed on (zlib dropped up to 64 KiB)', async () => {
    const records = Array.from({ length: 3000 }, (_, i) =>
      rec(String(i), BigInt(i), `GET /${i}?${Math.random()} HTTP/1.1\r\nHost: damaged\r\n\r\n`),
    );
    const { bytes, damage, decodedBefore, wholeRecords } = await damagedGzip(records);
    const p = path('damaged.gor.gz');
    writeFileSync(p, bytes);
    assert.ok(wholeRecords > 1000 && wholeRecords < 3000, `${wholeRecords} records before the damage`);
    const log = memoryLogger();
    const input = fileInput({ patterns: [p], speed: Number.POSITIVE_INFINITY, log });
    const { msgs, error } = await collectUntilError(input);
    assert.deepEqual(
      ids(msgs),
      Array.from({ length: wholeRecords }, (_, i) => String(i)),
    );
    assert.match(
      log.lines.join('\n'),
      new RegExp(
        `damaged\\.gor\\.gz: cannot read to the end: not valid gzip data \\(invalid block type \\(Z_DATA_ERROR\\)\\) ` +
          `\\(at byte ${decodedBefore} of the decompressed data, near byte ${damage} of the file\\); ` +
          `the ${wholeRecords} records before the error are passed on`,
      ),
    );
    assert.ok(error instanceof TaplineError && error.code === ERROR_CODES.FILE_IO, String(error));
  });

  it('records bigger than fileSourceLimits.deferAbove are read again whole: the same messages, runs and warnings', async () => {
    // Big records (read in pieces of up to 1 MiB, or mapped at |max) among small ones, one with CRLF endings,
    // and a last one cut short.
    const big = (id: string, n: number) => rec(id, BigInt(id), `POST /${id} HTTP/1.1\r\n\r\n${'x'.repeat(n)}`);
    const crlf = Buffer.from(`1 c 7 0\r\nPOST /crlf HTTP/1.1\r\n\r\n${'y'.repeat(300_000)}\r\n🐵🙈🙉\r\n`);
    const parts = [rec('1', 1n), big('2', 3_000_000), rec('3', 3n), big('4', 2_500_000), crlf, rec('5', 5n)];
    const p = write('deferred.gor', ...parts, big('6', 1_500_000).subarray(0, 1_400_000));
    const read = async (speed: number, runs: boolean, deferAbove: number) => {
      const saved = fileSourceLimits.deferAbove;
      fileSourceLimits.deferAbove = deferAbove;
      try {
        const log = memoryLogger();
        const input = fileInput({ patterns: [p], speed, log });
        const msgs: Message[] = [];
        let error: unknown;
        try {
          const items = runs && input.readRuns ? input.readRuns() : input.read();
          for await (const item of items) msgs.push(...(isRawRun(item) ? item.records() : item));
        } catch (err) {
          error = err;
        }
        const seen = msgs.map((m) => [m.meta.line, m.data.length, m.data.subarray(-20).toString('latin1')]);
        return { seen, log: log.lines, stats: input.stats!(), error: String(error) };
      } finally {
        fileSourceLimits.deferAbove = saved;
      }
    };
    for (const [speed, runs] of [
      [Number.POSITIVE_INFINITY, true],
      [Number.POSITIVE_INFINITY, false],
      [100_000, false],
    ] as [number, boolean][]) {
      const deferred = await read(speed, runs, 200_000);
      const held = await read(speed, runs, Number.POSITIVE_INFINITY);
      assert.equal(deferred.seen.length, 7, JSON.stringify(deferred.log));
      assert.deepEqual(deferred, held);
    }
  });

  it('a file that is not gzip but named .gz: a warning, no crash', async () => {
    const p = write('fake.gz', rec('1', 1n));
    writeFileSync(p, rec('1', 1n));
    const log = memoryLogger();
    const input = fileInput({ patterns: [p], speed: Number.POSITIVE_INFINITY, log });
    const { msgs, error } = await collectUntilError(input);
    assert.deepEqual(msgs, []);
    assert.match(log.lines.join('\n'), /fake\.gz: cannot read: not valid gzip data/);
    assert.match(String(error), /1 file could not be read to the end/);
  });

  it('an unreadable match (a directory) is warned about; the other files are read', async () => {
    const sub = path('with-dir');
    mkdirSync(sub);
    writeFileSync(join(sub, 'a.gor'), rec('1', 1n));
    mkdirSync(join(sub, 'b.gor'));
    writeFileSync(join(sub, 'c.gor'), rec('2', 2n));
    const log = memoryLogger();
    const input = fileInput({ patterns: [join(sub, '*.gor')], speed: Number.POSITIVE_INFINITY, log });
    const { msgs, error } = await collectUntilError(input);
    assert.deepEqual(ids(msgs), ['1', '2']);
    assert.match(String(error), /1 file could not be read to the end/);
    assert.equal(input.stats!().file_errors, 1);
    assert.match(log.lines.join('\n'), /b\.gor: cannot read: it is a directory/);
  });

  it('records with a non-numeric timestamp are emitted in place without waiting, and counted', async () => {
    const odd = Buffer.from(`1 b notanumber 0\nGET /b HTTP/1.1\r\n\r\n\n🐵🙈🙉\n`);
    const file = write('badts.gor', rec('a', 10n * MS), odd, rec('c', 20n * MS));
    const log = memoryLogger();
    const input = fileInput({ patterns: [file], log });
    const t0 = performance.now();
    assert.deepEqual(ids(await collect(input)), ['a', 'b', 'c']);
    assert.ok(performance.now() - t0 < 500);
    assert.equal(input.stats!().bad_timestamp, 1);
    // Said, with where: the file, the record number and its offset (the second record starts after the first).
    const first = rec('a', 10n * MS).length;
    assert.match(
      log.lines.join('\n'),
      new RegExp(`badts\\.gor: record 2 \\(byte ${first}\\): the meta line's timestamp is not a number`),
    );
  });

  it('at |max, records with a non-numeric timestamp in a raw run are warned about with the file', async () => {
    const records0: Buffer[] = [];
    for (let i = 0; i < 300; i++) records0.push(rec(`r${i}`, BigInt(i + 1) * MS));
    records0.splice(150, 0, Buffer.from(`1 odd notanumber 0\nGET /odd HTTP/1.1\r\n\r\n\n🐵🙈🙉\n`));
    const file = write('badts-max.gor', ...records0);
    const log = memoryLogger();
    const input = fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY, log });
    let records = 0;
    let runs = 0;
    for await (const item of input.readRuns!()) {
      if (!isRawRun(item)) records += item.length;
      else {
        runs++;
        records += item.count;
      }
    }
    assert.ok(runs > 0, 'read as raw runs');
    assert.equal(records, 301);
    assert.equal(input.stats!().bad_timestamp, 1);
    const at = Buffer.concat(records0.slice(0, 150)).length;
    assert.match(
      log.lines.join('\n'),
      new RegExp(`badts-max\\.gor: record 151 \\(byte ${at}\\): the meta line's timestamp is not`),
    );
  });

  for (const [format, magic] of [
    ['pcap', 'd4c3b2a1'],
    ['pcap', 'a1b23c4d'],
    ['pcapng', '0a0d0d0a'],
  ] as const) {
    it(`a ${format} capture given as --input-file (magic ${magic}) is refused with the way to read it`, async () => {
      // Read leniently as gor reads, it came out as one record of junk, passed on with exit 0.
      const p = path(`capture-${magic}.${format}`);
      writeFileSync(p, Buffer.concat([Buffer.from(magic, 'hex'), Buffer.from(' 1 2 3\nnot a gor record at all')]));
      const log = memoryLogger();
      const input = fileInput({ patterns: [p], speed: Number.POSITIVE_INFINITY, log });
      const { msgs, error } = await collectUntilError(input);
      assert.deepEqual(msgs, []);
      assert.match(
        log.lines.join('\n'),
        new RegExp(
          `capture-${magic}\\.${format}: cannot read: it is a ${format} capture, not a \\.gor file: read it with --input-raw .*:PORT --input-raw-engine pcap_file`,
        ),
      );
      assert.match(String(error), /1 file could not be read to the end/);
    });
  }

  it('gzip data in a file not named .gz: the warning says so; no readable record fails the input', async () => {
    const p = path('packed.gor');
    writeFileSync(p, gzipSync(Buffer.concat([rec('1', 1n), rec('2', 2n)])));
    const log = memoryLogger();
    const input = fileInput({ patterns: [p], speed: Number.POSITIVE_INFINITY, log });
    const { msgs, error } = await collectUntilError(input);
    assert.deepEqual(msgs, []);
    assert.match(
      log.lines.join('\n'),
      /packed\.gor: record 1 \(byte 0\): .*the file starts like gzip data: name it \*\.gz/,
    );
    assert.ok(error instanceof TaplineError && error.code === ERROR_CODES.BAD_RECORD, String(error));
    assert.match(error.message, /not one readable \.gor record: 1 skipped/);
  });

  it('stopped while waiting for a record: what was passed on is what is counted as read', async () => {
    const file = write('stop-wait.gor', rec('a', 0n), rec('b', 10_000n * MS));
    const input = fileInput({ patterns: [file] });
    const seen: Message[] = [];
    for await (const batch of input.read()) {
      seen.push(...batch);
      setTimeout(() => void input.close(), 100);
    }
    assert.deepEqual(ids(seen), ['a']);
    // 'b' was not due when the stop came: not sent, so not counted (the count said 2, one more than passed on).
    assert.equal(input.stats!().records, 1);
    assert.equal(input.stats!().bytes, recordBytes('a', 0n));
  });

  it('stats give what a progress line needs', async () => {
    const file = write('stats.gor', rec('1', 1n), rec('2', 2n));
    const input = fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY });
    await collect(input);
    const s = input.stats!();
    assert.equal(s.records, 2);
    assert.equal(s.bytes_total, rec('1', 1n).length * 2);
    assert.equal(s.bytes_read, s.bytes_total);
    assert.equal(s.bytes, recordBytes('1', 1n) + recordBytes('2', 2n));
    assert.equal(s.files, 1);
  });

  describe('plugin', () => {
    const flagSet = (values: Record<string, string | boolean | number>) =>
      new FlagSet(new Map(Object.entries(fileInputPlugin.flags)), new Map(Object.entries(values)));
    const ctx = { log: memoryLogger(), signal: new AbortController().signal };

    it('declares its flags with gor’s defaults', () => {
      const f = flagSet({});
      assert.equal(f.number('input-file-read-depth'), 100);
      assert.equal(f.number('input-file-max-wait'), 0);
      assert.equal(f.bool('input-file-loop'), false);
      assert.equal(fileInputPlugin.ownsLimit, true);
      for (const spec of Object.values(fileInputPlugin.flags)) assert.equal(spec.section, 'Files');
    });

    it('|N% is a speed, and the flags reach the input', async () => {
      // A 2 s gap: 200 ms at 10×, 2 s if the speed were lost; bounds a loaded machine cannot cross.
      const file = write('plugin.gor', rec('1', 0n), rec('2', 2000n * MS));
      const input = await fileInputPlugin.create({
        address: file,
        limit: { kind: 'percent', percent: 1000 },
        flags: flagSet({ 'input-file-read-depth': 5 }),
        ctx,
      });
      const t0 = performance.now();
      assert.equal((await collect(input)).length, 2);
      const elapsed = performance.now() - t0;
      assert.ok(elapsed >= 180 && elapsed < 1_500, `${elapsed} ms at 10×`);
    });

    /** A `|perSecond` input over `records`, and its log. */
    const rateInput = async (name: string, records: Buffer[], perSecond: number) => {
      const file = write(name, ...records);
      const log = memoryLogger();
      const limit = { kind: 'rate', perSecond } as const;
      const input = await fileInputPlugin.create({ address: file, limit, flags: flagSet({}), ctx: { ...ctx, log } });
      return { file, log, msgs: await collect(input) };
    };

    it('|N drops beyond N a second, as gor does, and says so once at the first drop', async () => {
      const records = Array.from({ length: 20 }, (_, i) => rec(String(i), BigInt(i)));
      const { file, log, msgs } = await rateInput('plugin-rate.gor', records, 5);
      assert.equal(msgs.length, 5);
      // `|5` written for `|5%` dropped 15 of 20 with no word but the summary's count.
      assert.deepEqual(log.lines, [
        `tapline: warning: input-file(${file}|5): |5 is a rate limit: at most 5 requests a second pass, the others ` +
          "are dropped, not delayed, as in gor (the summary counts them as 'limit dropped'); a replay speed is " +
          'written with %: |5% (|max does not wait)',
      ]);
    });

    it('|0 drops every request, as gor does, and says so (no batch comes out to carry a notice)', async () => {
      const { log, msgs } = await rateInput('plugin-rate0.gor', [rec('1', 1n), rec('2', 2n)], 0);
      assert.equal(msgs.length, 0);
      assert.equal(log.lines.length, 1);
      assert.match(
        log.lines[0]!,
        /\|0 lets no request through: every one is dropped, as in gor .*for no limit leave \|0 out/,
      );
    });

    it('|N says nothing while it drops nothing', async () => {
      const { log, msgs } = await rateInput('plugin-rate-ok.gor', [rec('1', 1n), rec('2', 2n)], 100);
      assert.equal(msgs.length, 2);
      assert.deepEqual(log.lines, []);
    });
  });
});
