/**
 * `--middleware` end to end: the real CLI, real middleware processes written for this project in bash,
 * Python and Node (test/middleware/fixtures), one per feature and one per failure.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FIXTURES, fixture, middlewareRuns, nodeFixture, request, response, writeGor } from './support.js';

const { dir, messages, run, same } = middlewareRuns('--middleware');

describe('--middleware features', { concurrency: 2 }, () => {
  it('pass-through in bash (while read): every message back, byte for byte', async () => {
    const r = await run(fixture('echo.sh'));
    assert.equal(r.code, 0, r.stderr);
    same(r.got);
    assert.match(r.stderr, /middleware ".*echo\.sh" \(pid \d+\): 6 sent, 6 received; exited with status 0/);
  });

  it('pass-through in Python (block-buffered stdout)', async () => {
    const r = await run(`python3 ${fixture('echo.py')}`);
    assert.equal(r.code, 0, r.stderr);
    same(r.got);
  });

  it('pass-through in Node with the helper library', async () => {
    const r = await run(nodeFixture('echo-helper.ts'));
    assert.equal(r.code, 0, r.stderr);
    same(r.got);
  });

  it('dropping a request and its response (Python); stderr is passed through, prefixed', async () => {
    const r = await run(`python3 ${fixture('drop.py')}`);
    assert.equal(r.code, 0, r.stderr);
    same(r.got, [messages[0]!, messages[1]!, messages[4]!, messages[5]!]);
    assert.match(r.stderr, /^\[middleware\] drop\.py: dropping 000000000000000000000002$/m);
  });

  it('stderr is passed through whole: a UTF-8 character split between two reads is not garbled', async () => {
    const r = await run(`python3 ${fixture('stderr-utf8.py')}`);
    assert.equal(r.code, 0, r.stderr);
    same(r.got);
    assert.match(r.stderr, /^\[middleware\] café ✓$/m);
  });

  it('adding a header (bash with xxd and sed)', async () => {
    const r = await run(fixture('add-header.sh'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.got.length, 6);
    assert.equal(r.got[0]!.data.toString(), 'GET /a HTTP/1.1\r\nX-Middleware: bash\r\nHost: example.test\r\n\r\n');
    assert.equal(r.got[1]!.data.toString(), messages[1]!.data.toString(), 'responses untouched');
    assert.match(r.got[4]!.data.toString(), /^POST \/b\?x=1 HTTP\/1\.1\r\nX-Middleware: bash\r\n.*\r\n\r\nform=1$/s);
  });

  for (const [lang, cmd, tag] of [
    ['Python', `python3 ${fixture('big-body.py')}`, 'python'],
    ['Node', nodeFixture('big-body.ts'), 'node'],
  ] as const) {
    it(`editing a body larger than 1 MB (${lang}): no size limit, Content-Length right`, async () => {
      const body = 'a'.repeat(1_500_000);
      const file = writeGor(join(dir, `big-${tag}.gor`), [request(7, '/upload', body), response(7)]);
      const r = await run(cmd, [], file);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.got.length, 2);
      const data = r.got[0]!.data;
      const sep = data.indexOf('\r\n\r\n');
      const head = data.subarray(0, sep).toString();
      const newBody = data.subarray(sep + 4);
      assert.equal(newBody.length, 1_500_000);
      assert.ok(newBody.equals(Buffer.alloc(1_500_000, 'b')), 'every byte edited');
      assert.match(head, new RegExp(`X-Body-Edited: ${tag}`));
      assert.match(head, /Content-Length: 1500000/);
    });
  }
});

describe('--middleware failures', { concurrency: 2 }, () => {
  it('a middleware that exits with a status: error names it, the pid and the status; outputs flushed; exit 1', async () => {
    const r = await run(fixture('exit-after-one.sh'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /error: --middleware: middleware ".*exit-after-one\.sh" \(pid \d+\) exited with status 3, after it was sent \d+ message\(s\) and wrote back 1; the run stops \(TAPLINE_ERR_MIDDLEWARE\)/,
    );
    assert.match(r.stderr, /^\[middleware\] exit-after-one: giving up$/m);
    same(r.got, [messages[0]!]);
  });

  it('a middleware killed by a signal', async () => {
    const r = await run(fixture('killed.sh'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /middleware ".*killed\.sh" \(pid \d+\) was killed by SIGKILL/);
    same(r.got, [messages[0]!]);
  });

  it('CR LF line endings: each line reported with its number, dropped; exit 1', async () => {
    const r = await run(fixture('crlf.sh'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /stdout line 1 ends with CR LF; lines must end with LF only/);
    assert.match(r.stderr, /6 unreadable lines dropped/);
    assert.equal(r.got.length, 0);
  });

  it('a line that is not hex: reported with line and column; the other messages go on', async () => {
    const r = await run(fixture('not-hex.sh'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /stdout line 1 is not hex at column 1: "hello from a confused middleware"/);
    same(r.got);
  });

  it('a truncated last line', async () => {
    const r = await run(fixture('truncated.sh'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /stdout line 7 is truncated: the output ended after 4 hex digits without a final LF/);
    same(r.got);
  });

  it('a message without a meta line', async () => {
    const r = await run(fixture('no-meta.sh'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /stdout line 1 decodes to 14 bytes without a meta line/);
    same(r.got);
  });

  it('a middleware that never answers and never exits: killed after --middleware-timeout', async () => {
    const started = Date.now();
    const r = await run(fixture('never-answers.sh'), ['--middleware-timeout', '1s']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /pid \d+\) was still running 1s after its input ended/);
    assert.match(r.stderr, /after it was sent 6 message\(s\) and wrote back 0/);
    assert.ok(Date.now() - started < 20_000);
  });

  it('a middleware that never reads its stdin: killed, not a hang', async () => {
    const big = Array.from({ length: 40 }, (_, i) => request(i, '/big', 'x'.repeat(100_000)));
    const file = writeGor(join(dir, 'never-reads.gor'), big);
    const r = await run(fixture('never-reads.sh'), ['--middleware-timeout', '1s'], file);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /has not read its stdin for 1s \(\d+ bytes waiting; --middleware-timeout\); killing it/);
  });

  it('a flooding middleware: every message arrives, garbage is counted, warnings stay few', async () => {
    const r = await run(fixture('flood.sh'), [], writeGor(join(dir, 'flood.gor'), messages.slice(0, 2)));
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.got.length, 400);
    assert.match(r.stderr, /400 unreadable lines dropped/);
    assert.ok(r.stderr.split('\n').length < 30, `stderr stays short:\n${r.stderr}`);
  });

  it('a program that does not exist', async () => {
    const r = await run('no-such-middleware-program --flag');
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /cannot start middleware "no-such-middleware-program --flag": program "no-such-middleware-program" not found/,
    );
  });

  it('a script whose #! interpreter is missing (or ends in CR: Windows line endings) is not called "not found"', async () => {
    const scripts: [string, string, RegExp][] = [
      [
        'windows.sh',
        '#!/bin/bash\r\ncat\r\n',
        /windows\.sh" has a #! line that ends in CR \(the script has Windows line endings; convert it/,
      ],
      [
        'missing-interpreter.sh',
        '#!/no/such/interpreter\ncat\n',
        /the interpreter of program ".*missing-interpreter\.sh" was not found: its #! line is "#!\/no\/such\/interpreter"/,
      ],
    ];
    for (const [name, text, words] of scripts) {
      writeFileSync(join(dir, name), text, { mode: 0o755 });
      const r = await run(join(dir, name));
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, words);
    }
  });

  it('a directory as the program is named a directory (chmod +x would not help)', async () => {
    const r = await run(FIXTURES);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /program ".*fixtures" is a directory \(give the path of the program inside it\)/);
  });

  it('shell syntax in the command still runs as gor runs it (no shell), with a warning that says so', async () => {
    const log = join(dir, 'tee.log');
    const r = await run(`${fixture('echo.sh')} | tee ${log}`);
    assert.equal(r.code, 0, r.stderr);
    same(r.got);
    assert.match(
      r.stderr,
      /echo\.sh is given "\|" as plain argument\(s\): the command is run without a shell \(as gor does\)/,
    );
    assert.equal(existsSync(log), false);
  });

  it('usage errors exit 2', async () => {
    const empty = await run('');
    assert.equal(empty.code, 2, empty.stderr);
    assert.match(empty.stderr, /--middleware: needs a program to run/);
    const both = await run('cat', ['--middleware-module', fixture('modules/pass.ts')]);
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /use --middleware or --middleware-module, not both/);
  });
});
