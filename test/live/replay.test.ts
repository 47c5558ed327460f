/**
 * --output-http against real servers on 127.0.0.1: what the target receives (byte for byte), keep-alive,
 * replayed responses (type 3) paired with their requests, several outputs and --split-output.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { memoryLogger } from '../../src/core/log.js';
import { makeMeta } from '../../src/core/message.js';
import { limitOutput } from '../../src/core/registry.js';
import { type HttpOutputOptions, httpOutput } from '../../src/outputs/http.js';
import {
  arrayInput,
  collectingOutput,
  forEachClient,
  okAnswer,
  rawServer,
  requestMessage,
  runPipeline,
} from './replay-support.js';

const ODD_REQUEST =
  'POST /api/v1/items?b=2&a=1 HTTP/1.1\r\nx-lower: 1\r\nHost: prod.example.com\r\nX-UPPER: 2\r\n' +
  'content-type: text/plain\r\nX-Dup: a\r\nX-Dup: b\r\nContent-Length: 5\r\n\r\nhello';

/** What a raw server received for one request replayed with these options. */
async function receivedBytes(request: string, options: HttpOutputOptions): Promise<{ got: string; port: number }> {
  const server = await rawServer(okAnswer());
  try {
    await runPipeline([arrayInput([requestMessage(request)])], [httpOutput(server.url, { workers: 1, ...options })]);
    assert.equal(server.requests.length, 1);
    return { got: server.requests[0]!.toString('latin1'), port: server.port };
  } finally {
    await server.close();
  }
}

