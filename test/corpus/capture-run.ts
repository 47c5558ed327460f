/**
 * Helpers for the corpus capture test: which server ports a capture's truth file names, a capture run
 * through the same plugins the CLI builds (`--input-raw-engine pcap_file --input-raw FILE:PORTS
 * --input-raw-track-response --output-file out.gor`), and the `.gor` output read back and parsed into the
 * facts the truth files record (method, URI, status, entity length).
 *
 * Running in-process skips only the CLI's process plumbing (argv, signals, exit code, the summary on
 * stderr): the flags go through the CLI's own parser and every flag's plugin is created and run through the
 * Pipeline exactly as `runPipelineArgs` does; the records are read back from the files the file output
 * wrote. One spawned CLI run in the test checks that the process path gives byte-identical files.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgv } from '../../src/cli/argv.js';
import { allFlags, buildPlugins } from '../../src/cli/main.js';
import { type GorRecord, GorRecordReader, type RecordProblem } from '../../src/core/gor-format.js';
import { memoryLogger } from '../../src/core/log.js';
import { Pipeline } from '../../src/core/pipeline.js';
import type { PluginContext } from '../../src/core/plugin.js';
import { dechunk } from '../../src/protocol/http1/dechunk.js';

// ───────────────────────────── truth ─────────────────────────────

/** One HTTP message of a truth file (the fields this test uses). */
export interface TruthMessage {
  frame: number;
  tcp_stream: number;
  src: string;
  dst: string;
  proto: 'HTTP/1' | 'HTTP/2';
  method?: string;
  uri?: string;
  version?: string;
  status?: number;
  body_bytes: number;
  content_length: number | null;
  transfer_encoding: string | null;
  request_frame?: number | null;
}

export interface Truth {
  file: string;
  caveats?: string;
  counts: { http1_requests: number; http1_responses: number; http2_requests: number; http2_responses: number };
  requests: TruthMessage[];
  responses: TruthMessage[];
}

export function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

/**
 * The server port(s) of a capture, from its truth: destination ports of HTTP/1 requests and source ports of
 * HTTP/1 responses (a response may be captured without its request); a capture with HTTP/2 only gets the
 * ports of its HTTP/2 requests, so tapline listens where that traffic is and must find no HTTP/1 in it.
 */
export function serverPorts(truth: Truth): number[] {
  const ports = new Set<number>();
  for (const r of truth.requests) if (r.proto === 'HTTP/1') ports.add(portOf(r.dst));
  for (const r of truth.responses) if (r.proto === 'HTTP/1') ports.add(portOf(r.src));
  if (ports.size === 0) {
    for (const r of truth.requests) ports.add(portOf(r.dst));
    for (const r of truth.responses) ports.add(portOf(r.src));
  }
  return [...ports].sort((a, b) => a - b);
}

// ───────────────────────────── running a capture ─────────────────────────────

export function captureArgs(file: string, ports: readonly number[], out: string): string[] {
  return [
    '--input-raw-engine',
    'pcap_file',
    '--input-raw',
    `${file}:${ports.join(',')}`,
    '--input-raw-track-response',
    '--output-file',
    out,
  ];
}

export interface CaptureRun {
  records: GorRecord[];
  /** The `.gor` files written, in chunk order, and their bytes. */
  files: { name: string; bytes: Buffer }[];
  /** The raw input's counters (`--input-raw-stats`). */
  stats: Record<string, number | string>;
  problems: RecordProblem[];
  log: string[];
}

/** The CLI's own plugin construction and pipeline, in-process, for the flags given. */
async function runPipeline(argv: readonly string[]) {
  const { flags } = parseArgv(argv, allFlags());
  const log = memoryLogger();
  const ctx: PluginContext = { log, signal: new AbortController().signal };
  const { inputs, outputs } = await buildPlugins(flags, ctx);
  const summary = await new Pipeline({ inputs, outputs, log }).run();
  return { summary, log: log.lines };
}

