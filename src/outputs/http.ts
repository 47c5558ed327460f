/**
 * `--output-http URL`: replays captured requests to a target over keep-alive connections, and (with
 * --output-http-track-response) turns each answer into a type-3 message paired with its request by id.
 *
 *   write(request) ─▶ adapt (Host, path rule) ─▶ ReplayPool (queue ▶ connections) ─▶ ReplayReport (counters)
 *        ▲ promise while the queue is full                                 │ track-response
 *        └──────────── backpressure ◀───────────────────────────────────────┤
 *                                          responses ◀── Channel of type-3 ─┘ (read by the pipeline as input)
 *
 * Only requests (type 1) are sent; other messages are ignored and counted, as in gor. The target receives the
 * captured bytes, changed only by the Host rule and the path rule (http-target.ts) and by the configured
 * modifiers (which run before outputs). Every failure is counted by reason and the replay goes on.
 *
 * The response channel never blocks a connection: the pipeline may itself be waiting on this output's queue
 * (a cycle). It holds at most one response per request queued or in flight plus one input batch in practice;
 * past a hard cap, responses are dropped and counted (`responses_dropped`).
 */
import { Channel } from '../core/async.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet } from '../core/flags.js';
import type { Logger } from '../core/log.js';
import { type Message, makeMeta, REPLAYED_RESPONSE, REQUEST } from '../core/message.js';
import { timestampKey } from '../core/meta.js';
import type { Batch, Output, RawRun } from '../core/plugin.js';
import { redactUrl } from '../core/redact.js';
import type { OutputPluginDef } from '../core/registry.js';
import { formatBytes, formatGoDuration } from '../core/values.js';
import { setsHostHeader } from '../modifiers/set-header.js';
import { crlfHead } from '../protocol/http1/bare-lf.js';
import { requestTitleMethod } from '../protocol/http1/title.js';
import { DEFAULT_MAX_WORKERS, httpOutputDecl } from './http-flags.js';
import { FIND_HOST, httpAddon, NativeReplayPool, NO_EDIT, useNativeClient } from './http-native.js';
import { type JobOutcome, type ReplayJob, ReplayPool } from './http-pool.js';
import { QueueStats } from './http-queue-stats.js';
import { ReplayReport } from './http-report.js';
import { frameRequest } from './http-request-frame.js';
import { StopBound } from './http-stop-bound.js';
import { adaptRequest, parseTarget } from './http-target.js';

/** gor's default for --output-http-response-buffer (stored, never applied, in gor). */
export const DEFAULT_RESPONSE_BUFFER = 100 * 1024;
/** How long a drain or close waits in silence before it says what it waits for. */
const CLOSE_NOTICE_MS = 2000;
/** Bytes of a response kept to read its Location when following redirects without tracking. */
const REDIRECT_HEADER_BYTES = 16 * 1024;
/**
 * The meta field of a type-3 message whose response was cut to --output-http-response-buffer (the capture's
 * `incomplete=REASON` convention, docs/capture.md): a reader of the file can tell a cut answer from a whole one.
 */
const CUT_AT_BUFFER: readonly string[] = Object.freeze(['incomplete=response-buffer']);

export interface HttpOutputOptions {
  /** Most connections (0: DEFAULT_MAX_WORKERS). */
  workers?: number;
  /** Connections kept open even when idle (gor's workers-min; default 1). */
  workersMin?: number;
  /** Requests waiting for a connection before write() applies backpressure. */
  queueLen?: number;
  /** Idle connections above the minimum are closed after this long (ms). */
  workerTimeoutMs?: number;
  timeoutMs?: number;
  redirects?: number;
  /** Keep the captured Host header (gor's --http-original-host). */
  originalHost?: boolean;
  skipVerify?: boolean;
  /** Emit replayed responses as type-3 messages on `responses`. */
  trackResponse?: boolean;
  /** Bytes of each replayed response kept in its type-3 message. */
  responseBuffer?: number;
  /** gor's queue statistics every statsMs (needs a logger). */
  queueStats?: { log: Logger; periodMs: number };
  /** Where the first failure of each kind and the first skipped payload are said (the rest are counted). */
  log?: Logger;
  /**
   * The client: 'native' (the tapline_http addon's sender thread) for plain http:// without redirects when the
   * addon is built, else 'js'. Default: TAPLINE_HTTP_CLIENT, else native where it can be used.
   */
  client?: 'js' | 'native';
  /** Silent wait of a drain or close before the notice of what it waits for (default 2 s). */
  closeNoticeMs?: number;
}

