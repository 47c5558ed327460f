/**
 * `--middleware` with careless programs, found by probing the CLI: shell scripts that leave a process of
 * their own holding the pipes, a middleware that dies while a batch is being written to it, and one that
 * writes meta lines whose timestamp is not a number. Real CLI, real processes (scripts written per test).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { memoryLogger } from '../src/core/log.js';
import { ExternalMiddleware } from '../src/middleware/external.js';
import { formatHexLine } from '../src/middleware/hex-lines.js';
import { FIXTURES, middlewareRuns, readGor, request, writeGor } from './middleware/support.js';
import { collect, readIfThere, runTapline, startTapline, waitForStderr } from './support/cli.js';

const { dir, messages, run, same } = middlewareRuns('--middleware');

/** Writes an executable script into the test's temp dir; its background helpers write their pid to pidFile. */
function script(name: string, body: string): { path: string; pidFile: string } {
  const path = join(dir, name);
  const pidFile = join(dir, `${name}.pid`);
  writeFileSync(path, `#!/bin/sh\n${body.replaceAll('PIDFILE', pidFile)}\n`);
  chmodSync(path, 0o755);
  return { path, pidFile };
}

/** The helpers the scripts leave behind (sleep 60) would outlive the test: ended by their pid. */
const helperPids: number[] = [];
after(() => {
  for (const pid of helperPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
/** Whether process `pid` has ended within `ms` (signal 0 tests that it exists). */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
  }
  return false;
}

/** Read at once: the temp dir holding the pid file is removed before this file's after() runs. */
function rememberHelper(pidFile: string): void {
  if (existsSync(pidFile)) helperPids.push(Number(readFileSync(pidFile, 'utf8').trim()));
}

describe('--middleware: programs that leave something behind', { concurrency: 2 }, () => {
  it('a script that started a helper holding its stdout: the run ends once the script has exited', async () => {
    // Before: tapline waited for the pipes to close, i.e. for the helper to end (60 s here; for ever for a
    // daemon), and the run was killed by the test's timeout.
    const { path, pidFile } = script('helper-holds-stdout.sh', 'sleep 60 &\necho $! > PIDFILE\nexec cat');
    const r = await run(path);
    rememberHelper(pidFile);
    assert.equal(r.code, 0, r.stderr);
    same(r.got);
    assert.match(
      r.stderr,
      /middleware ".*helper-holds-stdout\.sh" \(pid \d+\) exited, but its stdout or stderr was still open, with nothing in it, \d+ ms later, held by a process it started/,
    );
    assert.match(r.stderr, /6 sent, 6 received; exited with status 0/);
  });

  it('a script killed by the watchdog while its child holds the pipes: both killed, reported, no hang', async () => {
    // The watchdog's SIGTERM reached the shell only; its child (sleep) kept the pipes open, and tapline waited.
    // The middleware now has a process group of its own, and kills go to the group: the child goes too.
    const { path, pidFile } = script(
      'child-outlives-kill.sh',
      'cat > /dev/null\nsleep 60 &\necho $! > PIDFILE\nwait $!',
    );
    const r = await run(path, ['--middleware-timeout', '300ms']);
    rememberHelper(pidFile);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /was still running 0\.3s after its input ended .* killed \(SIGTERM\), after it was sent 6/);
    assert.doesNotMatch(r.stderr, /exited, but its stdout or stderr was still open/);
    const child = helperPids[helperPids.length - 1]!;
    assert.ok(await goneWithin(child, 3000), `the script's child (pid ${child}) outlived the kill`);
  });

  it('a middleware that exits while tapline is not taking its output yet: what it wrote is still all read', async () => {
    // A guard for the exit grace: one message; then 4.2 MB of messages (64), at which tapline pauses its
    // stdout while they are not taken (the consumer here waits 2.5 s); then 20 more, written while paused, and
    // it exits. Those 20 must not be taken for a helper process's open pipe and dropped by the grace.
    const hex = (from: number, n: number, body = '') =>
      Array.from({ length: n }, (_, i) => formatHexLine(request(from + i, `/m${from + i}`, body))).join('');
    const part = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const first = part('first.hex', hex(0, 1));
    const big = part('big.hex', hex(1, 64, 'x'.repeat(65_536)));
    const tail = part('tail.hex', hex(65, 20));
    const { path } = script('burst-then-exit.sh', `cat ${first}; sleep 0.3; cat ${big}; sleep 1; cat ${tail}`);
    const log = memoryLogger();
    const mw = new ExternalMiddleware({ command: path, log });
    const out = mw.transform((async function* () {})())[Symbol.asyncIterator]();
    let got = 0;
    const r1 = await out.next();
    if (!r1.done) got += r1.value.length;
    await new Promise((r) => setTimeout(r, 2500));
    for (let r = await out.next(); !r.done; r = await out.next()) got += r.value.length;
    assert.equal(got, 85, log.lines.join('\n'));
    assert.doesNotMatch(log.lines.join('\n'), /still open/);
  });
});

