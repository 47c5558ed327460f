/**
 * `tapline report` over files real replays wrote, against servers on 127.0.0.1:
 *
 *  - a replayed .gor replayed again (`--input-file r1.gor … --output-http-track-response --output-file r2.gor`):
 *    r2.gor holds each request's answer from both replays, on two replay clocks years after the recording. The
 *    later replay's answer is accounted, the earlier one left out (earlier_replay_responses), the span stays the
 *    recording's, and a warning says so;
 *  - rounds appended to one file (`--output-file-append` run twice over the same recording): the same requests
 *    again are told (repeated_rounds), with the file, record and byte where the new round starts.
 *
 * Both trackers (TAPLINE_STATS_ADDON=off: the JavaScript one) give the same --json.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AnalyticsSnapshot } from '../../src/analytics/types.js';
import { encodeRecord } from '../../src/core/gor-format.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { runTapline } from '../support/cli.js';
import { CORPUS_DIR } from '../support/corpus.js';
import { engines, report } from './report-engines.js';

const S = 1_000_000_000n;
/** The recording: 2023-11-14, 20 requests 1 s apart, each answered 20 ms later by a 50-byte body. */
const T0 = 1_700_000_000n * S;
const N = 20;

let dir: string;
const servers: Server[] = [];

/** A server whose every answer has `status` and a body of `bodyBytes`. */
async function serve(status: number, bodyBytes: number): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': bodyBytes });
      res.end('y'.repeat(bodyBytes));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** `gapS`: seconds between requests. */
