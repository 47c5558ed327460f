/**
 * Live alerts: budgets judged over the window fire and resolve once each, print a line, and reach a real
 * local HTTP server as JSON webhooks; a dead receiver is counted, never fatal.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { describe, it } from 'node:test';
import { type AlertEvent, AlertMonitor, MAX_HELD } from '../../src/analytics/export/alerts.js';
import type { Exchange } from '../../src/analytics/types.js';
import { createLogger } from '../../src/core/log.js';
import { makeCertificate } from '../support/tls.js';
import { endless, freePort, pollUntil } from './external-servers.js';
import { exchange, snapshotOf } from './fixed-feed.js';

async function webhookReceiver(status = 200) {
  const received: { body: AlertEvent; contentType: string | undefined }[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({ body: JSON.parse(Buffer.concat(chunks).toString()), contentType: req.headers['content-type'] });
    res.writeHead(status).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/tapline`;
  return { received, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('alerts over a sliding window', () => {
  it('fires once while a budget is broken, resolves when it is not, and POSTs both to the webhook', async () => {
    const hook = await webhookReceiver();
    const lines: string[] = [];
    let traffic: Exchange[] = [];
    const asked: number[] = [];
    let clock = Date.parse('2026-11-23T15:06:49.000Z');
    const monitor = new AlertMonitor({
      window: (ms) => {
        asked.push(ms);
        return snapshotOf(traffic);
      },
      budgets: { maxRouteBytes: 10_000, maxLatencyMs: 100 },
      windowMs: 30_000,
      log: createLogger({ write: (l) => lines.push(l) }),
      webhook: hook.url,
      now: () => clock,
    });
    try {
      assert.deepEqual(monitor.check(), []);
      traffic = Array.from({ length: 12 }, () => exchange({ route: '/videos/:id', responseBodyBytes: 1000 }));
      traffic.push(exchange({ route: '/slow', latencyNs: 900_000_000n }));
      const fired = monitor.check();
      assert.deepEqual(
        fired.map((e) => [e.state, e.budget, e.route]),
        [
          ['firing', 'max-route', '/videos/:id'],
          ['firing', 'max-latency', '/slow'],
        ],
      );
      assert.deepEqual(monitor.check(), [], 'still broken: no new event');
      assert.equal(monitor.active().length, 2);
      assert.match(lines[0]!, /^tapline: alert: max-route: \/videos\/:id .* \(over the last 30s\)$/);

      traffic = traffic.filter((e) => e.route === '/slow');
      clock += 29_000;
      assert.deepEqual(monitor.check(), [], 'within the budget for 29 s: still firing');
      clock += 1_000;
      const resolved = monitor.check();
      assert.deepEqual(
        resolved.map((e) => [e.state, e.budget, e.route]),
        [['resolved', 'max-route', '/videos/:id']],
      );
      assert.equal(
        lines[2],
        'tapline: alert resolved: max-route: was /videos/:id 14.6 KiB > 9.77 KiB (over the last 30s; within the budget for 30s; firing since 15:06:49 UTC)',
      );
      assert.deepEqual(asked, [30_000, 30_000, 30_000, 30_000, 30_000]);

      await monitor.close();
      await pollUntil('3 webhooks', async () => (hook.received.length === 3 ? true : undefined), 5000);
      assert.deepEqual(
        hook.received.map((r) => [r.body.state, r.body.budget, r.body.route, r.contentType]),
        [
          ['firing', 'max-route', '/videos/:id', 'application/json'],
          ['firing', 'max-latency', '/slow', 'application/json'],
          ['resolved', 'max-route', '/videos/:id', 'application/json'],
        ],
      );
      const first = hook.received[0]!.body;
      assert.equal(first.value, 12 * (100 + 150 + 1000));
      assert.equal(first.limit, 10_000);
      assert.equal(first.window_s, 30);
      assert.equal(first.at, '2026-11-23T15:06:49.000Z');
      assert.equal(first.started_at, first.at);
      const last = hook.received[2]!.body;
      assert.deepEqual([last.started_at, last.at], ['2026-11-23T15:06:49.000Z', '2026-11-23T15:07:19.000Z']);
      assert.deepEqual(monitor.stats(), {
        fired: 2,
        resolved: 1,
        active: 1,
        webhook_posts: 3,
        webhook_failures: 0,
        webhook_dropped: 0,
      });
    } finally {
      await hook.close();
    }
  });

  /**
   * A monitor on a clock of its own (starting 2026-11-23T15:00:00Z) posting to a real receiver; `body` advances
   * the clock and checks. The receiver is closed after.
   */
  async function onClock(
    window: () => ReturnType<typeof snapshotOf>,
    budgets: ConstructorParameters<typeof AlertMonitor>[0]['budgets'],
    windowMs: number,
    body: (run: {
      monitor: AlertMonitor;
      lines: string[];
      received: () => string[];
      checkAfter: (ms: number) => AlertEvent[];
    }) => Promise<void>,
  ): Promise<void> {
    const hook = await webhookReceiver();
    const lines: string[] = [];
    let clock = Date.parse('2026-11-23T15:00:00.000Z');
    const monitor = new AlertMonitor({
      window,
      budgets,
      windowMs,
      log: createLogger({ write: (l) => lines.push(l) }),
      webhook: hook.url,
      now: () => clock,
    });
    const checkAfter = (ms: number) => {
      const events = monitor.check();
      clock += ms;
      return events;
    };
    try {
      await body({ monitor, lines, received: () => hook.received.map((r) => r.body.state), checkAfter });
    } finally {
      await hook.close();
    }
  }

  it('a budget hovering at its limit is one alert: it resolves once held 30 s, and the webhook gets one firing and one resolved', async () => {
    // Broken at every other check, 1 s apart, for 20 s (a route's bytes around its limit): each check fired or
    // resolved, a line and a POST every second.
    let broken = true;
    const traffic = () => snapshotOf(broken ? [exchange({ route: '/videos/:id', responseBodyBytes: 20_000 })] : []);
    await onClock(traffic, { maxRouteBytes: 10_000 }, 1000, async ({ monitor, lines, received, checkAfter }) => {
      const events: AlertEvent[] = [];
      for (let i = 0; i < 20; i++, broken = !broken) events.push(...checkAfter(1000));
      assert.deepEqual(
        events.map((e) => e.state),
        ['firing'],
        lines.join('\n'),
      );
      broken = false;
      for (let i = 0; i < 40 && monitor.active().length > 0; i++) events.push(...checkAfter(1000));
      assert.deepEqual(
        events.map((e) => [e.state, e.started_at, e.at]),
        [
          ['firing', '2026-11-23T15:00:00.000Z', '2026-11-23T15:00:00.000Z'],
          // last broken at 15:00:18 (the 19th check); held from then for 30 s
          ['resolved', '2026-11-23T15:00:00.000Z', '2026-11-23T15:00:48.000Z'],
        ],
      );
      assert.equal(lines.length, 2, lines.join('\n'));
      await monitor.close();
      assert.deepEqual(received(), ['firing', 'resolved']);
      assert.deepEqual([monitor.stats().fired, monitor.stats().resolved], [1, 1]);
    });
  });

  it('an alert that stays firing is said again once an hour (line and webhook), not at each check', async () => {
    const traffic = () => snapshotOf([exchange({ route: '/big', responseBodyBytes: 5000 })]);
    await onClock(traffic, { maxTotalBytes: 1000 }, 60_000, async ({ monitor, lines, received, checkAfter }) => {
      const events: AlertEvent[] = [];
      // Two and a half hours of checks, a minute apart (the same as every second, for what is said).
      for (let i = 0; i <= 150; i++) events.push(...checkAfter(60_000));
      assert.deepEqual(
        events.map((e) => [e.state, e.started_at, e.at]),
        [
          ['firing', '2026-11-23T15:00:00.000Z', '2026-11-23T15:00:00.000Z'],
          ['firing', '2026-11-23T15:00:00.000Z', '2026-11-23T16:00:00.000Z'],
          ['firing', '2026-11-23T15:00:00.000Z', '2026-11-23T17:00:00.000Z'],
        ],
      );
      assert.match(lines[0]!, /^tapline: alert: max-total: all routes /);
      assert.match(
        lines[1]!,
        /^tapline: alert still firing: max-total: all routes .* \(over the last 1m; since 15:00:00 UTC\)$/,
      );
      assert.equal(lines.length, 3, lines.join('\n'));
      assert.equal(monitor.recent().length, 1, 'a reminder is not a change: the dashboard lists the alert once');
      await monitor.close();
      assert.deepEqual(received(), ['firing', 'firing', 'firing']);
      assert.deepEqual([monitor.stats().fired, monitor.stats().active], [1, 1]);
    });
  });

  it('a check where 25 budgets break at once prints 10 alert lines and one line for the rest', async () => {
    // Every route's p95 past --max-latency at once (a slow backend): a line per route, 1,001 in one second.
    const lines: string[] = [];
    const monitor = new AlertMonitor({
      window: () =>
        snapshotOf(Array.from({ length: 25 }, (_, i) => exchange({ route: `/r${i}`, latencyNs: 900_000_000n }))),
      budgets: { maxLatencyMs: 100 },
      windowMs: 60_000,
      log: createLogger({ write: (l) => lines.push(l) }),
    });
    assert.equal(monitor.check().length, 25);
    assert.equal(lines.length, 11, lines.join('\n'));
    for (const l of lines.slice(0, 10)) assert.match(l, /^tapline: alert: max-latency: \/r\d+ /);
    assert.equal(
      lines[10],
      'tapline: alert: 15 more at this check, not printed (15 fired; 15 max-latency): each is on the dashboard and sent to --alert-webhook, and counted in the summary',
    );
    assert.equal(monitor.recent().length, 25, 'the dashboard gets each');
    assert.equal(monitor.stats().fired, 25);
  });

  it('routes that come and go keep at most 1,000 alerts held: the longest held resolve first', async () => {
    // 600 new routes break the budget at each check (paths no --route names, past the route limit's churn):
    // each held its alert for 30 s, 2,001 alerts after 8 s of such traffic.
    let clock = Date.parse('2026-11-23T15:00:00.000Z');
    let round = 0;
    const monitor = new AlertMonitor({
      window: () =>
        snapshotOf(
          Array.from({ length: 600 }, (_, i) => exchange({ route: `/c${round}/${i}`, responseBodyBytes: 5000 })),
        ),
      budgets: { maxRouteBytes: 1000 },
      windowMs: 1000,
      log: createLogger({ write: () => {} }),
      now: () => clock,
    });
    const events: AlertEvent[] = [];
    for (; round < 3; round++, clock += 1000) events.push(...monitor.check());
    assert.equal(monitor.active().length, 600 + MAX_HELD);
    const resolved = events.filter((e) => e.state === 'resolved');
    assert.equal(resolved.length, 200);
    assert.ok(
      resolved.every((e) => e.route.startsWith('/c0/')),
      'those of the first check: held longest',
    );
  });

  it('a webhook that is down or answers 500 is counted and warned about', async () => {
    const hook = await webhookReceiver(500);
    const deadUrl = `http://127.0.0.1:${await freePort()}/`;
    const lines: string[] = [];
    try {
      for (const url of [hook.url, deadUrl]) {
        const monitor = new AlertMonitor({
          window: () => snapshotOf([exchange({ route: '/big', responseBodyBytes: 5000 })]),
          budgets: { maxTotalBytes: 1000 },
          windowMs: 60_000,
          log: createLogger({ write: (l) => lines.push(l) }),
          webhook: url,
        });
        assert.equal(monitor.check().length, 1);
        await monitor.close();
        const stats = monitor.stats();
        assert.equal(stats.webhook_failures, 1);
        assert.equal(stats.webhook_posts, 0);
      }
      assert.ok(
        lines.some((l) => /alert-webhook: POST to .* failed: answered 500/.test(l)),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((l) => /alert-webhook: POST to .* failed: fetch failed: .*ECONNREFUSED/.test(l)),
        lines.join('\n'),
      );
      assert.ok(lines.some((l) => /over the last 1m/.test(l)));
    } finally {
      await hook.close();
    }
  });

  it('bounds the webhook queue: events past it are dropped, counted and said once', async () => {
    let n = 0;
    let checking = true;
    const lines: string[] = [];
    const monitor = new AlertMonitor({
      // A new route breaks the budget at every check: one new firing event each time (close()'s last look sees
      // the last one again, firing already).
      window: () => snapshotOf([exchange({ route: `/r${checking ? n++ : n - 1}`, responseBodyBytes: 5000 })]),
      budgets: { maxRouteBytes: 1000 },
      windowMs: 1000,
      log: createLogger({ write: (l) => lines.push(l) }),
      webhook: `http://127.0.0.1:${await freePort()}/`,
      queueLimit: 2,
      resolveAfterMs: 0,
    });
    for (let i = 0; i < 6; i++) monitor.check();
    checking = false;
    await monitor.close();
    const s = monitor.stats();
    assert.equal(s.webhook_dropped + s.webhook_failures, 11, JSON.stringify(s)); // 6 firing + 5 resolved
    assert.ok(s.webhook_dropped > 0);
    // Said as it starts, once: the drops were told only by the summary at exit.
    const said = lines.filter((l) => /alert-webhook: 2 alert events wait for .* already; more are dropped/.test(l));
    assert.equal(said.length, 1, lines.join('\n'));
  });
});

