/**
 * `tapline report` reading from a pipe: `-` (standard input), `/dev/stdin`, a FIFO. These used to fail with
 * `cannot read: ESPIPE: invalid seek` (the kind was sniffed by a read at offset 0). The report over a pipe
 * must equal the report over the same file, field by field, for .gor, .gor.gz and pcap; a signal while the
 * writer is idle gives the partial report and exit 130 at once.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildPcap } from '../../src/capture/pcap-writer.js';
import { encodeRecord } from '../../src/core/gor-format.js';
import { makeMeta } from '../../src/core/message.js';
import { timed, turns } from '../../src/inputs/raw/testkit.js';
import { cliArgv, collect, noScript, readIfThere, runTapline, startTapline, waitFor } from '../support/cli.js';
import { REPO_ROOT } from '../support/corpus.js';

const T0 = 1_700_000_000n * 1_000_000_000n;

/** `count` exchanges of about 1 KiB (request and response records). */
function gorRecords(count: number): Buffer {
  const parts: Buffer[] = [];
  for (let n = 0; n < count; n++) {
    const id = n.toString(16).padStart(24, '0');
    const at = T0 + BigInt(n) * 1_000_000n;
    const req = Buffer.from(`GET /items/${n % 40} HTTP/1.1\r\nHost: shop.test\r\n\r\n`);
    const res = Buffer.from(`HTTP/1.1 ${n % 7 === 0 ? 404 : 200} OK\r\nContent-Length: 900\r\n\r\n${'x'.repeat(900)}`);
    parts.push(encodeRecord({ meta: makeMeta({ type: '1', id, timestampNs: at, latencyNs: 0n }), data: req }));
    parts.push(
      encodeRecord({ meta: makeMeta({ type: '2', id, timestampNs: at + 3_000_000n, latencyNs: 0n }), data: res }),
    );
  }
  return Buffer.concat(parts);
}

const EXCHANGES = 3_000;
const BIG_PCAP_EXCHANGES = 3_000; // ~2 MiB: far more than a pipe's buffer
let bigPcap: string;
let dir: string;
let gor: string;
let gz: string;
let pcap: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapline-report-pipe-'));
  gor = join(dir, 'x.gor');
  gz = join(dir, 'x.gor.gz');
  pcap = join(dir, 'x.pcap');
  const records = gorRecords(EXCHANGES);
  writeFileSync(gor, records);
  writeFileSync(gz, gzipSync(records));
  const exchanges: [boolean, Buffer][] = [];
  for (let n = 0; n < 200; n++) {
    exchanges.push([true, Buffer.from(`GET /p/${n % 9} HTTP/1.1\r\nHost: shop\r\n\r\n`)]);
    exchanges.push([false, Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n\r\n${'y'.repeat(n)}`)]);
  }
  writeFileSync(pcap, buildPcap(timed(turns(exchanges))));
  const many: [boolean, Buffer][] = [];
  for (let n = 0; n < BIG_PCAP_EXCHANGES; n++) {
    many.push([true, Buffer.from(`GET /q/${n % 9} HTTP/1.1\r\nHost: shop\r\n\r\n`)]);
    many.push([false, Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n${'z'.repeat(500)}`)]);
  }
  bigPcap = join(dir, 'big.pcap');
  writeFileSync(bigPcap, buildPcap(timed(turns(many))));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** `report --json` parsed; the inputs' counters keyed by position (the names differ: a path, `-`). */
function parsed(stdout: Buffer): Record<string, unknown> {
  const json = JSON.parse(stdout.toString()) as Record<string, unknown>;
  return { ...json, inputs: Object.values(json.inputs as object) };
}

/** Every field of the file's report equals the pipe's. */
function assertSameReport(file: Record<string, unknown>, pipe: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(pipe).sort(), Object.keys(file).sort());
  for (const key of Object.keys(file)) assert.deepEqual(pipe[key], file[key], `field ${key}`);
}

/** openat(2)'s number, for /proc/PID/task/TID/syscall. */
const OPENAT =
  process.platform !== 'linux' ? undefined : ({ x64: 257, arm64: 56 } as Record<string, number>)[process.arch];

/** Is a thread of `pid` blocked in openat(2)? */
function waitsInOpen(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).some((tid) => {
      const call = readIfThere(`/proc/${pid}/task/${tid}/syscall`);
      return call.split(' ')[0] === String(OPENAT);
    });
  } catch {
    return false;
  }
}

function mkfifo(name: string): string {
  const path = join(dir, name);
  const made = spawnSync('mkfifo', [path]);
  assert.equal(made.status, 0, String(made.stderr));
  return path;
}

