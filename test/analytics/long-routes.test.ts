/**
 * Routes of very long paths are cut (routes.ts ROUTE_MAX_CHARS): `report --json` and the `--stats` line stay
 * small whatever the paths' length, with either tracker, and the bytes still add up to every exchange's.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { AnalyticsSnapshot } from '../../src/analytics/types.js';
import { encodeRecord } from '../../src/core/gor-format.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { runTapline } from '../support/cli.js';
import { engines, report } from './report-engines.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-long-routes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const S = 1_000_000_000n;
/** 40 exchanges: 8 distinct first words, then 20,000 short segments (60 KB) that end differently in each. */
function writeFile(): { file: string; wireBytes: number } {
  const records: Buffer[] = [];
  let wireBytes = 0;
  for (let i = 0; i < 40; i++) {
    const path = `/w${'abcdefgh'[i % 8]}${'/ab'.repeat(20_000)}/end${'xyz'[i % 3]}`;
    const request = `GET ${path} HTTP/1.1\r\nHost: long.test\r\n\r\n`;
    const response = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    wireBytes += request.length + response.length;
    const id = `${(0xc000 + i).toString(16)}${'0'.repeat(20)}`;
    for (const [type, data] of [
      ['1', request],
      ['2', response],
    ] as const) {
      const meta = makeMeta({ type, id, timestampNs: 1_700_000_000n * S + BigInt(i) * S, latencyNs: 0n, extra: [] });
      records.push(encodeRecord({ meta, data: Buffer.from(data) } satisfies Message));
    }
  }
  const file = join(dir, 'long.gor');
  writeFileSync(file, Buffer.concat(records));
  return { file, wireBytes };
}

it('paths of 60 KB: 8 routes of at most 1,000 characters, the same with either tracker; --stats as small', async () => {
  const { file, wireBytes } = writeFile();
  const outputs: string[] = [];
  for (const addon of engines) {
    const r = await report(['--json', file], addon);
    assert.equal(r.code, 0, r.stderr);
    outputs.push(r.stdout.toString());
    const s = JSON.parse(r.stdout.toString()) as AnalyticsSnapshot;
    assert.equal(s.routes.length, 8, addon);
    for (const route of s.routes) {
      assert.ok(route.route.length <= 1000, `${addon}: a route of ${route.route.length} characters`);
      assert.match(route.route, /^\/w[a-h](\/ab)+\/…$/);
      assert.equal(route.requests, 5);
    }
    assert.equal(s.totals.total_bytes, wireBytes);
    assert.ok(r.stdout.length < 40_000, `${addon}: report --json of ${r.stdout.length} bytes`);
  }
  assert.equal(new Set(outputs).size, 1, 'both trackers give the same report');
  const stats = await runTapline(['--input-file', `${file}|max`, '--output-null', '--stats'], { timeoutMs: 60_000 });
  assert.equal(stats.code, 0, stats.stderr);
  const line = stats.stderr.split('\n').find((l) => l.startsWith('{'));
  assert.ok(line !== undefined, stats.stderr);
  assert.ok(line.length < 40_000, `a --stats line of ${line.length} characters`);
  assert.equal((JSON.parse(line) as AnalyticsSnapshot).routes.length, 8);
});
