/**
 * What one `--output-http` did, for --stats and the summary at exit: requests sent, responses by status
 * class, failures by reason, redirects, tracked responses, latency percentiles, and the rate achieved next to
 * the rate the requests were captured at (so `|10000%` that reached only 40× shows as such).
 *
 * Field names are stable (docs/replay.md lists them); zero fields are left out of the summary line.
 */
import { LatencyHistogram } from '../core/latency-histogram.js';
import type { FailureReason } from './http-connection.js';
import type { JobOutcome } from './http-pool.js';

export class ReplayReport {
  readonly counters = {
    /** Exchanges finished (answered or failed). */
    requests: 0,
    responses: 0,
    status_1xx: 0,
    status_2xx: 0,
    status_3xx: 0,
    status_4xx: 0,
    status_5xx: 0,
    status_other: 0,
    errors: 0,
    error_connect_refused: 0,
    error_connect_failed: 0,
    error_dns: 0,
    error_tls: 0,
    error_reset: 0,
    error_timeout: 0,
    error_bad_response: 0,
    error_closed: 0,
    redirects_followed: 0,
    /** Messages this output was given that are not requests (gor ignores them too). */
    not_request_ignored: 0,
    /** Type-1 messages that do not start with an HTTP request line. */
    not_http_skipped: 0,
    /** Requests whose head used bare LF line ends, sent with CRLF (as gor's parser and client do). */
    bare_lf_converted: 0,
    /** CONNECT requests are not replayed (as gor). */
    connect_skipped: 0,
    /**
     * Requests recorded incomplete (meta `incomplete=REASON`, or framing that says more is coming than the
     * record holds): not sent, as gor; the target would wait for the rest.
     */
    incomplete_skipped: 0,
    /** Requests whose body framing gor's parser refuses (differing Content-Lengths, one not a number, …). */
    bad_framing_skipped: 0,
    /** Bytes after a request's framed end (gor ignores them; sent, the target would read another request). */
    bytes_after_request_ignored: 0,
    responses_tracked: 0,
    /** Tracked responses cut to --output-http-response-buffer. */
    responses_truncated: 0,
    /** Tracked responses not emitted because the pipeline had fallen too far behind reading them. */
    responses_dropped: 0,
    /**
     * Answers the target sent that no request asked for (a second response after one, bytes on an idle
     * connection): dropped, and the connection closed (http-connection.ts onUnsolicited).
     */
    unsolicited_responses: 0,
    /**
     * Requests sent again, once, on a new connection: they met a kept-alive connection the target had just
     * closed (as Go's transport does). Not failures; a target closing idle connections early shows here.
     */
    resent_after_close: 0,
    /**
     * Connections opened again after their last one ended (the target closed it, `Connection: close`, a
     * close-delimited answer, a failure): with `connections_opened` (slots), how much keep-alive held.
     */
    connections_reopened: 0,
    /**
     * Requests taken and never sent because the stop's time ran out (about one --output-http-timeout,
     * http-stop-bound.ts): the target did not answer those before them in time. Lost: the run does not exit 0.
     */
    not_sent_at_stop: 0,
    /** Requests sent and not answered when the stop's time ran out (cut off). Lost as not_sent_at_stop. */
    unanswered_at_stop: 0,
    response_bytes: 0,
  };
  readonly latency = new LatencyHistogram();
  private firstSend = 0;
  private lastDone = 0;
  private capturedMin = Number.POSITIVE_INFINITY;
  private capturedMax = Number.NEGATIVE_INFINITY;
  private capturedCount = 0;

  /** A request accepted for replay, with its capture timestamp (ns, as a double; NaN when unknown). */
  accepted(timestampKey: number): void {
    if (this.firstSend === 0) this.firstSend = performance.now();
    if (!Number.isNaN(timestampKey)) {
      this.capturedCount++;
      if (timestampKey < this.capturedMin) this.capturedMin = timestampKey;
      if (timestampKey > this.capturedMax) this.capturedMax = timestampKey;
    }
  }

  record(outcome: JobOutcome): void {
    this.counters.redirects_followed += outcome.redirects;
    this.lastDone = performance.now();
    if (outcome.ok) this.answered(outcome.status, outcome.latencyMs, outcome.responseBytes);
    else this.failed(outcome.reason, outcome.responseBytes);
  }

  /**
   * An answered request, as `record` counts it, without an outcome object (the native sender's results when
   * no response is kept); the caller then calls `finished()` once for the batch.
   */
  answered(status: number, latencyMs: number, responseBytes: number): void {
    const c = this.counters;
    c.requests++;
    c.response_bytes += responseBytes;
    c.responses++;
    this.latency.record(latencyMs);
    const cls = Math.floor(status / 100);
    if (cls === 2) c.status_2xx++;
    else if (cls === 3) c.status_3xx++;
    else if (cls === 4) c.status_4xx++;
    else if (cls === 5) c.status_5xx++;
    else if (cls === 1) c.status_1xx++;
    else c.status_other++;
  }

  /** Results were counted with `answered` just now: the achieved rate runs to here. */
  finished(): void {
    this.lastDone = performance.now();
  }

  private failed(reason: FailureReason | undefined, responseBytes: number): void {
    const c = this.counters;
    c.requests++;
    c.response_bytes += responseBytes;
    c.errors++;
    switch (reason) {
      case 'connect-refused':
        c.error_connect_refused++;
        break;
      case 'connect-failed':
        c.error_connect_failed++;
        break;
      case 'dns':
        c.error_dns++;
        break;
      case 'tls':
        c.error_tls++;
        break;
      case 'reset':
        c.error_reset++;
        break;
      case 'timeout':
        c.error_timeout++;
        break;
      case 'bad-response':
        c.error_bad_response++;
        break;
      default:
        c.error_closed++;
    }
  }

  /** Requests a second over the replay so far (first send → last answer). */
  achievedRate(): number {
    const span = (this.lastDone - this.firstSend) / 1000;
    return span > 0 ? this.counters.requests / span : 0;
  }

  /** Requests a second as captured (from the requests' own timestamps); 0 when unknown. */
  capturedRate(): number {
    const spanS = (this.capturedMax - this.capturedMin) / 1e9;
    return this.capturedCount > 1 && spanS > 0 ? (this.capturedCount - 1) / spanS : 0;
  }

  stats(extra: Record<string, number>): Record<string, number | string> {
    const l = this.latency;
    const achieved = this.achievedRate();
    const captured = this.capturedRate();
    return {
      ...this.counters,
      latency_p50_ms: round(l.percentile(50)),
      latency_p95_ms: round(l.percentile(95)),
      latency_p99_ms: round(l.percentile(99)),
      latency_max_ms: round(l.max),
      rate_per_s: Math.round(achieved),
      captured_rate_per_s: Math.round(captured),
      pace_vs_capture: captured > 0 ? round(achieved / captured) : 0,
      ...extra,
    };
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