describe('report from a pipe', () => {
  for (const [name, file, portSuffix] of [
    ['.gor', () => gor, ''],
    ['.gor.gz', () => gz, ''],
    ['pcap', () => pcap, ''],
    ['pcap with a port (-:8080)', () => pcap, ':8080'],
  ] as const) {
    it(`${name} on standard input (-): the same report as the file, field by field`, async () => {
      const fromFile = await runTapline(['report', '--json', `${file()}${portSuffix}`]);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      const fromPipe = await runTapline(['report', '--json', `-${portSuffix}`], { stdin: readFileSync(file()) });
      assert.equal(fromPipe.code, 0, fromPipe.stderr);
      assert.equal(fromPipe.stderr, '');
      const a = parsed(fromFile.stdout);
      assert.ok(Number(a.total_requests) > 0);
      assertSameReport(a, parsed(fromPipe.stdout));
    });
  }

  it('/dev/stdin on a pipe, and a FIFO holding a .gor.gz: the same report as the file', async () => {
    const fromFile = parsed((await runTapline(['report', '--json', gor])).stdout);
    const devStdin = await runTapline(['report', '--json', '/dev/stdin'], { stdin: readFileSync(gor) });
    assert.equal(devStdin.code, 0, devStdin.stderr);
    assertSameReport(fromFile, parsed(devStdin.stdout));

    const fifo = mkfifo('gz.fifo');
    const child = startTapline(['report', '--json', fifo]);
    child.stdin!.end();
    const writer = createWriteStream(fifo); // opens once the report opens it for reading
    writer.end(readFileSync(gz));
    const r = await collect(child, 30_000);
    assert.equal(r.code, 0, r.stderr);
    assertSameReport(fromFile, parsed(r.stdout));
  });

  it('standard input named twice (also as --compare) is a usage error, exit 2', async () => {
    for (const args of [
      ['-', '-'],
      ['-', '-:80'],
      [gor, '--compare', '-', '-'],
    ]) {
      const r = await runTapline(['report', ...args], { stdin: '' });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /standard input \("-"\) is named 2 times .*: it can be read once \(TAPLINE_ERR_USAGE\)/);
    }
  });

  it('ports on a pipe holding a .gor are a usage error naming it', async () => {
    const r = await runTapline(['report', '-:80'], { stdin: gorRecords(1) }); // small: all in the pipe at once
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /-:80: ports name a capture's server ports; - holds a \.gor recording/);
  });

  for (const [what, bytes, exchanges] of [
    ['.gor', () => gorRecords(EXCHANGES), EXCHANGES],
    ['pcap', () => readFileSync(bigPcap), BIG_PCAP_EXCHANGES],
    // Decompressed as it is read: the stop ends it inside its gzip data, which is not a read error. (Stored, level
    // 0: as large as the pcap, far more than a pipe's buffer, so the write below waits for the report to read.)
    ['pcap.gz', () => gzipSync(readFileSync(bigPcap), { level: 0 }), BIG_PCAP_EXCHANGES],
  ] as const) {
    it(`SIGINT while the writer of a ${what} is idle: the partial report at once, exit 130, no size claimed`, async () => {
      const fifo = mkfifo(`idle${what}.fifo`);
      const child = startTapline(['report', '--json', fifo]);
      child.stdin!.end();
      const writer = createWriteStream(fifo);
      try {
        const records = bytes();
        const sent = records.subarray(0, Math.floor(records.length * 0.8)); // ends inside a record
        // The write completes once the report has taken all but the pipe's buffer of it: it is reading.
        await new Promise<void>((resolve, reject) => writer.write(sent, (err) => (err ? reject(err) : resolve())));
        const done = collect(child, 20_000);
        child.kill('SIGINT');
        const r = await done; // the writer is still open: the report did not wait for its end
        assert.equal(r.code, 130, r.stderr);
        assert.match(
          r.stderr,
          /warning: SIGINT: the report is partial: reading stopped in \S+idle\S+\.fifo at byte [\d,]+ \(a stream: its size is not known\); [\d,]+ records, [\d.]+ \w+ read in all/,
        );
        assert.doesNotMatch(r.stderr, /cannot read/);
        const json = JSON.parse(r.stdout.toString());
        assert.equal(json.interrupted, true);
        assert.equal(json.partial.file_size, null);
        assert.equal(json.partial.bytes_total, null);
        assert.ok(json.total_requests > 0 && json.total_requests < exchanges, `${json.total_requests}`);
      } finally {
        writer.destroy();
      }
    });
  }

  it('SIGINT while a FIFO has no writer yet: the (empty) partial report, exit 130, no hang', {
    skip: OPENAT === undefined ? 'needs Linux on x64 or arm64 (/proc/PID/task/*/syscall)' : false,
  }, async () => {
    const fifo = mkfifo('lonely.fifo');
    const child = startTapline(['report', '--json', fifo]);
    const done = collect(child, 20_000);
    // Signalled once a thread of the report waits in open(2) on the FIFO: its signal handling is in place by then.
    await waitFor(() => waitsInOpen(child.pid!), 20_000, 20);
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(
      r.stderr,
      /reading stopped in \S+lonely\.fifo at byte 0 \(a stream: its size is not known\); 0 records/,
    );
    assert.equal(JSON.parse(r.stdout.toString()).interrupted, true);
  });

  it('memory stays bounded on an endless stream (/dev/zero): 768 MiB read, RSS under 384 MiB; SIGINT ends it', {
    skip: process.platform !== 'linux' ? 'reads /proc/PID/io and /proc/PID/status' : false,
  }, async () => {
    const child = startTapline(['report', '--json', '/dev/zero']);
    const done = collect(child, 90_000);
    const field = (file: string, name: string) =>
      Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(readIfThere(`/proc/${child.pid}/${file}`))?.[1] ?? 0);
    await waitFor(() => field('io', 'rchar') >= 768 * 2 ** 20, 60_000, 20);
    const rssKiB = field('status', 'VmRSS');
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.ok(rssKiB > 0 && rssKiB < 384 * 1024, `RSS ${rssKiB} KiB after 768 MiB read`);
    assert.match(r.stderr, /\/dev\/zero: record 1 \(byte 0\): no meta line in the first 4096 bytes/);
  });

  it('a socket named by its path: exit 1 saying how to read it, not ENXIO', async () => {
    const path = join(dir, 'report.sock');
    const server = createServer().listen(path);
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const r = await runTapline(['report', path]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /report\.sock: cannot read: a socket cannot be opened by its name; send what it carries on standard input/,
      );
      assert.doesNotMatch(r.stderr, /ENXIO/);
    } finally {
      server.close();
    }
  });

  it('on a terminal, a long pipe gets a progress line of records and bytes, no percentage', {
    skip: noScript,
  }, async () => {
    const big = join(dir, 'big.gor');
    writeFileSync(big, gorRecords(20_000)); // ~20 MiB: past the 16 MiB a progress line waits for
    const tty = await pipedOnTerminal(big, 'big', ['report', '--json', '-']);
    assert.match(tty, /tapline: [\d,]+ records, [\d.]+ MiB, /);
    assert.doesNotMatch(tty, /tapline: \d+% /);
  });

  it('on a terminal, a long --compare baseline gets a progress line of its own (the files before it are small)', {
    skip: noScript,
  }, async () => {
    const big = join(dir, 'big-baseline.gor');
    writeFileSync(big, gorRecords(20_000));
    const small = join(dir, 'small-current.gor');
    writeFileSync(small, gorRecords(10));
    const tty = await pipedOnTerminal(big, 'baseline', ['report', '--json', small, '--compare', '-']);
    assert.match(tty, /tapline: 40,000 records, [\d.]+ MiB, /); // the baseline's, read to its end
  });
});

/**
 * Runs tapline with `args` on a terminal (script(1)) with `file` piped to its standard input; returns what the
 * terminal showed, once it exited 0. Only stderr is the terminal's: stdin is the pipe, stdout /dev/null. The
 * writer holds the pipe open a second after its bytes: read at once, they would leave no time to draw (every
 * 250 ms).
 */
async function pipedOnTerminal(file: string, name: string, args: string[]): Promise<string> {
  const files = { pty: join(dir, `${name}.pty`), code: join(dir, `${name}.code`) };
  const cmd = cliArgv(...args).map((a) => `'${a}'`);
  const shell = `(cat '${file}'; sleep 1) | ${cmd.join(' ')} >/dev/null; echo $? >'${files.code}'`;
  const term = spawn('script', ['-q', '-f', '-c', shell, files.pty], { cwd: REPO_ROOT, stdio: 'ignore' });
  try {
    await waitFor(() => readIfThere(files.code) !== '', 60_000, 50);
  } finally {
    term.kill('SIGKILL');
  }
  const tty = readIfThere(files.pty);
  assert.equal(readIfThere(files.code).trim(), '0', tty);
  return tty;
}
