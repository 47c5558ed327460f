/**
 * `--output-http-elasticsearch http://host:9200/index`: one document per replayed exchange, indexed with the
 * `_bulk` API (docs/elasticsearch.md).
 *
 *   type 1 (request) ──▶ waiting: id → header block + body size  (bounded; the oldest go first, counted)
 *   type 3 (replayed) ─▶ its request taken out ─▶ buildDocument ─▶ BulkIndexer ─▶ POST …/_bulk
 *   type 2 ─▶ ignored (gor indexes replays only)
 *
 * gor builds the documents inside output-http. Here they come from an output of their own that receives the
 * requests and the replayed responses (type 3, from --output-http-track-response) through the normal router,
 * so it also indexes a recorded file holding both.
 */
import { RouteNamer } from '../analytics/routes.js';
import { headerBlockEnd } from '../analytics/sizes.js';
import { BoundedMap } from '../core/bounded-set.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet } from '../core/flags.js';
import type { Message } from '../core/message.js';
import type { Output, PluginContext } from '../core/plugin.js';
import { redactUrl } from '../core/redact.js';
import type { OutputPluginDef } from '../core/registry.js';
import { BulkIndexer, type BulkOptions, type BulkTarget } from './elasticsearch-bulk.js';
import { buildDocument } from './elasticsearch-document.js';
import { elasticsearchOutputDecl, FLAG } from './elasticsearch-flags.js';

export interface ElasticsearchOutputOptions extends BulkOptions {
  /** `--route` rules for the `route` field. */
  routes: readonly string[];
  /** Requests waiting for their replayed response at most; the oldest are forgotten beyond (counted). */
  maxWaiting: number;
}

interface WaitingRequest {
  /** A copy of the header block (the body is not kept, only its size). */
  readonly head: Buffer;
  readonly bodyBytes: number;
}

/** Parses gor's `scheme://host[:port]/[path/]index` (spec §9.3). */
export function parseElasticsearchUrl(address: string): BulkTarget {
  const bad = (why: string) =>
    new TaplineError(
      ERROR_CODES.USAGE,
      `${why}: ${JSON.stringify(redactUrl(address))}; expected scheme://host[:port]/[path/]index, e.g. http://localhost:9200/gor`,
      { where: `--${FLAG}` },
    );
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw bad('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('the scheme must be http or https');
  if (url.host === '') throw bad('no host');
  // The URL parser keeps a `%` that starts no escape (`%zz`, `50%`); decoding it threw a bare URIError.
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw bad(`the ${what} has a % that is not followed by two hex digits (write a % as %25)`);
    }
  };
  const segments = url.pathname.split('/');
  const last = segments.pop() ?? '';
  if (last === '' && segments.length > 1 && segments.at(-1) !== '')
    throw bad('no index name: the index is the last path segment, and the URL ends with / (drop it)');
  const index = decode(last, 'index name');
  if (index === '') throw bad('no index name (the last path segment)');
  const invalid = invalidIndexName(index);
  if (invalid) throw bad(`${JSON.stringify(index)} is not an Elasticsearch index name: ${invalid}`);
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decode(url.username, 'user name')}:${decode(url.password, 'password')}`).toString('base64')}`
      : undefined;
  const prefix = segments.join('/');
  return { bulkUrl: `${url.protocol}//${url.host}${prefix}/_bulk`, index, authorization };
}

/**
 * Why Elasticsearch would refuse `name` as an index, or undefined. The cluster refuses every document of such an
 * index one by one (`invalid_index_name_exception`) after the run started; said here, before. A date-math name
 * (`<replays-{now/d}>`) is left to the cluster; `.` and `..` never get here (the URL parser resolves them).
 */
