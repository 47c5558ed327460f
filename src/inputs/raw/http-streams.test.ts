/**
 * Bugs found by the corpus capture test (test/corpus):
 *  - pairing responses with requests when the capture lost a response
 *    (zeek-http-1000-requests-one-dropped-response.pcap: the first response's head fell in a capture gap, and
 *    every later response took the id of the request before its own);
 *  - prior-knowledge HTTP/2: the client's preface switched only the client's direction, so the server's HTTP/2
 *    frames were scanned for HTTP/1 status lines (suricata-dns-over-http2-post.pcap and the other h2 captures
 *    counted the server's frames as garbage bytes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TcpFlag } from '../../capture/types.js';
import type { Message } from '../../core/message.js';
import { MAX_WAITING_REQUESTS } from './http-streams.js';
import {
  capture,
  type Exchange,
  requestBytes,
  responseBytes,
  type Segment,
  segments,
  timed,
  turns,
} from './testkit.js';

const exchange = (path: string): Exchange => ({
  method: 'GET',
  path,
  requestBody: Buffer.alloc(0),
  status: 200,
  responseBody: Buffer.from(`body of ${path}`.repeat(20)),
  chunked: false,
});

const ofType = (msgs: Message[], type: string) => msgs.filter((m) => m.meta.type === type);
const pathOf = (m: Message) => m.data.toString('latin1').split(' ')[1];

/** Keep-alive: three exchanges one after the other, responses cut in 100-byte segments. */
function keepAlive(): Segment[] {
  return segments([exchange('a'), exchange('b'), exchange('c')], [100], [1000, 5000]);
}

/** The data segments of the server's `n`th response (0-based) in `list`. */
function responseSegments(list: Segment[], n: number): Segment[] {
  const runs: Segment[][] = [];
  let previousFromClient = true;
  for (const sg of list) {
    if (sg.payload.length === 0) continue;
    if (!sg.fromClient && previousFromClient) runs.push([]);
    if (!sg.fromClient) runs[runs.length - 1]!.push(sg);
    previousFromClient = sg.fromClient;
  }
  return runs[n]!;
}

describe('http streams: responses lost in a capture gap', () => {
  it('a later response pairs with its own request (its SEQ is that request ACK), not the oldest waiting one', async () => {
    const list = keepAlive();
    const lost = new Set(responseSegments(list, 0));
    const { msgs, stats } = await capture(timed(list.filter((sg) => !lost.has(sg))));
    const requests = ofType(msgs, '1');
    const responses = ofType(msgs, '2');
    assert.deepEqual(requests.map(pathOf), ['/a', '/b', '/c']);
    assert.equal(responses.length, 2);
    assert.equal(responses[0]!.meta.id, requests[1]!.meta.id, "b's response has b's id");
    assert.equal(responses[1]!.meta.id, requests[2]!.meta.id, "c's response has c's id");
    assert.equal(stats.unanswered_requests, 1);
    assert.equal(stats.unmatched_responses, 0);
  });

  it('also when only the head of the response is lost and its tail is skipped as non-HTTP bytes', async () => {
    const list = keepAlive();
    const head = responseSegments(list, 0)[0]!;
    const { msgs, stats } = await capture(timed(list.filter((sg) => sg !== head)));
    const requests = ofType(msgs, '1');
    const responses = ofType(msgs, '2');
    assert.equal(responses.length, 2);
    assert.equal(responses[0]!.meta.id, requests[1]!.meta.id);
    assert.equal(responses[1]!.meta.id, requests[2]!.meta.id);
    assert.equal(stats.unanswered_requests, 1);
  });

  it('pipelined requests share one ACK: order pairs them, nothing is dropped', async () => {
    // Two requests sent back to back (same ACK), then both responses.
    const xs = [exchange('a'), exchange('b')];
    const base = segments(xs, [100], [1000, 5000]);
    const data = base.filter((sg) => sg.payload.length > 0);
    const req = data.filter((sg) => sg.fromClient);
    const res = data.filter((sg) => !sg.fromClient);
    // Re-time: the client sends both requests before the server answers; every request segment carries the
    // server's first SEQ as its ACK.
    const ack = req[0]!.ack;
    const pipelined = [
      ...base.slice(0, 2),
      ...req.map((sg) => ({ ...sg, ack })),
      ...res,
      ...base
        .slice(-2)
        .map((sg) => (sg.fromClient ? { ...sg, ack: res.at(-1)!.seq + res.at(-1)!.payload.length } : sg)),
    ];
    const { msgs, stats } = await capture(timed(pipelined));
    const requests = ofType(msgs, '1');
    const responses = ofType(msgs, '2');
    assert.equal(requests.length, 2);
    assert.deepEqual(
      responses.map((m) => m.meta.id),
      requests.map((m) => m.meta.id),
    );
    assert.equal(stats.unanswered_requests, 0);
  });
});

