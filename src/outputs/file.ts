/**
 * `--output-file PATH`: writes messages as `.gor` records (spec §6).
 *
 *   write(msg) ─▶ template (§6.1) ─▶ chunk name (§6.2, unless append) ─▶ FileSink (one open file)
 *                                                                           ▲ flush timer, chunk switch, close()
 *
 * One file is open at a time; when the name changes, the old file is closed (flushed, gzip trailer written)
 * and the new one opened. write() returns a promise while a file is being opened or the disk is behind, so a
 * slow disk slows the pipeline and memory stays bounded.
 *
 * Differences from gor (docs/compat.md): files are never truncated — `--output-file-append` appends to an
 * existing file, and a name written earlier in the run is appended to when it comes back (gor truncates in
 * both cases); the directory is listed for chunk names once per templated name, then again only when another
 * process changed it (ChunkNamer: gor lists it at every chunk, O(n²) over n chunks); a record that would pass `--output-file-max-size-limit` is refused (gor writes it, then
 * stops); `.gz` chunk sizes count compressed bytes throughout (gor mixes both); a directory named by a placeholder
 * is created (gor creates none; a fixed directory is not created either);
 * `%t` is filled from the message even without `%r` (gor's source only sets it when `%r` is used). Appending
 * to an existing `.gz` adds a gzip member (a multi-member file, which gunzip and input-file read whole).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { missingDirectories, mkdirProblem } from '../core/directories.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { encodedSize } from '../core/gor-format.js';
import type { Message } from '../core/message.js';
import type { Output, RawRun } from '../core/plugin.js';
import type { OutputPluginDef } from '../core/registry.js';
import { isS3Address, refuseMistypedS3Address } from '../storage/s3-address.js';
import { ChunkGate, maxSizeReached } from './chunk-gate.js';
import { fileOutputDecl } from './file-flags.js';
import {
  ChunkNamer,
  chunksBesideSpecialFile,
  cleanPath,
  compileTemplate,
  placeholderLostToChunkNumber,
  type UnsafeName,
  unknownPlaceholders,
} from './file-naming.js';
import { FileSink } from './file-sink.js';

export interface FileOutputOptions {
  /** Path template (§6.1): `%Y %m %d %H %M %S %NS %r %t %i`. */
  path: string;
  /** Write to the templated path itself, appending; no `_N` chunks. */
  append?: boolean;
  /** Default 1000; 0 → 100 (gor). */
  flushIntervalMs?: number;
  /** Chunk size threshold in bytes; default and values < 1: 32 MiB. */
  sizeLimit?: number;
  /** Records per chunk; default 256; 0 disables. */
  queueLimit?: number;
  /** Total bytes this output writes; default and values < 1: 1 TiB. */
  maxSizeLimit?: number;
  /** `%i` (default: a random id per process). */
  instanceId?: string;
  name?: string;
  /** The clock for date placeholders (tests). */
  now?: () => Date;
  /** Warnings (the first id that could not go into a file name as it is). */
  warn?: (text: string) => void;
}

const MiB = 1024 * 1024;

interface OpenFile {
  readonly name: string;
  readonly sink: FileSink;
  /** Records written to this file since it was opened (gor's queueLength). */
  records: number;
}

