/**
 * `tapline report` stopped by a signal: the first SIGINT/SIGTERM/SIGHUP stops the reading at the next chunk and
 * prints the report of what was read, marked partial; --parquet gets the rows so far; budgets are not passed on
 * part of the input; the exit code is the signal's (130, 143). Every read path stops: the native scan of a plain
 * .gor (mapped or read), the reader of a .gor.gz, the capture engine of a pcap, and the files not yet opened.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { createAnalytics } from '../../src/analytics/index.js';
import { buildPcap } from '../../src/capture/pcap-writer.js';
import { feedFiles, mayHoldReplayed } from '../../src/cli/report-input.js';
import { encodeRecord } from '../../src/core/gor-format.js';
import { createLogger } from '../../src/core/log.js';
import { makeMeta } from '../../src/core/message.js';
import { canMapFiles } from '../../src/inputs/file-map.js';
import { timed, turns } from '../../src/inputs/raw/testkit.js';
import { cliArgv, noScript, readIfThere, waitFor } from '../support/cli.js';
import { REPO_ROOT } from '../support/corpus.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;

/** `count` exchanges (request and response records) of about 1 KiB each. */
function gorRecords(count: number): Buffer {
  const parts: Buffer[] = [];
  for (let n = 0; n < count; n++) {
    const id = n.toString(16).padStart(24, '0');
    const at = T0 + BigInt(n) * 1_000_000n;
    const req = Buffer.from(`GET /items/${n % 50} HTTP/1.1\r\nHost: shop.test\r\n\r\n`);
    const res = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n${'x'.repeat(900)}`);
    parts.push(encodeRecord({ meta: makeMeta({ type: '1', id, timestampNs: at, latencyNs: 0n }), data: req }));
    parts.push(
      encodeRecord({ meta: makeMeta({ type: '2', id, timestampNs: at + 2_000_000n, latencyNs: 0n }), data: res }),
    );
  }
  return Buffer.concat(parts);
}

let dir: string;
let plain: string; // ~20 MiB: more than two native views or reads
const EXCHANGES = 20_000;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapline-report-signals-'));
  plain = join(dir, 'plain.gor');
  writeFileSync(plain, gorRecords(EXCHANGES));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** feedFiles with a stop requested once the first exchange is counted (as a signal arriving mid-read). */
async function feedStoppedEarly(specs: string[], map: boolean) {
  const analytics = createAnalytics({ timeBase: 'input', clientFromId: specs.some((s) => s.endsWith('.pcap')) });
  const stop = new AbortController();
  let exchanges = 0;
  analytics.onExchange(() => {
    exchanges++;
    stop.abort();
  });
  const progress = { records: 0, bytesRead: 0, bytesTotal: 0 };
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const fed = await feedFiles(specs, analytics, log, progress, map, stop.signal);
  return { fed, exchanges, requests: analytics.snapshot().total_requests, progress, lines };
}

describe('report: every read path stops at a stop request', () => {
  it('a plain .gor through the native scan, read and mapped', async (t) => {
    for (const map of canMapFiles() ? [false, true] : [false]) {
      const r = await feedStoppedEarly([plain], map);
      assert.ok(r.fed.interrupted, `map ${map}: interrupted`);
      assert.equal(r.fed.interrupted.file, plain);
      assert.ok(r.requests > 0 && r.requests < EXCHANGES, `map ${map}: part read (${r.requests})`);
      assert.ok(r.fed.interrupted.bytesRead < r.fed.interrupted.size, `map ${map}: bytes read < size`);
      assert.equal(r.fed.inputs[plain]!.records, r.progress.records);
    }
    if (!canMapFiles()) t.diagnostic('the file addon is not built: the mapped path was not run');
  });

  it('a .gor.gz through the record reader, and the files after it never opened', async () => {
    const gz = join(dir, 'plain.gor.gz');
    writeFileSync(gz, gzipSync(readFileSync(plain)));
    const r = await feedStoppedEarly([gz, plain], false);
    assert.ok(r.fed.interrupted);
    assert.equal(r.fed.interrupted.file, gz);
    assert.deepEqual(r.fed.interrupted.unread, [plain]);
    assert.ok(r.requests > 0 && r.requests < EXCHANGES, `part read (${r.requests})`);
    assert.equal(r.fed.inputs[plain], undefined, 'the second file was not read');
  });

  it('the search for a replayed response (--responses auto reads a whole plain .gor first) stops too', async () => {
    const replayedLast = join(dir, 'replayed-last.gor');
    const res = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    const last = { meta: makeMeta({ type: '3', id: 'f'.repeat(24), timestampNs: T0, latencyNs: 0n }), data: res };
    writeFileSync(replayedLast, Buffer.concat([readFileSync(plain), encodeRecord(last)]));
    assert.equal(await mayHoldReplayed([replayedLast]), true);
    assert.equal(await mayHoldReplayed([replayedLast], AbortSignal.abort()), false, 'stopped before its end');
  });

  it('a pcap through the capture engine', async () => {
    const list: [boolean, Buffer][] = [];
    for (let n = 0; n < 3000; n++) {
      list.push([true, Buffer.from(`GET /p/${n} HTTP/1.1\r\nHost: shop\r\n\r\n`)]);
      list.push([false, Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n${'y'.repeat(400)}`)]);
    }
    const pcap = join(dir, 'many.pcap');
    writeFileSync(pcap, buildPcap(timed(turns(list))));
    const r = await feedStoppedEarly([pcap], false);
    assert.ok(r.fed.interrupted, 'interrupted');
    assert.equal(r.fed.interrupted.file, pcap);
    assert.ok(r.requests > 0 && r.requests < 3000, `part read (${r.requests})`);
  });
});

