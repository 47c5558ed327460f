/** The CLI as a user meets it: help, usage errors, bad files, signals, --exit-after, --stats, profiling. */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { encodeRecord, SEPARATOR } from '../../src/core/gor-format.js';
import { makeMeta } from '../../src/core/message.js';
import { collect, runTapline, startTapline, waitForStderr } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-e2e-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const record = (i: number, ts = BigInt(i)) =>
  encodeRecord({
    meta: makeMeta({ type: '1', id: `id${i}`, timestampNs: ts, latencyNs: 0n }),
    data: Buffer.from(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`),
  });
const countRecords = (b: Buffer) => b.toString('latin1').split(SEPARATOR.toString('latin1')).length - 1;

describe('help and usage errors', () => {
  it('--version prints the package version, exits 0', async () => {
    const res = await runTapline(['--version']);
    assert.equal(res.code, 0);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(res.stdout.toString(), `tapline ${pkg.version}\n`);
  });

  it('--help lists every flag, marks the ones not built yet, exits 0', async () => {
    const res = await runTapline(['--help']);
    assert.equal(res.code, 0);
    const text = res.stdout.toString();
    for (const flag of [
      '--input-file',
      '--output-file-append',
      '--output-http',
      '--input-raw',
      '--middleware',
      '--split-output',
    ]) {
      assert.ok(text.includes(flag), flag);
    }
    assert.match(text, /--input-raw ADDR\n.*Capture HTTP traffic/);
    assert.match(text, /--middleware CMD\n.*Run CMD/);
    assert.match(text, /--recognize-tcp-sessions\n.*not built yet/);
    // Why, and what to do instead: a gor PRO flag that open-source gor ignores too.
    assert.match(text, /--recognize-tcp-sessions\n.*\(gor PRO only: open-source gor .* runs without it/);
  });

  it('an unknown flag exits 2 naming it', async () => {
    const res = await runTapline(['--input-file', 'x.gor', '--output-nul']);
    assert.equal(res.code, 2);
    assert.match(
      res.stderr,
      /error: --output-nul: unknown flag \(did you mean --output-null\?\) \(TAPLINE_ERR_USAGE\)/,
    );
    assert.doesNotMatch(res.stderr, /at .*\.ts:\d+/, 'no stack trace');
  });

  it('flags after a lone -- (gor ignores them without a word) exit 2, saying to remove the --', async () => {
    const res = await runTapline(['--input-file', 'x.gor', '--output-null', '--', '--output-stdout']);
    assert.equal(res.code, 2);
    assert.match(
      res.stderr,
      /error: --: unexpected arguments after --: --output-stdout \(tapline takes no arguments after a lone --, and gor ignores them without a word; to use them as flags, remove the --\) \(TAPLINE_ERR_USAGE\)/,
    );
  });

  it('a gor flag that is not built yet exits 2 naming it, never ignored', async () => {
    const res = await runTapline(['--input-dummy', 'x', '--output-null', '--recognize-tcp-sessions']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--recognize-tcp-sessions: gor's --recognize-tcp-sessions is not built yet in tapline/);
    // Why (gor PRO; open-source gor runs without it) and what to do: leave it out, or read docs/compat.md.
    assert.match(
      res.stderr,
      /\(gor PRO only: .* runs without it, so leaving it out changes nothing\); remove it, or see docs\/compat\.md/,
    );
  });

  it("gor's silent-truncation trap is an error: --split-output true", async () => {
    const res = await runTapline(['--input-dummy', 'x', '--split-output', 'true', '--output-null']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unexpected argument "true".*--split-output=true/);
  });

  it('no output: exit 2 with an example', async () => {
    const res = await runTapline(['--input-dummy', 'x']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /at least 1 input and 1 output are required/);
  });

  it("a number out of its flag's range exits 2 naming flag, value and bound (no silent clamp)", async () => {
    const run = await runTapline(['--input-dummy', 'x', '--output-null', '--stats', '--stats-interval', '-5s']);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /--stats-interval: "-5s" is below the smallest value accepted, 10ms \(TAPLINE_ERR_USAGE\)/,
    );
    const report = await runTapline(['report', '--top', '0', 'x.gor']);
    assert.equal(report.code, 2);
    assert.match(report.stderr, /--top: "0" is below the smallest value accepted, 1/);
    // A period longer than node's timers hold fired every millisecond.
    const period = await runTapline(['--input-dummy', 'x', '--output-null', '--output-http-stats-ms', '3000000000']);
    assert.equal(period.code, 2);
    assert.match(period.stderr, /--output-http-stats-ms: "3000000000" is above the largest value accepted, 2147483647/);
  });

  it('a malformed target URL is a usage error: exit 2 naming flag and address', async () => {
    const res = await runTapline(['--input-dummy', 'x', '--output-http', 'http://:80']);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /--output-http: not a URL: "http:\/\/:80".*TAPLINE_ERR_BAD_ADDRESS/);
    assert.match(res.stderr, /run "tapline --help"/);
  });

  it('a bad limit suffix: exit 2', async () => {
    const res = await runTapline(['--input-dummy', 'x', '--output-http', 'http://127.0.0.1:1|%10']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--output-http http:\/\/127\.0\.0\.1:1\|%10: invalid limit "%10"/);
  });

  it('a speed gor reads otherwise (|0.5%, |1e3%, |0%): exit 2 naming flag, value and what gor does', async () => {
    const file = join(dir, 'speeds.gor');
    writeFileSync(file, Buffer.concat([record(1, 0n), record(2, 60_000_000_000n)]));
    // |0.5% waited 200 s a record where gor, reading 0, does not wait; |1e3% was taken as 1000%, gor's 0.
    const half = await runTapline(['--input-file', `${file}|0.5%`, '--output-null', '--exit-after', '5s']);
    assert.equal(half.code, 2, half.stderr);
    assert.match(half.stderr, /--input-file .*speeds\.gor\|0\.5%: invalid limit "0\.5%": "0\.5" is not a whole number/);
    const e3 = await runTapline(['--input-file', `${file}|1e3%`, '--output-null', '--exit-after', '5s']);
    assert.equal(e3.code, 2, e3.stderr);
    assert.match(e3.stderr, /write \|1000%/);
    const zero = await runTapline(['--input-file', `${file}|0%`, '--output-null', '--exit-after', '5s']);
    assert.equal(zero.code, 2, zero.stderr);
    assert.match(
      zero.stderr,
      /--input-file .*speeds\.gor\|0%: a speed of 0%: gor divides each wait by 0.*\|max is that/,
    );
    const s3 = await runTapline(['--input-file', 's3://bucket/prefix|0%', '--output-null', '--exit-after', '5s']);
    assert.equal(s3.code, 2, s3.stderr);
    assert.match(s3.stderr, /--input-file s3:\/\/bucket\/prefix\|0%: a speed of 0%/);
  });
});

describe('bad files', () => {
  it('a missing file: exit 1, the pattern named', async () => {
    const res = await runTapline(['--input-file', join(dir, 'nope*.gor'), '--output-null']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /nope\*\.gor/);
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
  });

  it('an empty --input-file (an unset shell variable) is a usage error saying so, not "file not found: "', async () => {
    const res = await runTapline(['--input-file', '', '--output-null']);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /--input-file: the file name is empty/);
  });

  it('a directory named as --input-file: exit 1 with the glob to use instead', async () => {
    const folder = join(dir, 'recordings');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'a.gor'), Buffer.concat([record(1), record(2)]));
    const named = await runTapline(['--input-file', `${folder}/`, '--output-null']);
    assert.equal(named.code, 1, named.stderr);
    assert.match(named.stderr, /recordings\/ is a directory; name the files in it \(e\.g\. ".*recordings\/\*\.gor"\)/);
    const globbed = await runTapline(['--input-file', `${folder}/*.gor`, '--output-null']);
    assert.equal(globbed.code, 0, globbed.stderr);
    assert.match(globbed.stderr, /output-null: 2 written/);
  });

  it('corrupt, CRLF and garbage records: good ones processed, each problem named with record and offset', async () => {
    const good1 = record(1);
    const bad = Buffer.from('garbage\nxx\n🐵🙈🙉\n');
    const good2 = record(2);
    const binary = Buffer.alloc(10_000, 0xfe);
    const file = join(dir, 'corrupt.gor');
    writeFileSync(file, Buffer.concat([good1, bad, good2, binary, SEPARATOR, record(3)]));
    const out = join(dir, 'corrupt-out.gor');
    const res = await runTapline(['--input-file', `${file}|max`, '--output-file', out, '--output-file-append']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(countRecords(readFileSync(out)), 3);
    assert.match(res.stderr, new RegExp(`corrupt\\.gor: record 2 \\(byte ${good1.length}\\)`));
    assert.match(res.stderr, /record 4 \(byte \d+\)/);
    assert.match(res.stderr, /skipped 2/);
  });

  it('a truncated gzip file: the records before the damage are replayed, the damage reported', async () => {
    const { gzipSync } = await import('node:zlib');
    const body = Buffer.concat(Array.from({ length: 200 }, (_, i) => record(i)));
    const gz = gzipSync(body);
    const file = join(dir, 'cut.gor.gz');
    writeFileSync(file, gz.subarray(0, Math.floor(gz.length * 0.6)));
    const out = join(dir, 'cut-out.gor');
    const res = await runTapline(['--input-file', `${file}|max`, '--output-file', out, '--output-file-append']);
    const n = countRecords(readFileSync(out));
    assert.ok(n > 10 && n < 200, `got ${n} records`);
    assert.match(res.stderr, /cut\.gor\.gz/);
  });

  it('an unwritable output path: exit 1 with a clear error', async () => {
    const src = join(dir, 'ok.gor');
    writeFileSync(src, record(1));
    const res = await runTapline([
      '--input-file',
      src,
      '--output-file',
      '/proc/tapline-nope/out.gor',
      '--output-file-append',
    ]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /\/proc\/tapline-nope\/out\.gor/);
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
  });

  it('an --output-file path ending in / is a usage error (exit 2); nothing is written in the directory', async () => {
    const sub = join(dir, 'slash');
    mkdirSync(sub);
    writeFileSync(join(sub, 'notes.txt'), 'mine');
    const src = join(dir, 'slash.gor');
    writeFileSync(src, Buffer.concat([record(1), record(2)]));
    const res = await runTapline(['--input-file', `${src}|max`, '--output-file', `${sub}/`]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /--output-file: ".*slash\/" names a directory, not a file/);
    assert.deepEqual(readdirSync(sub), ['notes.txt']);
  });

  it('a full disk: exit 1 naming the file, no crash', async () => {
    const src = join(dir, 'big.gor');
    writeFileSync(src, Buffer.concat(Array.from({ length: 2000 }, (_, i) => record(i))));
    const res = await runTapline(['--input-file', `${src}|max`, '--output-file', '/dev/full', '--output-file-append']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /\/dev\/full/);
    assert.match(res.stderr, /ENOSPC|no space/i);
  });
});

describe('ending a run', () => {
  it('stdout closed by its reader (`| head`) ends an endless run quietly, exit 0', async () => {
    const child = startTapline(['--input-dummy', 'x', '--output-stdout']);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin!.end();
    // Read a little, then close the pipe as `head -c` does.
    child.stdout!.once('data', () => child.stdout!.destroy());
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000); // the input never ends by itself
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(timer);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /stopped after/);
    assert.doesNotMatch(stderr, /error|EPIPE/, 'a closed pipe is not an error');
    // It ends at the first write that finds the reader gone, not at the next message (a second later): every
    // message read was written. No clock read: a run that waited would have read a pair it could not write.
    const read = /input-dummy: messages (\d+)/.exec(stderr);
    const written = /output-stdout: (\d+) written/.exec(stderr);
    assert.ok(read && written, stderr);
    assert.doesNotMatch(stderr, /not written/, 'a message was read after the pipe failed');
    assert.equal(written[1], read[1], stderr);
  });

  it('when every output has failed, the inputs are stopped: an endless input does not run on for nothing', async () => {
    const res = await runTapline(['--input-dummy', 'x', '--output-file', '/dev/full', '--output-file-append'], {
      timeoutMs: 20_000,
    });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /\/dev\/full: cannot write: no space left on device/);
    assert.match(res.stderr, /every output has stopped taking messages: the inputs are stopped/);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} flushes every output (plain and gzip) and exits 0`, async () => {
      const plain = join(dir, `sig-${signal}.gor`);
      const gz = join(dir, `sig-${signal}.gor.gz`);
      const child = startTapline([
        '--input-dummy',
        'x',
        '--output-file',
        plain,
        '--output-file',
        gz,
        '--output-file-append',
        '--output-file-flush-interval',
        '1h',
        '--verbose',
        '3',
      ]);
      // Bounds for a loaded suite, where a start takes seconds (see cli-signals.test.ts); no speed is asserted.
      const done = collect(child, 120_000);
      // --verbose 3 prints a line per message: wait until two exchanges went through, then signal.
      await waitForStderr(child, /message 2 \S+ \d+ 1[\s\S]*message 2 \S+ \d+ 1/, 60_000);
      child.kill(signal);
      const res = await done;
      assert.equal(res.code, 0, res.stderr);
      const a = readFileSync(plain);
      assert.ok(countRecords(a) >= 4, `only ${countRecords(a)} records`);
      assert.ok(a.subarray(-SEPARATOR.length).equals(SEPARATOR));
      assert.ok(gunzipSync(readFileSync(gz)).equals(a), 'the gzip file is complete and holds the same records');
      assert.match(res.stderr, new RegExp(`${signal}: stopping`));
    });
  }

  it('--exit-after stops, flushes and exits 0', async () => {
    const out = join(dir, 'exit-after.gor');
    const started = Date.now();
    const res = await runTapline([
      '--input-dummy',
      'x',
      '--output-file',
      out,
      '--output-file-append',
      '--exit-after',
      '1500ms',
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(Date.now() - started < 10_000);
    assert.equal(countRecords(readFileSync(out)), 2);
  });

  it("--input-file-dry-run prints gor's report and exits 0", async () => {
    const file = join(dir, 'dry.gor');
    writeFileSync(file, Buffer.concat([record(1, 100_000_000n), record(2, 150_000_000n), record(3, 250_000_000n)]));
    const res = await runTapline(['--input-file', file, '--input-file-dry-run', '--output-null']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(
      res.stdout.toString(),
      [
        'Records found: 3',
        'Files processed: 1',
        // gor counts meta line (with its LF) + payload: 3 × (18 + 28).
        'Bytes processed: 138',
        'Max wait: 100ms',
        'Min wait: 50ms',
        'First wait: 50ms',
        'It will take `150ms` to replay at current speed.',
        'Found 0 records with out of order timestamp',
        '',
      ].join('\n'),
    );
  });
});

describe('observability', () => {
  it("gor's queue-stats flags without --stats say they print nothing without it (was: nothing at all)", async () => {
    const file = join(dir, 'qstats.gor');
    writeFileSync(file, record(1));
    const res = await runTapline(['--input-file', file, '--output-null', '--output-http-stats', '--output-tcp-stats']);
    assert.equal(res.code, 0, res.stderr);
    for (const name of ['output-http-stats', 'output-tcp-stats']) {
      assert.match(
        res.stderr,
        new RegExp(`warning: --${name} prints gor's queue statistics only with --stats \\(as in gor\\): add --stats`),
      );
    }
    const withStats = await runTapline(['--input-file', file, '--output-null', '--output-http-stats', '--stats']);
    assert.doesNotMatch(withStats.stderr, /queue statistics only with --stats/);
  });

  it('--stats prints JSON objects on stderr', async () => {
    const file = join(dir, 'stats.gor');
    writeFileSync(file, Buffer.concat(Array.from({ length: 20 }, (_, i) => record(i))));
    const res = await runTapline([
      '--input-file',
      `${file}|max`,
      '--output-null',
      '--stats',
      '--stats-interval',
      '50ms',
    ]);
    assert.equal(res.code, 0, res.stderr);
    const objects = res.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    assert.ok(objects.length >= 1);
    const last = objects.at(-1);
    assert.equal(last.messages, 20);
    assert.equal(last.outputs['output-null'].written, 20);
  });

  it('--cpuprofile and --memprofile write V8 profiles', async () => {
    const file = join(dir, 'prof.gor');
    writeFileSync(file, record(1));
    const cpu = join(dir, 'run.cpuprofile');
    const heap = join(dir, 'run.heapsnapshot');
    const res = await runTapline(['--input-file', file, '--output-null', '--cpuprofile', cpu, '--memprofile', heap]);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(Array.isArray(JSON.parse(readFileSync(cpu, 'utf8')).nodes));
    assert.ok(existsSync(heap) && statSync(heap).size > 1000);
  });

  it('a profile path that cannot be written fails at start (exit 1), not after the run', async () => {
    // An endless input: without the check at start, the run would go on until the test's timeout.
    const res = await runTapline(['--input-dummy', 'x', '--output-null', '--cpuprofile', join(dir, 'no-dir', 'p')], {
      timeoutMs: 20_000,
    });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /--cpuprofile: cannot write .*no-dir\/p: ENOENT/);
  });

  it('one file for --cpuprofile and --memprofile is a usage error at start (the heap snapshot replaced the profile)', async () => {
    const same = join(dir, 'same.prof');
    const res = await runTapline(['--input-dummy', 'x', '--output-null', '--cpuprofile', same, '--memprofile', same], {
      timeoutMs: 20_000,
    });
    assert.equal(res.code, 2, res.stderr);
    assert.match(
      res.stderr,
      /error: --memprofile: \S+same\.prof is also --cpuprofile's file: the heap snapshot would replace the CPU profile; give each its own file \(TAPLINE_ERR_USAGE\)/,
    );
  });

  it('--http-pprof serves live counters on loopback, and says where without --verbose', async () => {
    // The address was an info line (--verbose 1 only): with ':0' a user had no way to find the port.
    const child = startTapline(['--input-dummy', 'x', '--output-null', '--http-pprof', ':0']);
    const done = collect(child, 120_000);
    let seen = '';
    child.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
    });
    await waitForStderr(child, /debug endpoints on http:\/\/127\.0\.0\.1:\d+/, 60_000);
    const url = /debug endpoints on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen)![1]!;
    const vars = (await (await fetch(`${url}/debug/vars`)).json()) as { outputs: Record<string, unknown> };
    assert.ok('outputs' in vars && 'output-null' in vars.outputs);
    child.kill('SIGTERM');
    assert.equal((await done).code, 0);
  });
});
