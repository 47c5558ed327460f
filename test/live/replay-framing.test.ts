/**
 * --output-http connection reuse around answers that end the exchange early or change what the connection
 * is: a target that answers before it has read the whole request body, a 101 that switches the protocol,
 * `Connection: close` and HTTP/1.0 answers. Each is a real server on 127.0.0.1, under both clients: every
 * request must get its own answer, and a connection that cannot carry the next request must not be given it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { memoryLogger } from '../../src/core/log.js';
import { httpOutput } from '../../src/outputs/http.js';
import {
  type Answer,
  arrayInput,
  collectingOutput,
  forEachClient,
  rawServer,
  requestMessage,
  runPipeline,
} from './replay-support.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Answers the first request of each connection and drops the connection at the next one. */
function closingOnSecond(): Answer {
  const answered = new WeakSet<object>();
  return (_req, socket) => {
    if (answered.has(socket)) {
      socket.destroy();
      return;
    }
    answered.add(socket);
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  };
}

forEachClient(() => {
  test('a target that answers a POST before reading its body (413): the next request is not sent into that body', async () => {
    // Node's server, like nginx and Go's, reads and discards the rest of the body after such an answer and keeps
    // the connection: a client that sends its next request before the whole body has it taken as body bytes.
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.method === 'POST') {
        res.statusCode = 413;
        res.end('too large');
      } else {
        res.end('ok');
      }
    });
    const url = await listen(server);
    try {
      // More than loopback's socket buffers take: the answer comes while the body is still being written.
      const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
      const messages = [];
      for (let i = 0; i < 3; i++) {
        const head = `POST /upload/${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`;
        messages.push(requestMessage(Buffer.concat([Buffer.from(head), body])));
        messages.push(requestMessage(`GET /after/${i} HTTP/1.1\r\nHost: x\r\n\r\n`));
      }
      const out = httpOutput(url, { workers: 1, timeoutMs: 4000 });
      const summary = await runPipeline([arrayInput(messages, 1)], [out]);
      const s = summary.outputs[0]!.stats!;
      assert.equal(s.errors, 0, JSON.stringify(s));
      assert.equal(s.status_4xx, 3);
      assert.equal(s.status_2xx, 3);
      assert.deepEqual(seen.filter((r) => r.startsWith('GET')).sort(), [
        'GET /after/0',
        'GET /after/1',
        'GET /after/2',
      ]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('a target that answers early and then resets (the body unread): the answer is the result, not a reset', async (t) => {
    // The server's close with unread bytes sends a reset: the client's next write fails while the 413 waits in its
    // receive queue. The native sender reads it there first; the JavaScript client (Node destroys the socket at the
    // failed write) may still say reset: docs/replay.md.
    const sockets = new Set<Socket>();
    const server = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.write('HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        socket.destroy();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const body = Buffer.alloc(4 * 1024 * 1024, 0x61);
      const messages = Array.from({ length: 6 }, (_, i) =>
        requestMessage(
          Buffer.concat([
            Buffer.from(`POST /u/${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`),
            body,
          ]),
        ),
      );
      const port = (server.address() as { port: number }).port;
      const out = httpOutput(`http://127.0.0.1:${port}`, { workers: 1, timeoutMs: 4000 });
      const summary = await runPipeline([arrayInput(messages, 1)], [out]);
      const s = summary.outputs[0]!.stats!;
      assert.equal(Number(s.status_4xx) + Number(s.error_reset), 6, JSON.stringify(s));
      if ((out as { client?: string }).client !== 'native') return t.diagnostic(`js client: ${s.error_reset} reset(s)`);
      assert.equal(s.status_4xx, 6, JSON.stringify(s));
      assert.equal(s.errors, 0);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  test('a target that answers early and stops reading, keeping the connection: the next request goes elsewhere', async () => {
    // Nothing more is read on a connection after its early 413: a request written behind the rest of that body
    // would wait there until its timeout.
    const sockets = new Set<Socket>();
    const server = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('data', (first) => {
        if (first.subarray(0, 4).toString() === 'POST') {
          socket.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n');
          socket.pause();
        } else {
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      // More than the client's send buffer (4 MiB at most here) and the paused server's receive buffer take.
      const body = Buffer.alloc(16 * 1024 * 1024, 0x61);
      const head = `POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`;
      const messages = [
        requestMessage(Buffer.concat([Buffer.from(head), body])),
        requestMessage('GET /after HTTP/1.1\r\nHost: x\r\n\r\n'),
      ];
      const port = (server.address() as { port: number }).port;
      const out = httpOutput(`http://127.0.0.1:${port}`, { workers: 1, timeoutMs: 3000 });
      const summary = await runPipeline([arrayInput(messages, 1)], [out]);
      const s = summary.outputs[0]!.stats!;
      assert.equal(s.errors, 0, JSON.stringify(s));
      assert.equal(s.status_4xx, 1);
      assert.equal(s.status_2xx, 1);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  test('a 101 answer switches the protocol: the connection is not reused for the next request', async () => {
    const server = await rawServer((_req, socket) =>
      // The new protocol's first bytes (a WebSocket text frame) in the same write: not an unsolicited answer.
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi'),
    );
    try {
      const messages = Array.from({ length: 4 }, (_, i) =>
        requestMessage(`GET /ws/${i} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`),
      );
      const out = httpOutput(server.url, { workers: 1, timeoutMs: 2000 });
      const summary = await runPipeline([arrayInput(messages, 1)], [out]);
      const s = summary.outputs[0]!.stats!;
      assert.equal(s.errors, 0, JSON.stringify(s));
      assert.equal(s.status_1xx, 4);
      assert.equal(s.unsolicited_responses, 0);
      assert.equal(server.connections, 4, 'one connection per upgraded request');
    } finally {
      await server.close();
    }
  });

  test('a request recorded cut short is not sent (the target would wait for the rest): counted, said once naming what is missing', async () => {
    const server = await rawServer(() => {}); // like any server, it waits for the rest of each request
    try {
      const log = memoryLogger();
      const messages = [
        requestMessage('POST /short HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789', 'a'.repeat(24)),
        requestMessage('GET /no-blank-line HTTP/1.1\r\nHost: x\r\n', 'b'.repeat(24)),
        requestMessage('POST /cut HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', 'c'.repeat(24)),
        requestMessage('GET /whole HTTP/1.1\r\nHost: x\r\n\r\n', 'd'.repeat(24)),
      ];
      const out = httpOutput(server.url, { workers: 4, timeoutMs: 300, log });
      const summary = await runPipeline([arrayInput(messages)], [out]);
      const stats = summary.outputs[0]!.stats!;
      assert.equal(stats.incomplete_skipped, 3);
      assert.equal(stats.error_timeout, 1); // the whole one, which this target never answers
      assert.deepEqual(
        server.requests.map((r) => r.toString('latin1').split(' ')[1]),
        ['/whole'],
      );
      const said = log.lines.filter((l) => l.includes('recorded incomplete ('));
      assert.equal(said.length, 1, log.lines.join('\n'));
      assert.match(
        said[0]!,
        /request a{24} not sent: it was recorded incomplete \(Content-Length 100, 10 body bytes\)/,
      );
      assert.ok(
        log.lines.some((l) => l.endsWith(`request ${'d'.repeat(24)} failed: timeout (no response within 300ms)`)),
        log.lines.join('\n'),
      );
    } finally {
      await server.close();
    }
  });

  test('a request that meets a kept-alive connection the target has closed is sent again once, and that is counted', async () => {
    // The target answers the first request of each connection and drops the connection at the next one, as a
    // server whose idle timeout fires just as the request arrives does.
    const server = await rawServer(closingOnSecond());
    try {
      const messages = Array.from({ length: 20 }, (_, i) => requestMessage(`GET /k/${i} HTTP/1.1\r\nHost: x\r\n\r\n`));
      const out = httpOutput(server.url, { workers: 1, timeoutMs: 3000 });
      const summary = await runPipeline([arrayInput(messages, 1)], [out]);
      const s = summary.outputs[0]!.stats!;
      assert.equal(s.errors, 0, JSON.stringify(s));
      assert.equal(s.status_2xx, 20);
      assert.equal(s.resent_after_close, 19, JSON.stringify(s));
      assert.equal(s.connections_reopened, 19);
      assert.equal(s.connections_opened, 1);
    } finally {
      await server.close();
    }
  });

  test('a POST the target read and then closed on without an answer is not sent again (it may have acted on it)', async () => {
    // As above, the second request of each connection meets a close; only a request Go would send again (an
    // idempotent method, or an Idempotency-Key header) is sent once more.
    const server = await rawServer(closingOnSecond());
    try {
      const post = (path: string, extra = '') =>
        requestMessage(`POST ${path} HTTP/1.1\r\nHost: x\r\n${extra}Content-Length: 2\r\n\r\nhi`);
      const messages = [
        requestMessage('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'),
        post('/order'),
        requestMessage('GET /c HTTP/1.1\r\nHost: x\r\n\r\n'),
        post('/keyed', 'Idempotency-Key: k1\r\n'),
      ];
      const out = httpOutput(server.url, { workers: 1, timeoutMs: 3000 });
      const summary = await runPipeline([arrayInput(messages, 1)], [out]);
      const s = summary.outputs[0]!.stats!;
      const lines = server.requests.map((r) => r.toString('latin1').split('\r\n')[0] ?? '');
      assert.equal(lines.filter((l) => l.startsWith('POST /order ')).length, 1, lines.join(', '));
      assert.equal(lines.filter((l) => l.startsWith('POST /keyed ')).length, 2, lines.join(', '));
      assert.equal(s.error_closed, 1, JSON.stringify(s));
      assert.equal(s.resent_after_close, 1);
      assert.equal(s.status_2xx, 3);
    } finally {
      await server.close();
    }
  });

  test('an answer that ends its connection (Connection: close, HTTP/1.0 without keep-alive) is the last on it', async () => {
    const answers = {
      close: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok',
      http10: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
      // Split in two writes: the splitter frames it, not the one-read fast path.
      chunkedClose: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nconnection:  keep-alive, CLOSE\r\n\r\n',
      http10KeepAlive: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok',
    };
    for (const [kind, answer] of Object.entries(answers)) {
      // The server keeps each connection open and would answer more on it: only the client can keep its word.
      const server = await rawServer((_req, socket) => {
        socket.write(answer);
        if (kind === 'chunkedClose') setTimeout(() => socket.write('2\r\nok\r\n0\r\n\r\n'), 5);
      });
      try {
        const messages = Array.from({ length: 5 }, (_, i) => requestMessage(`GET /c/${i} HTTP/1.1\r\nHost: x\r\n\r\n`));
        const out = httpOutput(server.url, { workers: 1, timeoutMs: 3000 });
        const summary = await runPipeline([arrayInput(messages, 1)], [out]);
        const s = summary.outputs[0]!.stats!;
        assert.equal(s.status_2xx, 5, `${kind}: ${JSON.stringify(s)}`);
        assert.equal(s.resent_after_close, 0, kind);
        assert.equal(server.requests.length, 5, `${kind}: each request sent once`);
        assert.equal(server.connections, kind === 'http10KeepAlive' ? 1 : 5, kind);
      } finally {
        await server.close();
      }
    }
  });

  test('a request that ends its connection (Connection: close, HTTP/1.0 without keep-alive) is the last on it, whatever the answer says', async () => {
    // The target keeps the request's word without repeating it in its answer (RFC 9112 §9.6 allows that): it reads
    // nothing more on the connection and closes it. A POST sent on it after the answer would be lost as 'closed'.
    const lastOnIt = /\r\nconnection:[^\r]*\bclose\b|^\S+ \S+ HTTP\/1\.0\r\n(?![\s\S]*\r\nconnection: keep-alive)/i;
    const saidLast = new WeakSet<object>();
    const server = await rawServer((req, socket) => {
      if (saidLast.has(socket)) return;
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      if (lastOnIt.test(req.toString('latin1'))) {
        saidLast.add(socket);
        setTimeout(() => socket.end(), 20);
      }
    });
    try {
      const heads = [
        'POST /a HTTP/1.1\r\nHost: x\r\nConnection: close',
        'POST /b HTTP/1.1\r\nHost: x\r\nconnection:  keep-alive, CLOSE',
        'POST /c HTTP/1.0\r\nHost: x',
        'POST /d HTTP/1.0\r\nHost: x\r\nConnection: keep-alive',
        'POST /e HTTP/1.1\r\nHost: x',
        'POST /f HTTP/1.1\r\nHost: x',
      ];
      const messages = heads.map((h) => requestMessage(`${h}\r\nContent-Length: 2\r\n\r\nhi`));
      const log = memoryLogger();
      const out = httpOutput(server.url, { workers: 1, timeoutMs: 3000, log });
      const summary = await runPipeline([arrayInput(messages, 1)], [out]);
      const s = summary.outputs[0]!.stats!;
      assert.equal(s.status_2xx, 6, `${JSON.stringify(s)} ${log.lines.join(' | ')}`);
      assert.equal(s.errors, 0);
      assert.deepEqual(
        server.requests.map((r) => r.toString('latin1').split(' ')[1]),
        ['/a', '/b', '/c', '/d', '/e', '/f'],
        'each sent once',
      );
      // /a, /b and /c each end theirs; /d (HTTP/1.0 with keep-alive), /e and /f share the fourth.
      assert.equal(server.connections, 4);
    } finally {
      await server.close();
    }
  });

  test('interim answers (103, 100 Continue) do not use up --output-http-response-buffer: the final response is kept', async () => {
    const hints = `HTTP/1.1 103 Early Hints\r\nLink: <${'/s'.repeat(300)}>; rel=preload\r\n\r\n`;
    const final = `HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n${'b'.repeat(40)}`;
    const server = await rawServer((_req, socket) => {
      // In one write, then the final response in pieces: both paths of the splitter.
      socket.write(`${hints}HTTP/1.1 100 Continue\r\n\r\n${final.slice(0, 10)}`);
      setTimeout(() => socket.write(final.slice(10)), 5);
    });
    try {
      const out = httpOutput(server.url, { workers: 1, trackResponse: true, responseBuffer: 50 });
      const sink = collectingOutput();
      const msgs = [0, 1].map((i) =>
        requestMessage(`POST /e/${i} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi`, `${i}`.repeat(24)),
      );
      const summary = await runPipeline([arrayInput(msgs)], [out, sink]);
      const replayed = sink.messages.filter((m) => m.meta.type === '3');
      assert.equal(replayed.length, 2);
      for (const r of replayed) assert.equal(r.data.toString('latin1'), final.slice(0, 50));
      assert.equal(summary.outputs[0]!.stats!.responses_truncated, 2);
    } finally {
      await server.close();
    }
  });
});
