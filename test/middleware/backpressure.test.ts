/**
 * Backpressure both ways through a real middleware process: while it does not read, tapline stops pulling
 * from the inputs; while tapline does not take its output, it blocks, stops reading, and the inputs stop
 * again. Memory stays bounded in both cases. No timing assertions: the test waits until pulling stops.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { memoryLogger } from '../../src/core/log.js';
import type { Batch } from '../../src/core/plugin.js';
import { ExternalMiddleware } from '../../src/middleware/external.js';
import { request, tempDir } from './support.js';

const tmp = tempDir('backpressure');
after(() => tmp.cleanup());

const TOTAL = 200;
const BODY = 'x'.repeat(64 * 1024);

/** Yields TOTAL 64 KB requests one per batch, counting how many were pulled. */
function source(counter: { pulled: number }): AsyncIterable<Batch> {
  return {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < TOTAL; i++) {
        counter.pulled++;
        yield [request(i, '/upload', BODY)];
      }
    },
  };
}

/** Polls until `read()` has not changed for a while (bounded). */
async function settled(read: () => number): Promise<number> {
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const now = read();
    if (now === last) return now;
    last = now;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error('never settled');
}

describe('middleware backpressure', () => {
  it('a middleware that does not read yet holds the inputs back; everything flows once it reads', async () => {
    const gate = join(tmp.dir, 'go');
    // The command is split on spaces with no shell, so the script goes in a file.
    const script = `while [ ! -e ${gate} ]; do sleep 0.05; done; exec cat`;
    const mw = new ExternalMiddleware({ command: `bash ${writeScript(script)}`, log: memoryLogger() });
    const counter = { pulled: 0 };
    const out = mw.transform(source(counter))[Symbol.asyncIterator]();
    const first = out.next();
    const held = await settled(() => counter.pulled);
    assert.ok(held < TOTAL / 2, `pulled ${held} of ${TOTAL} while the middleware did not read`);
    writeFileSync(gate, '');
    let got = 0;
    let r = await first;
    while (!r.done) {
      got += r.value.length;
      r = await out.next();
    }
    assert.equal(got, TOTAL);
    assert.equal(counter.pulled, TOTAL);
    assert.ok(existsSync(gate));
  });

  it('a consumer that stops taking output blocks the middleware and then the inputs', async () => {
    const mw = new ExternalMiddleware({ command: 'cat', log: memoryLogger() });
    const counter = { pulled: 0 };
    const out = mw.transform(source(counter))[Symbol.asyncIterator]();
    const first = await out.next();
    assert.equal(first.done, false);
    const held = await settled(() => counter.pulled);
    assert.ok(held < TOTAL, `pulled ${held} of ${TOTAL} while nobody took the output`);
    let got = first.done ? 0 : first.value.length;
    for (let r = await out.next(); !r.done; r = await out.next()) got += r.value.length;
    assert.equal(got, TOTAL);
  });
});

function writeScript(text: string): string {
  const path = join(tmp.dir, 'wait-then-cat.sh');
  writeFileSync(path, `${text}\n`);
  return path;
}
