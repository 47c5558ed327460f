/**
 * The CI recipe exactly as the README (and issue 6) write it: `--output-file replayed.gor` without
 * --output-file-append writes gor's chunks (replayed_0.gor, …, every 256 records), then
 * `tapline report replayed.gor` reads those chunks.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chunksOf } from '../../src/cli/report-chunks.js';
import { runTapline } from '../support/cli.js';
import { getRequestsGor } from '../support/gor.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-report-chunks-'));
const server = createServer((req, res) => res.end(`answer to ${req.url}`));
let url = '';

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('chunksOf: only the chunks of that name, in chunk order', () => {
  const sub = mkdtempSync(join(dir, 'names-'));
  for (const f of ['r_0.gor', 'r_10.gor', 'r_2.gor', 'r_x.gor', 'other_0.gor', 'r_1.gor.gz', 'rr_0.gor']) {
    writeFileSync(join(sub, f), '');
  }
  assert.deepEqual(
    chunksOf(join(sub, 'r.gor')).map((p) => p.slice(sub.length + 1)),
    ['r_0.gor', 'r_2.gor', 'r_10.gor'],
  );
  assert.deepEqual(chunksOf(join(sub, 'missing.gor')), []);
});

test('CI recipe: replay with --output-file replayed.gor (chunked), then report replayed.gor', async () => {
  const count = 600; // > 256: gor's default queue limit makes three chunks
  const recorded = join(dir, 'recorded.gor');
  writeFileSync(recorded, getRequestsGor(count, '/c/'));
  const replayed = join(dir, 'replayed.gor');
  const replay = await runTapline([
    '--input-file',
    `${recorded}|max`,
    '--output-http',
    url,
    '--output-http-track-response',
    '--output-file',
    replayed,
  ]);
  assert.equal(replay.code, 0, replay.stderr);
  assert.ok(chunksOf(replayed).length >= 3, 'gor-style chunks were written');

  const report = await runTapline(['report', replayed, '--json']);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stderr, /replayed\.gor does not exist; reading the \d+ chunk\(s\) --output-file wrote for it/);
  const json = JSON.parse(report.stdout.toString()) as { total_requests: number };
  assert.equal(json.total_requests, count);

  const budget = await runTapline(['report', replayed, '--max-total', '1kb']);
  assert.equal(budget.code, 3, budget.stderr);
});

test('report of a name with neither a file nor chunks: a clear error, exit 1', async () => {
  const res = await runTapline(['report', join(dir, 'nothing.gor')]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /nothing\.gor: cannot read: ENOENT/);
});
