/**
 * Issue #3, "What it must show", item 1: for every capture of the shared corpus,
 *
 *   tapline --input-raw-engine pcap_file --input-raw FILE:PORTS --input-raw-track-response --output-file out.gor
 *
 * yields the HTTP/1 requests and responses of the capture's tshark truth file: per connection and direction,
 * the same messages in the same order, with the same method, request-target, status and body length (entity
 * length: chunked framing removed, content coding kept). Where tshark is wrong, `exceptions.ts` says so by
 * name, with the reason, for an exact set of messages.
 *
 * Ids are checked too: a response shares the id of the request it answers (from tshark's `request_frame`, or
 * by HTTP/1's in-order rule on connections where nothing was lost), and a request's id is gor's formula
 * (spec §2.5: client port, server port, client IPv4 or last 4 bytes of IPv6, and the ACK of the segment that
 * carries the request's first byte), computed from the capture's own bytes.
 *
 * The capture runs in-process through the CLI's flag parser, plugins and pipeline (see capture-run.ts); one
 * spawned CLI run checks that the real process writes the same bytes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { runTapline } from '../support/cli.js';
import { corpusFiles, readTruth } from '../support/corpus.js';
import {
  captureArgs,
  type Parsed,
  parseRecords,
  portOf,
  readChunks,
  runCapture,
  serverPorts,
  type Truth,
  type TruthMessage,
} from './capture-run.js';
import { EXCEPTIONS } from './exceptions.js';
import { type TcpFrame, tcpFrames } from './frames.js';

const CAPTURES = corpusFiles(['.pcap', '.pcapng', '.cap']);

// ───────────────────────────── connection keys ─────────────────────────────

function ipBytes(ip: string): number[] {
  if (!ip.includes(':')) return ip.split('.').map(Number);
  const [head = '', tail] = ip.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return all.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

function hostOf(endpoint: string): string {
  const host = endpoint.slice(0, endpoint.lastIndexOf(':'));
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

const hex = (n: number, digits: number) => (n >>> 0).toString(16).padStart(digits, '0');

/** The connection part of a gor id (its first 16 hex digits): client port, server port, client IPv4 / IPv6 tail. */
function connectionKey(client: string, serverPort: number): string {
  const ip = ipBytes(hostOf(client)).slice(-4);
  return hex(portOf(client), 4) + hex(serverPort, 4) + ip.map((b) => hex(b, 2)).join('');
}

function truthKey(m: TruthMessage, kind: 'request' | 'response'): string {
  return kind === 'request' ? connectionKey(m.src, portOf(m.dst)) : connectionKey(m.dst, portOf(m.src));
}

// ───────────────────────────── expectations ─────────────────────────────

interface Expected {
  requests: TruthMessage[];
  responses: TruthMessage[];
}

/** The truth's HTTP/1 messages with the file's named exceptions applied (each selecting exactly its count). */
function expectedMessages(name: string, truth: Truth, stats: Record<string, number | string>): Expected {
  const out: Expected = {
    requests: truth.requests.filter((m) => m.proto === 'HTTP/1'),
    responses: truth.responses.filter((m) => m.proto === 'HTTP/1'),
  };
  for (const ex of EXCEPTIONS[name] ?? []) {
    const list = ex.kind === 'request' ? out.requests : out.responses;
    const picked = list.filter(ex.select);
    assert.equal(picked.length, ex.count, `exception "${ex.name}" selects ${picked.length} messages, not ${ex.count}`);
    const changed = list.flatMap((m) =>
      !picked.includes(m) ? [m] : ex.expect === 'absent' ? [] : [{ ...m, ...ex.expect }],
    );
    if (ex.kind === 'request') out.requests = changed;
    else out.responses = changed;
    for (const [counter, value] of Object.entries(ex.stats ?? {})) {
      assert.equal(stats[counter], value, `exception "${ex.name}": counter ${counter}`);
    }
  }
  return out;
}

const describeRequest = (method: string | undefined, uri: string | undefined, body: number) =>
  `${method} ${uri} body=${body}`;
const describeResponse = (status: number | undefined, body: number) => `${status} body=${body}`;

type Sequences = Record<string, string[]>;

function append(s: Sequences, key: string, value: string): void {
  const list = s[key];
  if (list) list.push(value);
  else s[key] = [value];
}