describe('--middleware: what the watchdog says', () => {
  it('a middleware that never reads: once it is being killed, no warning says tapline is "still waiting"', async () => {
    // Before: the kill and a warning "has written nothing … (still waiting)" came from the same watchdog tick.
    const big = Array.from({ length: 40 }, (_, i) => request(i, '/big', 'x'.repeat(100_000)));
    const file = writeGor(join(dir, 'never-reads.gor'), big);
    const { path } = script('never-reads.sh', 'exec sleep 60');
    const r = await run(path, ['--middleware-timeout', '300ms'], file);
    assert.equal(r.code, 1, r.stderr);
    const killing = r.stderr.indexOf('has not read its stdin for 0.3s');
    assert.ok(killing >= 0, r.stderr);
    assert.doesNotMatch(r.stderr.slice(killing), /still waiting/);
  });
});

describe('--middleware: counting and meta lines', { concurrency: 2 }, () => {
  it('a middleware that exits while a batch is being written: "sent" is what reached its stdin, the same in the error and the summary', async () => {
    // 40 messages of 100 KB: hex lines in writes of about 1 MB, far more than a pipe holds. It reads one byte
    // and exits. Before, the rest of the batch was "written" to the dead pipe and counted as sent: the error
    // said "sent 0", the summary "40 sent".
    const big = Array.from({ length: 40 }, (_, i) => request(i, '/big', 'x'.repeat(100_000)));
    const file = writeGor(join(dir, 'dies-mid-batch.gor'), big);
    const { path } = script('dies-mid-batch.sh', 'head -c 1 > /dev/null\nexit 3');
    const r = await run(path, [], file);
    assert.equal(r.code, 1, r.stderr);
    const inError = /exited with status 3, after it was sent (\d+) message\(s\) and wrote back 0/.exec(r.stderr);
    const inSummary = /: (\d+) sent, 0 received(?:, (\d+) not sent \(it had exited\))?; exited with status 3/.exec(
      r.stderr,
    );
    assert.ok(inError && inSummary, r.stderr);
    assert.equal(inSummary[1], inError[1], r.stderr);
    assert.ok(Number(inSummary[1]) < big.length, `not all 40 can have reached a pipe it stopped reading:\n${r.stderr}`);
    assert.equal(Number(inSummary[1]) + Number(inSummary[2] ?? 0), big.length, r.stderr);
  });

  it('a middleware that closes its stdout and reads on: what it is sent after that is counted as lost; exit 1', async () => {
    // Before: it read everything, exited 0 at the end of its input, and tapline said "done" (exit 0): the
    // messages it was sent after closing its stdout were gone without a word.
    const big = Array.from({ length: 10 }, (_, i) => request(i, '/big', 'x'.repeat(100_000)));
    const file = writeGor(join(dir, 'closes-stdout.gor'), big);
    const mw = join(dir, 'closes-stdout.cjs');
    writeFileSync(
      mw,
      "require('fs').closeSync(1);\n" +
        "process.stdin.on('data', () => { process.stdin.pause(); setTimeout(() => process.stdin.resume(), 10); });\n" +
        "process.stdin.on('end', () => process.exit(0));\n",
    );
    const r = await run(`${process.execPath} ${mw}`, [], file);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /closed its stdout before its input ended.*; the \d+ message\(s\) sent to it after it closed its stdout could not come back; the run stops/,
    );
  });

  it('a meta line whose timestamp is not a number: passed on as gor does, but warned about with its line and counted', async () => {
    const odd = Buffer.from('1 ab notanumber -1\nGET /odd HTTP/1.1\r\nHost: example.test\r\n\r\n').toString('hex');
    const { path } = script('bad-timestamp.sh', `cat\nprintf '%s\\n' ${odd}`);
    const r = await run(path);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.got.length, messages.length + 1);
    assert.equal(r.got.at(-1)!.meta, '1 ab notanumber -1');
    assert.match(
      r.stderr,
      /middleware ".*bad-timestamp\.sh": stdout line 7: the meta line's timestamp is not a number: "1 ab notanumber -1"/,
    );
    assert.match(r.stderr, /6 sent, 7 received, 1 with a timestamp that is not a number; exited with status 0/);
  });
});

