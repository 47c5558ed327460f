/**
 * Pairing responses with requests when the capture lost a response (found on the corpus capture
 * zeek-http-1000-requests-one-dropped-response.pcap: the first response's head fell in a capture gap, and
 * every later response took the id of the request before its own).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../core/message.js';
import { capture, type Exchange, type Segment, segments, timed } from './testkit.js';

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
