/**
 * --output-ws against a WebSocket server written for the test (node:http upgrade + the project's frame
 * decoder): one binary frame per message holding `meta LF payload` (no separator), gor's Basic authorization
 * from the URL's userinfo (sent empty when there is none), the path kept, type 3 skipped.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { acceptKey } from '../../src/net/ws-dial.js';
import { encodeFrame, FrameDecoder, OP_BINARY, OP_CLOSE } from '../../src/net/ws-frames.js';
import { makeCertificate } from '../support/tls.js';
import { requestRecord, startPeer } from './peers.js';

interface Upgrade {
  url: string;
  authorization: string | undefined;
}

const upgrades: Upgrade[] = [];
const frames: Buffer[] = [];
const server = createServer((_req, res) => res.writeHead(426).end());
const tlsFiles = makeCertificate();
const secureServer = createHttpsServer(
  { cert: readFileSync(tlsFiles.cert), key: readFileSync(tlsFiles.key) },
  (_req, res) => res.writeHead(426).end(),
);
const onUpgrade = (req: IncomingMessage, socket: Socket) => {
  upgrades.push({ url: req.url ?? '', authorization: req.headers.authorization });
  const key = String(req.headers['sec-websocket-key']);
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
  );
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) {
      if (f.opcode === OP_BINARY) frames.push(f.payload);
      // A real server answers a close frame with one and closes the connection.
      if (f.opcode === OP_CLOSE) socket.end(encodeFrame(OP_CLOSE, Buffer.alloc(0), false));
    }
  });
  socket.on('error', () => undefined);
};
server.on('upgrade', onUpgrade);
secureServer.on('upgrade', onUpgrade);
let port = 0;
let securePort = 0;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => secureServer.listen(0, '127.0.0.1', resolve));
  securePort = (secureServer.address() as { port: number }).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
  secureServer.closeAllConnections();
  secureServer.close();
  rmSync(tlsFiles.dir, { recursive: true, force: true });
});

/** `meta LF payload`: the record without its separator. */
const frameOf = (record: Buffer) => record.subarray(0, record.length - SEPARATOR.length);

describe('output-ws', () => {
  it('sends one binary frame per message with Basic auth from the userinfo', async () => {
    const records = Array.from({ length: 12 }, (_, i) => requestRecord(i));
    const input = join(tmpdir(), `tapline-ws-${process.pid}.gor`);
    writeFileSync(input, Buffer.concat([...records, requestRecord(99, '3')]));
    const p = startPeer([
      '--input-file',
      input,
      '--output-ws',
      `ws://user1@127.0.0.1:${port}/gor/in?x=1`,
      '--output-ws-workers',
      '2',
    ]);
    assert.equal((await p.exited).code, 0, p.stderr());
    assert.match(p.stderr(), /skipped replayed 1/);
    assert.equal(upgrades.length, 2);
    for (const u of upgrades) {
      assert.equal(u.url, '/gor/in?x=1');
      assert.equal(u.authorization, 'Basic dXNlcjE='); // gor's own test vector
    }
    assert.deepEqual(
      frames.map((f) => f.toString('latin1')).sort(),
      records.map((r) => frameOf(r).toString('latin1')).sort(),
    );
  });

  it('sends an empty Basic credential without userinfo, as gor does; a bad URL is a usage error', async () => {
    upgrades.length = 0;
    const input = join(tmpdir(), `tapline-ws2-${process.pid}.gor`);
    writeFileSync(input, requestRecord(1));
    const p = startPeer(['--input-file', input, '--output-ws', `ws://127.0.0.1:${port}/`, '--output-ws-workers', '1']);
    assert.equal((await p.exited).code, 0, p.stderr());
    assert.match(upgrades[0]?.authorization ?? 'none', /^Basic ?$/); // node:http trims the trailing space
    const bad = startPeer(['--input-file', input, '--output-ws', `http://127.0.0.1:${port}/`]);
    assert.equal((await bad.exited).code, 2);
    assert.match(bad.stderr(), /--output-ws: .*scheme must be ws:\/\/ or wss:\/\//);
  });
  it('wss://: refused with an unknown certificate (counted), delivered with -skip-verify or the CA trusted', async () => {
    frames.length = 0;
    const input = join(tmpdir(), `tapline-wss-${process.pid}.gor`);
    writeFileSync(input, Buffer.concat([requestRecord(1), requestRecord(2)]));
    const url = `wss://127.0.0.1:${securePort}/in`;
    const refused = startPeer(['--input-file', input, '--output-ws', url, '--output-ws-workers', '1']);
    await refused.exited;
    assert.match(refused.stderr(), /cannot connect \([^)]*self.signed/i);
    assert.match(refused.stderr(), /lost at close 2/);
    assert.equal(frames.length, 0);

    const skipped = startPeer(['--input-file', input, '--output-ws', url, '--output-ws-skip-verify']);
    assert.equal((await skipped.exited).code, 0, skipped.stderr());
    const trusted = startPeer(['--input-file', input, '--output-ws', url], { NODE_EXTRA_CA_CERTS: tlsFiles.cert });
    assert.equal((await trusted.exited).code, 0, trusted.stderr());
    const expected = [1, 2, 1, 2].map((i) => frameOf(requestRecord(i)).toString('latin1')).sort();
    assert.deepEqual(frames.map((f) => f.toString('latin1')).sort(), expected);
  });

  it("a server's close frame stops writing on that connection at once: the rest go on the next one, none lost", async () => {
    // The first connection is closed by the server in its very first bytes (after the 101), its TCP connection
    // left open, as a server that refuses a client by policy does; frames sent after that are discarded (RFC
    // 6455). Before the fix the link kept writing to it ('write after end'): counted as sent, never received.
    const received: Buffer[] = [];
    let connections = 0;
    const closing = createServer((_req, res) => res.writeHead(426).end());
    closing.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      const first = ++connections === 1;
      const accept = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(String(req.headers['sec-websocket-key']))}\r\n\r\n`;
      const close = encodeFrame(OP_CLOSE, Buffer.concat([Buffer.from([0x03, 0xf0]), Buffer.from('go away')]), false);
      socket.write(first ? Buffer.concat([Buffer.from(accept), close]) : accept);
      const decoder = new FrameDecoder();
      socket.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(chunk)) {
          if (!first && f.opcode === OP_BINARY) received.push(f.payload);
          if (!first && f.opcode === OP_CLOSE) socket.end(encodeFrame(OP_CLOSE, Buffer.alloc(0), false));
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve));
    try {
      const records = Array.from({ length: 20 }, (_, i) => requestRecord(i));
      const input = join(tmpdir(), `tapline-wsclose-${process.pid}.gor`);
      writeFileSync(input, Buffer.concat(records));
      const url = `ws://127.0.0.1:${(closing.address() as { port: number }).port}/`;
      const p = startPeer(['--input-file', input, '--output-ws', url, '--output-ws-workers', '1']);
      assert.equal((await p.exited).code, 0, p.stderr());
      assert.match(p.stderr(), /connection lost \(the server closed the WebSocket \(code 1008: go away\)\)/);
      assert.deepEqual(
        received.map((f) => f.toString('latin1')),
        records.map((r) => frameOf(r).toString('latin1')),
      );
      assert.match(p.stderr(), /sent 20,/);
    } finally {
      closing.closeAllConnections();
      closing.close();
    }
  });
});
