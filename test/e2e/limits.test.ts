/**
 * `ADDRESS|limit` suffixes through the CLI (spec §5.1, docs/pipeline.md): what each plugin takes, and that a
 * suffix it cannot honour is a usage error (exit 2) naming the flag and the value before anything starts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runTapline } from '../support/cli.js';
import { CORPUS_DIR } from '../support/corpus.js';
import { startDeafPeer } from '../support/deaf-peer.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-limits-e2e-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function gorFile(name: string, requests: number): string {
  let text = '';
  for (let i = 1; i <= requests; i++) {
    const id = i.toString(16).padStart(24, '0');
    text += `1 ${id} ${1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n} 0\nGET /${i} HTTP/1.1\r\nHost: h\r\n\r\n\n🐵🙈🙉\n`;
  }
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test('|max is for --input-file only: on an output or another input it is a usage error, not ignored', async () => {
  const file = gorFile('three.gor', 3);
  const out = join(dir, 'out.gor');
  for (const args of [
    ['--input-file', file, '--output-file', `${out}|max`],
    ['--input-file', file, '--output-stdout', '--output-http', 'http://127.0.0.1:9|max'],
    ['--input-dummy', 'x|max', '--output-null'],
  ]) {
    const res = await runTapline(args);
    assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, /error: --(output-file|output-http|input-dummy) \S+\|max: \|max .* --input-file only/);
    assert.equal(res.stdout.length, 0);
  }
  // On --input-file it means "no waiting"; every record is copied.
  const res = await runTapline(['--input-file', `${file}|max`, '--output-stdout']);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout.toString().match(/^1 /gm)?.length, 3);
});

test('a limited output: "written" in the summary counts what went past the limiter, not what was offered', async () => {
  const file = gorFile('hundred.gor', 100);
  const out = join(dir, 'limited.gor');
  const res = await runTapline(['--input-file', `${file}|max`, '--output-file', `${out}|10`, '--output-file-append']);
  assert.equal(res.code, 0, res.stderr);
  const kept = readFileSync(out, 'utf8').split('🐵🙈🙉').length - 1;
  const line = /output-file\(\S+\): (\d+) written;.* limit admitted (\d+), limit dropped (\d+)/.exec(res.stderr);
  assert.ok(line, res.stderr);
  const [written, admitted, dropped] = [Number(line[1]), Number(line[2]), Number(line[3])];
  assert.ok(kept >= 10 && kept < 100, `${kept} records kept`);
  assert.equal(written, kept, 'written is what the file holds');
  assert.equal(admitted, kept);
  assert.equal(admitted + dropped, 100);
});

test('a stop with a limited output whose peer reads nothing ends by itself (the limit passes stopping() on)', async () => {
  // A peer that accepts and never reads: the output's queue fills and its writes wait. A stop tells outputs
  // to stop making writes wait (Output.stopping); the |100% wrapper did not pass that on, so the run waited
  // for room for ever (still running 40 s after --exit-after 1s).
  const peer = await startDeafPeer();
  const body = 'a'.repeat(4096);
  let text = '';
  for (let i = 1; i <= 6000; i++) {
    const id = i.toString(16).padStart(24, '0');
    text += `1 ${id} ${1_700_000_000_000_000_000n + BigInt(i)} 0\nPOST /${i} HTTP/1.1\r\nContent-Length: 4096\r\n\r\n${body}\n🐵🙈🙉\n`;
  }
  const file = join(dir, 'stuck-peer.gor');
  writeFileSync(file, text);
  try {
    const res = await runTapline(
      [
        '--input-file',
        `${file}|max`,
        '--output-tcp',
        `127.0.0.1:${peer.port}|100%`,
        '--output-tcp-workers',
        '1',
        '--exit-after',
        '1s',
      ],
      { timeoutMs: 45_000 },
    );
    assert.notEqual(res.signal, 'SIGKILL', `the run did not end by itself within 45s\n${res.stderr}`);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /message\(s\) never sent: the peer took nothing more within \d+ms of the end/);
    assert.match(res.stderr, /output-tcp\(\S+\): \d+ written;.* limit admitted \d+/);
  } finally {
    peer.close();
  }
});

test('|0 and |0% on an output or an input other than a file are warned of at start: they let nothing through', async () => {
  const file = gorFile('zero.gor', 3);
  for (const suffix of ['|0', '|0%', '|00%']) {
    const out = join(dir, `zero${suffix.length}.gor`);
    const res = await runTapline(['--input-file', file, '--output-file', `${out}${suffix}`]);
    assert.equal(res.code, 0, res.stderr);
    const warning = res.stderr.split('\n').find((line) => line.includes('lets nothing through')) ?? res.stderr;
    assert.ok(warning.startsWith(`tapline: warning: --output-file ${out}${suffix}: `), warning);
    assert.ok(
      warning.endsWith(
        `every message is dropped, as in gor (counted as 'limit dropped'); for no limit leave out "${suffix}"`,
      ),
      warning,
    );
    assert.match(res.stderr, /output-file\(\S+\): 0 written; limit dropped 3/);
  }
  // A limit that lets something through says nothing at start.
  const res = await runTapline(['--input-file', file, '--output-file', `${join(dir, 'one.gor')}|1%`]);
  assert.doesNotMatch(res.stderr, /lets nothing through/);
});

test('--input-raw ADDR|50% samples once: every message read meets the one gate (it met two, keeping a quarter)', async () => {
  // A capture file read by --input-raw's pcap engine: 61 requests and 60 responses. The raw plugin wrapped itself
  // in the limit and the CLI wrapped it again, so |50% kept about 25% and the summary showed the second gate only.
  const pcap = join(CORPUS_DIR, 'chrissanders-http_espn.pcapng');
  const res = await runTapline(['--input-raw', `${pcap}|50%`, '--input-raw-track-response', '--output-null']);
  assert.equal(res.code, 0, res.stderr);
  const n = (name: string) => Number(new RegExp(`\\b${name} (\\d+)`).exec(res.stderr)?.[1] ?? Number.NaN);
  assert.ok(n('requests') > 50, res.stderr);
  assert.equal(n('limit admitted') + n('limit dropped'), n('requests') + n('responses'), res.stderr);
});
