/**
 * --output-ws as the CLI builds it: what it says at start about its URL.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FlagSet } from '../core/flags.js';
import { memoryLogger } from '../core/log.js';
import { wsOutputPlugin } from './ws.js';

const flags = () => new FlagSet(new Map(Object.entries(wsOutputPlugin.flags)), new Map());

/** The warnings said at start by an --output-ws to `address` (closed at once). */
async function warningsFor(address: string): Promise<string[]> {
  const log = memoryLogger();
  const out = await wsOutputPlugin.create({
    address,
    limit: { kind: 'none' },
    flags: flags(),
    ctx: { log, signal: new AbortController().signal },
  });
  await out.close();
  return log.lines.filter((l) => l.includes('no port after it'));
}

it("a URL with ':' and no port (an unset $PORT) is dialed at the scheme's default, and said at start", async () => {
  for (const [address, said] of [
    [
      'ws://u:p@127.0.0.1:/x',
      "output-ws(ws://127.0.0.1/x): the URL has ':' and no port after it: messages go to port 80, the ws:// default",
    ],
    [
      'wss://[::1]:',
      "output-ws(wss://[::1]/): the URL has ':' and no port after it: messages go to port 443, the wss:// default",
    ],
  ] as const) {
    const warnings = await warningsFor(address);
    assert.equal(warnings.length, 1, `${address}: ${warnings.join('\n')}`);
    assert.ok(warnings[0]!.includes(said), warnings[0]);
    assert.ok(!warnings[0]!.includes('u:p'), 'the credentials are not logged');
  }
  for (const address of ['ws://127.0.0.1:9/x', 'ws://127.0.0.1/x'])
    assert.deepEqual(await warningsFor(address), [], address);
});