describe('alert webhooks that redirect or never answer', () => {
  /** A receiver that answers each POST by `answer` and records what reached it (method, path, body). */
  async function receiver(answer: (path: string, res: import('node:http').ServerResponse) => void) {
    const seen: { method: string; path: string; body: string; auth: string | undefined }[] = [];
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method!, path: req.url!, body, auth: req.headers.authorization });
      answer(req.url!, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const close = () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    return { seen, base, close };
  }

  function oneAlert(webhook: string, lines: string[], extra: { webhookTimeoutMs?: number } = {}) {
    return new AlertMonitor({
      window: () => snapshotOf([exchange({ route: '/big', responseBodyBytes: 5000 })]),
      budgets: { maxTotalBytes: 1000 },
      windowMs: 60_000,
      log: createLogger({ write: (l) => lines.push(l) }),
      webhook,
      ...extra,
    });
  }

  it('a 302 is not followed as a GET without the alert: the POST fails naming the new address; a 307 is followed', async () => {
    const hook = await receiver((path, res) => {
      if (path === '/moved') res.writeHead(302, { location: '/elsewhere' }).end();
      else if (path === '/kept') res.writeHead(307, { location: '/final' }).end();
      else res.writeHead(200).end();
    });
    const lines: string[] = [];
    try {
      const moved = oneAlert(`${hook.base}/moved`, lines);
      moved.check();
      await moved.close();
      assert.equal(moved.stats().webhook_posts, 0, 'the alert did not arrive: not counted as posted');
      assert.equal(moved.stats().webhook_failures, 1);
      assert.match(moved.stats().last_error ?? '', /answered 302, a redirect to http:\/\/127\.0\.0\.1:\d+\/elsewhere/);
      assert.deepEqual(
        hook.seen.map((s) => [s.method, s.path]),
        [['POST', '/moved']],
      );

      const kept = oneAlert(`${hook.base}/kept`, lines);
      kept.check();
      await kept.close();
      assert.equal(kept.stats().webhook_posts, 1, kept.stats().last_error);
      const final = hook.seen.at(-1)!;
      assert.deepEqual([final.method, final.path], ['POST', '/final']);
      assert.equal(JSON.parse(final.body).budget, 'max-total');
    } finally {
      await hook.close();
    }
  });

  it('a redirect to another scheme, or to no address at all, fails naming the redirect and where it points', async () => {
    // Followed as they came: 'fetch failed: unknown scheme' and 'Invalid URL', no word of a redirect.
    const hook = await receiver((path, res) => {
      if (path === '/ftp') res.writeHead(307, { location: 'ftp://files.example/drop' }).end();
      else res.writeHead(308, { location: 'http://[bad' }).end();
    });
    const lines: string[] = [];
    try {
      const errors: string[] = [];
      for (const path of ['/ftp', '/bad']) {
        const monitor = oneAlert(`${hook.base}${path}`, lines);
        monitor.check();
        await monitor.close();
        assert.equal(monitor.stats().webhook_failures, 1);
        errors.push(monitor.stats().last_error ?? '');
      }
      assert.deepEqual(errors, [
        'answered 307, a redirect to ftp://files.example/drop, which is not an http(s) address: not followed',
        'answered 308, a redirect to "http://[bad", which is not an address',
      ]);
      assert.deepEqual(
        hook.seen.map((s) => s.path),
        ['/ftp', '/bad'],
      );
    } finally {
      await hook.close();
    }
  });

  it('a user and password in the URL are sent as Basic authentication (fetch refused the URL), never printed', async () => {
    const other = await receiver((_path, res) => res.writeHead(500).end()); // another origin (its own port)
    const hook = await receiver((path, res) => {
      if (path === '/away') res.writeHead(307, { location: `${other.base}/there` }).end();
      else res.writeHead(200).end();
    });
    const lines: string[] = [];
    try {
      const withUser = hook.base.replace('http://', 'http://bob:s%3Acret@');
      const ok = oneAlert(`${withUser}/hook`, lines);
      ok.check();
      await ok.close();
      assert.equal(ok.stats().webhook_posts, 1, ok.stats().last_error);
      const away = oneAlert(`${withUser}/away`, lines);
      away.check();
      await away.close();
      const basic = `Basic ${Buffer.from('bob:s:cret').toString('base64')}`;
      assert.deepEqual(
        hook.seen.map((s) => [s.path, s.auth]),
        [
          ['/hook', basic],
          ['/away', basic],
        ],
      );
      // The redirect to another origin does not carry the credentials.
      assert.deepEqual(
        other.seen.map((s) => [s.path, s.auth]),
        [['/there', undefined]],
      );
      assert.equal(away.stats().webhook_failures, 1);
      assert.ok(lines.some((l) => /POST to http:\/\/bob:\*\*\*@127\.0\.0\.1:\d+\/away failed: answered 500/.test(l)));
      assert.ok(!lines.some((l) => l.includes('cret')), lines.join('\n'));
    } finally {
      await hook.close();
      await other.close();
    }
  });

  it('https:// to a receiver without TLS, or with a certificate not trusted: said in words, on one line', async () => {
    // The first said OpenSSL's text with its source path and a newline ('…:SSL routines:ssl3_get_record:wrong
    // version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n'), splitting the warning and summary.
    const plain = await receiver((_path, res) => res.writeHead(200).end());
    const certificate = makeCertificate();
    const tls = createHttpsServer(
      { cert: readFileSync(certificate.cert), key: readFileSync(certificate.key) },
      (_q, r) => r.end(),
    );
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    const lines: string[] = [];
    try {
      for (const url of [
        plain.base.replace('http://', 'https://'),
        `https://127.0.0.1:${(tls.address() as { port: number }).port}`,
      ]) {
        const monitor = oneAlert(`${url}/hook`, lines);
        monitor.check();
        await monitor.close();
        assert.equal(monitor.stats().webhook_failures, 1);
      }
      const failed = lines.filter((l) => l.includes('failed: '));
      assert.equal(failed.length, 2, lines.join('\n'));
      assert.match(
        failed[0]!,
        /failed: the receiver does not speak TLS \(an https:\/\/ URL for a plain HTTP port\? give http:\/\/\)$/,
      );
      assert.match(
        failed[1]!,
        /failed: the receiver's TLS certificate was refused: self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\); trust its CA with NODE_EXTRA_CA_CERTS$/,
      );
      assert.ok(!lines.some((l) => /openssl|\n/.test(l)), lines.join('\n'));
    } finally {
      await plain.close();
      await new Promise<void>((r) => tls.close(() => r()));
      rmSync(certificate.dir, { recursive: true, force: true });
    }
  });

  it('a receiver that answers 200 and then streams a body without end: posted, at once, without reading the body', async () => {
    // The body was read whole: memory grew by the receiver's speed (1.7 GiB in 4 s) until the POST's timeout,
    // which then called the alert failed: "no answer within 5000 ms".
    const hook = await receiver((_path, res) => endless(res));
    const lines: string[] = [];
    try {
      const monitor = oneAlert(`${hook.base}/hook`, lines, { webhookTimeoutMs: 2000 });
      monitor.check();
      await monitor.close();
      assert.deepEqual(
        [monitor.stats().webhook_posts, monitor.stats().webhook_failures],
        [1, 0],
        monitor.stats().last_error,
      );
    } finally {
      await hook.close();
    }
  });

  /** A monitor with 39 webhook events waiting (a new route breaks the budget at each of 20 checks). */
  function queuedAtClose(webhook: string, lines: string[], webhookTimeoutMs: number): AlertMonitor {
    let n = 0;
    let checking = true;
    const monitor = new AlertMonitor({
      // close()'s last look sees the last route again, firing already: no new event.
      window: () => snapshotOf([exchange({ route: `/r${checking ? n++ : n - 1}`, responseBodyBytes: 5000 })]),
      budgets: { maxRouteBytes: 1000 },
      windowMs: 1000,
      log: createLogger({ write: (l) => lines.push(l) }),
      webhook,
      webhookTimeoutMs,
      resolveAfterMs: 0,
    });
    for (let i = 0; i < 20; i++) monitor.check(); // 20 firing + 19 resolved: 39 events
    checking = false;
    return monitor;
  }

  it('at exit, a receiver that never answers costs one timeout, not one per queued alert: the rest are dropped and counted', async () => {
    const hook = await receiver(() => {}); // never answers
    const lines: string[] = [];
    const monitor = queuedAtClose(`${hook.base}/hook`, lines, 300);
    try {
      await monitor.close();
      const s = monitor.stats();
      assert.equal(s.webhook_failures, 1, JSON.stringify(s));
      assert.equal(s.webhook_dropped, 38, JSON.stringify(s));
      assert.ok(
        lines.some((l) => /alert-webhook: 38 alert\(s\) not sent: the run is ending/.test(l)),
        lines.join('\n'),
      );
      assert.equal(s.last_error, 'no answer within 300 ms', 'the timeout said in words, not as the AbortSignal');
    } finally {
      await hook.close();
    }
  });

  it('at exit, a receiver that answers slowly gets one timeout in all: what is still queued then is dropped, counted, said once', async () => {
    // 100 ms per answer, a 1 s timeout, 39 alerts queued at close(): one by one they took 3.9 s (and 100 of
    // them answered in 4.9 s each would have held the exit for 8 minutes).
    const hook = await receiver((_path, res) => {
      setTimeout(() => res.writeHead(200).end(), 100);
    });
    const lines: string[] = [];
    const monitor = queuedAtClose(`${hook.base}/hook`, lines, 1000);
    try {
      await monitor.close();
      const s = monitor.stats();
      assert.equal(s.webhook_failures, 0, JSON.stringify(s));
      assert.ok(s.webhook_posts >= 1 && s.webhook_dropped >= 1, JSON.stringify(s));
      assert.equal(s.webhook_posts + s.webhook_dropped, 39, JSON.stringify(s));
      const said = lines.filter((l) => /not sent/.test(l));
      assert.deepEqual(said.length, 1, lines.join('\n'));
      assert.match(
        said[0]!,
        new RegExp(
          `alert-webhook: ${s.webhook_dropped} alert\\(s\\) not sent: the run is ending and .* did not take them within 1000 ms of the stop$`,
        ),
      );
    } finally {
      await hook.close();
    }
  });

  it('a run that ends before the first check still fires: the window gets a last look when the inputs end and at close', async () => {
    const hook = await webhookReceiver();
    const lines: string[] = [];
    let traffic = [exchange({ route: '/big', responseBodyBytes: 5000 })];
    const monitor = new AlertMonitor({
      window: () => snapshotOf(traffic),
      budgets: { maxRouteBytes: 1000 },
      windowMs: 60_000,
      log: createLogger({ write: (l) => lines.push(l) }),
      webhook: hook.url,
    });
    try {
      monitor.start(3_600_000); // the timer never ticks in this test: only the last looks judge
      monitor.stopJudging();
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /^tapline: alert: max-route: \/big \S+ KiB > 1000 B \(over the last 1m\)$/);
      // Counted after the inputs ended (analytics' finish): the look at close fires it; none resolves.
      traffic = [
        exchange({ route: '/big', responseBodyBytes: 5000 }),
        exchange({ route: '/late', responseBodyBytes: 3000 }),
      ];
      await monitor.close();
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[1]!, /^tapline: alert: max-route: \/late /);
      assert.deepEqual(
        hook.received.map((r) => [r.body.state, r.body.route]),
        [
          ['firing', '/big'],
          ['firing', '/late'],
        ],
      );
      assert.deepEqual(monitor.stats(), {
        fired: 2,
        resolved: 0,
        active: 2,
        webhook_posts: 2,
        webhook_failures: 0,
        webhook_dropped: 0,
      });
    } finally {
      await hook.close();
    }
  });

  it('once the inputs have ended the window is not judged: an emptied window resolves nothing', async () => {
    let traffic = [exchange({ route: '/big', responseBodyBytes: 5000 })];
    const monitor = new AlertMonitor({
      window: () => snapshotOf(traffic),
      budgets: { maxTotalBytes: 1000 },
      windowMs: 1000,
      log: createLogger({ write: () => {} }),
    });
    assert.equal(monitor.check().length, 1);
    monitor.stopJudging();
    traffic = [];
    assert.deepEqual(monitor.check(), []);
    await monitor.close();
    assert.deepEqual(monitor.stats(), {
      fired: 1,
      resolved: 0,
      active: 1,
      webhook_posts: 0,
      webhook_failures: 0,
      webhook_dropped: 0,
    });
  });
});