describe('--middleware and Ctrl-C at a terminal', { concurrency: 2 }, () => {
  // It gives back what it holds at end of input, then does not exit (sleep): tapline waits for it. In a process
  // group of its own it would not get the terminal's second SIGINT; tapline's exit ends it. One that ignores
  // SIGTERM (its sleep inherits that) was left running after tapline had exited: SIGKILL follows now.
  for (const [name, body, what] of [
    ['lingers', 'echo $$ > PIDFILE\ncat\nexec sleep 60', ''],
    ['ignores-term', "trap '' TERM\necho $$ > PIDFILE\ncat\nexec sleep 60", ', even one that ignores SIGTERM'],
  ] as const)
    it(`Ctrl-C twice (exit 130, no waiting): a middleware still running is ended${what}, not left behind`, async () => {
      const { path, pidFile } = script(`${name}.sh`, body);
      const out = join(dir, `${name}.gor`);
      const child = startTapline(
        ['--input-dummy', 'x', '--middleware', path, '--output-file', out, '--output-file-append'],
        {
          ownGroup: true,
        },
      );
      const done = collect(child, 20_000);
      for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      helperPids.push(pid);
      process.kill(-child.pid!, 'SIGINT');
      await waitForStderr(child, /SIGINT: stopping/);
      await new Promise((r) => setTimeout(r, 500));
      process.kill(-child.pid!, 'SIGINT');
      const r = await done;
      assert.equal(r.code, 130, r.stderr);
      // The counts as they stood are said, so what was not written shows.
      assert.match(
        r.stderr,
        /SIGINT again: exiting without waiting for outputs to flush\ntapline: stopped after [\d.]+s: /,
      );
      assert.match(r.stderr, new RegExp(`output-file\\(.*${name}\\.gor\\): \\d+ written`));
      assert.match(r.stderr, /\n {2}middleware ".*" \(pid \d+\): \d+ sent, \d+ received; running\n/);
      assert.ok(await goneWithin(pid, 3000), `the middleware (pid ${pid}) was left running`);
    });

  it('SIGINT to the whole process group: the middleware gives back what it holds, nothing is lost, exit 0', async () => {
    // A terminal sends Ctrl-C's SIGINT to every process of the foreground group. The middleware used to be in
    // tapline's group, so it died with what it held ("was killed by SIGINT", exit 1); gor loses the same.
    const out = join(dir, 'ctrl-c.gor');
    const child = startTapline(
      ['--input-dummy', 'x', '--middleware', 'cat', '--output-file', out, '--output-file-append', '--verbose', '1'],
      { ownGroup: true },
    );
    const done = collect(child, 20_000);
    await waitForStderr(child, /middleware "cat" started/);
    await new Promise((r) => setTimeout(r, 2500)); // --input-dummy makes a request a second
    process.kill(-child.pid!, 'SIGINT');
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    const line = /middleware "cat" \(pid \d+\): (\d+) sent, (\d+) received/.exec(r.stderr);
    assert.ok(line, r.stderr);
    assert.ok(Number(line[1]) > 0);
    assert.equal(line[2], line[1], 'every message sent to it came back');
    const kept = readFileSync(out, 'utf8').split('🐵🙈🙉').length - 1;
    assert.equal(kept, Number(line[2]), 'and was written');
  });
});

