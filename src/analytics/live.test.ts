import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgv } from '../cli/argv.js';
import { allFlags } from '../cli/main.js';
import { memoryLogger } from '../core/log.js';
import { makeMeta } from '../core/message.js';
import { liveAnalytics, wholeRunVerdict } from './live.js';

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

describe('live analytics: replayed responses an input brings', () => {
  it('accounts the responses this run replays, not an earlier replay’s from the file (they went to (no request))', () => {
    const now = 1_800_000_000_000; // ms: the run starts here
    const { flags } = parseArgv(['--stats', '--output-http-track-response'], allFlags());
    const log = memoryLogger();
    const live = liveAnalytics(flags, false, () => now, log)!;
    const id = '000000000000000000000001';
    const msg = (type: string, ms: number, latencyNs: bigint, data: string) =>
      live.processor({
        meta: makeMeta({ type, id, timestampNs: BigInt(ms) * 1_000_000n, latencyNs }),
        data: Buffer.from(data),
      });
    // replayed.gor, as an earlier replay wrote it: the request, its original response and that replay's answer.
    msg('1', 1_000, 0n, 'GET /a HTTP/1.1\r\nHost: h\r\n\r\n');
    msg('2', 1_001, 0n, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    msg('3', now - 60_000, 7_000_000n, 'HTTP/1.1 500 Old\r\nContent-Length: 3\r\n\r\nold');
    // This run's replay answers later.
    msg('3', now + 5, 2_000_000n, 'HTTP/1.1 404 New\r\nContent-Length: 0\r\n\r\n');
    live.analytics.finish();
    const s = live.analytics.snapshot();
    assert.deepEqual(
      s.routes.map((r) => [r.route, r.requests, r.responses, r.status_4xx, r.status_5xx, r.p50_ms]),
      [['/a', 1, 1, 1, 0, 2]],
    );
    assert.equal(s.accounting.duplicate_responses, 0);
    assert.equal(s.accounting.original_responses_replaced, 1);
    assert.equal(log.lines.length, 1);
    assert.match(
      log.lines[0]!,
      /replayed responses from before this run \(the first: 0+1, type 3\) come from an input/,
    );
  });
});

describe('live analytics: the exit verdict', () => {
  it('lists 20 broken budgets and counts the rest (1,001 routes over --max-route printed 1,001 lines)', () => {
    const breaches = Array.from({ length: 25 }, (_, i) => ({
      budget: i < 23 ? ('max-route' as const) : ('max-latency' as const),
      route: `/r${i}`,
      host: 'h',
      value: 10,
      limit: 1,
      message: `${i < 23 ? 'max-route' : 'max-latency'}: /r${i} 10 B > 1 B`,
    }));
    const lines = wholeRunVerdict(breaches, '1m');
    assert.equal(lines.length, 22);
    assert.equal(
      lines[0],
      'tapline: budgets over the whole run (the alert lines judge the last 1m while running): 25 broken',
    );
    assert.equal(lines[20], '  max-route: /r19 10 B > 1 B');
    assert.equal(lines[21], '  … and 5 more (max-route 3, max-latency 2)');
    assert.equal(wholeRunVerdict(breaches.slice(0, 20), '1m').length, 21, 'twenty: all listed');
  });
});
