import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from './async.js';
import { ERROR_CODES, TaplineError } from './errors.js';
import { memoryLogger } from './log.js';
import { type Message, makeMeta } from './message.js';
import { Pipeline } from './pipeline.js';
import type { Batch, Input, Output } from './plugin.js';
import { limitOutput } from './registry.js';

const request = (i: number): Message => ({
  meta: makeMeta({ type: '1', id: `id${i}`, timestampNs: BigInt(i), latencyNs: 0n }),
  data: Buffer.from(`GET /${i} HTTP/1.1\r\n\r\n`),
});
const response = (i: number): Message => ({
  meta: makeMeta({ type: '2', id: `id${i}`, timestampNs: BigInt(i), latencyNs: 0n }),
  data: Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
});

function arrayInput(messages: Message[], batch = 10, stats?: { pulled: number }): Input {
  let closed = false;
  return {
    name: 'test-input',
    async *read(): AsyncGenerator<Batch> {
      for (let i = 0; i < messages.length && !closed; i += batch) {
        if (stats) stats.pulled += Math.min(batch, messages.length - i);
        yield messages.slice(i, i + batch);
        await Promise.resolve();
      }
    },
    async close() {
      closed = true;
    },
  };
}

/** Never ends until closed; emits one batch every `ms`. */
function endlessInput(ms: number): Input & { emitted: number } {
  const stop = new AbortController();
  const self = {
    name: 'endless',
    emitted: 0,
    async *read(): AsyncGenerator<Batch> {
      let i = 0;
      while (!stop.signal.aborted) {
        self.emitted++;
        yield [request(i++)];
        await sleep(ms, stop.signal);
      }
    },
    async close() {
      stop.abort();
    },
  };
  return self;
}

function collector(delayMs = 0): Output & { got: Message[]; closed: boolean } {
  const self = {
    name: 'collector',
    got: [] as Message[],
    closed: false,
    write(msg: Message) {
      self.got.push(msg);
      if (delayMs > 0) return sleep(delayMs);
    },
    async close() {
      self.closed = true;
    },
  };
  return self;
}

