/**
 * How a run ends when the world around it does: a hangup, a signal delivered twice, a reader of stderr or
 * stdout that went away. In each case what was read must still be written and flushed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeRecord, SEPARATOR } from '../../src/core/gor-format.js';
import { makeMeta } from '../../src/core/message.js';
import {
  cliArgv,
  collect,
  noScript,
  readIfThere,
  runTapline,
  startTapline,
  waitFor,
  waitForStderr,
} from '../support/cli.js';
import { REPO_ROOT } from '../support/corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-e2e-cli-signals-'));
/**
 * Bounds on waits for what a run prints while it starts and stops, and on a whole run. Generous: a start in a
 * loaded suite takes seconds (through tsx, with three busy loops and three runs at once on 2 cores: 12-27 s to
 * the second message of --input-dummy). They only bound a hang; nothing is asserted about speed.
 */
const LINE_MS = 60_000;
const RUN_MS = 120_000;
after(() => rmSync(dir, { recursive: true, force: true }));

/** An endless run (--input-dummy) into a file flushed only at its close; --verbose 3 prints a line per message. */
function dummyToFileArgs(out: string, extra: string[] = []): string[] {
  const flushOnlyAtClose = ['--output-file-append', '--output-file-flush-interval', '1h'];
  return ['--input-dummy', 'x', ...extra, '--output-file', out, ...flushOnlyAtClose, '-verbose=3'];
}

/** That run, once it has written an exchange. */
async function dummyToFileRunning(out: string, extra: string[] = []) {
  const child = startTapline(dummyToFileArgs(out, extra));
  const done = collect(child, RUN_MS);
  await waitForStderr(child, /message 2 \S+ \d+ 1/, LINE_MS);
  return { child, done };
}

const countRecords = (b: Buffer) => b.toString('latin1').split(SEPARATOR.toString('latin1')).length - 1;

describe('signals', () => {
  it('SIGHUP (the terminal went away) flushes every output and exits 0', async () => {
    const out = join(dir, 'hup.gor');
    const { child, done } = await dummyToFileRunning(out);
    child.kill('SIGHUP');
    const res = await done;
    assert.equal(res.signal, null, 'not killed by the signal');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /SIGHUP: stopping; flushing outputs/);
    assert.ok(countRecords(readFileSync(out)) >= 2, 'the records read were written');
  });

  it('a terminal that hangs up (SSH session gone): outputs flushed, exit 0, not an abort', {
    skip: noScript,
  }, async () => {
    // `script` runs the command on a pseudo-terminal of its own (tapline's stdout); killing it hangs the
    // terminal up. The shell that waits for tapline ignores SIGHUP, to report its status; tapline then gets the
    // SIGHUP a shell sends its jobs when its terminal goes.
    const out = join(dir, 'pty.gor');
    const files = { err: join(dir, 'pty.err'), pid: join(dir, 'pty.pid'), code: join(dir, 'pty.code') };
    const cmd = cliArgv(...dummyToFileArgs(out)).map((a) => `'${a}'`);
    const shell = `trap '' HUP; ${cmd.join(' ')} 2>'${files.err}' & echo $! >'${files.pid}'; wait $!; echo $? >'${files.code}'`;
    const term = spawn('script', ['-q', '-c', shell, '/dev/null'], { cwd: REPO_ROOT, stdio: 'ignore' });
    try {
      await waitFor(() => /message 2 \S+ \d+ 1/.test(readIfThere(files.err)), LINE_MS);
      term.kill('SIGKILL');
      await new Promise((r) => term.on('close', r));
      process.kill(Number(readIfThere(files.pid)), 'SIGHUP');
      await waitFor(() => readIfThere(files.code) !== '', LINE_MS);
    } finally {
      term.kill('SIGKILL');
    }
    const stderr = readIfThere(files.err);
    assert.equal(readIfThere(files.code).trim(), '0', stderr);
    assert.match(stderr, /SIGHUP: stopping; flushing outputs/);
    assert.doesNotMatch(stderr, /Assertion failed|Native stack trace/);
    assert.ok(countRecords(readFileSync(out)) >= 2, 'the records read were written');
  });

  it("SIGUSR1 does not open node's debugger: said and ignored, the run goes on", async () => {
    const out = join(dir, 'usr1.gor');
    const { child, done } = await dummyToFileRunning(out);
    child.kill('SIGUSR1');
    await waitForStderr(child, /SIGUSR1 ignored/, LINE_MS);
    child.kill('SIGTERM');
    const res = await done;
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /Debugger listening/);
    assert.match(res.stderr, /SIGUSR1 ignored \(SIGINT, SIGTERM or SIGHUP stop the run\)/);
  });

  it('a SIGTERM delivered twice at once (as `timeout` does) still lets the outputs flush', async () => {
    // A middleware that takes a second to exit once its input ends keeps the stop busy, so the second copy
    // of the signal arrives mid-flush.
    const mw = join(dir, 'slow-exit.mjs');
    writeFileSync(
      mw,
      '#!/usr/bin/env node\n' +
        "process.stdin.on('data', (d) => process.stdout.write(d));\n" +
        "process.stdin.on('end', () => setTimeout(() => process.exit(0), 1000));\n",
    );
    chmodSync(mw, 0o755);
    const out = join(dir, 'twice.gor');
    const { child, done } = await dummyToFileRunning(out, ['--middleware', mw]);
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    const res = await done;
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /again: exiting without waiting/);
    assert.ok(countRecords(readFileSync(out)) >= 2, 'the records read were written');
  });
});

