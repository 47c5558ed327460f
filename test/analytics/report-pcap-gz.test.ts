/**
 * `tapline report dump.pcap.gz`: a gzip-compressed capture (as `tcpdump -z gzip` and logrotate leave them; tshark
 * reads them as they are) is reported as the capture it holds, told by its decompressed first bytes. It was read
 * as a .gor.gz: a bad-record warning and 0 requests. The same on standard input (`cat dump.pcap.gz | tapline
 * report -`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { runTapline } from '../support/cli.js';
import { CORPUS_DIR, readTruth } from '../support/corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-report-pcap-gz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PCAP = join(CORPUS_DIR, 'zeek-http-pipelined-requests.pcap');

it('a .pcap.gz (and one named without .pcap) gives the truth file counts and the plain capture report', async () => {
  const truth = readTruth(PCAP);
  const compressed = gzipSync(readFileSync(PCAP));
  const plain = JSON.parse((await runTapline(['report', '--json', PCAP])).stdout.toString());
  for (const name of ['pipelined.pcap.gz', 'capture.gz']) {
    const file = join(dir, name);
    writeFileSync(file, compressed);
    for (const spec of name.endsWith('.pcap.gz') ? [file, `${file}:80`] : [file]) {
      const r = await runTapline(['report', '--json', spec]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', spec);
      const s = JSON.parse(r.stdout.toString());
      assert.equal(s.total_requests, truth.counts.http1_requests, spec);
      assert.equal(s.totals.responses, truth.counts.http1_responses, spec);
      const bodies = truth.responses.reduce((n: number, m: { body_bytes: number }) => n + m.body_bytes, 0);
      assert.equal(s.totals.response_body_bytes, bodies, spec);
      // The same report as the plain capture's, but for the input's name.
      assert.deepEqual({ ...s, inputs: undefined }, { ...plain, inputs: undefined }, spec);
      assert.deepEqual(Object.values(s.inputs), Object.values(plain.inputs), spec);
    }
  }
});

it('a .pcap.gz cut short: what came before the cut is reported, the cut named, exit 1 (as a cut .gor.gz)', async () => {
  const compressed = gzipSync(readFileSync(PCAP));
  const file = join(dir, 'cut.pcap.gz');
  writeFileSync(file, compressed.subarray(0, Math.floor(compressed.length / 2)));
  // (The requests are pipelined early in the capture; the cut takes some responses.)
  const r = await runTapline(['report', '--json', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /cut\.pcap\.gz: cannot read to the end: unexpected end of file \(Z_BUF_ERROR\) \(at byte \d+ of the decompressed data\); the \d+ messages before it are in the report/,
  );
  const s = JSON.parse(r.stdout.toString());
  const truth = readTruth(PCAP);
  assert.ok(s.total_requests > 0, 'the requests before the cut are reported');
  assert.ok(s.totals.responses < truth.counts.http1_responses, `${s.totals.responses} responses: not the whole file`);
  assert.equal(Object.values(s.inputs as Record<string, { file_errors: number }>)[0]!.file_errors, 1);
});

it('a .pcap.gz on standard input is the same capture report; cut short, what came before the cut, exit 1', async () => {
  const compressed = gzipSync(readFileSync(PCAP));
  const plain = JSON.parse((await runTapline(['report', '--json', PCAP])).stdout.toString());
  for (const spec of ['-', '-:80']) {
    const r = await runTapline(['report', '--json', spec], { stdin: compressed });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', spec);
    const s = JSON.parse(r.stdout.toString());
    assert.deepEqual({ ...s, inputs: undefined }, { ...plain, inputs: undefined }, spec);
  }
  const cut = await runTapline(['report', '--json', '-'], { stdin: compressed.subarray(0, compressed.length >> 1) });
  assert.equal(cut.code, 1, cut.stderr);
  assert.match(
    cut.stderr,
    /-: cannot read to the end: unexpected end of file \(Z_BUF_ERROR\) \(at byte \d+ of the decompressed data\)/,
  );
  assert.ok(JSON.parse(cut.stdout.toString()).total_requests > 0, 'the requests before the cut are reported');
  // A .gor.gz on standard input is still read as one.
  const gor = await runTapline(['report', '--json', '-'], {
    stdin: gzipSync(
      Buffer.from('1 a1 1700000000000000000 0\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n\n\u{1f435}\u{1f648}\u{1f649}\n'),
    ),
  });
  assert.equal(gor.code, 0, gor.stderr);
  assert.equal(JSON.parse(gor.stdout.toString()).total_requests, 1);
});