function sorted(s: Sequences): Sequences {
  return Object.fromEntries(Object.entries(s).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Truth messages as per-connection, per-direction sequences (`KEY >` requests, `KEY <` responses). */
function truthSequences(e: Expected): Sequences {
  const s: Sequences = {};
  for (const m of e.requests) append(s, `${truthKey(m, 'request')} >`, describeRequest(m.method, m.uri, m.body_bytes));
  for (const m of e.responses) append(s, `${truthKey(m, 'response')} <`, describeResponse(m.status, m.body_bytes));
  return sorted(s);
}

function tapSequences(got: readonly Parsed[]): Sequences {
  const s: Sequences = {};
  for (const m of got) {
    const key = m.id.slice(0, 16);
    if (m.type === '1') append(s, `${key} >`, describeRequest(m.method, m.uri, m.bodyBytes));
    else append(s, `${key} <`, describeResponse(m.status, m.bodyBytes));
  }
  return sorted(s);
}

/** Messages grouped like the sequences, keeping their position. */
function groupBy<T>(list: readonly T[], key: (m: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const m of list) {
    const k = key(m);
    const g = map.get(k);
    if (g) g.push(m);
    else map.set(k, [m]);
  }
  return map;
}

/**
 * For each expected final response, the index (within its connection) of the request it answers. On a
 * connection where every request has its final response, the request at the same position: HTTP/1 answers in
 * order (RFC 9112 §9.3.2). tshark's own `request_frame` is not used there because it is wrong under pipelining
 * (suricata-http-protocol-nodup.pcap: it names the latest request frame, not the request answered). Elsewhere
 * (a response lost, or a request not captured or excepted) tshark's `request_frame` decides, and responses
 * without one are not checked. A 101 is final for the request it upgrades; other 1xx answer nothing (gor gives
 * them the response formula id).
 */
function expectedPairs(requests: TruthMessage[], responses: TruthMessage[]): Map<TruthMessage, number> {
  const pairs = new Map<TruthMessage, number>();
  const finals = responses.filter((r) => (r.status ?? 0) >= 200 || r.status === 101);
  const lossless = finals.length === requests.length;
  finals.forEach((r, k) => {
    const index = lossless ? k : requests.findIndex((q) => q.frame === r.request_frame);
    if (index >= 0) pairs.set(r, index);
  });
  return pairs;
}

/**
 * Where request `q` begins: the nearest frame at or before its completion frame, from its client to its
 * server, holding its request line at the start of a line exactly once, or the start of it at its end with
 * the rest opening the next segment of the flow. Null when the frames cannot be read plainly (NFLOG, VXLAN)
 * or the line is not found.
 */
function requestStart(frame: (n: number) => TcpFrame | null, q: TruthMessage): { f: TcpFrame; offset: number } | null {
  const line = Buffer.from(`${q.method} ${q.uri} `, 'latin1');
  const sameFlow = (f: TcpFrame | null): f is TcpFrame =>
    f !== null && f.srcPort === portOf(q.src) && f.dstPort === portOf(q.dst);
  const lineStart = (f: TcpFrame, at: number) => at === 0 || f.payload[at - 1] === 0x0a;
  /** The flow's segment that follows `f` (by SEQ), up to the completion frame. */
  const nextSegment = (n: number, f: TcpFrame) => {
    for (let k = n + 1; k <= q.frame; k++) {
      const g = frame(k);
      if (sameFlow(g) && g.seq === (f.seq + f.payload.length) >>> 0 && g.payload.length > 0) return g;
    }
    return null;
  };
  for (let n = q.frame; n > 0 && n > q.frame - 2000; n--) {
    const f = frame(n);
    if (!sameFlow(f)) continue;
    const found: number[] = [];
    for (let at = f.payload.indexOf(line); at !== -1; at = f.payload.indexOf(line, at + 1)) {
      if (lineStart(f, at)) found.push(at);
    }
    for (let part = 1; part < line.length && part <= f.payload.length; part++) {
      const at = f.payload.length - part;
      if (!lineStart(f, at) || !f.payload.subarray(at).equals(line.subarray(0, part))) continue;
      const g = nextSegment(n, f);
      if (g?.payload.subarray(0, line.length - part).equals(line.subarray(part))) found.push(at);
    }
    if (found.length === 1) return { f, offset: found[0]! };
    if (found.length > 1) return null;
  }
  return null;
}

/**
 * How many request ids the formula check reaches in some files, so that it cannot quietly stop checking.
 * Every request of these captures starts in a frame this test reads (all of them, for the pipelined ones).
 */
const FORMULA_CHECKED: Record<string, number> = {
  'zeek-http-get.pcap': 1,
  'zeek-http-100-continue.pcap': 1,
  'wireshark-samplecaptures-http.cap': 2,
  'ppp-tcp-reassembly.pcap': 14,
  'chrissanders-http_espn.pcapng': 61,
  'suricata-http-protocol-nodup.pcap': 40,
  'zeek-http-1000-requests-one-dropped-response.pcap': 1000,
  'zeek-http-post-large.pcap': 2,
};

// ───────────────────────────── the test ─────────────────────────────

describe('corpus: --input-raw pcap_file yields the HTTP/1 messages of the truth', { concurrency: 4 }, () => {
  for (const file of CAPTURES) {
    const name = basename(file);
    it(name, async () => {
      const truth = readTruth(file) as Truth;
      const ports = serverPorts(truth);
      assert.ok(ports.length > 0, 'the truth names a server port');
      const run = await runCapture(file, ports);
      assert.deepEqual(run.problems, [], 'out.gor reads back without problems');
      const got = parseRecords(run.records);
      const expected = expectedMessages(name, truth, run.stats);
      assert.ok(Number(run.stats.connections) > 0, 'the capture reached the TCP assembler');
      if (truth.counts.http2_requests + truth.counts.http2_responses > 0) {
        // HTTP/2 (prior knowledge or h2c upgrade) is recognised as a protocol switch, not skipped as junk.
        assert.ok(Number(run.stats.upgraded_streams) > 0, 'HTTP/2 streams are counted as upgraded');
        assert.equal(run.stats.garbage_bytes, 0, 'no HTTP/2 byte is scanned as HTTP/1');
      }

      // Messages: per connection and direction, in stream order.
      assert.deepStrictEqual(tapSequences(got), truthSequences(expected));

      // Pairs: a response carries the id of the request it answers.
      const gotRequests = groupBy(
        got.filter((m) => m.type === '1'),
        (m) => m.id.slice(0, 16),
      );
      const gotResponses = groupBy(
        got.filter((m) => m.type === '2'),
        (m) => m.id.slice(0, 16),
      );
      const wantRequests = groupBy(expected.requests, (m) => truthKey(m, 'request'));
      const wantResponses = groupBy(expected.responses, (m) => truthKey(m, 'response'));
      let paired = 0;
      for (const [key, responses] of wantResponses) {
        const requests = wantRequests.get(key) ?? [];
        for (const [response, index] of expectedPairs(requests, responses)) {
          const res = gotResponses.get(key)![responses.indexOf(response)]!;
          const req = gotRequests.get(key)![index]!;
          assert.equal(res.id, req.id, `response (frame ${response.frame}) has the id of its request`);
          paired++;
        }
      }
      const requestFrames = new Set(expected.requests.map((q) => q.frame));
      const answered = expected.responses.filter(
        (r) => r.request_frame != null && requestFrames.has(r.request_frame),
      ).length;
      assert.ok(paired >= answered, `${paired} pairs checked, tshark matched ${answered}`);

      // Request ids: gor's formula on the segment that carries the request's first byte (found in the capture).
      const frame = tcpFrames(file);
      let checked = 0;
      for (const [key, requests] of wantRequests) {
        const ids = gotRequests.get(key)!.map((m) => m.id);
        // When each request's response was complete (frame), to know which requests are still waiting.
        const answeredAt = new Map<number, number>();
        for (const [response, index] of expectedPairs(requests, wantResponses.get(key) ?? [])) {
          answeredAt.set(index, response.frame);
        }
        const expectedIds: (string | undefined)[] = [];
        requests.forEach((q, i) => {
          const start = requestStart(frame, q);
          if (!start) return;
          const { f, offset } = start;
          const head = f.payload.subarray(offset).toString('latin1');
          const end = head.search(/\r?\n\r?\n/);
          const expectContinue = /\nExpect:[ \t]*100-continue\r?\n/i.test(end === -1 ? head : head.slice(0, end + 2));
          // client port, server port, client IP tail: `key`, already checked against the truth's endpoints.
          const byAck = key + hex(expectContinue ? f.ack + 25 : f.ack, 8);
          // Pipelining (docs/compat.md): when the formula gives the id of an earlier request that is still
          // waiting for its response, tapline uses the request's own SEQ so that the pairs stay distinct.
          const repeats = expectedIds.some(
            (id, k) => id === byAck && (answeredAt.get(k) ?? Number.POSITIVE_INFINITY) > q.frame,
          );
          expectedIds[i] = repeats ? key + hex(f.seq + offset, 8) : byAck;
          assert.equal(ids[i], expectedIds[i], `request id (frame ${q.frame}) follows gor's formula`);
          checked++;
        });
      }
      if (FORMULA_CHECKED[name] !== undefined) assert.equal(checked, FORMULA_CHECKED[name], 'request ids checked');
    });
  }
});

describe('corpus: the CLI process', () => {
  it('writes the same out.gor as the in-process run (zeek-http-pipelined-requests.pcap)', async () => {
    const file = CAPTURES.find((f) => f.endsWith('zeek-http-pipelined-requests.pcap'))!;
    const ports = serverPorts(readTruth(file) as Truth);
    const dir = mkdtempSync(join(tmpdir(), 'tapline-corpus-cli-'));
    try {
      const result = await runTapline(captureArgs(file, ports, join(dir, 'out.gor')));
      assert.equal(result.code, 0, result.stderr);
      const spawned = readChunks(dir);
      const inProcess = (await runCapture(file, ports)).files;
      assert.deepEqual(
        spawned.map((f) => f.name),
        inProcess.map((f) => f.name),
      );
      assert.ok(spawned.length > 0);
      for (let i = 0; i < spawned.length; i++) assert.ok(spawned[i]!.bytes.equals(inProcess[i]!.bytes));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
