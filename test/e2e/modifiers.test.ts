/**
 * gor's filters and rewrites through the CLI: a `.gor` file replayed with --output-http to a node:http server on
 * 127.0.0.1, which records what it receives (method, target, header names and values in wire order and case,
 * body). Also: responses of dropped requests leave --output-stdout too, the summary counts each filter's drops,
 * --prettify-http on stdout, and a Go pattern JavaScript cannot honour is refused with exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import zlib from 'node:zlib';
import { cliShell, runTapline } from '../support/cli.js';

interface Received {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}

const dir = mkdtempSync(join(tmpdir(), 'tapline-modifiers-e2e-'));
const received: Received[] = [];
let host = '';
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({
      method: req.method!,
      url: req.url!,
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks).toString(),
    });
    res.end('ok');
  });
});

function gorFile(name: string, records: [type: string, id: number, payload: string | Buffer][]): string {
  const parts: Buffer[] = [];
  let ts = 1_700_000_000_000_000_000n;
  for (const [type, id, payload] of records) {
    ts += 1_000_000n;
    parts.push(Buffer.from(`${type} ${id.toString(16).padStart(24, '0')} ${ts} 0\n`));
    parts.push(typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload);
    parts.push(Buffer.from('\n🐵🙈🙉\n'));
  }
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the target receives the rewritten requests, and only the allowed ones', async () => {
  received.length = 0;
  const file = gorFile('mixed.gor', [
    ['1', 1, 'GET /api/users?id=1 HTTP/1.1\r\nHost: prod\r\nuser-agent: curl/8\r\nX-Env: prod\r\n\r\n'],
    ['2', 1, OK],
    ['1', 2, 'GET /static/app.js HTTP/1.1\r\nHost: prod\r\n\r\n'],
    ['2', 2, OK],
    [
      '1',
      3,
      'POST /api/login HTTP/1.1\r\nHost: prod\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2',
    ],
    ['2', 3, OK],
    ['1', 4, 'DELETE /api/x HTTP/1.1\r\nHost: prod\r\n\r\n'],
    ['2', 4, OK],
    ['1', 5, 'GET /api/blocked HTTP/1.1\r\nHost: prod\r\nX-Env: test\r\n\r\n'],
    ['2', 5, OK],
  ]);
  const res = await runTapline([
    '--input-file',
    `${file}|max`,
    '--output-http',
    `http://${host}`,
    '--output-stdout',
    '--http-allow-method',
    'GET',
    '--http-allow-method',
    'POST',
    '--http-disallow-url',
    '^/static/',
    '--http-disallow-header',
    'X-Env:^test$',
    '--http-set-header',
    'X-Replayed: tapline',
    '--http-set-param',
    'src=replay',
    '--http-rewrite-url',
    '^/api/(\\w+):/v2/$1',
    '--http-rewrite-header',
    'User-Agent: (.*),${1}-replayed',
  ]);
  assert.equal(res.code, 0, res.stderr);

  received.sort((a, b) => a.method.localeCompare(b.method));
  assert.deepEqual(received, [
    {
      method: 'GET',
      url: '/v2/users?id=1&src=replay',
      rawHeaders: ['X-Replayed', 'tapline', 'Host', host, 'user-agent', 'curl/8-replayed', 'X-Env', 'prod'],
      body: '',
    },
    {
      method: 'POST',
      url: '/v2/login?src=replay',
      rawHeaders: [
        'X-Replayed',
        'tapline',
        'Host',
        host,
        'Content-Type',
        'application/x-www-form-urlencoded',
        'Content-Length',
        '7',
      ],
      body: 'a=1&b=2',
    },
  ]);

  // stdout (a second output) gets the same two requests and only their responses.
  const metas = res.stdout.toString('latin1').match(/^[123] [0-9a-f]{24} \d+ \d+$/gm) ?? [];
  assert.deepEqual(
    metas.map((m) => `${m[0]}:${Number.parseInt(m.split(' ')[1]!, 16)}`),
    ['1:1', '2:1', '1:3', '2:3'],
  );
  assert.match(
    res.stderr,
    /filters: --http-allow-method dropped 1, --http-disallow-url dropped 1, --http-disallow-header dropped 1, responses of dropped requests 3/,
  );
  assert.match(res.stderr, /10 messages .*, 6 filtered/);
});

test('--http-set-header with the name Host (trimmed, exact case) keeps that Host; another case does not', async () => {
  const file = gorFile('host.gor', [['1', 1, 'GET /h HTTP/1.1\r\nHost: prod\r\n\r\n']]);
  let warned = false;
  const hostSeen = async (setHeader: string) => {
    received.length = 0;
    const res = await runTapline([
      '--input-file',
      `${file}|max`,
      '--output-http',
      `http://${host}`,
      '--http-set-header',
      setHeader,
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(received.length, 1, res.stderr);
    warned = /warning: --http-set-header .*named exactly "Host" \(the case counts, as in gor\)/.test(res.stderr);
    return received[0]!.rawHeaders;
  };
  // gor trims the name before comparing, so the space before it still forces original-host.
  assert.deepEqual(await hostSeen(' Host: staging.example'), ['Host', 'staging.example']);
  assert.equal(warned, false);
  assert.deepEqual(await hostSeen('\tHost :staging.example'), ['Host', 'staging.example']);
  // `host` sets the header, then the target's Host rule replaces it, as in gor: said at start.
  assert.deepEqual(await hostSeen('host: staging.example'), ['Host', host]);
  assert.equal(warned, true, 'a set-header on host in another case is warned of');
});

test('--prettify-http: chunked and gzip bodies decoded with Content-Length fixed (stdout)', async () => {
  const gz = zlib.gzipSync(Buffer.from('hello modifiers'));
  const chunked = Buffer.concat([
    Buffer.from(
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n${gz.length.toString(16)}\r\n`,
    ),
    gz,
    Buffer.from('\r\n0\r\n\r\n'),
  ]);
  const file = gorFile('pretty.gor', [
    ['1', 1, 'GET / HTTP/1.1\r\nHost: prod\r\n\r\n'],
    ['2', 1, chunked],
  ]);
  const res = await runTapline(['--input-file', `${file}|max`, '--output-stdout', '--prettify-http']);
  assert.equal(res.code, 0, res.stderr);
  assert.ok(
    res.stdout.toString().includes('HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\nhello modifiers\n🐵🙈🙉\n'),
    res.stdout.toString(),
  );
  assert.match(res.stderr, /filters: prettified 1/);
});

test('--prettify-http with --middleware: the middleware sees decoded bodies, as in gor; a bad gzip counted once', async () => {
  const gz = zlib.gzipSync(Buffer.from('hello middleware'));
  const file = gorFile('pretty-mw.gor', [
    ['1', 1, 'POST /p HTTP/1.1\r\nHost: prod\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['2', 1, Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n'), gz])],
    ['2', 2, 'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\nnot gzip'],
  ]);
  // Echoes every line and tells on stderr what it was given.
  const middleware = join(dir, 'show.mjs');
  writeFileSync(
    middleware,
    `import readline from 'node:readline';
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  process.stderr.write('SAW ' + JSON.stringify(Buffer.from(line, 'hex').toString('latin1')) + '\\n');
  process.stdout.write(line + '\\n');
});
`,
  );
  const res = await runTapline([
    '--input-file',
    `${file}|max`,
    '--output-stdout',
    '--prettify-http',
    '--middleware',
    `${process.execPath} ${middleware}`,
  ]);
  assert.equal(res.code, 0, res.stderr);
  const seen = res.stderr.split('\n').filter((l) => l.includes('SAW '));
  assert.equal(seen.length, 3, res.stderr);
  assert.ok(seen[0]!.includes('Content-Length: 5\\r\\nHost: prod\\r\\n\\r\\nhello"'), seen[0]);
  assert.ok(seen[1]!.includes('HTTP/1.1 200 OK\\r\\nContent-Length: 16\\r\\n\\r\\nhello middleware"'), seen[1]);
  assert.ok(seen[2]!.includes('not gzip'), seen[2]); // passed in as it was; dropped after
  assert.match(res.stderr, /filters: prettified 2, prettify bad gzip dropped 1\b/);
  assert.equal(res.stdout.toString().split('🐵🙈🙉').length - 1, 2);
});

test('a Go pattern JavaScript cannot honour: exit 2 naming the flag and the construct, nothing replayed', async () => {
  received.length = 0;
  const file = gorFile('one.gor', [['1', 1, 'GET / HTTP/1.1\r\nHost: prod\r\n\r\n']]);
  const res = await runTapline([
    '--input-file',
    file,
    '--output-http',
    `http://${host}`,
    '--http-rewrite-url',
    '(?i)/A(?-i)b:/x',
  ]);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /--http-rewrite-url "\(\?i\)\/A\(\?-i\)b:\/x": regexp .*\(\?-i\).*TAPLINE_ERR_USAGE/);
  assert.doesNotMatch(res.stderr, /\n\s+at /);
  assert.equal(received.length, 0);
});

test('a rewrite naming a group its regexp lacks is warned of on stderr; an emptied target is dropped, counted', async () => {
  const file = gorFile('groups.gor', [
    ['1', 1, 'GET /a HTTP/1.1\r\nHost: prod\r\n\r\n'],
    ['1', 2, 'GET /gone HTTP/1.1\r\nHost: prod\r\n\r\n'],
  ]);
  const res = await runTapline([
    '--input-file',
    `${file}|max`,
    '--output-stdout',
    '--http-rewrite-url',
    '^/gone$:',
    '--http-rewrite-url',
    '^/a:/b$9',
  ]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(
    res.stderr,
    /warning: --http-rewrite-url "\^\/a:\/b\$9": the replacement refers to \$9 but the regexp has 0 groups/,
  );
  assert.match(
    res.stderr,
    /filters: --http-rewrite-url dropped 1 \(rewritten to an empty target or one not starting with \/\)/,
  );
  assert.equal(
    res.stdout
      .toString()
      .replace(/^1 .*\n/gm, '')
      .replace(/\n🐵🙈🙉\n/g, '|'),
    'GET /b HTTP/1.1\r\nHost: prod\r\n\r\n|',
  );
});

test('a pattern V8 would backtrack on for minutes runs in linear time, as Go RE2 does (no hang)', async () => {
  // (a+)+$ on 40 a and a '!' is 2^40 steps for a backtracking engine; the whole pipeline (and Ctrl-C) waited.
  const file = gorFile('redos.gor', [
    ['1', 1, `GET /${'a'.repeat(40)}! HTTP/1.1\r\nHost: prod\r\n\r\n`],
    ['1', 2, `GET /${'a'.repeat(40)} HTTP/1.1\r\nHost: prod\r\n\r\n`],
  ]);
  const res = await runTapline(['--input-file', `${file}|max`, '--output-stdout', '--http-allow-url', '(a+)+$'], {
    timeoutMs: 20_000,
  });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /filters: --http-allow-url dropped 1/);
  assert.match(res.stdout.toString(), /GET \/a{40} HTTP/);
  assert.doesNotMatch(res.stdout.toString(), /!/);
});

test('a flag value holding a byte that is not UTF-8 (Node reads it as U+FFFD) is warned of, naming flag and value', () => {
  const file = gorFile('latin1.gor', [['1', 1, 'GET / HTTP/1.1\r\nHost: prod\r\n\r\n']]);
  // Only a shell can put the raw byte 0xE9 into argv: Node's spawn encodes its arguments as UTF-8.
  const res = spawnSync(
    'bash',
    ['-c', `${cliShell('--input-file', file, '--output-stdout')} --http-set-header $'X-Name: Jos\\xe9'`],
    { timeout: 30_000, cwd: dir },
  );
  assert.equal(res.status, 0, res.stderr.toString());
  assert.match(
    res.stderr.toString(),
    /--http-set-header "X-Name: Jos\ufffd": holds U\+FFFD .* a byte that is not UTF-8 cannot be given on the command line/,
  );
  assert.ok(res.stdout.includes(Buffer.from('X-Name: Jos\xef\xbf\xbd\r\n', 'latin1')), res.stdout.toString());
});

test('--http-rewrite-header on Host with --output-http: warned that the target host is sent, unless kept', async () => {
  const file = gorFile('host.gor', [['1', 1, 'GET /h HTTP/1.1\r\nHost: prod.example\r\n\r\n']]);
  const rewrite = ['--http-rewrite-header', 'host: (.*)\\.example,$1.beta'];
  received.length = 0;
  const plain = await runTapline(['--input-file', file, '--output-http', `http://${host}`, ...rewrite]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(
    plain.stderr,
    /--http-rewrite-header "host: \(\.\*\)\\\\\.example,\$1\.beta": --output-http sends the target's host as Host.*add --http-original-host/,
  );
  assert.deepEqual(
    received.map((r) => r.rawHeaders[1]),
    [host],
  ); // the rewrite did not reach the target, as in gor
  received.length = 0;
  const kept = await runTapline([
    '--input-file',
    file,
    '--output-http',
    `http://${host}`,
    '--http-original-host',
    ...rewrite,
  ]);
  assert.equal(kept.code, 0, kept.stderr);
  assert.doesNotMatch(kept.stderr, /sends the target's host/);
  assert.deepEqual(
    received.map((r) => r.rawHeaders[1]),
    ['prod.beta'],
  );
  const noReplay = await runTapline(['--input-file', file, '--output-null', ...rewrite]);
  assert.doesNotMatch(noReplay.stderr, /sends the target's host/);
});