function recording(file: string, gapS = 1n): void {
  const messages: Message[] = [];
  for (let i = 0; i < N; i++) {
    const id = `${(0xa000 + i).toString(16)}${'0'.repeat(20)}`;
    const at = T0 + BigInt(i) * gapS * S;
    const req = Buffer.from(`GET /items/${i} HTTP/1.1\r\nHost: shop\r\n\r\n`);
    const res = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n${'o'.repeat(50)}`);
    messages.push({ meta: makeMeta({ type: '1', id, timestampNs: at, latencyNs: 0n }), data: req });
    messages.push({ meta: makeMeta({ type: '2', id, timestampNs: at + 20_000_000n, latencyNs: 0n }), data: res });
  }
  writeFileSync(file, Buffer.concat(messages.map((m) => encodeRecord(m))));
}

/** One replay of `input` at |max to `target`, its answers and its input's records appended to `output`. */
async function replay(input: string, target: string, output: string): Promise<void> {
  const r = await runTapline(
    [
      '--input-file',
      `${input}|max`,
      '--output-http',
      target,
      '--output-http-track-response',
      '--output-file',
      output,
      '--output-file-append',
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
}

/**
 * `tapline report --json FILE` with each tracker: `check` sees each run's snapshot and stderr; the two --json
 * outputs must be the same.
 */
async function reportEach(
  file: string,
  check: (s: AnalyticsSnapshot, stderr: string, addon: string) => void,
): Promise<void> {
  const outputs: string[] = [];
  for (const addon of engines) {
    const r = await report(['--json', file], addon);
    assert.equal(r.code, 0, r.stderr);
    outputs.push(r.stdout.toString());
    check(JSON.parse(r.stdout.toString()), r.stderr, addon);
  }
  assert.equal(new Set(outputs).size, 1, 'the JavaScript tracker and the native core agree');
}

/** The number of records in a .gor file (its separators). */
function recordsIn(file: string): number {
  return readFileSync(file).toString('latin1').split('\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n').length - 1;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapline-replay-rounds-'));
});
after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('report over replayed files', () => {
  it("a replayed .gor replayed again: each request's later answer counts, over the recording's span, and the warning says so", async () => {
    const rec = join(dir, 'rec.gor');
    const r1 = join(dir, 'r1.gor');
    const r2 = join(dir, 'r2.gor');
    recording(rec);
    await replay(rec, await serve(200, 100), r1);
    await replay(r1, await serve(404, 300), r2);

    await reportEach(r2, (s, stderr, addon) => {
      assert.equal(s.total_requests, N);
      // The second replay's answers (404, 300-byte bodies), not the first's (200, 100 bytes) nor the originals.
      assert.equal(s.totals.status_4xx, N, addon);
      assert.equal(s.totals.status_2xx, 0);
      assert.equal(s.totals.response_body_bytes, N * 300);
      assert.equal(s.accounting.earlier_replay_responses, N);
      assert.equal(s.accounting.original_responses_replaced, N);
      assert.equal(s.accounting.duplicate_responses, 0);
      assert.equal(s.accounting.responses_without_request, 0);
      assert.equal(
        s.routes.find((x: { route: string }) => x.route === '(no request)'),
        undefined,
      );
      // The recording's span (19 s of requests), not years across the replay clocks.
      assert.ok(s.elapsed_s < 60, `elapsed_s ${s.elapsed_s}`);
      assert.ok(s.series.bytes.length <= 60, `series of ${s.series.bytes.length} slots`);
      assert.match(stderr, /r2\.gor: 20 replayed response\(s\) answer requests that a later replay answered too/);
      assert.match(stderr, /each request counts its latest answer/);
      assert.doesNotMatch(stderr, /same requests come again/);
    });

    // The first replay's own file: its answers, no warning.
    const first = await report(['--json', r1], 'on');
    const f = JSON.parse(first.stdout.toString());
    assert.equal(f.totals.status_2xx, N);
    assert.equal(f.accounting.earlier_replay_responses, 0);
    assert.doesNotMatch(first.stderr, /warning/);

    // --compare between them: the change is the second replay's against the first's, route by route.
    const cmp = await report(['--json', r2, '--compare', r1], 'on');
    assert.equal(cmp.code, 0, cmp.stderr);
    const c = JSON.parse(cmp.stdout.toString());
    const items = c.compare.routes.find((x: { route: string }) => x.route === '/items/:id');
    assert.equal(items.baseline_bytes, f.totals.total_bytes);
    assert.equal(items.bytes, c.totals.total_bytes);
    assert.equal(items.baseline_requests, N);
    assert.equal(items.requests, N);
    assert.equal(c.compare.routes.length, 1); // no (no request) route on either side
  });

  it('--responses replayed on the recording (no type 3), or original on a replay without type 2: warned, the budget named', async () => {
    // Every request showed as no response and --max-latency passed, without a word: a CI check on the wrong file.
    const rec = join(dir, 'rec-kind.gor');
    recording(rec);
    const r = await report(['--responses', 'replayed', '--max-latency', '1ms', rec], 'on');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stderr.includes(
        `${rec}: --responses replayed: not one replayed response (type 3) in 20 request(s): every request shows as ` +
          'no response, and no latency budget can break',
      ),
      r.stderr,
    );
    const auto = await report(['--max-latency', '1ms', rec], 'on');
    assert.doesNotMatch(auto.stderr, /not one/);
    assert.equal(auto.code, 3, 'the originals, 20 ms each, break it');
    const cmp = await report(['--responses', 'original', rec, '--compare', rec], 'on');
    assert.doesNotMatch(cmp.stderr, /not one/, 'the recording has its originals');
  });

  it('a replay of a sparse recording (requests 90 s apart): each replayed answer counts, none is a duplicate', async () => {
    // At |max the replay writes its answers after the input's records: many requests later in the file, hours of
    // recorded time. A request used to wait 60 s of recorded time: its original counted, its answer a duplicate.
    const rec = join(dir, 'sparse.gor');
    const r1 = join(dir, 'sparse-replayed.gor');
    recording(rec, 90n);
    await replay(rec, await serve(200, 100), r1);
    await reportEach(r1, (s, stderr) => {
      assert.equal(s.total_requests, N);
      assert.equal(s.totals.response_body_bytes, N * 100); // the replayed answers, not the 50-byte originals
      assert.equal(s.accounting.original_responses_replaced, N);
      assert.equal(s.accounting.duplicate_responses, 0);
      assert.equal(s.elapsed_s, (N - 1) * 90); // the recording's span, first request to last
      assert.doesNotMatch(stderr, /warning/);
    });
  });

  it('rounds appended to one file: the warning names the file, the record and the byte where the new round starts', async () => {
    const rec = join(dir, 'rec2.gor');
    const ap = join(dir, 'appended.gor');
    recording(rec);
    const target = await serve(200, 100);
    await replay(rec, target, ap);
    const firstRound = statSync(ap).size;
    const firstRecords = recordsIn(ap);
    await replay(rec, target, ap);
    assert.equal(recordsIn(ap), 2 * firstRecords);

    await reportEach(ap, (s, stderr, addon) => {
      assert.equal(s.total_requests, 2 * N); // added up, as documented
      assert.equal(s.accounting.repeated_rounds, 1, addon);
      assert.equal(s.accounting.earlier_replay_responses, 0);
      const at = `record ${firstRecords + 1} \\(byte ${firstRound.toLocaleString('en-US')}\\)`;
      assert.match(
        stderr,
        new RegExp(`appended\\.gor: the same requests come again .*a new round starts at \\S*appended\\.gor ${at}`),
      );
      assert.match(stderr, /adds the 2 rounds up/);
    });

    // Requests pipelined in one packet share its timestamp and, with gor's ids (the ACK number), their id: the
    // capture's second request with the first's id and time is no new round.
    await reportEach(join(CORPUS_DIR, 'suricata-http-protocol-nodup.pcap'), (s, stderr) => {
      assert.equal(s.total_requests, 40);
      assert.equal(s.accounting.repeated_rounds, 0);
      assert.doesNotMatch(stderr, /same requests come again/);
    });

    // A single round: no word of rounds.
    const one = await report([join(dir, 'rec2.gor')], 'on');
    assert.doesNotMatch(one.stderr, /same requests come again/);
  });
});
