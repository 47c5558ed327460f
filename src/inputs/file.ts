/**
 * `--input-file PATH|SPEED`: replays `.gor` files with their original timing (spec §5.3–5.4).
 *
 *   glob ─▶ FileSource per file (streamed, read-ahead window re-sorted by timestamp)
 *        ─▶ merge: smallest head timestamp first (ties: earlier file in glob order)
 *        ─▶ GorWaits (gor's wait rules) ─▶ ReplayClock (absolute schedule) ─▶ batches of due records
 *
 * Differences from gor (docs/compat.md): a pattern that matches nothing is an error instead of an idle
 * process; the schedule is absolute, so pacing does not drift; records with a non-numeric timestamp are
 * emitted in place without waiting (gor reads them as 0); `|max` replays as fast as the outputs take it;
 * `--input-file-read-depth` below 1 is refused (gor hangs); the dry-run report ends the input.
 */
import { existsSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isatty } from 'node:tty';
import { sleep } from '../core/async.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { describeProblem, type GorRecord, messageKey, metaLength, SEPARATOR } from '../core/gor-format.js';
import { createLogger, type Logger } from '../core/log.js';
import type { Message } from '../core/message.js';
import type { Batch, Input, RawRun } from '../core/plugin.js';
import { type InputPluginDef, limitInput } from '../core/registry.js';
import { formatGoDuration, formatGoDurationNs, type Limit, namesOf } from '../core/values.js';
import { isS3Address, refuseMistypedS3Address } from '../storage/s3-address.js';
import { formatDryRunReport } from './file-dry-run.js';
import { fileInputDecl } from './file-flags.js';
import { GlobPatternError, globSync, hasGlobMeta, validateGlob } from './file-glob.js';
import { MinHeap } from './file-heap.js';
import { fileIdentity, isBeingWritten, startReading, wasWritten, watchOwnOutputs } from './file-in-use.js';
import { mapFaults } from './file-map.js';
import { describeReadError, FileSource, HandlePool, type SourceHooks } from './file-source.js';
import { describeStreamKind, descriptorNamed, type StreamKind, streamKindOf } from './file-stream.js';
import { GorWaits, ReplayClock } from './file-timing.js';

export interface FileInputOptions {
  /** Paths or globs (`*`, `?`, `[...]`); every match is opened and all are merged by timestamp. */
  patterns: readonly string[];
  /** 1 = original pace (default), 2 = twice as fast, Infinity = no waiting at all. */
  speed?: number;
  /** Start over when every file is replayed (re-globbing), until close(). */
  loop?: boolean;
  /** Records read ahead per file and re-sorted by timestamp (default 100). */
  readDepth?: number;
  /** Read everything, emit nothing, then print gor's summary through `report`. */
  dryRun?: boolean;
  /** Longest single wait, after the speed factor; 0 = no cap. */
  maxWaitMs?: number;
  log?: Logger;
  /** Where the dry-run report goes (default: stdout). */
  report?: (text: string) => void;
  name?: string;
  /** Files open at once (default 64); a bigger glob reopens files when their turn comes. */
  maxOpenFiles?: number;
  /** Stop when this signal aborts (like close()). */
  signal?: AbortSignal;
}

export interface FileInputStats {
  [key: string]: number;
  records: number;
  /** Σ len(meta line + LF + payload) of the records read (gor's "Bytes processed"). */
  bytes: number;
  /** Records skipped as malformed (each one warned about with its file, record number and offset). */
  skipped: number;
  /** Last records of a file without a separator (read anyway). */
  unterminated: number;
  /** Files with Windows line endings (read anyway). */
  crlf: number;
  /** CRLF record separators read as payload (records of LF meta lines): each may hide a record inside another. */
  merged: number;
  /** Records with a timestamp earlier than the one before (emitted at once). */
  negative_wait: number;
  /** Records whose timestamp is not a number (emitted at once). */
  bad_timestamp: number;
  /** Files matched in the current pass. */
  files: number;
  /** Files that could not be read to the end. */
  file_errors: number;
  /** Bytes read from disk in the current pass (compressed bytes for .gz), for progress. */
  bytes_read: number;
  /** Σ file sizes of the current pass (compressed sizes for .gz). */
  bytes_total: number;
  /** Passes started (more than 1 with --input-file-loop). */
  passes: number;
}

interface MatchedFile {
  path: string;
  size: number;
  identity: string | undefined;
  /** Identity, size and mtime: the same while the file is unchanged (undefined when it is no regular file). */
  version: string | undefined;
  /** Not a regular file: a pipe, FIFO, socket or device, read once and in order (file-stream.ts). */
  stream: StreamKind | undefined;
}

