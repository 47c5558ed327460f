/**
 * Budgets and --stats on a live run (a spawned CLI replaying a file to --output-null): the exit verdict judges the
 * whole run under its own header, apart from the sliding-window alert lines, and says so when nothing broke; the
 * final --stats line carries the analytics fields next to the pipeline's counters.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeRecord } from '../../src/core/gor-format.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { runTapline } from '../support/cli.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;

function exchange(n: number, path: string, bodyBytes: number): Message[] {
  const id = n.toString(16).padStart(24, '0');
  const at = T0 + BigInt(n) * (S / 100n);
  const req = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: shop.test\r\n\r\n`);
  const res = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${bodyBytes}\r\n\r\n${'x'.repeat(bodyBytes)}`);
  return [
    { meta: makeMeta({ type: '1', id, timestampNs: at, latencyNs: 0n }), data: req },
    { meta: makeMeta({ type: '2', id, timestampNs: at + S / 1000n, latencyNs: 0n }), data: res },
  ];
}

let dir: string;
let file: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapline-live-budgets-'));
  file = join(dir, 'run.gor');
  const messages: Message[] = [];
  for (let i = 0; i < 10; i++) {
    messages.push(...exchange(i * 2, `/videos/${i}`, 20_000));
    messages.push(...exchange(i * 2 + 1, `/users/${i}`, 100));
  }
  writeFileSync(file, Buffer.concat(messages.map(encodeRecord)));
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('budgets on a live run', () => {
  it('prints one whole-run verdict at exit, naming the route, apart from the alerts; exit status unchanged', async () => {
    const r = await runTapline(['--input-file', `${file}|max`, '--output-null', '--max-route', '100kb', '--stats']);
    const err = r.stderr.toString();
    assert.equal(r.code, 0, err);
    const lines = err.split('\n');
    const verdict = lines.slice(lines.findIndex((l) => l.startsWith('tapline: budgets over the whole run')));
    assert.equal(verdict.filter((l) => l.includes('max-route')).length, 1, err);
    assert.equal(
      verdict[0],
      'tapline: budgets over the whole run (the alert lines judge the last 1m while running): 1 broken',
    );
    assert.match(verdict[1]!, /^ {2}max-route: \/videos\/:id 196 KiB > 100 KiB$/);

    const stats = err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const last = stats[stats.length - 1];
    assert.equal(last.messages, 40);
    assert.equal(last.total_requests, 20);
    assert.equal(last.top_endpoints[0].path, '/videos/:id');
    assert.equal(typeof last.bandwidth_bytes_per_s, 'number');
    assert.ok(last.bandwidth_bytes_per_s > 0, 'the bytes of this short run are inside the last --stats-interval');
  });

  it('says "none broken" when the run keeps its budgets, with the alert window it was given', async () => {
    const r = await runTapline([
      '--input-file',
      `${file}|max`,
      '--output-null',
      '--max-latency',
      '1s',
      '--alert-window',
      '30s',
    ]);
    const err = r.stderr.toString();
    assert.equal(r.code, 0, err);
    assert.match(
      err,
      /^tapline: budgets over the whole run \(the alert lines judge the last 30s while running\): none broken$/m,
    );
  });

  it('an analytics flag that nothing on the run reads is a usage error saying what it needs; a malformed --route too', async () => {
    const cases: [string[], RegExp][] = [
      [['--route', '/users/:id'], /--route: has no effect on this run: it needs --stats, a --max-\* budget/],
      [['--route', 'users/:id'], /--route: has no effect on this run/],
      [['--route-limit', '50'], /--route-limit: has no effect on this run/],
      [['--stats', '--alert-window', '30s'], /--alert-window: has no effect on this run: it needs a --max-\* budget/],
      [
        ['--output-influxdb-interval', '1s'],
        /--output-influxdb-interval: has no effect on this run: it needs --output-influxdb/,
      ],
      [['--stats', '--route', 'users/:id'], /--route: route "users\/:id" must start with \//],
    ];
    for (const [args, message] of cases) {
      const r = await runTapline(['--input-file', `${file}|max`, '--output-null', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.toString(), message);
    }
    const read = await runTapline(['--input-file', `${file}|max`, '--output-null', '--stats', '--route', '/users/:id']);
    assert.equal(read.code, 0, read.stderr.toString());
  });
});