export function fileOutput(options: FileOutputOptions): Output {
  // An empty last element would make the chunk names (or the file opened in append mode) come from whatever
  // else is in the directory.
  const lastElement = options.path.slice(options.path.lastIndexOf('/') + 1);
  if (lastElement === '' || lastElement === '.' || lastElement === '..') {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `"${options.path}" names a directory, not a file: add a file name, e.g. ` +
        `${options.path === '' ? '' : options.path.replace(/\/*$/, '/')}requests.gor`,
      { where: '--output-file' },
    );
  }
  const name = options.name ?? `output-file(${options.path})`;
  let escaped = 0;
  const unsafe: UnsafeName = (value, written) => {
    if (escaped++ > 0) return;
    const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
    options.warn?.(
      `${name}: a record's id or type, ${JSON.stringify(shown)}, cannot be part of a file name as it is ` +
        `(a / would name another directory, '.' or '..' the directory itself or its parent, a NUL no file, ` +
        'more than 128 bytes a name too long): ' +
        `it is written ${JSON.stringify(written.length > 80 ? `${written.slice(0, 80)}…` : written)} ` +
        '(gor writes it as it is); said once, counted in names_escaped',
    );
  };
  const template = compileTemplate(options.path, options.instanceId, unsafe);
  // A directory named by a placeholder (`out/%Y-%m-%d/requests.gor`) cannot be made in advance: tapline makes it
  // when the name first comes up. A fixed directory is not made, so a typo in it is an error, not a new tree.
  const makesDirectories = /%(?:NS|[YmdHMSrt])/.test(options.path.slice(0, options.path.lastIndexOf('/') + 1));
  const append = options.append ?? false;
  const flushMs =
    options.flushIntervalMs === undefined ? 1000 : options.flushIntervalMs > 0 ? options.flushIntervalMs : 100;
  const sizeLimit = options.sizeLimit !== undefined && options.sizeLimit >= 1 ? options.sizeLimit : 32 * MiB;
  const queueLimit = options.queueLimit ?? 256;
  const maxSize = options.maxSizeLimit !== undefined && options.maxSizeLimit >= 1 ? options.maxSizeLimit : 2 ** 40;

  let current: OpenFile | undefined;
  let lastTemplated: string | undefined;
  const gate = new ChunkGate();
  let closed = false;
  let total = 0;
  const stats = {
    messages: 0,
    bytes: 0,
    files_opened: 0,
    refused: 0,
    lost_when_the_file_failed: 0,
    lost_in_removed_file: 0,
  };
  /** Closes a file; after a failure, counts the records it had taken and does not hold (file-sink.ts). */
  const closeSink = async (sink: FileSink): Promise<void> => {
    try {
      await sink.close();
    } finally {
      if (sink.lost) stats.lost_when_the_file_failed += sink.lost.records;
    }
  };

  const timer = setInterval(() => {
    if (!gate.busy && current) current.sink.flush();
  }, flushMs);
  timer.unref();

  let lastAppendPath: [string, string] | undefined;
  const namer = new ChunkNamer();
  /** The templated path of the chunk being opened (namer.created()). */
  let chunkOf: string | undefined;
  /** The chunk has its records or its bytes: the next record starts a new one (gor's nextChunk). */
  const full = (file: OpenFile): boolean =>
    (queueLimit > 0 && file.records >= queueLimit) || (sizeLimit > 0 && file.sink.diskBytes >= sizeLimit);
  const resolveName = (templated: string): string => {
    if (append) {
      if (lastAppendPath?.[0] !== templated) lastAppendPath = [templated, cleanPath(templated)];
      return lastAppendPath[1];
    }
    const next = current === undefined || full(current);
    if (!next && current !== undefined && templated === lastTemplated) return current.name;
    lastTemplated = templated;
    chunkOf = templated;
    return cleanPath(namer.name(templated, next));
  };

  /**
   * A file removed while written (`rm`, a clean-up job; FileSink.removed, seen at a flush): what went to it is in
   * no file, and gor goes on writing there. It is counted and said, and the next record opens the name again.
   */
  let retired: FileSink | undefined;
  /** `reopened`: the next record opens the same name again (else the run closes, or the next chunk follows). */
  const removedFile = (file: OpenFile, reopened: boolean): void => {
    stats.lost_in_removed_file += file.records;
    options.warn?.(
      `${name}: ${file.name} was removed while this run wrote to it: the ${file.records} record(s) written to ` +
        `it are in no file (counted in lost_in_removed_file)${reopened ? `; the next records go to a new ${append ? file.name : 'chunk'}` : ''}`,
    );
  };
  /**
   * The open file was removed: seen at a flush, or asked now when its chunk is full (the next chunk may get its
   * very name, r_0.gor again once r_0.gor is gone, and would be written to the removed file).
   */
  const removedNow = (): boolean =>
    current !== undefined && (current.sink.removed || (!append && full(current) && current.sink.removedNow()));
  const retireRemoved = (): void => {
    const file = current!;
    current = undefined;
    retired = file.sink;
    removedFile(file, true);
  };
  const closeRetired = async (): Promise<void> => {
    const sink = retired;
    retired = undefined;
    // Its records are counted as lost already; an error writing the rest to a file no one can read says nothing.
    if (sink) await sink.close().catch(() => {});
  };

  let madeDirectory: string | undefined;
  const switchTo = async (file: string): Promise<void> => {
    const templated = chunkOf;
    const old = current;
    current = undefined;
    await closeRetired();
    if (old) {
      // Removed since the last flush looked: said now, before the next chunk hides it.
      const removed = old.sink.removedNow();
      await closeSink(old.sink);
      if (removed) removedFile(old, false);
    }
    // Once per directory name, not at every file switch (`%t` switches files at every message type).
    if (makesDirectories && dirname(file) !== madeDirectory) {
      const dir = dirname(file);
      await makeDirectory(dir);
      madeDirectory = dir;
    }
    const sink = await FileSink.open(file, file.endsWith('.gz'), takesRuns);
    if (!append && templated !== undefined) namer.created(templated, file);
    current = { name: file, sink, records: 0 };
    stats.files_opened++;
  };

  const appendTo = (file: OpenFile, msg: Message): Promise<void> | undefined => {
    const n = file.sink.append(msg);
    file.records++;
    total += n;
    stats.messages++;
    stats.bytes += n;
    if (file.sink.full) return file.sink.push();
    return undefined;
  };

  /**
   * Raw runs (core/plugin.ts) are taken when the file a record goes to does not depend on the record: a plain
   * file whose name has no placeholder. Appending, a run goes whole; in chunks, it is cut where write() would
   * start the next chunk (before the record that finds the chunk full), so the chunks are the same.
   */
  const takesRuns = !template.dynamic && !options.path.endsWith('.gz');
  const appendRunTo = (file: OpenFile, run: RawRun): Promise<void> | undefined => {
    file.sink.appendEncoded(run.parts, run.bytes, run.count, run.sources);
    file.records += run.count;
    total += run.bytes;
    stats.messages += run.count;
    stats.bytes += run.bytes;
    if (file.sink.full) return file.sink.push();
    return undefined;
  };
  /** How many records of `run` go to the open chunk, as write() of each would decide (all when appending). */
  const fitting = (file: OpenFile, run: RawRun): number => {
    if (append) return run.count;
    const sizes = run.sizes!;
    let records = file.records;
    let disk = file.sink.diskBytes;
    let k = 0;
    while (k < run.count && !(queueLimit > 0 && records >= queueLimit) && !(sizeLimit > 0 && disk >= sizeLimit)) {
      records++;
      disk += sizes[k]!;
      k++;
    }
    return k;
  };
  const writeRunHere = (run: RawRun): Promise<void> | undefined => {
    const file = current!;
    const k = fitting(file, run);
    if (k === run.count) return appendRunTo(file, run);
    // The rest starts a new chunk (resolveName sees this one full).
    const rest = run.slice!(k, run.count);
    const pending = k > 0 ? appendRunTo(file, run.slice!(0, k)) : undefined;
    return pending ? pending.then(() => runMethods.writeRun(rest)) : runMethods.writeRun(rest);
  };
  const runMethods: { runFits(run: RawRun): boolean; writeRun(run: RawRun): Promise<void> | undefined } = {
    // A run that would pass --output-file-max-size-limit goes record by record: write() refuses the record
    // that passes it, after writing those before. Chunks need the run's record sizes to be cut.
    runFits: (run) => total + run.bytes <= maxSize && (append || (run.sizes !== undefined && run.slice !== undefined)),
    writeRun(run: RawRun): Promise<void> | undefined {
      if (closed) throw new TaplineError(ERROR_CODES.INTERNAL, 'write after close', { where: name });
      const wait = gate.before(current?.sink.failure);
      if (wait) return wait.then(() => runMethods.writeRun(run));
      if (removedNow()) retireRemoved();
      if (total + run.bytes > maxSize) throw maxSizeReached(maxSize, total); // runFits() said no
      const file = resolveName(fixedPath);
      if (current !== undefined && current.name === file) {
        // The chunk is full, yet the next one has its name (a path whose glob does not find its own chunks,
        // `out[1].gor`, as in gor): write() appends each record to it, and so does this (it looped without end).
        if (fitting(current, run) === 0) return appendRunTo(current, run);
        return writeRunHere(run);
      }
      return gate.open(switchTo(file), () => writeRunHere(run), file);
    },
  };
  const fixedPath = template.fixed ?? '';

  const output: Output = {
    ...(takesRuns ? runMethods : {}),
    name,
    write(msg: Message): Promise<void> | undefined {
      if (closed) throw new TaplineError(ERROR_CODES.INTERNAL, 'write after close', { where: name });
      const wait = gate.before(current?.sink.failure);
      if (wait) return wait.then(() => output.write(msg));
      if (removedNow()) retireRemoved();
      const size = encodedSize(msg);
      if (total + size > maxSize) {
        stats.refused++;
        throw maxSizeReached(maxSize, total);
      }
      const file = resolveName(template.render(msg, options.now?.()));
      if (current !== undefined && current.name === file) return appendTo(current, msg);
      return gate.open(switchTo(file), () => appendTo(current!, msg), file);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await gate.busy;
      const file = current;
      current = undefined;
      await closeRetired();
      if (file) {
        const removed = file.sink.removedNow();
        await closeSink(file.sink);
        if (removed) removedFile(file, false);
      }
    },
    stats: () => ({ ...stats, ...(escaped > 0 ? { names_escaped: escaped } : {}), file: current?.name ?? '' }),
  };
  return output;
}

