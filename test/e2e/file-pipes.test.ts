/**
 * `--input-file` on what is not a regular file: /dev/stdin on a pipe or a socket, a process substitution
 * (`<(cat x.gor)`), a FIFO (also one a glob matches, and one named *.gor.gz). These read 0 records with
 * 'cannot read: ESPIPE: invalid seek' (positional reads). The records copied to --output-file must be the
 * source's, byte for byte, at |max and at the recorded pace; --input-file-loop over a pipe is a usage error.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  createWriteStream,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { encodeRecord } from '../../src/core/gor-format.js';
import { makeMeta } from '../../src/core/message.js';
import { cliShell, collect, noScript, readIfThere, runTapline, startTapline, waitFor } from '../support/cli.js';
import { REPO_ROOT } from '../support/corpus.js';

const T0 = 1_700_000_000n * 1_000_000_000n;

/** `count` requests `gapMs` apart; every 50th has a 300 KiB body (more than a pipe holds at once). */
function gorRecords(count: number, gapMs: number, tag: string): Buffer {
  const parts: Buffer[] = [];
  for (let n = 0; n < count; n++) {
    const id = `${tag}${n.toString(16).padStart(23, '0')}`;
    const body = 'b'.repeat(n % 50 === 7 ? 300 * 1024 : n % 13);
    const data = Buffer.from(`POST /${tag}/${n} HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const at = T0 + BigInt(n * gapMs) * 1_000_000n;
    parts.push(encodeRecord({ meta: makeMeta({ type: '1', id, timestampNs: at, latencyNs: 0n }), data }));
  }
  return Buffer.concat(parts);
}

let dir: string;
let gor: string;
let bytes: Buffer;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapline-file-pipes-'));
  bytes = gorRecords(400, 1, 'a');
  gor = join(dir, 'x.gor');
  writeFileSync(gor, bytes);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function mkfifo(name: string): string {
  const path = join(dir, name);
  const made = spawnSync('mkfifo', [path]);
  assert.equal(made.status, 0, String(made.stderr));
  return path;
}

/** Has process `pid` the file open? */
function holdsOpen(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Whole records in `data` (separators counted). */
const recordsIn = (data: Buffer) =>
  data.toString('latin1').split('\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n').length - 1;

let outputs = 0;
/** A fresh --output-file path (appending: one file, no chunks). */
const outFile = () => join(dir, `out-${outputs++}.gor`);

/** Writes `data` into the FIFO once a reader opens it; resolves when it is all written. */
function feedFifo(fifo: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const writer = createWriteStream(fifo);
    writer.on('error', reject);
    writer.end(data, resolve);
  });
}

describe('--input-file from a pipe', () => {
  it('/dev/stdin (a socket as spawned here): every record, byte for byte', async () => {
    const out = outFile();
    const r = await runTapline(['--input-file', '/dev/stdin|max', '--output-file', out, '--output-file-append'], {
      stdin: bytes,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /records 400,/);
    assert.ok(readFileSync(out).equals(bytes));
  });

  it('/dev/stdin on a pipe, and a process substitution <(cat x.gor): every record, byte for byte', async () => {
    for (const source of ['/dev/stdin', '<(cat "$SRC")']) {
      const out = outFile();
      const feed = source === '/dev/stdin' ? 'cat "$SRC" | ' : '';
      const cmd = `${feed}exec ${cliShell()} --input-file ${source} --output-file "$OUT" --output-file-append --input-file-max-wait 1ms`;
      const child = spawn('bash', ['-c', cmd], {
        cwd: REPO_ROOT,
        env: { ...process.env, SRC: gor, OUT: out, FORCE_COLOR: '0' },
      });
      const r = await collect(child, 60_000);
      assert.equal(r.code, 0, `${source}: ${r.stderr}`);
      assert.ok(readFileSync(out).equals(bytes), source);
    }
  });

  it('a FIFO named *.gor.gz is decompressed; a glob matching a FIFO merges it with the files', async () => {
    const gz = mkfifo('p.gor.gz');
    const out = outFile();
    const child = startTapline(['--input-file', `${gz}|max`, '--output-file', out, '--output-file-append']);
    const [r] = await Promise.all([collect(child, 30_000), feedFifo(gz, gzipSync(bytes))]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(out).equals(bytes));

    // glob/a.gor a regular file, glob/b.gor a FIFO: the same merge as with both regular files.
    const other = gorRecords(150, 3, 'b');
    writeFileSync(join(dir, 'glob-a.gor'), bytes);
    const fifo = mkfifo('glob-b.gor');
    const viaFifo = outFile();
    const pattern = join(dir, 'glob-*.gor');
    const fromFifo = startTapline(['--input-file', `${pattern}|max`, '--output-file', viaFifo, '--output-file-append']);
    const [f] = await Promise.all([collect(fromFifo, 30_000), feedFifo(fifo, other)]);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stderr, /records 550,/);
    assert.doesNotMatch(f.stderr, /bytes total/); // the FIFO's size is not known: nor is the total
    rmSync(fifo);
    writeFileSync(join(dir, 'glob-b.gor'), other);
    const viaFile = outFile();
    const fromFiles = await runTapline([
      '--input-file',
      `${pattern}|max`,
      '--output-file',
      viaFile,
      '--output-file-append',
    ]);
    assert.equal(fromFiles.code, 0, fromFiles.stderr);
    assert.ok(readFileSync(viaFifo).equals(readFileSync(viaFile)));
  });

  it('paced replay from a FIFO: every record, in order', async () => {
    const paced = gorRecords(60, 5, 'c'); // 0.3 s of recording
    const fifo = mkfifo('paced.gor');
    const out = outFile();
    const child = startTapline(['--input-file', fifo, '--output-file', out, '--output-file-append']);
    const [r] = await Promise.all([collect(child, 30_000), feedFifo(fifo, paced)]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(out).equals(paced));
  });

  it('--input-file-loop over a pipe or a glob matching a FIFO: a usage error before reading, exit 2', async () => {
    const r = await runTapline(['--input-file', '/dev/stdin', '--input-file-loop', '--output-null'], { stdin: '' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /--input-file-loop: \/dev\/stdin is a socket, not a file: it can be read only once, and --input-file-loop reads every file again on each pass; save it to a file first/,
    );
    mkfifo('loop-b.gor');
    writeFileSync(join(dir, 'loop-a.gor'), bytes);
    const g = await runTapline(['--input-file', join(dir, 'loop-*.gor'), '--input-file-loop', '--output-null']);
    assert.equal(g.code, 2, g.stderr);
    assert.match(g.stderr, /loop-b\.gor is a pipe, not a file: it can be read only once/);
    // A Unix socket file cannot be read at all: not 'save it to a file first (cat > rec.gor)', which cannot work.
    const sock = join(dir, 'loop.sock');
    const server = createNetServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const s = await runTapline(['--input-file', sock, '--input-file-loop', '--output-null']);
      assert.equal(s.code, 2, s.stderr);
      assert.match(s.stderr, /loop\.sock is a Unix socket file, which --input-file cannot read, looped or not/);
      assert.match(s.stderr, /socat -u UNIX-CONNECT:\S+loop\.sock - > rec\.gor/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('the same pipe named twice, by one name or two: a usage error, exit 2', async () => {
    for (const second of ['/dev/stdin', '/dev/fd/0']) {
      const r = await runTapline(['--input-file', '/dev/stdin', '--input-file', second, '--output-null'], {
        stdin: '',
      });
      assert.equal(r.code, 2, r.stderr);
      const named = second === '/dev/stdin' ? 'named twice' : 'that /dev/stdin names too';
      assert.match(r.stderr, new RegExp(`--input-file: ${second} is a socket ${named}: two readers would each get`));
    }
    const fifo = mkfifo('twice.gor');
    const g = await runTapline(['--input-file', fifo, '--input-file', join(dir, 'twice*'), '--output-null']);
    assert.equal(g.code, 2, g.stderr);
    assert.match(g.stderr, /twice\.gor is a pipe named twice/);
  });

  it('/dev/stdin on a terminal: a warning says records are read from what is typed', { skip: noScript }, async () => {
    const files = { pty: join(dir, 'tty.pty'), code: join(dir, 'tty.code') };
    // stdin is the terminal script(1) made; it ends it (Ctrl-D) when its own stdin, /dev/null here, ends.
    const shell = `${cliShell('--input-file', '/dev/stdin', '--output-null')} --exit-after 5s; echo $? >'${files.code}'`;
    const term = spawn('script', ['-q', '-f', '-c', shell, files.pty], { cwd: REPO_ROOT, stdio: 'ignore' });
    try {
      await waitFor(() => readIfThere(files.code) !== '', 30_000, 50);
    } finally {
      term.kill('SIGKILL');
    }
    assert.equal(readIfThere(files.code).trim(), '0', readIfThere(files.pty));
    assert.match(
      readIfThere(files.pty),
      /warning: input-file\(\/dev\/stdin\): \/dev\/stdin is the terminal: \.gor records are read from what is typed, until Ctrl-D/,
    );
  });

  it('gzip data on /dev/stdin: the hint says to decompress it; "-" is not stdin (as in gor), said so', async () => {
    const r = await runTapline(['--input-file', '/dev/stdin|max', '--output-null'], { stdin: gzipSync(bytes) });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the file starts like gzip data: decompress it first \(zcat … \|\)/);
    // Standard input redirected from a file (a regular file: read at positions) has no name to change either.
    const gz = join(dir, 'stdin.gor.gz');
    writeFileSync(gz, gzipSync(bytes));
    const cmd = `exec ${cliShell('--input-file', '/dev/stdin|max', '--output-null')} < "$GZ"`;
    const child = spawn('bash', ['-c', cmd], {
      cwd: REPO_ROOT,
      env: { ...process.env, GZ: gz, FORCE_COLOR: '0' },
    });
    const redirected = await collect(child, 30_000);
    assert.equal(redirected.code, 1, redirected.stderr);
    assert.match(redirected.stderr, /\/dev\/stdin: record 1 .*starts like gzip data: decompress it first/);
    const dash = await runTapline(['--input-file', '-', '--output-null'], { stdin: '' });
    assert.equal(dash.code, 1, dash.stderr);
    assert.match(
      dash.stderr,
      /file not found: - \(neither gor nor tapline reads "-" as stdin: write --input-file \/dev\/stdin\)/,
    );
  });

  it('SIGINT while a FIFO has no writer yet, or its writer is idle: ends at once, what was read passed on', async () => {
    const lonely = mkfifo('lonely.gor');
    const child = startTapline(['--input-file', `${lonely}|max`, '--output-null']);
    const done = collect(child, 20_000);
    await waitFor(() => holdsOpen(child.pid!, lonely), 20_000, 20); // reading: its signal handling is in place
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 0, r.stderr); // stopped by its SIGINT handler, not the collect() timeout
    assert.match(r.stderr, /stopped after/);

    // At |max and paced (records 1 ms apart, at 1000%: 0.1 ms waits).
    for (const speed of ['max', '1000%']) {
      const idle = mkfifo(`idle-${speed}.gor`);
      // A .gz output takes records one by one (no raw runs, which hold back up to 31 more to make a run).
      const out = `${outFile()}.gz`;
      const args = ['--input-file', `${idle}|${speed}`, '--output-file', out, '--output-file-append'];
      const reading = startTapline(args);
      const gunzipped = () => gunzipSync(readFileSync(out, { flag: 'a+' }), { finishFlush: constants.Z_SYNC_FLUSH });
      const ended = collect(reading, 20_000);
      const writer = createWriteStream(idle);
      try {
        // 300 records: those past the read-depth window (100) are passed on without waiting for more.
        const part = bytes.subarray(0, bytes.indexOf('POST /a/300 '));
        writer.write(part);
        // The records before the window reach the output while the writer stays open (flushed every 1 s).
        await waitFor(() => recordsIn(gunzipped()) >= 200, 20_000);
        reading.kill('SIGINT');
        const s = await ended;
        assert.equal(s.code, 0, s.stderr);
        assert.match(s.stderr, /stopped after/);
        const written = gunzipped();
        assert.ok(part.subarray(0, written.length).equals(written), speed);
      } finally {
        writer.destroy();
      }
    }
  });
});