const MAX_BATCH = 1024;
/** A wait for the next record at least this long is said (file.ts announceLongWait). */
const LONG_WAIT_MS = 10_000;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Records in a row sent at once for going back in time, before it is said (file.ts watchBackInTime). */
const BACK_IN_TIME_RUN = 100;
const PRIME_CONCURRENCY = 16;
/** How long the merge waits for a pipe's records, while other files have theirs waiting, before it says why. */
export const fileInputLimits = { pipeStallMs: 5_000 };

export function fileInput(options: FileInputOptions): Input {
  const patterns = [...options.patterns];
  if (patterns.length === 0) throw new TaplineError(ERROR_CODES.USAGE, 'no file given', { where: '--input-file' });
  const speed = options.speed ?? 1;
  if (!(speed > 0)) {
    throw new TaplineError(ERROR_CODES.USAGE, `speed must be above 0% (got ${speed * 100}%)`, {
      where: '--input-file',
    });
  }
  const readDepth = options.readDepth ?? 100;
  if (!Number.isInteger(readDepth) || readDepth < 1) {
    throw new TaplineError(ERROR_CODES.USAGE, `must be a whole number of records, at least 1 (got ${readDepth})`, {
      where: '--input-file-read-depth',
    });
  }
  for (const p of patterns) {
    try {
      validateGlob(p);
    } catch (err) {
      if (err instanceof GlobPatternError)
        throw new TaplineError(ERROR_CODES.USAGE, err.message, { where: '--input-file' });
    }
  }
  const maxWaitNs = BigInt(Math.max(0, Math.round((options.maxWaitMs ?? 0) * 1e6)));
  const log = options.log ?? createLogger();
  const name = options.name ?? `input-file(${patterns.join(', ')})`;
  const dryRun = options.dryRun ?? false;
  const loop = (options.loop ?? false) && !dryRun;
  if (options.loop && dryRun) log.warn(`${name}: --input-file-loop is ignored with --input-file-dry-run`);
  if (loop) refuseLoopOverStreams(patterns);
  const unclaim = claimStreams(patterns);
  // Passes after the first must not read what this run's outputs wrote meanwhile (file-in-use.ts).
  const unwatch = loop ? watchOwnOutputs() : undefined;
  const report = options.report ?? ((text: string) => void process.stdout.write(text));

  const stop = new AbortController();
  options.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  let pool: HandlePool | undefined;
  let sources: FileSource[] = [];
  let started = false;
  const stats: FileInputStats = {
    records: 0,
    bytes: 0,
    skipped: 0,
    unterminated: 0,
    crlf: 0,
    merged: 0,
    negative_wait: 0,
    bad_timestamp: 0,
    files: 0,
    file_errors: 0,
    bytes_read: 0,
    bytes_total: 0,
    passes: 0,
  };
  const waits = new GorWaits({ speed, maxWaitNs });
  /**
   * --input-file-loop reads an unchanged file's bad records again on every pass: their warnings were given on
   * the first pass, so later passes count them (skipped, file_errors, …) without saying them again, and the
   * end of the first such pass says so once. A file is unchanged while its identity, size and mtime are.
   * A read error is kept quiet only when an earlier pass met the same one at the same byte: one that comes from
   * the machine, not the file (too many open files, an I/O error), was said in full whichever pass met it.
   */
  const readBefore = new Set<string>();
  const versionOf = new WeakMap<FileSource, string>();
  /** The read errors said, by file version: "code@where". */
  const readErrorsSaid = new Map<string, Set<string>>();
  const repeats = new WeakSet<FileSource>();
  let repeated = 0;
  let repeatSaid = false;
  const quietRepeat = (source: FileSource): boolean => {
    if (!repeats.has(source)) return false;
    repeated++;
    return true;
  };
  /** The record is passed on (as gor does), so this is a warning, not an error. */
  const warnBadTimestamp = (source: FileSource, rec: GorRecord) =>
    quietRepeat(source) ||
    log.warn(
      `${source.path}: record ${rec.record} (byte ${rec.offset}): the meta line's timestamp is not a ` +
        'number: is this a .gor file? (passed on in place and not paced; gor would read it as 0)',
      'input-file:timestamp',
    );

  /**
   * A gap in the recording that makes the replay wait long (3 days between two records at 100%) looked like a
   * hang: the records so far were sent, then nothing, with no word. Said when the wait is LONG_WAIT_MS or more.
   */
  const announceLongWait = (source: FileSource, rec: GorRecord, ms: number, wait: bigint) => {
    if (!(ms >= LONG_WAIT_MS)) return;
    const at = new Date(Date.now() + ms).toISOString().replace(/\.\d+Z$/, 'Z');
    const pace = `${Number((speed * 100).toPrecision(6))}%`;
    const capped = maxWaitNs > 0n && wait >= maxWaitNs;
    log.warn(
      `${name}: waiting ${formatGoDuration(Math.round(ms / 1000) * 1000)} (until ${at}) for record ` +
        `${rec.record} of ${source.path}: the recording has a gap before it, replayed at ${pace}` +
        (capped
          ? ', the wait capped by --input-file-max-wait; a smaller cap shortens it, |max does not wait'
          : '; --input-file-max-wait caps a gap, a higher speed (|200%) shortens it, |max does not wait'),
      'input-file:long-wait',
    );
  };

  /**
   * A timed replay sends a record whose timestamp is earlier than the last one waited for at once (gor's rule),
   * so a recording that goes back in time (files joined out of order: `cat b.gor a.gor`) is sent as a burst
   * until its timestamps pass where they were, with no word but the summary's 'negative wait'. A straggler now
   * and then is normal; BACK_IN_TIME_RUN in a row are said, once.
   */
  let backRun = 0;
  let backFirst = '';
  let backSaid = false;
  const watchBackInTime = (source: FileSource, rec: GorRecord, negativeBefore: number, lastBefore: bigint) => {
    if (waits.negative === negativeBefore) {
      backRun = 0;
      return;
    }
    if (backRun++ === 0) {
      const back = formatGoDurationNs(lastBefore - rec.meta.timestampNs);
      backFirst = `record ${rec.record} (byte ${rec.offset}) of ${source.path}, ${back} before the one sent last`;
    }
    if (backRun < BACK_IN_TIME_RUN || backSaid) return;
    backSaid = true;
    log.warn(
      `${name}: the recording goes back in time at ${backFirst}, further than --input-file-read-depth ` +
        `(${readDepth} records) re-sorts: ${backRun} records in a row so far are sent at once, without their ` +
        'gaps, until the timestamps pass where they were, as gor does (counted as negative wait). Files joined ' +
        'out of order? A glob of them (--input-file "part-*.gor") is merged by timestamp',
      'input-file:back-in-time',
    );
  };

  /**
   * Pipes and FIFOs a glob matches are merged by timestamp with the other files, so they are read together: a
   * writer that fills one before it opens the next (`cat a > f1.gor; cat b > f2.gor`) waits for tapline while
   * tapline waits for the next one, as in gor, and the run sat silent forever with 0 messages. `work` waits
   * for records of the pipes `stalled()` gives; when it has waited fileInputLimits.pipeStallMs while files of
   * `ready()` have records waiting, it is said, once a run (it goes on waiting: a slow writer is no mistake).
   */
  let stallSaid = false;
  const watchStall = async (
    work: Promise<void>,
    stalled: () => FileSource[],
    ready: () => FileSource[],
  ): Promise<void> => {
    if (stallSaid) return work;
    const ms = fileInputLimits.pipeStallMs;
    const timer = setInterval(() => {
      const pipes = stalled();
      if (pipes.length === 0 || stallSaid) return;
      const others = ready().filter((s) => !pipes.includes(s));
      if (others.length === 0) return;
      stallSaid = true;
      clearInterval(timer);
      const first = pipes.every((s) => s.parsedRecords === 0) ? 'first' : 'next';
      const many = others.length > 1 ? 'have' : 'has';
      const [waitedFor, waiting] = [pipes, others].map((list) => namesOf(list.map((s) => s.path)));
      log.warn(
        `${name}: waited ${formatGoDuration(ms)} for the ${first} records of ${waitedFor} (not a regular ` +
          `file: read as it is written) while ${waiting} ${many} records waiting: the files a glob ` +
          'matches are merged by timestamp, so pipes and FIFOs among them are read together, and a writer that ' +
          'fills one before it opens the next (cat a.gor > f1.gor; cat b.gor > f2.gor) waits for tapline while ' +
          'tapline waits for it, as in gor. Write them at the same time, join them into one stream (cat f1.gor ' +
          'f2.gor | tapline --input-file /dev/stdin: read in that order, not merged), or read each in a run of ' +
          'its own; still waiting (a writer that is only slow is no mistake)',
        'input-file:pipe-stall',
      );
    }, ms);
    timer.unref();
    try {
      await work;
    } finally {
      clearInterval(timer);
    }
  };

  const mergedSaid = new WeakSet<FileSource>();
  const hooks: SourceHooks = {
    problem(p, source) {
      if (p.kind === 'unterminated') stats.unterminated++;
      else if (p.kind === 'crlf') stats.crlf++;
      else if (p.kind === 'merged') {
        stats.merged++;
        // Said once a file: a tool that wrote every separator so would give one warning a record.
        if (mergedSaid.has(source)) return;
        mergedSaid.add(source);
        p = { ...p, message: `${p.message} (more in this file are counted only: 'merged' in the summary)` };
      } else if (p.skipped) stats.skipped++;
      if (quietRepeat(source)) return;
      let problem = describeProblem(p, source.path);
      if (source.startsLikeGzip && p.record === 1) {
        // A pipe has no name to change (gor too decompresses by the name only).
        // Nor has standard input redirected from a file (`< x.gor.gz`).
        const piped = source.sequential || descriptorNamed(source.path) !== undefined;
        const fix = piped ? 'decompress it first (zcat … |)' : 'name it *.gz';
        const hint = `${problem.message}; the file starts like gzip data: ${fix}`;
        problem = new TaplineError(problem.code, hint, { where: problem.where ?? source.path });
      }
      log.warn(problem.describe(), `input-file:${p.kind}`);
    },
    readError(err, source, dropped) {
      if (stop.signal.aborted) return; // close() cut the read short: not a problem of the file
      stats.file_errors++;
      const version = versionOf.get(source);
      const what = `${(err as NodeJS.ErrnoException).code ?? String(err)}@${source.readErrorAt}`;
      if (version !== undefined && readErrorsSaid.get(version)?.has(what)) {
        if (quietRepeat(source)) return;
      } else if (version !== undefined) {
        const said = readErrorsSaid.get(version) ?? new Set<string>();
        said.add(what);
        readErrorsSaid.set(version, said);
      }
      const tail = dropped > 0 ? `; the ${dropped} bytes of an incomplete record after them are dropped` : '';
      // Nothing read at all (not gzip data, a pcap given by mistake): no count of records to give.
      const text =
        source.parsedRecords === 0 && dropped === 0
          ? `cannot read: ${describeReadError(err, source.gzip)}`
          : `cannot read to the end: ${describeReadError(err, source.gzip)} (at ${source.readErrorAt}); ` +
            `the ${source.parsedRecords} records ` +
            `before the error are passed on${tail}`;
      const error = new TaplineError(ERROR_CODES.FILE_IO, text, { where: source.path, cause: err });
      log.warn(error.describe(), 'input-file:read');
    },
    rawBytes(n) {
      stats.bytes_read += n;
    },
  };

  /** Every file of every pattern, in order; a pattern that matches nothing is an error. */
  const expand = async (): Promise<MatchedFile[]> => {
    const seen = new Set<string>();
    const out: MatchedFile[] = [];
    for (const pattern of patterns) {
      const matches = globSync(pattern);
      if (matches.length === 0) {
        const what = hasGlobMeta(pattern)
          ? `no file matches ${JSON.stringify(pattern)}${literalNameHint(pattern)}`
          : pattern === '-'
            ? 'file not found: - (neither gor nor tapline reads "-" as stdin: write --input-file /dev/stdin)'
            : `file not found: ${pattern}`;
        // A later pass of --input-file-loop: the files were there and have gone (moved, deleted, rotated away).
        const when =
          stats.passes > 0
            ? ` any more: pass ${stats.passes + 1} of --input-file-loop found nothing where pass ` +
              `${stats.passes} read ${stats.files === 1 ? '1 file' : `${stats.files} files`}`
            : '';
        throw new TaplineError(ERROR_CODES.FILE_IO, `${what}${when}`, { where: '--input-file' });
      }
      for (const path of matches) {
        if (seen.has(path)) continue;
        seen.add(path);
        const info = await stat(path, { bigint: true }).then(
          (s) => s,
          () => undefined,
        );
        // A directory named on its own is a mistake about what the flag takes (tcpdump -r says so too); one a
        // glob matches is read like any match, so its failure is warned about and counted (file_errors).
        if (info?.isDirectory() && !hasGlobMeta(pattern)) {
          const example = JSON.stringify(`${pattern.replace(/\/+$/, '')}/*.gor`);
          throw new TaplineError(
            ERROR_CODES.FILE_IO,
            `${pattern} is a directory; name the files in it (e.g. ${example})`,
            {
              where: '--input-file',
            },
          );
        }
        const identity = info?.isFile() ? fileIdentity(info) : undefined;
        if (identity !== undefined && isBeingWritten(identity)) {
          // A glob read again by --input-file-loop now matches a file an --output-file is writing.
          throw new TaplineError(
            ERROR_CODES.FILE_IO,
            `${path} is the file --output-file is writing: reading it would read the run's own output back, ` +
              'without end; read from another file',
            { where: '--input-file' },
          );
        }
        if (identity !== undefined && wasWritten(identity, info!.birthtimeNs)) {
          // A chunk this run's --output-file wrote and closed since the last pass (gor reads it).
          throw new TaplineError(
            ERROR_CODES.FILE_IO,
            `${path} was written by this run's --output-file: pass ${stats.passes + 1} of --input-file-loop ` +
              "would replay the run's own output, and each later pass everything written so far; keep " +
              `the --output-file out of what ${JSON.stringify(pattern)} matches`,
            { where: '--input-file' },
          );
        }
        const version = identity === undefined ? undefined : `${identity}:${info!.size}:${info!.mtimeNs}`;
        const stream = info === undefined ? undefined : streamKindOf(info);
        if (stream !== undefined && loop) throw loopOverStream(path, stream);
        const fd = stream === 'device' && stats.passes === 0 ? descriptorNamed(path) : undefined;
        if (fd !== undefined && isatty(fd)) {
          // `tapline --input-file /dev/stdin` typed without a pipe waited in silence for the keyboard.
          log.warn(
            `${name}: ${path} is the terminal: .gor records are read from what is typed, until Ctrl-D ` +
              '(to read a recording: --input-file FILE, or pipe it in: zcat x.gor.gz | tapline --input-file /dev/stdin)',
            'input-file:terminal',
          );
        }
        out.push({ path, size: info?.isFile() ? Number(info.size) : 0, identity, version, stream });
      }
    }
    return out;
  };

  /** The files of the pass being read (file-in-use.ts: an --output-file refuses to write them). */
  let readingDone: (() => void)[] = [];
  const release = () => {
    for (const done of readingDone) done();
    readingDone = [];
    for (const s of sources) s.destroy();
    sources = [];
    pool?.closeAll();
    pool = undefined;
  };

  /** `runs`: the pipeline takes raw runs; the last (or only) file at `|max` then hands them over. */
  async function* replay(runs: boolean): AsyncGenerator<Batch | RawRun> {
    const clock = new ReplayClock();
    const timed = speed !== Number.POSITIVE_INFINITY;
    const rawRuns = runs && !timed && !dryRun;
    const countKey = (key: number) => void waits.count(key);
    const countKeys = (keys: Float64Array, from: number, to: number) => waits.countRange(keys, from, to);
    for (;;) {
      if (stop.signal.aborted) return;
      const files = await expand();
      for (const f of files) if (f.identity !== undefined) readingDone.push(startReading(f.identity));
      stats.passes++;
      stats.files = files.length;
      stats.bytes_read = 0;
      // A pipe's size is not known: so is the total (a progress line then gives no share done nor ETA).
      const sized = files.every((f) => f.stream === undefined);
      stats.bytes_total = sized ? files.reduce((n, f) => n + f.size, 0) : 0;
      pool = new HandlePool(options.maxOpenFiles ?? 64);
      const passPool = pool;
      // Mapped windows (file-map.ts) only at |max: records then leave the input moments after they are
      // parsed, so a truncation of the file by another process can reach few of them.
      const map = !timed && !dryRun;
      sources = files.map((f, i) => new FileSource(f.path, i, readDepth, passPool, hooks, f.size, map));
      if (rawRuns) for (const s of sources) s.enableRuns();
      for (const [i, f] of files.entries()) if (f.stream !== undefined) sources[i]!.readSequentially(f.stream);
      files.forEach((f, i) => {
        if (f.version === undefined) return;
        versionOf.set(sources[i]!, `${f.path}\0${f.version}`);
        if (readBefore.has(`${f.path}\0${f.version}`)) repeats.add(sources[i]!);
        else readBefore.add(`${f.path}\0${f.version}`);
      });
      const repeatedBefore = repeated;
      const streams = sources.filter((s) => s.sequential);
      const priming = fillAll(sources);
      if (streams.length === 0) await priming;
      else
        await watchStall(
          priming,
          () => streams.filter((s) => s.needsFill),
          () => sources.filter((s) => s.waiting > 0),
        );
      const merge = new MinHeap<FileSource>((a, b) => {
        const ka = a.headKey();
        const kb = b.headKey();
        return ka < kb || (ka === kb && a.index < b.index);
      });
      for (const s of sources) if (s.head()) merge.push(s);
      /** After take(): the top source's next record read, and its place in the merge set. */
      const refill = async (source: FileSource) => {
        if (source.needsFill && source.sequential && merge.size > 1) {
          const others = () => sources.filter((s) => s !== source && s.waiting > 0);
          await watchStall(source.fill(), () => (source.needsFill ? [source] : []), others);
        } else if (source.needsFill) await source.fill();
        if (source.head()) merge.updateTop();
        else {
          merge.pop();
          source.destroy();
        }
      };
      waits.restart();
      clock.restart();
      const passStart = stats.records;
      let batch: Message[] = [];
      let batchBytes = 0;
      /** gor's "Bytes processed" for a record: meta line, LF, payload. */
      const recordBytes = (rec: GorRecord) => metaLength(rec) + 1 + rec.dataLength;
      const account = (rec: GorRecord, source: FileSource): bigint => {
        stats.records++;
        stats.bytes += recordBytes(rec);
        const bad = waits.badTimestamp;
        const negative = waits.negative;
        const last = waits.lastTimestamp;
        // |max needs no waits, only the counters: doubles, no BigInt per record. Timed replays and the
        // dry-run report use gor's exact int64 arithmetic.
        const wait =
          timed || dryRun
            ? waits.next(rec.meta.timestampNs, rec.meta.badTimestamp === true)
            : waits.count(messageKey(rec));
        if (waits.badTimestamp !== bad) warnBadTimestamp(source, rec);
        if (timed && !dryRun && last !== undefined) watchBackInTime(source, rec, negative, last);
        return wait;
      };
      while (merge.size > 0) {
        if (stop.signal.aborted) {
          // Records already taken and counted are passed on: a stop (--exit-after, SIGINT) loses nothing read.
          if (batch.length > 0) yield batch;
          return;
        }
        if (!timed && !dryRun && merge.size === 1) {
          // The last file at |max: nothing to merge or wait for, so a whole run of records goes to the batch,
          // until the window needs a read; or, when the pipeline takes them, a raw run (file-source.ts).
          const source = merge.peek()!;
          const run = rawRuns ? await source.takeRun() : undefined;
          if (stop.signal.aborted) {
            if (batch.length > 0) yield batch;
            return;
          }
          if (run !== undefined) {
            stats.records += run.count;
            stats.bytes += run.bytes - SEPARATOR.length * run.count;
            const bad = waits.badTimestamp;
            run.forEachKey(countKeys, countKey);
            if (waits.badTimestamp !== bad) {
              // Rare: find them again, to say which, as record by record does.
              for (const rec of run.records()) {
                if (Number.isNaN(messageKey(rec))) warnBadTimestamp(source, rec);
              }
            }
            if (batch.length > 0) {
              yield batch;
              batch = [];
              batchBytes = 0;
            }
            yield run;
            if (source.done) {
              merge.pop();
              source.destroy();
            }
            continue;
          }
          if (source.done) {
            merge.pop();
            source.destroy();
            continue;
          }
          do {
            const rec = source.take();
            account(rec, source);
            batch.push(rec);
            batchBytes += rec.dataLength;
          } while (
            !source.needsFill &&
            source.head() !== undefined &&
            batch.length < MAX_BATCH &&
            batchBytes < MAX_BATCH_BYTES
          );
          if (source.needsFill) {
            if (source.sequential && batch.length > 0) {
              // A pipe's next bytes may be long in coming (a slow writer): the records taken go on first.
              yield batch;
              batch = [];
              batchBytes = 0;
            }
            await source.fill();
          }
          if (!source.head()) {
            merge.pop();
            source.destroy();
          }
        } else {
          const source = merge.peek()!;
          const rec: GorRecord = source.take();
          // A pipe's next bytes may be long in coming (a slow writer): its record goes on before they are read.
          const later = source.sequential && source.needsFill;
          if (!later) await refill(source);
          const wait = account(rec, source);
          if (dryRun) {
            if (later) await refill(source);
            continue;
          }
          if (timed && wait > 0n && clock.advance(wait) > 0) {
            if (batch.length > 0) {
              yield batch;
              batch = [];
              batchBytes = 0;
            }
            announceLongWait(source, rec, clock.untilDue(), wait);
            for (let ms = clock.untilDue(); ms > 0 && !stop.signal.aborted; ms = clock.untilDue()) {
              await sleep(ms, stop.signal);
            }
            if (stop.signal.aborted) {
              // Stopped while waiting for it: this record was not due, so it is not sent, nor counted as read.
              stats.records--;
              stats.bytes -= recordBytes(rec);
              return;
            }
          }
          batch.push(rec);
          batchBytes += rec.dataLength;
          if (later) {
            yield batch;
            batch = [];
            batchBytes = 0;
            await refill(source);
          }
        }
        if (batch.length >= MAX_BATCH || batchBytes >= MAX_BATCH_BYTES) {
          yield batch;
          batch = [];
          batchBytes = 0;
        }
      }
      if (batch.length > 0) yield batch;
      release();
      if (repeated > repeatedBefore && !repeatSaid) {
        repeatSaid = true;
        log.warn(
          `${name}: pass ${stats.passes} of --input-file-loop met the ${repeated - repeatedBefore} problem(s) ` +
            'warned about above again (the files have not changed); later passes count them in the summary, ' +
            'which adds up every pass, without saying them again',
        );
      }
      if (dryRun) {
        report(formatDryRunReport({ records: stats.records, files: stats.files, bytes: stats.bytes, waits }));
        return;
      }
      // A pass cut short by stop() (--exit-after, a signal) is not an empty pass.
      if (!loop || stop.signal.aborted) return;
      if (stats.records === passStart) {
        log.warn(`${name}: no records in ${files.length} file(s); --input-file-loop stops`);
        return;
      }
    }
  }

  async function* readAll(runs: boolean): AsyncGenerator<Batch | RawRun> {
    if (started) throw new TaplineError(ERROR_CODES.INTERNAL, 'read() called twice', { where: name });
    started = true;
    let faults = mapFaults();
    try {
      for await (const batch of replay(runs)) {
        yield batch;
        if (mapFaults() !== faults) {
          // Records handed out before the cut was seen read zeros where their pages were (file-map.ts).
          faults = mapFaults();
          stats.file_errors++;
          log.warn(
            `${name}: a file was truncated by another process while it was replayed; records read from it ` +
              'just before the cut were handed on with zeros in place of the bytes it removed',
            'input-file:truncated',
          );
        }
      }
    } finally {
      release();
      unclaim();
    }
    if (stats.records === 0 && stats.skipped > 0 && !stop.signal.aborted) {
      throw new TaplineError(
        ERROR_CODES.BAD_RECORD,
        `not one readable .gor record: ${stats.skipped} skipped (see the warnings above)`,
      );
    }
    // As cat, gzip or tcpdump -r: everything readable was passed on, but the run did not read all it was given.
    if (stats.file_errors > 0) {
      const files = stats.file_errors === 1 ? '1 file' : `${stats.file_errors} files`;
      // No `where`: the pipeline names the input.
      throw new TaplineError(
        ERROR_CODES.FILE_IO,
        `${files} could not be read to the end (see the warnings above); what was read was passed on`,
      );
    }
  }

  const input: Input = {
    name,
    read: () => readAll(false) as AsyncGenerator<Batch>,
    readRuns: () => readAll(true),
    async close() {
      stop.abort();
      release();
      unwatch?.();
      unclaim();
    },
    // The wait counters live in GorWaits; copying them per record would cost more than reading them here.
    stats: () => ({ ...stats, negative_wait: waits.negative, bad_timestamp: waits.badTimestamp }),
  };
  return input;
}