describe('http streams: pipelining while answers are still coming (no capture gap)', () => {
  it("a request sent after the first answer has that answer's end as its ACK: still paired in order", async () => {
    // Requests a and b back to back; the answer to a; then c and d, sent by a client that had received a's
    // answer, so their ACK is the SEQ where b's answer starts; then the answers to b, c and d. b's answer was
    // paired with c (as if b's had been lost in a gap), every later pair shifted: 1 unanswered, 1 unmatched.
    const xs = ['a', 'b', 'c', 'd'].map((p) => exchange(p));
    const base = segments(xs, [1_000_000], [1000, 5000]);
    const data = base.filter((sg) => sg.payload.length > 0);
    const req = data.filter((sg) => sg.fromClient);
    const res = data.filter((sg) => !sg.fromClient);
    const first = res[0]!.seq;
    const afterA = res[1]!.seq;
    const end = res.at(-1)!.seq + res.at(-1)!.payload.length;
    const list = [
      ...base.slice(0, 2),
      { ...req[0]!, ack: first },
      { ...req[1]!, ack: first },
      res[0]!,
      { ...req[2]!, ack: afterA },
      { ...req[3]!, ack: afterA },
      ...res.slice(1),
      ...base.slice(-2).map((sg) => (sg.fromClient ? { ...sg, ack: end } : sg)),
    ];
    for (const views of [false, true]) {
      const { msgs, stats } = await capture(timed(list), { trackResponse: true }, views);
      const requests = ofType(msgs, '1');
      const responses = ofType(msgs, '2');
      assert.deepEqual(requests.map(pathOf), ['/a', '/b', '/c', '/d']);
      assert.deepEqual(
        responses.map((m) => m.meta.id),
        requests.map((m) => m.meta.id),
        `each answer has its own request's id${views ? ' (batch views: native fast path first)' : ''}`,
      );
      assert.equal(stats.unanswered_requests, 0);
      assert.equal(stats.unmatched_responses, 0);
    }
  });
});

