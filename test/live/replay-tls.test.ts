/**
 * https:// targets: a real TLS server on 127.0.0.1 with a self-signed certificate made by the openssl CLI for
 * this test. Without --output-http-skip-verify the certificate is rejected (counted as tls); with it the
 * replay goes through, keep-alive included.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { createServer as createPlainServer } from 'node:http';
import { createServer } from 'node:https';
import { after, before, test } from 'node:test';
import { memoryLogger } from '../../src/core/log.js';
import { httpOutput } from '../../src/outputs/http.js';
import { makeCertificate } from '../support/tls.js';
import { arrayInput, collectingOutput, requestMessage, runPipeline } from './replay-support.js';

let dir = '';
let url = '';
let connections = 0;
const seen: string[] = [];
let server: ReturnType<typeof createServer>;

before(async () => {
  const tls = makeCertificate('localhost');
  dir = tls.dir;
  server = createServer({ key: readFileSync(tls.key), cert: readFileSync(tls.cert) }, (req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.host}`);
    res.end(`secure ${req.url}`);
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://localhost:${(server.address() as { port: number }).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const requests = (n: number) =>
  Array.from({ length: n }, (_, i) => requestMessage(`GET /s/${i} HTTP/1.1\r\nHost: x\r\n\r\n`));

test('https target with a self-signed certificate: rejected unless --output-http-skip-verify (the warning says so)', async () => {
  const log = memoryLogger();
  const summary = await runPipeline([arrayInput(requests(3))], [httpOutput(url, { workers: 1, log })]);
  const s = summary.outputs[0]!.stats!;
  assert.equal(s.error_tls, 3);
  assert.equal(seen.length, 0);
  assert.ok(
    log.lines.some((l) => /failed: tls \(\S+ .*certificate.*; --output-http-skip-verify accepts it\)$/.test(l)),
    log.lines.join('\n'),
  );
});

test('https:// to a plain-HTTP port: the tls failure asks whether the target is http://', async () => {
  // A plain node:http server answers the ClientHello with its 400 in clear text.
  const plain = createPlainServer((_req, res) => res.end('plain'));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  try {
    const log = memoryLogger();
    const target = `https://127.0.0.1:${(plain.address() as { port: number }).port}`;
    const summary = await runPipeline([arrayInput(requests(1))], [httpOutput(target, { workers: 1, log })]);
    assert.equal(summary.outputs[0]!.stats!.error_tls, 1);
    assert.ok(
      log.lines.some((l) =>
        /failed: tls \(.*; the target answered the TLS handshake with bytes that are not TLS: is it plain http:\/\/\?\)$/.test(
          l,
        ),
      ),
      log.lines.join('\n'),
    );
  } finally {
    plain.closeAllConnections();
    plain.close();
  }
});

test('https with --output-http-skip-verify: requests arrive over one kept-alive TLS connection, responses tracked', async () => {
  connections = 0;
  const sink = collectingOutput();
  const out = httpOutput(url, { workers: 1, skipVerify: true, trackResponse: true });
  const summary = await runPipeline([arrayInput(requests(10))], [out, sink]);
  assert.equal(summary.outputs[0]!.stats!.status_2xx, 10);
  assert.equal(connections, 1);
  assert.equal(seen[0], `GET /s/0 ${new URL(url).host}`);
  const replayed = sink.messages.filter((m) => m.meta.type === '3');
  assert.equal(replayed.length, 10);
  assert.match(replayed[0]!.data.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nsecure \/s\/0$/);
});
