/**
 * Raw runs (core/plugin.ts) into --output-http's native sender: the addon reads a run's `.gor` records itself
 * (http_sender.cc submitRun). What the target receives, in what order, and what the output counts must be
 * exactly what write() of each record gives — for plain requests (Host replaced, added when missing, "Hoſt"),
 * HEAD, and the records write() treats otherwise (a response record, CONNECT, absolute-form, not HTTP, bare
 * LF heads), which the run hands to write() in their place. Also: backpressure within a run (queue-len 20),
 * a slice boundary (RUN_SLICE 512), and failures naming the run's request ids. Real servers on 127.0.0.1.
 * Skipped, and said, when the tapline_http addon is not built.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/core/log.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { Pipeline } from '../../src/core/pipeline.js';
import type { Batch, Input, Output, RawRun } from '../../src/core/plugin.js';
import { httpOutput } from '../../src/outputs/http.js';
import { httpAddon } from '../../src/outputs/http-native.js';
import { okAnswer, rawServer } from './replay-support.js';

const SEPARATOR = Buffer.from('\n🐵🙈🙉\n');

interface Rec {
  type: string;
  id: string;
  payload: Buffer;
}

function record(type: string, id: string, payload: string): Rec {
  return { type, id, payload: Buffer.from(payload, 'utf8') };
}

const ts = (i: number) => 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n;
const encode = (r: Rec, i: number) =>
  Buffer.concat([Buffer.from(`${r.type} ${r.id} ${ts(i)} 0\n`, 'latin1'), r.payload, SEPARATOR]);
const message = (r: Rec, i: number): Message => ({
  meta: makeMeta({ type: r.type, id: r.id, timestampNs: ts(i), latencyNs: 0n }),
  data: r.payload,
});

/** Records that each take another way through write(), between plain ones. */
function mixedRecords(plain: number): Rec[] {
  const out: Rec[] = [
    record('1', 'a1', 'GET /a HTTP/1.1\r\nHost: prod\r\nAccept: */*\r\n\r\n'),
    record('1', 'a2', 'POST /b HTTP/1.1\r\nhost:  prod \r\nContent-Length: 3\r\n\r\nabc'),
    record('1', 'a3', 'HEAD /c HTTP/1.1\r\nX: y\r\n\r\n'),
    record('2', 'a3', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
    record('1', 'a4', 'GET http://other.example/d?x=1 HTTP/1.1\r\nHost: other\r\n\r\n'),
    record('1', 'a5', 'CONNECT example:443 HTTP/1.1\r\nHost: example:443\r\n\r\n'),
    record('1', 'a6', 'hello, this is not an HTTP request at all\r\n\r\n'),
    record('1', 'a7', 'GET /e HTTP/1.1\nHost: prod\n\n'),
    record('1', 'a8', 'GET /f HTTP/1.1\r\nHoſt: x\r\n\r\n'),
    record('1', 'a9', 'DELETE /g?h HTTP/1.0\r\nHost: prod\r\n\r\n'),
  ];
  for (let i = 0; i < plain; i++) out.push(record('1', `p${i}`, `GET /p/${i} HTTP/1.1\r\nHost: prod\r\n\r\n`));
  out.push(record('1', 'z1', 'PUT /z HTTP/1.1\r\nContent-Length: 2\r\nHost: prod\r\n\r\nok'));
  return out;
}

/** An input whose readRuns() hands `records` over as one RawRun in `parts` pieces (read(): as batches). */
function runInput(records: Rec[], parts: number): Input & { runs: number } {
  const messages = records.map(message);
  const encoded = records.map(encode);
  const state = { runs: 0 };
  const run: RawRun = {
    kind: 'raw-run',
    count: records.length,
    payloadBytes: records.reduce((n, r) => n + r.payload.length, 0),
    maxPayload: Math.max(...records.map((r) => r.payload.length)),
    bytes: encoded.reduce((n, b) => n + b.length, 0),
    parts: Array.from({ length: parts }, (_, p) => {
      const from = Math.floor((p * encoded.length) / parts);
      return Buffer.concat(encoded.slice(from, Math.floor(((p + 1) * encoded.length) / parts)));
    }),
    records: () => messages,
  };
  return {
    name: 'run-input',
    get runs() {
      return state.runs;
    },
    async *read(): AsyncIterable<Batch> {
      yield messages;
    },
    async *readRuns(): AsyncIterable<Batch | RawRun> {
      state.runs++;
      yield run;
    },
    close: async () => {},
  };
}

/** One replay through the pipeline: the output's counters (timing left out) and the warnings. */
async function replay(input: Input, output: Output, lines: string[], rawRuns = true) {
  const log = createLogger({ write: (l) => lines.push(l) });
  await new Pipeline({ inputs: [input], outputs: [output], log, rawRuns }).run();
  const stats = output.stats!();
  for (const k of Object.keys(stats)) if (/^(latency|rate_per_s|pace|sender_thread|in_flight)/.test(k)) delete stats[k];
  return stats;
}

const skip = httpAddon() ? false : 'the tapline_http addon is not built';

describe('raw runs into the native sender', { skip }, () => {
  it('the target gets the bytes write() sends, in the same order, and the counters are the same', async () => {
    const records = mixedRecords(700);
    const results = [];
    for (const runs of [true, false]) {
      const server = await rawServer(okAnswer());
      try {
        const lines: string[] = [];
        const log = createLogger({ write: (l) => lines.push(l) });
        // One connection, so the order received is the order sent; queue-len 20: the run waits for room.
        const output = httpOutput(server.url, { client: 'native', workers: 1, queueLen: 20, log });
        let runsWritten = 0;
        const writeRun = output.writeRun;
        assert.ok(writeRun, 'the native output takes raw runs');
        output.writeRun = (run) => {
          runsWritten++;
          return writeRun(run);
        };
        const input = runInput(records, 3);
        const stats = await replay(input, output, lines, runs);
        assert.equal(runsWritten, runs ? 1 : 0, 'the run went to writeRun only when runs were on');
        // Each run has its own server: its port is written as PORT.
        const port = (text: string) => text.replaceAll(`127.0.0.1:${server.port}`, '127.0.0.1:PORT');
        results.push({
          requests: server.requests.map((r) => port(r.toString('latin1'))),
          stats,
          lines: lines.map(port),
        });
      } finally {
        await server.close();
      }
    }
    const [viaRun, viaWrite] = results;
    assert.equal(viaRun!.requests.length, records.length - 3); // the response, CONNECT and not-HTTP are not sent
    assert.deepEqual(viaRun!.requests, viaWrite!.requests);
    assert.deepEqual(viaRun!.stats, viaWrite!.stats);
    assert.deepEqual(viaRun!.lines, viaWrite!.lines);
    // Spot checks of the Host rule on the run path itself.
    assert.equal(viaRun!.requests[0], 'GET /a HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\nAccept: */*\r\n\r\n');
    assert.equal(viaRun!.requests[1], 'POST /b HTTP/1.1\r\nhost:  127.0.0.1:PORT \r\nContent-Length: 3\r\n\r\nabc');
    assert.equal(viaRun!.requests[2], 'HEAD /c HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\nX: y\r\n\r\n');
    assert.equal(viaRun!.stats.not_request_ignored, 1);
    assert.equal(viaRun!.stats.connect_skipped, 1);
    assert.equal(viaRun!.stats.not_http_skipped, 1);
    assert.equal(viaRun!.stats.bare_lf_converted, 1);
    assert.equal(viaRun!.stats.requests, records.length - 3);
  });

  it('a failed request of a run is named by its id in the warning', async () => {
    // A port nothing listens on: every request fails as connect-refused.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const records = [1, 2, 3].map((i) => record('1', `failing-${i}`, `GET /x/${i} HTTP/1.1\r\nHost: a\r\n\r\n`));
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    const output = httpOutput(`http://127.0.0.1:${port}`, { client: 'native', workers: 1, log });
    const input = runInput(records, 1);
    const stats = await replay(input, output, lines);
    assert.equal(input.runs, 1);
    assert.equal(stats.error_connect_refused, 3);
    for (const r of records)
      assert.ok(
        lines.some((l) => l.includes(`request ${r.id} failed: connect-refused`)),
        r.id,
      );
  });
});
