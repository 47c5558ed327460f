/**
 * Sends documents to Elasticsearch with the `_bulk` API: NDJSON pairs of `{"index":{"_index":…}}` and the
 * document, retried while the cluster says "later".
 *
 *   add(doc) ─▶ [batch] ──bulkSize docs, 5 MiB or flushInterval──▶ POST …/_bulk   (at most maxInFlight at once)
 *                                                                    │
 *       whole reply 429 / 5xx / no connection ─▶ retry the batch ─────┤  backoff 100 ms doubling to 5 s,
 *       items with status 429 / 5xx ─────────────▶ retry those items ─┘  for at most retryForMs in all
 *       items with other errors (mapping, bad document) ─▶ failed, counted, reason logged (once per reply)
 *       whole reply 413 (too large) ─▶ sent again as two halves, down to single documents
 *
 * add() returns a promise while maxInFlight bulk requests are outstanding: the pipeline waits (backpressure),
 * so a slow or absent cluster never grows memory. Nothing is dropped silently: every document ends counted as
 * `indexed` or `failed`. Once the run stops (release()), add() no longer waits: what the pipeline still holds
 * is sent at once, so every retry clock starts at the stop and the stop waits one --retry-for, not one per
 * round of maxInFlight bulks (an absent cluster held a SIGINT for twice the budget and more).
 */
import http from 'node:http';
import https from 'node:https';
import { tlsProblem } from '../analytics/export/fetch-error.js';
import { sleep } from '../core/async.js';
import type { Logger } from '../core/log.js';
import { Backoff } from '../net/backoff.js';
import type { EsDocument } from './elasticsearch-document.js';

export interface BulkTarget {
  /** `http://host:9200/prefix/_bulk` */
  readonly bulkUrl: string;
  readonly index: string;
  /** `Basic …` from the URL's userinfo, or undefined. */
  readonly authorization: string | undefined;
}

export interface BulkOptions {
  /** Documents per bulk request. */
  bulkSize: number;
  /** A partial batch is sent after this long. */
  flushIntervalMs: number;
  /** Bulk requests outstanding before add() waits. */
  maxInFlight: number;
  /** Retries of a batch stop this long after its first attempt; what is left is counted as failed. */
  retryForMs: number;
  /** A bulk request's whole reply must have come within this long (a reply sent a byte at a time too). */
  requestTimeoutMs: number;
  /** A reply longer than this is not read (default: replyLimit(documents)). */
  maxReplyBytes?: number;
}

export interface BulkCounters {
  indexed: number;
  failed: number;
  bulk_requests: number;
  /** Bulk requests sent again (whole or in part) after a 429, a 5xx or a lost connection. */
  bulk_retries: number;
  /** Bulk requests answered 413 (too large) and sent again as two halves. */
  bulk_splits: number;
}

const MAX_BATCH_BYTES = 5 << 20;

/**
 * The longest `_bulk` reply read for `docs` documents: an item is ~100 bytes, one with an error up to a few KB.
 * Past it the reply is not Elasticsearch's (a proxy's endless page, a wrong port streaming): it was read whole,
 * without a bound (a 700 MB reply grew the run past 20 GB).
 */
export function replyLimit(docs: number): number {
  return (16 << 20) + docs * (16 << 10);
}

/** What a bulk request met that is not a status: retried or not, said in words. */
class ReplyProblem extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

interface Failure {
  retry: boolean;
  reason: string;
  /** 413: the request was too large for the cluster or a proxy in front of it (nginx takes 1 MiB by default). */
  tooLarge?: boolean;
}

export class BulkIndexer {
  readonly counters: BulkCounters = {
    indexed: 0,
    failed: 0,
    bulk_requests: 0,
    bulk_retries: 0,
    bulk_splits: 0,
  };
  private lines: string[] = [];
  private batchBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private room: { promise: Promise<void>; resolve: () => void } | undefined;
  private released = false;
  private readonly action: string;

  constructor(
    private readonly target: BulkTarget,
    private readonly options: BulkOptions,
    private readonly log: Logger,
    private readonly name: string,
    private readonly signal?: AbortSignal,
  ) {
    this.action = JSON.stringify({ index: { _index: target.index } });
  }

