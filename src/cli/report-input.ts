/**
 * Feeds the files of `tapline report` into analytics: `.gor` (and `.gor.gz`) through the record reader,
 * pcap and pcapng through the capture engine (the same raw input `--input-raw FILE:PORTS` runs, with
 * responses tracked). A file is recognised by its first bytes, not its name.
 *
 *   file ─▶ [gunzip] ─▶ GorRecordReader ─┐
 *   pcap ─▶ rawInput (pcap_file engine) ─┴─▶ analytics.observe(msg)     progress() ◀─ status line
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Analytics } from '../analytics/index.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { describeProblem, GorRecordReader, type RecordProblem } from '../core/gor-format.js';
import type { Logger } from '../core/log.js';
import { parseRawAddress } from '../inputs/raw/address.js';
import { RAW_INPUT_DEFAULTS, rawInput } from '../inputs/raw/raw-input.js';
import { openFileSource } from '../inputs/raw/sources.js';

export type InputKind = 'gor' | 'gor.gz' | 'pcap';

export interface ReportProgress {
  records: number;
  bytesRead: number;
  bytesTotal: number;
}

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a]);

/** `dump.pcap:80,8080` names server ports; `x.gor` or `dump.pcap` a whole file. */
function splitPorts(spec: string): { path: string; ports: string } {
  const m = /^(.*\.(?:pcap|pcapng|cap)):([\d,]+)$/i.exec(spec);
  return m ? { path: m[1]!, ports: m[2]! } : { path: spec, ports: '' };
}

/** What a file holds, from its first 4 bytes. Throws FILE_IO naming the file when it cannot be read. */
export function inputKind(path: string): InputKind {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gor.gz';
    if (n === 4 && PCAP_MAGICS.has(head.readUInt32BE(0))) return 'pcap';
    return 'gor';
  } catch (err) {
    throw new TaplineError(ERROR_CODES.FILE_IO, `cannot read: ${(err as Error).message}`, { where: path, cause: err });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface FeedResult {
  /** Counters of the inputs, by name (records read, problems, capture counters). */
  inputs: Record<string, Record<string, number | string>>;
}

/** Reads every file into `analytics` in order, then finishes it. */
export async function feedFiles(
  specs: readonly string[],
  analytics: Analytics,
  log: Logger,
  progress: ReportProgress,
): Promise<FeedResult> {
  const kinds = specs.map((spec) => {
    const { path } = splitPorts(spec);
    return { spec, path, kind: inputKind(path), size: statSync(path).size };
  });
  progress.bytesTotal = kinds.reduce((n, k) => n + k.size, 0);
  const inputs: FeedResult['inputs'] = {};
  for (const k of kinds) {
    inputs[k.spec] =
      k.kind === 'pcap'
        ? await feedPcap(k.spec, analytics, log, progress)
        : await feedGor(k.path, k.kind === 'gor.gz', analytics, log, progress);
  }
  analytics.finish();
  return { inputs };
}

async function feedGor(
  path: string,
  gzip: boolean,
  analytics: Analytics,
  log: Logger,
  progress: ReportProgress,
): Promise<Record<string, number>> {
  const problems: RecordProblem[] = [];
  const reader = new GorRecordReader((p) => {
    if (problems.length < 5) log.warn(describeProblem(p, path).describe(), 'report:record');
    problems.push(p);
  });
  let records = 0;
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  raw.on('data', (chunk) => {
    progress.bytesRead += chunk.length;
  });
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const batch = reader.push(chunk);
      for (let i = 0; i < batch.length; i++) analytics.observe(batch[i]!);
      records += batch.length;
      progress.records += batch.length;
    }
    for (const r of reader.end()) {
      analytics.observe(r);
      records++;
    }
  } catch (err) {
    throw new TaplineError(ERROR_CODES.FILE_IO, `cannot read: ${(err as Error).message}`, { where: path, cause: err });
  } finally {
    raw.destroy();
  }
  return { records, bad_records: problems.length };
}

async function feedPcap(
  spec: string,
  analytics: Analytics,
  log: Logger,
  progress: ReportProgress,
): Promise<Record<string, number | string>> {
  const address = parseRawAddress(spec, true);
  const input = rawInput({
    ...RAW_INPUT_DEFAULTS,
    address,
    open: async () => openFileSource(address, log),
    log,
    name: `report(${spec})`,
  });
  let before = 0;
  for await (const batch of input.read()) {
    for (let i = 0; i < batch.length; i++) analytics.observe(batch[i]!);
    progress.records += batch.length;
    const read = Number(input.stats?.().file_bytes ?? 0);
    progress.bytesRead += read - before;
    before = read;
  }
  await input.close();
  return input.stats?.() ?? {};
}
