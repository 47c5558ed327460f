/**
 * Early final responses: capture emits a 413 (or 401) sent while the request body was still arriving with the
 * request's id *before* the request itself (type 2 id X, then type 1 id X). Both trackers (JavaScript and the
 * stats addon's C++ core) pair it with the request that comes later; `tapline report --json` on such a file
 * shows the upload with its 413, and no `(no request)` route. A response whose request never comes still
 * counts as a response without request, after the same bounds a waiting request has (timeout, maxPending).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AnalyticsOptions, createAnalytics } from '../../src/analytics/index.js';
import { statsAddon } from '../../src/analytics/stats-addon.js';
import { encodeRecord } from '../../src/core/gor-format.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { runTapline } from '../support/cli.js';

const S = 1_000_000_000n;
const MS = 1_000_000n;
const T0 = 1_700_000_000n * S;
const hasAddon = statsAddon() !== null;

const idOf = (n: number) => n.toString(16).padStart(24, '0');
const msg = (type: string, n: number, at: bigint, data: string, latencyNs = 0n): Message => ({
  meta: makeMeta({ type, id: idOf(n), timestampNs: at, latencyNs }),
  data: Buffer.from(data),
});

const UPLOAD = 'POST /upload HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 10000000\r\n\r\n' + 'x'.repeat(4000);
const TOO_LARGE = 'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
const HEALTH = 'GET /health HTTP/1.1\r\nHost: shop.test\r\n\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/**
 * The early-413 order: the upload's request started at T0 and the 413 was sent 5 ms later (2 ms to send it)
 * while the body still arrived, so capture emitted the 413 first; a whole exchange follows.
 */
function earlyOrder(): Message[] {
  return [
    msg('2', 1, T0 + 5n * MS, TOO_LARGE, 2n * MS),
    msg('1', 1, T0, UPLOAD),
    msg('1', 2, T0 + 100n * MS, HEALTH),
    msg('2', 2, T0 + 110n * MS, OK),
  ];
}

interface RouteRow {
  route: string;
  requests: number;
  responses: number;
  status_4xx: number;
  no_response: number;
  latency_samples: number;
  p50_ms: number;
}

function run(messages: readonly Message[], engine: 'auto' | 'js', options: AnalyticsOptions = {}) {
  const analytics = createAnalytics({ timeBase: 'input', ...options, engine });
  for (const m of messages) analytics.observe(m);
  analytics.finish();
  return analytics.snapshot() as unknown as { routes: RouteRow[]; accounting: Record<string, number> };
}

const engines = hasAddon ? (['js', 'auto'] as const) : (['js'] as const);

describe('early final responses (response before its request)', () => {
  for (const engine of engines) {
    it(`${engine === 'js' ? 'JavaScript tracker' : 'stats addon core'}: the 413 is paired with the upload`, () => {
      const s = run(earlyOrder(), engine);
      const upload = s.routes.find((r) => r.route === '/upload');
      assert.ok(upload, 'the upload route exists');
      assert.deepEqual(
        [upload.requests, upload.responses, upload.status_4xx, upload.no_response],
        [1, 1, 1, 0],
        'one request, one 413, answered',
      );
      // Request first byte (T0) → response last byte (T0 + 5 ms + its 2 ms): 7 ms.
      assert.deepEqual([upload.latency_samples, upload.p50_ms], [1, 7]);
      assert.equal(
        s.routes.find((r) => r.route === '(no request)'),
        undefined,
      );
      assert.equal(s.accounting.responses_without_request, 0);
      assert.equal(s.accounting.no_response, 0);
    });

    it(`${engine === 'js' ? 'JavaScript tracker' : 'stats addon core'}: a response whose request never comes is one without request, within the bounds`, () => {
      // Timeout: the early response waits 1 s of message time, then counts as a response without request (its
      // request, 2 s later, is then a request without response).
      const late = [msg('2', 1, T0, TOO_LARGE), msg('1', 3, T0 + 2n * S, HEALTH), msg('1', 1, T0 + 2n * S, UPLOAD)];
      const timedOut = run(late, engine, { pendingTimeoutMs: 1000 });
      const ghost = timedOut.routes.find((r) => r.route === '(no request)');
      assert.deepEqual([ghost?.requests, ghost?.responses, ghost?.status_4xx], [0, 1, 1]);
      assert.equal(timedOut.accounting.responses_without_request, 1);
      assert.equal(timedOut.routes.find((r) => r.route === '/upload')?.no_response, 1);
      // Count: with maxPending 1 the second early response pushes the first out.
      const crowded = [msg('2', 1, T0, TOO_LARGE), msg('2', 4, T0, TOO_LARGE), msg('1', 1, T0, UPLOAD)];
      const evicted = run(crowded, engine, { maxPending: 1 });
      assert.equal(evicted.accounting.responses_without_request, 2);
      assert.equal(evicted.routes.find((r) => r.route === '/upload')?.responses, 0);
      // A second final response before the request is a duplicate; the first still pairs.
      const twice = [msg('2', 1, T0, TOO_LARGE), msg('2', 1, T0, TOO_LARGE), msg('1', 1, T0, UPLOAD)];
      const dup = run(twice, engine);
      assert.equal(dup.accounting.duplicate_responses, 1);
      assert.equal(dup.routes.find((r) => r.route === '/upload')?.status_4xx, 1);
    });
  }

  it('both trackers give identical snapshots on early orders (with and without preferReplayed)', {
    skip: hasAddon ? false : 'the stats addon is not built',
  }, () => {
    const replayed = [msg('3', 1, T0 + 9n * S, TOO_LARGE, 3n * MS), ...earlyOrder()];
    for (const [messages, options] of [
      [earlyOrder(), {}],
      [earlyOrder(), { preferReplayed: true }],
      [replayed, { preferReplayed: true }],
      [replayed, { responses: 'replayed' }],
      [
        [msg('2', 1, T0, TOO_LARGE), msg('1', 3, T0 + 2n * S, HEALTH), msg('1', 1, T0 + 2n * S, UPLOAD)],
        { pendingTimeoutMs: 1000 },
      ],
      [[msg('2', 1, T0, TOO_LARGE), msg('2', 4, T0, TOO_LARGE), msg('1', 1, T0, UPLOAD)], { maxPending: 1 }],
    ] as [Message[], AnalyticsOptions][]) {
      assert.deepEqual(run(messages, 'auto', options), run(messages, 'js', options));
    }
  });
});

describe('tapline report --json on an early-413 capture', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tapline-early-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the upload route has 1 request, 1 response, 4xx 1; no (no request) route', async () => {
    const file = join(dir, 'early-413.gor');
    writeFileSync(file, Buffer.concat(earlyOrder().map(encodeRecord)));
    const r = await runTapline(['report', '--json', file]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout.toString()) as { routes: RouteRow[] };
    const upload = s.routes.find((x) => x.route === '/upload');
    assert.deepEqual([upload?.requests, upload?.responses, upload?.status_4xx, upload?.no_response], [1, 1, 1, 0]);
    assert.equal(
      s.routes.find((x) => x.route === '(no request)'),
      undefined,
    );
  });
});