  /** Documents waiting in the current batch. */
  get queued(): number {
    return this.lines.length;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  add(doc: EsDocument): void | Promise<void> {
    const line = JSON.stringify(doc);
    this.lines.push(line);
    this.batchBytes += line.length + this.action.length + 2;
    if (this.lines.length >= this.options.bulkSize || this.batchBytes >= MAX_BATCH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.flushIntervalMs);
    if (this.released || this.inFlight.size < this.options.maxInFlight) return;
    if (!this.room) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.room = { promise, resolve };
    }
    return this.room.promise;
  }

  /** The run is stopping: add() stops waiting for room (the pipeline's last messages go out at once). */
  release(): void {
    this.released = true;
    this.room?.resolve();
    this.room = undefined;
  }

  /** Sends the current batch now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const docs = this.lines;
    this.lines = [];
    this.batchBytes = 0;
    const send = this.send(docs).finally(() => {
      this.inFlight.delete(send);
      if (this.room && this.inFlight.size < this.options.maxInFlight) {
        this.room.resolve();
        this.room = undefined;
      }
    });
    this.inFlight.add(send);
  }

  /** Sends what is queued and waits for every bulk request to settle (retries included). */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async send(docs: string[]): Promise<void> {
    const started = Date.now();
    const backoff = new Backoff(100, 5000);
    let pending = docs;
    let tries = 0;
    for (;;) {
      this.counters.bulk_requests++;
      tries++;
      const failures = await this.attempt(pending);
      if (pending.length > 1 && failures.get(0)?.tooLarge) {
        // Too large as a whole: each half is sent on its own (and halved again), down to single documents.
        this.counters.bulk_splits++;
        const half = Math.ceil(pending.length / 2);
        await this.send(pending.slice(0, half));
        await this.send(pending.slice(half));
        return;
      }
      const retry: string[] = [];
      let lastReason = '';
      // One warning per reason and reply: a whole reply refused (401, 413) or a mapping conflict shared by a
      // batch is said once with its count, not once per document.
      const refused = new Map<string, number>();
      for (const [i, f] of failures) {
        if (f.retry) retry.push(pending[i]!);
        else {
          this.counters.failed++;
          refused.set(f.reason, (refused.get(f.reason) ?? 0) + 1);
        }
        lastReason = f.reason;
      }
      for (const [reason, n] of refused) {
        const what = n === 1 ? 'document' : `${n} documents`;
        this.log.warn(`${this.name}: ${what} not indexed: ${reason}`, `${this.name} rejected`);
      }
      this.counters.indexed += pending.length - failures.size;
      if (retry.length === 0) return;
      const delay = backoff.next();
      const elapsed = Date.now() - started;
      if (elapsed + delay > this.options.retryForMs || this.signal?.aborted) {
        this.counters.failed += retry.length;
        // The time really spent: giving up comes when the next wait would pass the limit, often well before it.
        const why = this.signal?.aborted
          ? 'the run stopped'
          : `the next, in ${delay} ms, would pass the retry limit of ${this.options.retryForMs} ms`;
        this.log.warn(
          `${this.name}: ${retry.length} document(s) not indexed: gave up after ${tries} tries in ${elapsed} ms ` +
            `(${why}): ${lastReason}`,
          `${this.name} gave up`,
        );
        return;
      }
      this.counters.bulk_retries++;
      this.log.debug(2, `${this.name}: retrying ${retry.length} document(s) in ${delay} ms: ${lastReason}`);
      await sleep(delay, this.signal);
      pending = retry;
    }
  }