forEachClient((client) => {
  test(`a plain http:// target without redirects is replayed by the ${client} client`, () => {
    const out = httpOutput('http://127.0.0.1:9') as ReturnType<typeof httpOutput> & { client: string };
    assert.equal(out.client, client);
    void out.close();
  });

  test('the target receives the captured bytes exactly (header order and case, body), Host kept with original-host', async () => {
    const { got } = await receivedBytes(ODD_REQUEST, { originalHost: true });
    assert.equal(got, ODD_REQUEST);
  });

  test('by default only the Host value changes, in place; nothing is added', async () => {
    const { got, port } = await receivedBytes(ODD_REQUEST, {});
    assert.equal(got, ODD_REQUEST.replace('Host: prod.example.com', `Host: 127.0.0.1:${port}`));
  });

  test('a proxy-form request is sent in origin-form; with original-host its Host comes from the absolute URI', async () => {
    const { got } = await receivedBytes('GET http://other.example:81/x?y=1 HTTP/1.1\r\nHost: stale\r\n\r\n', {
      originalHost: true,
    });
    assert.equal(got, 'GET /x?y=1 HTTP/1.1\r\nHost: other.example:81\r\n\r\n');
  });

  test('a target with a path replaces every request-target; basic auth in it is added when absent', async () => {
    const server = await rawServer(okAnswer());
    try {
      const out = httpOutput(`http://u:p@127.0.0.1:${server.port}/base?z=2`, { workers: 1 });
      await runPipeline([arrayInput([requestMessage('GET /orig?q=1 HTTP/1.1\r\nHost: a\r\n\r\n')])], [out]);
      const got = server.requests[0]!.toString('latin1');
      assert.match(got, /^GET \/base\?z=2 HTTP\/1\.1\r\n/);
      assert.match(got, /\r\nAuthorization: Basic dTpw\r\n/);
      assert.match(got, new RegExp(`\\r\\nHost: 127\\.0\\.0\\.1:${server.port}\\r\\n`));
    } finally {
      await server.close();
    }
  });

  test('keep-alive: 200 requests over one connection with --output-http-workers 1', async () => {
    const server = await rawServer(okAnswer());
    try {
      const out = httpOutput(server.url, { workers: 1 });
      const msgs = Array.from({ length: 200 }, (_, i) => requestMessage(`GET /r/${i} HTTP/1.1\r\nHost: x\r\n\r\n`));
      await runPipeline([arrayInput(msgs)], [out]);
      assert.equal(server.requests.length, 200);
      assert.equal(server.connections, 1);
      assert.equal(out.stats!().status_2xx, 200);
    } finally {
      await server.close();
    }
  });

  test('track-response: one type-3 message per request, same id, the raw response bytes, send time and latency', async () => {
    const server = await rawServer((req, socket) => {
      const path = req.toString('latin1').split(' ')[1]!;
      const body = `you asked ${path}`;
      // Answer after a short delay so the latency is measurable.
      setTimeout(
        () => socket.write(`HTTP/1.1 201 Created\r\nX-Path: ${path}\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
        5,
      );
    });
    try {
      const out = httpOutput(server.url, { workers: 4, trackResponse: true });
      const sink = collectingOutput();
      const msgs = Array.from({ length: 40 }, (_, i) =>
        requestMessage(`GET /item/${i} HTTP/1.1\r\nHost: x\r\n\r\n`, `${i.toString(16).padStart(24, '0')}`),
      );
      // Date.now() has ms precision; the type-3 timestamp is finer.
      const before = BigInt(Date.now() - 2) * 1_000_000n;
      const summary = await runPipeline([arrayInput(msgs)], [out, sink]);
      const replayed = sink.messages.filter((m) => m.meta.type === '3');
      assert.equal(replayed.length, 40);
      const byId = new Map(msgs.map((m, i) => [m.meta.id, i]));
      for (const r of replayed) {
        const i = byId.get(r.meta.id);
        assert.notEqual(i, undefined, `type 3 with unknown id ${r.meta.id}`);
        const body = `you asked /item/${i}`;
        assert.equal(
          r.data.toString('latin1'),
          `HTTP/1.1 201 Created\r\nX-Path: /item/${i}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
        assert.ok(r.meta.timestampNs >= before, 'timestamp is the send time');
        assert.ok(r.meta.latencyNs! >= 4_000_000n, `latency ${r.meta.latencyNs} ns should include the 5 ms delay`);
        assert.match(r.meta.line, /^3 [0-9a-f]{24} \d+ \d+$/);
      }
      assert.equal(new Set(replayed.map((r) => r.meta.id)).size, 40);
      const stats = summary.outputs[0]!.stats!;
      assert.equal(stats.responses_tracked, 40);
      assert.ok(Number(stats.latency_p50_ms) >= 4);
    } finally {
      await server.close();
    }
  });

  test('track-response over several connections whose answers arrive in pieces: every type-3 is its own answer, byte for byte', async () => {
    // Chunked answers written in two parts go through the splitter across reads; the reads of all connections
    // share one buffer, so an answer kept without a copy would show another connection's bytes.
    const answerFor = (path: string) =>
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Path: ${path}\r\n\r\n${path.length.toString(16)}\r\n${path}\r\n0\r\n\r\n`;
    const server = await rawServer((req, socket) => {
      const answer = answerFor(req.toString('latin1').split(' ')[1]!);
      const cut = answer.indexOf('\r\n\r\n') + 4;
      socket.write(answer.slice(0, cut));
      setTimeout(() => socket.write(answer.slice(cut)), 2);
    });
    try {
      const out = httpOutput(server.url, { workers: 4, trackResponse: true });
      const sink = collectingOutput();
      const msgs = Array.from({ length: 24 }, (_, i) =>
        requestMessage(
          `GET /piece/${i}/${'p'.repeat(i)} HTTP/1.1\r\nHost: x\r\n\r\n`,
          i.toString(16).padStart(24, '0'),
        ),
      );
      await runPipeline([arrayInput(msgs)], [out, sink]);
      const replayed = sink.messages.filter((m) => m.meta.type === '3');
      assert.equal(replayed.length, msgs.length);
      for (const r of replayed) {
        const i = Number.parseInt(r.meta.id, 16);
        assert.equal(r.data.toString('latin1'), answerFor(`/piece/${i}/${'p'.repeat(i)}`));
      }
      assert.ok(server.connections >= 2, 'several connections were reading at once');
    } finally {
      await server.close();
    }
  });

  test('--output-http-response-buffer cuts what a type-3 message keeps: marked, counted and said', async () => {
    const big = 'x'.repeat(50_000);
    // Two long answers and one that fits the buffer.
    const server = await rawServer((req, socket) => okAnswer(req.includes('/small') ? 'ok' : big)(req, socket, 0));
    try {
      const log = memoryLogger();
      const out = httpOutput(server.url, { workers: 1, trackResponse: true, responseBuffer: 1000, log });
      const sink = collectingOutput();
      const summary = await runPipeline(
        [
          arrayInput([
            requestMessage('GET / HTTP/1.1\r\n\r\n'),
            requestMessage('GET /small HTTP/1.1\r\n\r\n'),
            requestMessage('GET /2 HTTP/1.1\r\n\r\n'),
          ]),
        ],
        [out, sink],
      );
      const replayed = sink.messages.filter((m) => m.meta.type === '3');
      assert.equal(replayed.length, 3);
      const cut = replayed.filter((r) => r.data.length === 1000);
      assert.equal(cut.length, 2);
      for (const r of cut) {
        assert.match(r.data.toString('latin1'), /^HTTP\/1\.1 200 OK\r\nContent-Length: 50000\r\n\r\nxxx/);
        // A reader of the file can tell a cut answer from a whole one (the capture's incomplete=REASON field).
        assert.deepEqual(r.meta.extra, ['incomplete=response-buffer']);
        assert.match(r.meta.line, / incomplete=response-buffer$/);
      }
      const whole = replayed.find((r) => r.data.length !== 1000)!;
      assert.equal(whole.data.toString('latin1'), 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      assert.deepEqual(whole.meta.extra, []);
      assert.equal(summary.outputs[0]!.stats!.responses_truncated, 2);
      const said = log.lines.filter((l) => l.includes('longer than --output-http-response-buffer'));
      assert.equal(said.length, 1, log.lines.join('\n'));
      assert.match(said[0]!, /2 replayed responses were longer than --output-http-response-buffer \(1000 B\)/);
      assert.match(said[0]!, /marked incomplete=response-buffer/);
      assert.match(said[0]!, /the longest: 48\.9 KiB received; --output-http-response-buffer 49kb keeps/);
      assert.equal(server.connections, 1, 'the rest of a long response is read, so the connection is reused');
      // One cut answer is said in the singular.
      const log1 = memoryLogger();
      const one = httpOutput(server.url, { workers: 1, trackResponse: true, responseBuffer: 1000, log: log1 });
      await runPipeline([arrayInput([requestMessage('GET /3 HTTP/1.1\r\n\r\n')])], [one, collectingOutput()]);
      assert.ok(
        log1.lines.some((l) =>
          /1 replayed response was longer .*: its type-3 message keeps only the first 1000 B, .* so a report of it counts/.test(
            l,
          ),
        ),
        log1.lines.join('\n'),
      );
    } finally {
      await server.close();
    }
  });

  test('several --output-http: each target gets every request', async () => {
    const a = await rawServer(okAnswer());
    const b = await rawServer(okAnswer());
    try {
      const msgs = Array.from({ length: 30 }, (_, i) => requestMessage(`GET /${i} HTTP/1.1\r\n\r\n`));
      await runPipeline([arrayInput(msgs)], [httpOutput(a.url), httpOutput(b.url)]);
      assert.equal(a.requests.length, 30);
      assert.equal(b.requests.length, 30);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('--split-output: requests alternate between targets; replayed responses do not take a turn', async () => {
    const a = await rawServer(okAnswer());
    const b = await rawServer(okAnswer());
    try {
      const msgs = Array.from({ length: 31 }, (_, i) => requestMessage(`GET /${i} HTTP/1.1\r\n\r\n`));
      await runPipeline(
        [arrayInput(msgs, 7)],
        [httpOutput(a.url, { trackResponse: true }), httpOutput(b.url, { trackResponse: true })],
        true,
      );
      const paths = (s: typeof a) => s.requests.map((r) => Number(r.toString('latin1').split(' ')[1]!.slice(1)));
      assert.deepEqual(
        paths(a).sort((x, y) => x - y),
        Array.from({ length: 16 }, (_, i) => i * 2),
      );
      assert.deepEqual(
        paths(b).sort((x, y) => x - y),
        Array.from({ length: 15 }, (_, i) => i * 2 + 1),
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('redirects: followed up to --output-http-redirects (303 turns POST into GET without body or Content-*); the last answer counts', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      const h = req.headers;
      const body = ['content-length', 'content-type', 'content-language', 'content-encoding', 'content-location'];
      seen.push(`${req.method} ${req.url} ${body.map((k) => h[k] ?? '-').join(' ')} ${h['x-kept'] ?? '-'}`);
      if (req.url === '/start') res.writeHead(303, { Location: '/hop1' }).end();
      else if (req.url === '/hop1') res.writeHead(307, { Location: '/hop2' }).end();
      else if (req.url === '/hop2') res.writeHead(302, { Location: '/end' }).end();
      else res.writeHead(200).end('done');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      // The headers that describe the body go with it, as Go's client now does (gor's older Go kept them).
      const post =
        'POST /start HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n' +
        'Content-Language: en\r\nContent-Encoding: identity\r\nContent-Location: /x\r\nX-Kept: 1\r\n\r\nabc';
      const out = httpOutput(url, { redirects: 2, workers: 1, trackResponse: true });
      const sink = collectingOutput();
      const summary = await runPipeline([arrayInput([requestMessage(post)])], [out, sink]);
      assert.deepEqual(seen, [
        'POST /start 3 text/plain en identity /x 1',
        'GET /hop1 - - - - - 1',
        'GET /hop2 - - - - - 1',
      ]);
      const stats = summary.outputs[0]!.stats!;
      assert.equal(stats.redirects_followed, 2);
      assert.equal(stats.status_3xx, 1, 'the limit reached: the last 3xx is the result, not an error');
      assert.equal(stats.errors, 0);
      assert.match(sink.messages.find((m) => m.meta.type === '3')!.data.toString('latin1'), /^HTTP\/1\.1 302 /);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('a redirect whose hop fails: the warning names the hop (another origin), not only the output target', async () => {
    const down = await rawServer(okAnswer());
    await down.close();
    const server = createServer((_req, res) =>
      res.writeHead(302, { Location: `http://127.0.0.1:${down.port}/elsewhere?q=1` }).end(),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const log = memoryLogger();
      const out = httpOutput(url, { redirects: 3, workers: 1, log });
      const summary = await runPipeline([arrayInput([requestMessage('GET /a HTTP/1.1\r\nHost: x\r\n\r\n')])], [out]);
      assert.equal(summary.outputs[0]!.stats!.error_connect_refused, 1);
      const warning = log.lines.find((l) => l.includes('failed: connect-refused'));
      assert.ok(
        warning?.includes(`; after 1 redirect, at http://127.0.0.1:${down.port}/elsewhere?q=1)`),
        log.lines.join('\n'),
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('--output-http-timeout bounds a whole redirect chain, as Go does (not each hop)', async () => {
    // Each hop answers after 150 ms with a redirect to itself: ten hops take 1.5 s, the timeout is 500 ms.
    const server = createServer((_req, res) => {
      setTimeout(() => res.writeHead(302, { Location: '/again' }).end(), 150);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const out = httpOutput(url, { redirects: 10, workers: 1, timeoutMs: 500 });
      const summary = await runPipeline([arrayInput([requestMessage('GET /a HTTP/1.1\r\nHost: x\r\n\r\n')])], [out]);
      const stats = summary.outputs[0]!.stats!;
      assert.equal(stats.error_timeout, 1, JSON.stringify(stats));
      assert.equal(stats.status_3xx, 0);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('URL|N counts requests only: responses in the stream do not use up the quota', async () => {
    const server = await rawServer(okAnswer());
    try {
      const msgs = Array.from({ length: 10 }, (_, i) => {
        const req = requestMessage(`GET /${i} HTTP/1.1\r\n\r\n`);
        const res = {
          meta: makeMeta({ type: '2', id: req.meta.id, timestampNs: 1n, latencyNs: 0n }),
          data: Buffer.from('HTTP/1.1 200 OK\r\n\r\n'),
        };
        return [req, res];
      }).flat();
      // The whole run takes a few ms: one 1-second window.
      const out = limitOutput(httpOutput(server.url), { kind: 'rate', perSecond: 5 });
      await runPipeline([arrayInput(msgs)], [out]);
      assert.equal(server.requests.length, 5);
    } finally {
      await server.close();
    }
  });
});

test("a target with ':' and no port (http://host:$PORT, the variable unset) is said at start, naming the port dialed", async () => {
  const log = memoryLogger();
  const summary = await runPipeline([arrayInput([])], [httpOutput('http://127.0.0.1:', { log })]);
  assert.equal(summary.outputs[0]!.stats!.requests, 0);
  const said = log.lines.filter((l) => l.includes("has ':' and no port"));
  assert.equal(said.length, 1, log.lines.join('\n'));
  assert.match(said[0]!, /output-http\(http:\/\/127\.0\.0\.1:\): .* requests go to port 80, the http:\/\/ default/);
  assert.match(said[0]!, /http:\/\/staging:\$PORT/);
});
