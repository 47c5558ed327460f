/**
 * Correlating original and replayed responses by id, against a real local server that issues tokens: a
 * recorded login returned "orig-token-1"; replayed, the server issues a fresh token. The middleware learns
 * the pair from the type-2 and type-3 messages of the login and rewrites the later requests, which the server
 * accepts only with its own token. Each middleware kind (Node helper example, Python, in-process module).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeMeta } from '../../src/core/message.js';
import { runTapline } from '../support/cli.js';
import { REPO_ROOT } from '../support/corpus.js';
import { fixture, readGor, tempDir, writeGor } from './support.js';

const tmp = tempDir('token');
let server: Server;
let url = '';
const issued = new Set<string>();
const seen: { target: string; status: number }[] = [];

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const target = req.url ?? '';
      let status = 404;
      let body = '';
      if (req.method === 'POST' && target === '/token') {
        body = `srv-${randomBytes(6).toString('hex')}`;
        issued.add(body);
        status = 200;
      } else if (target.startsWith('/api')) {
        const token = new URL(target, 'http://x').searchParams.get('token') ?? '';
        status = issued.has(token) ? 200 : 401;
        body = status === 200 ? 'data' : 'bad token';
      }
      seen.push({ target, status });
      res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  tmp.cleanup();
});

const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;
const msg = (type: string, id: string, atMs: number, data: string) => ({
  meta: makeMeta({ type, id, timestampNs: T0 + BigInt(atMs) * MS, latencyNs: 0n }),
  data: Buffer.from(data),
});
const LOGIN = 'aa00000000000000000000aa';
// Requests are spaced so the login's replay (a few ms) comes back before the requests that need its token.
// The external middlewares (the shipped Node example, Python) also hold such requests while a login is in
// flight: one slow to start (a loaded machine) gets the requests right behind the login, before its replay.
const recording = [
  msg('1', LOGIN, 0, 'POST /token HTTP/1.1\r\nHost: app\r\nContent-Length: 0\r\n\r\n'),
  msg('2', LOGIN, 1, 'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\norig-token-1'),
  msg('1', 'bb00000000000000000000bb', 1500, 'GET /api/items?token=orig-token-1 HTTP/1.1\r\nHost: app\r\n\r\n'),
  msg('1', 'cc00000000000000000000cc', 1600, 'GET /api/items?page=2&token=orig-token-1 HTTP/1.1\r\nHost: app\r\n\r\n'),
];
const input = writeGor(join(tmp.dir, 'login.gor'), recording);

const kinds: [string, string[]][] = [
  [
    'Node, the shipped example with the helper library',
    [
      '--middleware',
      `${process.execPath} --import tsx ${join(REPO_ROOT, 'examples', 'middleware', 'token-rewrite.ts')}`,
    ],
  ],
  ['Python', ['--middleware', `python3 ${fixture('token.py')}`]],
  ['in-process module', ['--middleware-module', fixture('modules/token.ts')]],
];

describe('token rewrite: original and replayed responses correlated by id', () => {
  for (const [name, flags] of kinds) {
    it(name, async () => {
      const from = seen.length;
      const out = join(tmp.dir, `${name.split(' ')[0]}.gor`);
      const r = await runTapline(
        [
          '--input-file',
          input,
          ...flags,
          '--output-http',
          url,
          '--output-http-track-response',
          '--output-file',
          out,
          '--output-file-append',
        ],
        { timeoutMs: 30_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      const mine = seen.slice(from);
      assert.deepEqual(
        mine.map((s) => s.status),
        [200, 200, 200],
        `the server accepted the rewritten tokens: ${JSON.stringify(mine)}\n${r.stderr}`,
      );
      const token = /token=(srv-[0-9a-f]+)/.exec(mine[1]!.target)?.[1];
      assert.ok(token && issued.has(token), mine[1]!.target);
      assert.equal(mine[2]!.target, `/api/items?page=2&token=${token}`);
      // The replayed response went through the middleware to the file output, tagged with the login's id.
      const written = readGor(out);
      const replayed = written.find((m) => m.meta.startsWith(`3 ${LOGIN} `));
      assert.ok(replayed, `a type-3 message for the login in ${written.map((m) => m.meta).join(' | ')}`);
      assert.ok(replayed.data.toString().endsWith(`\r\n\r\n${token}`));
      assert.equal(written.filter((m) => m.meta.startsWith('3 ')).length, 3, 'every replayed response echoed');
    });
  }
});
