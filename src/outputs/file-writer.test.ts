/**
 * RecordBuffer copy spans and the PlainFileWriter that copies them: real files, the real addon (skipped when
 * it is not built).
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileOrigin, fileCopyAvailable } from '../core/file-copy.js';
import { encodeRecord, type GorRecord, GorRecordReader } from '../core/gor-format.js';
import { type Message, makeMeta } from '../core/message.js';
import { PlainFileWriter } from './file-writer.js';
import { type CopySpan, RecordBuffer } from './record-buffer.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-file-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const message = (id: string, body: string): Message => ({
  meta: makeMeta({ type: '1', id, timestampNs: 1_700_000_000_000_000_000n, latencyNs: 0n }),
  data: Buffer.from(body),
});

function source(
  name: string,
  count: number,
): { path: string; bytes: Buffer; origin: FileOrigin; records: GorRecord[] } {
  const path = join(dir, name);
  const bytes = Buffer.concat(
    Array.from({ length: count }, (_, i) => encodeRecord(message(`r${i}`, `GET /${i} ${'x'.repeat(i * 37)}`))),
  );
  writeFileSync(path, bytes);
  const fd = openSync(path, 'r');
  const origin = FileOrigin.open(path, fd)!;
  closeSync(fd);
  const reader = new GorRecordReader(() => {});
  const records = [...reader.push(bytes.subarray(0, 200)), ...reader.push(bytes.subarray(200)), ...reader.end()];
  for (const r of records) (r as { origin?: FileOrigin }).origin = origin;
  return { path, bytes, origin, records };
}

/** Writes `parts` through a PlainFileWriter to a new file; returns its bytes and the writer. */
async function writeAll(name: string, parts: ReturnType<RecordBuffer['takeParts']>) {
  const path = join(dir, name);
  const writer = new PlainFileWriter(
    openSync(path, 'a'),
    () => {},
    (err) => assert.fail(String(err)),
  );
  for (const p of parts) writer.write(p);
  await writer.end();
  return { bytes: readFileSync(path), writer };
}

describe('copy spans', { skip: !fileCopyAvailable() && 'the file-copy addon is not built' }, () => {
  it('side-by-side records become one span; a new message or a touched payload is written as bytes', async () => {
    const src = source('spans.gor', 6);
    const buffer = new RecordBuffer(4096);
    buffer.copies = true;
    const [r0, r1, r2, r3, r4, r5] = src.records as [GorRecord, GorRecord, GorRecord, GorRecord, GorRecord, GorRecord];
    void r4.data; // handed out: may have been changed
    const extra = message('new', 'GET /new');
    for (const m of [r0, r1, r2, extra, r3, r4, r5]) buffer.append(m);
    const parts = buffer.takeParts();
    const spans = parts.filter((p): p is CopySpan => !Buffer.isBuffer(p));
    assert.deepEqual(
      spans.map((s) => [s.offset, s.length]),
      [
        [r0.offset, r0.size + r1.size + r2.size], // r0 straddled the first read: its bytes are encoded
        [r3.offset, r3.size],
        [r5.offset, r5.size],
      ],
    );
    for (const s of spans) assert.ok(Buffer.concat(s.bytes).equals(src.bytes.subarray(s.offset, s.offset + s.length)));
    const { bytes, writer } = await writeAll('spans-out.gor', parts);
    const want = Buffer.concat([r0, r1, r2, extra, r3, r4, r5].map((m) => encodeRecord(m)));
    assert.ok(bytes.equals(want));
    assert.equal(writer.copiedBytes, r0.size + r1.size + r2.size + r3.size + r5.size);
    src.origin.release();
  });

  it('contiguous spans queued behind each other are copied as one; the origin is released after', async () => {
    const src = source('merge.gor', 5);
    const parts = src.records.map((r) => {
      const b = new RecordBuffer(4096);
      b.copies = true;
      b.append(r);
      return b.takeParts()[0]!;
    });
    const { bytes, writer } = await writeAll('merge-out.gor', parts);
    assert.ok(bytes.equals(src.bytes));
    assert.equal(writer.copiedBytes, src.bytes.length);
    src.origin.release(); // the owner's reference: the last one once every span is written
    assert.equal(src.origin.acquire(), false);
  });

  it('a source rewritten after it was read: the bytes read are written, not the new ones', async () => {
    const src = source('rewritten.gor', 4);
    const buffer = new RecordBuffer(4096);
    buffer.copies = true;
    for (const r of src.records) buffer.append(r);
    const parts = buffer.takeParts();
    writeFileSync(src.path, Buffer.alloc(src.bytes.length, 0x41)); // same size, other bytes
    const { bytes, writer } = await writeAll('rewritten-out.gor', parts);
    assert.ok(bytes.equals(src.bytes), 'the output holds the bytes that were parsed');
    assert.equal(writer.copyFallbacks, 1);
    assert.equal(writer.copiedBytes, 0);
    src.origin.release();
  });
});