export function invalidIndexName(name: string): string | undefined {
  if (name.startsWith('<') && name.endsWith('>')) return undefined;
  if (name !== name.toLowerCase()) return 'it must be lowercase';
  const bad = /[\\/*?"<>| ,#:]/.exec(name);
  if (bad) return `it cannot contain ${JSON.stringify(bad[0])}`;
  if (/^[-_+]/.test(name)) return 'it cannot start with -, _ or +';
  if (Buffer.byteLength(name) > 255) return 'it is longer than 255 bytes';
  return undefined;
}

export function elasticsearchOutput(
  target: BulkTarget,
  options: ElasticsearchOutputOptions,
  ctx: PluginContext,
): Output {
  const name = `output-http-elasticsearch(${target.bulkUrl.replace(/\/_bulk$/, '')}/${target.index})`;
  const indexer = new BulkIndexer(target, options, ctx.log, name, ctx.signal);
  const routes = new RouteNamer({ rules: options.routes });
  const waiting = new BoundedMap<string, WaitingRequest>(options.maxWaiting);
  const counters = { documents: 0, responses_without_request: 0, not_http: 0, skipped: 0 };

  return {
    name,
    write(msg: Message) {
      const type = msg.meta.type;
      if (type === '1') {
        const end = headerBlockEnd(msg.data);
        waiting.set(msg.meta.id, { head: Buffer.from(msg.data.subarray(0, end)), bodyBytes: msg.data.length - end });
        return;
      }
      if (type !== '3') {
        counters.skipped++;
        return;
      }
      const request = waiting.get(msg.meta.id);
      if (!request) {
        counters.responses_without_request++;
        ctx.log.warn(
          `${name}: replayed response ${msg.meta.id} has no request (not seen, or forgotten after ${options.maxWaiting} waiting); not indexed`,
          `${name} orphan`,
        );
        return;
      }
      waiting.delete(msg.meta.id);
      const doc = buildDocument(
        {
          requestHead: request.head,
          requestBodyBytes: request.bodyBytes,
          response: msg.data,
          rttNs: msg.meta.latencyNs,
        },
        (path) => routes.route(path),
        new Date(),
      );
      if (!doc) {
        counters.not_http++;
        ctx.log.warn(`${name}: exchange ${msg.meta.id} is not HTTP/1; not indexed`, `${name} not-http`);
        return;
      }
      counters.documents++;
      return indexer.add(doc);
    },
    drain: () => indexer.drain(),
    stopping: () => indexer.release(),
    async close() {
      await indexer.drain();
      // Documents are a request and its replayed response (type 3): a file or capture without any indexes
      // nothing, which gor leaves unsaid (spec §9.3) and which looked like a run that worked (exit 0).
      const unanswered = waiting.size + waiting.evicted;
      if (counters.documents === 0 && unanswered > 0) {
        ctx.log.warn(
          `${name}: nothing was indexed: none of the ${unanswered} request(s) came with a replayed response (type 3)` +
            (counters.skipped > 0
              ? ` (${counters.skipped} other record(s), such as original responses, are not indexed)`
              : '') +
            '; a document is a request and its replayed response: replay with --output-http URL ' +
            '--output-http-track-response, or read a file recorded that way',
        );
      }
    },
    stats: () => ({
      ...counters,
      ...indexer.counters,
      queued: indexer.queued,
      in_flight_bulks: indexer.inFlightCount,
      // Requests whose replayed response never came (a failed replay) or that were forgotten to bound memory.
      requests_without_response: waiting.size + waiting.evicted,
    }),
  };
}

function positive(flags: FlagSet, flag: string): number {
  const n = flags.number(flag);
  if (!(n > 0)) throw new TaplineError(ERROR_CODES.USAGE, 'must be > 0', { where: `--${flag}` });
  return n;
}

export const elasticsearchOutputPlugin: OutputPluginDef = {
  ...elasticsearchOutputDecl,
  create({ address, flags, ctx }) {
    const target = parseElasticsearchUrl(address);
    // Without tracked responses an --output-http replay produces nothing to index: gor then indexes nothing,
    // silently. tapline says so before it starts.
    if (flags.list('output-http').length > 0 && !flags.bool('output-http-track-response')) {
      throw new TaplineError(
        ERROR_CODES.USAGE,
        'documents are built from replayed responses: add --output-http-track-response',
        { where: `--${FLAG}` },
      );
    }
    return elasticsearchOutput(
      target,
      {
        bulkSize: positive(flags, `${FLAG}-bulk-size`),
        flushIntervalMs: positive(flags, `${FLAG}-flush-interval`),
        retryForMs: flags.number(`${FLAG}-retry-for`),
        maxInFlight: 4,
        requestTimeoutMs: 30_000,
        routes: flags.list('route'),
        maxWaiting: 100_000,
      },
      ctx,
    );
  },
};
