/**
 * Live capture on `lo` (root): real clients (Node's http, raw sockets, curl) against a real local server,
 * captured by the af_packet engine through the same input the CLI builds. Every request and response must
 * arrive whole, with its request's id.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { memoryLogger } from '../../src/core/log.js';
import type { Message } from '../../src/core/message.js';
import { openLiveInput } from '../../src/inputs/raw/index.js';
import { collect, startTapline, waitForStderr } from '../support/cli.js';
import { readGorFile } from '../support/gor.js';
import { parseHttp } from '../support/http.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'live capture needs root (CAP_NET_RAW); run the suite as root';

/** The test server: echoes what it got and sends bodies of the size asked for, chunked when asked. */
function startServer(host: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const hash = createHash('sha256');
    let received = 0;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      received += c.length;
    });
    req.on('end', () => {
      const size = Number(url.searchParams.get('size') ?? 16);
      const body = patterned(size);
      res.setHeader('x-received', String(received));
      res.setHeader('x-received-sha256', hash.digest('hex'));
      if (url.searchParams.has('chunked')) {
        for (let i = 0; i < body.length; i += 1000) res.write(body.subarray(i, i + 1000));
        res.end();
      } else {
        res.setHeader('content-length', body.length);
        res.end(body);
      }
    });
  });
  server.keepAliveTimeout = 10_000;
  return new Promise((resolve) => server.listen(0, host, () => resolve(server)));
}

function patterned(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = 97 + (i % 26);
  return out;
}

/** Captures `lo:port` while `traffic` runs; returns every message the input emitted. */
async function capture(
  address: string,
  traffic: () => Promise<void>,
): Promise<{ msgs: Message[]; stats: Record<string, number | string> }> {
  // Capturing as soon as this returns: the socket is bound and filtered before the traffic starts.
  const input = openLiveInput(address, { log: memoryLogger() });
  const msgs: Message[] = [];
  const reading = (async () => {
    for await (const batch of input.read()) msgs.push(...batch);
  })();
  await traffic();
  await new Promise((r) => setTimeout(r, 200)); // the ring's block timeout is 10 ms
  await input.close();
  await reading;
  return { msgs, stats: input.stats!() };
}

function byType(msgs: Message[], type: string): Message[] {
  return msgs.filter((m) => m.meta.type === type);
}

/** Every response shares its request's id, and no id is used by two requests. */
function assertPaired(msgs: Message[]): void {
  const requests = byType(msgs, '1');
  const ids = new Set(requests.map((m) => m.meta.id));
  assert.equal(ids.size, requests.length, 'request ids are unique');
  for (const r of byType(msgs, '2')) {
    if (parseHttp(r.data).status === 100) continue;
    assert.ok(ids.has(r.meta.id), `response ${r.meta.id} pairs with a request`);
  }
}

