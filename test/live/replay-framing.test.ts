/**
 * --output-http connection reuse around answers that end the exchange early or change what the connection
 * is: a target that answers before it has read the whole request body, a 101 that switches the protocol,
 * `Connection: close` and HTTP/1.0 answers. Each is a real server on 127.0.0.1, under both clients: every
 * request must get its own answer, and a connection that cannot carry the next request must not be given it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { test } from 'node:test';
import { httpOutput } from '../../src/outputs/http.js';
import { arrayInput, forEachClient, rawServer, requestMessage, runPipeline } from './replay-support.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
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
});
