/**
 * The foundation's promise on real recordings: every corpus `.gor` file is read with the record counts of
 * its truth file, and copied byte for byte by `--input-file X --output-file Y --output-file-append`, at
 * several speed settings (files that end with a separator; the others are read, and rewritten normalised).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { encodeRecord, SEPARATOR } from '../../src/core/gor-format.js';
import { makeMeta } from '../../src/core/message.js';
import { runTapline } from '../support/cli.js';
import { corpusFiles, readTruth } from '../support/corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-e2e-copy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function spanSeconds(file: string): number {
  const truth = readTruth(file);
  const ts = [...truth.requests, ...truth.responses, ...truth.replayed_responses].map(
    (r: { timestamp_ns: string | number }) => BigInt(r.timestamp_ns),
  );
  if (ts.length === 0) return 0;
  const min = ts.reduce((a: bigint, b: bigint) => (b < a ? b : a));
  const max = ts.reduce((a: bigint, b: bigint) => (b > a ? b : a));
  return Number(max - min) / 1e9;
}

describe('corpus .gor files through the CLI', () => {
  for (const file of corpusFiles(['.gor'])) {
    const name = basename(file);
    const original = readFileSync(file);
    const terminated = original.subarray(-SEPARATOR.length).equals(SEPARATOR);
    const span = spanSeconds(file);
    // Every file at |max and at a high multiplier; short recordings also in real time and at 10x.
    const speeds = ['|max', '|100000%', ...(span / 10 < 3 ? ['|1000%'] : []), ...(span < 3 ? [''] : [])];
    for (const speed of speeds) {
      it(`${name} copied${speed ? ` at ${speed.slice(1)}` : ' at recorded speed'}`, async () => {
        const out = join(dir, `${name}${speed.replace(/[|%]/g, '_')}.copy.gor`);
        const res = await runTapline(
          ['--input-file', `${file}${speed}`, '--output-file', out, '--output-file-append'],
          {
            timeoutMs: 20_000,
          },
        );
        assert.equal(res.code, 0, res.stderr);
        const copy = readFileSync(out);
        const truth = readTruth(file);
        const records = copy.toString('latin1').split(SEPARATOR.toString('latin1')).length - 1;
        assert.equal(records, truth.counts.records, 'record count');
        if (terminated) {
          assert.ok(copy.equals(original), `${name}: the copy differs from the original`);
        } else {
          // Files without a final separator come out with one. python-goreplay-test.gor also has 12 records
          // whose timestamps go backwards; input-file replays in timestamp order (as gor does), so the copy
          // holds the same records, re-sorted: compare them as sets, and check the copy is in time order.
          const split = (b: Buffer) => b.toString('latin1').split(SEPARATOR.toString('latin1'));
          const eofCore = SEPARATOR.subarray(0, 13).toString('latin1');
          const want = split(original)
            .map((r) => (r.endsWith(eofCore) ? r.slice(0, -eofCore.length) : r))
            .filter((r) => r.length > 0);
          const got = split(copy).slice(0, -1);
          assert.deepEqual([...got].sort(), [...want].sort());
          const stamps = got.map((r) => BigInt(r.slice(0, r.indexOf('\n')).split(' ')[2]!));
          assert.ok(
            stamps.every((t, i) => i === 0 || t >= stamps[i - 1]!),
            'copy is in timestamp order',
          );
        }
      });
    }
  }

  it('--output-stdout writes the same bytes as the file', async () => {
    const file = corpusFiles(['datadog-ecommerce-requests_0.gor'])[0]!;
    const res = await runTapline(['--input-file', `${file}|max`, '--output-stdout']);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.stdout.equals(readFileSync(file)));
  });
});

/**
 * Copies where records do not pass straight through, on a generated multi-batch file (records across read
 * boundaries): appending after existing bytes, chunks by size, a modifier, a limiter, .gz, files merged by a
 * glob and two inputs into one output. Each case checks every byte it can predict.
 */
