/**
 * --output-http against targets that misbehave, each a real server on 127.0.0.1 (or a port nothing listens
 * on, or a name that does not resolve): every request is accounted for by reason, the replay runs to the end,
 * the queue stays bounded, and the output keeps working for the next request.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { memoryLogger } from '../../src/core/log.js';
import type { Input } from '../../src/core/plugin.js';
import { httpOutput } from '../../src/outputs/http.js';
import {
  type Answer,
  arrayInput,
  collectingOutput,
  forEachClient,
  okAnswer,
  rawServer,
  requestMessage,
  runPipeline,
} from './replay-support.js';

const requests = (n: number) =>
  Array.from({ length: n }, (_, i) => requestMessage(`GET /f/${i} HTTP/1.1\r\nHost: x\r\n\r\n`));

/** A port nothing listens on (a server's, closed). */
async function freePort(): Promise<number> {
  const s = await rawServer(okAnswer());
  await s.close();
  return s.port;
}

/** Replays n requests to a server answering with `answer`; returns the output's stats. */
async function replayAgainst(answer: Answer, n: number, timeoutMs = 3000) {
  const server = await rawServer(answer);
  try {
    const out = httpOutput(server.url, { workers: 4, timeoutMs });
    const summary = await runPipeline([arrayInput(requests(n))], [out]);
    return { stats: summary.outputs[0]!.stats!, received: server.requests.length };
  } finally {
    await server.close();
  }
}

