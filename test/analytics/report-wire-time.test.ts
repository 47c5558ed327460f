/**
 * When bytes count in time (the report's bandwidth series and its rate): a request's bytes at the request's
 * timestamp, a captured response's at its own, the span from the first byte to the last (the response's
 * timestamp plus its own capture duration, the 4th field). A replayed response (type 3: timed on the replay's
 * clock, not the recording's) counts at its request's time. Both trackers (JavaScript and the native core) and
 * the CLI.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createAnalytics } from '../../src/analytics/index.js';
import { statsAddon } from '../../src/analytics/stats-addon.js';
import type { AnalyticsSnapshot } from '../../src/analytics/types.js';
import { encodeRecord } from '../../src/core/gor-format.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { runTapline } from '../support/cli.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;
const T0_MS = 1_700_000_000_000;
const REQ = Buffer.from('GET /big HTTP/1.1\r\nHost: h\r\n\r\n'); // 31 B
const RES = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(1000)}`); // 1040 B

function msg(type: string, id: string, at: bigint, fourth: bigint, data: Buffer): Message {
  return { meta: makeMeta({ type, id, timestampNs: at, latencyNs: fourth }), data };
}

/**
 * A slow download: the request at T0, its answer's first byte 10 s later and its last 5 s after that (4th field);
 * a second request at T0 + 2 s answered by a replayed response timed a day later (the replay's clock), before
 * the first is: the series starts at the second's time and must grow in front for the first's request.
 */
const messages: Message[] = [
  msg('1', 'a', T0, 0n, REQ),
  msg('1', 'b', T0 + 2n * S, 0n, REQ),
  msg('3', 'b', T0 + 86_400n * S, 40_000_000n, RES),
  msg('2', 'a', T0 + 10n * S, 5n * S, RES),
];

const engines = statsAddon() === null ? (['js'] as const) : (['js', 'auto'] as const);

function check(s: Pick<AnalyticsSnapshot, 'elapsed_s' | 'total_bytes' | 'bandwidth_bytes_per_s' | 'series'>): void {
  assert.equal(s.total_bytes, 2 * (REQ.length + RES.length));
  assert.equal(s.series.start_ms, T0_MS);
  assert.equal(s.series.slot_ms, 1000);
  const bytes = new Array(11).fill(0);
  bytes[0] = REQ.length; // a's request
  bytes[2] = REQ.length + RES.length; // b's request and its replayed answer, at the request's time
  bytes[10] = RES.length; // a's answer, when its first byte was captured
  assert.deepEqual(s.series.bytes, bytes);
  const requests = new Array(11).fill(0);
  requests[0] = 1;
  requests[2] = 1;
  assert.deepEqual(s.series.requests, requests);
  assert.equal(s.elapsed_s, 15); // to a's last byte: 10 s + 5 s
  assert.equal(s.bandwidth_bytes_per_s, Math.round((s.total_bytes / 15) * 10) / 10);
}

describe('bytes counted when they were on the wire', () => {
  for (const engine of engines) {
    it(`a captured response counts at its own time, the span reaches its last byte (engine ${engine})`, () => {
      const analytics = createAnalytics({ timeBase: 'input', engine });
      for (const m of messages) analytics.observe({ meta: m.meta, data: Buffer.from(m.data) });
      analytics.finish();
      check(analytics.snapshot());
    });
  }

  for (const engine of engines) {
    it(`a time far before the series' first slot widens the slots, within the slot bound (engine ${engine})`, () => {
      const analytics = createAnalytics({ timeBase: 'input', engine });
      const early = [msg('1', 'x', T0, 0n, REQ), msg('2', 'x', T0, 0n, RES), msg('1', 'y', 1_000_000n, 0n, REQ)];
      for (const m of early) analytics.observe({ meta: m.meta, data: Buffer.from(m.data) });
      analytics.finish();
      const { series, total_bytes } = analytics.snapshot();
      assert.ok(series.bytes.length <= 720, `${series.bytes.length} slots`);
      assert.equal(
        series.bytes.reduce((a, b) => a + b, 0),
        total_bytes,
      );
      assert.equal(series.start_ms <= 1, true);
      assert.equal(series.bytes[0], REQ.length);
    });
  }

  const dir = mkdtempSync(join(tmpdir(), 'tapline-wire-time-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tapline report --json: the same series and rate', async () => {
    const file = join(dir, 'slow.gor');
    writeFileSync(file, Buffer.concat(messages.map(encodeRecord)));
    const r = await runTapline(['report', file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    check(JSON.parse(r.stdout.toString()));
  });
});
