import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgv } from '../cli/argv.js';
import { allFlags } from '../cli/main.js';
import { makeMeta } from '../core/message.js';
import { liveAnalytics } from './live.js';

describe('live analytics: the alert window', () => {
  it('keeps the traffic of a whole --alert-window longer than 5 minutes (it judged only the last 5)', async () => {
    let now = 1_000_000;
    const { flags } = parseArgv(['--max-total', '1gb', '--alert-window', '10m'], allFlags());
    const live = liveAnalytics(flags, false, () => now)!;
    let n = 0;
    const exchange = () => {
      const id = (++n).toString(16).padStart(24, '0');
      const at = BigInt(now) * 1_000_000n;
      live.processor({
        meta: makeMeta({ type: '1', id, timestampNs: at, latencyNs: 0n }),
        data: Buffer.from('GET /a HTTP/1.1\r\nHost: h\r\n\r\n'),
      });
      live.processor({
        meta: makeMeta({ type: '2', id, timestampNs: at, latencyNs: 0n }),
        data: Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
      });
    };
    live.analytics.window(600_000); // the alert monitor asks from its first check on
    exchange();
    // Six minutes of checks, one a minute, the native tracker reading the clock once per event-loop turn.
    for (let i = 0; i < 6; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      now += 60_000;
      live.analytics.window(600_000);
    }
    exchange();
    await new Promise<void>((resolve) => setImmediate(resolve));
    now += 60_000;
    assert.equal(live.analytics.window(600_000).total_requests, 2, 'both exchanges are within the last 10 minutes');
    assert.equal(live.analytics.window(120_000).total_requests, 1);
  });
});
