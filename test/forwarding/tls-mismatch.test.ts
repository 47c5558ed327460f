/**
 * TLS on one side only, or a certificate the sender does not trust: each side says what is wrong and what to
 * do, naming the peer. Before: the receiver printed OpenSSL's text with its source path
 * ("…:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:") or 'socket
 * hang up', without the peer; a TLS sender to a plain listener said 'no connection after 5000ms' (it had one);
 * a refused certificate did not name --output-tcp-skip-verify.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeCertificate } from '../support/tls.js';
import { listeningPort, requestRecord, secureListenArgs, startPeer, stop } from './peers.js';

/** One TLS connection to 127.0.0.1:port, sending `input`. */
const secureSenderArgs = (input: string, port: number) => [
  '--input-file',
  input,
  '--output-tcp',
  `127.0.0.1:${port}`,
  '--output-tcp-secure',
  '--output-tcp-workers',
  '1',
];

describe('forwarding TLS mismatches', () => {
  it('the receiver names the peer and the cause; the sender names the flag that accepts the certificate', async () => {
    const { dir, cert, key } = makeCertificate();
    const input = join(tmpdir(), `tapline-tlsmix-${process.pid}.gor`);
    writeFileSync(input, requestRecord(1));
    const receiver = startPeer([...secureListenArgs(cert, key), '--output-null']);
    try {
      const port = await listeningPort(receiver);
      // A plain sender (as --output-tcp without -secure).
      const plain = connect({ host: '127.0.0.1', port });
      await once(plain, 'connect');
      const plainPeer = `127.0.0.1:${plain.localPort}`;
      plain.on('error', () => undefined);
      plain.end(requestRecord(2));
      await receiver.waitStderr(/the peer does not speak TLS/);
      const escaped = plainPeer.replace(/\./g, '\\.');
      assert.match(
        receiver.stderr(),
        new RegExp(
          `from ${escaped}: TLS handshake failed: the peer does not speak TLS \\(is it sending with --output-tcp but without --output-tcp-secure\\?\\)`,
        ),
      );

      // A TLS sender that does not trust the certificate.
      const sender = startPeer([...secureSenderArgs(input, port), '--exit-after', '1s']);
      await sender.exited;
      assert.match(
        sender.stderr(),
        /cannot connect \(self.signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\); --output-tcp-skip-verify accepts it, or trust its CA with NODE_EXTRA_CA_CERTS\)/,
      );
      await receiver.waitStderr(/from 127\.0\.0\.1:\d+: TLS handshake failed: the peer closed the connection during/);
      assert.doesNotMatch(receiver.stderr(), /deps\/openssl|from \?|from a peer/);
    } finally {
      await stop(receiver);
      rmSync(dir, { recursive: true, force: true });
      rmSync(input, { force: true });
    }
  });

  it('a plain --input-tcp that a TLS sender reaches says so, naming the peer and the flags (was: a cut record)', async () => {
    // It warned '127.0.0.1:N closed the connection in the middle of record 1 (offset 0); it was dropped' once per
    // connection, as if a gor sender had died mid-record.
    const input = join(tmpdir(), `tapline-tlsplainrx-${process.pid}.gor`);
    writeFileSync(input, requestRecord(1));
    const receiver = startPeer(['--input-tcp', '127.0.0.1:0', '--output-null']);
    try {
      const port = await listeningPort(receiver);
      const sender = startPeer([...secureSenderArgs(input, port), '--exit-after', '2s']);
      await receiver.waitStderr(/begins with a TLS handshake/, 20_000);
      await sender.exited;
      assert.match(
        receiver.stderr(),
        /input-tcp\(127\.0\.0\.1:0\): from 127\.0\.0\.1:\d+: the connection begins with a TLS handshake, but this listener has no TLS \(a sender with --output-tcp-secure needs --input-tcp-secure here, with --input-tcp-certificate and --input-tcp-certificate-key\); the connection is closed/,
      );
      assert.doesNotMatch(receiver.stderr(), /in the middle of record/);
      await stop(receiver);
      assert.match(receiver.stderr(), /tls refused [1-9]/);
    } finally {
      await stop(receiver);
      rmSync(input, { force: true });
    }
  });

  it('a TLS sender to a plain listener says the handshake, not the connection, never came', async () => {
    const sockets: Socket[] = [];
    const server = createServer((s) => {
      sockets.push(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const input = join(tmpdir(), `tapline-tlsplain-${process.pid}.gor`);
    writeFileSync(input, requestRecord(1));
    try {
      const port = (server.address() as { port: number }).port;
      const sender = startPeer(secureSenderArgs(input, port));
      await sender.waitStderr(/cannot connect/, 20_000);
      assert.match(
        sender.stderr(),
        /cannot connect \(no TLS handshake within 5000ms: the peer took the connection but did not answer TLS \(is it listening without TLS, e\.g\. --input-tcp without --input-tcp-secure\?\)\)/,
      );
      assert.equal((await sender.exited).code, 1, sender.stderr());
      assert.match(sender.stderr(), /lost at close 1/);
      assert.match(sender.stderr(), /not delivered \(1 at close\)/);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
      rmSync(input, { force: true });
    }
  });
});
