/**
 * `tapline report` over records a file holds cut, marked `incomplete=REASON` in their meta line:
 *
 *  - replayed responses longer than --output-http-response-buffer (a real replay to a server on 127.0.0.1): the
 *    file holds their first bytes only, marked incomplete=response-buffer; the report counts what it holds and
 *    says how many were cut (replayed_responses_cut), whichever way the file is read (mapped .gor, .gor.gz);
 *  - requests and original responses a capture marked (cut at --input-raw-max-size, kept incomplete with
 *    --input-raw-allow-incomplete): marked_incomplete, and a warning.
 *
 * Both trackers (TAPLINE_STATS_ADDON=off: the JavaScript one) give the same --json.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type { AnalyticsSnapshot } from '../../src/analytics/types.js';
import { encodeRecord } from '../../src/core/gor-format.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { type CliResult, runTapline } from '../support/cli.js';
import { engines, report } from './report-engines.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;
/** Bodies of the /big answers: longer than the replay's 10 KiB buffer. */
const BIG = 300_000;

let dir: string;
let server: Server;
let target: string;

/** `report --json ARGS` with each tracker; both outputs must be the same. */
async function reportEach(args: string[], check: (s: AnalyticsSnapshot, r: CliResult) => void): Promise<void> {
  const outputs: string[] = [];
  for (const addon of engines) {
    const r = await report(['--json', ...args], addon);
    outputs.push(r.stdout.toString());
    check(JSON.parse(r.stdout.toString()), r);
  }
  assert.equal(new Set(outputs).size, 1, 'the JavaScript tracker and the native core agree');
}