describe('pipeline', () => {
  it('delivers 1000 requests to every output, in order, then closes them (gor TestEmitter)', async () => {
    const msgs = Array.from({ length: 1000 }, (_, i) => request(i));
    const a = collector();
    const b = collector();
    const summary = await new Pipeline({ inputs: [arrayInput(msgs)], outputs: [a, b], log: memoryLogger() }).run();
    assert.deepEqual(
      a.got.map((m) => m.meta.id),
      msgs.map((m) => m.meta.id),
    );
    assert.equal(b.got.length, 1000);
    assert.ok(a.closed && b.closed);
    assert.equal(summary.counters.messages, 1000);
    assert.deepEqual(summary.failures, []);
  });

  it('--split-output: requests alternate 500/500 and responses follow their request', async () => {
    const msgs = Array.from({ length: 1000 }, (_, i) => [request(i), response(i)]).flat();
    const a = collector();
    const b = collector();
    await new Pipeline({ inputs: [arrayInput(msgs)], outputs: [a, b], split: true, log: memoryLogger() }).run();
    for (const out of [a, b]) {
      const reqs = out.got.filter((m) => m.meta.type === '1').map((m) => m.meta.id);
      const resps = out.got.filter((m) => m.meta.type === '2').map((m) => m.meta.id);
      assert.equal(reqs.length, 500);
      assert.deepEqual(resps, reqs);
    }
  });

  it('backpressure: a slow output holds the input back (bounded memory)', async () => {
    const msgs = Array.from({ length: 200 }, (_, i) => request(i));
    const pulled = { pulled: 0 };
    const slow = collector(2);
    const run = new Pipeline({ inputs: [arrayInput(msgs, 10, pulled)], outputs: [slow], log: memoryLogger() }).run();
    await sleep(60);
    // At ~2 ms per message only a few dozen are written; the input may be at most a batch or two ahead.
    assert.ok(
      pulled.pulled - slow.got.length <= 20,
      `input ran ahead: pulled ${pulled.pulled}, written ${slow.got.length}`,
    );
    await run;
    assert.equal(slow.got.length, 200);
  });

  it('stop() ends an endless input, and what was read still reaches the outputs', async () => {
    const input = endlessInput(1);
    const out = collector();
    const pipeline = new Pipeline({ inputs: [input], outputs: [out], log: memoryLogger() });
    const run = pipeline.run();
    await sleep(30);
    await pipeline.stop();
    const summary = await run;
    assert.ok(summary.stopped);
    assert.equal(out.got.length, input.emitted);
    assert.ok(out.closed);
  });

  it('a stop waiting on an output that takes nothing says so, naming the output and how to exit', async () => {
    // Before: SIGINT with `--output-stdout | (reader that stopped reading)` or a FIFO nobody reads printed
    // "stopping; flushing outputs" and then nothing, for ever: it looked like a hang.
    const input = endlessInput(1);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const got: Message[] = [];
    const stuck: Output = {
      name: 'output-stuck',
      write(msg) {
        got.push(msg);
        return gate;
      },
      async close() {},
    };
    const log = memoryLogger();
    const pipeline = new Pipeline({ inputs: [input], outputs: [stuck], log, stopNoticeMs: 20 });
    const run = pipeline.run();
    for (let i = 0; i < 500 && got.length === 0; i++) await sleep(10);
    void pipeline.stop();
    const said = () => log.lines.find((l) => l.includes('still stopping'));
    for (let i = 0; i < 500 && !said(); i++) await sleep(10);
    assert.match(said() ?? '', /waiting for output-stuck to take the messages already read/);
    assert.match(said() ?? '', /SIGINT once more/);
    release();
    const summary = await run;
    assert.equal(summary.outputs[0]!.written, input.emitted);
    assert.equal(log.lines.filter((l) => l.includes('still stopping')).length, 1);
  });

  it('a stop waiting on an output that does not finish closing names it', async () => {
    let release: () => void = () => {};
    const out = collector();
    out.close = () =>
      new Promise<void>((resolve) => {
        release = resolve;
      });
    const input = endlessInput(1);
    const log = memoryLogger();
    const pipeline = new Pipeline({ inputs: [input], outputs: [out], log, stopNoticeMs: 20 });
    const run = pipeline.run();
    for (let i = 0; i < 500 && out.got.length === 0; i++) await sleep(10);
    void pipeline.stop();
    const said = () => log.lines.find((l) => l.includes('still stopping'));
    for (let i = 0; i < 500 && !said(); i++) await sleep(10);
    assert.match(said() ?? '', /waiting for collector to flush and close/);
    release();
    await run;
  });

  it('a stop waiting on an output whose replayed responses still come names it, not the inputs', async () => {
    // Before: "waiting for the inputs (or the middleware) to hand over what they had read" while the inputs had
    // ended and --output-binary-track-response waited for its target's answers.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A response stream that ends, empty, when released.
    const answers: AsyncIterable<Message[]> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          await gate;
          return { done: true, value: undefined };
        },
      }),
    };
    const replayer: Output = {
      name: 'output-replayer',
      write() {},
      responses: answers,
      async drain() {},
      async close() {},
    };
    const input = endlessInput(1);
    const log = memoryLogger();
    const pipeline = new Pipeline({ inputs: [input], outputs: [replayer], log, stopNoticeMs: 20 });
    const run = pipeline.run();
    for (let i = 0; i < 500 && input.emitted === 0; i++) await sleep(10);
    void pipeline.stop();
    const said = () => log.lines.find((l) => l.includes('still stopping'));
    for (let i = 0; i < 500 && !said(); i++) await sleep(10);
    assert.match(said() ?? '', /waiting for output-replayer to finish replaying what it had taken/);
    release();
    await run;
  });

  it('an output that fails when it closes: reported as a failure of its close, not as a run cut short', async () => {
    // Before: "…; it takes no more messages", then "every output has stopped taking messages: the inputs are
    // stopped", and the summary said "stopped" although every message had been routed (an S3 upload at the end).
    const out = collector();
    out.close = async () => {
      throw new TaplineError(ERROR_CODES.FILE_IO, 'the last upload failed', { where: 's3://b/k' });
    };
    const log = memoryLogger();
    const summary = await new Pipeline({ inputs: [arrayInput([request(1), request(2)])], outputs: [out], log }).run();
    assert.equal(out.got.length, 2);
    assert.equal(summary.stopped, false);
    assert.equal(summary.failures.length, 1);
    const text = log.lines.join('\n');
    assert.match(text, /collector: s3:\/\/b\/k: the last upload failed \(TAPLINE_ERR_FILE_IO\) \(when it closed\)/);
    assert.doesNotMatch(text, /takes no more messages|inputs are stopped/);
  });

  it('a failing output is taken out of service; the others get everything; the run reports the failure', async () => {
    const msgs = Array.from({ length: 50 }, (_, i) => request(i));
    const good = collector();
    let n = 0;
    const bad: Output = {
      name: 'bad',
      write() {
        if (++n === 10) throw new TaplineError(ERROR_CODES.FILE_IO, 'disk full', { where: 'out.gor' });
      },
      close: async () => {},
    };
    const log = memoryLogger();
    const summary = await new Pipeline({ inputs: [arrayInput(msgs)], outputs: [bad, good], log }).run();
    assert.equal(good.got.length, 50);
    const report = summary.outputs[0]!;
    assert.match(report.failed ?? '', /out\.gor: disk full/);
    assert.equal(report.lost, 41);
    assert.equal(summary.failures.length, 1);
    assert.ok(log.lines.some((l) => l.includes('bad: out.gor: disk full')));
  });

  it('an output whose reader went away or that reached its limit has stopped, not failed', async () => {
    // Before: the summary said 'failed: the reader closed the pipe' for `--output-stdout | head`, which the docs
    // (and the exit code 0) call no failure.
    for (const code of [ERROR_CODES.OUTPUT_CLOSED, ERROR_CODES.LIMIT_REACHED]) {
      let n = 0;
      const ending: Output = {
        name: 'ending',
        write() {
          if (++n === 3) throw new TaplineError(code, 'it ends here');
        },
        close: async () => {},
      };
      const msgs = Array.from({ length: 10 }, (_, i) => request(i));
      const summary = await new Pipeline({ inputs: [arrayInput(msgs)], outputs: [ending], log: memoryLogger() }).run();
      const report = summary.outputs[0]!;
      assert.equal(report.failed, undefined, code);
      assert.match(report.stopped ?? '', /it ends here/, code);
      assert.deepEqual(summary.failures, [], code);
    }
  });

  it('a write that fails after it was taken counts as not written, not as written', async () => {
    const msgs = Array.from({ length: 20 }, (_, i) => request(i));
    let n = 0;
    const bad: Output = {
      name: 'late',
      write() {
        if (++n === 5) return Promise.reject(new TaplineError(ERROR_CODES.FILE_IO, 'cannot open', { where: 'x.gor' }));
        return undefined;
      },
      close: async () => {},
    };
    const summary = await new Pipeline({ inputs: [arrayInput(msgs)], outputs: [bad], log: memoryLogger() }).run();
    const report = summary.outputs[0]!;
    assert.match(report.failed ?? '', /cannot open/);
    assert.equal(report.written + report.lost, 20);
    assert.ok(report.written <= 4, `written ${report.written}: the failed write is not among them`);
  });

  it('an input error ends that input only and is reported', async () => {
    const broken: Input = {
      name: 'broken',
      // biome-ignore lint/correctness/useYield: the point is to fail before yielding
      async *read() {
        throw new TaplineError(ERROR_CODES.FILE_IO, 'no such file', { where: 'missing.gor' });
      },
      close: async () => {},
    };
    const out = collector();
    const summary = await new Pipeline({
      inputs: [broken, arrayInput([request(1)])],
      outputs: [out],
      log: memoryLogger(),
    }).run();
    assert.equal(out.got.length, 1);
    assert.match(summary.inputs[0]!.error ?? '', /missing\.gor: no such file/);
    assert.equal(summary.failures.length, 1);
  });

  it('--copy-buffer-size cuts long payloads and counts them; empty payloads are skipped', async () => {
    const long = { meta: request(1).meta, data: Buffer.alloc(100, 0x61) };
    const empty = { meta: request(2).meta, data: Buffer.alloc(0) };
    const out = collector();
    const log = memoryLogger();
    const summary = await new Pipeline({
      inputs: [arrayInput([long, empty])],
      outputs: [out],
      copyBufferSize: 10,
      log,
    }).run();
    assert.equal(out.got[0]?.data.length, 10);
    assert.equal(summary.counters.truncated, 1);
    assert.equal(summary.counters.empty, 1);
    assert.ok(log.lines.some((l) => /cut to --copy-buffer-size 10/.test(l)));
  });

  it('processors filter and edit', async () => {
    const out = collector();
    const summary = await new Pipeline({
      inputs: [arrayInput([request(1), request(2), request(3)])],
      outputs: [out],
      processors: [(m) => (m.meta.id === 'id2' ? null : m)],
      log: memoryLogger(),
    }).run();
    assert.deepEqual(
      out.got.map((m) => m.meta.id),
      ['id1', 'id3'],
    );
    assert.equal(summary.counters.filtered, 1);
  });

  it('output |N% sampling keeps whole exchanges: a dropped request drops its response', async () => {
    const msgs = Array.from({ length: 400 }, (_, i) => [request(i), response(i)]).flat();
    const out = collector();
    await new Pipeline({
      inputs: [arrayInput(msgs)],
      outputs: [limitOutput(out, { kind: 'percent', percent: 50 })],
      log: memoryLogger(),
    }).run();
    const reqs = out.got.filter((m) => m.meta.type === '1').map((m) => m.meta.id);
    const resps = out.got.filter((m) => m.meta.type === '2').map((m) => m.meta.id);
    assert.deepEqual(resps, reqs);
    assert.ok(reqs.length > 120 && reqs.length < 280, `kept ${reqs.length} of 400`);
  });

  it('output |N counts requests only', async () => {
    const msgs = Array.from({ length: 100 }, (_, i) => [request(i), response(i)]).flat();
    const out = collector();
    await new Pipeline({
      inputs: [arrayInput(msgs, 200)],
      outputs: [limitOutput(out, { kind: 'rate', perSecond: 10 })],
      log: memoryLogger(),
    }).run();
    assert.equal(out.got.filter((m) => m.meta.type === '1').length, 10);
    assert.equal(out.got.filter((m) => m.meta.type === '2').length, 10);
  });

  it('outputs that produce responses are drained before everything closes', async () => {
    const file = collector();
    const replayer = replayerOutput();
    await new Pipeline({
      inputs: [arrayInput([request(1), request(2)])],
      outputs: [replayer, file],
      log: memoryLogger(),
    }).run();
    assert.deepEqual(
      file.got.map((m) => `${m.meta.type}:${m.meta.id}`),
      ['1:id1', '1:id2', '3:id1', '3:id2'],
    );
    assert.ok(file.closed);
  });

  it('--split-output with a replaying output beside one that records: says where the replayed responses go', async () => {
    const file = collector();
    const log = memoryLogger();
    const replayer = replayerOutput();
    await new Pipeline({
      inputs: [arrayInput([request(1), request(2)])],
      outputs: [replayer, file],
      split: true,
      log,
    }).run();
    // id1 went to the replayer, so its replayed response follows it there; the file never sees a type 3.
    assert.deepEqual(
      file.got.map((m) => `${m.meta.type}:${m.meta.id}`),
      ['1:id2'],
    );
    assert.equal(log.lines.length, 1, log.lines.join('\n'));
    assert.match(
      log.lines[0]!,
      /--split-output: the responses replayer replays \(type 3\) follow their request back to it, .* no other output gets them/,
    );
    // Split over replaying outputs only: nothing records responses anyway, nothing to say.
    const quiet = memoryLogger();
    await new Pipeline({
      inputs: [arrayInput([request(1), request(2)])],
      outputs: [replayerOutput(), replayerOutput()],
      split: true,
      log: quiet,
    }).run();
    assert.deepEqual(quiet.lines, []);
  });
});

/** An output that answers each request it took with a type-3 response once drained (as --output-http-track-response). */
function replayerOutput(): Output {
  const pending: Message[] = [];
  let finish: (() => void) | undefined;
  const replayer: Output = {
    name: 'replayer',
    write(msg) {
      if (msg.meta.type === '1') pending.push(msg);
    },
    responses: (async function* () {
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      yield pending.map((m) => ({
        meta: makeMeta({ type: '3', id: m.meta.id, timestampNs: 0n, latencyNs: 5n }),
        data: Buffer.from('HTTP/1.1 200 OK\r\n\r\n'),
      }));
    })(),
    async drain() {
      await sleep(5);
      finish?.();
    },
    close: async () => {},
  };
  return replayer;
}
