/**
 * --input-raw-realip-header edits the request's head only. gor's SetHeader (which tapline used) scans past
 * the blank line and adds after the first CRLF: a body line named like the header was rewritten, and a head
 * whose lines end in bare LF got the header inside its body, or none.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runTapline } from '../../../test/support/cli.js';
import { CORPUS_DIR } from '../../../test/support/corpus.js';
import { CLIENT, capture, timed, turns } from './testkit.js';

const b = (x: string) => Buffer.from(x, 'latin1');
const ok = b('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');

async function requestsWithRealIp(...requests: string[]): Promise<string[]> {
  const list = turns(requests.flatMap((r) => [[true, b(r)] as const, [false, ok] as const]));
  const { msgs } = await capture(timed(list), { realIpHeader: 'X-Real-IP' });
  return msgs.filter((m) => m.meta.type === '1').map((m) => m.data.toString('latin1'));
}

describe('--input-raw-realip-header: the head, not the body', () => {
  it('sets it in the head as gor does when the head has CRLF lines and the body no such line', async () => {
    assert.deepEqual(
      await requestsWithRealIp('GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /b HTTP/1.1\r\nX-Real-IP: 1.2.3.4\r\n\r\n'),
      [
        `GET /a HTTP/1.1\r\nX-Real-IP: ${CLIENT.ip}\r\nHost: x\r\n\r\n`,
        `GET /b HTTP/1.1\r\nX-Real-IP: ${CLIENT.ip}\r\n\r\n`,
      ],
    );
  });

  it('leaves a body line named like the header as it is, and adds the header to the head', async () => {
    const body = 'X-Real-IP: 9.9.9.99\r\n';
    assert.deepEqual(await requestsWithRealIp(`POST /f HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`), [
      `POST /f HTTP/1.1\r\nX-Real-IP: ${CLIENT.ip}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    ]);
  });

  it('a head of bare-LF lines gets it after its request line, with an LF, and its body is untouched', async () => {
    assert.deepEqual(
      await requestsWithRealIp(
        'POST /c HTTP/1.1\nHost: x\nContent-Length: 8\n\nab\r\ncdef',
        'GET /d HTTP/1.1\nHost: x\n\n',
        'GET /e HTTP/1.1\nx-real-ip: 5.6.7.8\n\n',
      ),
      [
        `POST /c HTTP/1.1\nX-Real-IP: ${CLIENT.ip}\nHost: x\nContent-Length: 8\n\nab\r\ncdef`,
        `GET /d HTTP/1.1\nX-Real-IP: ${CLIENT.ip}\nHost: x\n\n`,
        `GET /e HTTP/1.1\nx-real-ip: ${CLIENT.ip}\n\n`,
      ],
    );
  });

  it('a name that is not an HTTP token is a usage error before the run (gor writes it into every request)', {
    timeout: 60_000,
  }, async () => {
    const file = join(CORPUS_DIR, 'gopacket-test_loopback.pcap');
    const cases: [string, string][] = [
      ['X-Real IP', 'contains a space'],
      ['X\r\nEvil: 1', 'contains a carriage return (\\r)'],
      ['X:Y', 'contains the byte 0x3a'],
    ];
    for (const [name, why] of cases) {
      const r = await runTapline(['--input-raw', file, '--input-raw-realip-header', name, '--output-stdout'], {
        timeoutMs: 20_000,
      });
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`--input-raw-realip-header ${JSON.stringify(name)}: the header name`), r.stderr);
      assert.ok(r.stderr.includes(why), r.stderr);
      assert.equal(r.stdout.length, 0, 'the run never started');
    }
    const ok = await runTapline(['--input-raw', file, '--input-raw-realip-header', 'X-Real-IP', '--output-null'], {
      timeoutMs: 20_000,
    });
    assert.equal(ok.code, 0, ok.stderr);
  });
});
