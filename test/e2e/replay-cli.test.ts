/**
 * --output-http through the CLI (gor's single-dash flags), against a node:http server on 127.0.0.1: the
 * summary at exit, type-3 messages on stdout, gor's queue statistics, and a target that is down.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runTapline } from '../support/cli.js';
import { CORPUS_DIR } from '../support/corpus.js';
import { getRequestsGor } from '../support/gor.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-replay-cli-'));
const file = join(dir, 'requests.gor');
let url = '';
const server = createServer((req, res) => res.end(`hi ${req.url}`));

before(async () => {
  let text = '';
  for (let i = 0; i < 20; i++) {
    text += `1 ${i.toString(16).padStart(24, '0')} ${1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n} 0\n`;
    text += `GET /r/${i} HTTP/1.1\r\nHost: prod\r\n\r\n\n🐵🙈🙉\n`;
  }
  writeFileSync(file, text);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('replay summary: requests, status classes, latency percentiles, rates; type 3 on stdout', async () => {
  const res = await runTapline([
    '-input-file',
    `${file}|max`,
    '-output-http',
    url,
    '-output-http-track-response',
    '-output-stdout',
    '-stats',
    '-output-http-stats',
    '-output-http-stats-ms',
    '200',
  ]);
  assert.equal(res.code, 0, res.stderr);
  const out = res.stdout.toString('latin1');
  assert.equal(out.match(/^3 [0-9a-f]{24} \d+ \d+\n/gm)?.length, 20);
  assert.match(out, /^3 000000000000000000000013 \d+ \d+\nHTTP\/1\.1 200 OK\r\n[\s\S]*?hi \/r\/19\n/m);
  assert.match(res.stderr, /output-http\([^)]*\): .*requests 20, responses 20, status 2xx 20,/);
  assert.match(res.stderr, /latency p50 ms [\d.]+, latency p95 ms [\d.]+, latency p99 ms [\d.]+/);
  assert.match(res.stderr, /rate per s \d+, captured rate per s 1000/);
  assert.match(res.stderr, /\[DEBUG\]\[elapsed [^\]]+\]: \n output_http:latest,mean,max,count,count\/second,gcount/);
  // As gor: a values line (all zero but gcount) right after the header, and each line's elapsed is the time since the
  // previous one (about the 200 ms period), not since the start.
  const lines = [...res.stderr.matchAll(/\[DEBUG\]\[elapsed ([^\]]+)\]: \n output_http:(\S+)/g)];
  assert.match(lines[1]?.[2] ?? '', /^0,0,0,0,0,\d+$/, res.stderr);
  const ms = (d: string) => Number.parseFloat(d) * (d.endsWith('ms') ? 1 : d.endsWith('µs') ? 1e-3 : 1000);
  for (const [, elapsed] of lines.slice(2))
    assert.ok(ms(elapsed!) < 2000, `elapsed ${elapsed} since the previous line`);
});

test('the CI recipe at |max: every replayed response reaches --output-file (none dropped behind the file input)', async () => {
  // A mapped file is always ready; the responses merged back into the pipeline used to wait behind all of it,
  // and past the output's cap (10,000 waiting) they were dropped: 78% of 50,000 at |max.
  const many = join(dir, 'many.gor');
  const count = 30_000;
  writeFileSync(many, getRequestsGor(count, '/m/'));
  const replayed = join(dir, 'replayed.gor');
  const res = await runTapline([
    '--input-file',
    `${many}|max`,
    '--output-http',
    url,
    '--output-http-track-response',
    '--output-file',
    replayed,
    '--output-file-append',
  ]);
  assert.equal(res.code, 0, res.stderr);
  assert.doesNotMatch(res.stderr, /responses dropped/);
  assert.match(res.stderr, new RegExp(`responses tracked ${count}\\b`));
  const written = readFileSync(replayed, 'latin1');
  assert.equal(written.match(/^3 [0-9a-f]{24} \d+ \d+\n/gm)?.length, count);
});

test('a target that is down: failures counted by reason in the summary, exit 0, no stack trace', async () => {
  const res = await runTapline(['--input-file', `${file}|max`, '--output-http', 'http://127.0.0.1:1']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /requests 20, errors 20, error connect refused 20/);
  assert.doesNotMatch(res.stderr, /\n\s+at /);
  // Said, not only counted: the first few failures by name, then how many more were not shown.
  assert.match(res.stderr, /warning: output-http\(http:\/\/127\.0\.0\.1:1\): request 0{24} failed: connect-refused/);
  assert.match(res.stderr, /warnings not shown: 15 × output-http\(http:\/\/127\.0\.0\.1:1\):connect-refused/);
});

test('a recording with bare-LF heads (corpus python-goreplay-test.gor) is replayed with CRLF, as gor does', async () => {
  const heads: string[] = [];
  const lf = createServer((req, res) => {
    let body = 0;
    req.on('data', (c: Buffer) => {
      body += c.length;
    });
    req.on('end', () => {
      heads.push(`${req.method} ${req.url} ${body}`);
      res.end('ok');
    });
  });
  // Node's parser is strict about line ends: a bare-LF head sent as is would be refused (400), not counted here.
  lf.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((r) => lf.listen(0, '127.0.0.1', r));
  try {
    const target = `http://127.0.0.1:${(lf.address() as { port: number }).port}`;
    const corpusFile = join(CORPUS_DIR, 'python-goreplay-test.gor');
    const res = await runTapline(['--input-file', `${corpusFile}|max`, '--output-http', target]);
    assert.equal(res.code, 0, res.stderr);
    const truth = JSON.parse(readFileSync(`${corpusFile}.truth.json`, 'utf8')) as {
      requests: { method: string; uri: string; body_bytes: number }[];
    };
    assert.equal(heads.length, truth.requests.length, res.stderr);
    assert.deepEqual(heads.sort(), truth.requests.map((r) => `${r.method} ${r.uri} ${r.body_bytes}`).sort());
    assert.match(res.stderr, /bare lf converted 83/);
  } finally {
    lf.closeAllConnections();
    lf.close();
  }
});

/** The test file at |max to the same server given twice as --output-http (flags said once per command line). */
const replayToTwoTargets = (...flags: string[]) =>
  runTapline(['--input-file', `${file}|max`, '--output-http', url, '--output-http', url, ...flags]);

