/**
 * `tapline report` memory on `.gor` files whose records are huge or have no separator at all (a spawned CLI):
 * a file of zeros is one garbage record the reader skips without keeping it, so the report's peak RSS stays
 * far below the file's size; records on either side of garbage, and a valid record larger than the report's
 * 8 MiB views, are still reported.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeRecord } from '../../src/core/gor-format.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { collect, readIfThere, startTapline } from '../support/cli.js';

const T0 = 1_700_000_000_000_000_000n;

function request(n: number, path: string, body = ''): Message {
  const id = n.toString(16).padStart(24, '0');
  const data = Buffer.from(`POST ${path} HTTP/1.1\r\nHost: shop.test\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  return { meta: makeMeta({ type: '1', id, timestampNs: T0 + BigInt(n) * 1_000_000n, latencyNs: 0n }), data };
}

/** The parts of `report --json` looked at here. */
interface ReportJson {
  inputs: Record<string, Record<string, number | string>>;
  routes: { route: string; requests: number }[];
}

/** Runs `tapline report --json file`, sampling the child's peak RSS (VmHWM, kept by the kernel) until it ends. */
async function reportWithPeak(
  file: string,
): Promise<{ code: number | null; stderr: string; json: ReportJson | undefined; peakKiB: number }> {
  const child = startTapline(['report', '--json', file]);
  const done = collect(child, 60_000);
  let peakKiB = 0;
  let ended = false;
  void done.then(() => {
    ended = true;
  });
  // VmHWM only grows: any read after the peak shows it. Bounded by the child's own 60 s limit.
  while (!ended) {
    const hwm = Number(/^VmHWM:\s*(\d+)/m.exec(readIfThere(`/proc/${child.pid}/status`))?.[1] ?? 0);
    peakKiB = Math.max(peakKiB, hwm);
    await new Promise((r) => setTimeout(r, 10));
  }
  const r = await done;
  const text = r.stdout.toString();
  return { code: r.code, stderr: r.stderr, json: text ? (JSON.parse(text) as ReportJson) : undefined, peakKiB };
}

describe('tapline report: memory on huge or unseparated records', { skip: process.platform !== 'linux' }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tapline-report-memory-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('768 MiB of zeros (no record separator): exit 1 naming it, peak RSS under 384 MiB', async () => {
    const file = join(dir, 'zeros.gor');
    // A sparse file: zeros to read, no disk written.
    const fd = openSync(file, 'w');
    writeSync(fd, Buffer.alloc(1), 0, 1, 768 * 2 ** 20 - 1);
    closeSync(fd);
    const r = await reportWithPeak(file);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /zeros\.gor: record 1 \(byte 0\): no meta line in the first 4096 bytes/);
    assert.match(r.stderr, /zeros\.gor: no readable \.gor record \(1 bad record\(s\) skipped/);
    assert.ok(r.peakKiB > 0 && r.peakKiB < 384 * 1024, `peak RSS ${r.peakKiB} KiB over 768 MiB of zeros`);
  });

  it('garbage larger than a view between records, then a valid 12 MiB record: every good record reported', async () => {
    const file = join(dir, 'mixed.gor');
    const before = Array.from({ length: 50 }, (_, i) => encodeRecord(request(i, '/before')));
    const garbage = Buffer.concat([Buffer.alloc(20 * 2 ** 20), Buffer.from('\n🐵🙈🙉\n')]);
    const big = encodeRecord(request(50, '/big', 'b'.repeat(12 * 2 ** 20)));
    const afterIt = Array.from({ length: 50 }, (_, i) => encodeRecord(request(51 + i, '/after')));
    writeFileSync(file, Buffer.concat([...before, garbage, big, ...afterIt]));
    const r = await reportWithPeak(file);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json?.inputs[file], { records: 101, bad_records: 1 });
    const routes = new Map<string, number>(r.json!.routes.map((x) => [x.route, x.requests]));
    assert.equal(routes.get('/before'), 50);
    assert.equal(routes.get('/big'), 1);
    assert.equal(routes.get('/after'), 50);
    assert.match(r.stderr, /mixed\.gor: record 51 \(byte \d+\): no meta line in the first 4096 bytes/);
  });
});
