/**
 * The stats addon's C++ core (src/analytics/native-tracker.ts, native/src/stats_core.cc) against the
 * JavaScript tracker (tracker.ts): the JSON snapshot must be identical, field for field, on
 *  - every .gor file of the shared corpus, read as records (the reader's raw bytes) and as plain messages;
 *  - every corpus capture (the CLI's raw input cuts the messages, as test/analytics/corpus-accounting does);
 *  - random exchanges with nasty parts (fast-check): bare-LF heads, heads without an end, chunked and
 *    gzip bodies (real and corrupt), odd Host and Transfer-Encoding values, absolute-form targets, 1xx and
 *    101 responses, duplicate and unknown ids, replayed responses, out-of-order and bad timestamps, small
 *    pending limits and timeouts, every --responses choice, --route rules;
 *  - random bytes as payloads and as meta lines (the core must count them, never crash).
 * Skipped (and said so) when the addon is not built.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { type AnalyticsOptions, createAnalytics } from '../../src/analytics/index.js';
import { statsAddon } from '../../src/analytics/stats-addon.js';
import { feedFiles } from '../../src/cli/report-input.js';
import { encodeRecord, GorRecordReader } from '../../src/core/gor-format.js';
import { createLogger } from '../../src/core/log.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { canMapFiles } from '../../src/inputs/file-map.js';
import { runCapture, serverPorts } from '../corpus/capture-run.js';
import { EXCEPTIONS } from '../corpus/exceptions.js';
import { corpusFiles, readTruth } from '../support/corpus.js';

const skip = statsAddon() === null ? 'the stats addon is not built (node scripts/build-native.mjs)' : false;

/** The snapshots of both engines over the same messages (each engine gets its own copy of the list). */
function both(messages: readonly Message[], options: AnalyticsOptions = {}): [string, string] {
  const run = (engine: 'auto' | 'js') => {
    const analytics = createAnalytics({ timeBase: 'input', ...options, engine });
    for (const m of messages) analytics.observe(m);
    const mid = JSON.stringify(analytics.snapshot()); // a read in the middle syncs the batch
    analytics.finish();
    return `${mid}\n${JSON.stringify(analytics.snapshot())}\n${JSON.stringify(analytics.roundStarts())}`;
  };
  return [run('auto'), run('js')];
}

/** Records as the reader makes them (raw bytes kept), and the same as plain messages (meta and data only). */
function readBoth(bytes: Buffer): { records: Message[]; plain: Message[] } {
  const records = new GorRecordReader(() => {}).push(bytes);
  const all = [...records, ...new GorRecordReader(() => {}).end()];
  // (A record whose meta line the reader's scanner let through but meta.ts refuses has no plain twin.)
  const plain = all.flatMap((r) => {
    try {
      return [{ meta: r.meta, data: Buffer.from(r.data) }];
    } catch {
      return [];
    }
  });
  return { records: all, plain };
}