/** A .gor of `messages`: [type, id number, path or status line, extra meta fields]. */
function gorOf(file: string, messages: [string, number, string, string[]][]): void {
  const records = messages.map(([type, n, data, extra]) =>
    encodeRecord({
      meta: makeMeta({
        type,
        id: `${(0xb000 + n).toString(16)}${'0'.repeat(20)}`,
        timestampNs: T0 + BigInt(n) * S,
        latencyNs: 0n,
        extra,
      }),
      data: Buffer.from(data),
    } satisfies Message),
  );
  writeFileSync(file, Buffer.concat(records));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tapline-report-cut-'));
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const n = req.url?.startsWith('/big') ? BIG : 50;
      res.writeHead(200, { 'content-length': n });
      res.end('y'.repeat(n));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('report over records held cut', () => {
  it('replayed responses cut at --output-http-response-buffer are counted and said, in a .gor and a .gor.gz', async () => {
    const rec = join(dir, 'rec.gor');
    const replayed = join(dir, 'replayed.gor');
    gorOf(rec, [
      ['1', 0, 'GET /big/0 HTTP/1.1\r\nHost: shop\r\n\r\n', []],
      ['1', 1, 'GET /big/1 HTTP/1.1\r\nHost: shop\r\n\r\n', []],
      ['1', 2, 'GET /small/2 HTTP/1.1\r\nHost: shop\r\n\r\n', []],
    ]);
    const run = await runTapline(
      [
        '--input-file',
        rec,
        '--output-http',
        target,
        '--output-http-track-response',
        '--output-http-response-buffer',
        '10kb',
        '--output-file',
        replayed,
        '--output-file-append',
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(readFileSync(replayed, 'latin1'), /incomplete=response-buffer/);
    const gz = join(dir, 'replayed.gor.gz');
    writeFileSync(gz, gzipSync(readFileSync(replayed)));

    for (const file of [replayed, gz]) {
      await reportEach([file], (s, r) => {
        assert.equal(r.code, 0, r.stderr);
        assert.equal(s.total_requests, 3);
        assert.equal(s.accounting.replayed_responses_cut, 2, file);
        assert.equal(s.accounting.marked_incomplete, 0);
        // By file too.
        const own = (s as unknown as { inputs: Record<string, Record<string, number>> }).inputs[file]!;
        assert.equal(own.replayed_responses_cut, 2);
        assert.equal(own.marked_incomplete, undefined);
        // What the file holds: the first 10 KiB of each big answer, head included, not 300,000 bytes.
        assert.ok(s.totals.response_body_bytes < 2 * 10 * 1024 + 50, String(s.totals.response_body_bytes));
        assert.ok(
          r.stderr.includes(
            `${file}: 2 replayed response(s) were cut at record time (incomplete=response-buffer: the replay kept ` +
              'only the first --output-http-response-buffer bytes of each): their body bytes are what the file ' +
              'holds, not what the server sent',
          ),
          r.stderr,
        );
      });
    }
    // Only the originals asked for: the cut replayed answers are not counted, nor said.
    const original = await report(['--json', '--responses', 'original', replayed], 'on');
    assert.equal(JSON.parse(original.stdout.toString()).accounting.replayed_responses_cut, 0);
    assert.doesNotMatch(original.stderr, /cut at record time/);
    // With a file holding none: only the file holding them is named, and counted in its inputs entry.
    const both = await report(['--json', rec, replayed], 'on');
    assert.ok(both.stderr.includes(`warning: ${replayed}: 2 replayed response(s) were cut`), both.stderr);
    const inputs = JSON.parse(both.stdout.toString()).inputs;
    assert.equal(inputs[rec].replayed_responses_cut, undefined);
    assert.equal(inputs[replayed].replayed_responses_cut, 2);
    // The baseline of --compare is said of too, by its name.
    const cmp = await report(['--json', rec, '--compare', replayed], 'on');
    assert.match(cmp.stderr, /--compare [^:]*replayed\.gor: 2 replayed response\(s\) were cut at record time/);
  });

  it('requests and responses a capture marked incomplete are counted and said', async () => {
    const marked = join(dir, 'marked.gor');
    gorOf(marked, [
      ['1', 0, 'POST /upload HTTP/1.1\r\nHost: shop\r\nContent-Length: 5000\r\n\r\nxxxx', ['incomplete=max-size']],
      ['2', 0, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', []],
      ['1', 1, 'GET /a HTTP/1.1\r\nHost: shop\r\n\r\n', []],
      ['2', 1, 'HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\nabc', ['incomplete=gap', 'x=1']],
      ['1', 2, 'GET /b HTTP/1.1\r\nHost: shop\r\n\r\n', ['x=incomplete=no']],
      ['2', 2, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', []],
    ]);
    writeFileSync(`${marked}.gz`, gzipSync(readFileSync(marked)));
    for (const file of [marked, `${marked}.gz`]) {
      await reportEach([file], (s, r) => {
        assert.equal(r.code, 0, r.stderr);
        assert.equal(s.accounting.marked_incomplete, 2, file);
        assert.equal(s.accounting.replayed_responses_cut, 0);
        assert.match(r.stderr, /marked\.gor(\.gz)?: 2 request\(s\) or original response\(s\) are marked incomplete/);
      });
    }
    // --parquet marks the rows whose request or response was cut, so SQL over the file can leave them out.
    const parquet = join(dir, 'marked.parquet');
    const withRows = await report(['--parquet', parquet, marked], 'on');
    assert.equal(withRows.code, 0, withRows.stderr);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const rows = (
        await connection.runAndReadAll(
          `SELECT path, request_incomplete, response_incomplete FROM read_parquet('${parquet}') ORDER BY path`,
        )
      ).getRowObjectsJS();
      assert.deepEqual(rows, [
        { path: '/a', request_incomplete: false, response_incomplete: true },
        { path: '/b', request_incomplete: false, response_incomplete: false },
        { path: '/upload', request_incomplete: true, response_incomplete: false },
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    // Many files (the chunks of one --output-file): the first three named, then how many more.
    const copies = [0, 1, 2, 3, 4].map((i) => join(dir, `chunk_${i}.gor`));
    for (const copy of copies) writeFileSync(copy, readFileSync(marked));
    const many = await report(copies, 'on');
    assert.ok(
      many.stderr.includes(
        `warning: ${copies.slice(0, 3).join(', ')} and 2 more: 10 request(s) or original response(s) are marked`,
      ),
      many.stderr,
    );
  });
});