export function httpOutput(address: string, options: HttpOutputOptions = {}): Output {
  const target = parseTarget(address);
  const maxWorkers = options.workers && options.workers > 0 ? options.workers : DEFAULT_MAX_WORKERS;
  const minWorkers = Math.min(Math.max(1, options.workersMin ?? 1), 1000, maxWorkers);
  const queueLen = options.queueLen && options.queueLen > 0 ? options.queueLen : 1000;
  const timeoutMs = options.timeoutMs === undefined ? 5000 : options.timeoutMs < 100 ? 1000 : options.timeoutMs;
  const redirects = Math.max(0, options.redirects ?? 0);
  const track = options.trackResponse ?? false;
  const responseBuffer =
    options.responseBuffer && options.responseBuffer > 0 ? options.responseBuffer : DEFAULT_RESPONSE_BUFFER;
  const keepBytes = Math.max(track ? responseBuffer : 0, redirects > 0 ? REDIRECT_HEADER_BYTES : 0);
  const report = new ReplayReport();
  const responses = track ? new Channel<Message>(Number.MAX_SAFE_INTEGER) : undefined;
  const responseCap = Math.max(10_000, queueLen * 4);
  /** Bytes received for the longest response cut to the buffer (said at close). */
  let longestCut = 0;

  const name = `output-http(${redactUrl(address)})`;
  const log = options.log;
  if (target.emptyPort) {
    // Valid (RFC 3986: the port may be empty) and dialed as gor dials it, but most likely an unset variable.
    log?.warn(
      `${name}: the target has ':' and no port after it: requests go to port ${target.port}, the ` +
        `${target.secure ? 'https' : 'http'}:// default, as gor sends them (was a variable meant to give the ` +
        'port, as in http://staging:$PORT?)',
      `${name}:empty-port`,
    );
  }
  const onDone = (meta: { readonly id: string }, outcome: JobOutcome) => {
    report.record(outcome);
    // gor only logs failures at --verbose; a replay that reaches nothing must say so. The logger shows the
    // first few of each kind; every one is counted in the summary and --stats.
    if (!outcome.ok && log) {
      log.warn(
        `${name}: request ${meta.id} failed: ${outcome.reason}${outcome.detail ? ` (${outcome.detail})` : ''}`,
        `${name}:${outcome.reason}`,
      );
    }
    if (!responses || !outcome.ok || !outcome.response) return;
    if (responses.length >= responseCap) {
      report.counters.responses_dropped++;
      return;
    }
    let data = outcome.response;
    if (data.length > responseBuffer) data = data.subarray(0, responseBuffer);
    const cut = outcome.truncated || data.length < outcome.response.length;
    if (cut) {
      report.counters.responses_truncated++;
      longestCut = Math.max(longestCut, outcome.responseBytes);
    }
    report.counters.responses_tracked++;
    responses.offer({
      meta: makeMeta({
        type: REPLAYED_RESPONSE,
        id: meta.id,
        timestampNs: BigInt(Math.round(outcome.startedMs * 1000)) * 1000n,
        latencyNs: BigInt(Math.round(outcome.latencyMs * 1e6)),
        extra: cut ? CUT_AT_BUFFER : undefined,
      }),
      // A copy: the kept bytes may share a large socket buffer.
      data: Buffer.from(data),
    });
  };

  const poolOptions = {
    minWorkers,
    maxWorkers,
    queueLen,
    workerTimeoutMs: options.workerTimeoutMs && options.workerTimeoutMs > 0 ? options.workerTimeoutMs : 2000,
    redirects,
    timeoutMs,
    skipVerify: options.skipVerify ?? false,
    keepBytes,
    onUnsolicited: () => {
      report.counters.unsolicited_responses++;
    },
    onResend: () => {
      report.counters.resent_after_close++;
    },
    onReopen: () => {
      report.counters.connections_reopened++;
    },
  };
  const native = useNativeClient(target, redirects, options.client)
    ? new NativeReplayPool(httpAddon()!, target, poolOptions, report, onDone)
    : undefined;
  const jsPool = native
    ? undefined
    : new ReplayPool(target, poolOptions, (job: ReplayJob, outcome) => onDone(job.meta, outcome));
  const pool = native ?? jsPool!;

  let queueStats: QueueStats | undefined;
  let statsTimer: NodeJS.Timeout | undefined;
  if (options.queueStats) {
    const { log, periodMs } = options.queueStats;
    const stats = new QueueStats('output_http', periodMs);
    queueStats = stats;
    log.write(stats.header());
    log.write(stats.line(pool.connections));
    statsTimer = setInterval(() => log.write(stats.line(pool.connections)), periodMs);
    statsTimer.unref();
  }

  // A stop is bounded by one --output-http-timeout (see StopBound): what is not answered by then is given up,
  // counted (not sent at stop, unanswered at stop) and said; the run then does not exit 0.
  let gaveUp = false;
  const giveUp = (): boolean => {
    if (gaveUp) return true;
    if (pool.pending === 0) return false; // nothing to give up (yet): a request written later is bounded too
    gaveUp = true;
    const { inFlight, queued } = pool.giveUp();
    report.counters.unanswered_at_stop += inFlight;
    report.counters.not_sent_at_stop += queued;
    log?.warn(
      `${name}: stopping: ${stopBound.cause}, ${inFlight + queued} request${inFlight + queued === 1 ? '' : 's'} ` +
        `given up (${queued} never sent, ${inFlight} sent and not answered; counted as not sent at stop and ` +
        'unanswered at stop)',
      `${name} given-up`,
    );
    return true;
  };
  const stopBound = new StopBound(timeoutMs, () => report.counters.responses, giveUp);

  // After SIGINT or the end of input the replay waits for the requests it took (queued ones are still sent),
  // up to the stop's bound: seconds of silence look like a hang. After a moment, say so once.
  let closeNoticeSaid = false;
  const waitForPool = async () => {
    if (pool.pending === 0) return;
    stopBound.start('end');
    if (!log || closeNoticeSaid) return pool.drain();
    const notice = setTimeout(() => {
      closeNoticeSaid = true;
      const pending = pool.pending;
      const inFlight = Math.min(pending, pool.busy);
      log.warn(
        `${name}: waiting for ${pending} request${pending === 1 ? '' : 's'} to be answered before closing ` +
          `(${inFlight} in flight, ${pending - inFlight} queued and still to be sent; ${stopBound.describe()}, ` +
          'the rest is then given up and counted). To exit without waiting: SIGINT twice, or once more if tapline ' +
          'already said it is stopping (no summary is then printed)',
        // One kind for every target: a command line with many --output-http says it for the first few, and
        // the summary counts the rest (300 targets printed 300 of these).
        'output-http close-wait',
      );
    }, options.closeNoticeMs ?? CLOSE_NOTICE_MS);
    try {
      await pool.drain();
    } finally {
      clearTimeout(notice);
    }
  };

  const keepHost = options.originalHost ?? false;
  // When the Host rule is the only change a request can need, the native sender applies it in its copy.
  const hostRuleOnly = !keepHost && target.fixedTarget === undefined && target.basicAuth === undefined;
  let incompleteSaid = false;
  let afterBodySaid = false;
  const output: Output = {
    name,
    write(msg: Message) {
      if (msg.meta.type !== REQUEST) {
        report.counters.not_request_ignored++;
        return;
      }
      if (gaveUp) {
        // The stop's time has run out: a request still handed over cannot be answered in it.
        report.counters.not_sent_at_stop++;
        return;
      }
      let data = msg.data;
      let method = requestTitleMethod(data);
      if (method === null) {
        // A head with bare LF line ends: gor (Go's parser) replays it, so tapline sends it with CRLF.
        const converted = crlfHead(data);
        method = converted ? requestTitleMethod(converted) : null;
        if (method === null) {
          report.counters.not_http_skipped++;
          log?.warn(
            `${name}: request ${msg.meta.id} skipped: it does not start with an HTTP/1.x request line ` +
              `(${JSON.stringify(data.subarray(0, 40).toString('latin1'))})`,
            `${name}:not-http`,
          );
          return;
        }
        data = converted!;
        report.counters.bare_lf_converted++;
      }
      if (method === 'CONNECT') {
        report.counters.connect_skipped++;
        return;
      }
      const marked = incompleteMark(msg.meta.extra);
      const frame = marked === undefined ? frameRequest(data) : undefined;
      if (frame?.unframed) {
        report.counters.bad_framing_skipped++;
        log?.warn(
          `${name}: request ${msg.meta.id} skipped: ${frame.unframed}, so where its body ends is unknown (gor's ` +
            'parser refuses it too; counted as bad framing skipped)',
          `${name}:unframed`,
        );
        return;
      }
      if (marked !== undefined || frame?.incomplete) {
        // gor sends none of these; sent, the target would wait for the rest until the timeout.
        report.counters.incomplete_skipped++;
        if (!incompleteSaid) {
          incompleteSaid = true;
          const why = marked !== undefined ? `its record is marked incomplete=${marked}` : frame!.incomplete;
          log?.warn(
            `${name}: request ${msg.meta.id} not sent: it was recorded incomplete (${why}), so the target would ` +
              'wait for the rest of it. Requests recorded incomplete are not sent, as gor; each is counted as ' +
              'incomplete skipped (said once)',
            `${name}:incomplete`,
          );
        }
        return;
      }
      if (frame!.length < data.length) {
        // gor's parser stops at the framed end; the rest would reach the target as a request of its own.
        const ignored = data.length - frame!.length;
        report.counters.bytes_after_request_ignored += ignored;
        if (!afterBodySaid) {
          afterBodySaid = true;
          log?.warn(
            `${name}: request ${msg.meta.id} has ${ignored} byte${ignored === 1 ? '' : 's'} after its end ` +
              `(${JSON.stringify(data.subarray(frame!.length, frame!.length + 40).toString('latin1'))}): not ` +
              'sent, as gor; the target would read them as a request of their own. Counted in bytes after ' +
              'request ignored (said once)',
            `${name}:after-body`,
          );
        }
        data = data.subarray(0, frame!.length);
      }
      report.accepted(timestampKey(msg.meta));
      let pending: void | Promise<void>;
      if (native) {
        // The native client copies the request into its batch; for an origin-form request (the title is
        // checked: the method, one space, then '/') it applies the Host rule in that copy.
        pending =
          hostRuleOnly && data[method.length + 1] === 0x2f
            ? native.submit(data, method === 'HEAD', msg.meta, FIND_HOST)
            : native.submit(adaptRequest(data, target, keepHost), method === 'HEAD', msg.meta, NO_EDIT);
      } else {
        pending = jsPool!.submit({ payload: adaptRequest(data, target, keepHost), method, meta: msg.meta });
      }
      queueStats?.sample(pool.waiting);
      return pending;
    },
    async drain() {
      await waitForPool();
      responses?.close();
    },
    stopping() {
      stopBound.start('signal');
    },
    async close() {
      await waitForPool();
      stopBound.end();
      pool.close();
      if (native) native.copyCounters(report.counters);
      const unsolicited = report.counters.unsolicited_responses;
      if (unsolicited > 0) {
        log?.warn(
          `${name}: the target sent ${unsolicited} answer${unsolicited === 1 ? '' : 's'} that no request asked for ` +
            '(a second response after one, or bytes on an idle connection): dropped, and the connection closed ' +
            'each time, as Go does (counted as unsolicited responses)',
          `${name}:unsolicited`,
        );
      }
      const cut = report.counters.responses_truncated;
      if (cut > 0) {
        // gor keeps every answer whole, however long; tapline bounds what it holds, and says so.
        log?.warn(
          `${name}: ${cut} replayed response${cut === 1 ? ' was' : 's were'} longer than ` +
            `--output-http-response-buffer (${formatBytes(responseBuffer)}): ${cut === 1 ? 'its type-3 message keeps' : 'their type-3 messages keep'} ` +
            `only the first ${formatBytes(responseBuffer)}, marked incomplete=response-buffer, so a report of ${cut === 1 ? 'it' : 'them'} ` +
            `counts fewer bytes than were received (the longest: ${formatBytes(longestCut)} received; ` +
            `--output-http-response-buffer ${bufferHint(longestCut)} keeps answers that long whole; counted as ` +
            'responses truncated)',
          `${name}:truncated`,
        );
      }
      responses?.close();
      if (statsTimer) clearInterval(statsTimer);
    },
    stats: () => {
      if (native) native.copyCounters(report.counters);
      return report.stats({
        connections: pool.connections,
        connections_opened: pool.opened,
        connections_retired: pool.retired,
        queued: pool.waiting,
        in_flight: pool.busy,
        // The native sender's own thread (its CPU is not JavaScript's: the benchmark splits the two).
        ...(native ? { sender_thread_cpu_ms: Math.round(native.threadCpuMs) } : {}),
      });
    },
  };
  if (responses) Object.assign(output, { responses: responses.drain() as AsyncIterable<Batch> });
  // Raw runs (core/plugin.ts): when write() would only check each request and apply the Host rule, the
  // addon reads the run's records itself — no message object, no JavaScript per request. A record write()
  // treats otherwise (not a request, no gor title, CONNECT, not origin-form) goes through write() in its
  // place. Not with tracked responses or --output-http-stats (they need each request in JavaScript).
  if (native && hostRuleOnly && !track && !queueStats) {
    Object.assign(output, {
      runFits: () => true,
      writeRun: (run: RawRun) => native.submitRun(run, (msg) => output.write(msg)),
    });
  }
  // Which client replays (tests and the benchmark read it).
  Object.assign(output, { client: native ? 'native' : 'js' });
  return output;
}