  /** One POST. Returns the documents that did not make it, by position, and whether to retry them. */
  private async attempt(docs: string[]): Promise<Map<number, Failure>> {
    const all = (failure: Failure) => new Map(docs.map((_, i) => [i, failure]));
    let body = '';
    for (const d of docs) body += `${this.action}\n${d}\n`;
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    if (this.target.authorization) headers.authorization = this.target.authorization;
    let status: number;
    let text: string;
    try {
      ({ status, text } = await post(this.target.bulkUrl, headers, body, {
        timeoutMs: this.options.requestTimeoutMs,
        maxReplyBytes: this.options.maxReplyBytes ?? replyLimit(docs.length),
      }));
    } catch (err) {
      if (err instanceof ReplyProblem)
        return all({ retry: err.retry, reason: `${this.target.bulkUrl}: ${err.message}` });
      // A cluster that does not speak TLS, or whose certificate is refused, was retried for the whole budget
      // and said as 'EPROTO' or 'DEPTH_ZERO_SELF_SIGNED_CERT' alone: said in words, and not retried.
      const tls = err instanceof Error ? tlsProblem(err, 'cluster') : undefined;
      if (tls) return all({ retry: false, reason: `${this.target.bulkUrl}: ${tls}` });
      const code = (err as NodeJS.ErrnoException).code;
      // Node's parser codes (HPE_INVALID_CONSTANT) said alone: the port answered something that is not HTTP,
      // which sending again does not change.
      if (code?.startsWith('HPE_'))
        return all({
          retry: false,
          reason: `${this.target.bulkUrl}: the reply is not HTTP (${code}): is this an Elasticsearch port?`,
        });
      return all({ retry: true, reason: `${this.target.bulkUrl}: ${code ?? (err as Error).message}` });
    }
    if (status === 429 || status >= 500) return all({ retry: true, reason: `HTTP ${status} ${errorReason(text)}` });
    if (status === 413) {
      const reason =
        docs.length === 1
          ? `HTTP 413 for a single document of ${Buffer.byteLength(body)} bytes: larger than the cluster, or a proxy in front of it, takes`
          : `HTTP 413 ${errorReason(text)}`;
      return all({ retry: false, reason, tooLarge: true });
    }
    if (status < 200 || status > 299) return all({ retry: false, reason: `HTTP ${status} ${errorReason(text)}` });
    return itemFailures(text, docs.length);
  }
}

/**
 * One POST with node:http (fetch refuses some ports, e.g. 6000 or 10080, that proxies in front of a cluster
 * may use). Resolves with the status and the body as text; rejects on connection errors, on a reply not whole
 * within `timeoutMs` (retried: a reply sent a byte a second never passed an idle timeout and held the run for
 * ever), and on a reply longer than `maxReplyBytes` (not retried: the documents may have been indexed).
 */
function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  limits: { timeoutMs: number; maxReplyBytes: number },
): Promise<{ status: number; text: string }> {
  const payload = Buffer.from(body);
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (then: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      then();
    };
    const fail = (err: Error) =>
      settle(() => {
        req.destroy();
        reject(err);
      });
    const deadline = setTimeout(
      () =>
        fail(
          new ReplyProblem(
            `no whole reply within ${limits.timeoutMs} ms (the cluster, or a proxy in front of it, did not answer or answered too slowly)`,
            true,
          ),
        ),
      limits.timeoutMs,
    );
    const req = client.request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(payload.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes <= limits.maxReplyBytes) chunks.push(c);
          else
            fail(
              new ReplyProblem(
                `HTTP ${res.statusCode}: the reply passed ${limits.maxReplyBytes} bytes, more than a _bulk reply for ` +
                  'these documents holds, and was not read further (is this an Elasticsearch endpoint?)',
                false,
              ),
            );
        });
        res.on('end', () =>
          settle(() => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') })),
        );
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(payload);
  });
}

/** Reads the `_bulk` reply: `{"errors":bool,"items":[{"index":{"status":201,…,"error":{…}}},…]}`. */
function itemFailures(text: string, count: number): Map<number, Failure> {
  const failures = new Map<number, Failure>();
  let reply: { errors?: unknown; items?: unknown };
  try {
    reply = JSON.parse(text) as typeof reply;
  } catch {
    reply = {};
  }
  if (!Array.isArray(reply.items) || reply.items.length !== count) {
    // Without one item per document nothing can be said about any of them: not counted as indexed.
    const reason = `unreadable _bulk reply (${JSON.stringify(text.slice(0, 120))})`;
    for (let i = 0; i < count; i++) failures.set(i, { retry: false, reason });
    return failures;
  }
  if (reply.errors === false) return failures;
  reply.items.forEach((item: unknown, i: number) => {
    const result = (item as Record<string, { status?: number; error?: unknown }> | null)?.index;
    const status = typeof result?.status === 'number' ? result.status : 0;
    if (status >= 200 && status < 300) return;
    const retry = status === 429 || status >= 500;
    failures.set(i, { retry, reason: `status ${status} ${describeEsError(result?.error)}`.trim() });
  });
  return failures;
}

function describeEsError(error: unknown): string {
  if (typeof error === 'string') return error;
  const e = error as { type?: string; reason?: string } | undefined;
  if (!e) return '';
  return [e.type, e.reason].filter(Boolean).join(': ');
}

/** The `error` of an Elasticsearch error reply, or the start of a body that is not one. */
function errorReason(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (parsed.error !== undefined) return describeEsError(parsed.error);
  } catch {}
  return JSON.stringify(text.slice(0, 120));
}
