/** HttpMessage helpers, the Correlator and the Node helper library's callback rules. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { type Message, makeMeta } from '../core/message.js';
import { Correlator } from './correlator.js';
import { MiddlewareRunner, parseHexLine } from './helper.js';
import { formatHexLine } from './hex-lines.js';
import { HttpMessage } from './http-message.js';

const m = (type: string, id: string, data: string): Message => ({
  meta: makeMeta({ type, id, timestampNs: 1n, latencyNs: 0n }),
  data: Buffer.from(data),
});
const REQ =
  'POST /login?user=ann&next=%2F HTTP/1.1\r\nHost: app\r\nCookie: a=1; b=2\r\nContent-Length: 7\r\n\r\nx=1&y=2';
const RES = 'HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\ntok-1';

describe('HttpMessage', () => {
  it('reads method, path, params, headers, cookies, status and body', () => {
    const req = new HttpMessage(m('1', 'a', REQ));
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/login?user=ann&next=%2F');
    assert.equal(req.param('user'), 'ann');
    assert.equal(req.param('none'), undefined);
    assert.equal(req.header('host'), 'app');
    assert.deepEqual(req.headers(), { host: 'app', cookie: 'a=1; b=2', 'content-length': '7' });
    assert.equal(req.cookie('b'), '2');
    assert.equal(req.bodyParam('y'), '2');
    assert.equal(req.text, 'x=1&y=2');
    const res = new HttpMessage(m('2', 'a', RES));
    assert.equal(res.status, 201);
    assert.equal(res.isResponse, true);
    assert.equal(res.method, '');
  });

  it('edits bytes and chains; an unedited message is handed on as the same object', () => {
    const orig = m('1', 'a', REQ);
    assert.equal(new HttpMessage(orig).toMessage(), orig);
    const req = new HttpMessage(orig)
      .setHeader('Host', 'staging')
      .setHeader('X-New', '1')
      .deleteHeader('Cookie')
      .setParam('user', 'bob')
      .setPath('/v2/login')
      .setBodyParam('y', 'a b');
    assert.equal(
      req.toMessage().data.toString(),
      'POST /v2/login HTTP/1.1\r\nX-New: 1\r\nHost: staging\r\nContent-Length: 11\r\n\r\nx=1&y=a%20b',
    );
    const cookies = new HttpMessage(orig).setCookie('a', '9').deleteCookie('b');
    assert.equal(cookies.header('Cookie'), 'a=9');
    const res = new HttpMessage(m('2', 'a', RES)).setStatus(404);
    assert.match(res.data.toString(), /^HTTP\/1\.1 404 Created\r\n/);
    const meta = new HttpMessage(orig).setMeta({ id: 'zz' });
    assert.equal(meta.toMessage().meta.line, '1 zz 1 0');
  });

  it('setMeta refuses a field that would not read back and takes JavaScript numbers as the string and bigint', () => {
    const orig = m('2', 'a', RES);
    for (const [change, words] of [
      [{ id: 'a b' }, /meta id "a b" is not usable/],
      [{ id: '' }, /meta id "" is not usable/],
      [{ type: '1\n' }, /meta type "1\\n" is not usable/],
      [{ timestampNs: 1.5 }, /meta timestampNs number 1\.5 is not usable: it must be an integer/],
      [{ extra: ['x y'] }, /meta extra\[0\] "x y" is not usable/],
    ] as const) {
      assert.throws(() => new HttpMessage(orig).setMeta(change as never), words);
    }
    // A JavaScript caller's numbers: type 1 is a request (isRequest compares with '1'), the timestamp a bigint.
    const fromNumbers = new HttpMessage(orig).setMeta({ type: 1, timestampNs: 5, latencyNs: 7 } as never);
    assert.equal(fromNumbers.isRequest, true);
    assert.equal(fromNumbers.meta.timestampNs, 5n);
    assert.equal(fromNumbers.meta.line, '1 a 5 7');
  });

  it('setBody fixes Content-Length and drops chunked framing', () => {
    const chunked = new HttpMessage(
      m('2', 'a', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
    );
    assert.equal(chunked.setBody('bye').data.toString(), 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye');
  });
});

describe('Correlator', () => {
  it('pairs the original and replayed responses in either order, once', () => {
    for (const order of [
      ['2', '3'],
      ['3', '2'],
    ]) {
      const c = new Correlator();
      const pairs: string[] = [];
      c.correlate('id1', (o, r) => {
        pairs.push(`${o.data}|${r.data}`);
      });
      assert.equal(c.dispatch(m('2', 'other', 'x')), undefined);
      for (const t of order) c.dispatch(m(t, 'id1', t === '2' ? 'orig' : 'replayed'));
      c.dispatch(m('3', 'id1', 'again'));
      assert.deepEqual(pairs, ['orig|replayed']);
      assert.equal(c.size, 0);
    }
  });

  it('expires waiting callbacks (bounded memory) and counts them', () => {
    const c = new Correlator(0, 2);
    c.correlate('a', () => {});
    c.correlate('b', () => {});
    c.correlate('c', () => {});
    assert.equal(c.size, 2);
    c.dispatch(m('2', 'x', ''));
    assert.equal(c.size, 0);
    assert.equal(c.expired, 3);
  });
});

describe('MiddlewareRunner (helper library)', () => {
  it('runs message, kind and per-id callbacks in order; null drops; no callbacks echoes', () => {
    const runner = new MiddlewareRunner({ input: new PassThrough(), output: new PassThrough() });
    assert.equal(runner.process(m('1', 'a', REQ)).length, 1, 'echo without callbacks');
    const order: string[] = [];
    const note = (name: string) => order.push(name);
    runner.on('message', (x) => {
      note('message');
      return x;
    });
    runner.on('request', (x) => {
      note('request');
      return x.setHeader('X-A', '1');
    });
    runner.on('response', 'r1', () => {
      note('response#r1');
      return null;
    });
    runner.on('response', (x) => {
      note('response');
      return x;
    });
    const out = runner.process(m('1', 'r1', REQ));
    assert.match(out[0]!.data.toString(), /\r\nX-A: 1\r\n/);
    assert.equal(runner.process(m('2', 'r1', RES)).length, 0, 'the per-id callback dropped it');
    assert.equal(runner.process(m('2', 'r1', RES)).length, 1, 'per-id callbacks fire once');
    assert.deepEqual(order, ['message', 'request', 'message', 'response', 'response#r1', 'message', 'response']);
  });

  it('reads hex lines from its input and writes back in few writes; searchResponses finds both tokens', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const writes: Buffer[] = [];
    output.on('data', (d: Buffer) => writes.push(d));
    const logs: string[] = [];
    const runner = new MiddlewareRunner({ input, output, log: (line) => logs.push(line) });
    const found: (string | undefined)[][] = [];
    runner.on('request', (x) => {
      runner.searchResponses(x.id, /tok-(\d+)/, (o, r) => found.push([o, r]));
      return x;
    });
    const done = runner.run();
    input.end(
      formatHexLine(m('1', 'q', REQ)) +
        formatHexLine(m('3', 'q', 'HTTP/1.1 200 OK\r\n\r\ntok-2')) +
        formatHexLine(m('2', 'q', RES)) +
        'nothex\n',
    );
    await done;
    const lines = Buffer.concat(writes).toString().trim().split('\n');
    assert.equal(lines.length, 3);
    assert.equal(parseHexLine(lines[0]!).path, '/login?user=ann&next=%2F');
    assert.deepEqual(found, [['1', '2']]);
    assert.equal(runner.counters.bad_lines, 1);
    assert.match(logs[0]!, /input line 4 is not hex at column 1: "nothex"/);
    assert.throws(() => parseHexLine('zz'), /odd number|not hex/);
  });
});