async function parquetRows(file: string): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const rows = (await connection.runAndReadAll(`SELECT count(*) AS n FROM '${file}'`)).getRowObjectsJS();
    return Number(rows[0]!.n);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('report: Ctrl-C on a terminal', () => {
  it('SIGINT once the progress line shows records: partial report, Parquet rows so far, exit 130', {
    skip: noScript,
  }, async () => {
    // Many names for one file (hard links are files of their own to `report`): long enough to read that the
    // progress line (every 250ms on a terminal) shows records read well before the end.
    const names: string[] = [];
    for (let i = 0; i < 120; i++) {
      const name = join(dir, `copy${i}.gor`);
      linkSync(plain, name);
      names.push(name);
    }
    const out = join(dir, 'tty.json');
    const parquet = join(dir, 'tty.parquet');
    const files = { pty: join(dir, 'tty.pty'), pid: join(dir, 'tty.pid'), code: join(dir, 'tty.code') };
    const args = ['report', '--json', '--parquet', parquet, '--max-total', '1MB', ...names];
    const cmd = cliArgv(...args).map((a) => `'${a}'`);
    // stderr is the terminal `script` made (the progress line is drawn); stdout goes to a file.
    const shell = `${cmd.join(' ')} >'${out}' & echo $! >'${files.pid}'; wait $!; echo $? >'${files.code}'`;
    const term = spawn('script', ['-q', '-f', '-c', shell, files.pty], { cwd: REPO_ROOT, stdio: 'ignore' });
    try {
      await waitFor(() => /tapline: \d+% [1-9][\d,]* records/.test(readIfThere(files.pty)), 30_000, 20);
      process.kill(Number(readIfThere(files.pid)), 'SIGINT');
      await waitFor(() => readIfThere(files.code) !== '', 30_000, 20);
    } finally {
      term.kill('SIGKILL');
    }
    const tty = readIfThere(files.pty);
    assert.equal(readIfThere(files.code).trim(), '130', tty);
    assert.match(tty, /SIGINT: stopping; printing the report of what was read/);
    assert.match(tty, /warning: SIGINT: the report is partial: reading stopped in \S+copy\d+\.gor at byte [\d,]+ of /);
    // The progress line is cleared before the lines after it: none ends where a progress line was drawn.
    const lastProgress = tty.lastIndexOf(' rec/s');
    assert.ok(tty.indexOf('\r\x1b[K', lastProgress) > lastProgress, 'the progress line was cleared');
    assert.ok(tty.indexOf('is partial', lastProgress) > lastProgress, 'no progress line after the warning');
    // A breach in the part read is said; the budgets are not passed (exit 130, not 0).
    assert.match(tty, /budget\(s\) broken in the part read/);

    const json = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(json.interrupted, true);
    assert.equal(json.partial.signal, 'SIGINT');
    assert.ok(json.partial.unread.length > 0, 'stopped before the last file');
    assert.ok(json.total_requests > 0 && json.total_requests < EXCHANGES * names.length, `${json.total_requests}`);
    const written = Number(/(\d+) exchanges written to/.exec(tty)?.[1]);
    assert.ok(written > 0, tty);
    assert.equal(await parquetRows(parquet), written, 'the Parquet file holds the rows so far');
  });
});
