/**
 * What a message in progress keeps alive (`collect` + `stableChunks`, as the raw capture uses the splitter).
 * Each chunk a capture pushes is a view into a batch buffer of many packets; a request whose body trickles in
 * for minutes must not keep every batch it touched (the live probe saw RSS grow ~3.5 MB/s, without end, for
 * 20 connections trickling 100 bytes a second beside busy traffic; flat with this).
 *
 * Whether a buffer is still reachable is asked of the garbage collector itself (a WeakRef after a full gc):
 * `--expose-gc` is switched on from here, since node:test runs this file without it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RequestSplitter } from './splitter.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const BATCH = 256 * 1024;
const HEAD = 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n';

/** `bytes` as the capture hands them over: a small view at the end of a large batch buffer of its own. */
function inBatch(bytes: Buffer): { view: Buffer; batch: WeakRef<ArrayBuffer> } {
  const batch = Buffer.allocUnsafeSlow(Math.max(BATCH, bytes.length));
  bytes.copy(batch, batch.length - bytes.length);
  return { view: batch.subarray(batch.length - bytes.length), batch: new WeakRef(batch.buffer) };
}

async function liveBatches(refs: readonly WeakRef<ArrayBuffer>[]): Promise<number> {
  // A WeakRef keeps its target until the current job ends: let it end, then collect.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return refs.filter((r) => r.deref() !== undefined).length;
}

describe('splitter: a message in progress keeps only its latest chunk buffer alive', () => {
  it('a body trickling in over 40 batches pins at most one of them, and is collected whole', async () => {
    const s = new RequestSplitter({ collect: true, stableChunks: true, maxSize: 64 * 1024 * 1024 });
    const refs: WeakRef<ArrayBuffer>[] = [];
    const sent: Buffer[] = [];
    const push = (bytes: Buffer) => {
      sent.push(bytes);
      const { view, batch } = inBatch(bytes);
      refs.push(batch);
      assert.deepEqual(s.push(view), []);
    };
    push(Buffer.from(HEAD, 'latin1'));
    // Pieces of every size around the joining threshold: tiny ones, and some that are large by themselves.
    for (let i = 0; i < 40; i++) push(Buffer.alloc(i % 7 === 0 ? 5000 : 1 + i * 3, 97 + (i % 26)));
    assert.ok((await liveBatches(refs)) <= 1, `${await liveBatches(refs)} of ${refs.length} batches still alive`);

    // The rest of the body in one more chunk: the message comes out byte for byte as sent.
    const collected = Buffer.concat(sent).length - HEAD.length;
    const rest = Buffer.alloc(1_000_000 - collected, 122);
    sent.push(rest);
    const out = s.push(inBatch(rest).view);
    assert.equal(out.length, 1);
    assert.ok(out[0]!.bytes!.equals(Buffer.concat(sent)));
    assert.equal(out[0]!.incomplete, null);
  });

  it('a message whole inside one chunk is still a view of it (no copy)', () => {
    const s = new RequestSplitter({ collect: true, stableChunks: true });
    const { view } = inBatch(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
    const out = s.push(view);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.bytes!.buffer, view.buffer);
  });
});
