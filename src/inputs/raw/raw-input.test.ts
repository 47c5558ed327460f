/** The raw input's options, each on a small conversation built packet by packet (no capture needed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import type { Message } from '../../core/message.js';
import { requestId } from '../../tcp/ids.js';
import { parseRawAddress } from './address.js';
import { resolveLiveAddress } from './sources.js';
import {
  CLIENT,
  capture,
  conversation,
  type Exchange,
  requestBytes,
  responseBytes,
  SERVER,
  segments,
  timed,
} from './testkit.js';

const exchange = (over: Partial<Exchange> = {}): Exchange => ({
  method: 'POST',
  path: 'orders',
  requestBody: Buffer.from('{"n":1}'),
  status: 201,
  responseBody: Buffer.from('created'),
  chunked: false,
  ...over,
});

const ofType = (msgs: Message[], type: string) => msgs.filter((m) => m.meta.type === type);

describe('raw input', () => {
  it("ids follow gor's formula: client port, server port, client IPv4, the request's ACK", async () => {
    const { msgs } = await capture(conversation([exchange()]));
    const [req] = ofType(msgs, '1');
    // segments(): client ISN 1000, server ISN 5000; the request's segments acknowledge the server's SYN.
    assert.equal(req!.meta.id, requestId(CLIENT.port, SERVER.port, 0x0a010101, 5001));
    assert.equal(ofType(msgs, '2')[0]!.meta.id, req!.meta.id);
    assert.equal(req!.meta.latencyNs, 0n);
  });

  it('without --input-raw-track-response only requests are emitted', async () => {
    const { msgs, stats } = await capture(conversation([exchange(), exchange()]), { trackResponse: false });
    assert.deepEqual(
      msgs.map((m) => m.meta.type),
      ['1', '1'],
    );
    assert.equal(stats.requests, 2);
  });

  it('--input-raw-realip-header sets the client IP on requests only', async () => {
    const { msgs } = await capture(conversation([exchange({ headers: ['X-Real-IP: 1.2.3.4'] })]), {
      realIpHeader: 'X-Real-IP',
    });
    const req = ofType(msgs, '1')[0]!.data.toString('latin1');
    assert.match(req, /\r\nX-Real-IP: 10\.1\.1\.1\r\n/);
    assert.doesNotMatch(req, /1\.2\.3\.4/);
    assert.doesNotMatch(ofType(msgs, '2')[0]!.data.toString('latin1'), /X-Real-IP/);
  });

  it('Expect: 100-continue: the header is removed and the id shifted by 25, like gor', async () => {
    const x = exchange({ headers: ['Expect: 100-continue'] });
    const { msgs } = await capture(conversation([x]));
    const req = ofType(msgs, '1')[0]!;
    assert.doesNotMatch(req.data.toString('latin1'), /Expect/i);
    assert.equal(req.meta.id, requestId(CLIENT.port, SERVER.port, 0x0a010101, 5001 + 25));
  });

  it('--input-raw-probability keeps whole pairs: a request and its response go together', async () => {
    const many = Array.from({ length: 40 }, (_, i) => exchange({ path: `p${i}` }));
    let n = 0;
    const { msgs, stats } = await capture(conversation(many), { probability: 0.5, random: () => (n++ % 2) * 0.9 });
    const requests = ofType(msgs, '1');
    const responses = ofType(msgs, '2');
    assert.equal(requests.length, 20);
    assert.deepEqual(
      responses.map((m) => m.meta.id),
      requests.map((m) => m.meta.id),
    );
    assert.equal(stats.sampled_out, 40);
  });

  it('--input-raw-max-size cuts a large message, marks it and counts it', async () => {
    const big = exchange({ responseBody: Buffer.alloc(50_000, 0x61) });
    const { msgs, stats } = await capture(conversation([big]), { maxSize: 10_000 });
    const res = ofType(msgs, '2')[0]!;
    assert.equal(res.data.length, 10_000);
    assert.deepEqual(res.meta.extra, ['incomplete=max-size']);
    assert.equal(stats.cut_max_size, 1);
  });

  it('a message cut by the end of the capture is counted, and emitted only with --input-raw-allow-incomplete', async () => {
    const x = exchange({ responseBody: Buffer.alloc(5000, 0x62) });
    const all = segments([x], [1400], [1000, 5000]);
    const cut = all.slice(0, -3); // the last response segment and both FINs never arrive
    const dropped = await capture(timed(cut));
    assert.equal(ofType(dropped.msgs, '2').length, 0);
    assert.equal(dropped.stats.incomplete_eof, 1);
    assert.equal(dropped.stats.incomplete_dropped, 1);
    const kept = await capture(timed(cut), { allowIncomplete: true });
    const res = ofType(kept.msgs, '2')[0]!;
    assert.deepEqual(res.meta.extra, ['incomplete=eof']);
    assert.ok(responseBytes(x).toString('latin1').startsWith(res.data.toString('latin1')));
  });

  it('--input-raw-protocol binary emits each turn of the conversation as it is', async () => {
    const xs = [exchange(), exchange({ path: 'two', responseBody: Buffer.from('ok') })];
    const { msgs } = await capture(conversation(xs, 5), { protocol: 'binary' });
    assert.deepEqual(
      msgs.map((m) => [m.meta.type, m.data.toString('latin1')]),
      xs.flatMap((x) => [
        ['1', requestBytes(x).toString('latin1')],
        ['2', responseBytes(x).toString('latin1')],
      ]),
    );
    assert.equal(msgs[1]!.meta.id, msgs[0]!.meta.id);
  });

  it('packets of other ports are left out and counted', async () => {
    const { msgs, stats } = await capture(conversation([exchange()]), {
      address: parseRawAddress('x.pcap:9999'),
    });
    assert.equal(msgs.length, 0);
    assert.ok(Number(stats.other_ports) > 0);
  });

  it('packets whose headers a small snaplen cut are counted as such, not as "not TCP or filtered"', async () => {
    // 14 (Ethernet) + 20 (IPv4) + 10: the TCP header is cut, as --input-raw-snaplen 44 would.
    const cut = conversation([exchange()]).map((p) => ({ ...p, data: p.data.subarray(0, 44) }));
    const { msgs, stats } = await capture(cut);
    assert.equal(msgs.length, 0);
    assert.equal(stats.headers_cut_by_snaplen, cut.length);
    assert.equal(stats.not_tcp_or_filtered, 0);
  });
});

describe('--input-raw addresses', () => {
  it('reads gor forms', () => {
    assert.deepEqual(parseRawAddress(':80'), { text: ':80', host: '', ports: [80], file: false });
    assert.deepEqual(parseRawAddress('lo:80,8080').ports, [80, 8080]);
    assert.deepEqual(parseRawAddress('[::1]:8080'), { text: '[::1]:8080', host: '::1', ports: [8080], file: false });
    assert.equal(parseRawAddress('localhost:80').host, '127.0.0.1');
    assert.deepEqual(parseRawAddress('dump.pcap'), { text: 'dump.pcap', host: 'dump.pcap', ports: [], file: true });
    assert.deepEqual(parseRawAddress('/tmp/x.pcapng:443').ports, [443]);
    assert.deepEqual(parseRawAddress(':0').ports, []);
    assert.equal(parseRawAddress('capture.bin:80', true).file, true);
  });

  it('refuses what gor would misread, naming the flag', () => {
    assert.throws(() => parseRawAddress(':http'), /port "http" is not a number/);
    assert.throws(() => parseRawAddress(':-1'), /port -1 is negative: a port is 0 to 65535/);
    assert.throws(() => parseRawAddress(':70000'), /port 70000 is above 65535/);
    assert.throws(() => parseRawAddress('::1:80'), /needs brackets/);
    assert.throws(() => parseRawAddress('k8s://default/pod/x:80'), /k8s/);
    assert.throws(() => parseRawAddress('[::1:80'), /closing bracket/);
  });

  it('refuses the usual slips before the run, saying what was meant (exit 2, not a bad IP at open)', () => {
    const usage = (re: RegExp) => (e: unknown) =>
      e instanceof TaplineError && e.code === ERROR_CODES.USAGE && re.test(e.message);
    // A forgotten colon was read as the IP address "80" and failed when the input opened.
    assert.throws(() => parseRawAddress('80'), usage(/"80": a port is written after a colon: :80 .* or lo:80/));
    assert.throws(() => parseRawAddress('80,8080'), usage(/:80,8080/));
    // An empty value captured every port on every interface.
    assert.throws(() => parseRawAddress(''), usage(/names nothing to capture/));
    // `lo:80:81` was host "lo:80", said as 'not an IPv4 or IPv6 address'.
    assert.throws(() => parseRawAddress('lo:80:81'), usage(/more than one colon: several ports are written lo:80,81/));
    assert.equal(parseRawAddress('/tmp/a:b.pcap:80').host, '/tmp/a:b.pcap', 'a file name may hold a colon');
    assert.deepEqual(parseRawAddress('lo:').ports, [], 'gor: no port is every port');
  });

  it("a link-local address's zone is the interface to capture on; the filter takes the address without it", () => {
    // It was every interface, with 'dst host fe80::1%lo' in the filter (which libpcap cannot parse).
    assert.deepEqual(resolveLiveAddress(parseRawAddress('[fe80::1%lo]:80')), { iface: 'lo', hosts: ['fe80::1'] });
    assert.deepEqual(resolveLiveAddress(parseRawAddress('[fe80::1%1]:80')).iface, 'lo', 'a zone may be the index');
    assert.throws(
      () => resolveLiveAddress(parseRawAddress('[fe80::1%tapline-none0]:80')),
      (e: unknown) =>
        e instanceof TaplineError && /the zone of "fe80::1%tapline-none0" names no interface/.test(e.message),
    );
  });

  it('an IPv6 address written in another form than the system lists it names the same interface', () => {
    // [0:0:0:0:0:0:0:1]:80 captured on every interface (filtered on the address), [::1]:80 on lo.
    for (const text of ['[0:0:0:0:0:0:0:1]:80', '[0::1]:80', '[::0001]:80']) {
      assert.equal(resolveLiveAddress(parseRawAddress(text)).iface, 'lo', text);
    }
  });

  it('a dotted host that is no IP address is said with the interfaces there are', () => {
    for (const text of ['999.1.1.1:80', '1.2.3:80', '[1:2:3]:80']) {
      assert.throws(
        () => resolveLiveAddress(parseRawAddress(text)),
        (e: unknown) =>
          e instanceof TaplineError &&
          e.code === ERROR_CODES.BAD_ADDRESS &&
          /is neither an interface \(have: .*lo.*\) nor an IP address/.test(e.message),
      );
    }
  });
});
