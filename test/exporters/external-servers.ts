/**
 * Starts the real Debian servers the exporter tests talk to (prometheus, influxd) on loopback, with generated
 * configs, ephemeral ports and temp dirs. Startup is a bounded poll (20 s); `stop()` kills the process by its
 * pid and removes the temp dir.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ExternalServer {
  readonly url: string;
  readonly log: () => string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago: listen on 0, read it, close. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` every 100 ms until it returns a value, for at most `timeoutMs`. */
export async function pollUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

function launch(command: string, args: string[], dir: string, url: string, ready: string): Promise<ExternalServer> {
  let output = '';
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  });
  child.stderr!.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  });
  let exited = false;
  const closed = new Promise<void>((resolve) =>
    child.on('close', () => {
      exited = true;
      resolve();
    }),
  );
  const server: ExternalServer = {
    url,
    log: () => output,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await closed;
      clearTimeout(killer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return pollUntil(`${command} at ${url}${ready}`, async () => {
    if (exited) throw new Error(`${command} exited:\n${output}`);
    const res = await fetch(`${url}${ready}`);
    return res.ok ? server : undefined;
  }).catch(async (err) => {
    await server.stop();
    throw err;
  });
}

/** Prometheus scraping `targets` (host:port) every 500 ms. */
export async function startPrometheus(targets: string[]): Promise<ExternalServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tapline-prometheus-'));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 500ms',
      '  scrape_timeout: 400ms',
      'scrape_configs:',
      '  - job_name: tapline',
      `    static_configs: [{ targets: [${targets.map((t) => `'${t}'`).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  return launch(
    '/usr/bin/prometheus',
    [
      `--config.file=${config}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--log.level=warn',
    ],
    dir,
    `http://127.0.0.1:${port}`,
    '/-/ready',
  );
}

/** Runs a PromQL instant query; returns the result vector. */
export async function promQuery(
  prometheus: ExternalServer,
  query: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; data: { result: never[] }; error?: string };
  if (body.status !== 'success') throw new Error(`prometheus query ${query}: ${body.error}`);
  return body.data.result;
}

/** InfluxDB 1.x with its HTTP API and RPC bind on ephemeral loopback ports, data in a temp dir. */
export async function startInfluxdb(): Promise<ExternalServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tapline-influxdb-'));
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  const config = join(dir, 'influxdb.conf');
  writeFileSync(
    config,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${httpPort}"`,
      '  log-enabled = false',
      '[continuous_queries]',
      '  enabled = false',
      '',
    ].join('\n'),
  );
  return launch('/usr/bin/influxd', ['-config', config], dir, `http://127.0.0.1:${httpPort}`, '/ping');
}

/** An InfluxQL query against `db`; returns the first series' columns and values. */
export async function influxQuery(
  influx: ExternalServer,
  db: string,
  q: string,
): Promise<{ columns: string[]; values: unknown[][] }[]> {
  const res = await fetch(`${influx.url}/query?db=${encodeURIComponent(db)}&q=${encodeURIComponent(q)}`);
  const body = (await res.json()) as {
    results: { series?: { columns: string[]; values: unknown[][] }[]; error?: string }[];
  };
  const first = body.results[0];
  if (first?.error) throw new Error(`influx query ${q}: ${first.error}`);
  return first?.series ?? [];
}

/** Answers 200 and writes 64 KiB chunks for as long as the client reads (at most 1 GiB), as a hostile receiver. */
export function endless(res: import('node:http').ServerResponse): void {
  const chunk = Buffer.alloc(64 * 1024, 0x78);
  let sent = 0;
  res.writeHead(200, { 'content-type': 'text/plain' });
  const pump = () => {
    while (!res.destroyed && sent < 1 << 30 && res.write(chunk)) sent += chunk.length;
  };
  res.on('drain', pump);
  res.on('error', () => {});
  pump();
}
