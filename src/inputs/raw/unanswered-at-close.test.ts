/**
 * Requests a connection ended without answering (`requests_unanswered_at_close`): a server that closes after
 * answering 2 of 5 pipelined requests (`Connection: close` on the 2nd), a reset, a capture that ends first, a
 * server that never sends a byte. The requests are emitted as gor emits them; the counter says why they have no
 * response. Each case through the TypeScript path (packet arrays) and the native fast path (batch views), which
 * must agree; and `report --json` over the same pcap counts them as no response.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runTapline } from '../../../test/support/cli.js';
import { buildPcap } from '../../capture/pcap-writer.js';
import { TcpFlag } from '../../capture/types.js';
import type { Message } from '../../core/message.js';
import { flowAddon } from './native-flows.js';
import type { RawInputOptions } from './raw-input.js';
import { capture, type Exchange, requestBytes, responseBytes, type Segment, timed } from './testkit.js';

const { SYN, ACK, PSH, FIN, RST } = TcpFlag;
const EMPTY = Buffer.alloc(0);
const nativeBuilt = flowAddon() !== null;

const get = (path: string, headers: string[] = []): Exchange => ({
  method: 'GET',
  path,
  requestBody: EMPTY,
  status: 200,
  responseBody: Buffer.from(`body of ${path}`),
  chunked: false,
  headers,
});

/** Five GETs pipelined in one segment, the 2nd saying `Connection: close`. */
const FIVE = ['a', 'b', 'c', 'd', 'e'].map((p) => get(p, p === 'b' ? ['Connection: close'] : []));

/**
 * A connection from its SYN: the pipelined requests, the first `answered` responses in one segment, then
 * `ending` (the server's FIN then the client's, a client RST, or nothing: the capture stops there).
 */
function pipelineAnswered(answered: number, ending: 'fin' | 'rst' | 'none'): Segment[] {
  const reqs = Buffer.concat(FIVE.map(requestBytes));
  const resps = Buffer.concat(FIVE.slice(0, answered).map(responseBytes));
  const c = 1001 + reqs.length;
  const s = 5001 + resps.length;
  const list: Segment[] = [
    { fromClient: true, seq: 1000, ack: 0, flags: SYN, payload: EMPTY },
    { fromClient: false, seq: 5000, ack: 1001, flags: SYN | ACK, payload: EMPTY },
    { fromClient: true, seq: 1001, ack: 5001, flags: ACK | PSH, payload: reqs },
  ];
  if (answered > 0) list.push({ fromClient: false, seq: 5001, ack: c, flags: ACK | PSH, payload: resps });
  if (ending === 'fin') {
    list.push({ fromClient: false, seq: s, ack: c, flags: FIN | ACK, payload: EMPTY });
    list.push({ fromClient: true, seq: c, ack: s + 1, flags: FIN | ACK, payload: EMPTY });
  } else if (ending === 'rst') {
    list.push({ fromClient: true, seq: c, ack: s, flags: RST | ACK, payload: EMPTY });
  }
  return list;
}

const ofType = (msgs: Message[], type: string) => msgs.filter((m) => m.meta.type === type);

/** Both paths (the native one when built): the same messages and counters; returns the TypeScript path's. */
async function bothPaths(list: Segment[], overrides: Partial<RawInputOptions> = {}) {
  const packets = timed(list);
  const reference = await capture(packets, overrides, false);
  if (nativeBuilt) {
    const fast = await capture(packets, overrides, true);
    assert.deepEqual(
      fast.msgs.map((m) => m.meta.line),
      reference.msgs.map((m) => m.meta.line),
    );
    assert.deepEqual(fast.stats, reference.stats, 'the native fast path counts the same');
  }
  return reference;
}

describe('capture: requests their connection ended without answering', () => {
  for (const ending of ['fin', 'rst', 'none'] as const) {
    it(`a server answering 2 of 5 pipelined requests, then ${ending === 'none' ? 'the capture ends' : ending.toUpperCase()}: 3 counted`, async () => {
      const { msgs, stats } = await bothPaths(pipelineAnswered(2, ending));
      const requests = ofType(msgs, '1');
      const responses = ofType(msgs, '2');
      assert.equal(requests.length, 5, 'every request is still emitted, as gor does');
      assert.deepEqual(
        responses.map((m) => m.meta.id),
        requests.slice(0, 2).map((m) => m.meta.id),
      );
      assert.equal(stats.requests_unanswered_at_close, 3);
      assert.equal(stats.unanswered_requests, 0);
      assert.equal(stats.unmatched_responses, 0);
    });
  }

  it('a server that closes without sending a byte: all 5 counted', async () => {
    const { msgs, stats } = await bothPaths(pipelineAnswered(0, 'fin'));
    assert.equal(ofType(msgs, '1').length, 5);
    assert.equal(stats.requests_unanswered_at_close, 5);
  });

  it('every request answered, then FIN: none counted', async () => {
    const { stats } = await bothPaths(pipelineAnswered(5, 'fin'));
    assert.equal(stats.responses, 5);
    assert.equal(stats.requests_unanswered_at_close, 0);
  });

  it('without --input-raw-track-response responses are not followed: nothing counted', async () => {
    const { msgs, stats } = await bothPaths(pipelineAnswered(2, 'fin'), { trackResponse: false });
    assert.equal(ofType(msgs, '1').length, 5);
    assert.equal(ofType(msgs, '2').length, 0);
    assert.equal(stats.requests_unanswered_at_close, 0);
  });

  it('report over the pcap: the 3 count as no response, and the input (--json) and the table say why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapline-unanswered-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'closed.pcap');
    writeFileSync(file, buildPcap(timed(pipelineAnswered(2, 'fin')).map((p) => ({ tsNs: p.tsNs, data: p.data }))));
    const run = await runTapline(['report', `${file}:8080`, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout.toString()) as {
      totals: { requests: number; no_response: number };
      inputs: Record<string, Record<string, number>>;
    };
    assert.equal(report.totals.no_response, 3);
    const input = Object.values(report.inputs)[0]!;
    assert.equal(input.requests_unanswered_at_close, report.totals.no_response);
    // The table says why, under it.
    const table = await runTapline(['report', `${file}:8080`]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout.toString(), /No response because the connection ended first: 3 request\(s\)/);
  });
});
