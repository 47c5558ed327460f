/**
 * Helpers for tests between real tapline processes: start one with extra environment, learn the port its
 * --input-tcp picked, count the .gor records it writes to stdout, make records (certificates: test/support/tls.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { SEPARATOR } from '../../src/core/gor-format.js';
import { cliArgv } from '../support/cli.js';
import { REPO_ROOT } from '../support/corpus.js';

export interface Peer {
  readonly child: ChildProcess;
  stdout(): Buffer;
  stderr(): string;
  /** Resolves when stderr matches (rejects after timeoutMs with what was seen). */
  waitStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves when stdout holds at least n records. */
  waitRecords(n: number, timeoutMs?: number): Promise<Buffer[]>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startPeer(args: string[], env: Record<string, string> = {}): Peer {
  const [node, ...nodeArgs] = cliArgv(...args);
  const child = spawn(node!, nodeArgs, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0', ...env },
  });
  const out: Buffer[] = [];
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out.push(d);
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const l of listeners) l();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  // A test that fails must not leave a listener behind.
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void exited.then(() => clearTimeout(killer));
  const until = <T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> =>
    new Promise((resolve, reject) => {
      const tick = () => {
        const v = check();
        if (v === undefined) return;
        listeners.delete(tick);
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        listeners.delete(tick);
        reject(new Error(`timed out waiting for ${what()}\n--- stderr ---\n${err}`));
      }, timeoutMs);
      listeners.add(tick);
      tick();
    });
  return {
    child,
    stdout: () => Buffer.concat(out),
    stderr: () => err,
    exited,
    waitStderr: (pattern, timeoutMs = 15_000) =>
      until(
        () => err.match(pattern) ?? undefined,
        timeoutMs,
        () => String(pattern),
      ),
    waitRecords: (n, timeoutMs = 15_000) =>
      until(
        () => {
          const records = splitRecords(Buffer.concat(out));
          return records.length >= n ? records : undefined;
        },
        timeoutMs,
        () => `${n} records (have ${splitRecords(Buffer.concat(out)).length})`,
      ),
  };
}

/** `--input-tcp 127.0.0.1:0` with TLS from `cert` and `key` (PEM files), logging its port (--verbose 1). */
export function secureListenArgs(cert: string, key: string): string[] {
  return [
    '--input-tcp',
    '127.0.0.1:0',
    '--input-tcp-secure',
    '--input-tcp-certificate',
    cert,
    '--input-tcp-certificate-key',
    key,
    '--verbose',
    '1',
  ];
}

/** The port an --input-tcp child listens on (needs --verbose 1). */
export async function listeningPort(peer: Peer): Promise<number> {
  const m = await peer.waitStderr(/listening on [^\n]*:(\d+)/);
  return Number(m[1]);
}

/** Whole records (meta, payload and separator) in a .gor byte stream. */
export function splitRecords(bytes: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let from = 0;
  for (;;) {
    const at = bytes.indexOf(SEPARATOR, from);
    if (at === -1) return records;
    records.push(bytes.subarray(from, at + SEPARATOR.length));
    from = at + SEPARATOR.length;
  }
}

/** A request record with a distinct id and a body that makes each one unique. */
export function requestRecord(i: number, type = '1'): Buffer {
  const body = `hello ${i} ${'x'.repeat(i % 17)}`;
  const id = i.toString(16).padStart(24, '0');
  return Buffer.concat([
    Buffer.from(`${type} ${id} ${1_700_000_000_000_000_000n + BigInt(i)} 0\n`),
    Buffer.from(`POST /item/${i} HTTP/1.1\r\nHost: example\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
    SEPARATOR,
  ]);
}

export async function stop(peer: Peer): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (peer.child.exitCode === null && peer.child.signalCode === null) peer.child.kill('SIGTERM');
  return peer.exited;
}