describe('http streams: HTTP/2 with prior knowledge', () => {
  const { SYN, ACK, FIN, PSH } = TcpFlag;
  const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
    const head = Buffer.alloc(9);
    head.writeUIntBE(payload.length, 0, 3);
    head[3] = type;
    head[4] = flags;
    head.writeUInt32BE(stream, 5);
    return Buffer.concat([head, payload]);
  };
  const settings = frame(4, 0, 0, Buffer.alloc(0));
  const client = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), settings]);
  // The server's DATA frame carries text that looks like an HTTP/1 response (a page about HTTP, say).
  const quoted = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'latin1');
  const server = Buffer.concat([settings, frame(0, 1, 1, quoted)]);

  const conversation = (serverFirst = false): Segment[] => {
    const c = { fromClient: true, seq: 1001, ack: 5001, flags: ACK | PSH, payload: client };
    const s = { fromClient: false, seq: 5001, ack: 1001 + client.length, flags: ACK | PSH, payload: server };
    return [
      { fromClient: true, seq: 1000, ack: 0, flags: SYN, payload: Buffer.alloc(0) },
      { fromClient: false, seq: 5000, ack: 1001, flags: SYN | ACK, payload: Buffer.alloc(0) },
      ...(serverFirst ? [{ ...s, ack: 1001 }, c] : [c, s]),
      {
        fromClient: true,
        seq: 1001 + client.length,
        ack: 5001 + server.length,
        flags: FIN | ACK,
        payload: Buffer.alloc(0),
      },
      {
        fromClient: false,
        seq: 5001 + server.length,
        ack: 1002 + client.length,
        flags: FIN | ACK,
        payload: Buffer.alloc(0),
      },
    ];
  };

  it("the client's preface switches the server's direction too: its frames are not scanned for HTTP/1", async () => {
    const { msgs, stats } = await capture(timed(conversation()));
    assert.deepEqual(msgs, []);
    assert.equal(stats.garbage_bytes, 0);
    assert.equal(stats.upgraded_streams, 2);
    assert.equal(stats.upgraded_bytes, client.length + server.length);
  });

  it("the server's SETTINGS may come first (suricata-http2-authority-mismatch.pcap): it is HTTP/2 by itself", async () => {
    const { msgs, stats } = await capture(timed(conversation(true)));
    assert.deepEqual(msgs, []);
    assert.equal(stats.garbage_bytes, 0);
    assert.equal(stats.upgraded_streams, 2);
  });
});

describe('http streams: a capture that starts mid-connection', () => {
  it('the tail of a request body glued to the next request line is skipped: the request keeps its own bytes and id', async () => {
    const { ACK, PSH } = TcpFlag;
    const tail = Buffer.from('tail-of-body');
    const request = Buffer.from('GET /two HTTP/1.1\r\nHost: x\r\n\r\n');
    const response = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    const list: Segment[] = [
      { fromClient: true, seq: 1100, ack: 5200, flags: ACK | PSH, payload: tail },
      { fromClient: false, seq: 5200, ack: 1112, flags: ACK | PSH, payload: Buffer.from('end of an earlier answer') },
      { fromClient: true, seq: 1112, ack: 5224, flags: ACK | PSH, payload: request },
      { fromClient: false, seq: 5224, ack: 1112 + request.length, flags: ACK | PSH, payload: response },
    ];
    for (const views of [false, true]) {
      const { msgs, stats } = await capture(timed(list), {}, views);
      assert.deepEqual(
        msgs.map((m) => [m.meta.type, m.meta.id.slice(16), m.data.toString('latin1')]),
        [
          ['1', (5224).toString(16).padStart(8, '0'), request.toString('latin1')],
          ['2', (5224).toString(16).padStart(8, '0'), response.toString('latin1')],
        ],
      );
      assert.equal(stats.garbage_bytes, tail.length + 24);
    }
  });
});

describe('http streams: a response sent before its request was complete', () => {
  it('an early 413 answers the request in progress; later responses still pair with their own requests', async () => {
    const head = Buffer.from('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n0123456789');
    const early = Buffer.from('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n');
    const rest = Buffer.from('0123456789');
    const next = Buffer.from('GET /next HTTP/1.1\r\n\r\n');
    const ok = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    const third = Buffer.from('GET /third HTTP/1.1\r\n\r\n');
    const three = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3');
    const list = turns([
      [true, head],
      [false, early],
      [true, rest],
      [true, next],
      [false, ok],
      [true, third],
      [false, three],
    ]);
    for (const views of [false, true]) {
      const { msgs, stats } = await capture(timed(list), {}, views);
      const byId = new Map<string, string[]>();
      for (const m of msgs)
        byId.set(m.meta.id, [...(byId.get(m.meta.id) ?? []), m.data.toString('latin1').split('\r\n')[0]!]);
      assert.deepEqual(
        [...byId.values()],
        [
          ['HTTP/1.1 413 Payload Too Large', 'POST /upload HTTP/1.1'],
          ['GET /next HTTP/1.1', 'HTTP/1.1 200 OK'],
          ['GET /third HTTP/1.1', 'HTTP/1.1 200 OK'],
        ],
      );
      assert.equal(msgs.find((m) => m.data.equals(Buffer.concat([head, rest]))) !== undefined, true);
      assert.equal(stats.unmatched_responses, 0);
      assert.equal(stats.unanswered_requests, 0);
    }
  });
});