export const fileOutputPlugin: OutputPluginDef = {
  ...fileOutputDecl,
  create: (args) => {
    // s3://bucket/key: chunks uploaded to S3 (docs/s3.md). Loaded on use: the AWS SDK is slow to load.
    if (isS3Address(args.address)) return import('./s3.js').then((s3) => s3.s3OutputFromArgs(args));
    const { address, flags: f } = args;
    refuseMistypedS3Address(address, '--output-file', existsSync);
    const append = f.bool('output-file-append');
    const lost = append ? undefined : placeholderLostToChunkNumber(address);
    if (lost) args.ctx.log.warn(`--output-file ${lost}`);
    // Chunk limits given with append mode: the user expects chunks and gets one file (gor ignores them too).
    const idle = ['output-file-queue-limit', 'output-file-size-limit'].filter((n) => f.has(n));
    if (append && idle.length > 0) {
      args.ctx.log.warn(
        `${idle.map((n) => `--${n}`).join(' and ')} ${idle.length === 1 ? 'has' : 'have'} no effect with ` +
          `--output-file-append: output-file(${address}) writes that one file, in no chunks (gor ignores ` +
          `${idle.length === 1 ? 'it' : 'them'} too); leave out --output-file-append for chunks`,
      );
    }
    const special = append ? undefined : chunksBesideSpecialFile(address, specialFileKind(address));
    if (special) args.ctx.log.warn(`--output-file ${special}`);
    const unknown = unknownPlaceholders(address);
    if (unknown) args.ctx.log.warn(`--output-file ${unknown}`);
    return fileOutput({
      path: address,
      append,
      flushIntervalMs: f.number('output-file-flush-interval'),
      sizeLimit: f.number('output-file-size-limit'),
      queueLimit: f.number('output-file-queue-limit'),
      maxSizeLimit: f.number('output-file-max-size-limit'),
      name: `output-file(${address})`,
      warn: (text) => args.ctx.log.warn(text),
    });
  },
};

/** mkdir -p (core/directories.ts: not Node's recursive mode), each failure said naming the directory. */
async function makeDirectory(dir: string): Promise<void> {
  for (const d of missingDirectories(dir)) {
    await mkdir(d).catch((err: unknown) => {
      const problem = mkdirProblem(d, err);
      if (problem !== undefined)
        throw new TaplineError(ERROR_CODES.FILE_IO, `cannot create the directory: ${problem}`, {
          where: d,
          cause: err,
        });
    });
  }
}

/** What `path` is when it exists and is neither a regular file nor a directory (for chunksBesideSpecialFile). */
function specialFileKind(path: string): string | undefined {
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (st === undefined || st.isDirectory()) return undefined;
  // /dev/stdout redirected to a file is a regular file, and its chunks would still land in /dev.
  if (st.isFile()) return /^\/(?:dev|proc)\//.test(path) ? 'a device path' : undefined;
  if (st.isFIFO()) return 'a pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice()) return 'a block device';
  return 'a special file';
}