/** A --output-http-response-buffer value that holds `bytes`: whole MiB (or KiB below one MiB), rounded up. */
function bufferHint(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)}kb` : `${Math.ceil(bytes / (1024 * 1024))}mb`;
}

/** The REASON of a meta's `incomplete=REASON` field (docs/capture.md), or undefined when it has none. */
function incompleteMark(extra: readonly string[]): string | undefined {
  for (const field of extra) if (field.startsWith('incomplete=')) return field.slice('incomplete='.length);
  return undefined;
}

/** Command lines whose --output-http flags were already warned about (read once per --output-http). */
const flagsSaid = new WeakSet<FlagSet>();

/** Options shared by every --output-http, read from the command line. */
export function httpOptionsFromFlags(flags: FlagSet, log: Logger): HttpOutputOptions {
  const statsMs = flags.number('output-http-stats-ms');
  const workers = flags.number('output-http-workers');
  const workersMin = flags.number('output-http-workers-min');
  // The flags are shared by every --output-http: what is wrong with them is said once, not once a target.
  const say = !flagsSaid.has(flags);
  flagsSaid.add(flags);
  // The maximum the minimum meets: the one given, or the automatic one (0: up to DEFAULT_MAX_WORKERS).
  const most = workers > 0 ? workers : DEFAULT_MAX_WORKERS;
  const gorMin = Math.min(workersMin, 1000);
  if (say && gorMin > most) {
    // gor starts the minimum (at most 1000) and never stops below it, so it opens more than the maximum;
    // tapline keeps the maximum (the bound a target was sized for). Either way one of the two numbers is not what
    // was asked.
    const above =
      workers > 0
        ? `--output-http-workers ${workers}`
        : `the automatic maximum, ${most} (--output-http-workers 0; give --output-http-workers ${gorMin} to open more)`;
    log.warn(
      `--output-http-workers-min ${workersMin} is above ${above}: at most ${most} ` +
        `connections are opened (gor would open ${gorMin})`,
      'output-http workers-min',
    );
  }
  const timeoutMs = flags.number('output-http-timeout');
  if (say && timeoutMs < 100) {
    // gor's rule (spec: below 100ms means 1s), kept; a user who asked for 50ms, or 0 for no limit, is told.
    log.warn(
      `--output-http-timeout ${formatGoDuration(timeoutMs)} is below 100ms: 1s is used, as gor does ` +
        '(there is no unlimited timeout; give 100ms or more)',
      'output-http timeout',
    );
  }
  return {
    workers,
    workersMin,
    queueLen: flags.number('output-http-queue-len'),
    workerTimeoutMs: flags.number('output-http-worker-timeout'),
    timeoutMs,
    redirects: flags.number('output-http-redirects'),
    originalHost: flags.bool('http-original-host') || setsHostHeader(flags.list('http-set-header')),
    skipVerify: flags.bool('output-http-skip-verify'),
    trackResponse: flags.bool('output-http-track-response'),
    responseBuffer: flags.number('output-http-response-buffer'),
    log,
    ...(flags.bool('output-http-stats') && flags.bool('stats')
      ? { queueStats: { log, periodMs: statsMs > 0 ? statsMs : 5000 } }
      : {}),
  };
}

export const httpOutputPlugin: OutputPluginDef = {
  ...httpOutputDecl,
  create({ address, flags, ctx }) {
    const workers = flags.number('output-http-workers');
    if (workers < 0) {
      throw new TaplineError(ERROR_CODES.USAGE, `must be 0 (automatic) or more, got ${workers}`, {
        where: '--output-http-workers',
      });
    }
    return httpOutput(address, httpOptionsFromFlags(flags, ctx.log));
  },
};