describe('stats addon: identical snapshots to the JavaScript tracker', { skip }, () => {
  for (const file of corpusFiles(['.gor'])) {
    it(`corpus ${basename(file)}`, () => {
      const { records, plain } = readBoth(readFileSync(file));
      for (const options of [{}, { preferReplayed: true }, { responses: 'original' as const }]) {
        const [native, js] = both(records, options);
        assert.equal(native, js);
        const [nativePlain, jsPlain] = both(plain, options);
        assert.equal(nativePlain, jsPlain);
        assert.equal(nativePlain, js);
      }
    });
  }

  const captures = corpusFiles(['.pcap', '.pcapng', '.cap']).filter((f) => EXCEPTIONS[basename(f)] === undefined);
  it('corpus captures (the raw input cuts the messages)', { timeout: 120_000 }, async () => {
    for (const file of captures) {
      const run = await runCapture(file, serverPorts(readTruth(file)));
      const [native, js] = both(run.records, { routeLimit: 10_000, clientFromId: true });
      assert.equal(native, js, basename(file));
    }
  });

  const SEGMENTS = [
    'users',
    'api',
    'v1',
    '123',
    '0',
    'app.3f9a1c2b.js',
    'd41d8cd98f00b204e9800998ecf8427e',
    '550e8400-e29b-41d4-a716-446655440000',
    '2024-01-31',
    'x',
    '',
    'index-BxK3f9Qa7ZpL2mWq.js',
    '%20',
    'é',
    // Non-ASCII bytes (written latin1, one character a byte): UTF-8 é and 日本, a cut sequence, a surrogate,
    // a 4-byte emoji; both engines show valid UTF-8 as text and other bytes as \xHH (wire-text.ts).
    '\xc3\xa9',
    '\xe6\x97\xa5\xe6\x9c\xac',
    '\xe6\x97',
    '\xed\xa0\x80',
    '\xf0\x9f\x98\x80.js',
  ];
  const path = fc
    .tuple(fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 5 }), fc.constantFrom('', '?q=1', '#f', '?a/b'))
    .map(([segs, tail]) => `/${segs.join('/')}${tail}`);
  const target = fc.oneof(
    path,
    fc.string({ unit: fc.constantFrom('/', '1', '9', 'a', '.', 'Z', '-', '?'), maxLength: 40 }).map((p) => `/${p}`),
    path.map((p) => `http://example.com${p}`),
    fc.constantFrom('*', '://x/y', 'http://', 'http:///a', 'HTTPS://H:1'),
  );
  const hostHeader = fc.constantFrom(
    [],
    ['Host: example.com'],
    ['host:  a.example \t'],
    ['Host:'],
    ['Host: \xa0'],
    ['Host: b\xc3\xbccher.example '],
    ['Host: \xc2\xa0'],
    ['Host: \xe3\x80\x80'],
    ['HOST: b', 'Host: c'],
  );
  const eol = fc.constantFrom('\r\n', '\n');
  const te = fc.constantFrom(
    [],
    ['Transfer-Encoding: chunked'],
    ['transfer-encoding: gzip, Chunked \t'],
    ['Transfer-Encoding: notchunked'],
    ['Transfer-Encoding: chunked', 'Transfer-Encoding: identity'],
    ['Transfer-Encoding: ,chunked'],
  );
  const ce = fc.constantFrom(
    [],
    ['Content-Encoding: gzip'],
    ['content-encoding:  GZIP '],
    ['Content-Encoding: br'],
    ['Content-Encoding: identity'],
    ['Content-Encoding: \t'],
    ['Content-Encoding: deflate'],
  );
  const body = fc.constantFrom('', 'hello', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\nx', 'gzip', 'gzip-chunked', 'abc\n\ndef');
  const bodyBytes = (b: string): Buffer => {
    if (b === 'gzip') return gzipSync(Buffer.from('hello hello hello'));
    if (b === 'gzip-chunked') {
      const z = gzipSync(Buffer.from('x'.repeat(300)));
      return Buffer.concat([Buffer.from(`${z.length.toString(16)}\r\n`), z, Buffer.from('\r\n0\r\n\r\n')]);
    }
    return Buffer.from(b, 'latin1');
  };
  const message = fc.oneof(
    fc.record({
      kind: fc.constant('request' as const),
      method: fc.constantFrom('GET', 'POST', 'X'),
      target,
      version: fc.constantFrom(' HTTP/1.1', ' HTTP/1.0', ' HTTP/2', ''),
      host: hostHeader,
      te,
      ce: fc.constant([] as string[]),
      eol,
      end: fc.boolean(),
      body,
    }),
    fc.record({
      kind: fc.constantFrom('original' as const, 'replayed' as const),
      status: fc.constantFrom('200 OK', '100 Continue', '101 Switching', '404', '5000 X', 'abc', '302 Found'),
      version: fc.constantFrom('HTTP/1.1 ', 'HTTP/1.0 ', 'HTTX/1.1 '),
      te,
      ce,
      eol,
      end: fc.boolean(),
      body,
    }),
    fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 80 }) }),
  );
  const event = fc.record({
    message,
    id: fc.integer({ min: 0, max: 12 }),
    at: fc.integer({ min: -2, max: 400 }),
    fourth: fc.constantFrom(undefined, 0n, -1n, 5_000_000n),
    type: fc.constantFrom('', '1', '2', '3', 'x'),
  });

  type Event = typeof event extends fc.Arbitrary<infer T> ? T : never;

  function build(events: Event[]): Message[] {
    return events.map((e) => {
      const m = e.message;
      let data: Buffer;
      let type: string;
      if (m.kind === 'bytes') {
        data = Buffer.from(m.bytes.length > 0 ? m.bytes : [0x41]);
        type = e.type || '1';
      } else {
        const start = m.kind === 'request' ? `${m.method} ${m.target}${m.version}` : `${m.version}${m.status}`;
        const headers = [...(m.kind === 'request' ? m.host : []), ...m.te, ...m.ce, 'X-A: b'];
        const head = [start, ...headers].join(m.eol) + (m.end ? m.eol + m.eol : m.eol);
        data = Buffer.concat([Buffer.from(head, 'latin1'), bodyBytes(m.body)]);
        type = m.kind === 'request' ? '1' : m.kind === 'original' ? '2' : '3';
      }
      const at = e.at === -2 ? 0n : 1_795_000_000_000_000_000n + BigInt(e.at) * 1_000_000_000n;
      const meta = makeMeta({
        type,
        id: `${e.id.toString(16).padStart(24, 'a')}`,
        timestampNs: at,
        ...(e.fourth === undefined ? {} : { latencyNs: e.fourth }),
      });
      return { meta, data };
    });
  }

  const optionsArb = fc.record({
    maxPending: fc.constantFrom(undefined, 1, 3),
    pendingTimeoutMs: fc.constantFrom(undefined, 1000, 100_000),
    preferReplayed: fc.boolean(),
    latestReplayed: fc.boolean(),
    responses: fc.constantFrom('any' as const, 'original' as const, 'replayed' as const),
    routes: fc.constantFrom([], ['/users/:id'], ['/api/*'], ['/é/*', '/日本/:x']),
    routeLimit: fc.constantFrom(undefined, 2),
  });

  it('random exchanges, as records and as plain messages', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), optionsArb, (events, o) => {
        const options = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as AnalyticsOptions;
        const plain = build(events);
        const [native, js] = both(plain, options);
        assert.equal(native, js);
        const { records } = readBoth(Buffer.concat(plain.map((m) => encodeRecord(m))));
        const [nativeRecords, jsRecords] = both(records, options);
        assert.equal(nativeRecords, jsRecords);
      }),
      { numRuns: 300 },
    );
  });

  it('random exchanges in rounds (the same records again) and with answers from several replays', () => {
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 40 }),
        fc.integer({ min: 2, max: 4 }),
        optionsArb,
        (events, rounds, o) => {
          const options = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as AnalyticsOptions;
          // Each round: the events, then every replayed answer again, timed later (a later replay's).
          const round = [
            ...events,
            ...events
              .filter((e) => e.type === '3' || e.message.kind === 'replayed')
              .map((e) => ({ ...e, at: e.at + 1 })),
          ];
          const plain = build(Array.from({ length: rounds }, () => round).flat());
          const [native, js] = both(plain, { ...options, preferReplayed: true, latestReplayed: true });
          assert.equal(native, js);
        },
      ),
      { numRuns: 200 },
    );
  });

  // Messages come in bursts (an event-loop turn each): the clock moves only between turns, as it does for the
  // batches of the native tracker, which reads the clock once per batch (see native-tracker.ts). A burst's
  // batch is processed at the end of its turn, before the clock moves on, without any read asking for it.
  it('live runs: wall-clock rates and window() slices, random exchanges in bursts at random times', async () => {
    const turnEnd = () => new Promise<void>((resolve) => setImmediate(resolve));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(event, fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2500 }))), { maxLength: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.constantFrom(undefined, 60_000),
        async (timed, windowAt, maxWindowMs) => {
          const messages = build(timed.map(([e]) => e));
          const run = async (engine: 'auto' | 'js') => {
            let clock = 1_000_000;
            const analytics = createAnalytics({
              engine,
              now: () => clock,
              rateWindowMs: 3000,
              routeLimit: 3,
              ...(maxWindowMs === undefined ? {} : { maxWindowMs }),
            });
            const seen: string[] = [];
            for (const [i, m] of messages.entries()) {
              const step = timed[i]![1];
              if (step > 0) {
                await turnEnd();
                clock += step;
              }
              if (i === windowAt) seen.push(JSON.stringify(analytics.window(5000)));
              analytics.observe(m);
            }
            seen.push(JSON.stringify(analytics.snapshot()), JSON.stringify(analytics.window(2000)));
            await turnEnd();
            clock += 1500;
            analytics.finish();
            seen.push(JSON.stringify(analytics.snapshot()), JSON.stringify(analytics.window(60_000)));
            return seen.join('\n');
          };
          assert.equal(await run('auto'), await run('js'));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('random bytes for meta lines and payloads: counted the same, no crash', () => {
    const SEP = Buffer.from('\n🐵🙈🙉\n');
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('1', '2', '3', '12', ''),
            fc.uint8Array({ maxLength: 40 }),
            fc.uint8Array({ minLength: 1, maxLength: 120 }),
          ),
          { maxLength: 20 },
        ),
        (items) => {
          const bytes = Buffer.concat(
            items.flatMap(([type, meta, payload]) => [
              Buffer.from(`${type} `),
              Buffer.from(meta).map((b) => (b === 0x0a ? 0x20 : b)),
              Buffer.from(' 1\n'),
              Buffer.from(payload),
              SEP,
            ]),
          );
          const { records, plain } = readBoth(bytes);
          assert.equal(...both(records));
          assert.equal(...both(plain));
        },
      ),
      { numRuns: 300 },
    );
  });

  // Answered ids are remembered in two generations of 4,096: a second response is a duplicate while its id is in
  // one of them, and a response without request once both have moved on. Ids of every age, 1-60 bytes long.
  it('second responses for ids answered long ago and just now: the same duplicates either way', () => {
    const messages: Message[] = [];
    const idOf = (i: number) => (i % 3 === 0 ? `${i}` : i.toString(16).padStart(i % 3 === 1 ? 24 : 60, 'e'));
    const at = (i: number) => 1_795_000_000_000_000_000n + BigInt(i) * 1_000_000n;
    const response = (i: number, t: number) => ({
      meta: makeMeta({ type: '2', id: idOf(i), timestampNs: at(t) }),
      data: Buffer.from('HTTP/1.1 200 OK\r\n\r\n'),
    });
    for (let i = 0; i < 13_000; i++) {
      messages.push({
        meta: makeMeta({ type: '1', id: idOf(i), timestampNs: at(i) }),
        data: Buffer.from(`GET /a/${i} HTTP/1.1\r\nHost: h\r\n\r\n`),
      });
      messages.push(response(i, i));
      // Now and then a second response for an id answered 1-9,000 exchanges ago.
      if (i % 97 === 0)
        for (const ago of [1, 2_000, 4_095, 4_097, 6_000, 8_191, 8_193, 9_000])
          if (i >= ago) messages.push(response(i - ago, i));
    }
    const [native, js] = both(messages);
    assert.equal(native, js);
    assert.match(native, /"duplicate_responses":[1-9]/);
    assert.match(native, /"responses_without_request":[1-9]/);
  });

  it('past the route table limit, indexes are reused and the totals stay identical', () => {
    const messages: Message[] = [];
    for (let i = 0; i < 40_000; i++) {
      const id = i.toString(16).padStart(24, '0');
      const at = 1_795_000_000_000_000_000n + BigInt(i) * 1_000_000n;
      const req = `GET /w${i.toString(36)}x/a HTTP/1.1\r\nHost: h${i % 300}\r\n\r\n`;
      messages.push({ meta: makeMeta({ type: '1', id, timestampNs: at }), data: Buffer.from(req) });
      if (i % 7 !== 0)
        messages.push({
          meta: makeMeta({ type: '2', id, timestampNs: at }),
          data: Buffer.from('HTTP/1.1 200 OK\r\n\r\n'),
        });
    }
    const [native, js] = both(messages, { routeLimit: 50_000 });
    assert.equal(native, js);
  });
});

