/**
 * Whole-run behaviour of --output-http under each client (the native sender and the JavaScript one), through
 * the CLI as a user runs it, against node:http servers on 127.0.0.1: the summary at exit with tracked
 * responses, SIGINT in the middle of a replay (every request taken is accounted for), and idle connections
 * above --output-http-workers-min retired after --output-http-worker-timeout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { httpOutput } from '../../src/outputs/http.js';
import { collect, runTapline, startTapline, waitForStderr } from '../support/cli.js';
import { arrayInput, forEachClient, requestMessage, runPipeline, writeGorFile } from './replay-support.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-replay-clients-'));

const gorFile = (name: string, count: number) => writeGorFile(join(dir, name), count);

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const small = gorFile('small.gor', 30);
const large = gorFile('large.gor', 3000);
const quick = createServer((req, res) => res.end(`hi ${req.url}`));
// Answers after 10 ms: a replay of `large` over 4 connections takes several seconds.
const slow = createServer((_req, res) => setTimeout(() => res.end('late'), 10));
let quickUrl = '';
let slowUrl = '';

before(async () => {
  quickUrl = await listen(quick);
  slowUrl = await listen(slow);
});

after(() => {
  for (const s of [quick, slow]) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The output-http line of a summary: written, requests, responses, errors. */
function outputLine(stderr: string): { written: number; requests: number; responses: number; errors: number } {
  const line = /output-http\([^)]*\): (\d+) written; requests (\d+)(?:, responses (\d+))?(?:.*?, errors (\d+))?/.exec(
    stderr,
  );
  assert.ok(line, `no output-http summary line in:\n${stderr}`);
  return {
    written: Number(line[1]),
    requests: Number(line[2]),
    responses: Number(line[3] ?? 0),
    errors: Number(line[4] ?? 0),
  };
}

forEachClient(() => {
  test('summary at exit: every request answered and tracked (type 3 on stdout)', async () => {
    const res = await runTapline([
      '--input-file',
      `${small}|max`,
      '--output-http',
      quickUrl,
      '--output-http-track-response',
      '--output-stdout',
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.toString('latin1').match(/^3 [0-9a-f]{24} \d+ \d+\n/gm)?.length, 30);
    const o = outputLine(res.stderr);
    // Written: the 30 requests and their 30 type-3 messages, which output-http takes and ignores.
    assert.deepEqual(o, { written: 60, requests: 30, responses: 30, errors: 0 });
    assert.match(res.stderr, /status 2xx 30, .*responses tracked 30/);
  });

  test("--stats with --output-http-stats: gor's queue statistics, and the output's counters in the stats", async () => {
    const res = await runTapline([
      '--input-file',
      `${small}|max`,
      '--output-http',
      quickUrl,
      '--stats',
      '--output-http-stats',
      '--output-http-stats-ms',
      '200',
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /output_http:latest,mean,max,count,count\/second,gcount/);
    assert.match(res.stderr, /"requests":30,"responses":30/);
  });

  test('a target that is down: the first failures said by request id and reason, all counted', async () => {
    const res = await runTapline(['--input-file', `${small}|max`, '--output-http', 'http://127.0.0.1:1']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /requests 30, errors 30, error connect refused 30/);
    assert.match(res.stderr, /request 0{24} failed: connect-refused \(ECONNREFUSED [^)]*127\.0\.0\.1:1\)/);
    assert.doesNotMatch(res.stderr, /\n\s+at /);
  });

  test('SIGINT in the middle of a replay: it stops, and every request taken is sent and answered', async () => {
    // The stop waits up to one --output-http-timeout (replay-stop.test.ts gives up what is left after it): long
    // enough here for everything read before the stop.
    const child = startTapline([
      '--input-file',
      `${large}|max`,
      '--output-http',
      slowUrl,
      '--output-http-workers',
      '4',
      '--output-http-queue-len',
      '50',
      '--output-http-timeout',
      '30s',
      '--stats',
      '--stats-interval',
      '100ms',
    ]);
    const done = collect(child, 20_000);
    await waitForStderr(child, /output-http/);
    child.kill('SIGINT');
    const res = await done;
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /SIGINT/);
    const o = outputLine(res.stderr.slice(res.stderr.lastIndexOf('stopped after')));
    assert.ok(o.written > 0 && o.written < 3000, `written ${o.written}`);
    assert.equal(o.requests, o.written, 'every request taken was sent');
    assert.equal(o.responses, o.written, 'and answered');
  });

  test('idle connections above --output-http-workers-min close after --output-http-worker-timeout', async () => {
    const out = httpOutput(slowUrl, { workers: 6, workersMin: 1, workerTimeoutMs: 100 });
    const msgs = Array.from({ length: 24 }, (_, i) => requestMessage(`GET /w/${i} HTTP/1.1\r\nHost: x\r\n\r\n`));
    // Not closed by the run (its connections are watched after it); drained here instead.
    await runPipeline([arrayInput(msgs, 24)], [{ ...out, close: async () => {} }]);
    await out.drain!();
    const busy = out.stats!();
    assert.equal(busy.connections, 6, 'six connections were needed');
    // Idle for several worker-timeouts (bounded wait).
    for (let i = 0; i < 50 && Number(out.stats!().connections) > 1; i++) await new Promise((r) => setTimeout(r, 50));
    const idle = out.stats!();
    assert.equal(idle.connections, 1, 'down to the minimum');
    assert.equal(idle.connections_retired, 5);
    await out.close();
  });
});
