/**
 * --input-file-loop keeps the warnings of an unchanged file's problems to its first pass. A read error that comes
 * from the machine, not the file, met on a later pass only (here: no file descriptor left to open the file with,
 * the dashboard's viewers holding them), is said in full: it was once counted as a repeat of a problem "warned
 * about above" that nothing above had said.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { encodeRecord } from '../../src/core/gor-format.js';
import { makeMeta } from '../../src/core/message.js';
import { cliShell, collect, waitFor } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-loop-fds-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('a later pass that cannot open the file (EMFILE) says so, not "the problems warned about above again"', async () => {
  const file = join(dir, 'small.gor');
  const record = (i: number) =>
    encodeRecord({
      meta: makeMeta({ type: '1', id: `${i}`.padStart(24, '0'), timestampNs: 1_700_000_000_000_000_000n + BigInt(i) }),
      data: Buffer.from(`GET /item/${i} HTTP/1.1\r\nHost: a\r\n\r\n`),
    });
  writeFileSync(file, Buffer.concat(Array.from({ length: 20 }, (_, i) => record(i))));
  const args = ['--input-file', `${file}|max`, '--input-file-loop', '--output-null', '--dashboard', '127.0.0.1:0'];
  const child = spawn('bash', ['-c', `ulimit -n 96; exec ${cliShell(...args, '--exit-after', '20s')}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  let seen = '';
  child.stderr!.on('data', (d: Buffer) => {
    seen += d.toString();
  });
  const done = collect(child, 60_000);
  const sockets: Socket[] = [];
  try {
    await waitFor(() => /dashboard on http:\/\/127\.0\.0\.1:\d+/.test(seen), 30_000);
    const port = Number(/dashboard on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen)![1]);
    // More viewers than descriptors: the next pass's open of the file fails.
    for (let i = 0; i < 120; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      sockets.push(s);
    }
    const r = await done;
    assert.match(r.stderr, /small\.gor: cannot read: EMFILE: too many open files/, r.stderr);
    assert.doesNotMatch(r.stderr, /warned about above again/, r.stderr);
    assert.match(r.stderr, /file errors 1/, r.stderr);
  } finally {
    for (const s of sockets) s.destroy();
    child.kill('SIGKILL');
  }
});

it('a glob of more files than descriptors left (ulimit -n 48): every file read, none failed with EMFILE', async () => {
  // The pool holds up to 64 files open; with fewer descriptors left, the files it could not open failed with
  // 'cannot read: EMFILE: too many open files' (14 of 70 files at ulimit -n 80), their records lost, exit 1.
  const sub = join(dir, 'many');
  mkdirSync(sub);
  for (let f = 0; f < 100; f++) {
    const records = Array.from({ length: 600 }, (_, i) =>
      encodeRecord({
        meta: makeMeta({
          type: '1',
          id: `f${f}r${i}`,
          timestampNs: 1_700_000_000_000_000_000n + BigInt(i * 100 + f) * 1000n,
        }),
        data: Buffer.from(`GET /f${f}/${i} HTTP/1.1\r\nHost: a\r\n\r\n`),
      }),
    );
    writeFileSync(join(sub, `f${String(f).padStart(3, '0')}.gor`), Buffer.concat(records));
  }
  const args = ['--input-file', `${sub}/*.gor|max`, '--output-stdout'];
  const child = spawn('bash', ['-c', `ulimit -n 48; exec ${cliShell(...args)}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const r = await collect(child, 120_000);
  assert.doesNotMatch(r.stderr, /EMFILE|too many open files/, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /records 60000, .*files 100/, r.stderr);
  // In time order, every record once.
  const ids = [...r.stdout.toString('latin1').matchAll(/^1 (f\d+r\d+) /gm)].map((m) => m[1]);
  assert.equal(ids.length, 60_000);
  const want = Array.from({ length: 60_000 }, (_, k) => `f${k % 100}r${Math.floor(k / 100)}`);
  assert.deepEqual(ids, want);
});
