/**
 * Raw runs (core/plugin.ts, file-source.ts takeRun()) must leave exactly what the record-by-record path
 * leaves: the same output bytes, counters, stats and warnings, whatever the records (out of order, bad
 * timestamps, empty payloads, malformed, CRLF, cut by read boundaries, unterminated) and the limits.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { collect, startTapline } from '../../test/support/cli.js';
import { corpusFiles } from '../../test/support/corpus.js';
import { SEPARATOR } from '../core/gor-format.js';
import { memoryLogger } from '../core/log.js';
import { Pipeline, type RunSummary } from '../core/pipeline.js';
import { type Batch, type Input, isRawRun, type RawRun } from '../core/plugin.js';
import { fileOutput } from '../outputs/file.js';
import { fileInput } from './file.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-raw-runs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Kind = 'good' | 'back' | 'nan' | 'empty' | 'malformed' | 'crlf';
interface Rec {
  kind: Kind;
  payload: number;
  /** Payload holds a separator look-alike (`\n🐵🙈🙉` followed by another byte). */
  lookalike: boolean;
}

function encodeFile(recs: readonly Rec[], terminated: boolean): Buffer {
  const parts: Buffer[] = [];
  let ts = 1_600_000_000_000_000_000n;
  recs.forEach((r, i) => {
    ts += 1000n;
    const stamp = r.kind === 'nan' ? 'abc' : String(r.kind === 'back' ? ts - 500_000n : ts);
    const meta = r.kind === 'malformed' ? 'not-a-meta-line' : `1 ${i.toString(16).padStart(8, '0')} ${stamp}`;
    let body = Buffer.alloc(r.kind === 'empty' ? 0 : r.payload, 0x61 + (i % 26));
    if (r.lookalike && body.length > 0) body = Buffer.concat([body, Buffer.from('\n🐵🙈🙉x', 'utf8'), body]);
    const nl = r.kind === 'crlf' ? '\r\n' : '\n';
    const last = i === recs.length - 1;
    parts.push(Buffer.from(meta + nl, 'latin1'), body);
    if (!last || terminated) parts.push(r.kind === 'crlf' ? Buffer.from('\r\n🐵🙈🙉\r\n', 'utf8') : SEPARATOR);
  });
  return Buffer.concat(parts);
}

const recArb: fc.Arbitrary<Rec> = fc.record({
  kind: fc.constantFrom<Kind>(
    'good',
    'good',
    'good',
    'good',
    'good',
    'good',
    'back',
    'nan',
    'empty',
    'malformed',
    'crlf',
  ),
  // Mostly small records; some big enough to cross the reader's growing reads (16 KiB, 64 KiB, …).
  payload: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 400 }) }, fc.integer({ min: 5000, max: 40_000 })),
  lookalike: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
});

interface Outcome {
  bytes: Buffer;
  summary: Omit<RunSummary, 'durationMs'>;
  log: string[];
  runs: number;
}

/** Counts the raw runs an input hands over. */
function counting(input: Input, seen: { runs: number }): Input {
  if (!input.readRuns) return input;
  const readRuns = input.readRuns.bind(input);
  return {
    ...input,
    read: input.read.bind(input),
    close: input.close.bind(input),
    async *readRuns(): AsyncGenerator<Batch | RawRun> {
      for await (const item of readRuns()) {
        if (isRawRun(item)) seen.runs++;
        yield item;
      }
    },
  };
}

async function copy(
  file: string,
  raw: boolean | undefined,
  o: { depth: number; copyBufferSize: number; maxSize: number; inputs?: number; chunks?: [number, number] },
): Promise<Outcome> {
  const outDir = join(dir, 'out');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir);
  const out = join(outDir, 'out.gor');
  const log = memoryLogger();
  const seen = { runs: 0 };
  const inputs = Array.from({ length: o.inputs ?? 1 }, () =>
    counting(fileInput({ patterns: [file], speed: Number.POSITIVE_INFINITY, readDepth: o.depth, log }), seen),
  );
  const pipeline = new Pipeline({
    inputs,
    outputs: [
      fileOutput({
        path: out,
        maxSizeLimit: o.maxSize,
        // Chunks: [--output-file-queue-limit, --output-file-size-limit]; else appending.
        ...(o.chunks ? { queueLimit: o.chunks[0], sizeLimit: o.chunks[1] } : { append: true }),
      }),
    ],
    copyBufferSize: o.copyBufferSize,
    ...(raw === undefined ? {} : { rawRuns: raw }),
    log,
  });
  const { durationMs: _, ...summary } = await pipeline.run();
  // Every file written, with its name (chunks: out_0.gor, out_1.gor, …).
  const files = readdirSync(outDir).sort();
  const bytes = Buffer.concat(files.flatMap((f) => [Buffer.from(`${f}\0`), readFileSync(join(outDir, f))]));
  const appended = o.chunks === undefined && existsSync(out);
  return { bytes: appended ? readFileSync(out) : bytes, summary, log: log.lines, runs: seen.runs };
}