forEachClient(() => {
  test('target down (nothing listening): every request counted as connect refused, the replay ends', async () => {
    const port = await freePort();
    const out = httpOutput(`http://127.0.0.1:${port}`, { workers: 4 });
    const summary = await runPipeline([arrayInput(requests(50))], [out]);
    const s = summary.outputs[0]!.stats!;
    assert.equal(s.requests, 50);
    assert.equal(s.errors, 50);
    assert.equal(s.error_connect_refused, 50);
    assert.equal(summary.outputs[0]!.failed, undefined, 'the output stays in service');
  });

  test('a host name that does not resolve: counted as dns', async () => {
    const out = httpOutput('http://tapline-test.invalid:8080', { workers: 2, timeoutMs: 3000 });
    const summary = await runPipeline([arrayInput(requests(5))], [out]);
    const s = summary.outputs[0]!.stats!;
    assert.equal(s.error_dns, 5);
  });

  test('refusing: the server accepts and closes at once', async () => {
    const { stats } = await replayAgainst((_r, socket) => socket.destroy(), 20);
    assert.equal(stats.requests, 20);
    assert.equal(stats.errors, 20);
    assert.equal(Number(stats.error_closed) + Number(stats.error_reset), 20);
  });

  test('resetting: the server answers each request with a TCP reset', async () => {
    const { stats, received } = await replayAgainst((_r, socket) => socket.resetAndDestroy(), 20);
    assert.equal(received >= 20, true);
    assert.equal(stats.error_reset, 20);
  });

  test('garbage: bytes that are not HTTP are a bad response', async () => {
    const { stats } = await replayAgainst(
      (_r, socket) => socket.write('SSH-2.0-OpenSSH_9.2\r\n\r\nnot http at all\r\n'),
      20,
    );
    assert.equal(stats.error_bad_response, 20);
  });

  test('an answer that cannot be framed is a bad response at once, and the warning says why', async () => {
    // The connection stays open after each answer: the failure must not wait for a close or the timeout.
    const cases = [
      {
        answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
        says: 'the response body is chunked with a bad chunk-size line or chunk end',
      },
      {
        answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello!!\r\n0\r\n\r\n',
        says: 'the response body is chunked with a bad chunk-size line or chunk end',
      },
      {
        answer: `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\nContent-Length: 2\r\n\r\nok`,
        says: 'the response head (status line and headers) is over 64 KiB',
      },
      // Go refuses these too; read on, the first ran to the timeout and the second left "llo" for the next request.
      {
        answer: 'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nhello',
        says: "the response's Content-Length is not a number, or it has several that differ",
      },
      {
        answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhello',
        says: "the response's Content-Length is not a number, or it has several that differ",
      },
    ];
    for (const { answer, says } of cases) {
      const server = await rawServer((_r, socket) => socket.write(answer));
      try {
        const log = memoryLogger();
        const out = httpOutput(server.url, { workers: 2, timeoutMs: 10_000, log });
        const summary = await runPipeline([arrayInput(requests(3))], [out]);
        const s = summary.outputs[0]!.stats!;
        assert.equal(s.error_bad_response, 3, `${says}: ${JSON.stringify(s)}`);
        assert.equal(s.error_timeout, 0);
        assert.ok(
          log.lines.some((l) => l.includes(`failed: bad-response (${says})`)),
          log.lines.join('\n'),
        );
        assert.ok(!log.lines.some((l) => /max-size|response malformed/.test(l)), 'no internal words');
      } finally {
        await server.close();
      }
    }
  });

  test('answers no request asked for (twice at once, or later on the idle connection) are counted and said; each request gets its own answer', async () => {
    const answer = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const shapes: Answer[] = [
      (_r, socket, i) => socket.write(answer(`r${i}`) + answer('extra')),
      (_r, socket, i) => {
        socket.write(answer(`r${i}`));
        setTimeout(() => socket.writable && socket.write(answer('late')), 30);
      },
      // Not counted: a stray line end after an answer, and a 408 on the idle connection (a server closing it).
      (_r, socket, i) => socket.write(`${answer(`r${i}`)}\r\n`),
      (_r, socket, i) => {
        socket.write(answer(`r${i}`));
        setTimeout(
          () => socket.writable && socket.end('HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n'),
          30,
        );
      },
    ];
    for (const [k, shape] of shapes.entries()) {
      const server = await rawServer(shape);
      try {
        const log = memoryLogger();
        const out = httpOutput(server.url, { workers: 1, timeoutMs: 3000, trackResponse: true, log });
        const sink = collectingOutput();
        // One request at a time, each sent 300 ms after the previous one's answer came back: a late answer (30 ms
        // after the answer, by a timer the server set before it) lands on the idle connection. Paced by the clock
        // alone (100 ms from the send), a loaded machine sent the next request first and the test failed.
        const msgs = requests(3);
        const replies = () => sink.messages.filter((m) => m.meta.type === '3').length;
        const paced: Input = {
          name: 'paced',
          async *read() {
            for (const [i, m] of msgs.entries()) {
              yield [m];
              for (let waited = 0; replies() <= i && waited < 10_000; waited += 10) {
                await new Promise((r) => setTimeout(r, 10));
              }
              await new Promise((r) => setTimeout(r, 300));
            }
          },
          close: async () => {},
        };
        const summary = await runPipeline([paced], [out, sink]);
        const s = summary.outputs[0]!.stats!;
        assert.equal(s.status_2xx, 3, JSON.stringify(s));
        const bodies = sink.messages
          .filter((m) => m.meta.type === '3')
          .map((m) => m.data.toString().split('\r\n\r\n')[1]);
        assert.deepEqual(bodies.sort(), ['r0', 'r1', 'r2'], 'each request is paired with its own answer');
        const counted = k < 2 ? 3 : 0;
        assert.equal(s.unsolicited_responses, counted, `shape ${k}: ${JSON.stringify(s)}`);
        const said = log.lines.filter((l) => l.includes('answers that no request asked for'));
        assert.equal(said.length, counted > 0 ? 1 : 0, log.lines.join('\n'));
      } finally {
        await server.close();
      }
    }
  });

  test('a length Go accepts is accepted: no body needed (204), or chunked beside a Content-Length', async () => {
    for (const answer of [
      'HTTP/1.1 204 No Content\r\nContent-Length: abc\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    ]) {
      const { stats } = await replayAgainst((_r, socket) => socket.write(answer), 3);
      assert.equal(Number(stats.status_2xx), 3, `${JSON.stringify(answer)}: ${JSON.stringify(stats)}`);
    }
  });

  test('a response cut short (Content-Length 100, 10 bytes, then close) is counted as closed', async () => {
    const { stats } = await replayAgainst(
      (_r, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789'),
      20,
    );
    assert.equal(stats.error_closed, 20);
    assert.equal(stats.responses, 0);
  });

  test('never answering: each request times out after --output-http-timeout, the queue stays bounded', async () => {
    const server = await rawServer(() => {});
    try {
      const out = httpOutput(server.url, { workers: 4, timeoutMs: 150, queueLen: 8 });
      let maxQueued = 0;
      const probe = setInterval(() => {
        maxQueued = Math.max(maxQueued, Number(out.stats!().queued));
      }, 5);
      const summary = await runPipeline([arrayInput(requests(24), 24)], [out]);
      clearInterval(probe);
      const s = summary.outputs[0]!.stats!;
      // The first round times out; the end of the input then waits one timeout without an answer and gives
      // up the rest (replay-stop.test.ts), each counted.
      assert.ok(Number(s.error_timeout) >= 4, JSON.stringify(s));
      assert.equal(Number(s.error_timeout) + Number(s.unanswered_at_stop) + Number(s.not_sent_at_stop), 24);
      assert.ok(maxQueued <= 8, `queue grew to ${maxQueued}`);
    } finally {
      await server.close();
    }
  });

  test('waiting at the end for a slow target is said once (what is awaited and how to stop), not a silent hang', async () => {
    const server = await rawServer(() => {});
    try {
      const log = memoryLogger();
      const out = httpOutput(server.url, { workers: 1, timeoutMs: 300, closeNoticeMs: 50, log });
      const summary = await runPipeline([arrayInput(requests(3))], [out]);
      const s = summary.outputs[0]!.stats!;
      assert.equal(Number(s.error_timeout) + Number(s.unanswered_at_stop) + Number(s.not_sent_at_stop), 3);
      const notices = log.lines.filter((l) => l.includes('to be answered before closing'));
      assert.equal(notices.length, 1, log.lines.join('\n'));
      assert.match(
        notices[0]!,
        /output-http\(http:\/\/127\.0\.0\.1:\d+\): waiting for [1-3] requests? .*up to --output-http-timeout 300ms without one.*SIGINT twice/,
      );
    } finally {
      await server.close();
    }
  });

  test('many targets waited for at the end: the notice is said for the first five, the rest counted', async () => {
    const server = await rawServer(() => {});
    try {
      const log = memoryLogger();
      const outs = Array.from({ length: 8 }, (_, i) =>
        httpOutput(`${server.url}/t${i}`, { workers: 1, timeoutMs: 300, closeNoticeMs: 50, log }),
      );
      await runPipeline([arrayInput(requests(1))], outs);
      const notices = log.lines.filter((l) => l.includes('to be answered before closing'));
      assert.equal(notices.length, 5, log.lines.join('\n'));
      assert.match(notices[4]!, /further "output-http close-wait" warnings are counted in the summary only/);
    } finally {
      await server.close();
    }
  });

  test('a timeout says where the exchange stood: request not taken, no answer, or an answer still incomplete', async () => {
    const cases: { server: () => Promise<{ url: string; close: () => Promise<void> }>; body: number; says: RegExp }[] =
      [
        { server: () => rawServer(() => {}), body: 0, says: /\(no response within 300ms\)/ },
        {
          server: () => rawServer((_r, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc')),
          body: 0,
          says: /\(the response was still incomplete after 300ms, 43 bytes received\)/,
        },
        {
          // Interim answers only: no final response came (not a response "still incomplete").
          server: () =>
            rawServer((_r, socket) =>
              socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n'),
            ),
          body: 0,
          says: /\(no final response within 300ms, only interim answers or blank lines \(69 bytes\)\)/,
        },
        {
          // Part of a status line is a response begun.
          server: () => rawServer((_r, socket) => socket.write('HTTP/1.1 20')),
          body: 0,
          says: /\(the response was still incomplete after 300ms, 11 bytes received\)/,
        },
        ...['Content-Type: text/plain', 'Transfer-Encoding: identity\r\nContent-Length: 3'].map((fields) => ({
          // A body without length (none given, or a Transfer-Encoding not ending in chunked, which overrides the
          // Content-Length) ends only at close: the target keeps the connection open.
          server: () => rawServer((_r, socket) => socket.write(`HTTP/1.1 200 OK\r\n${fields}\r\n\r\nabc`)),
          body: 0,
          says: new RegExp(
            'still incomplete after 300ms, \\d+ bytes received: its body has no length \\(no Content-Length, or a ' +
              'Transfer-Encoding that does not end in chunked\\), so it ends only when the target closes the ' +
              'connection, and the target kept it open\\)',
          ),
        })),
        {
          // Reads nothing: a request larger than the socket buffers cannot be written whole.
          server: async () => {
            const sockets: Socket[] = [];
            const server = createServer((socket) => {
              sockets.push(socket);
              socket.pause();
            });
            await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
            return {
              url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
              close: () =>
                new Promise<void>((r) => {
                  for (const s of sockets) s.destroy();
                  server.close(() => r());
                }),
            };
          },
          body: 32 * 1024 * 1024,
          says: /\(the target did not take the whole request within 300ms\)/,
        },
      ];
    for (const { server: start, body, says } of cases) {
      const server = await start();
      try {
        const log = memoryLogger();
        const out = httpOutput(server.url, { workers: 1, timeoutMs: 300, log });
        const request = body
          ? requestMessage(
              Buffer.concat([
                Buffer.from(`POST /up HTTP/1.1\r\nContent-Length: ${body}\r\n\r\n`),
                Buffer.alloc(body, 97),
              ]),
            )
          : requests(1)[0]!;
        const summary = await runPipeline([arrayInput([request])], [out]);
        assert.equal(summary.outputs[0]!.stats!.error_timeout, 1);
        assert.ok(
          log.lines.some((l) => l.includes('failed: timeout') && says.test(l)),
          log.lines.join('\n'),
        );
      } finally {
        await server.close();
      }
    }
  });

  test('slow: answers later than the timeout are timeouts, answers within it succeed', async () => {
    const late = await replayAgainst(
      (_r, socket) => setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 400),
      4,
      150,
    );
    assert.equal(late.stats.error_timeout, 4);
    const slowButOk = await replayAgainst(
      (_r, socket) => setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 50),
      4,
      1000,
    );
    assert.equal(slowButOk.stats.status_2xx, 4);
    assert.ok(Number(slowButOk.stats.latency_p50_ms) >= 45);
  });

  test('a mix of faults on one target: each request lands in exactly one counter and good answers still count', async () => {
    const behaviours: Answer[] = [
      okAnswer(),
      (_r, socket) => socket.resetAndDestroy(),
      (_r, socket) => socket.write('garbage!\r\n\r\n'),
      () => {},
      (_r, socket) => socket.write('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n'),
    ];
    const { stats } = await replayAgainst(
      (req, socket, i) => behaviours[i % behaviours.length]!(req, socket, i),
      50,
      400,
    );
    assert.equal(stats.requests, 50);
    const answered = Number(stats.responses);
    const failed = Number(stats.errors);
    assert.equal(answered + failed, 50);
    assert.ok(Number(stats.status_2xx) >= 1, 'good answers between faults are counted');
    assert.ok(Number(stats.status_5xx) >= 1);
    assert.ok(Number(stats.error_reset) >= 1);
    assert.ok(Number(stats.error_bad_response) >= 1);
    assert.ok(Number(stats.error_timeout) >= 1);
  });

  test('random answers (junk, damaged and cut responses, each then closed): every request lands in one counter', async () => {
    // A small seeded generator: the same answers every run.
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const junk = (n: number) => Buffer.from(Array.from({ length: n }, () => next(256)));
    const shapes = [
      () => junk(1 + next(200)),
      () => Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n'), junk(next(80))]),
      () =>
        Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${junk(3).toString('latin1')}\r\n`, 'latin1'),
      () => Buffer.concat([Buffer.from('HTTP/1.1 '), junk(next(40))]),
      () => Buffer.from('HTTP/1.0 200 OK\r\n\r\nclose-delimited body'),
      () => Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'),
    ];
    const { stats } = await replayAgainst(
      (_r, socket) => {
        const bytes = shapes[next(shapes.length)]!();
        // Some answers arrive in two pieces.
        const cut = next(bytes.length + 1);
        socket.write(bytes.subarray(0, cut));
        setTimeout(() => socket.end(bytes.subarray(cut)), next(3));
      },
      120,
      1000,
    );
    assert.equal(stats.requests, 120);
    assert.equal(Number(stats.responses) + Number(stats.errors), 120);
    assert.ok(Number(stats.responses) >= 1 && Number(stats.errors) >= 1);
  });

  test('a server that closes each connection after its answer (no Connection: close): requests go out again on a new one, none fail', async () => {
    const { stats, received } = await replayAgainst((_r, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      socket.end();
    }, 20);
    assert.equal(stats.errors, 0);
    assert.equal(stats.status_2xx, 20);
    assert.ok(received >= 20);
  });
});

test('https: a target that never completes the TLS handshake times out saying so', async () => {
  const server = await rawServer(() => {});
  try {
    const log = memoryLogger();
    const out = httpOutput(`https://127.0.0.1:${server.port}`, { workers: 1, timeoutMs: 300, log });
    const summary = await runPipeline([arrayInput(requests(1))], [out]);
    assert.equal(summary.outputs[0]!.stats!.error_timeout, 1);
    assert.ok(
      log.lines.some((l) => l.includes('failed: timeout (no TLS handshake with the target within 300ms)')),
      log.lines.join('\n'),
    );
  } finally {
    await server.close();
  }
});
