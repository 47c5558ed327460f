/**
 * A FIFO's big record: a plain file's record past fileSourceLimits.deferAbove is read again in one piece once its
 * end is known (file-source.ts); a pipe cannot be read again, so its records are held as they come, whatever
 * their size. The CLI end-to-end cases are in test/e2e/file-pipes.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { encodeRecord } from '../core/gor-format.js';
import { memoryLogger } from '../core/log.js';
import { type Message, makeMeta } from '../core/message.js';
import { fileInput, fileInputLimits } from './file.js';
import { fileSourceLimits } from './file-source.js';
import { descriptorNamed } from './file-stream.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapline-file-stream-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

it('a FIFO holding records bigger than the deferral threshold: every record, whole', async () => {
  const fifo = join(dir, 'big.gor');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const sizes = [10, 300 * 1024, 20, 1024 * 1024, 5];
  const records = sizes.map((size, n) => {
    const data = Buffer.concat([Buffer.from(`POST /${n} HTTP/1.1\r\n\r\n`), Buffer.alloc(size, 0x61 + n)]);
    const meta = makeMeta({ type: '1', id: `${n}`.padStart(24, '0'), timestampNs: BigInt(n), latencyNs: 0n });
    return { meta, data };
  });
  const before = fileSourceLimits.deferAbove;
  fileSourceLimits.deferAbove = 100 * 1024;
  try {
    const input = fileInput({ patterns: [fifo], speed: Number.POSITIVE_INFINITY });
    const writer = createWriteStream(fifo);
    writer.end(Buffer.concat(records.map((r) => encodeRecord(r))));
    const seen: Message[] = [];
    for await (const batch of input.read()) seen.push(...batch);
    assert.equal(seen.length, records.length);
    for (const [i, m] of seen.entries()) assert.ok(m.data.equals(records[i]!.data), `record ${i}`);
    assert.equal(input.stats!().file_errors, 0);
  } finally {
    fileSourceLimits.deferAbove = before;
  }
});

it('FIFOs a glob matches, written one after the other: the stall is said, naming them', async () => {
  // Before: the writer filled f1.gor and blocked while the merge waited for f2.gor's first record, which its
  // writer would write only after f1.gor: 0 messages, no word, forever (as gor).
  const sub = join(dir, 'stall');
  mkdirSync(sub);
  for (const f of ['f1.gor', 'f2.gor']) assert.equal(spawnSync('mkfifo', [join(sub, f)]).status, 0);
  const body = 'x'.repeat(2000);
  const src = join(dir, 'stall-src.gor');
  const records = Array.from({ length: 400 }, (_, n) => {
    const meta = makeMeta({ type: '1', id: `${n}`.padStart(24, '0'), timestampNs: BigInt(n), latencyNs: 0n });
    return encodeRecord({ meta, data: Buffer.from(`POST /${n} HTTP/1.1\r\n\r\n${body}`) });
  });
  writeFileSync(src, Buffer.concat(records)); // 800 KB: more than a pipe holds, once the window is full
  const saved = fileInputLimits.pipeStallMs;
  fileInputLimits.pipeStallMs = 100;
  const log = memoryLogger();
  const input = fileInput({ patterns: [join(sub, 'f*.gor')], speed: Number.POSITIVE_INFINITY, log });
  const reading = input.read()[Symbol.asyncIterator]().next();
  reading.catch(() => {});
  // Its own process group, so that the blocked cat goes with it.
  const writer = spawn('sh', ['-c', 'cat "$1" > f1.gor; cat "$1" > f2.gor', 'sh', src], { cwd: sub, detached: true });
  try {
    const said = () => log.lines.find((l) => l.includes('waited'));
    for (let i = 0; i < 300 && said() === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    const line = said() ?? '';
    assert.match(line, /waited 100ms for the first records of \S+f2\.gor .* while \S+f1\.gor has records waiting/);
    assert.match(line, /cat f1\.gor f2\.gor \| tapline --input-file \/dev\/stdin/);
    assert.equal(log.lines.filter((l) => l.includes('waited')).length, 1);
  } finally {
    fileInputLimits.pipeStallMs = saved;
    try {
      process.kill(-writer.pid!, 'SIGKILL');
    } catch {}
    await input.close?.();
  }
});

it('a Unix socket file a glob matches: the warning says what it is and how to read it', async () => {
  // Before: 'cannot read: ENXIO: no such device or address, open …'.
  const sub = join(dir, 'sock');
  mkdirSync(sub);
  writeFileSync(
    join(sub, 'a.gor'),
    encodeRecord({
      meta: makeMeta({ type: '1', id: 'a', timestampNs: 1n, latencyNs: 0n }),
      data: Buffer.from('GET / HTTP/1.1\r\n\r\n'),
    }),
  );
  const sock = join(sub, 's.gor');
  const server = createServer().listen(sock);
  await once(server, 'listening');
  try {
    const log = memoryLogger();
    const input = fileInput({ patterns: [join(sub, '*.gor')], speed: Number.POSITIVE_INFINITY, log });
    const seen: Message[] = [];
    await assert.rejects(async () => {
      for await (const batch of input.read()) seen.push(...batch);
    }, /1 file could not be read to the end/);
    assert.equal(seen.length, 1);
    assert.deepEqual(log.lines, [
      `tapline: warning: ${sock}: cannot read: it is a Unix socket file, not a file, pipe or device (what tapline ` +
        'reads): a socket is connected to, not opened; to read what the program listening on it sends, use e.g. ' +
        `socat: socat -u UNIX-CONNECT:${sock} - | tapline --input-file /dev/stdin (ENXIO) (TAPLINE_ERR_FILE_IO)`,
    ]);
  } finally {
    server.close();
  }
});

it('the descriptors a path names', () => {
  assert.equal(descriptorNamed('/dev/stdin'), 0);
  assert.equal(descriptorNamed('/dev/fd/63'), 63);
  assert.equal(descriptorNamed('/proc/self/fd/7'), 7);
  assert.equal(descriptorNamed('/dev/stdout'), undefined);
  assert.equal(descriptorNamed('/tmp/fd/3'), undefined);
});
