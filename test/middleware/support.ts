/** Shared bits of the middleware tests: .gor fixtures written and read back, fixture paths, CLI runs. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRecord, GorRecordReader } from '../../src/core/gor-format.js';
import { type Message, makeMeta } from '../../src/core/message.js';
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
