/**
 * --output-tcp → --input-tcp between real tapline processes on loopback: exact bytes (no extra LF), worker
 * spreading, type 3 skipped, gor's queue stats line, TLS with a certificate made by the test (verified through
 * NODE_EXTRA_CA_CERTS, refused without it, accepted with -skip-verify), and a peer that goes away and comes
 * back: what was sent while it was away arrives once it is back, beyond the buffer bound it is dropped and
 * counted.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fnv1a32 } from '../../src/net/fnv.js';
import { makeCertificate } from '../support/tls.js';
import { listeningPort, requestRecord, secureListenArgs, splitRecords, startPeer, stop } from './peers.js';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function gorFile(name: string, records: Buffer[]): string {
  const path = join(tmpdir(), `tapline-fwd-${process.pid}-${name}.gor`);
  writeFileSync(path, Buffer.concat(records));
  return path;
}

/** Sends records to a tapline --input-tcp from the test itself, as another tapline or gor would. */
async function sendRecords(port: number, records: Buffer[]): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.end(Buffer.concat(records));
  await once(socket, 'close');
}

describe('tcp forwarding between tapline processes', () => {
  it('delivers every request byte for byte, skips replayed responses, prints queue stats', async () => {
    const receiver = startPeer(['--input-tcp', '127.0.0.1:0', '--output-stdout', '--verbose', '1']);
    try {
      const port = await listeningPort(receiver);
      const first = range(0, 40).map((i) => requestRecord(i));
      const input = gorFile('ordered', [...first.slice(0, 20), requestRecord(900, '3'), ...first.slice(20)]);
      const sender = startPeer([
        '--input-file',
        input,
        '--output-tcp',
        `127.0.0.1:${port}`,
        '--output-tcp-workers',
        '1',
        '--stats',
        '--output-tcp-stats',
      ]);
      assert.equal((await sender.exited).code, 0, sender.stderr());
      assert.match(sender.stderr(), /output_tcp:latest,mean,max,count,count\/second,gcount/);
      assert.match(sender.stderr(), /skipped replayed 1/);
      await receiver.waitRecords(40);
      // One connection keeps the order: the receiver writes exactly the bytes of the requests, nothing added.
      assert.ok(receiver.stdout().equals(Buffer.concat(first)), 'byte-identical stream');

      const spread = range(40, 100).map((i) => requestRecord(i));
      const sender3 = startPeer([
        '--input-file',
        gorFile('spread', spread),
        '--output-tcp',
        `127.0.0.1:${port}`,
        '--output-tcp-workers',
        '3',
      ]);
      assert.equal((await sender3.exited).code, 0, sender3.stderr());
      const got = (await receiver.waitRecords(100)).slice(40).map((r) => r.toString('latin1'));
      assert.deepEqual(got.sort(), spread.map((r) => r.toString('latin1')).sort());
    } finally {
      const end = await stop(receiver);
      assert.equal(end.code, 0, receiver.stderr());
    }
    assert.match(receiver.stderr(), /connections 4/);
  });

  it('-sticky: every message of an id travels on the connection FNV-1a picks, request before response', async () => {
    // The receiver is the test itself, so it can tell the connections apart.
    const perConnection: Buffer[][] = [];
    let closes = 0;
    const server = createServer((socket) => {
      const chunks: Buffer[] = [];
      perConnection.push(chunks);
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('close', () => closes++);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const records = range(0, 30).flatMap((i) => [requestRecord(i), requestRecord(i, '2')]);
      const sender = startPeer([
        '--input-file',
        gorFile('sticky', records),
        '--output-tcp',
        `127.0.0.1:${port}`,
        '--output-tcp-workers',
        '3',
        '--output-tcp-sticky',
      ]);
      assert.equal((await sender.exited).code, 0, sender.stderr());
      // The sender has exited; read everything its connections carried before looking (bounded wait).
      for (let i = 0; i < 100 && closes < perConnection.length; i++) await new Promise((r) => setTimeout(r, 50));
      const idsOn = perConnection.map((c) =>
        splitRecords(Buffer.concat(c)).map((r) => r.toString('latin1').split(' ')),
      );
      assert.equal(idsOn.flat().length, 60, 'every record arrived');
      const groups = idsOn
        .filter((recs) => recs.length > 0)
        .map((recs) => {
          const ids = recs.map((r) => r[1]!);
          // Per id: the request (type 1) comes before its response (type 2) on the same connection.
          for (const id of new Set(ids)) {
            assert.deepEqual(
              recs.filter((r) => r[1] === id).map((r) => r[0]),
              ['1', '2'],
            );
          }
          return [...new Set(ids)].sort().join(',');
        });
      const expected = new Map<number, string[]>();
      for (const i of range(0, 30)) {
        const id = i.toString(16).padStart(24, '0');
        const w = fnv1a32(id) % 3;
        expected.set(w, [...(expected.get(w) ?? []), id]);
      }
      assert.deepEqual(groups.sort(), [...expected.values()].map((ids) => ids.sort().join(',')).sort());
    } finally {
      server.close();
    }
  });

  it('TLS: verified with the test CA, refused without it, accepted with -skip-verify', async () => {
    const { dir, cert, key } = makeCertificate();
    const receiver = startPeer([...secureListenArgs(cert, key), '--output-stdout']);
    try {
      const port = await listeningPort(receiver);
      assert.match(receiver.stderr(), /\(TLS\)/);
      const target = `127.0.0.1:${port}`;
      const verified = startPeer(
        [
          '--input-file',
          gorFile(
            'tls-a',
            range(0, 5).map((i) => requestRecord(i)),
          ),
          '--output-tcp',
          target,
          '--output-tcp-secure',
          '--output-tcp-workers',
          '2',
        ],
        { NODE_EXTRA_CA_CERTS: cert },
      );
      assert.equal((await verified.exited).code, 0, verified.stderr());
      await receiver.waitRecords(5);

      const refused = startPeer([
        '--input-file',
        gorFile('tls-b', [requestRecord(50)]),
        '--output-tcp',
        target,
        '--output-tcp-secure',
        '--output-tcp-workers',
        '1',
        // Every dial failure logged, not only the first (on a loaded machine the first could be a timeout).
        '--verbose',
        '1',
      ]);
      await refused.exited;
      assert.match(refused.stderr(), /cannot connect \([^)]*self.signed/i);
      assert.match(refused.stderr(), /lost at close 1/);

      const skipped = startPeer([
        '--input-file',
        gorFile(
          'tls-c',
          range(5, 8).map((i) => requestRecord(i)),
        ),
        '--output-tcp',
        target,
        '--output-tcp-secure',
        '--output-tcp-skip-verify',
        '--output-tcp-workers',
        '1',
      ]);
      assert.equal((await skipped.exited).code, 0, skipped.stderr());
      const records = await receiver.waitRecords(8);
      assert.equal(records.length, 8);
      assert.ok(!receiver.stdout().toString('latin1').includes('/item/50 '), 'the refused record never arrived');
      await receiver.waitStderr(/TLS handshake failed/);
    } finally {
      await stop(receiver);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('text that is not .gor data is passed on as gor does, but said: the peer and the record are named', async () => {
    const receiver = startPeer(['--input-tcp', '127.0.0.1:0', '--output-stdout', '--verbose', '1']);
    try {
      const port = await listeningPort(receiver);
      await sendRecords(port, [Buffer.from('garbage without separators\nand more text\n\n🐵🙈🙉\n'), requestRecord(1)]);
      await receiver.waitStderr(
        /from 127\.0\.0\.1:\d+: record 1 \(offset 0\): the meta line's timestamp is not a number/,
      );
    } finally {
      await stop(receiver);
    }
    assert.match(receiver.stderr(), /bad_timestamps 1|bad timestamps 1/);
    assert.equal(splitRecords(receiver.stdout()).length, 2, 'both records passed on');
  });

  it('--input-tcp 127.0.0.1:0 says which port it listens on without --verbose', async () => {
    // It was an info line (--verbose 1 only): an aggregator on port 0 could not be found by its agents' operator.
    const receiver = startPeer(['--input-tcp', '127.0.0.1:0', '--output-null']);
    try {
      const port = await listeningPort(receiver);
      assert.ok(port > 0 && port < 65536, `port ${port}`);
    } finally {
      assert.equal((await stop(receiver)).code, 0);
    }
  });

  it('a TLS listener without its key is a usage error (exit 2)', async () => {
    const { dir, cert } = makeCertificate();
    try {
      const p = startPeer(['--input-tcp', '127.0.0.1:0', '--input-tcp-secure', '--input-tcp-certificate', cert]);
      assert.equal((await p.exited).code, 2);
      assert.match(p.stderr(), /--input-tcp-certificate-key: a PEM file is required/);
      const q = startPeer(['--output-tcp', 'nohost', '--input-tcp', ':0']);
      assert.equal((await q.exited).code, 2);
      assert.match(q.stderr(), /--output-tcp: "nohost": no port/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the peer goes away and comes back: buffered messages arrive, the overflow is dropped and counted', async () => {
    let receiver = startPeer(['--input-tcp', '127.0.0.1:0', '--output-stdout', '--verbose', '1']);
    const port = await listeningPort(receiver);
    // A relay (gor's aggregator setup): the test feeds its --input-tcp, it forwards to the receiver.
    const relay = startPeer([
      '--input-tcp',
      '127.0.0.1:0',
      '--output-tcp',
      `127.0.0.1:${port}`,
      '--output-tcp-workers',
      '1',
      '--output-tcp-queue-limit',
      '8',
      '--verbose',
      '1',
    ]);
    try {
      const relayPort = await listeningPort(relay);
      const before = range(0, 10).map((i) => requestRecord(i));
      await sendRecords(relayPort, before);
      await receiver.waitRecords(10);
      assert.ok(receiver.stdout().equals(Buffer.concat(before)));

      receiver.child.kill('SIGKILL');
      await receiver.exited;
      await relay.waitStderr(/connection lost/);
      // Truly away: a dial has been refused (a redial can still reach the dying listener for a moment).
      await relay.waitStderr(/cannot connect/);

      // 12 messages while the peer is away: 8 fit in the buffer, 4 are dropped and counted.
      const away = range(10, 22).map((i) => requestRecord(i));
      await sendRecords(relayPort, away);
      await relay.waitStderr(/message dropped \(counted as dropped_while_away\)/);

      receiver = startPeer(['--input-tcp', `127.0.0.1:${port}`, '--output-stdout', '--verbose', '1']);
      await listeningPort(receiver);
      const records = await receiver.waitRecords(8);
      assert.ok(Buffer.concat(records).equals(Buffer.concat(away.slice(0, 8))), 'the first 8 buffered, in order');
      await relay.waitStderr(/reconnected/);

      // And the link works normally again.
      const after = range(22, 25).map((i) => requestRecord(i));
      await sendRecords(relayPort, after);
      await receiver.waitRecords(11);
      assert.ok(receiver.stdout().equals(Buffer.concat([...away.slice(0, 8), ...after])));
    } finally {
      const end = await stop(relay);
      await stop(receiver);
      // The 4 dropped make the run exit 1, named in an error line.
      assert.equal(end.code, 1, relay.stderr());
    }
    assert.match(relay.stderr(), /dropped while away 4/);
    assert.match(
      relay.stderr(),
      /error: output-tcp\(.*\): 4 message\(s\) not delivered \(4 dropped while the peer was away\)/,
    );
    // At least one: a SIGKILLed peer's connection can close (FIN) a moment before its listener does, so the
    // immediate redial may reach the dying listener and be reset — a second, legitimate disconnect.
    assert.ok(Number(/disconnects (\d+)/.exec(relay.stderr())?.[1] ?? 0) >= 1, relay.stderr());
  });
});