/**
 * A pattern that matches nothing but is itself the name of a file (`a[1].gor`: `[1]` is a set of characters,
 * matching `a1.gor`): how to read that file. gor reads the pattern so too, and idles.
 */
function literalNameHint(pattern: string): string {
  if (!existsSync(pattern)) return '';
  const escaped = pattern.replace(/[*?[\\]/g, (c) => `\\${c}`);
  return (
    '; a file has that very name, but * ? [ and \\ are glob characters here (as in gor): to read it, escape ' +
    `them with \\ ('${escaped}')`
  );
}

/**
 * --input-file-loop reads every file again on each pass; a pipe, FIFO or socket gives its bytes once (a second
 * pass of gor finds it at its end, or waits for a new writer of a FIFO). Refused before anything is read, so the
 * user is told at once rather than after the first pass.
 */
function refuseLoopOverStreams(patterns: readonly string[]): void {
  for (const pattern of patterns) {
    for (const path of globSync(pattern)) {
      let kind: StreamKind | undefined;
      try {
        kind = streamKindOf(statSync(path));
      } catch {
        continue; // said when it is read
      }
      if (kind !== undefined) throw loopOverStream(path, kind);
    }
  }
}

/** Pipes, FIFOs, sockets and devices the --input-file inputs of this process read (`dev:ino` → path). */
const claimedStreams = new Map<string, string>();

/**
 * The same pipe named twice (`--input-file /dev/stdin --input-file /dev/fd/0`, a FIFO and a glob matching it)
 * would be read by two readers at once, each getting part of its bytes: records cut apart, in silence but for
 * malformed-record warnings. Refused (a usage error naming both); returns what releases the claim.
 */
function claimStreams(patterns: readonly string[]): () => void {
  const mine: string[] = [];
  const unclaim = () => {
    for (const key of mine.splice(0)) claimedStreams.delete(key);
  };
  for (const pattern of patterns) {
    for (const path of globSync(pattern)) {
      let key: string;
      let kind: StreamKind | undefined;
      try {
        const info = statSync(path);
        kind = streamKindOf(info);
        key = `${info.dev}:${info.ino}`;
      } catch {
        continue; // said when it is read
      }
      if (kind === undefined) continue;
      const other = claimedStreams.get(key);
      // Named by another input, or by this one under another name (the same path twice is read once).
      if (other !== undefined && (!mine.includes(key) || other !== path)) {
        unclaim();
        throw new TaplineError(
          ERROR_CODES.USAGE,
          `${path} is ${describeStreamKind(kind)} ${other === path ? 'named twice' : `that ${other} names too`}: ` +
            'two readers would each get part of its bytes; name it once',
          { where: '--input-file' },
        );
      }
      if (other === undefined) {
        claimedStreams.set(key, path);
        mine.push(key);
      }
    }
  }
  return unclaim;
}

function loopOverStream(path: string, kind: StreamKind): TaplineError {
  // A socket file on disk (not a descriptor such as /dev/stdin): it cannot be read at all, looped or not.
  if (kind === 'socket' && descriptorNamed(path) === undefined) {
    return new TaplineError(
      ERROR_CODES.USAGE,
      `${path} is a Unix socket file, which --input-file cannot read, looped or not: a socket is connected to, ` +
        `not opened. Save what the program listening on it sends first (e.g. socat -u UNIX-CONNECT:${path} - > ` +
        'rec.gor) and loop over that file',
      { where: '--input-file-loop' },
    );
  }
  return new TaplineError(
    ERROR_CODES.USAGE,
    `${path} is ${describeStreamKind(kind)}, not a file: it can be read only once, and --input-file-loop ` +
      'reads every file again on each pass; save it to a file first (e.g. cat > rec.gor) and loop over that, ' +
      'or leave out --input-file-loop',
    { where: '--input-file-loop' },
  );
}

/** Primes every file's window, a few files at a time. */
async function fillAll(sources: readonly FileSource[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < sources.length) await sources[next++]!.fill();
  };
  await Promise.all(Array.from({ length: Math.min(PRIME_CONCURRENCY, sources.length) }, worker));
}

