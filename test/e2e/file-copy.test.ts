/**
 * The foundation's promise on real recordings: every corpus `.gor` file is read with the record counts of
 * its truth file, and copied byte for byte by `--input-file X --output-file Y --output-file-append`, at
 * several speed settings (files that end with a separator; the others are read, and rewritten normalised).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { fileCopyAvailable } from '../../src/core/file-copy.js';
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
 * In-kernel copies (core/file-copy.ts): where they apply the output is the same bytes and `copied_bytes`
 * (from --stats) says the kernel copied them; where they must not (a modifier, .gz, …) nothing is copied
 * and the output is what the byte path writes (TAPLINE_FILE_COPY=off); where the kernel refuses, the bytes
 * are written from memory. Skipped without the native addon (not built, not Linux).
 */
describe('in-kernel copies (copy_file_range)', {
  skip: !fileCopyAvailable() && 'the file-copy addon is not built',
}, () => {
  const work = mkdtempSync(join(tmpdir(), 'tapline-e2e-kcopy-'));
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

  interface Run {
    stderr: string;
    out: { copied_bytes: number; copy_fallbacks: number; messages: number };
  }
  /** Runs the CLI with --stats (and `env` set meanwhile: tests in this file run one at a time). */
  const run = async (args: string[], env: Record<string, string> = {}): Promise<Run> => {
    const saved = Object.keys(env).map((k) => [k, process.env[k]] as const);
    Object.assign(process.env, env);
    try {
      const res = await runTapline([...args, '--stats'], { timeoutMs: 30_000 });
      assert.equal(res.code, 0, res.stderr);
      const line = res.stderr.split('\n').find((l) => l.startsWith('{"elapsed_s"'));
      assert.ok(line, `no --stats line in ${res.stderr}`);
      const outputs = Object.values(JSON.parse(line).outputs) as Run['out'][];
      return { stderr: res.stderr, out: outputs[0]! };
    } finally {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  };
  const records = (b: Buffer): string[] => b.toString('latin1').split(SEPARATOR.toString('latin1')).slice(0, -1);

  it('a plain copy is byte-identical and made by the kernel', async () => {
    const out = join(work, 'plain.gor');
    const r = await run(['--input-file', `${src}|max`, '--output-file', out, '--output-file-append']);
    assert.ok(readFileSync(out).equals(original), 'the copy differs from the original');
    assert.ok(r.out.copied_bytes > original.length / 2, `copied ${r.out.copied_bytes} of ${original.length} bytes`);
    assert.equal(r.out.copy_fallbacks, 0);
  });

  it('appends after what the file already holds', async () => {
    const out = join(work, 'existing.gor');
    const head = Buffer.from('already here\n');
    writeFileSync(out, head);
    const r = await run(['--input-file', `${src}|max`, '--output-file', out, '--output-file-append']);
    assert.ok(readFileSync(out).equals(Buffer.concat([head, original])));
    assert.ok(r.out.copied_bytes > 0);
  });

  it('chunks by --output-file-size-limit: the chunks, in order, are the original', async () => {
    const dir = mkdtempSync(join(work, 'chunks-'));
    const r = await run([
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
    assert.ok(r.out.copied_bytes > 0);
  });

  it('a modifier in the middle: nothing is copied, the modified records are written', async () => {
    const out = join(work, 'modified.gor');
    const ref = join(work, 'modified-ref.gor');
    const args = (o: string) => [
      '--input-file',
      `${src}|max`,
      '--output-file',
      o,
      '--output-file-append',
      '--http-set-header',
      'X-Copy: 1',
    ];
    const r = await run(args(out));
    await run(args(ref), { TAPLINE_FILE_COPY: 'off' });
    const copy = readFileSync(out);
    assert.ok(copy.equals(readFileSync(ref)), 'differs from the byte path');
    assert.equal(records(copy).length, 3000);
    assert.ok(records(copy).every((rec) => rec.includes('X-Copy: 1')));
    assert.equal(r.out.copied_bytes, 0);
  });

  it('a limiter in the middle (|50%): the records that pass, each one exact, in order', async () => {
    const out = join(work, 'limited.gor');
    const r = await run(['--input-file', `${src}|max`, '--output-file', `${out}|50%`, '--output-file-append']);
    const got = records(readFileSync(out));
    const want = records(original);
    assert.ok(got.length > 0 && got.length < want.length, `${got.length} of ${want.length} passed`);
    let at = 0;
    for (const rec of got) {
      while (at < want.length && want[at] !== rec) at++;
      assert.ok(at < want.length, 'a record that is not an input record, or out of order');
      at++;
    }
    assert.equal(r.out.messages, got.length);
  });

  it('a .gz output: compressed bytes, nothing copied', async () => {
    const out = join(work, 'out.gor.gz');
    const r = await run(['--input-file', `${src}|max`, '--output-file', out, '--output-file-append']);
    assert.ok(gunzipSync(readFileSync(out)).equals(original));
    assert.equal(r.out.copied_bytes, 0);
  });

  it('files merged by a glob: the same bytes as the byte path', async () => {
    const dir = mkdtempSync(join(work, 'merge-'));
    generate(join(dir, 'p1.gor'), 1500, 1_700_000_000_000, 'b');
    generate(join(dir, 'p2.gor'), 1500, 1_700_000_000_000, 'c'); // same timestamps: interleaved record by record
    const out = join(work, 'merged.gor');
    const ref = join(work, 'merged-ref.gor');
    const args = (o: string) => [
      '--input-file',
      `${join(dir, 'p*.gor')}|max`,
      '--output-file',
      o,
      '--output-file-append',
    ];
    await run(args(out));
    await run(args(ref), { TAPLINE_FILE_COPY: 'off' });
    const copy = readFileSync(out);
    assert.equal(records(copy).length, 3000);
    assert.ok(copy.equals(readFileSync(ref)), 'differs from the byte path');
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
    assert.deepEqual(
      got.filter((r) => r.startsWith('1 d')),
      records(a),
    );
    assert.deepEqual(
      got.filter((r) => r.startsWith('1 e')),
      records(b),
    );
    assert.equal(got.length, 3000);
  });

  it('the kernel refuses part way (EXDEV after 100,000 bytes): the rest is written from memory', async () => {
    const out = join(work, 'refused.gor');
    const r = await run(['--input-file', `${src}|max`, '--output-file', out, '--output-file-append'], {
      TAPLINE_TEST_COPY_FAIL: `${osConstants.errno.EXDEV}@100000`,
    });
    assert.ok(readFileSync(out).equals(original), 'the copy differs from the original');
    assert.equal(r.out.copied_bytes, 100_000);
    assert.equal(r.out.copy_fallbacks, 1, 'copying stops after the first refusal');
  });

  const shm = '/dev/shm';
  const crossFs = existsSync(shm) && statSync(shm).dev !== statSync(work).dev;
  it('across file systems (tmpfs to the temp dir): a real refusal, the same bytes', {
    skip: !crossFs && 'no second file system',
  }, async () => {
    const dir = mkdtempSync(join(shm, 'tapline-kcopy-'));
    try {
      const input = join(dir, 'src.gor');
      writeFileSync(input, original);
      const out = join(work, 'cross.gor');
      const r = await run(['--input-file', `${input}|max`, '--output-file', out, '--output-file-append']);
      assert.ok(readFileSync(out).equals(original), 'the copy differs from the original');
      assert.ok(r.out.copied_bytes === 0 || r.out.copied_bytes === original.length, `${r.out.copied_bytes} copied`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