describe('copies with something in the middle', () => {
  const work = mkdtempSync(join(tmpdir(), 'tapline-e2e-copy-mid-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  /** `count` requests of 100 B to 3 KiB, 1 ms apart from `t0Ms`: several batches and reads, records across reads. */
  const generate = (path: string, count: number, t0Ms: number, idPrefix: string): Buffer => {
    const parts: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const body = 'x'.repeat((i * 7919) % 3000);
      const meta = makeMeta({
        type: '1',
        id: `${idPrefix}${i}`,
        timestampNs: BigInt(t0Ms + i) * 1_000_000n,
        latencyNs: 0n,
      });
      const data = Buffer.from(
        `POST /item/${i} HTTP/1.1\r\nHost: example.test\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      parts.push(encodeRecord({ meta, data }));
    }
    const bytes = Buffer.concat(parts);
    writeFileSync(path, bytes);
    return bytes;
  };
  const src = join(work, 'src.gor');
  const original = generate(src, 3000, 1_700_000_000_000, 'a');

  const run = async (args: string[]): Promise<void> => {
    const res = await runTapline(args, { timeoutMs: 30_000 });
    assert.equal(res.code, 0, res.stderr);
  };
  const records = (b: Buffer): string[] => b.toString('latin1').split(SEPARATOR.toString('latin1')).slice(0, -1);

  it('appends after what the file already holds', async () => {
    const out = join(work, 'existing.gor');
    const head = Buffer.from('already here\n');
    writeFileSync(out, head);
    await run(['--input-file', `${src}|max`, '--output-file', out, '--output-file-append']);
    assert.ok(readFileSync(out).equals(Buffer.concat([head, original])));
  });

  it('chunks by --output-file-size-limit: the chunks, in order, are the original', async () => {
    const dir = mkdtempSync(join(work, 'chunks-'));
    await run([
      '--input-file',
      `${src}|max`,
      '--output-file',
      join(dir, 'part.gor'),
      '--output-file-size-limit',
      '1mb',
      '--output-file-queue-limit',
      '0',
    ]);
    const names = readdirSync(dir).sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
    assert.ok(names.length >= 3, `chunks: ${names.join(', ')}`);
    assert.ok(Buffer.concat(names.map((n) => readFileSync(join(dir, n)))).equals(original));
  });

  it('a modifier in the middle: every record written modified, in order', async () => {
    const out = join(work, 'modified.gor');
    await run([
      '--input-file',
      `${src}|max`,
      '--output-file',
      out,
      '--output-file-append',
      '--http-set-header',
      'X-Copy: 1',
    ]);
    const got = records(readFileSync(out));
    assert.equal(got.length, 3000);
    got.forEach((rec, i) => {
      assert.ok(rec.startsWith(`1 a${i} `), `record ${i} out of order`);
      assert.ok(rec.includes('\r\nX-Copy: 1\r\n'), `record ${i} not modified`);
    });
  });

  it('a limiter in the middle (|50%): the records that pass, each one exact, in order', async () => {
    const out = join(work, 'limited.gor');
    await run(['--input-file', `${src}|max`, '--output-file', `${out}|50%`, '--output-file-append']);
    const got = records(readFileSync(out));
    const want = records(original);
    assert.ok(got.length > 0 && got.length < want.length, `${got.length} of ${want.length} passed`);
    let at = 0;
    for (const rec of got) {
      while (at < want.length && want[at] !== rec) at++;
      assert.ok(at < want.length, 'a record that is not an input record, or out of order');
      at++;
    }
  });

  it('a .gz output decompresses to the original', async () => {
    const out = join(work, 'out.gor.gz');
    await run(['--input-file', `${src}|max`, '--output-file', out, '--output-file-append']);
    assert.ok(gunzipSync(readFileSync(out)).equals(original));
  });

  it('files merged by a glob: equal timestamps alternate, earlier file first', async () => {
    const dir = mkdtempSync(join(work, 'merge-'));
    const p1 = records(generate(join(dir, 'p1.gor'), 1500, 1_700_000_000_000, 'b'));
    const p2 = records(generate(join(dir, 'p2.gor'), 1500, 1_700_000_000_000, 'c'));
    const out = join(work, 'merged.gor');
    await run(['--input-file', `${join(dir, 'p*.gor')}|max`, '--output-file', out, '--output-file-append']);
    assert.deepEqual(
      records(readFileSync(out)),
      p1.flatMap((r, i) => [r, p2[i]!]),
    );
  });

  it('two --input-file flags into one output: every record exact, each file in its order', async () => {
    const dir = mkdtempSync(join(work, 'two-'));
    const a = generate(join(dir, 'a.gor'), 1500, 1_700_000_000_000, 'd');
    const b = generate(join(dir, 'b.gor'), 1500, 1_700_000_000_000, 'e');
    const out = join(work, 'two.gor');
    await run([
      '--input-file',
      `${join(dir, 'a.gor')}|max`,
      '--input-file',
      `${join(dir, 'b.gor')}|max`,
      '--output-file',
      out,
      '--output-file-append',
    ]);
    const got = records(readFileSync(out));
    assert.equal(got.length, 3000);
    assert.deepEqual(
      got.filter((r) => r.startsWith('1 d')),
      records(a),
    );
    assert.deepEqual(
      got.filter((r) => r.startsWith('1 e')),
      records(b),
    );
  });
});
