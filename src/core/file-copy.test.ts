/**
 * FileOrigin and fileOriginOf: which records may be copied from their file, and what a copy reports when the
 * file changed. Real files in a temp dir, the real addon (skipped when it is not built).
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileOrigin, fileCopyAvailable } from './file-copy.js';
import { encodeRecord, fileOriginOf, type GorRecord, GorRecordReader, SEPARATOR } from './gor-format.js';
import { makeMeta } from './message.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-file-copy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const record = (id: string, body: string) =>
  encodeRecord({
    meta: makeMeta({ type: '1', id, timestampNs: 1_700_000_000_000_000_000n, latencyNs: 0n }),
    data: Buffer.from(body),
  });

/** Reads `bytes` (saved as `name`) with the reader, in `chunk`-byte pushes, records tagged with an origin. */
function readTagged(name: string, bytes: Buffer, chunk = bytes.length): { origin: FileOrigin; records: GorRecord[] } {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const fd = openSync(path, 'r');
  const origin = FileOrigin.open(path, fd)!;
  closeSync(fd);
  assert.ok(origin, 'origin opened');
  const reader = new GorRecordReader(() => {});
  const records: GorRecord[] = [];
  for (let at = 0; at < bytes.length; at += chunk) records.push(...reader.push(bytes.subarray(at, at + chunk)));
  records.push(...reader.end());
  for (const r of records) (r as { origin?: FileOrigin }).origin = origin;
  return { origin, records };
}

describe('in-kernel copy origins', { skip: !fileCopyAvailable() && 'the file-copy addon is not built' }, () => {
  it('a record read whole or across two reads has its origin and exact offsets', () => {
    const bytes = Buffer.concat([record('a', 'GET /a HTTP/1.1\r\n\r\n'), record('b', 'GET /b HTTP/1.1\r\n\r\n')]);
    const { origin, records } = readTagged('whole.gor', bytes, 50); // the first record straddles pushes
    assert.equal(records.length, 2);
    for (const r of records) {
      assert.equal(fileOriginOf(r), origin);
      assert.ok(bytes.subarray(r.offset, r.offset + r.size).equals(encodeRecord(r)));
    }
    origin.release();
  });

  it('no origin once the payload was handed out, for a copy of the record, or with CRLF framing', () => {
    const bytes = Buffer.concat([record('a', 'one'), record('b', 'two'), record('c', 'three')]);
    const { origin, records } = readTagged('touched.gor', bytes);
    const [a, b, c] = records as [GorRecord, GorRecord, GorRecord];
    assert.equal(fileOriginOf(a), origin);
    a.data[0] = 0x4f; // whoever asked for the payload may have written into it
    assert.equal(fileOriginOf(a), undefined);
    assert.equal(fileOriginOf({ ...b } as GorRecord), undefined, 'a spread copy is a new message');
    assert.equal(fileOriginOf(c), origin);
    // Windows line endings: `meta CR LF payload CR LF 🐵🙈🙉 CR LF` (read anyway; its encoding is not the file bytes).
    const windows = Buffer.concat([
      Buffer.from('1 d 1700000000000000000 0\r\nx\r'),
      SEPARATOR.subarray(0, 13),
      Buffer.from('\r\n'),
    ]);
    const tagged = readTagged('crlf.gor', Buffer.concat([windows, record('e', 'y')]));
    assert.equal(tagged.records.length, 2);
    assert.equal(fileOriginOf(tagged.records[0]!), undefined);
    tagged.origin.release();
    origin.release();
  });

  it('a copy reports a file changed since the origin was opened, and copies nothing', async () => {
    const bytes = record('a', 'original payload');
    const { origin } = readTagged('changed.gor', bytes);
    const outPath = join(dir, 'changed-out.gor');
    const out = openSync(outPath, 'w');
    try {
      const same = await origin.copyTo(out, 0, bytes.length);
      assert.deepEqual(same, { outStart: 0, copied: bytes.length, errno: 0, changed: false });
      writeFileSync(join(dir, 'changed.gor'), record('a', 'REWRITTEN payload'));
      const changed = await origin.copyTo(out, 0, bytes.length);
      assert.equal(changed.changed, true);
      assert.equal(changed.copied, 0);
      assert.equal(changed.outStart, bytes.length);
      assert.ok(readFileSync(outPath).equals(bytes));
    } finally {
      closeSync(out);
      origin.release();
    }
  });

  it('the descriptor closes with the last reference; acquire() fails after that', () => {
    const { origin } = readTagged('refs.gor', record('a', 'x'));
    assert.equal(origin.acquire(), true);
    origin.release();
    assert.equal(origin.acquire(), true);
    origin.release();
    origin.release(); // the owner's
    assert.equal(origin.acquire(), false);
  });

  it('no origin when the path names another file than the reader has open', () => {
    const path = join(dir, 'swapped.gor');
    writeFileSync(path, record('a', 'x'));
    const fd = openSync(path, 'r');
    rmSync(path);
    writeFileSync(path, record('b', 'y'));
    try {
      assert.equal(FileOrigin.open(path, fd), undefined);
    } finally {
      closeSync(fd);
    }
  });
});
