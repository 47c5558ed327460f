import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type Message, makeMeta } from '../core/message.js';
import { evaluateBudgets, parseShare } from './budgets.js';
import { createAnalytics, OVERFLOW_ROUTE } from './index.js';
import { chunkedEntityLength, measureRequest, measureResponse } from './sizes.js';
import type { Exchange } from './types.js';

const S = 1_000_000_000n; // 1 s in ns
const T0 = 1_700_000_000n * S;

function request(id: string, at: bigint, target: string, body = '', extra = ''): Message {
  const head = `GET ${target} HTTP/1.1\r\nHost: shop.test\r\n${extra}${body ? `Content-Length: ${body.length}\r\n` : ''}\r\n`;
  return { meta: makeMeta({ type: '1', id, timestampNs: at, latencyNs: 0n }), data: Buffer.from(head + body) };
}

function response(id: string, at: bigint, status: number, body: string | Buffer, type = '2', latency = 0n): Message {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const head = `HTTP/1.1 ${status} X\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${b.length}\r\n\r\n`;
  return {
    meta: makeMeta({ type, id, timestampNs: at, latencyNs: latency }),
    data: Buffer.concat([Buffer.from(head), b]),
  };
}

function collect(options: Parameters<typeof createAnalytics>[0] = {}) {
  const analytics = createAnalytics({ timeBase: 'input', ...options });
  const exchanges: Exchange[] = [];
  analytics.onExchange((e) => exchanges.push(e));
  return { analytics, exchanges };
}

describe('sizes', () => {
  it('splits header and body bytes, removes chunk framing and measures decoded bodies', () => {
    const req = measureRequest(
      Buffer.from('POST /a?x=1 HTTP/1.1\r\nHost: h\r\nX-Real-IP: 10.0.0.9, 1.1.1.1\r\n\r\nabc'),
    )!;
    assert.deepEqual(
      { ...req },
      {
        method: 'POST',
        target: '/a?x=1',
        host: 'h',
        headerBytes: 63,
        bodyBytes: 3,
        bodyEntityBytes: 3,
        client: '10.0.0.9',
      },
    );
    const gz = gzipSync(Buffer.alloc(5000, 'a'));
    const chunked = Buffer.concat([
      Buffer.from(
        `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n${gz.length.toString(16)}\r\n`,
      ),
      gz,
      Buffer.from('\r\n0\r\n\r\n'),
    ]);
    const res = measureResponse(chunked)!;
    assert.equal(res.headerBytes, 71);
    assert.equal(res.bodyBytes, chunked.length - 71);
    assert.equal(res.bodyEntityBytes, gz.length);
    assert.equal(res.bodyDecodedBytes, 5000);
    assert.equal(chunkedEntityLength(Buffer.from('3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n')), 5);
    assert.equal(measureRequest(Buffer.from('\x16\x03\x01 binary')), null);
    assert.equal(measureResponse(Buffer.from('HTTP/1.1 2xx no')), null);
  });
});

