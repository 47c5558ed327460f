/**
 * Issue #6, "What it must show", item 1: exact byte accounting on the shared corpus.
 *
 * Every capture is cut into messages by the CLI's own raw input (`--input-raw FILE:PORTS
 * --input-raw-track-response`, in-process, see test/corpus/capture-run.ts); the records are fed to analytics.
 * Then, per file:
 *  - the requests and responses analytics accounted are the truth's HTTP/1 messages (tshark): same method and
 *    path, status, entity body bytes (`body_bytes`: chunked framing removed) and decoded body bytes
 *    (`decoded_body_bytes`: gzip/deflate/br removed) — compared as multisets over the whole file;
 *  - header + body bytes of each message are its bytes on the wire (the record), and the header block is
 *    where this test finds the blank line itself;
 *  - per-route totals (requests, header and body bytes, statuses) are recomputed here from the records and
 *    equal the snapshot's; the overall total equals the sum of all record lengths.
 * Files with named exceptions in test/corpus/exceptions.ts (where tshark's view differs from tapline's by
 * design) are checked by the corpus capture test and skipped here.
 */
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { createAnalytics, NO_REQUEST_ROUTE, templatePath } from '../../src/analytics/index.js';
import type { Exchange } from '../../src/analytics/types.js';
import { runCapture, serverPorts, type Truth } from '../corpus/capture-run.js';
import { EXCEPTIONS } from '../corpus/exceptions.js';
import { corpusFiles, readTruth } from '../support/corpus.js';

const CAPTURES = corpusFiles(['.pcap', '.pcapng', '.cap']).filter((f) => EXCEPTIONS[basename(f)] === undefined);

interface TruthWithDecoded extends Truth {
  responses: (Truth['responses'][number] & { decoded_body_bytes?: number })[];
}

/** The header block's end, found independently: just after the first blank line (CRLF or bare LF, after either). */
function headerEnd(data: Buffer): number {
  const crlf = data.indexOf('\n\r\n');
  const lf = data.indexOf('\n\n');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return crlf + 3;
  return lf === -1 ? data.length : lf + 2;
}

const sorted = (list: string[]) => [...list].sort();

describe('analytics: exact byte accounting on the corpus captures', { concurrency: 4 }, () => {
  for (const file of CAPTURES) {
    const name = basename(file);
    it(name, async () => {
      const truth = readTruth(file) as TruthWithDecoded;
      const run = await runCapture(file, serverPorts(truth));
      const analytics = createAnalytics({ timeBase: 'input', routeLimit: 10_000 });
      const exchanges: Exchange[] = [];
      analytics.onExchange((e) => exchanges.push(e));
      for (const r of run.records) analytics.observe(r);
      analytics.finish();
      const snapshot = analytics.snapshot();

      // The messages and their body sizes are the truth's.
      const truthRequests = truth.requests
        .filter((m) => m.proto === 'HTTP/1')
        .map((m) => `${m.method} ${m.uri!.split('?')[0]} body=${m.body_bytes}`);
      const gotRequests = exchanges
        .filter((e) => e.route !== NO_REQUEST_ROUTE)
        .map((e) => `${e.method} ${e.path} body=${e.requestBodyEntityBytes}`);
      // Absolute-form targets (proxy requests) keep only their path in analytics.
      const strip = (s: string) => s.replace(/ [a-z]+:\/\/[^/ ]+/i, ' ');
      assert.deepEqual(sorted(gotRequests.map(strip)), sorted(truthRequests.map(strip)), 'requests');
      const truthResponses = truth.responses
        .filter((m) => m.proto === 'HTTP/1')
        .map((m) => `${m.status} body=${m.body_bytes} decoded=${m.decoded_body_bytes ?? m.body_bytes}`);
      const gotResponses = exchanges
        .filter((e) => e.status !== undefined)
        .map((e) => `${e.status} body=${e.responseBodyEntityBytes} decoded=${e.responseBodyDecodedBytes}`);
      // Interim 1xx responses that share their request's id are folded into the exchange (its header bytes).
      const folded = snapshot.accounting.interim_responses;
      assert.equal(gotResponses.length + folded, truthResponses.length, 'responses (folded interim ones included)');
      if (folded === 0) assert.deepEqual(sorted(gotResponses), sorted(truthResponses), 'responses');

      // Header + body = the bytes on the wire, with the header block where this test finds it.
      const byId = new Map<string, { req?: Buffer; res: Buffer[] }>();
      for (const r of run.records) {
        const entry = byId.get(r.meta.id) ?? { res: [] };
        if (r.meta.type === '1') entry.req = r.data;
        else entry.res.push(r.data);
        byId.set(r.meta.id, entry);
      }
      for (const e of exchanges) {
        const rec = byId.get(e.id)!;
        if (e.route !== NO_REQUEST_ROUTE) {
          assert.equal(e.requestHeaderBytes, headerEnd(rec.req!), `request ${e.id} header bytes`);
          assert.equal(e.requestHeaderBytes + e.requestBodyBytes, rec.req!.length, `request ${e.id} wire bytes`);
        }
      }
      const allRecordBytes = run.records.reduce((n, r) => n + r.data.length, 0);
      assert.equal(snapshot.total_bytes, allRecordBytes, 'every byte of every message is counted once');

      // Per-route totals, recomputed from the records.
      const want = new Map<string, { requests: number; reqHeader: number; reqBody: number; res: number }>();
      for (const rec of byId.values()) {
        if (!rec.req) continue;
        const target = rec.req.toString('latin1', 0, rec.req.indexOf(' HTTP/')).split(' ')[1]!;
        const path = target.replace(/^[a-z]+:\/\/[^/]+/i, '').split(/[?#]/)[0] || '/';
        const route = templatePath(path);
        const w = want.get(route) ?? { requests: 0, reqHeader: 0, reqBody: 0, res: 0 };
        w.requests++;
        w.reqHeader += headerEnd(rec.req);
        w.reqBody += rec.req.length - headerEnd(rec.req);
        w.res += rec.res.reduce((n, b) => n + b.length, 0);
        want.set(route, w);
      }
      for (const [route, w] of want) {
        const got = snapshot.routes.find((r) => r.route === route);
        assert.ok(got, `route ${route} is in the snapshot`);
        assert.equal(got.requests, w.requests, `${route}: requests`);
        assert.equal(got.request_header_bytes, w.reqHeader, `${route}: request header bytes`);
        assert.equal(got.request_body_bytes, w.reqBody, `${route}: request body bytes`);
        assert.equal(got.response_header_bytes + got.response_body_bytes, w.res, `${route}: response bytes`);
      }
    });
  }
});
