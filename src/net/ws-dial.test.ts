/**
 * --output-ws against a real node:http server that answers the upgrade with something else than 101: the
 * warnings say what the answer means for the URL (credentials, a redirect not followed, not a WebSocket path),
 * and the messages left at the end are said as refused by that server, not as "the peer was away".
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { memoryLogger } from '../core/log.js';
import { parseMeta } from '../core/meta.js';
import { forwarder } from './forwarder.js';
import { acceptKey, dialWebSocket, parseWsUrl } from './ws-dial.js';

const server = createServer((req, res) => {
  if (req.url === '/auth') res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="gor"' }).end();
  else if (req.url === '/moved') res.writeHead(302, { Location: 'ws://collector.example/gor' }).end();
  else res.writeHead(200).end('hello');
});
let port = 0;
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
after(() => server.close());

const refusal = async (url: string): Promise<string> => {
  try {
    await dialWebSocket(parseWsUrl(url), { skipVerify: false, timeoutMs: 5000 });
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail(`${url}: the upgrade was not refused`);
};

describe('output-ws: an upgrade the server refuses', () => {
  it('says what the status means for the URL', async () => {
    assert.match(
      await refusal(`ws://127.0.0.1:${port}/auth`),
      /HTTP 401 Unauthorized: the URL has no user:password@ for the Basic authorization/,
    );
    assert.match(
      await refusal(`ws://agent:wrong@127.0.0.1:${port}/auth`),
      /HTTP 401 Unauthorized: check the user:password@ in the URL/,
    );
    assert.match(
      await refusal(`ws://127.0.0.1:${port}/moved`),
      /HTTP 302 Found: a redirect to ws:\/\/collector\.example\/gor, which --output-ws does not follow/,
    );
    assert.match(
      await refusal(`ws://127.0.0.1:${port}/plain`),
      /HTTP 200 OK: an ordinary HTTP answer, not a WebSocket/,
    );
  });

  it('names the refusal, not an absent peer, for the messages left at the end', async () => {
    const log = memoryLogger();
    const target = parseWsUrl(`ws://127.0.0.1:${port}/auth`);
    const output = forwarder({
      name: 'output-ws(test)',
      workers: 1,
      sticky: false,
      queueLimit: 10,
      encode: (msg) => msg.data,
      dial: () => dialWebSocket(target, { skipVerify: false, timeoutMs: 5000 }),
      log,
      flushTimeoutMs: 300,
    });
    await output.write({ meta: parseMeta('1 a 1 0'), data: Buffer.from('x') });
    await output.close();
    assert.equal(output.stats!().lost_at_close, 1);
    const line = log.lines.find((l) => l.includes('never sent')) ?? '';
    assert.match(line, /no connection when the output closed \(the last attempt: the server refused .*HTTP 401/);
    assert.doesNotMatch(line, /was away/);
  });
});

describe('output-ws: the handshake any RFC 6455 server answers', () => {
  it('computes Sec-WebSocket-Accept with the RFC GUID (its worked example, section 1.3)', () => {
    assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it("connects to a server that computes the answer itself (not with tapline's function)", async () => {
    const rfcGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
    const ws = createServer((_req, res) => res.writeHead(404).end());
    ws.on('upgrade', (req, socket) => {
      const answer = createHash('sha1').update(`${req.headers['sec-websocket-key']}${rfcGuid}`).digest('base64');
      socket.end(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${answer}\r\n\r\n`,
      );
    });
    await new Promise<void>((resolve) => ws.listen(0, '127.0.0.1', resolve));
    try {
      const wsPort = (ws.address() as { port: number }).port;
      const conduit = await dialWebSocket(parseWsUrl(`ws://127.0.0.1:${wsPort}/gor`), {
        skipVerify: false,
        timeoutMs: 5000,
      });
      conduit.destroy();
    } finally {
      ws.close();
    }
  });
});