describe('stats addon: hasReplayed() finds what the byte search of report-input.ts finds', { skip }, () => {
  it('on random chunks made of separator pieces', () => {
    const monkeys = Buffer.from('🐵🙈🙉');
    const pieces = [
      Buffer.from('x'),
      monkeys,
      Buffer.from('\n3 '),
      Buffer.from('\r\n3 '),
      Buffer.from('\n'),
      Buffer.from('3 '),
      Buffer.from([0xf0]),
      monkeys.subarray(0, 11),
    ];
    const patterns = ['\n3 ', '\r\n3 '].map((t) => Buffer.concat([monkeys, Buffer.from(t)]));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: pieces.length - 1 }), { maxLength: 12 }), (picks) => {
        const chunk = Buffer.concat(picks.map((i) => pieces[i]!));
        const expected = patterns.some((p) => chunk.indexOf(p) !== -1);
        assert.equal(statsAddon()!.hasReplayed(chunk), expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('stats addon: report reads plain .gor files straight into the core', { skip }, () => {
  /** feedFiles() with the native core and with the JavaScript tracker: snapshots, input counters and warnings. */
  async function reportBoth(files: string[]): Promise<[string, string]> {
    const run = async (engine: 'auto' | 'js', map: boolean) => {
      const lines: string[] = [];
      const analytics = createAnalytics({ timeBase: 'input', engine });
      const progress = { records: 0, bytesRead: 0, bytesTotal: 0 };
      const fed = await feedFiles(files, analytics, createLogger({ write: (l) => lines.push(l) }), progress, map);
      return JSON.stringify({ snapshot: analytics.snapshot(), fed, lines, records: progress.records });
    };
    const js = await run('js', false);
    // Both direct paths: reads, and (with the file addon) a mapping of the file.
    if (canMapFiles()) assert.equal(await run('auto', true), js, 'mapped');
    return [await run('auto', false), js];
  }

  it('every corpus .gor file', async () => {
    for (const file of corpusFiles(['.gor'])) {
      const [native, js] = await reportBoth([file]);
      assert.equal(native, js, basename(file));
    }
  });

  it('records the core leaves to the reader: CRLF separators, a malformed meta line, an empty payload, a cut end, a record larger than a read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapline-native-gor-'));
    try {
      const sep = '\n🐵🙈🙉\n';
      const req = (id: number, path = '/a/1') =>
        `1 ${id.toString(16).padStart(24, '0')} 1795000000${String(id).padStart(9, '0')} 0\nGET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;
      const res = (id: number, body = 'ok') =>
        `2 ${id.toString(16).padStart(24, '0')} 1795000000${String(id).padStart(9, '0')} 0\nHTTP/1.1 200 OK\r\n\r\n${body}`;
      const good = (from: number, to: number) => {
        let out = '';
        for (let i = from; i < to; i++) out += req(i) + sep + res(i) + sep;
        return out;
      };
      const files: Record<string, string> = {
        crlf: `${good(0, 50)}${req(50)}\r\n🐵🙈🙉\r\n${good(51, 100)}`,
        malformed: `${good(0, 30)}1x\nGET / HTTP/1.1\r\n\r\n${sep}${good(30, 60)}`,
        empty: `${good(0, 20)}1 abc 1795000000000000000 0\n${sep}${good(20, 40)}`,
        cut: `${good(0, 20)}${req(20)}`,
        big: `${good(0, 5)}${res(5, 'x'.repeat(9 << 20))}${sep}${good(6, 10)}`,
        garbage: `nonsense${sep}${good(0, 10)}`,
        // Several reads (8 MiB each): the first cut inside a short record (carried), the second inside a 100 KiB one (read again).
        reads: `${good(0, 50_000)}${Array.from({ length: 120 }, (_, i) => req(100_000 + i) + sep + res(100_000 + i, 'y'.repeat(100 << 10)) + sep).join('')}${good(60_000, 70_000)}`,
      };
      for (const [name, text] of Object.entries(files)) {
        const file = join(dir, `${name}.gor`);
        writeFileSync(file, text, 'utf8');
        const [native, js] = await reportBoth([file]);
        assert.equal(native, js, name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stats addon: header blocks read as head-scan.ts reads them', { skip }, () => {
  it('a head whose blank line follows a line of the other ending (\\n\\r\\n, \\r\\n\\n) ends there, as capture cut it', () => {
    const messages: Message[] = [
      ['1', 'a1', 'POST /m HTTP/1.1\r\nHost: x\r\nContent-Length: 3\n\r\nabc'],
      ['2', 'a1', 'HTTP/1.1 200 OK\nContent-Length: 4\n\r\nbody'],
      ['1', 'a2', 'GET /n HTTP/1.1\nHost: x\n\r\n'],
      ['2', 'a2', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\nok'],
    ].map(([type, id, data], i) => ({
      meta: makeMeta({ type: type as '1' | '2', id: id!, timestampNs: 1_795_000_000_000_000_000n + BigInt(i) }),
      data: Buffer.from(data!, 'latin1'),
    }));
    for (const engine of ['auto', 'js'] as const) {
      const analytics = createAnalytics({ timeBase: 'input', engine });
      for (const m of messages) analytics.observe(m);
      analytics.finish();
      const t = analytics.snapshot().totals;
      const got = [t.request_header_bytes, t.request_body_bytes, t.response_header_bytes, t.response_body_bytes];
      assert.deepEqual(got, [47 + 26, 3, 36 + 37, 4 + 2], engine);
    }
  });

  it('random header lines made of name, colon, space, CR and LF pieces', () => {
    const piece = fc.constantFrom(
      'Host',
      'HOST',
      'host ',
      'HoSt',
      'Hos',
      'Hosts',
      'Content-Encoding',
      'content-encoding',
      'Transfer-Encoding',
      'TRANSFER-encoding',
      'Content-Type',
      'X',
      ':',
      ': ',
      ' ',
      '\r',
      '\n',
      '\r\n',
      'gzip',
      'chunked',
      'a.example',
      'h:1',
    );
    const head = fc.array(piece, { maxLength: 30 }).map((p) => p.join(''));
    fc.assert(
      fc.property(head, head, fc.boolean(), (requestHead, responseHead, crlfEnd) => {
        const end = crlfEnd ? '\r\n\r\n' : '\n\n';
        const messages: Message[] = [
          {
            meta: makeMeta({ type: '1', id: 'a1', timestampNs: 1_795_000_000_000_000_000n }),
            data: Buffer.from(`GET /x/1 HTTP/1.1\r\n${requestHead}${end}body`, 'latin1'),
          },
          {
            meta: makeMeta({ type: '2', id: 'a1', timestampNs: 1_795_000_000_100_000_000n }),
            data: Buffer.from(`HTTP/1.1 200 OK\r\n${responseHead}${end}5\r\nhello\r\n0\r\n\r\n`, 'latin1'),
          },
        ];
        assert.equal(...both(messages));
      }),
      { numRuns: 500 },
    );
  });
});

describe('stats addon: paths templated as routes.ts templates them', { skip }, () => {
  it('random paths of words, digits, dots, dashes, ids, hashes and tokens, with queries and fragments', () => {
    const piece = fc.constantFrom(
      '/',
      '/',
      'api',
      'users',
      '42',
      '7',
      '.',
      'app.js',
      'x.y.z',
      'a-b',
      '.well-known',
      'index-BxK3f9Qa',
      'main.5d41402a.js',
      'ABCDEFGHIJKLMNOPQ',
      'abcdefghijklmnop',
      '3f9a1c2b',
      '2024-01-02',
      '550e8400-e29b-41d4-a716-446655440000',
      'v1.2',
      '?q=1',
      '#f',
      '%41',
      '\u00e9',
    );
    // Short paths, many of them: a wrong template would file two paths of different routes under one cache key.
    const path = fc
      .array(fc.tuple(fc.constantFrom('/', '/', ''), piece), { maxLength: 4 })
      .map((p) => p.flat().join(''));
    fc.assert(
      fc.property(fc.array(path, { minLength: 1, maxLength: 16 }), (paths) => {
        // An exchange per batch (a read syncs), each path twice: later batches take routes from the core's caches.
        const oneByOne = (list: readonly Message[]) =>
          (['auto', 'js'] as const).map((engine) => {
            const analytics = createAnalytics({ timeBase: 'input', engine });
            for (const [i, m] of list.entries()) {
              analytics.observe(m);
              if (i % 2 === 1) analytics.snapshot();
            }
            analytics.finish();
            return JSON.stringify(analytics.snapshot());
          }) as [string, string];
        const messages: Message[] = [...paths, ...paths].flatMap((p, i) => [
          {
            meta: makeMeta({ type: '1', id: `p${i}`, timestampNs: 1_795_000_000_000_000_000n + BigInt(i) }),
            data: Buffer.from(`GET ${p} HTTP/1.1\r\nHost: h\r\n\r\n`, 'latin1'),
          },
          {
            meta: makeMeta({ type: '2', id: `p${i}`, timestampNs: 1_795_000_000_100_000_000n + BigInt(i) }),
            data: Buffer.from('HTTP/1.1 200 OK\r\n\r\nok', 'latin1'),
          },
        ]);
        assert.equal(...oneByOne(messages));
        const { records } = readBoth(Buffer.concat(messages.map((m) => encodeRecord(m))));
        assert.equal(...oneByOne(records));
        assert.equal(...both(records));
      }),
      { numRuns: 300 },
    );
  });
});

describe('stats addon: meta lines read as meta-view.ts reads them', { skip }, () => {
  it('timestamps and 4th fields of any length and sign, digits or not', () => {
    const SEP = '\n🐵🙈🙉\n';
    const field = fc.oneof(
      fc.stringMatching(/^-?[0-9]{0,30}$/),
      fc.constantFrom('', '-', '12a', '1795000000000000000', '-0', '9007199254740993000000000'),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(field, field, fc.boolean(), fc.integer({ min: 0, max: 3 })), { maxLength: 12 }),
        (items) => {
          const text = items
            .map(([ts, fourth, isResponse, id]) =>
              isResponse
                ? `2 ${id} ${ts} ${fourth}\nHTTP/1.1 200 OK\r\n\r\nx${SEP}`
                : `1 ${id} ${ts}\nGET /a HTTP/1.1\r\n\r\n${SEP}`,
            )
            .join('');
          const { records } = readBoth(Buffer.from(text));
          assert.equal(...both(records));
        },
      ),
      { numRuns: 400 },
    );
  });

  // The core reads 19-character timestamps (10 digits of seconds, 9 of ns) in a fast path, finds a short meta
  // line's spaces in one mask, and keeps ids up to 40 bytes inline: each edge here, against the JavaScript reader.
  it('19-character timestamps with a stray byte, doubled spaces, ids of 1-60 bytes', () => {
    const SEP = '\n🐵🙈🙉\n';
    const timestamp = fc
      .tuple(
        fc.stringMatching(/^[0-9]{19}$/),
        fc.integer({ min: -1, max: 18 }),
        fc.constantFrom('/', ':', 'a', '-', ' ', '0'),
      )
      .map(([digits, at, c]) => (at < 0 ? digits : digits.slice(0, at) + c + digits.slice(at + 1)));
    const id = fc.oneof(
      fc.stringMatching(/^[0-9a-f]{1,60}$/),
      fc.integer({ min: 0, max: 3 }).map((i) => `${i}`.padStart(41, 'f')),
      fc.integer({ min: 0, max: 3 }).map((i) => `${i}`.padStart(40, 'f')),
    );
    const gap = fc.constantFrom(' ', '  ');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(timestamp, id, fc.boolean(), gap, fc.constantFrom('', ' 0', ' 12', '  7')), {
          maxLength: 16,
        }),
        (items) => {
          const text = items
            .map(([ts, i, isResponse, sp, fourth]) =>
              isResponse
                ? `2 ${i}${sp}${ts}${fourth}\nHTTP/1.1 200 OK\r\n\r\nx${SEP}`
                : `1${sp}${i} ${ts}\nGET /a/1 HTTP/1.1\r\nHost: h\r\n\r\n${SEP}`,
            )
            .join('');
          const { records } = readBoth(Buffer.from(text));
          assert.equal(...both(records));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('stats addon: request targets with a colon anywhere in their first bytes', { skip }, () => {
  it('the authority of "scheme://" targets, and ":" that starts none', () => {
    const SEP = '\n🐵🙈🙉\n';
    const target = fc
      .tuple(
        fc.string({ unit: fc.constantFrom('/', 'a', '1', ':', '.'), maxLength: 14 }),
        fc.constantFrom('', '://', ':/', '//'),
        fc.string({ unit: fc.constantFrom('/', 'b', '2', ':'), maxLength: 10 }),
      )
      .map(([a, mid, b]) => a + mid + b);
    fc.assert(
      fc.property(fc.array(target, { minLength: 1, maxLength: 12 }), (targets) => {
        const text = targets
          .map((t, i) => {
            const id = i.toString(16).padStart(24, '0');
            const host = i % 2 === 0 ? 'Host: h\r\n' : '';
            return (
              `1 ${id} 1795000000000000000\nGET ${t || '/'} HTTP/1.1\r\n${host}\r\n${SEP}` +
              `2 ${id} 1795000000100000000 0\nHTTP/1.1 200 OK\r\n\r\n${SEP}`
            );
          })
          .join('');
        const { records } = readBoth(Buffer.from(text));
        assert.equal(...both(records));
      }),
      { numRuns: 300 },
    );
  });
});

describe('stats addon: the native entry points refuse bad input and never crash', { skip }, () => {
  const addon = statsAddon()!;

  it('prepare() with records out of range throws a RangeError, counts those in range; the core stays usable', () => {
    fc.assert(
      fc.property(
        // kind, buffer, a, b, payload start and end: the real offsets of the record in `buf`, or random ones.
        fc.oneof(
          fc.constant([0, 0, 0, 23, 24, 60]),
          fc.constant([0, 0, 0, 23, 24, 200]),
          fc.tuple(
            fc.constantFrom(0, 1, 2, -1),
            fc.constantFrom(0, 0, 1, -1),
            ...Array.from({ length: 4 }, () =>
              fc.oneof(fc.integer({ min: -5, max: 300 }), fc.constantFrom(0, 23, 24, 60, 200)),
            ),
          ),
        ),
        // The batch's times: none, too short (ignored), or one per record.
        fc.constantFrom(undefined, new Float64Array(0), new Float64Array([1_000])),
        (fields, times) => {
          const core = new addon.StatsCore(10, 1000, false, 0, true, false);
          core.aggregate(10, 10, 10, Math.log(1.02), 5000, () => 0);
          const buf = Buffer.from('1 a 1795000000000000000\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n'.padEnd(200, 'A'));
          const recs = Int32Array.from(fields);
          const jobs = new Int32Array(16);
          try {
            core.prepare([buf], Buffer.alloc(0), recs, new Float64Array(4), 1, jobs, times);
          } catch (err) {
            assert.ok(err instanceof RangeError, String(err));
          }
          const out = new Float64Array(11 * 16);
          core.commit(new Float64Array(2), out);
          // The request line and Host of the real offsets: a request is waiting, whichever call counted it.
          const counts = new Float64Array(7);
          core.counters(counts);
          if (
            fields[0] === 0 &&
            fields[1] === 0 &&
            fields[2] === 0 &&
            fields[3] === 23 &&
            fields[4] === 24 &&
            fields[5]! >= 60 &&
            fields[5]! <= 200
          )
            assert.equal(counts[6], 1);
          core.flush(out);
          core.aggregateState();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('scanGor() over random bytes and separator pieces reads what the reader reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapline-native-scan-'));
    const pieces = [
      '\n🐵🙈🙉\n',
      '\r\n🐵🙈🙉\r\n',
      '\n🐵🙈',
      '1 a 1795000000000000000 0\n',
      '2 a 1795000000100000000 5\n',
      'GET /x/1 HTTP/1.1\r\nHost: h\r\n\r\n',
      'HTTP/1.1 200 OK\r\n\r\n',
      '3 a 1 2\n',
      '\n',
      ' ',
      'x',
    ];
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 6 })), { maxLength: 40 }),
          async (parts) => {
            const file = join(dir, `f${n++}.gor`);
            writeFileSync(file, parts.join(''), 'utf8');
            const run = async (engine: 'auto' | 'js', map: boolean) => {
              const analytics = createAnalytics({ timeBase: 'input', engine });
              const lines: string[] = [];
              const progress = { records: 0, bytesRead: 0, bytesTotal: 0 };
              try {
                const log = createLogger({ write: (l) => lines.push(l) });
                const fed = await feedFiles([file], analytics, log, progress, map);
                return JSON.stringify({ s: analytics.snapshot(), fed, lines });
              } catch (err) {
                // (A cut last record whose meta line does not parse is a read error, the same with either tracker.)
                return `error: ${(err as Error).message}`;
              }
            };
            const js = await run('js', false);
            assert.equal(await run('auto', false), js);
            if (canMapFiles()) assert.equal(await run('auto', true), js);
          },
        ),
        { numRuns: 150 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