describe('http streams: a body delimited by the close', () => {
  const { ACK, FIN } = TcpFlag;
  const request = Buffer.from('GET /close HTTP/1.0\r\n\r\n');
  const response = Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ');
  const handshake = turns([
    [true, request],
    [false, response],
  ]);
  const fin = { fromClient: false, seq: 5001 + response.length, ack: 1001 + request.length, flags: FIN | ACK };

  it("ends at the server's FIN; a capture that ends before it has only part of it: incomplete, not a response", async () => {
    const closed = await capture(timed([...handshake, { ...fin, payload: Buffer.alloc(0) }]));
    assert.deepEqual(
      closed.msgs.map((m) => m.data.length),
      [request.length, response.length],
    );
    assert.equal(closed.stats.responses, 1);
    const cut = await capture(timed(handshake));
    assert.deepEqual(
      cut.msgs.map((m) => m.meta.type),
      ['1'],
    );
    assert.equal(cut.stats.responses, 0);
    assert.equal(cut.stats.incomplete_eof, 1);
    assert.equal(cut.stats.incomplete_dropped, 1);
    const kept = await capture(timed(handshake), { allowIncomplete: true });
    assert.deepEqual(
      kept.msgs.map((m) => [m.meta.type, m.meta.extra.join(' ')]),
      [
        ['1', ''],
        ['2', 'incomplete=eof'],
      ],
    );
  });

  it('an RST instead of the FIN aborts it: incomplete (eof), in both paths; a FIN before the RST still ends it', async () => {
    const rst = { ...fin, flags: TcpFlag.RST | ACK, payload: Buffer.alloc(0) };
    for (const views of [false, true]) {
      const reset = await capture(timed([...handshake, rst]), {}, views);
      assert.deepEqual(
        reset.msgs.map((m) => m.meta.type),
        ['1'],
      );
      assert.equal(reset.stats.responses, 0);
      assert.equal(reset.stats.incomplete_eof, 1);
      assert.equal(reset.stats.incomplete_dropped, 1);
      const kept = await capture(timed([...handshake, rst]), { allowIncomplete: true }, views);
      assert.deepEqual(
        kept.msgs.map((m) => [m.meta.type, m.meta.extra.join(' '), m.data.length]),
        [
          ['1', '', request.length],
          ['2', 'incomplete=eof', response.length],
        ],
      );
      // The client resetting the connection aborts the server's body too.
      const clientReset = { fromClient: true, seq: fin.ack, ack: fin.seq, flags: TcpFlag.RST | ACK };
      const byClient = await capture(timed([...handshake, { ...clientReset, payload: Buffer.alloc(0) }]), {}, views);
      assert.equal(byClient.stats.incomplete_eof, 1);
      assert.equal(byClient.stats.responses, 0);
      const finThenRst = await capture(timed([...handshake, { ...fin, payload: Buffer.alloc(0) }, rst]), {}, views);
      assert.equal(finThenRst.stats.responses, 1);
      assert.equal(finThenRst.stats.incomplete_eof, 0);
    }
  });
});