describe('raw runs leave what record by record leaves', () => {
  it('random files: same bytes, counters, stats and warnings (fast-check)', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(recArb, { minLength: 0, maxLength: 600 }),
        fc.boolean(),
        fc.constantFrom(1, 2, 7, 100, 150),
        fc.constantFrom(0, 0, 0, 300),
        fc.constantFrom(0, 0, 0, 50_000),
        // Appending, or chunks by record count and/or size (default 256 records, 32 MiB).
        fc.constantFrom<[number, number] | undefined>(undefined, undefined, [256, 0], [1, 0], [37, 20_000], [0, 5000]),
        async (recs, terminated, depth, copyBufferSize, maxSize, chunks) => {
          const file = join(dir, 'in.gor');
          writeFileSync(file, encodeFile(recs, terminated));
          const o = { depth, copyBufferSize, maxSize, ...(chunks ? { chunks } : {}) };
          const before = await copy(file, false, o);
          const now = await copy(file, true, o);
          assert.equal(before.runs, 0);
          assert.ok(now.bytes.equals(before.bytes), 'output bytes');
          assert.deepEqual(now.summary, before.summary);
          // The same warnings; their order may differ: a raw run is taken after the records behind it were
          // parsed, so a bad timestamp (said when its record is taken) can come after a later record's problem.
          assert.deepEqual([...now.log].sort(), [...before.log].sort());
          runs += now.runs;
        },
      ),
      { numRuns: 40 },
    );
    assert.ok(runs > 0, 'some of the random files went as raw runs');
  });

  it('a clean file goes as raw runs and is copied byte for byte', async () => {
    const recs: Rec[] = Array.from({ length: 3000 }, (_, i) => ({
      kind: 'good',
      payload: 200 + ((i * 37) % 900),
      lookalike: i % 97 === 0,
    }));
    const file = join(dir, 'clean.gor');
    const original = encodeFile(recs, true);
    writeFileSync(file, original);
    const o = { depth: 100, copyBufferSize: 0, maxSize: 0 };
    const now = await copy(file, true, o);
    assert.ok(now.runs > 0, 'raw runs were taken');
    assert.ok(now.bytes.equals(original));
    assert.deepEqual(now.summary, (await copy(file, false, o)).summary);
  });

  it('chunked output (queue and size limits): runs cut where write() starts the next chunk', async () => {
    const recs: Rec[] = Array.from({ length: 3000 }, (_, i) => ({
      kind: 'good',
      payload: 200 + ((i * 37) % 900),
      lookalike: false,
    }));
    const file = join(dir, 'chunks.gor');
    writeFileSync(file, encodeFile(recs, true));
    for (const chunks of [
      [256, 0],
      [37, 20_000],
      [0, 100_000],
      [1000, 1],
    ] as [number, number][]) {
      const o = { depth: 100, copyBufferSize: 0, maxSize: 0, chunks };
      const before = await copy(file, false, o);
      const now = await copy(file, true, o);
      assert.ok(now.runs > 0, `raw runs with chunks ${chunks}`);
      assert.ok(now.bytes.equals(before.bytes), `chunks ${chunks}: same files, same bytes`);
      assert.deepEqual(now.summary, before.summary);
    }
  });

  it('two inputs (merged by the pipeline) and records out of order within the window', async () => {
    const recs: Rec[] = Array.from({ length: 2500 }, (_, i) => ({
      kind: i % 211 === 5 ? 'back' : 'good',
      payload: 100 + (i % 700),
      lookalike: false,
    }));
    const file = join(dir, 'back.gor');
    writeFileSync(file, encodeFile(recs, true));
    for (const inputs of [1, 2]) {
      const o = { depth: 100, copyBufferSize: 0, maxSize: 0, inputs };
      const before = await copy(file, false, o);
      const now = await copy(file, true, o);
      assert.ok(now.runs > 0, `raw runs with ${inputs} input(s)`);
      if (inputs === 1) assert.ok(now.bytes.equals(before.bytes), 'output bytes');
      else {
        // The pipeline interleaves inputs batch by batch as they come (a run is a bigger batch): the same
        // records, each input's in its order.
        const split = (b: Buffer) => b.toString('latin1').split(SEPARATOR.toString('latin1')).slice(0, -1);
        assert.deepEqual(split(now.bytes).sort(), split(before.bytes).sort());
        // Each input's order: the first and the second time each record shows are both in the order of a
        // one-input copy.
        const order = split((await copy(file, false, { ...o, inputs: 1 })).bytes).map((r) =>
          r.slice(0, r.indexOf('\n')),
        );
        const ids = split(now.bytes).map((r) => r.slice(0, r.indexOf('\n')));
        const seen = new Set<string>();
        const first = ids.filter((id) => !seen.has(id) && seen.add(id));
        const second = ids.filter((id, i) => ids.indexOf(id) !== i);
        assert.deepEqual(first, order);
        assert.deepEqual(second, order);
      }
      assert.deepEqual(now.summary, before.summary);
      assert.deepEqual(now.log, before.log);
    }
  });

  it('every corpus .gor file: raw runs taken, the same copy as record by record (byte for byte when terminated)', async () => {
    const o = { depth: 100, copyBufferSize: 0, maxSize: 0 };
    for (const file of corpusFiles(['.gor'])) {
      const original = readFileSync(file);
      const before = await copy(file, false, o);
      const now = await copy(file, true, o);
      assert.ok(now.runs > 0, `${file}: raw runs`);
      assert.ok(now.bytes.equals(before.bytes), `${file}: bytes`);
      assert.deepEqual(now.summary, before.summary);
      assert.deepEqual(now.log, before.log);
      if (original.subarray(-SEPARATOR.length).equals(SEPARATOR)) assert.ok(now.bytes.equals(original), file);
    }
  });

  it('TAPLINE_RAW_RUNS=off turns raw runs off', async () => {
    const file = corpusFiles(['datadog-ecommerce-requests_0.gor'])[0]!;
    const o = { depth: 100, copyBufferSize: 0, maxSize: 0 };
    const saved = process.env.TAPLINE_RAW_RUNS;
    try {
      process.env.TAPLINE_RAW_RUNS = 'off';
      const off = await copy(file, undefined, o);
      delete process.env.TAPLINE_RAW_RUNS;
      const on = await copy(file, undefined, o);
      assert.equal(off.runs, 0);
      assert.ok(on.runs > 0);
      assert.ok(on.bytes.equals(off.bytes));
    } finally {
      if (saved === undefined) delete process.env.TAPLINE_RAW_RUNS;
      else process.env.TAPLINE_RAW_RUNS = saved;
    }
  });

  it('SIGINT in the middle of a raw copy: exit 0, the copy is a prefix of whole records, as many as written', async () => {
    const recs: Rec[] = Array.from({ length: 60_000 }, (_, i) => ({
      kind: 'good',
      payload: 900 + (i % 300),
      lookalike: false,
    }));
    const file = join(dir, 'big.gor');
    const original = encodeFile(recs, true);
    writeFileSync(file, original);
    const out = join(dir, 'sigint.gor');
    rmSync(out, { force: true });
    const child = startTapline(['--input-file', `${file}|max`, '--output-file', out, '--output-file-append']);
    const done = collect(child, 30_000);
    // Signal once the copy has started (it may also finish first: then the copy is whole).
    for (let i = 0; i < 2000 && !(existsSync(out) && statSync(out).size > 0) && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGINT');
    const res = await done;
    assert.equal(res.code, 0, res.stderr);
    const copied = readFileSync(out);
    assert.ok(original.subarray(0, copied.length).equals(copied), 'a prefix of the input');
    const records = copied.toString('latin1').split(SEPARATOR.toString('latin1')).length - 1;
    assert.ok(copied.length === 0 || copied.subarray(-SEPARATOR.length).equals(SEPARATOR), 'whole records');
    const written = /output-file\([^)]*\): (\d+) written/.exec(res.stderr);
    assert.ok(written, res.stderr);
    assert.equal(Number(written[1]), records, 'every record counted as written is in the file');
  });
});
