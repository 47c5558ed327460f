/**
 * A connection whose bytes go on more than a window (1 GiB) past where the capture expects them: the capture
 * lost that much of it (the kernel dropped a long burst of one big transfer) or the sender jumped. Before,
 * every later segment of that direction was dropped as out of the window without a word (no counter, no
 * message): the requests after the jump were lost and the summary said nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TcpFlag } from '../../capture/types.js';
import { capture, type Segment, timed } from './testkit.js';

const { SYN, ACK, PSH } = TcpFlag;
const b = (x: string) => Buffer.from(x, 'latin1');
const request = (path: string) => b(`GET /${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
const answer = (body: string) => b(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);

/** GET /a and its answer, then the client's bytes resume `jump` bytes later: GET /b, /c, /d, each answered. */
function jumped(jump: number): Segment[] {
  const out: Segment[] = [
    { fromClient: true, seq: 1000, ack: 0, flags: SYN, payload: b('') },
    { fromClient: false, seq: 5000, ack: 1001, flags: SYN | ACK, payload: b('') },
  ];
  let c = 1001;
  let s = 5001;
  for (const path of ['a', 'b', 'c', 'd']) {
    if (path === 'b') c = (c + jump) >>> 0;
    const req = request(path);
    out.push({ fromClient: true, seq: c, ack: s, flags: ACK | PSH, payload: req });
    c = (c + req.length) >>> 0;
    const res = answer(path);
    out.push({ fromClient: false, seq: s, ack: c, flags: ACK | PSH, payload: res });
    s += res.length;
  }
  return out;
}

describe('capture: a stream that goes on more than a window past the expected position', () => {
  it('is picked up again at its second segment there; the bytes skipped are a gap, the stray counted', async () => {
    for (const jump of [0x5000_0000, 0xb000_0000]) {
      for (const views of [false, true]) {
        const { msgs, stats } = await capture(timed(jumped(jump)), { trackResponse: true }, views);
        const text = msgs.map((m) => `${m.meta.type} ${m.data.toString('latin1').split('\r\n')[0]}`);
        assert.deepEqual(
          text.filter((t) => t.startsWith('1')),
          ['1 GET /a HTTP/1.1', '1 GET /c HTTP/1.1', '1 GET /d HTTP/1.1'],
          `jump ${jump}, views ${views}`,
        );
        // GET /b's segment is the stray: its bytes are counted lost with the jump, its answer unmatched.
        assert.equal(stats.out_of_window_segments, 1);
        assert.equal(stats.gaps, 1);
        assert.equal(stats.bytes_lost, jump + request('b').length);
        assert.equal(stats.responses, 4);
        assert.equal(stats.unmatched_responses, 1);
        for (const path of ['a', 'c', 'd']) {
          const req = msgs.find((m) => m.meta.type === '1' && m.data.toString().startsWith(`GET /${path} `));
          const res = msgs.find((m) => m.meta.type === '2' && m.data.toString().endsWith(`\r\n\r\n${path}`));
          assert.equal(res?.meta.id, req?.meta.id, `the answer of /${path} pairs with it`);
        }
      }
    }
  });
});
