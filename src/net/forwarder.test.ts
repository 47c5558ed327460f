/**
 * The links of one --output-tcp / --output-ws output to a target that refuses every connection: what they share
 * is said once for the output, not once per link (10 by default).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { memoryLogger } from '../core/log.js';
import { parseMeta } from '../core/meta.js';
import { dialConduit } from './dial.js';
import { forwarder } from './forwarder.js';

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('forwarder: a refused target with many links', () => {
  it('says the refusal once and the messages left at close in one line, not once per link', async () => {
    const port = await closedPort();
    const log = memoryLogger();
    const output = forwarder({
      name: 'output-tcp(refused)',
      workers: 10,
      sticky: false,
      queueLimit: 10,
      encode: (msg) => msg.data,
      dial: () => dialConduit({ host: '127.0.0.1', port, timeoutMs: 5000 }),
      log,
      flushTimeoutMs: 300,
    });
    for (let i = 0; i < 4; i++) await output.write({ meta: parseMeta(`1 a${i} 1 0`), data: Buffer.from('x') });
    // Every link has failed its first dial (each is counted as it fails).
    for (let i = 0; i < 200 && Number(output.stats!().dial_failures) < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await output.close();
    assert.equal(output.stats!().lost_at_close, 4);
    const refusals = log.lines.filter((l) => l.includes('cannot connect'));
    assert.equal(refusals.length, 1, refusals.join('\n'));
    assert.match(refusals[0]!, /ECONNREFUSED.*\(the same failure on its other 9 connections is not repeated\)/);
    const unsent = log.lines.filter((l) => l.includes('never sent'));
    assert.deepEqual(unsent.length, 1, unsent.join('\n'));
    assert.match(
      unsent[0]!,
      /^tapline: warning: output-tcp\(refused\) \(on 4 of its 10 connections\): 4 message\(s\) never sent: no connection when the output closed \(the last attempt: .*ECONNREFUSED/,
    );
  });
});
