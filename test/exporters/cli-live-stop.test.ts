/**
 * Ctrl-C on a live run whose alert webhook and InfluxDB are one receiver that never answers (a real node:net
 * server on 127.0.0.1 that reads and says nothing), with a short --alert-window.
 *
 * Two defects showed here. The consumers were closed one after another (InfluxDB's write in flight and then its
 * final write, 5 s each, then the webhook's), so the exit took ~14 s. And the alerts went on judging the window
 * while the run flushed: with the input stopped the window emptied and every alert "resolved", so the summary
 * said "0 still active" above a verdict of "1 broken", and the resolution was posted, holding the exit for
 * another timeout. And the run exited 0 though neither the alert nor InfluxDB's data was delivered: it exits 1,
 * an error line for each, as for an output that did not deliver what it took.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { it } from 'node:test';
import { collect, startTapline, waitForStderr } from '../support/cli.js';
import { freePort } from './external-servers.js';

/** Runs `body` with the base URL of a receiver that reads and never answers; closes it after. */
async function withSilentReceiver(body: (base: string) => Promise<void>): Promise<void> {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    await body(`http://127.0.0.1:${(silent.address() as { port: number }).port}`);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
}

it('SIGINT with a receiver that never answers: consumers stop side by side, alerts stay as judged, each loss said once', async () => {
  await withSilentReceiver(async (base) => {
    const child = startTapline([
      '--input-dummy',
      'x',
      '--output-null',
      '--max-total',
      '1', // one exchange (130 B) breaks it
      '--alert-window',
      '2s', // the dummy sends one a second: never empty while it runs
      '--alert-webhook',
      `${base}/hook`,
      '--output-influxdb',
      `${base}?db=x`,
      '--output-influxdb-interval',
      '1s',
      '--stats',
      '--stats-interval',
      '1h',
    ]);
    const done = collect(child, 40_000);
    await waitForStderr(child, /tapline: alert: max-total: /, 15_000);
    const signalled = performance.now();
    child.kill('SIGINT');
    const res = await done;
    const tookMs = performance.now() - signalled;

    // Neither the alert nor the run's InfluxDB data arrived: said as errors, exit 1 (it was 0, as if delivered).
    assert.equal(res.code, 1, res.stderr);
    assert.match(
      res.stderr,
      /\ntapline: error: alert-webhook: 1 alert event\(s\) not delivered to http:\/\/127\.0\.0\.1:\d+\/hook \(1 failed; 0 posted\)\n/,
    );
    assert.match(
      res.stderr,
      /\ntapline: error: output-influxdb: database x does not hold all of the run's data: (\d+ of \d+ writes failed, )?the final write's \d+ points? \(the run's last totals\) not written\n/,
    );
    const afterStop = res.stderr.slice(res.stderr.indexOf('SIGINT: stopping'));
    assert.doesNotMatch(afterStop, /alert resolved/, 'the emptying window is not judged once the input stopped');
    assert.match(res.stderr, /alerts: 1 fired, 0 resolved, 1 still active; webhook: 0 posted, 1 failed, 0 dropped/);
    assert.match(res.stderr, /budgets over the whole run .*: 1 broken/);
    // Said once: the final InfluxDB write that did not arrive, with its points.
    const finalLines = res.stderr.match(/output-influxdb: the final write (was not made|to \S+ failed)[^\n]*/g) ?? [];
    assert.equal(finalLines.length, 1, res.stderr);
    assert.match(finalLines[0]!, /no answer|did not answer/);
    assert.match(finalLines[0]!, /; \d+ points \(the run's last totals\) not written$/);
    assert.match(
      res.stderr,
      /output-influxdb: 0 writes \(0 points\) to database x, \d+ failed, final write not written/,
    );

    // --stats carries the consumers' counters.
    const stats = JSON.parse(res.stderr.split('\n').find((l) => l.startsWith('{"elapsed_s"'))!) as {
      exporters: { alerts: { active: number; resolved: number }; influxdb: { points_not_written: number } };
    };
    assert.equal(stats.exporters.alerts.active, 1);
    assert.equal(stats.exporters.alerts.resolved, 0);
    assert.ok(stats.exporters.influxdb.points_not_written > 0);

    // Each consumer within its own 5 s bound, side by side: ~5 s. One after another it was 10–15 s.
    assert.ok(tookMs < 9000, `exit took ${Math.round(tookMs)} ms after SIGINT`);
  });
});

it('a second SIGINT while the consumers close leaves at once with exit 130 and the summary as it stands', async () => {
  // The signal handlers were removed when the pipeline had flushed, before the consumers' close (up to 5 s with
  // a receiver that never answers): a second Ctrl-C there killed tapline by the signal, with no summary at all.
  await withSilentReceiver(async (base) => {
    const child = startTapline([
      ...['--input-dummy', 'x', '--output-null', '--max-total', '1', '--alert-window', '2s'],
      ...['--alert-webhook', `${base}/hook`, '--output-influxdb', `${base}?db=x`],
    ]);
    const done = collect(child, 40_000);
    await waitForStderr(child, /tapline: alert: max-total: /, 15_000);
    child.kill('SIGINT');
    await waitForStderr(child, /SIGINT: stopping/, 10_000);
    // --output-null flushes at once; the consumers then wait for the receiver (5 s): the second signal lands
    // there (more than half a second later, or it is taken as the same Ctrl-C delivered twice).
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const res = await done;
    assert.deepEqual([res.code, res.signal], [130, null], res.stderr);
    assert.match(res.stderr, /SIGINT again: exiting without waiting for outputs to flush/);
    assert.match(res.stderr, /tapline: stopped after [\d.]+s: \d+ messages/);
    assert.match(res.stderr, /\n {2}alerts: 1 fired, 0 resolved, 1 still active; webhook: /);
    assert.match(res.stderr, /\n {2}output-influxdb: /);
  });
});

it("a run with nothing to report loses its InfluxDB write of one point: said as '1 point', not '1 points'", async () => {
  const closed = await freePort(); // nothing listens there: the write is refused at once
  const res = await collect(
    startTapline([
      ...['--input-dummy', '0', '--output-null', '--exit-after', '300ms'],
      ...['--output-influxdb', `http://127.0.0.1:${closed}?db=x`, '--output-influxdb-interval', '1h'],
    ]),
    40_000,
  );
  assert.equal(res.code, 1, res.stderr);
  assert.match(
    res.stderr,
    /\ntapline: error: output-influxdb: database x does not hold all of the run's data: 1 of 1 writes failed, the final write's 1 point \(the run's last totals\) not written\n/,
  );
  assert.match(
    res.stderr,
    /output-influxdb: 0 writes \(0 points\) to database x, 1 failed, final write not written \(1 point\)/,
  );
});