/** `out.gor` with chunking (gor's default) becomes out_0.gor, out_1.gor…: every chunk, by index. */
export function readChunks(dir: string): { name: string; bytes: Buffer }[] {
  const index = (name: string) => Number(/_(\d+)\.gor$/.exec(name)?.[1] ?? -1);
  return readdirSync(dir)
    .filter((n) => n.endsWith('.gor'))
    .sort((a, b) => index(a) - index(b))
    .map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
}

export function readRecords(files: readonly { bytes: Buffer }[]): { records: GorRecord[]; problems: RecordProblem[] } {
  const problems: RecordProblem[] = [];
  const records: GorRecord[] = [];
  for (const f of files) {
    const reader = new GorRecordReader((p) => problems.push(p));
    records.push(...reader.push(f.bytes), ...reader.end());
  }
  return { records, problems };
}

export async function runCapture(file: string, ports: readonly number[]): Promise<CaptureRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tapline-corpus-'));
  try {
    const { summary, log } = await runPipeline(captureArgs(file, ports, join(dir, 'out.gor')));
    if (summary.failures.length > 0) throw new Error(`capture failed: ${summary.failures.join('; ')}`);
    const files = readChunks(dir);
    const { records, problems } = readRecords(files);
    return { records, files, stats: summary.inputs[0]?.stats ?? {}, problems, log };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ───────────────────────────── parsing payloads ─────────────────────────────

export interface Parsed {
  type: '1' | '2';
  id: string;
  method?: string;
  uri?: string;
  status?: number;
  /** Entity length: after removing chunked framing, before content-decoding (the truth's `body_bytes`). */
  bodyBytes: number;
  /** Did the body framing say the message is complete (all Content-Length bytes, or the last chunk)? */
  complete: boolean;
}

function headerEnd(data: Buffer): { end: number; bodyAt: number } {
  const crlf = data.indexOf('\r\n\r\n');
  const lf = data.indexOf('\n\n');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { end: crlf, bodyAt: crlf + 4 };
  if (lf !== -1) return { end: lf, bodyAt: lf + 2 };
  return { end: data.length, bodyAt: data.length };
}

/**
 * A deliberately small HTTP/1 reader, independent of the splitter under test: start line, headers, and the
 * body as stored. Body length rules (RFC 9112 §6.3): no body for 1xx/204/304 responses; chunked → sum of chunk
 * sizes; else Content-Length; else what is there (a response read to connection close).
 */
export function parsePayload(type: string, id: string, data: Buffer): Parsed {
  if (type !== '1' && type !== '2') throw new Error(`unexpected record type ${type}`);
  const { end, bodyAt } = headerEnd(data);
  const head = data.subarray(0, end).toString('latin1');
  const lines = head.split(/\r?\n/);
  const start = lines[0] ?? '';
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const body = data.subarray(bodyAt);
  const out: Parsed = { type, id, bodyBytes: body.length, complete: true };
  if (type === '1') {
    const m = /^(\S+) (\S+) HTTP\/\d\.\d$/.exec(start);
    if (!m) throw new Error(`not a request line: ${JSON.stringify(start)}`);
    out.method = m[1]!;
    out.uri = m[2]!;
  } else {
    const m = /^HTTP\/\d\.\d (\d{3})(?: |$)/.exec(start);
    if (!m) throw new Error(`not a status line: ${JSON.stringify(start)}`);
    out.status = Number(m[1]);
    if (out.status < 200 || out.status === 204 || out.status === 304) {
      out.bodyBytes = 0;
      return out;
    }
  }
  const te = headers.get('transfer-encoding');
  const cl = headers.get('content-length');
  if (te !== undefined && /chunked\s*$/i.test(te)) {
    const d = dechunk(body);
    out.bodyBytes = d.data.length;
    out.complete = d.complete;
  } else if (cl !== undefined) {
    out.complete = body.length === Number(cl);
  }
  return out;
}

export function parseRecords(records: readonly GorRecord[]): Parsed[] {
  return records.map((r) => parsePayload(r.meta.type, r.meta.id, r.data));
}