describe('http streams: a body length that cannot be trusted (RFC 9112 §6.3) loses the framing, counted', () => {
  const { ACK, FIN } = TcpFlag;
  const ok = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  const getB = Buffer.from('GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
  /** The conversation, then both FINs. */
  const closed = (list: [boolean, Buffer][]): Segment[] => {
    const out = turns(list);
    const next = { client: 1001, server: 5001 };
    for (const [fromClient, payload] of list) next[fromClient ? 'client' : 'server'] += payload.length;
    out.push({ fromClient: true, seq: next.client, ack: next.server, flags: FIN | ACK, payload: Buffer.alloc(0) });
    out.push({ fromClient: false, seq: next.server, ack: next.client + 1, flags: FIN | ACK, payload: Buffer.alloc(0) });
    return out;
  };
  const firstLines = (msgs: Message[]) =>
    msgs.map((m) => [m.meta.type, m.data.toString('latin1').split('\r\n')[0], m.meta.extra.join(' ')]);

  for (const [name, header] of [
    ['two Content-Length headers that differ', 'Content-Length: 3\r\nContent-Length: 10'],
    ['a Content-Length list that differs', 'Content-Length: 3, 10'],
    ['a Content-Length that is not a number', 'Content-Length: 1O'],
  ] as const) {
    it(`response with ${name}: not cut at a guess, the next response pairs with its own request`, async () => {
      const bad = Buffer.from(`HTTP/1.1 200 OK\r\n${header}\r\n\r\nabcdefghij`);
      const list = closed([
        [true, Buffer.concat([Buffer.from('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'), getB])],
        [false, Buffer.concat([bad, ok])],
      ]);
      for (const views of [false, true]) {
        const { msgs, stats } = await capture(timed(list), {}, views);
        assert.deepEqual(firstLines(msgs), [
          ['1', 'GET /a HTTP/1.1', ''],
          ['1', 'GET /b HTTP/1.1', ''],
          ['2', 'HTTP/1.1 200 OK', ''],
        ]);
        assert.equal(msgs[2]!.data.toString('latin1'), ok.toString('latin1'));
        assert.equal(msgs[2]!.meta.id, msgs[1]!.meta.id);
        assert.equal(stats.incomplete_malformed, 1);
        assert.equal(stats.incomplete_dropped, 1);
        assert.equal(stats.garbage_bytes, 0);
        const kept = await capture(timed(list), { allowIncomplete: true }, views);
        const marked = kept.msgs.find((m) => m.meta.extra.includes('incomplete=malformed'));
        assert.equal(marked?.data.toString('latin1'), bad.toString('latin1'));
        assert.equal(marked?.meta.id, kept.msgs[0]!.meta.id);
      }
    });
  }

  for (const [name, header, body] of [
    ['two Content-Length headers that differ', 'Content-Length: 3\r\nContent-Length: 10', 'abcdefghij'],
    ['a Transfer-Encoding that does not end in chunked', 'Transfer-Encoding: chunked, gzip', '2\r\nab\r\n0\r\n\r\n'],
  ] as const) {
    it(`request with ${name}: its early answer pairs with it, the next request is read from its start line`, async () => {
      const bad = Buffer.from(`POST /a HTTP/1.1\r\nHost: x\r\n${header}\r\n\r\n${body}`);
      const list = closed([
        [true, bad],
        [false, Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad')],
        [true, getB],
        [false, ok],
      ]);
      for (const views of [false, true]) {
        const { msgs, stats } = await capture(timed(list), { allowIncomplete: true }, views);
        assert.deepEqual(firstLines(msgs), [
          ['2', 'HTTP/1.1 400 Bad Request', ''],
          ['1', 'POST /a HTTP/1.1', 'incomplete=malformed'],
          ['1', 'GET /b HTTP/1.1', ''],
          ['2', 'HTTP/1.1 200 OK', ''],
        ]);
        assert.equal(msgs[1]!.data.toString('latin1'), bad.toString('latin1'));
        assert.equal(msgs[0]!.meta.id, msgs[1]!.meta.id);
        assert.equal(msgs[2]!.meta.id, msgs[3]!.meta.id);
        assert.notEqual(msgs[0]!.meta.id, msgs[2]!.meta.id);
        assert.equal(stats.incomplete_malformed, 1);
        assert.equal(stats.unmatched_responses, 0);
        assert.equal(stats.garbage_bytes, 0);
      }
    });
  }
});

describe('http streams: a chunked response without the blank line after its last chunk', () => {
  it('ends before the next status line (malformed); the next response is not swallowed as its trailers', async () => {
    const b = (x: string) => Buffer.from(x, 'latin1');
    const next = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    const list = turns([
      [true, b('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n')],
      [false, b(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n${next}`)],
    ]);
    for (const views of [false, true]) {
      const { msgs, stats } = await capture(timed(list), {}, views);
      assert.deepEqual(
        msgs.map((m) => m.meta.type),
        ['1', '1', '2'],
      );
      assert.equal(msgs[2]!.data.toString('latin1'), next);
      assert.equal(msgs[2]!.meta.id, msgs[1]!.meta.id);
      assert.equal(stats.incomplete_malformed, 1);
      assert.equal(stats.garbage_bytes, 0);
    }
  });
});

describe('http streams: a request whose framing a capture gap lost, answered before the next request', () => {
  it('the answer pairs with it, and the next response with its own request (not shifted by one)', async () => {
    const b = (x: string) => Buffer.from(x, 'latin1');
    const list = turns([
      [true, b('POST /a HTTP/1.1\r\nHost: x\r\n')],
      [true, b('Content-Length: 3\r\n\r\nabc')],
      [false, b('HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nA!')],
      [true, b('GET /b HTTP/1.1\r\nHost: x\r\n\r\n')],
      [false, b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nB!')],
    ]);
    list.splice(3, 1); // the second segment of the request's head is not in the capture
    for (const views of [false, true]) {
      const { msgs, stats } = await capture(timed(list), { allowIncomplete: true }, views);
      const idOf = (text: string) => msgs.find((m) => m.data.includes(text))!.meta.id;
      assert.equal(msgs.length, 4);
      assert.equal(idOf('A!'), idOf('POST /a'));
      assert.equal(idOf('B!'), idOf('GET /b'));
      assert.notEqual(idOf('A!'), idOf('B!'));
      assert.equal(stats.unmatched_responses, 0);
      assert.equal(stats.incomplete_gap, 1);
    }
  });
});

describe('http streams: a request whose framing a capture gap lost is emitted before its answer', () => {
  // A snaplen shorter than the request cut its head: it was emitted only when the next request line came (or
  // the connection ended), after the response that answered it.
  const b = (x: string) => Buffer.from(x, 'latin1');
  const conversation = (next: boolean) => {
    const list = turns([
      [true, b('GET /a HTTP/1.1\r\nHost: x\r\n')],
      [true, b('X-Long: aaaaaaaaaa\r\n\r\n')],
      [false, b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nA!')],
      ...(next
        ? ([
            [true, b('GET /b HTTP/1.1\r\nHost: x\r\n\r\n')],
            [false, b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nB!')],
          ] as [boolean, Buffer][])
        : []),
    ]);
    list.splice(3, 1); // the second segment of the request's head is not in the capture
    return list;
  };
  for (const next of [true, false]) {
    it(`each request comes before its response${next ? ', the next one read from its own start line' : ', no request after it'}`, async () => {
      for (const views of [false, true]) {
        const { msgs, stats } = await capture(timed(conversation(next)), { allowIncomplete: true }, views);
        const lines = msgs.map((m) => `${m.meta.type} ${m.data.toString('latin1').split('\r\n')[0]}`);
        const want = ['1 GET /a HTTP/1.1', '2 HTTP/1.1 200 OK'];
        if (next) want.push('1 GET /b HTTP/1.1', '2 HTTP/1.1 200 OK');
        assert.deepEqual(lines, want, `views ${views}`);
        assert.equal(msgs[0]!.meta.id, msgs[1]!.meta.id);
        assert.ok(msgs[0]!.meta.timestampNs <= msgs[1]!.meta.timestampNs);
        assert.equal(msgs[0]!.meta.extra.join(' '), 'incomplete=gap');
        assert.equal(msgs[0]!.data.toString('latin1'), 'GET /a HTTP/1.1\r\nHost: x\r\n');
        if (next) assert.notEqual(msgs[2]!.meta.id, msgs[1]!.meta.id);
        assert.equal(stats.incomplete_gap, 1);
        assert.equal(stats.unmatched_responses, 0);
        assert.equal(stats.garbage_bytes, 0);
      }
    });
  }

  it('a length that cannot be trusted keeps waiting for its body after an early 400 (not cut at the answer)', async () => {
    const list = turns([
      [true, b('POST /a HTTP/1.1\r\nContent-Length: 3, 10\r\n\r\n')],
      [false, b('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')],
      [true, b('abc')],
    ]);
    const { msgs } = await capture(timed(list), { allowIncomplete: true }, false);
    const request = msgs.find((m) => m.meta.type === '1')!;
    assert.ok(request.data.toString('latin1').endsWith('abc'), request.data.toString('latin1'));
  });
});

describe('capture: two copies of held bytes that disagree', () => {
  it('are counted (conflicting_overlaps); the first bytes seen are kept', async () => {
    const b = (x: string) => Buffer.from(x, 'latin1');
    const list = turns([
      [true, b('POST /a HTTP/1.1\r\nContent-Length: 20\r\n\r\n')],
      [true, b('AAAAAAAAAA')],
      [true, b('BBBBBBBBBB')],
      [false, b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')],
    ]);
    const late = list[3]!; // the AAAA segment comes after the BBBB one and its disagreeing copy
    const other = { ...list[4]!, payload: b('ZZZZZZZZZZ') };
    list.splice(3, 2, list[4]!, other, late);
    for (const views of [false, true]) {
      const { msgs, stats } = await capture(timed(list), {}, views);
      assert.ok(msgs[0]!.data.toString('latin1').endsWith('AAAAAAAAAABBBBBBBBBB'));
      assert.equal(stats.conflicting_overlaps, 1, `views ${views}`);
      assert.equal(stats.out_of_order_segments, 2);
    }
    const { stats } = await capture(timed(turns([[true, b('GET / HTTP/1.1\r\n\r\n')]])), {}, false);
    assert.equal(stats.conflicting_overlaps, 0);
  });
});

describe('http streams: bytes left over at a message boundary (gor and tshark skip them)', () => {
  const second = Buffer.from('GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
  const answers = Buffer.from(
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2',
  );
  /** One client turn: `first`, the left-over bytes, the next request; then both answers. */
  async function leftOver(first: string, extra: string): Promise<void> {
    const list = turns([
      [true, Buffer.concat([Buffer.from(first + extra), second])],
      [false, answers],
    ]);
    for (const views of [false, true]) {
      const { msgs, stats } = await capture(timed(list), {}, views);
      const requests = msgs.filter((m) => m.meta.type === '1').map((m) => m.data.toString('latin1'));
      assert.deepEqual(requests, [first, second.toString('latin1')], `views: ${views}`);
      assert.equal(stats.garbage_bytes, extra.length, `views: ${views}`);
      assert.equal(stats.responses, 2, `views: ${views}`);
    }
  }

  it('a body longer than its Content-Length: the extra bytes are not part of the next method', async () => {
    await leftOver('POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nxx', 'looo');
    await leftOver('POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nxx', 'LOOO');
  });

  it('a POST body with no length: it is skipped up to the next request line', async () => {
    await leftOver('POST /a HTTP/1.1\r\nHost: x\r\n\r\n', 'this is a body ');
  });

  it('methods that only end like a known one (UNLOCK, lowercase, custom) are kept whole', async () => {
    for (const method of ['UNLOCK', 'get', 'FOO']) {
      const list = turns([
        [true, Buffer.from(`${method} /a HTTP/1.1\r\nHost: x\r\n\r\n`)],
        [false, Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1')],
      ]);
      for (const views of [false, true]) {
        const { msgs, stats } = await capture(timed(list), {}, views);
        assert.equal(msgs[0]!.data.toString('latin1').split(' ')[0], method);
        assert.equal(stats.garbage_bytes, 0);
      }
    }
  });
});

describe('http streams: requests no response answers (memory stays bounded)', () => {
  const { SYN, ACK, FIN, PSH } = TcpFlag;
  const extra = 76;
  const total = MAX_WAITING_REQUESTS + extra;
  /**
   * One kept-open connection: `total` requests, none answered while they come, then `answered` responses in
   * order (the server woke up; HTTP/1 answers the oldest request first), FINs.
   */
  const unanswered = (answered: number): Segment[] => {
    const out: Segment[] = [
      { fromClient: true, seq: 1000, ack: 0, flags: SYN, payload: Buffer.alloc(0) },
      { fromClient: false, seq: 5000, ack: 1001, flags: SYN | ACK, payload: Buffer.alloc(0) },
    ];
    let c = 1001;
    for (let i = 0; i < total; i++) {
      const payload = requestBytes(exchange(`r${i}`));
      out.push({ fromClient: true, seq: c, ack: 5001, flags: ACK | PSH, payload });
      c += payload.length;
    }
    let s = 5001;
    for (let i = 0; i < answered; i++) {
      const response = responseBytes(exchange(`r${i}`));
      out.push({ fromClient: false, seq: s, ack: c, flags: ACK | PSH, payload: response });
      s += response.length;
    }
    out.push({ fromClient: true, seq: c, ack: s, flags: FIN | ACK, payload: Buffer.alloc(0) });
    out.push({ fromClient: false, seq: s, ack: c + 1, flags: FIN | ACK, payload: Buffer.alloc(0) });
    return out;
  };

  for (const views of [false, true]) {
    const how = views ? ' (batch views: native fast path first)' : '';
    it(`beyond ${MAX_WAITING_REQUESTS} waiting on a connection the oldest are given up on and counted${how}`, async () => {
      const { msgs, stats } = await capture(timed(unanswered(1)), { trackResponse: true }, views);
      const requests = ofType(msgs, '1');
      const responses = ofType(msgs, '2');
      assert.equal(requests.length, total, 'every request is still emitted');
      assert.equal(stats.unanswered_requests, extra, 'the requests given up on are counted');
      // The response answers the oldest request, r0, which was given up on: it pairs with no younger one (it
      // took r${extra}'s id before) and keeps gor's formula id, its SEQ, which is r0's ACK.
      assert.equal(responses.length, 1);
      assert.notEqual(responses[0]!.meta.id, requests[extra]!.meta.id);
      assert.equal(responses[0]!.meta.id, requests[0]!.meta.id);
      assert.equal(stats.unmatched_responses, 1);
    });

    it(`pipelined deeper than ${MAX_WAITING_REQUESTS}: the answers after those of the requests given up on pair with their own${how}`, async () => {
      const { msgs, stats } = await capture(timed(unanswered(total)), { trackResponse: true }, views);
      const requests = ofType(msgs, '1');
      const responses = ofType(msgs, '2');
      assert.equal(requests.length, total);
      assert.equal(responses.length, total);
      // Without the fix every response after the first `extra` took the id of the request `extra` after its own.
      for (let i = extra; i < total; i++) assert.equal(responses[i]!.meta.id, requests[i]!.meta.id, `response ${i}`);
      assert.equal(stats.unanswered_requests, extra);
      assert.equal(stats.unmatched_responses, extra, 'the answers of the requests given up on');
      assert.equal(stats.requests_unanswered_at_close, 0);
    });

    it(`a capture of the client's direction only (no --input-raw-track-response) counts no request unanswered${how}`, async () => {
      const list = unanswered(0).filter((sg) => sg.fromClient || sg.payload.length === 0);
      const { msgs, stats } = await capture(timed(list), { trackResponse: false }, views);
      assert.equal(ofType(msgs, '1').length, total, 'every request is emitted');
      assert.equal(stats.unanswered_requests, 0, 'no answer was expected');
      assert.equal(stats.requests_unanswered_at_close, 0);
    });
  }
});