describe('pairing and totals', () => {
  it('pairs by id, measures latency from request first byte to response last byte, templated routes', () => {
    const { analytics, exchanges } = collect();
    analytics.observe(request('a', T0, '/users/1?x=y'));
    analytics.observe(request('b', T0 + S / 10n, '/users/2'));
    analytics.observe(response('b', T0 + S / 5n, 404, 'nope', '2', S / 100n)); // ends at +210 ms
    analytics.observe(response('a', T0 + S / 2n, 200, 'hello'));
    analytics.finish();
    assert.deepEqual(
      exchanges.map((e) => [e.id, e.route, e.status, Number(e.latencyNs) / 1e6]),
      [
        ['b', '/users/:id', 404, 110],
        ['a', '/users/:id', 200, 500],
      ],
    );
    const s = analytics.snapshot();
    assert.equal(s.total_requests, 2);
    assert.equal(s.routes.length, 1);
    assert.equal(s.routes[0]!.status_2xx, 1);
    assert.equal(s.routes[0]!.status_4xx, 1);
    assert.equal(s.routes[0]!.host, 'shop.test');
    assert.equal(s.routes[0]!.share, 1);
    assert.ok(Math.abs(s.routes[0]!.p99_ms - 500) <= 10, `${s.routes[0]!.p99_ms}`);
    const reqBytes = request('a', T0, '/users/1?x=y').data.length + request('b', T0, '/users/2').data.length;
    assert.equal(s.totals.request_header_bytes, reqBytes);
    assert.equal(s.avg_request_size, Math.round((reqBytes / 2 / 1024) * 1000) / 1000);
    assert.equal(s.top_endpoints[0]!.path, '/users/:id');
    assert.equal(exchanges[0]!.contentType, 'text/html');
  });

  it('a request without response is counted as no-response after the timeout, at eviction and at the end', () => {
    const { analytics, exchanges } = collect({ pendingTimeoutMs: 1000, maxPending: 2 });
    analytics.observe(request('old', T0, '/a'));
    analytics.observe(request('new', T0 + 5n * S, '/b')); // 'old' waited 5 s > 1 s
    assert.deepEqual(
      exchanges.map((e) => [e.id, e.status]),
      [['old', undefined]],
    );
    analytics.observe(request('c', T0 + 5n * S, '/c'));
    analytics.observe(request('d', T0 + 5n * S, '/d')); // three waiting > maxPending 2: 'new' evicted
    assert.equal(exchanges[1]!.id, 'new');
    analytics.finish();
    assert.equal(exchanges.length, 4);
    assert.equal(analytics.snapshot().accounting.no_response, 4);
    assert.equal(analytics.snapshot().totals.no_response, 4);
  });

  it('a replayed response (type 3) wins over the original when preferred; a response without request is kept', () => {
    const { analytics, exchanges } = collect({ preferReplayed: true });
    analytics.observe(request('r', T0, '/p'));
    analytics.observe(response('r', T0 + S, 200, 'original-body'));
    analytics.observe(response('r', T0 + 2n * S, 500, 'x', '3', 7_000_000n));
    analytics.observe(response('ghost', T0, 200, 'who'));
    analytics.observe(request('o', T0, '/q'));
    analytics.observe(response('o', T0, 200, 'only original'));
    analytics.finish();
    const byId = Object.fromEntries(exchanges.map((e) => [e.id, e]));
    assert.equal(byId.r!.source, 'replayed');
    assert.equal(byId.r!.status, 500);
    assert.equal(byId.r!.latencyNs, 7_000_000n);
    assert.equal(byId.o!.source, 'original');
    assert.equal(byId.ghost!.route, '(no request)');
    const a = analytics.snapshot().accounting;
    assert.equal(a.original_responses_replaced, 1);
    assert.equal(a.responses_without_request, 1);
  });

  for (const engine of ['native', 'js'] as const) {
    it(`messages marked incomplete=REASON (capture, --output-http-response-buffer) are counted (${engine} core)`, () => {
      // Messages as a live run passes them (Meta objects, not .gor records): their extra fields say the mark.
      const analytics = createAnalytics({ timeBase: 'input', ...(engine === 'js' ? { engine } : {}) });
      const mark = (m: Message, reason: string): Message => ({
        meta: makeMeta({ ...m.meta, latencyNs: m.meta.latencyNs ?? 0n, extra: [`incomplete=${reason}`] }),
        data: m.data,
      });
      analytics.observe(mark(request('a', T0, '/a'), 'max-size'));
      analytics.observe(mark(response('a', T0 + S, 200, 'cut'), 'gap'));
      analytics.observe(request('b', T0, '/b'));
      analytics.observe(mark(response('b', T0 + S, 200, 'cut', '3'), 'response-buffer'));
      analytics.observe(request('c', T0, '/c'));
      analytics.observe(response('c', T0 + S, 200, 'whole'));
      analytics.finish();
      const a = analytics.snapshot().accounting;
      assert.equal(a.marked_incomplete, 2);
      assert.equal(a.replayed_responses_cut, 1);
    });
  }

  for (const engine of ['native', 'js'] as const) {
    it(`a replayed answer written before the original: the original is replaced, not a duplicate (${engine} core)`, () => {
      // A replay with --output-http-track-response writes the type 3 when the target answers and the type 2 when
      // the input reaches it: either may come first in replayed.gor (README's CI recipe).
      const analytics = createAnalytics({
        timeBase: 'input',
        preferReplayed: true,
        ...(engine === 'js' ? { engine } : {}),
      });
      analytics.observe(request('r', T0, '/p'));
      analytics.observe(response('r', T0 + 2n * S, 500, 'replayed', '3', 7_000_000n));
      analytics.observe(response('r', T0 + S, 200, 'the original body, longer'));
      analytics.finish();
      const s = analytics.snapshot();
      assert.equal(s.accounting.original_responses_replaced, 1);
      assert.equal(s.accounting.duplicate_responses, 0);
      assert.deepEqual(
        s.routes.map((r) => r.route),
        ['/p'],
        'no (no request) route holding the original',
      );
      assert.equal(s.routes[0]!.response_body_bytes, 'replayed'.length);
    });
  }

  for (const engine of ['native', 'js'] as const) {
    it(`a response without request counts its bytes, not as a request (${engine} core)`, () => {
      const analytics = createAnalytics({ timeBase: 'input', ...(engine === 'js' ? { engine } : {}) });
      analytics.observe(response('ghost', T0, 200, 'who'));
      analytics.observe(request('a', T0 + S, '/users/1'));
      analytics.observe(response('a', T0 + 2n * S, 200, 'ok'));
      analytics.finish();
      const snap = analytics.snapshot();
      assert.equal(snap.total_requests, 1, 'one request was seen');
      assert.equal(snap.totals.responses, 2);
      const ghost = snap.routes.find((r) => r.route === '(no request)')!;
      assert.equal(ghost.requests, 0);
      assert.equal(ghost.responses, 1);
      assert.ok(ghost.total_bytes > 0, 'its bytes are counted');
      assert.equal(
        snap.series.requests.reduce((a, b) => a + b, 0),
        1,
        'the per-second request counts agree',
      );
    });
  }

  it('hostile URLs: routes past the limit land in (other), counted, memory flat', () => {
    const { analytics } = collect({ routeLimit: 50 });
    for (let i = 0; i < 2000; i++) analytics.observe(request(`i${i}`, T0, `/w${i.toString(36)}x/page`));
    analytics.finish();
    const s = analytics.snapshot();
    assert.equal(s.routes.length, 51);
    assert.equal(s.routes_overflowed, 1950);
    assert.equal(s.routes.find((r) => r.route === OVERFLOW_ROUTE)!.requests, 1950);
    assert.equal(s.total_requests, 2000);
  });

  it('the bandwidth series keeps a bounded number of slots', () => {
    const { analytics } = collect({ seriesSlots: 10 });
    for (let i = 0n; i < 100n; i++) analytics.observe(request(`s${i}`, T0 + i * S, '/s'));
    analytics.finish();
    const series = analytics.snapshot().series;
    assert.ok(series.bytes.length <= 10);
    assert.equal(
      series.requests.reduce((a, b) => a + b, 0),
      100,
    );
    assert.ok(series.slot_ms >= 10_000);
  });

  it('window(ms) sums only the exchanges of the last interval', async () => {
    let now = 1_000_000;
    const analytics = createAnalytics({ now: () => now, maxWindowMs: 60_000 });
    analytics.observe(request('a', T0, '/a'));
    analytics.observe(response('a', T0, 200, 'x'));
    // Time passes between event-loop turns (the native tracker reads the clock once per turn's batch).
    await new Promise<void>((resolve) => setImmediate(resolve));
    now += 30_000;
    analytics.observe(request('b', T0, '/b'));
    analytics.observe(response('b', T0, 200, 'y'));
    assert.equal(analytics.window(10_000).total_requests, 1);
    assert.equal(analytics.window(60_000).total_requests, 2);
    assert.equal(analytics.snapshot().total_requests, 2);
  });
});

