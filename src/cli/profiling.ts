/**
 * --cpuprofile, --memprofile and --http-pprof: V8's profiler and heap snapshots, the Node equivalents of
 * gor's Go pprof files. CPU profiles are `.cpuprofile` JSON (Chrome DevTools, speedscope); heap snapshots
 * are `.heapsnapshot` (Chrome DevTools → Memory).
 *
 *   GET /debug/vars                      live counters as JSON (gor serves expvar here)
 *   GET /debug/pprof/profile?seconds=N   CPU profile of the next N seconds (default 10, max 300)
 *   GET /debug/pprof/heap                heap snapshot, streamed
 */
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Session } from 'node:inspector';
import { resolve } from 'node:path';
import { getHeapSnapshot, writeHeapSnapshot } from 'node:v8';
import { listenOn } from '../analytics/export/listen.js';
import { sleep } from '../core/async.js';
import { describeError, ERROR_CODES, TaplineError } from '../core/errors.js';

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

/** Profiles the CPU from now until `stop()`, which returns the profile as JSON text. */
export async function startCpuProfile(): Promise<{ stop(): Promise<string> }> {
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.start');
  return {
    async stop() {
      const { profile } = await post<{ profile: unknown }>(session, 'Profiler.stop');
      session.disconnect();
      return JSON.stringify(profile);
    },
  };
}

/**
 * Checked before the run (gor creates its profile files at start): a path that cannot be written would
 * otherwise fail only after a run of hours. Opens for appending, so an existing file is not emptied yet.
 */
export function checkWritable(file: string, flag: string): void {
  try {
    closeSync(openSync(file, 'a'));
  } catch (cause) {
    throw new TaplineError(ERROR_CODES.FILE_IO, `cannot write ${file}: ${describeError(cause)}`, {
      where: `--${flag}`,
      cause,
    });
  }
}

/**
 * Both profile files, checked before the run: writable, and not one file for both (the heap snapshot, written
 * last, replaced the CPU profile without a word).
 */
export function checkProfileFiles(cpuFile: string, memFile: string): void {
  if (cpuFile && memFile && resolve(cpuFile) === resolve(memFile)) {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `${memFile} is also --cpuprofile's file: the heap snapshot would replace the CPU profile; give each its own file`,
      { where: '--memprofile' },
    );
  }
  if (cpuFile) checkWritable(cpuFile, 'cpuprofile');
  if (memFile) checkWritable(memFile, 'memprofile');
}

export async function writeCpuProfile(file: string, json: string): Promise<void> {
  try {
    writeFileSync(file, json);
  } catch (cause) {
    throw new TaplineError(ERROR_CODES.FILE_IO, `cannot write the CPU profile: ${describeError(cause)}`, {
      where: file,
      cause,
    });
  }
}

export function writeHeapProfile(file: string): void {
  try {
    writeHeapSnapshot(file);
  } catch (cause) {
    throw new TaplineError(ERROR_CODES.FILE_IO, `cannot write the heap snapshot: ${describeError(cause)}`, {
      where: file,
      cause,
    });
  }
}

/** Parses gor-style listen addresses: `:8181` (loopback here), `host:port`, `[::1]:port`. */
export function parseListenAddress(address: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    const why = m ? `port ${m[3]} is above 65535` : 'expected host:port or :port';
    throw new TaplineError(ERROR_CODES.USAGE, `${why}, got ${JSON.stringify(address)}`, { where: `--${flag}` });
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '127.0.0.1' : host, port };
}

export async function startDebugServer(address: string, vars: () => unknown): Promise<{ server: Server; url: string }> {
  const { host, port } = parseListenAddress(address, 'http-pprof');
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    try {
      if (url.pathname === '/debug/vars') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(vars(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
      } else if (url.pathname === '/debug/pprof/profile') {
        const seconds = Math.min(300, Math.max(0.1, Number(url.searchParams.get('seconds') ?? '10') || 10));
        const profiler = await startCpuProfile();
        await sleep(seconds * 1000);
        const json = await profiler.stop();
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-disposition': 'attachment; filename="tapline.cpuprofile"',
        });
        res.end(json);
      } else if (url.pathname === '/debug/pprof/heap') {
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-disposition': 'attachment; filename="tapline.heapsnapshot"',
        });
        getHeapSnapshot().pipe(res);
      } else if (url.pathname === '/debug/pprof/' || url.pathname === '/debug/pprof') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('profile?seconds=N  CPU profile (.cpuprofile)\nheap               heap snapshot (.heapsnapshot)\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('try /debug/vars, /debug/pprof/profile?seconds=10, /debug/pprof/heap\n');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${(err as Error).message}\n`);
    }
  });
  // Said as --metrics and --dashboard say it: 'cannot listen on 127.0.0.1:9464' gave no reason.
  await listenOn(server, { host, port }, 'http-pprof');
  server.unref();
  const bound = server.address();
  const shown =
    typeof bound === 'object' && bound
      ? `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`
      : address;
  return { server, url: `http://${shown}` };
}
