/** Shared bits of the middleware tests: .gor fixtures written and read back, fixture paths, CLI runs. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { encodeRecord, GorRecordReader } from '../../src/core/gor-format.js';
import { type Message, makeMeta } from '../../src/core/message.js';
import { type CliResult, runTapline } from '../support/cli.js';
import { REPO_ROOT } from '../support/corpus.js';

export const FIXTURES = join(REPO_ROOT, 'test', 'middleware', 'fixtures');
export const fixture = (name: string): string => join(FIXTURES, name);
/** A Node fixture written in TypeScript, as a --middleware command (no spaces in the path). */
export const nodeFixture = (name: string): string => `${process.execPath} --import tsx ${fixture(name)}`;

const T0 = 1_700_000_000_000_000_000n;

export function request(i: number, target: string, body = '', headers: string[] = []): Message {
  const head = [`${body ? 'POST' : 'GET'} ${target} HTTP/1.1`, 'Host: example.test', ...headers];
  if (body) head.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return {
    meta: makeMeta({
      type: '1',
      id: i.toString(16).padStart(24, '0'),
      timestampNs: T0 + BigInt(i) * 1000n,
      latencyNs: -1n,
    }),
    data: Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`),
  };
}

export function response(i: number, body = 'ok'): Message {
  return {
    meta: makeMeta({
      type: '2',
      id: i.toString(16).padStart(24, '0'),
      timestampNs: T0 + BigInt(i) * 1000n + 1n,
      latencyNs: 0n,
    }),
    data: Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
  };
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `tapline-mw-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeGor(path: string, messages: Message[]): string {
  writeFileSync(path, Buffer.concat(messages.map(encodeRecord)));
  return path;
}

export interface ReadMessage {
  meta: string;
  data: Buffer;
}

export function readGor(path: string): ReadMessage[] {
  const reader = new GorRecordReader((p) => {
    throw new Error(`${path}: ${p.message}`);
  });
  const records = [...reader.push(readFileSync(path)), ...reader.end()];
  return records.map((r) => ({ meta: r.meta.line, data: Buffer.from(r.data) }));
}

/** Three exchanges; the second one's target starts with /drop. */
export function sampleExchanges(): Message[] {
  return [
    request(1, '/a'),
    response(1, 'one'),
    request(2, '/drop/me'),
    response(2, 'two'),
    request(3, '/b?x=1', 'form=1'),
    response(3, 'three'),
  ];
}

let runs = 0;

/** Runs `--input-file FILE|max <middlewareArgs> --output-file OUT` and reads OUT back (empty when not written). */
export async function runThrough(
  dir: string,
  file: string,
  middlewareArgs: string[],
): Promise<CliResult & { got: ReadMessage[] }> {
  const out = join(dir, `out-${++runs}.gor`);
  const res = await runTapline(
    ['--input-file', `${file}|max`, ...middlewareArgs, '--output-file', out, '--output-file-append'],
    { timeoutMs: 30_000 },
  );
  let got: ReadMessage[] = [];
  try {
    got = readGor(out);
  } catch {
    // no output file: nothing was written
  }
  return { ...res, got };
}

/** The messages written equal `want`, byte for byte, in order. */
export function assertSameMessages(got: ReadMessage[], want: Message[]): void {
  assert.deepEqual(
    got.map((m) => [m.meta, m.data.toString('latin1')]),
    want.map((m) => [m.meta.line, m.data.toString('latin1')]),
  );
}

/**
 * The common setup of a test file that runs the CLI with `flag` (--middleware or --middleware-module): a temp
 * dir removed after the file, the sample exchanges as input, `run(value, extraArgs?, file?)` and `same()`.
 */
export function middlewareRuns(flag: string) {
  const tmp = tempDir(flag.replace(/^-+/, ''));
  after(() => tmp.cleanup());
  const messages = sampleExchanges();
  const input = writeGor(join(tmp.dir, 'in.gor'), messages);
  return {
    dir: tmp.dir,
    messages,
    run: (value: string, extra: string[] = [], file = input) => runThrough(tmp.dir, file, [flag, value, ...extra]),
    same: (got: ReadMessage[], want = messages) => assertSameMessages(got, want),
  };
}
