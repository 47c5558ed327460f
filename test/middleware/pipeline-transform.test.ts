/**
 * The two pipeline hooks middleware relies on: a failing transform ends the run with a recorded failure after
 * every output is closed (flushed), and settle() runs before the replay outputs are drained.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, TaplineError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/log.js';
import type { Message } from '../../src/core/message.js';
import { Pipeline } from '../../src/core/pipeline.js';
import type { Batch, Input, Output } from '../../src/core/plugin.js';
import { request } from './support.js';

function input(messages: Message[]): Input & { closed: boolean } {
  const self = {
    name: 'in',
    closed: false,
    async *read(): AsyncGenerator<Batch> {
      for (const m of messages) {
        if (self.closed) return;
        yield [m];
        await new Promise((r) => setImmediate(r));
      }
    },
    async close() {
      self.closed = true;
    },
  };
  return self;
}

/** An output that produces responses (like --output-http-track-response): its stream ends once drained. */
function output(events: string[]): Output & { got: Message[] } {
  let drained: () => void = () => {};
  const untilDrained = new Promise<void>((r) => {
    drained = r;
  });
  const self = {
    name: 'out',
    got: [] as Message[],
    write(m: Message) {
      self.got.push(m);
    },
    async drain() {
      events.push('drain');
      drained();
    },
    // A response stream that yields nothing and ends once the output has drained.
    responses: (async function* (): AsyncGenerator<Batch> {
      await untilDrained;
      yield* [];
    })(),
    async close() {
      events.push('close');
    },
  };
  return self;
}

describe('pipeline hooks for middleware', () => {
  it('a transform that throws: messages before it are written, inputs stopped, outputs closed, failure recorded', async () => {
    const events: string[] = [];
    const out = output(events);
    const src = input(Array.from({ length: 50 }, (_, i) => request(i, `/${i}`)));
    const log = memoryLogger();
    const summary = await new Pipeline({
      inputs: [src],
      outputs: [out],
      log,
      async *transform(source) {
        let n = 0;
        for await (const batch of source) {
          yield batch;
          if (++n === 3) throw new TaplineError(ERROR_CODES.MIDDLEWARE, 'middleware "x" (pid 1) exited with status 2');
        }
      },
    }).run();
    assert.equal(out.got.length, 3);
    assert.ok(src.closed, 'inputs stopped');
    assert.ok(events.includes('close'), 'output closed (flushed)');
    assert.deepEqual(summary.failures, ['middleware "x" (pid 1) exited with status 2 (TAPLINE_ERR_MIDDLEWARE)']);
    assert.match(log.lines.join('\n'), /error: middleware "x" \(pid 1\) exited with status 2/);
  });

  it('settle() resolves before the replay outputs are drained', async () => {
    const events: string[] = [];
    const out = output(events);
    await new Pipeline({
      inputs: [input([request(1, '/')])],
      outputs: [out],
      log: memoryLogger(),
      transform: (source) => source,
      settle: async () => {
        events.push('settle');
        await new Promise((r) => setTimeout(r, 20));
        events.push('settled');
      },
    }).run();
    assert.deepEqual(events.slice(0, 3), ['settle', 'settled', 'drain']);
  });
});
