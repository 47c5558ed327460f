/**
 * `tapline report` over .gor files a tool or an editor changed: a UTF-8 byte order mark at the start (plain, .gz
 * and stdin), and a record separator whose line end became CRLF. The records are reported as --input-file
 * reads them, and the problems are said; only records skipped count as bad.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeRecord, SEPARATOR } from '../../src/core/gor-format.js';
import { makeMeta } from '../../src/core/message.js';
import { runTapline } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-report-problems-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000_000_000n;

/** Request and response n of route /items/n, 10 ms apart. */
function exchange(n: number): Buffer[] {
  const id = n.toString(16).padStart(24, '0');
  const at = T0 + BigInt(n) * 1_000_000_000n;
  return [
    encodeRecord({
      meta: makeMeta({ type: '1', id, timestampNs: at }),
      data: Buffer.from(`GET /items/${n} HTTP/1.1\r\nHost: shop.test\r\n\r\n`),
    }),
    encodeRecord({
      meta: makeMeta({ type: '2', id, timestampNs: at + 10_000_000n, latencyNs: 10_000_000n }),
      data: Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
    }),
  ];
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

describe('report over a .gor file that starts with a UTF-8 byte order mark', () => {
  const records = Buffer.concat([...exchange(1), ...exchange(2), ...exchange(3)]);
  const plain = join(dir, 'bom.gor');
  writeFileSync(plain, Buffer.concat([BOM, records]));
  const gz = join(dir, 'bom.gor.gz');
  writeFileSync(gz, gzipSync(readFileSync(plain)));

  for (const [name, args, stdin] of [
    ['a plain file', [plain], undefined],
    ['a .gz file', [gz], undefined],
    ['stdin', ['-'], readFileSync(plain)],
  ] as const) {
    it(`${name}: the mark is skipped with a warning and the first request is reported`, async () => {
      const r = await runTapline(['report', '--json', ...args], stdin ? { stdin } : {});
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout.toString());
      assert.equal(json.total_requests, 3, r.stderr);
      assert.equal(json.accounting.not_http, 0, 'no record read as another type');
      assert.equal(json.accounting.responses_without_request, 0);
      assert.match(r.stderr, /starts with a UTF-8 byte order mark \(EF BB BF\).*skipped/);
    });
  }

  it('the offset of a bad record after the mark is a byte of the file', async () => {
    const bad = Buffer.concat([Buffer.from('1 x\nGET / HTTP/1.1\r\n\r\n'), SEPARATOR]);
    const file = join(dir, 'bom-bad.gor');
    writeFileSync(file, Buffer.concat([BOM, records, bad]));
    const r = await runTapline(['report', '--json', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`record 7 \\(byte ${BOM.length + records.length}\\)`));
    assert.deepEqual(JSON.parse(r.stdout.toString()).inputs[file], { records: 6, bad_records: 1 });
  });
});

describe('report over a .gor file with a record separator ending in CRLF', () => {
  it('the merged record is said, and not counted as a bad record (it is read, as --input-file reads it)', async () => {
    const [req1, res1] = exchange(1);
    const merged = Buffer.concat([
      req1!.subarray(0, req1!.length - SEPARATOR.length),
      Buffer.from('\n🐵🙈🙉\r\n'),
      res1!,
      ...exchange(2),
    ]);
    const file = join(dir, 'merged.gor');
    writeFileSync(file, merged);
    const r = await runTapline(['report', '--json', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /merged\.gor: record 1 \(byte 0\): holds a record separator ending in CRLF/);
    assert.deepEqual(JSON.parse(r.stdout.toString()).inputs[file], { records: 3, bad_records: 0 });
  });
});