describe('--middleware given as a relative path', () => {
  it('not found from the directory tapline runs in: the message names that directory, not "give a path like ./mw.sh"', async () => {
    // `--middleware ./mw/echo.sh` run from another directory said 'program "./mw/echo.sh" not found (… give a
    // path like ./mw.sh or a program on PATH)': the user had given such a path; what was wrong was where from.
    const input = writeGor(join(dir, 'relative.gor'), messages);
    // Run from test/ (tsx resolves from the working directory, so it stays in the repository): the script is
    // in test/middleware/fixtures.
    const elsewhere = join(FIXTURES, '..', '..');
    const r = await runTapline(['--input-file', input, '--middleware', './fixtures/echo.sh', '--output-null'], {
      cwd: elsewhere,
    });
    assert.equal(r.code, 1, r.stderr);
    const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    assert.match(
      r.stderr,
      new RegExp(
        `program "\\./fixtures/echo\\.sh" not found: there is no ${literal(join(elsewhere, 'fixtures', 'echo.sh'))} ` +
          `\\(a relative path is taken from the directory tapline runs in, ${literal(elsewhere)};`,
      ),
    );
    assert.doesNotMatch(r.stderr, /give a path like/);
    // From the directory it is relative to, it runs.
    const ok = await runTapline(['--input-file', input, '--middleware', './fixtures/echo.sh', '--output-null'], {
      cwd: join(FIXTURES, '..'),
    });
    assert.equal(ok.code, 0, ok.stderr);
  });
});

describe('--middleware that logs heavily while the stderr of tapline is a pipe nobody reads yet', () => {
  it('its stderr is held back (it blocks on its writes), not buffered in tapline without bound; nothing lost, not killed', async () => {
    // Node writes to a piped stderr asynchronously: with `2>&1 | less` or a slow log shipper, a middleware's heavy
    // log became as much (and more) of tapline's memory (80 MB of log measured at 421 MB RSS). Now tapline stops
    // reading the middleware's stderr while its own holds 1 MB, and that wait is not counted by the watchdog.
    const mb = 16;
    const pidFile = join(dir, 'stderr-flood.pid');
    const progress = join(dir, 'stderr-flood.progress');
    const flooded = join(dir, 'stderr-flood.done');
    const mw = join(dir, 'stderr-flood.py');
    writeFileSync(
      mw,
      [
        'import os, sys',
        `open(${JSON.stringify(pidFile)}, "w").write(str(os.getpid()))`,
        'chunk = (b"x" * 1023 + b"\\n") * 64',
        `for i in range(${mb * 16}):`,
        '    os.write(2, chunk)',
        `    open(${JSON.stringify(progress)}, "w").write(str((i + 1) * len(chunk)))`,
        `open(${JSON.stringify(flooded)}, "w").write("done")`,
        'for line in sys.stdin:',
        '    sys.stdout.write(line)',
        'sys.stdout.flush()',
      ].join('\n'),
    );
    const input = writeGor(join(dir, 'stderr-flood.gor'), messages);
    const out = join(dir, 'stderr-flood-out.gor');
    const child = startTapline([
      '--input-file',
      input,
      '--middleware',
      `python3 ${mw}`,
      '--middleware-timeout',
      '8s',
      '--output-file',
      out,
      '--output-file-append',
    ]);
    // Nothing reads tapline's stderr yet. Wait until the middleware sits in write(2, …) with the same progress
    // for 15 looks 100 ms apart, or until it has written all (the bug); hold it there longer than
    // --middleware-timeout (its input has ended: the watchdog would kill it if the wait counted; the time it
    // takes to start and to write the rest once read does count, hence a timeout this long).
    const started = Date.now();
    let still = 0;
    let last = '';
    for (
      let i = 0;
      i < 400 && (still < 15 || Date.now() - started < 9000) && !existsSync(flooded) && child.exitCode === null;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      const now = readIfThere(progress);
      let inWrite = false;
      try {
        const pid = readFileSync(pidFile, 'utf8');
        inWrite = readFileSync(`/proc/${pid}/syscall`, 'utf8').split(' ')[1] === '0x2';
      } catch {
        // not started yet
      }
      still = inWrite && now !== '' && now === last ? still + 1 : 0;
      last = now;
    }
    assert.equal(child.exitCode, null, 'tapline ended while its stderr was not read');
    const taken = Number(readIfThere(progress));
    assert.ok(!existsSync(flooded), `tapline took all ${mb} MB of the middleware's stderr while its own was not read`);
    assert.ok(still >= 15, 'the middleware was not seen blocked on its stderr');
    assert.ok(taken < 6 * 1024 * 1024, `tapline took ${taken} bytes of its stderr while its own was not read`);
    // Read now: the run ends, every line of its log and every message is there, and it was not killed.
    const r = await collect(child, 60_000);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.equal(r.stderr.split('\n').filter((l) => l === `[middleware] ${'x'.repeat(1023)}`).length, mb * 1024);
    assert.match(r.stderr, new RegExp(`${messages.length} sent, ${messages.length} received; exited with status 0`));
    same(readGor(out), messages);
  });
});