describe('a signal after the run has ended', () => {
  it("a SIGINT after the summary, as the process leaves: exit 0 (the run's code), not killed by it", async () => {
    // With --memprofile the process takes a second or so to leave after the summary's first line: the run has
    // ended, its outputs are flushed. A SIGINT there killed the process by the signal (no exit code).
    const file = join(dir, 'ended.gor');
    writeFileSync(
      file,
      Buffer.concat(
        Array.from({ length: 2000 }, (_, i) =>
          encodeRecord({
            meta: makeMeta({ type: '1', id: `${i}`.padStart(24, '0'), timestampNs: 1_700_000_000_000_000_000n }),
            data: Buffer.from('GET / HTTP/1.1\r\n\r\n'),
          }),
        ),
      ),
    );
    const profile = join(dir, 'ended.heapprofile');
    const child = startTapline(['--input-file', `${file}|max`, '--output-null', '--memprofile', profile]);
    const done = collect(child, RUN_MS);
    await waitForStderr(child, /done after /, LINE_MS);
    child.kill('SIGINT');
    const res = await done;
    assert.equal(res.signal, null, 'not killed by the signal');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /output-null: 2000 written/);
  });
});

describe('readers that went away', () => {
  it('stderr closed by its reader (`2>&1 | head`) does not crash the run: every record is written', async () => {
    const input = join(dir, 'in.gor');
    const records = Array.from({ length: 200 }, (_, i) =>
      encodeRecord({
        meta: makeMeta({ type: '1', id: `id${i}`, timestampNs: BigInt(i), latencyNs: 0n }),
        data: Buffer.from(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`),
      }),
    );
    writeFileSync(input, Buffer.concat(records));
    const out = join(dir, 'stderr-gone.gor');
    // --verbose 3 writes a line per message to stderr, whose reader is gone before the first one.
    const res = await runTapline(
      ['--input-file', input, '--output-file', out, '--output-file-append', '--verbose', '3'],
      { onStart: (child) => child.stderr!.destroy() },
    );
    assert.equal(res.code, 0);
    assert.equal(countRecords(readFileSync(out)), 200);
  });

  it('--help and --version to a reader that left early: no stack trace, exit 0', async () => {
    for (const flag of ['--help', '--version']) {
      const child = startTapline([flag]);
      child.stdout!.destroy();
      const res = await collect(child, 20_000);
      assert.equal(res.code, 0, `${flag}: ${res.stderr}`);
      assert.doesNotMatch(res.stderr, /EPIPE|Unhandled|at .*:\d+/, flag);
    }
  });
});

describe('a terminal shared by stdout and stderr', () => {
  it('the live status line stays off while --output-stdout writes records to the same terminal', {
    skip: noScript,
  }, async () => {
    const input = join(dir, 'status.gor');
    const records = Array.from({ length: 50 }, (_, i) =>
      encodeRecord({
        meta: makeMeta({ type: '1', id: `id${i}`, timestampNs: BigInt(i) * 20_000_000n, latencyNs: 0n }),
        data: Buffer.from(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`),
      }),
    );
    writeFileSync(input, Buffer.concat(records));
    // A second of replay (50 records 20 ms apart): the status line would redraw every 250 ms.
    const cmd = cliArgv('--input-file', input, '--output-stdout');
    const term = spawn('script', ['-q', '-c', cmd.map((a) => `'${a}'`).join(' '), '/dev/null'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const chunks: Buffer[] = [];
    term.stdout!.on('data', (d: Buffer) => chunks.push(d));
    const timer = setTimeout(() => term.kill('SIGKILL'), RUN_MS);
    await new Promise((r) => term.on('close', r));
    clearTimeout(timer);
    const screen = Buffer.concat(chunks).toString('latin1');
    assert.match(screen, /GET \/49 HTTP\/1\.1/, 'the records reached the terminal');
    assert.doesNotMatch(screen, /\x1b\[K|tapline: \d+%/, 'no status line drawn among them');
  });
});

/**
 * `count` POST records of 20 KB replayed at |max into a FIFO whose reader holds it open and never reads: its
 * 64 KiB fill, and the next write blocks. Stopped with SIGINT once running, and again once the stop says it
 * waits for that write.
 */
async function twiceStoppedIntoStuckFifo(name: string, count: number) {
  const fifo = join(dir, `${name}.fifo`);
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  after(() => closeSync(reader));
  const input = join(dir, `${name}.gor`);
  const body = 'b'.repeat(20_000);
  const records = Array.from({ length: count }, (_, i) =>
    encodeRecord({
      meta: makeMeta({ type: '1', id: `f${String(i).padStart(23, '0')}`, timestampNs: 1n + BigInt(i) }),
      data: Buffer.from(`POST /${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
    }),
  );
  writeFileSync(input, Buffer.concat(records));
  const args = ['--input-file', `${input}|max`, '--output-file', fifo, '--output-file-append', '-verbose=3'];
  const child = startTapline(args);
  const done = collect(child, RUN_MS);
  await waitForStderr(child, /message 1 \S+ 2\n/, LINE_MS); // running: the signal handlers are in place
  child.kill('SIGINT');
  // The stop waits on the output's blocked write, and says so after 5 s.
  await waitForStderr(child, /still stopping after 5s: waiting for output-file/, LINE_MS);
  child.kill('SIGINT');
  return done;
}

describe('leaving at once', () => {
  it('a second SIGINT exits 130 even while a write into a FIFO nobody reads is blocked', async () => {
    // Before: process.exit() joined libuv's thread pool, where the write into the full FIFO never returned:
    // the summary was printed and the process stayed until SIGKILL. 2 MiB for a FIFO that took 64 KiB.
    const res = await twiceStoppedIntoStuckFifo('stuck', 100);
    assert.equal(res.signal, null, `exited by itself, not killed after ${RUN_MS / 1000} s:\n${res.stderr}`);
    assert.equal(res.code, 130, res.stderr);
  });

  it('a second SIGINT names the records read that had not reached an output', async () => {
    // 40 MiB read in 4 MiB batches: the output blocks on its first batch while the input has read more.
    // Before, only the gap between the input's records and the messages showed it.
    const res = await twiceStoppedIntoStuckFifo('held', 2000);
    assert.equal(res.code, 130, res.stderr);
    const read = Number(/input-file\([^)]*\): records (\d+)/.exec(res.stderr)?.[1]);
    const messages = Number(/stopped after [\d.]+s: (\d+) messages/.exec(res.stderr)?.[1]);
    assert.ok(read > messages, `the input read more than reached the pipeline: ${read} vs ${messages}\n${res.stderr}`);
    const line = /exited at once: ([\d,]+) record\(s\) read from the input\(s\) had not reached an output/.exec(
      res.stderr,
    );
    assert.ok(line, res.stderr);
    assert.equal(Number(line[1]!.replace(/,/g, '')), read - messages);
  });
});