test('--output-http-workers-min above --output-http-workers: said once (gor would open the minimum), at most the maximum opened', async () => {
  const res = await replayToTwoTargets('--output-http-workers', '2', '--output-http-workers-min', '5');
  assert.equal(res.code, 0, res.stderr);
  // Two targets, one command line: said once.
  assert.equal(res.stderr.split('\n').filter((l) => l.includes('is above --output-http-workers')).length, 1);
  assert.match(
    res.stderr,
    /warning: --output-http-workers-min 5 is above --output-http-workers 2: at most 2 connections are opened \(gor would open 5\)/,
  );
  for (const m of res.stderr.matchAll(/connections opened (\d+)/g)) {
    const opened = Number(m[1]);
    assert.ok(opened >= 1 && opened <= 2, res.stderr);
  }
});

test('--output-http-workers-min above the automatic maximum (--output-http-workers 0): said, with the cap of 1000 gor has', async () => {
  // 64 connections were opened for --output-http-workers-min 100 without a word (gor opens 100).
  for (const [min, gor] of [
    ['100', '100'],
    ['5000', '1000'],
  ] as const) {
    const res = await replayToTwoTargets('--output-http-workers-min', min);
    assert.equal(res.code, 0, res.stderr);
    const said = res.stderr.split('\n').filter((l) => l.includes('is above the automatic maximum'));
    assert.equal(said.length, 1, res.stderr);
    assert.ok(
      said[0]!.endsWith(
        `warning: --output-http-workers-min ${min} is above the automatic maximum, 64 (--output-http-workers 0; ` +
          `give --output-http-workers ${gor} to open more): at most 64 connections are opened (gor would open ${gor})`,
      ),
      said[0],
    );
  }
  // At or below the automatic maximum, nothing is said.
  const res = await replayToTwoTargets('--output-http-workers-min', '64');
  assert.doesNotMatch(res.stderr, /is above/);
});

test('--output-http-timeout below 100ms (50ms, or 0 meant as no limit): said once for two targets, 1s used as gor', async () => {
  for (const value of ['50ms', '0']) {
    const res = await replayToTwoTargets('--output-http-timeout', value);
    assert.equal(res.code, 0, res.stderr);
    const said = res.stderr.split('\n').filter((l) => l.includes('is below 100ms'));
    assert.equal(said.length, 1, res.stderr);
    assert.match(
      said[0]!,
      /warning: --output-http-timeout (50ms|0s) is below 100ms: 1s is used, as gor does \(there is no unlimited timeout; give 100ms or more\)/,
    );
    assert.equal((res.stderr.match(/requests 20, responses 20/g) ?? []).length, 2, res.stderr);
  }
});
