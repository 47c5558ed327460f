// Splitter behaviour, as transcripts: push bytes, gaps, end; expect messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { Anomaly, describeAnomalies, type Http1Message } from './message.js';
import { RequestSplitter, ResponseSplitter } from './splitter.js';
import { FIXTURES, run } from './test-fixtures.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const pick = (ms: readonly Http1Message[], ...keys: (keyof Http1Message)[]) =>
  ms.map((m) => Object.fromEntries(keys.map((k) => [k, m[k]])));

function responses(methods: string[], ...chunks: string[]): { out: Http1Message[]; s: ResponseSplitter } {
  const s = new ResponseSplitter({ collect: true });
  for (const m of methods) s.expect(m);
  const out: Http1Message[] = [];
  for (const c of chunks) out.push(...s.push(b(c)));
  return { out, s };
}

describe('response framing', () => {
  it('HEAD response with Content-Length has no body', () => {
    const { out } = responses(
      ['HEAD', 'GET'],
      'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi',
    );
    assert.deepEqual(pick(out, 'method', 'start', 'end', 'bodyLength', 'contentLength'), [
      { method: 'HEAD', start: 0, end: 41, bodyLength: 0, contentLength: 1234 },
      { method: 'GET', start: 41, end: 81, bodyLength: 2, contentLength: 2 },
    ]);
  });

  it('204 and 304 have no body, even with Content-Length', () => {
    const { out } = responses(
      [],
      'HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    );
    assert.deepEqual(pick(out, 'status', 'bodyLength'), [
      { status: 204, bodyLength: 0 },
      { status: 304, bodyLength: 0 },
      { status: 200, bodyLength: 0 },
    ]);
  });

  it('100 Continue is its own interim message; the final response takes the method', () => {
    const { out, s } = responses(
      ['POST'],
      'HTTP/1.1 100 Continue\r\n\r\n',
      'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
    );
    assert.deepEqual(pick(out, 'status', 'interim', 'method', 'end'), [
      { status: 100, interim: true, method: '', end: 25 },
      { status: 201, interim: false, method: 'POST', end: 70 },
    ]);
    assert.equal(s.pendingExpected, 0);
  });

  it('101 Switching Protocols: later bytes are opaque, never messages', () => {
    const frames = Buffer.concat([Buffer.from([0x81, 0x13]), b('HTTP/1.1 200 OK\r\n\r\n')]);
    const s = new ResponseSplitter();
    const out = [
      ...s.push(b('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')),
      ...s.push(frames),
      ...s.push(frames),
      ...s.end(),
    ];
    assert.equal(out.length, 1);
    assert.equal(out[0]!.upgrade, true);
    assert.deepEqual(s.opaque, { from: 77, reason: 'upgrade' });
    assert.equal(s.stats.opaqueBytes, 2 * frames.length);
    assert.equal(s.stats.garbageBytes, 0);
  });

  it('close-delimited response completes only at end()', () => {
    const s = new ResponseSplitter();
    assert.equal(s.push(b('HTTP/1.0 200 OK\r\nServer: x\r\n\r\npart one ')).length, 0);
    assert.equal(s.push(b('HTTP/1.1 200 OK\r\n\r\n')).length, 0); // body bytes, not a new response
    assert.equal(s.inMessage, true);
    const [m] = s.end();
    assert.equal(m!.closeDelimited, true);
    assert.equal(m!.incomplete, null);
    assert.equal(m!.bodyLength, 28);
    assert.equal(m!.end, 58);
  });

  it('a close-delimited body whose bytes end with the connection still open (end(false)) is incomplete', () => {
    const s = new ResponseSplitter();
    s.push(b('HTTP/1.0 200 OK\r\nServer: x\r\n\r\npart one '));
    const [m] = s.end(false);
    assert.deepEqual(pick([m!], 'closeDelimited', 'incomplete', 'bodyLength', 'end'), [
      { closeDelimited: true, incomplete: 'eof', bodyLength: 9, end: 39 },
    ]);
  });

  it('chunked body with extensions and trailers', () => {
    const { out } = responses(
      ['GET'],
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
      '4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\nX-Check: 1\r\n\r\n',
    );
    assert.deepEqual(pick(out, 'chunked', 'entityLength', 'bodyLength', 'trailerCount'), [
      { chunked: true, entityLength: 9, bodyLength: 58, trailerCount: 2 },
    ]);
    assert.equal(out[0]!.bytes!.toString('latin1').endsWith('X-Check: 1\r\n\r\n'), true);
  });

  it('chunk sizes in upper case or with any number of leading zeros (1*HEXDIG) frame the body', () => {
    const { out } = responses(
      ['GET', 'GET'],
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n',
      '00000000000000000000005\r\nhello\r\n00000000000000000000\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    );
    assert.deepEqual(pick(out, 'incomplete', 'entityLength', 'bodyLength'), [
      { incomplete: null, entityLength: 31, bodyLength: 88 },
      { incomplete: null, entityLength: 2, bodyLength: 2 },
    ]);
  });

  it('a Content-Length with any number of leading zeros (1*DIGIT) frames the body', () => {
    const { out } = responses(
      ['GET', 'GET'],
      'HTTP/1.1 200 OK\r\nContent-Length: 00000000000000000005\r\n\r\nhello',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    );
    assert.deepEqual(pick(out, 'incomplete', 'contentLength', 'bodyLength', 'closeDelimited'), [
      { incomplete: null, contentLength: 5, bodyLength: 5, closeDelimited: false },
      { incomplete: null, contentLength: 2, bodyLength: 2, closeDelimited: false },
    ]);
  });

  it('without expected methods responses are framed as answers to GET', () => {
    const { out } = responses([], 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx');
    assert.equal(out[0]!.method, '');
    assert.equal(out[0]!.bodyLength, 1);
  });

  it('2xx to CONNECT opens a tunnel', () => {
    const s = new ResponseSplitter();
    s.expect('CONNECT');
    const out = [...s.push(b('HTTP/1.1 200 OK\r\n\r\n\x16\x03\x01\x00')), ...s.end()];
    assert.equal(out.length, 1);
    assert.deepEqual(s.opaque, { from: 19, reason: 'connect' });
  });
});

describe('request framing', () => {
  it('requests without length have no body; Expect: 100-continue is flagged', () => {
    const s = new RequestSplitter();
    const out = s.push(
      b('GET / HTTP/1.1\r\n\r\nPOST /u HTTP/1.1\r\nexpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc'),
    );
    assert.deepEqual(pick(out, 'method', 'expectContinue', 'bodyLength'), [
      { method: 'GET', expectContinue: false, bodyLength: 0 },
      { method: 'POST', expectContinue: true, bodyLength: 3 },
    ]);
  });

  it('CONNECT request: the TLS bytes after it are opaque', () => {
    const s = new RequestSplitter();
    const out = [
      ...s.push(b('CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n\x16\x03\x01\x02\x00GET / HTTP/1.1\r\n')),
      ...s.end(),
    ];
    assert.deepEqual(pick(out, 'method', 'target', 'upgrade'), [{ method: 'CONNECT', target: 'h:443', upgrade: true }]);
    assert.equal(s.opaque?.reason, 'connect');
  });

  it('an upgrade request followed by HTTP keeps parsing HTTP (the server declined)', () => {
    const s = new RequestSplitter();
    const out = s.push(
      b('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nGET /x HTTP/1.1\r\n\r\n'),
    );
    assert.deepEqual(pick(out, 'target', 'upgrade'), [
      { target: '/ws', upgrade: true },
      { target: '/x', upgrade: false },
    ]);
    assert.equal(s.opaque, null);
  });

  it('Upgrade without Connection: upgrade is not an upgrade', () => {
    const s = new RequestSplitter();
    const [m] = s.push(b('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n'));
    assert.equal(m!.upgrade, false);
  });

  it('switchToOpaque() when the caller learns of a switch', () => {
    const s = new RequestSplitter();
    s.push(b('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nabc'));
    s.switchToOpaque();
    assert.deepEqual(s.opaque, { from: 61, reason: 'caller' });
    assert.equal(s.push(b('GET / HTTP/1.1\r\n\r\n')).length, 0);
  });

  it('LF-only messages', () => {
    const s = new RequestSplitter();
    const out = s.push(b('POST /a HTTP/1.1\nContent-Length: 2\n\nokGET /b HTTP/1.0\n\n'));
    assert.deepEqual(pick(out, 'target', 'version', 'end'), [
      { target: '/a', version: 'HTTP/1.1', end: 38 },
      { target: '/b', version: 'HTTP/1.0', end: 55 },
    ]);
    assert.ok(out[0]!.anomalies & Anomaly.LF_ONLY);
  });
});

describe('leniency is reported', () => {
  it('each oddity of the lenient fixture is flagged on its message', () => {
    const { raw } = run(FIXTURES.find((f) => f.name === 'lenient requests')!, []);
    assert.deepEqual(
      raw.map((m) => [m.target, describeAnomalies(m.anomalies)]),
      [
        ['/lf', ['LF_ONLY']],
        ['/fold', ['OBS_FOLD']],
        ['/colon', ['SPACE_BEFORE_COLON']],
        ['/both', ['CONTENT_LENGTH_AND_CHUNKED']],
        ['/nocolon', ['BAD_HEADER_LINE']],
        ['/dup', []],
        ['/te', []],
        ['/fold-te', ['OBS_FOLD']],
        ['/spaces', ['LOOSE_START_LINE']],
        ['/chunk-lf', ['CHUNK_LF_ONLY']],
      ],
    );
    assert.deepEqual(
      raw.map((m) => m.chunked),
      [false, false, false, true, false, false, true, true, false, true],
    );
  });

  it('bad and conflicting Content-Length values are flagged and ignored', () => {
    const s = new RequestSplitter();
    const out = s.push(
      b(
        'POST /a HTTP/1.1\r\nContent-Length: 1x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok',
      ),
    );
    assert.deepEqual(
      out.map((m) => [m.target, m.contentLength, describeAnomalies(m.anomalies)]),
      [
        ['/a', -1, ['BAD_CONTENT_LENGTH']],
        ['/b', 2, ['CONFLICTING_CONTENT_LENGTH']],
      ],
    );
  });

  it('a chunked body without the blank line after its last chunk ends before the next start line (malformed)', () => {
    const { raw, stats } = run(FIXTURES.find((f) => f.name.startsWith('chunked bodies whose sender left out'))!, []);
    assert.deepEqual(
      raw.map((m) => [m.status, m.incomplete, m.end - m.start]),
      [
        [200, 'malformed', 57],
        [200, 'malformed', 75],
        [404, null, 47],
        [200, 'malformed', 77],
      ],
    );
    assert.equal(stats.garbageBytes, 0);
  });

  it('strictLength: a length that cannot be trusted loses the framing (malformed, up to the next start line)', () => {
    const s = new RequestSplitter({ strictLength: true, collect: true });
    const out = [
      ...s.push(b('POST /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n')),
      ...s.push(
        b('PUT /c HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nzzzzGET /d HTTP/1.1\r\nContent-Length: 1\r\n\r\nx'),
      ),
      ...s.push(b('POST /e HTTP/1.1\r\nContent-Length: 1x\r\n\r\nyy')),
      ...s.end(),
    ];
    assert.deepEqual(
      out.map((m) => [m.bytes!.toString('latin1'), m.incomplete]),
      [
        ['POST /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc', 'malformed'],
        ['GET /b HTTP/1.1\r\n\r\n', null],
        ['PUT /c HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nzzzz', 'malformed'],
        ['GET /d HTTP/1.1\r\nContent-Length: 1\r\n\r\nx', null],
        ['POST /e HTTP/1.1\r\nContent-Length: 1x\r\n\r\nyy', 'malformed'],
      ],
    );
    assert.equal(s.stats.garbageBytes, 0);
    // Where the body does not need a length, or chunked decides it, nothing changes.
    const r = new ResponseSplitter({ strictLength: true });
    r.expect('HEAD');
    r.expect('GET');
    r.expect('GET');
    const answers = r.push(
      b(
        'HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n' +
          'HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n' +
          'HTTP/1.1 304 Not Modified\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      ),
    );
    assert.deepEqual(
      answers.map((m) => [m.status, m.incomplete]),
      [
        [200, null],
        [200, null],
        [304, null],
      ],
    );
  });
});

describe('junk and resync', () => {
  it('junk before a start line is skipped and counted, never thrown', () => {
    const s = new RequestSplitter();
    const out = s.push(b('\x00\x01\x02binary\r\nleftover body GET /x HTTP/1.1\r\n\r\n'));
    assert.equal(out.length, 1);
    assert.equal(out[0]!.start, 25);
    assert.ok(out[0]!.anomalies & Anomaly.AFTER_GARBAGE);
    assert.equal(s.stats.garbageBytes, 25);
    assert.equal(s.stats.resyncs, 1);
  });

  it('a known method glued to junk is split off while resynchronising', () => {
    const s = new RequestSplitter();
    const [m] = s.push(b('\x00\x00tailPOST /p HTTP/1.1\r\nContent-Length: 0\r\n\r\n'));
    assert.equal(m!.method, 'POST');
    assert.equal(m!.start, 6);
  });

  it('startMidStream(): the tail of a message glued to the first request line is junk, not part of its method', () => {
    const glued = 'tail-of-bodyGET /two HTTP/1.1\r\n\r\n';
    // At a clean boundary too (bytes left over from the message before): an unregistered method ending with a
    // known one is read as after a gap.
    const clean = new RequestSplitter();
    assert.deepEqual(pick(clean.push(b(glued)), 'method', 'start'), [{ method: 'GET', start: 12 }]);
    // A method that does not end like a known one stays whole at a clean boundary, not mid-stream.
    const custom = 'tail-of-bodyFETCH /two HTTP/1.1\r\n\r\n';
    assert.deepEqual(pick(new RequestSplitter().push(b(custom)), 'method'), [{ method: 'tail-of-bodyFETCH' }]);
    const mid = new RequestSplitter();
    mid.startMidStream();
    assert.deepEqual(pick(mid.push(b(glued)), 'method', 'target', 'start'), [
      { method: 'GET', target: '/two', start: 12 },
    ]);
    assert.equal(mid.stats.garbageBytes, 12);
  });

  it('a malformed chunk size makes the message incomplete; the next start line is found', () => {
    const s = new RequestSplitter();
    const out = [
      ...s.push(b('POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nstuff\r\nGET /next HTTP/1.1\r\n\r\n')),
      ...s.end(),
    ];
    assert.deepEqual(pick(out, 'target', 'incomplete', 'start', 'end'), [
      { target: '/c', incomplete: 'malformed', start: 0, end: 59 },
      { target: '/next', incomplete: null, start: 59, end: 81 },
    ]);
  });
});

describe('max-size', () => {
  it('cuts at maxSize, reports the true length, and skips the rest by its framing', () => {
    const s = new RequestSplitter({ maxSize: 50, collect: true });
    const big = `POST /big HTTP/1.1\r\nContent-Length: 200\r\n\r\n${'x'.repeat(200)}`;
    const out = [...s.push(b(big)), ...s.push(b('GET /n HTTP/1.1\r\n\r\n')), ...s.end()];
    assert.deepEqual(pick(out, 'target', 'incomplete', 'start', 'end', 'trueLength'), [
      { target: '/big', incomplete: 'max-size', start: 0, end: 50, trueLength: big.length },
      { target: '/n', incomplete: null, start: big.length, end: big.length + 19, trueLength: 19 },
    ]);
    assert.equal(out[0]!.bytes!.length, 50);
    assert.equal(s.stats.discardedBytes, big.length - 50);
  });

  it('a header block over 64 KiB is kept whole up to maxSize (what --input-raw-max-size promises), cut beyond', () => {
    // 1 MiB of headers, in packet-sized pushes, a header line of 100 KiB among them (a huge cookie).
    const head =
      `GET /big HTTP/1.1\r\nCookie: ${'c'.repeat(100 * 1024)}\r\n` +
      Array.from({ length: 900 }, (_, i) => `X-H${i}: ${'v'.repeat(1000)}\r\n`).join('') +
      'Content-Length: 3\r\n\r\nabc';
    const push = (s: RequestSplitter, text: string) => {
      const out: Http1Message[] = [];
      for (let i = 0; i < text.length; i += 1448) out.push(...s.push(b(text.slice(i, i + 1448))));
      return [...out, ...s.end()];
    };
    const whole = push(
      new RequestSplitter({ maxSize: 64 * 1024 * 1024, collect: true }),
      `${head}GET /n HTTP/1.1\r\n\r\n`,
    );
    assert.deepEqual(pick(whole, 'target', 'incomplete', 'contentLength'), [
      { target: '/big', incomplete: null, contentLength: 3 },
      { target: '/n', incomplete: null, contentLength: -1 },
    ]);
    assert.equal(whole[0]!.bytes!.toString('latin1'), head);

    const cut = push(new RequestSplitter({ maxSize: 512 * 1024, collect: true }), head);
    assert.deepEqual(pick(cut, 'target', 'incomplete', 'end'), [
      { target: '/big', incomplete: 'max-size', end: 512 * 1024 },
    ]);
    // Without maxSize (a replay target's responses), and with maxHeaderSize given, the header limit still holds.
    for (const options of [{}, { maxSize: 64 * 1024 * 1024, maxHeaderSize: 64 * 1024 }]) {
      const limited = push(new RequestSplitter(options), head);
      assert.deepEqual(pick(limited, 'incomplete', 'end'), [{ incomplete: 'max-size', end: 64 * 1024 }]);
    }
  });

  it('a cut message is reported as soon as it reaches the limit', () => {
    const s = new RequestSplitter({ maxSize: 60 });
    const out = s.push(b(`POST /big HTTP/1.1\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(100)}`));
    assert.equal(out.length, 1);
    assert.equal(s.retainFrom, s.position); // nothing left to keep
  });
});

describe('gaps', () => {
  const post = (n: number) => `POST /p HTTP/1.1\r\nContent-Length: ${n}\r\n\r\n`;

  it('a gap inside a Content-Length body keeps the framing', () => {
    const s = new RequestSplitter({ collect: true });
    const head = post(10);
    const out = [...s.push(b(`${head}abc`)), ...s.gap(4), ...s.push(b('xyzGET /after HTTP/1.1\r\n\r\n')), ...s.end()];
    assert.deepEqual(pick(out, 'target', 'incomplete', 'missingBytes', 'start', 'end'), [
      { target: '/p', incomplete: 'gap', missingBytes: 4, start: 0, end: head.length + 10 },
      { target: '/after', incomplete: null, missingBytes: 0, start: head.length + 10, end: head.length + 33 },
    ]);
    assert.equal(out[0]!.bytes!.toString('latin1'), `${head}abcxyz`);
    assert.equal(s.stats.resyncs, 0);
  });

  it('a gap inside chunk data keeps the framing', () => {
    const s = new RequestSplitter();
    const out = [
      ...s.push(b('POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01')),
      ...s.gap(5),
      ...s.push(b('789\r\n0\r\n\r\nGET /n HTTP/1.1\r\n\r\n')),
    ];
    assert.deepEqual(pick(out, 'target', 'incomplete', 'missingBytes', 'entityLength'), [
      { target: '/c', incomplete: 'gap', missingBytes: 5, entityLength: 10 },
      { target: '/n', incomplete: null, missingBytes: 0, entityLength: 0 },
    ]);
  });

  it('a gap running past the body end: the message completes, then resync', () => {
    const s = new RequestSplitter();
    const head = post(4);
    const out = [
      ...s.push(b(`${head}ab`)),
      ...s.gap(30),
      ...s.push(b('t of lost request\r\n\r\nGET /z HTTP/1.1\r\n\r\n')),
    ];
    assert.deepEqual(pick(out, 'target', 'incomplete', 'missingBytes', 'end'), [
      { target: '/p', incomplete: 'gap', missingBytes: 2, end: head.length + 4 },
      { target: '/z', incomplete: null, missingBytes: 0, end: head.length + 2 + 30 + 40 },
    ]);
    assert.equal(s.stats.garbageBytes, 19); // 't of lost request\r\n'
    assert.equal(s.stats.blankBytes, 2);
  });

  it('a gap in the headers: the message ends where the next start line begins', () => {
    const s = new RequestSplitter({ collect: true });
    const out = [
      ...s.push(b('GET /a HTTP/1.1\r\nHo')),
      ...s.gap(10),
      ...s.push(b('rest\r\n\r\nGET /b HTTP/1.1\r\n\r\n')),
      ...s.end(),
    ];
    assert.deepEqual(pick(out, 'target', 'incomplete', 'missingBytes', 'start', 'end'), [
      { target: '/a', incomplete: 'gap', missingBytes: 10, start: 0, end: 37 },
      { target: '/b', incomplete: null, missingBytes: 0, start: 37, end: 56 },
    ]);
    assert.equal(out[0]!.bytes!.toString('latin1'), 'GET /a HTTP/1.1\r\nHorest\r\n\r\n');
    assert.equal(s.stats.garbageBytes, 0); // the bytes after the gap were attributed to /a
  });

  it('a gap in a close-delimited body', () => {
    const s = new ResponseSplitter();
    s.push(b('HTTP/1.0 200 OK\r\n\r\nabc'));
    s.gap(100);
    s.push(b('def'));
    const [m] = s.end();
    assert.deepEqual(pick([m!], 'incomplete', 'missingBytes', 'bodyLength', 'closeDelimited'), [
      { incomplete: 'gap', missingBytes: 100, bodyLength: 106, closeDelimited: true },
    ]);
  });

  it('a gap between messages means resync', () => {
    const s = new RequestSplitter();
    s.push(b('GET /a HTTP/1.1\r\n\r\n'));
    s.gap(7);
    const out = s.push(b('y: 1\r\n\r\nGET /b HTTP/1.1\r\n\r\n'));
    assert.deepEqual(pick(out, 'target'), [{ target: '/b' }]);
    assert.equal(s.stats.garbageBytes, 6); // 'y: 1\r\n', then a blank line
    assert.equal(s.stats.blankBytes, 2);
  });
});

describe('end, expire and the API', () => {
  it('end() reports an unfinished message as eof with its true length', () => {
    const s = new RequestSplitter();
    s.push(b('POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\n1234'));
    const [m] = s.end();
    assert.deepEqual(pick([m!], 'incomplete', 'bodyLength', 'trueLength'), [
      { incomplete: 'eof', bodyLength: 4, trueLength: 50 },
    ]);
  });

  it('end() reports a start line cut by EOF', () => {
    const s = new RequestSplitter();
    s.push(b('GET /x HTTP/1.1'));
    const [m] = s.end();
    assert.deepEqual(pick([m!], 'target', 'incomplete', 'headerEnd'), [
      { target: '/x', incomplete: 'eof', headerEnd: -1 },
    ]);
  });

  it('expire() reports the message in progress and resyncs', () => {
    const s = new RequestSplitter();
    s.push(b('POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\n12'));
    assert.deepEqual(pick(s.expire(), 'incomplete'), [{ incomplete: 'expired' }]);
    assert.deepEqual(pick(s.push(b('345GET /q HTTP/1.1\r\n\r\n')), 'target'), [{ target: '/q' }]);
    assert.equal(s.expire().length, 0);
  });

  it('retainFrom follows the oldest byte still needed', () => {
    const s = new RequestSplitter();
    s.push(b('GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Le'));
    assert.equal(s.retainFrom, 19);
    s.push(b('ngth: 1\r\n\r\nx'));
    assert.equal(s.retainFrom, s.position);
    s.push(b('GET /partial'));
    assert.equal(s.retainFrom, s.position - 12);
  });

  it('push() returns a shared empty array when nothing completes', () => {
    const s = new RequestSplitter();
    assert.equal(s.push(b('GET / HT')), s.push(b('TP/1.1\r\n')));
  });

  it('push() after end() is a TaplineError', () => {
    const s = new RequestSplitter();
    s.end();
    assert.throws(
      () => s.push(b('x')),
      (e: unknown) => e instanceof TaplineError && e.code === ERROR_CODES.BAD_HTTP,
    );
    assert.throws(() => new RequestSplitter({ maxSize: 0 }), TaplineError);
  });

  it('the HTTP/2 preface makes the stream opaque', () => {
    const s = new RequestSplitter();
    assert.equal(s.push(b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04')).length, 0);
    assert.deepEqual(s.opaque, { from: 0, reason: 'h2-preface' });
  });

  it('an over-long junk line is bounded and a start line ending it is still found', () => {
    const s = new RequestSplitter({ maxHeaderSize: 100 });
    const junk = 'j'.repeat(10_000);
    const out = [...s.push(b(junk)), ...s.push(b(' GET /x HTTP/1.1\r\n\r\n'))];
    assert.deepEqual(pick(out, 'target', 'start'), [{ target: '/x', start: 10_001 }]);
    assert.equal(s.stats.garbageBytes, 10_001);
  });
});

it('stableChunks: a message inside one chunk is a view of it; otherwise bytes never share the chunk', () => {
  // Chunks with their own memory (small Buffer.from() strings share Node's pool, as copies may).
  const own = (s: string) => Buffer.from(Uint8Array.from(Buffer.from(s, 'latin1')).buffer);
  const text = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc';
  for (const stableChunks of [false, true]) {
    const chunk = own(text);
    const s = new RequestSplitter({ collect: true, stableChunks });
    const [a, b] = s.push(chunk);
    assert.equal(a!.bytes!.toString('latin1'), 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(b!.bytes!.toString('latin1'), 'GET /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc');
    assert.equal(a!.bytes!.buffer === chunk.buffer, stableChunks, 'a view only with stableChunks');
    // Spanning chunks: a copy either way, whole.
    const parts = [own('POST /c HTTP/1.1\r\nContent-Length: 4\r\n\r\nab'), own('cd')];
    const out = [...s.push(parts[0]!), ...s.push(parts[1]!)];
    assert.equal(out.length, 1);
    assert.equal(out[0]!.bytes!.toString('latin1'), 'POST /c HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd');
    for (const p of parts) assert.notEqual(out[0]!.bytes!.buffer, p.buffer);
    parts[0]!.fill(0); // the caller reusing its buffer must not change a message already cut
    assert.equal(out[0]!.bytes!.toString('latin1'), 'POST /c HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd');
  }
});

it('targets: false leaves every target empty and changes nothing else', () => {
  const text = 'GET /a?x=1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc';
  const full = new RequestSplitter({ collect: true }).push(b(text));
  const bare = new RequestSplitter({ collect: true, targets: false }).push(b(text));
  assert.deepEqual(
    full.map((m) => m.target),
    ['/a?x=1', '/b'],
  );
  assert.deepEqual(
    bare.map((m) => m.target),
    ['', ''],
  );
  assert.deepEqual(
    bare.map((m) => ({ ...m, target: '/' })),
    full.map((m) => ({ ...m, target: '/' })),
  );
});
