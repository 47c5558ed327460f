/**
 * The analytics contract: what accounting produces and what every consumer (the --stats line, `tapline
 * report`, budgets, alerts, the Prometheus and InfluxDB exporters, the dashboard) reads.
 *
 *   messages ─▶ ExchangeTracker (pairs a request with its response) ─▶ Exchange ─▶ Aggregator ─▶ Snapshot
 *                                                                                      │
 *                          --stats / report / budgets / alerts / exporters / dashboard ◀┘  (read-only)
 *
 * Producers fill these shapes; consumers never reach into the aggregator's internals. Sizes are bytes unless a
 * field name says otherwise; the four headline fields of the --stats object keep the units the issue asked
 * for (KiB and MiB) and say so in their names' documentation (docs/analytics.md).
 */

/** One request and, when seen, its response: the unit everything is counted in. */
export interface Exchange {
  /** The gor id shared by the request and its responses. */
  readonly id: string;
  /** 'original' for captured/recorded responses (type 2), 'replayed' for responses from --output-http (type 3). */
  readonly source: 'original' | 'replayed';
  /** Request first byte, Unix ns (the request meta's timestamp). */
  readonly startNs: bigint;
  readonly method: string;
  /** The Host header ('' when absent). */
  readonly host: string;
  /** The request target's path, query string removed. */
  readonly path: string;
  /** The route template the path was filed under (`/users/:id`), or the overflow bucket. */
  readonly route: string;
  /** Client IP when known (capture, or --input-raw-realip-header), else ''. */
  readonly client: string;
  readonly requestHeaderBytes: number;
  /** On the wire (chunked framing included). */
  readonly requestBodyBytes: number;
  /** The entity: chunked framing removed (equals requestBodyBytes for Content-Length bodies). */
  readonly requestBodyEntityBytes: number;
  /** Undefined when no response was seen (yet, or ever). */
  readonly status: number | undefined;
  readonly responseHeaderBytes: number;
  /** On the wire (chunked framing and content-encoding included). */
  readonly responseBodyBytes: number;
  /** The entity: chunked framing removed, content coding kept (what tshark calls the body length). */
  readonly responseBodyEntityBytes: number;
  /** After removing chunked framing and gzip/deflate/br, when the body was encoded; else equal to the wire size. */
  readonly responseBodyDecodedBytes: number;
  /** The response's Content-Type without parameters ('' when absent or no response). */
  readonly contentType: string;
  /** The response's Content-Encoding ('' when absent). */
  readonly contentEncoding: string;
  /** Request first byte → response last byte, ns; undefined without a response. */
  readonly latencyNs: bigint | undefined;
  /**
   * The request's meta line says `incomplete=REASON` (the capture cut it: a snaplen, a gap, an expired
   * connection): its sizes count what was recorded, less than what was sent. False without a request.
   */
  readonly requestIncomplete: boolean;
  /** The same for the response (a replayed one cut at --output-http-response-buffer too). False without one. */
  readonly responseIncomplete: boolean;
}

export interface LatencySummary {
  /** Exchanges with a latency (a response whose request was never seen has none): 0 means the p-values are 0. */
  readonly latency_samples: number;
  readonly p50_ms: number;
  readonly p95_ms: number;
  readonly p99_ms: number;
}

/** Totals for one route (or one host, or the whole run). */
export interface RouteTotals extends LatencySummary {
  readonly route: string;
  readonly host: string;
  readonly requests: number;
  readonly responses: number;
  readonly request_header_bytes: number;
  readonly request_body_bytes: number;
  readonly response_header_bytes: number;
  readonly response_body_bytes: number;
  readonly response_body_decoded_bytes: number;
  /** Sum of the four wire byte counts. */
  readonly total_bytes: number;
  /** total_bytes / all routes' total_bytes, 0..1. */
  readonly share: number;
  readonly status_1xx: number;
  readonly status_2xx: number;
  readonly status_3xx: number;
  readonly status_4xx: number;
  readonly status_5xx: number;
  readonly no_response: number;
}

/** The object the --stats line prints and `report --json` writes. Field names are stable. */
export interface AnalyticsSnapshot {
  readonly elapsed_s: number;
  readonly total_requests: number;
  /** KiB. */
  readonly avg_request_size: number;
  /** KiB. */
  readonly max_response_size: number;
  /** Top routes by bytes; bandwidth_mb is MiB over the whole run. */
  readonly top_endpoints: readonly { readonly path: string; readonly bandwidth_mb: number }[];
  readonly total_bytes: number;
  /** Over the last interval (live) or the whole input (report). */
  readonly bandwidth_bytes_per_s: number;
  readonly routes: readonly RouteTotals[];
  readonly hosts: readonly RouteTotals[];
  /** Exchanges filed under the overflow route (`(other)`) because the route limit was reached. */
  readonly routes_overflowed: number;
  /** Exchanges filed under the overflow host because the host limit was reached. */
  readonly hosts_overflowed: number;
  /** All exchanges together (route '*', host '*'): the run's totals, status mix and latency. */
  readonly totals: RouteTotals;
  /**
   * Bytes per time slot when they were on the wire (capture time for files): a request's at its timestamp, a
   * captured response's at its own (a replayed one's at its request's); requests by their timestamps.
   */
  readonly series: BandwidthSeries;
  /** Why some messages were not paired or counted: see docs/analytics.md. */
  readonly accounting: AccountingCounters;
}

/** Wire bytes per slot: slot i covers [start_ms + i·slot_ms, start_ms + (i+1)·slot_ms). Bounded length. */
export interface BandwidthSeries {
  readonly start_ms: number;
  readonly slot_ms: number;
  readonly bytes: readonly number[];
  readonly requests: readonly number[];
}

export interface AccountingCounters {
  /** Requests whose response never came (evicted or expired while waiting, or still waiting at the end). */
  readonly no_response: number;
  /** Responses whose request was never seen (counted under the route `(no request)`). */
  readonly responses_without_request: number;
  /** Original (type 2) responses replaced by the replayed (type 3) response of the same request. */
  readonly original_responses_replaced: number;
  /** 1xx responses (other than 101) before the final one: their bytes count as the exchange's response headers. */
  readonly interim_responses: number;
  /** A second final response of the same type for an id already answered (counted under `(no request)`). */
  readonly duplicate_responses: number;
  /** Messages that are not HTTP/1 requests or responses (binary payloads, HTTP/2, unknown types). */
  readonly not_http: number;
  /**
   * `report`: replayed (type 3) responses left out for a later replay's answer to the same request (a replayed .gor
   * replayed again holds both); the latest replay's is accounted.
   */
  readonly earlier_replay_responses: number;
  /** Times the input started over with requests already seen, same id and timestamp (rounds appended to one file). */
  readonly repeated_rounds: number;
  /**
   * Replayed (type 3) responses accounted whose meta line is marked `incomplete=…`: --output-http kept only the
   * first --output-http-response-buffer bytes of each, so their body bytes are fewer than the target sent.
   */
  readonly replayed_responses_cut: number;
  /**
   * Requests and original responses accounted whose meta line is marked `incomplete=REASON` (a capture with
   * --input-raw-allow-incomplete, a message cut at --input-raw-max-size or --input-raw-memory-budget): counted as
   * the file holds them, fewer bytes than were sent.
   */
  readonly marked_incomplete: number;
  /** Requests still waiting for a response when this snapshot was taken (not yet counted). */
  readonly pending: number;
}