describe('snapshot() is pure', () => {
  it('gives every reader the same bandwidth over the last rate window, however often it is called', () => {
    let now = 1_000_000;
    const analytics = createAnalytics({ now: () => now, rateWindowMs: 5000 });
    now += 10_000; // the run has lasted 10 s with no traffic
    analytics.observe(request('a', T0, '/a'));
    analytics.observe(response('a', T0, 200, 'x'.repeat(1000)));
    const bytes = analytics.snapshot().total_bytes;
    now += 4_000;
    const first = analytics.snapshot(); // e.g. a Prometheus scrape
    const again = analytics.snapshot(); // the --stats line right after: used to see a 0-length interval
    assert.equal(first.bandwidth_bytes_per_s, again.bandwidth_bytes_per_s);
    assert.deepEqual(first, again);
    // The window runs from the start of the slot 5 s back (second 9) to now (second 14): 5 s.
    assert.equal(first.bandwidth_bytes_per_s, Math.round((bytes / 5) * 10) / 10);
    now += 10_000; // nothing new for 10 s: the bytes have left the window
    assert.equal(analytics.snapshot().bandwidth_bytes_per_s, 0);
    assert.equal(analytics.snapshot().total_bytes, bytes);
  });
});

describe('budgets', () => {
  const { analytics } = collect();
  analytics.observe(request('big', T0, '/videos/1'));
  analytics.observe(response('big', T0 + S, 200, 'v'.repeat(10_000)));
  analytics.observe(request('small', T0, '/health'));
  analytics.observe(response('small', T0 + S / 1000n, 200, 'ok'));
  analytics.finish();
  const s = analytics.snapshot();

  it('names the routes that break each budget, and nothing when within', () => {
    const breaches = evaluateBudgets(s, { maxTotalBytes: 1000, maxRouteBytes: 5000, maxShare: 0.5, maxLatencyMs: 100 });
    assert.deepEqual(
      breaches.map((b) => `${b.budget} ${b.route}`),
      ['max-total *', 'max-route /videos/:id', 'max-share /videos/:id', 'max-latency /videos/:id'],
    );
    assert.match(breaches[1]!.message, /^max-route: \/videos\/:id .* > 4\.88 KiB$/);
    assert.deepEqual(
      evaluateBudgets(s, { maxTotalBytes: 1e6, maxRouteBytes: 1e6, maxShare: 0.99, maxLatencyMs: 5000 }),
      [],
    );
    assert.deepEqual(evaluateBudgets(s, {}), []);
  });

  it('parses shares as percentages', () => {
    assert.equal(parseShare('30%', '--max-share'), 0.3);
    assert.equal(parseShare('12.5', '--max-share'), 0.125);
    assert.throws(() => parseShare('0', '--max-share'), /percentage/);
    assert.throws(() => parseShare('150%', '--max-share'), /percentage/);
    // Half, or half a percent? A bare number below 1 must say which.
    assert.throws(
      () => parseShare('0.5', '--max-share'),
      /"0\.5" could be a fraction \(50%\) or a percentage \(0\.5%\): write 50% or 0\.5%/,
    );
    assert.equal(parseShare('0.5%', '--max-share'), 0.005);
    assert.throws(() => parseShare('0.07', '--max-share'), /write 7% or 0\.07%/);
    assert.equal(parseShare('1', '--max-share'), 0.01);
  });
});
