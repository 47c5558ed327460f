/**
 * What `tapline report` says about a capture it cannot read whole: messages the capture engine left out as
 * incomplete (a segment the capture lost, the end of the capture inside a message) are in no route, so the
 * table says how many and why; a capture without one TCP segment tapline reads (a protocol it does not
 * decode) is warned about instead of giving an empty table with no word.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ethernet, ipv4, udp } from '../../src/capture/decode/testkit.js';
import { buildPcap } from '../../src/capture/pcap-writer.js';
import { type Exchange, segments, timed } from '../../src/inputs/raw/testkit.js';
import { runTapline } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-report-losses-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function pcap(name: string, packets: readonly { tsNs: bigint; data: Buffer }[]): string {
  const file = join(dir, name);
  writeFileSync(file, buildPcap(packets));
  return file;
}

const get: Exchange = {
  method: 'GET',
  path: 'a',
  requestBody: Buffer.alloc(0),
  status: 200,
  responseBody: Buffer.from('hello'),
  chunked: false,
};
const post: Exchange = { ...get, method: 'POST', path: 'b', requestBody: Buffer.alloc(3000, 0x78) };

describe('report: a capture it cannot read whole', () => {
  it('a request whose segment the capture lost is left out, and the table says so (count, bytes, gaps)', async () => {
    const list = segments([get, post], [1000], [1000, 5000]);
    // The POST's second segment (its body's bytes 1000-2000 of the request) never reached the capture.
    const posts = list.filter((sg) => sg.fromClient && sg.payload.length > 0).slice(1);
    const file = pcap('gap.pcap', timed(list.filter((sg) => sg !== posts[1])));
    const run = await runTapline(['report', file]);
    assert.equal(run.code, 0, run.stderr);
    const out = run.stdout.toString();
    assert.match(out, /1 requests, 2 responses/);
    assert.match(
      out,
      /Left out as incomplete: 1 message\(s\) \(1 with bytes the capture missed: 1000 B in 1 gap\(s\)\); the answer to a request left out is under \(no request\)/,
    );
    const json = JSON.parse((await runTapline(['report', file, '--json'])).stdout.toString()) as {
      inputs: Record<string, Record<string, number>>;
    };
    const input = Object.values(json.inputs)[0]!;
    assert.equal(input.incomplete_dropped, 1);
    assert.equal(input.bytes_lost, 1000);
  });

  it('a capture that ends inside a body: cut short by the end', async () => {
    const list = segments([get, post], [1000], [1000, 5000]);
    const lastPost = list.findLastIndex((sg) => sg.fromClient && sg.payload.length > 0);
    const run = await runTapline(['report', pcap('cut.pcap', timed(list.slice(0, lastPost)))]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout.toString(),
      /Left out as incomplete: 1 message\(s\) \(1 cut short by the end of the capture/,
    );
  });

  it('a whole capture has no such line', async () => {
    const run = await runTapline(['report', pcap('whole.pcap', timed(segments([get, post], [1000], [1, 2])))]);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout.toString(), /Left out/);
    assert.doesNotMatch(run.stderr.toString(), /none of its/);
  });

  it('packets without one TCP segment tapline reads: a warning naming the file and the count', async () => {
    const dns = ethernet(ipv4(udp(Buffer.alloc(30), 53000, 53), { protocol: 17 }));
    const file = pcap('udp.pcap', [
      { tsNs: 1_000_000_000n, data: dns },
      { tsNs: 2_000_000_000n, data: dns },
    ]);
    const run = await runTapline(['report', file]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr.toString(),
      new RegExp(`${file.replace(/[.]/g, '\\.')}: none of its 2 packet\\(s\\) holds a TCP segment tapline reads`),
    );
  });
});
