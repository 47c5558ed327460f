/**
 * A stand-in for Elasticsearch's `_bulk` endpoint, for tests. No Elasticsearch server can be installed on this
 * machine, so this is ours: it accepts `POST [/prefix]/_bulk` with NDJSON action/document pairs and answers in
 * the documented shape (`{"took","errors","items":[{"index":{"_index","_id","_version","result","status"}}]}`,
 * item errors as `{"type","reason"}`), keeping every indexed document for the test to read.
 *
 * Failures are scripted: `rejectNext(n, status)` answers the next n requests with that status as a whole;
 * `failItems(n, status, type)` makes the next n documents fail inside an otherwise successful reply (status 429
 * for "es_rejected_execution_exception", 400 for "mapper_parsing_exception"...); `maxBodyBytes` answers larger
 * requests 413 as a whole.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface IndexedDocument {
  index: string;
  doc: Record<string, unknown>;
}

export interface BulkRequestLog {
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  documents: number;
  status: number;
}

export class EsBulkServer {
  readonly documents: IndexedDocument[] = [];
  readonly requests: BulkRequestLog[] = [];
  private readonly server: Server;
  private wholeFailures: number[] = [];
  private itemFailures: { status: number; type: string }[] = [];
  private nextId = 1;
  /** Bodies above this many bytes are answered 413, as a proxy's body limit (nginx: 1 MiB) or http.max_content_length. */
  maxBodyBytes = Number.POSITIVE_INFINITY;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      void readBody(req).then((body) => {
        const reply = this.handle(req, body);
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply.body));
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** The next `count` bulk requests get `status` (429, 503...) for the whole request. */
  rejectNext(count: number, status: number): void {
    for (let i = 0; i < count; i++) this.wholeFailures.push(status);
  }

  /** The next `count` documents fail individually with `status` and error `type`. */
  failItems(count: number, status: number, type: string): void {
    for (let i = 0; i < count; i++) this.itemFailures.push({ status, type });
  }

  private handle(req: IncomingMessage, body: string): { status: number; body: unknown } {
    const path = (req.url ?? '').split('?')[0]!;
    const log: BulkRequestLog = {
      path,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      documents: 0,
      status: 200,
    };
    this.requests.push(log);
    if (req.method !== 'POST' || !path.endsWith('/_bulk')) {
      log.status = 404;
      return { status: 404, body: esError('resource_not_found_exception', `no handler for ${req.method} ${path}`) };
    }
    if (Buffer.byteLength(body) > this.maxBodyBytes) {
      log.status = 413;
      return { status: 413, body: '<html><head><title>413 Request Entity Too Large</title></head></html>' };
    }
    const whole = this.wholeFailures.shift();
    if (whole !== undefined) {
      log.status = whole;
      const type = whole === 429 ? 'es_rejected_execution_exception' : 'unavailable_shards_exception';
      return { status: whole, body: { ...esError(type, 'scripted failure'), status: whole } };
    }
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/(x-ndjson|json)\b/.test(type)) {
      log.status = 406;
      return { status: 406, body: { error: `Content-Type header [${type}] is not supported`, status: 406 } };
    }
    const lines = body.split('\n').filter((l) => l !== '');
    if (!body.endsWith('\n') || lines.length % 2 !== 0) {
      log.status = 400;
      return {
        status: 400,
        body: esError('illegal_argument_exception', 'The bulk request must be terminated by a newline'),
      };
    }
    const items: unknown[] = [];
    let errors = false;
    for (let i = 0; i < lines.length; i += 2) {
      const action = JSON.parse(lines[i]!) as { index?: { _index?: string } };
      const doc = JSON.parse(lines[i + 1]!) as Record<string, unknown>;
      const index = action.index?._index ?? '';
      log.documents++;
      const failure = this.itemFailures.shift();
      if (failure) {
        errors = true;
        items.push({
          index: {
            _index: index,
            _id: null,
            status: failure.status,
            error: { type: failure.type, reason: 'scripted' },
          },
        });
        continue;
      }
      const id = String(this.nextId++);
      this.documents.push({ index, doc });
      items.push({
        index: {
          _index: index,
          _id: id,
          _version: 1,
          result: 'created',
          _shards: { total: 1, successful: 1, failed: 0 },
          status: 201,
        },
      });
    }
    return { status: 200, body: { took: 1, errors, items } };
  }
}

function esError(type: string, reason: string): { error: unknown; status: number } {
  return { error: { root_cause: [{ type, reason }], type, reason }, status: 400 };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
