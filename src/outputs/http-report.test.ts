/**
 * ReplayReport: answered() (the native sender's results when no response is kept, no outcome object) counts
 * what record() counts for the same answers (so the summary does not depend on the path taken), and what a
 * model of the counters says.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { JobOutcome } from './http-pool.js';
import { ReplayReport } from './http-report.js';

const answer = fc.record({
  status: fc.oneof(fc.constantFrom(100, 200, 204, 302, 404, 503), fc.integer({ min: 0, max: 999 })),
  latencyMs: fc.oneof(fc.double({ min: 0, max: 60_000, noNaN: true }), fc.constantFrom(0, 0.0005, 1, 12.5)),
  responseBytes: fc.nat({ max: 1 << 20 }),
});

test('answered() counts what record() counts for the same answers', () => {
  fc.assert(
    fc.property(fc.array(answer, { maxLength: 200 }), (answers) => {
      const viaRecord = new ReplayReport();
      const viaAnswered = new ReplayReport();
      for (const a of answers) {
        const outcome: JobOutcome = {
          ok: true,
          status: a.status,
          reason: undefined,
          detail: undefined,
          response: undefined,
          startedMs: 0,
          latencyMs: a.latencyMs,
          responseBytes: a.responseBytes,
          truncated: false,
          redirects: 0,
        };
        viaRecord.record(outcome);
        viaAnswered.answered(a.status, a.latencyMs, a.responseBytes);
      }
      viaAnswered.finished();
      const strip = (r: ReplayReport) => {
        const { rate_per_s: _rate, pace_vs_capture: _pace, ...rest } = r.stats({});
        return rest;
      };
      assert.deepEqual(strip(viaAnswered), strip(viaRecord));
      // And against a model of the counters written here.
      const c = viaAnswered.counters;
      assert.equal(c.requests, answers.length);
      assert.equal(c.responses, answers.length);
      assert.equal(c.errors, 0);
      assert.equal(
        c.response_bytes,
        answers.reduce((n, a) => n + a.responseBytes, 0),
      );
      const cls = (lo: number) => answers.filter((a) => a.status >= lo && a.status < lo + 100).length;
      assert.deepEqual(
        [c.status_1xx, c.status_2xx, c.status_3xx, c.status_4xx, c.status_5xx, c.status_other],
        [
          cls(100),
          cls(200),
          cls(300),
          cls(400),
          cls(500),
          answers.length - cls(100) - cls(200) - cls(300) - cls(400) - cls(500),
        ],
      );
      assert.equal(viaAnswered.latency.count, answers.length);
      assert.equal(viaAnswered.latency.max, Math.max(0, ...answers.map((a) => a.latencyMs)));
    }),
    { numRuns: 300 },
  );
});