/** `|200%` → 2, `|max` → Infinity, nothing → 1. */
export function speedFromLimit(limit: Limit): number {
  switch (limit.kind) {
    case 'percent':
      return limit.percent / 100;
    case 'max':
      return Number.POSITIVE_INFINITY;
    default:
      return 1;
  }
}

export const fileInputPlugin: InputPluginDef = {
  ...fileInputDecl,
  create(args) {
    const { address, limit, flags: f, ctx } = args;
    if (limit.kind === 'percent' && limit.percent === 0) {
      // gor divides each wait by the factor: 0 gives Inf or NaN, which Go on x86-64 converts to the least
      // int64, a negative wait, so no record waits.
      throw new TaplineError(
        ERROR_CODES.USAGE,
        'a speed of 0%: gor divides each wait by 0, which on x86-64 ends in no wait at all; |max is that here',
        { where: `--input-file ${address}|0%` },
      );
    }
    // s3://bucket/prefix*: objects listed, downloaded and replayed like files (docs/s3.md). Loaded on use: the
    // AWS SDK is slow to load.
    if (isS3Address(address)) return import('./s3.js').then((s3) => s3.s3InputFromArgs(args));
    refuseMistypedS3Address(address, '--input-file', existsSync);
    if (address === '') {
      // Usually a shell variable that was empty (`--input-file "$FILE"`): 'file not found: ' named nothing.
      throw new TaplineError(ERROR_CODES.USAGE, 'the file name is empty (an unset shell variable?)', {
        where: '--input-file',
      });
    }
    const input = fileInput({
      patterns: [address],
      speed: speedFromLimit(limit),
      loop: f.bool('input-file-loop'),
      readDepth: f.number('input-file-read-depth'),
      dryRun: f.bool('input-file-dry-run'),
      maxWaitMs: f.number('input-file-max-wait'),
      log: ctx.log,
      signal: ctx.signal,
      name: `input-file(${address})`,
    });
    // `|N` on input-file drops messages beyond N a second, as gor does (no slowdown).
    return limit.kind === 'rate' ? limitInput(input, limit, rateDropNotice(ctx.log, address, limit.perSecond)) : input;
  },
};

/**
 * `|200` on --input-file is gor's rate limit, not a speed: requests past 200 a second are dropped, not delayed.
 * Written for `|200%`, or `|0` for "no limit", it dropped most of a replay with no word but the summary's
 * count: said once, at the first drop, while the run can still be stopped.
 */
export function rateDropNotice(log: Logger, address: string, perSecond: number): () => void {
  const what =
    perSecond === 0
      ? '|0 lets no request through: every one is dropped'
      : `|${perSecond} is a rate limit: at most ${perSecond} requests a second pass, the others are dropped, not delayed`;
  return () =>
    log.warn(
      `input-file(${address}|${perSecond}): ${what}, as in gor (the summary counts them as 'limit dropped'); ` +
        (perSecond === 0
          ? 'for no limit leave |0 out; a replay speed is written with % (|200%), and |max does not wait'
          : `a replay speed is written with %: |${perSecond}% (|max does not wait)`),
      'input-file:rate-limit',
    );
}
