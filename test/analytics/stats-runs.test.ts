/**
 * --stats on raw runs (core/plugin.ts): the analytics processor has `run`, so a replay to an output that takes
 * runs (--output-file) keeps them on and the native core reads the run's bytes (Analytics.observeRun → scanGor)
 * instead of a record object per message. The accounting must be what observe() of each record gives,
 * including records scanGor leaves to observe() (a CRLF meta line, a last record without its separator).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAnalytics } from '../../src/analytics/index.js';
import { statsAddon } from '../../src/analytics/stats-addon.js';
import { GorRecordReader } from '../../src/core/gor-format.js';
import { createLogger } from '../../src/core/log.js';
import type { Message } from '../../src/core/message.js';
import { Pipeline } from '../../src/core/pipeline.js';
import type { Batch, Input, Output, Processor, RawRun } from '../../src/core/plugin.js';

const SEPARATOR = '\n🐵🙈🙉\n';

function exchanges(n: number, crlfAt = -1): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    const id = `id${i}`;
    const ts = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n;
    const eol = i === crlfAt ? '\r\n' : '\n';
    out += `1 ${id} ${ts} 0${eol}GET /items/${i % 7}?q=${i} HTTP/1.1\r\nHost: h${i % 3}\r\n\r\n${SEPARATOR}`;
    out += `2 ${id} ${ts + 500_000n} 0\nHTTP/1.1 ${i % 5 === 0 ? 404 : 200} OK\r\nContent-Length: 2\r\n\r\nok${SEPARATOR}`;
  }
  return out;
}

/** A run over `bytes` in `pieces` parts cut at record boundaries; records() as the reader reads them. */
function runOf(bytes: Buffer, pieces: number): { run: RawRun; records: Message[] } {
  const reader = new GorRecordReader(() => {});
  const records: Message[] = [...reader.push(bytes), ...reader.end()];
  const cuts: number[] = [0];
  let at = 0;
  for (let p = 1; p < pieces; p++) {
    at = bytes.indexOf(SEPARATOR, Math.floor((p * bytes.length) / pieces));
    if (at < 0) break;
    cuts.push(at + Buffer.byteLength(SEPARATOR));
  }
  cuts.push(bytes.length);
  const parts = cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], end));
  const run: RawRun = {
    kind: 'raw-run',
    count: records.length,
    payloadBytes: records.reduce((n, r) => n + r.data.length, 0),
    maxPayload: Math.max(...records.map((r) => r.data.length)),
    bytes: bytes.length,
    parts,
    records: () => records,
  };
  return { run, records };
}

const skip = statsAddon() ? false : 'the tapline_stats addon is not built';

describe('--stats on raw runs', () => {
  it('a processor with run keeps raw runs on and sees each run; one without turns them off', async () => {
    const { run, records } = runOf(Buffer.from(exchanges(20)), 3);
    for (const withRun of [true, false]) {
      const seen: string[] = [];
      const written: string[] = [];
      const input: Input = {
        name: 'runs',
        async *read(): AsyncIterable<Batch> {
          yield records;
        },
        async *readRuns(): AsyncIterable<Batch | RawRun> {
          yield run;
        },
        close: async () => {},
      };
      const output: Output = {
        name: 'sink',
        write: () => void written.push('message'),
        runFits: () => true,
        writeRun: (r) => void written.push(`run of ${r.count}`),
        close: async () => {},
      };
      const look = (msg: Message) => {
        seen.push('message');
        return msg;
      };
      const processor: Processor = withRun
        ? Object.assign(look, { run: (r: RawRun) => void seen.push(`run of ${r.count}`) })
        : look;
      const log = createLogger({ write: () => {} });
      const summary = await new Pipeline({ inputs: [input], outputs: [output], log, processors: [processor] }).run();
      assert.equal(summary.counters.messages, 40);
      if (withRun) {
        assert.deepEqual(seen, ['run of 40']);
        assert.deepEqual(written, ['run of 40']);
      } else {
        assert.equal(seen.length, 40);
        assert.equal(written.length, 40);
      }
    }
  });

  it('observeRun accounts what observe() of each record does', { skip }, () => {
    // A CRLF meta line (record 61: scanGor stops there) and a last record without its separator.
    const text = exchanges(300, 30);
    const cases = [
      { name: 'plain, 1 part', bytes: Buffer.from(exchanges(300)), pieces: 1 },
      { name: 'plain, 4 parts', bytes: Buffer.from(exchanges(300)), pieces: 4 },
      { name: 'a CRLF record', bytes: Buffer.from(text), pieces: 3 },
      { name: 'no last separator', bytes: Buffer.from(text.slice(0, -SEPARATOR.length)), pieces: 2 },
    ];
    for (const c of cases) {
      const { run, records } = runOf(c.bytes, c.pieces);
      const byRun = createAnalytics({ timeBase: 'input' });
      byRun.observeRun(run);
      byRun.finish();
      const byRecord = createAnalytics({ timeBase: 'input' });
      for (const r of records) byRecord.observe(r);
      byRecord.finish();
      const got = byRun.snapshot();
      assert.equal(got.total_requests, 300, c.name);
      assert.deepEqual(got, byRecord.snapshot(), c.name);
    }
  });
});