describe('live capture on lo', { skip, timeout: 60_000 }, () => {
  let server: http.Server;
  let port: number;
  before(async () => {
    server = await startServer('127.0.0.1');
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  it('keep-alive: 20 requests on one connection, all captured whole and paired', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { msgs, stats } = await capture(`127.0.0.1:${port}`, async () => {
      for (let i = 0; i < 20; i++) {
        const res = await get(`http://127.0.0.1:${port}/k/${i}?size=${i * 997}`, agent);
        assert.equal(res.length, i * 997);
      }
    });
    agent.destroy();
    const requests = byType(msgs, '1');
    const responses = byType(msgs, '2');
    assert.deepEqual(
      requests.map((m) => parseHttp(m.data).target),
      Array.from({ length: 20 }, (_, i) => `/k/${i}?size=${i * 997}`),
    );
    assert.equal(responses.length, 20);
    for (let i = 0; i < 20; i++) assert.deepEqual(parseHttp(responses[i]!.data).body, patterned(i * 997));
    assert.equal(stats.connections, 1);
    assertPaired(msgs);
  });

  it('pipelining: 5 requests in one write, answered in order, each paired with its own request', async () => {
    const { msgs } = await capture(`127.0.0.1:${port}`, async () => {
      const sock = connect(port, '127.0.0.1');
      await once(sock, 'connect');
      const reqs = [1, 2, 3, 4, 5].map((i) => `GET /p/${i}?size=${i * 100} HTTP/1.1\r\nHost: t\r\n\r\n`).join('');
      sock.write(reqs);
      let got = '';
      sock.on('data', (d: Buffer) => {
        got += d.toString('latin1');
      });
      while ((got.match(/HTTP\/1\.1 200/g) ?? []).length < 5 || !got.endsWith(patterned(500).toString('latin1'))) {
        await new Promise((r) => setTimeout(r, 10));
      }
      sock.end();
    });
    const requests = byType(msgs, '1');
    const responses = byType(msgs, '2');
    assert.equal(requests.length, 5);
    assert.equal(responses.length, 5);
    for (let i = 0; i < 5; i++) {
      assert.equal(parseHttp(requests[i]!.data).target, `/p/${i + 1}?size=${(i + 1) * 100}`);
      assert.equal(parseHttp(responses[i]!.data).body.length, (i + 1) * 100);
      assert.equal(responses[i]!.meta.id, requests[i]!.meta.id, `response ${i + 1} has request ${i + 1}'s id`);
    }
    assertPaired(msgs);
  });

  it('chunked responses and 5 MB bodies both ways arrive whole', async () => {
    const upload = patterned(5 * 1024 * 1024);
    const { msgs, stats } = await capture(`127.0.0.1:${port}`, async () => {
      assert.equal((await get(`http://127.0.0.1:${port}/c?size=100000&chunked=1`)).length, 100_000);
      assert.equal(
        (await post(`http://127.0.0.1:${port}/big?size=${5 * 1024 * 1024}`, upload)).length,
        5 * 1024 * 1024,
      );
    });
    const [chunkedReq, bigReq] = byType(msgs, '1');
    const [chunkedRes, bigRes] = byType(msgs, '2');
    assert.ok(chunkedReq && bigReq && chunkedRes && bigRes, `got ${msgs.length} messages`);
    const c = parseHttp(chunkedRes.data);
    assert.equal(c.headers['transfer-encoding'], 'chunked');
    assert.deepEqual(c.body, patterned(100_000));
    assert.equal(parseHttp(bigReq.data).body.length, upload.length);
    assert.ok(parseHttp(bigReq.data).body.equals(upload), 'the 5 MB upload is byte-identical');
    assert.ok(parseHttp(bigRes.data).body.equals(patterned(5 * 1024 * 1024)), 'the 5 MB download is byte-identical');
    assert.equal(stats.incomplete_dropped, 0);
    assert.equal(stats.kernel_dropped, 0);
    assertPaired(msgs);
  });

  it('Expect: 100-continue (curl): the request is whole, the final response has its id, the 100 is its own message', async () => {
    const body = patterned(300_000);
    const dir = mkdtempSync(join(tmpdir(), 'tapline-live-'));
    const bodyFile = join(dir, 'body');
    writeFileSync(bodyFile, body);
    const { msgs } = await capture(`127.0.0.1:${port}`, async () => {
      const { stdout } = await run('curl', [
        '-s',
        '-H',
        'Expect: 100-continue',
        '--data-binary',
        `@${bodyFile}`,
        '-D',
        '-',
        '-o',
        '/dev/null',
        `http://127.0.0.1:${port}/continue?size=10`,
      ]);
      assert.match(stdout, /100 Continue/);
    });
    rmSync(dir, { recursive: true, force: true });
    const [req] = byType(msgs, '1');
    assert.ok(req);
    const parsed = parseHttp(req.data);
    assert.equal(parsed.headers.expect, undefined, 'the Expect header is removed, as gor does');
    assert.ok(parsed.body.equals(body));
    const responses = byType(msgs, '2');
    const interim = responses.filter((m) => parseHttp(m.data).status === 100);
    const final = responses.filter((m) => parseHttp(m.data).status === 200);
    assert.equal(interim.length, 1);
    assert.equal(final.length, 1);
    assert.equal(final[0]!.meta.id, req.meta.id);
    assert.notEqual(interim[0]!.meta.id, req.meta.id);
  });

  it('IPv6 on [::1]', async () => {
    const v6 = await startServer('::1');
    const p6 = (v6.address() as AddressInfo).port;
    try {
      const { msgs } = await capture(`[::1]:${p6}`, async () => {
        assert.equal((await get(`http://[::1]:${p6}/six?size=4321`)).length, 4321);
      });
      assert.equal(byType(msgs, '1').length, 1);
      assert.equal(parseHttp(byType(msgs, '2')[0]!.data).body.length, 4321);
      assertPaired(msgs);
    } finally {
      v6.close();
    }
  });

  for (const engine of ['libpcap', 'af_packet --input-raw-bpf-filter']) {
    it(`the CLI with the ${engine} engine captures the same exchanges`, async () => {
      const extra =
        engine === 'libpcap' ? ['--input-raw-engine', 'libpcap'] : ['--input-raw-bpf-filter', `tcp port ${port}`];
      const child = startTapline([
        '--input-raw',
        `127.0.0.1:${port}`,
        ...extra,
        '--input-raw-track-response',
        '--output-stdout',
        '--verbose',
        '1',
      ]);
      const done = collect(child, 30_000);
      await waitForStderr(child, /BPF Filter:/);
      for (let i = 0; i < 3; i++) await get(`http://127.0.0.1:${port}/${engine.slice(0, 3)}/${i}?size=${i * 10}`);
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGINT');
      const result = await done;
      assert.equal(result.code, 0, result.stderr);
      const text = result.stdout.toString('latin1');
      assert.equal((text.match(/^1 [0-9a-f]{24} /gm) ?? []).length, 3, result.stderr);
      assert.equal((text.match(/^2 [0-9a-f]{24} /gm) ?? []).length, 3, result.stderr);
    });
  }

  it('the CLI: --input-raw lo:PORT --output-file, stopped by SIGINT, writes every message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapline-live-'));
    try {
      const out = join(dir, 'out.gor');
      const child = startTapline([
        '--input-raw',
        `lo:${port}`,
        '--input-raw-track-response',
        '--output-file',
        out,
        '--output-file-append',
        '--verbose',
        '1',
      ]);
      const done = collect(child, 30_000);
      await waitForStderr(child, /BPF Filter:/);
      const agent = new http.Agent({ keepAlive: true });
      for (let i = 0; i < 10; i++) await get(`http://127.0.0.1:${port}/cli/${i}?size=${i * 50}`, agent);
      agent.destroy();
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGINT');
      const result = await done;
      assert.equal(result.code, 0, result.stderr);
      const msgs = readGorFile(out);
      assert.equal(byType(msgs, '1').length, 10, result.stderr);
      assert.equal(byType(msgs, '2').length, 10, result.stderr);
      assertPaired(msgs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function get(url: string, agent?: http.Agent): Promise<Buffer> {
  return request(url, 'GET', undefined, agent);
}

function post(url: string, body: Buffer): Promise<Buffer> {
  return request(url, 'POST', body);
}

function request(url: string, method: string, body?: Buffer, agent?: http.Agent): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, ...(agent ? { agent } : {}) }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve(Buffer.concat(parts)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
