// --output-stdout's stream output: a reader that goes away (EPIPE) stops it with a plain OUTPUT_CLOSED error.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { describeError, ERROR_CODES, isTaplineError } from '../core/errors.js';
import { makeMeta } from '../core/message.js';
import { streamOutput } from './stdout.js';

test('a closed pipe is said once, without the output name twice (the pipeline puts it in front)', async () => {
  const closedPipe = new Writable({
    write(_chunk, _encoding, done) {
      done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  const out = streamOutput('output-stdout', closedPipe);
  const msg = { meta: makeMeta({ type: '1', id: 'a', timestampNs: 1n }), data: Buffer.from('GET / HTTP/1.1\r\n\r\n') };
  // The first write is accepted; the pipe's error arrives after it. Bounded: a few event-loop turns.
  let thrown: unknown;
  for (let i = 0; i < 20 && thrown === undefined; i++) {
    try {
      await out.write(msg);
    } catch (err) {
      thrown = err;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(isTaplineError(thrown), String(thrown));
  assert.equal(thrown.code, ERROR_CODES.OUTPUT_CLOSED);
  assert.equal(describeError(thrown), 'the reader closed the pipe (TAPLINE_ERR_OUTPUT_CLOSED)');
});

test('any other write error is a failure in words, naming stdout (ENOSPC: > /dev/full)', async () => {
  const full = new Writable({
    write(_chunk, _encoding, done) {
      done(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    },
  });
  const out = streamOutput('output-stdout', full);
  const msg = { meta: makeMeta({ type: '1', id: 'a', timestampNs: 1n }), data: Buffer.from('GET / HTTP/1.1\r\n\r\n') };
  await out.write(msg);
  await assert.rejects(
    async () => out.close(),
    (e: unknown) =>
      describeError(e) === 'cannot write to stdout: no space left on device (ENOSPC) (TAPLINE_ERR_FILE_IO)',
  );
});

test("bytes a reader has not taken are counted as unwritten (a full pipe, then a second Ctrl-C, lost them unsaid: the summary said 'bytes 1.00 MiB')", async () => {
  // A reader that never takes anything: every byte stays with the output.
  const stuck = new Writable({ highWaterMark: 1024, write() {} });
  const out = streamOutput('output-stdout', stuck);
  const msg = { meta: makeMeta({ type: '1', id: 'a', timestampNs: 1n }), data: Buffer.alloc(3000, 0x61) };
  await out.write(msg);
  await new Promise((resolve) => setImmediate(resolve));
  const held = out.write(msg);
  assert.ok(held instanceof Promise, 'the second write waits for the reader');
  const s = out.stats!();
  assert.equal(s.messages, 2);
  assert.ok(Number(s.bytes) > 6000);
  assert.equal(s.unwritten_bytes, s.bytes, 'none of it was taken');
});
