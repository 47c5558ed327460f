import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { memoryLogger } from '../core/log.js';
import type { RunSummary } from '../core/pipeline.js';
import { groupDigits } from '../core/values.js';
import { formatSummary, statsObject, undeliveredLines } from './summary.js';

it('groups digits exactly as toLocaleString("en-US") does, for whole numbers of any size and sign', () => {
  for (const n of [0, 7, 999, 1000, 12_345, 999_999, 1_000_000, 1_234_567_890, -1000, Number.MAX_SAFE_INTEGER]) {
    assert.equal(groupDigits(n), n.toLocaleString('en-US'), String(n));
  }
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), (n) => {
      assert.equal(groupDigits(n), n.toLocaleString('en-US'));
    }),
    { numRuns: 500 },
  );
});

it('falls back to toLocaleString for what is not a plain whole number', () => {
  for (const n of [1.5, 1e21, Number.NaN, Number.POSITIVE_INFINITY])
    assert.equal(groupDigits(n), n.toLocaleString('en-US'));
});

it('undeliveredLines: an output that did not deliver what it took is named with its counts; others are not', () => {
  const output = (name: string, stats: Record<string, number>) => ({ name, written: 10, lost: 0, stats });
  const summary = {
    outputs: [
      output('output-null', { messages: 10 }),
      output('output-tcp(a:1)', { sent: 4, dropped_while_away: 2, lost_at_close: 4 }),
      output('output-ws(ws://b/)', { sent: 9, not_acknowledged: 5 }),
      output('output-kafka(t)', { acked: 7, failed: 3 }),
      output('output-http-elasticsearch(http://es/x)', { indexed: 10, failed: 0 }),
      output('output-file(r.gor)', { messages: 10, lost_in_removed_file: 4 }),
    ],
  } as unknown as RunSummary;
  assert.deepEqual(undeliveredLines(summary), [
    'output-tcp(a:1): 6 message(s) not delivered (2 dropped while the peer was away, 4 at close)',
    'output-ws(ws://b/): 5 message(s) not delivered (5 not acknowledged by the peer before its connection ended: lost, or possibly lost)',
    'output-kafka(t): 3 message(s) not delivered (3 failed)',
    'output-file(r.gor): 4 message(s) not delivered (4 written to a file that was then removed)',
  ]);
});

it("statsObject: an output taken out of service has its reason under 'error'; its own 'failed' counter keeps its value", () => {
  const summary = {
    durationMs: 1000,
    counters: { messages: 3, bytes: 30, filtered: 0, empty: 0, truncated: 0, routed: 3 },
    inputs: [],
    outputs: [{ name: 'output-kafka(t)', written: 3, lost: 0, stats: { acked: 1, failed: 2 }, failed: 'broker gone' }],
  } as unknown as RunSummary;
  const outputs = statsObject(summary).outputs as Record<string, Record<string, unknown>>;
  assert.equal(outputs['output-kafka(t)']!.failed, 2);
  assert.equal(outputs['output-kafka(t)']!.error, 'broker gone');
});

it('not_passed_on: in the first line and in --stats when some messages were read but not passed on; absent otherwise', () => {
  const summary = (notPassedOn: number) =>
    ({
      durationMs: 1000,
      stopped: true,
      counters: { messages: 3, bytes: 30, filtered: 0, empty: 0, truncated: 0, routed: 3, not_passed_on: notPassedOn },
      inputs: [],
      outputs: [],
      failures: [],
    }) as unknown as RunSummary;
  const first = (n: number) => formatSummary(summary(n), memoryLogger()).split('\n')[0]!;
  assert.match(first(72), /, 72 read but not passed on: the run stopped$/);
  assert.equal(statsObject(summary(72)).not_passed_on, 72);
  assert.doesNotMatch(first(0), /not passed on/);
  assert.equal('not_passed_on' in statsObject(summary(0)), false);
});

it('an output that stopped by choice reads "stopped:", in the summary and in --stats; a failure "failed:"', () => {
  const summary = {
    durationMs: 1000,
    counters: { messages: 3, bytes: 30, filtered: 0, empty: 0, truncated: 0, not_passed_on: 0 },
    inputs: [],
    outputs: [
      { name: 'output-stdout', written: 3, lost: 0, stopped: 'the reader closed the pipe (TAPLINE_ERR_OUTPUT_CLOSED)' },
      { name: 'output-file(x.gor)', written: 1, lost: 2, failed: 'disk full (TAPLINE_ERR_FILE_IO)' },
    ],
    stopped: false,
    failures: [],
  } as unknown as RunSummary;
  const text = formatSummary(summary, memoryLogger());
  assert.match(text, /output-stdout: 3 written; stopped: the reader closed the pipe/);
  assert.match(text, /output-file\(x\.gor\): 1 written, 2 not written .*; failed: disk full/);
  const outputs = statsObject(summary).outputs as Record<string, Record<string, unknown>>;
  assert.equal(outputs['output-stdout']!.stopped, 'the reader closed the pipe (TAPLINE_ERR_OUTPUT_CLOSED)');
  assert.equal(outputs['output-stdout']!.error, undefined);
  assert.equal(outputs['output-file(x.gor)']!.error, 'disk full (TAPLINE_ERR_FILE_IO)');
});
