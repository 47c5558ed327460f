/**
 * `--input-file s3://bucket/prefix*`: replays `.gor` objects from S3 exactly as local files are replayed.
 *
 *   list (prefix up to the first glob character) ─▶ keys matching the pattern, in S3's (byte) order
 *     ─▶ each object streamed to <buffer dir>/tapline-s3-…/NNNNNN_<name> (DOWNLOADS at once, never held in memory)
 *     ─▶ fileInput over those files: the same merge by timestamp, read-ahead window, timing, .gz, dry run, loop
 *     ─▶ staging directory removed at close
 *
 * A pattern without glob characters is a prefix, as in gor PRO (`s3://b/logs/2024-` takes every key that starts
 * so). With `*`, `?` or `[…]`, keys are matched element by element like Go's filepath.Glob (`*` stops at `/`).
 * The objects are downloaded before the replay starts, so the replay's timing is not disturbed by the network;
 * the cost is local disk for the objects of one pass (docs/s3.md).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describeIoError, ERROR_CODES, isTaplineError, TaplineError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Batch, Input } from '../core/plugin.js';
import { limitInput, type PluginArgs } from '../core/registry.js';
import { formatBytes } from '../core/values.js';
import {
  createS3Client,
  describeS3Error,
  listObjects,
  parseS3Address,
  type S3Location,
  type S3Object,
  s3SettingsFromFlags,
} from '../storage/s3.js';
import { type FileInputOptions, fileInput, rateDropNotice, speedFromLimit } from './file.js';
import { compileGlobElement, GlobPatternError, hasGlobMeta, validateGlob } from './file-glob.js';

/** Objects downloading at once. */
const DOWNLOADS = 4;

/** Stalled downloads in a row (none finishing between them) after which the store is taken as not answering. */
const STALLS_IN_A_ROW = 2 * DOWNLOADS;

export interface S3InputOptions extends Omit<FileInputOptions, 'patterns' | 'log'> {
  location: S3Location;
  /** Staging directory's parent (default: the system temporary directory). */
  bufferDir?: string;
  log: Logger;
}

/** Does `key` match the glob `pattern` (element by element), or start with it when it has no glob character? */
export function keyMatcher(pattern: string): { prefix: string; matches: (key: string) => boolean } {
  if (!hasGlobMeta(pattern)) return { prefix: pattern, matches: (key) => key.startsWith(pattern) };
  const firstMeta = pattern.search(/[*?[\\]/);
  const elements = pattern.split('/').map((e) => (hasGlobMeta(e) ? compileGlobElement(e) : e));
  return {
    prefix: pattern.slice(0, firstMeta),
    matches(key) {
      const parts = key.split('/');
      if (parts.length !== elements.length) return false;
      return elements.every((e, i) => (typeof e === 'string' ? e === parts[i] : e.test(parts[i]!)));
    },
  };
}

/** A local name for the i-th object: its index (keeps S3's order) and its last element, made safe. */
function localName(i: number, key: string): string {
  const last = key.slice(key.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9._-]/g, '_');
  return `${String(i).padStart(6, '0')}_${last.length > 120 ? last.slice(-120) : last}`;
}

export function s3Input(client: S3Client, options: S3InputOptions): Input {
  const { bucket, key: pattern } = options.location;
  const address = `s3://${bucket}/${pattern}`;
  const name = options.name ?? `input-file(${address})`;
  try {
    validateGlob(pattern);
  } catch (err) {
    if (err instanceof GlobPatternError)
      throw new TaplineError(ERROR_CODES.USAGE, err.message, { where: '--input-file' });
    throw err;
  }
  const readDepth = options.readDepth ?? 100;
  if (!Number.isInteger(readDepth) || readDepth < 1) {
    // fileInput says the same, but only once the objects are downloaded.
    throw new TaplineError(ERROR_CODES.USAGE, `must be a whole number of records, at least 1 (got ${readDepth})`, {
      where: '--input-file-read-depth',
    });
  }
  const { prefix, matches } = keyMatcher(pattern);
  const stop = new AbortController();
  options.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  // objects_gone: listed, then deleted before their download (a retention job, another reader that moves them).
  // objects_denied: listed, but their download refused (a bucket policy or KMS key that covers only some keys).
  // objects_stalled: the store took the download and then sent nothing for the idle timeout, on every try.
  const counters = { objects: 0, bytes_downloaded: 0, objects_gone: 0, objects_denied: 0, objects_stalled: 0 };
  // Stalls since the last download that finished: a store that stalls on everything fails the input after
  // STALLS_IN_A_ROW of them rather than making the run wait out every object in turn.
  let stallsInARow = 0;
  let staging: string | undefined;
  let inner: Input | undefined;
  let closed = false;
  // What the file input says names the staged copy (/tmp/tapline-s3-…/000001_x.gor), a file removed at the end;
  // the user's file is the object. Staged paths in its warnings and errors become s3://bucket/key.
  const objectOf = new Map<string, string>();
  let stagedPath: RegExp | undefined;
  const named = (text: string): string =>
    stagedPath ? text.replace(stagedPath, (path) => objectOf.get(path) ?? path) : text;
  const log: Logger = {
    verbose: options.log.verbose,
    write: options.log.write,
    error: (m) => options.log.error(named(m)),
    warn: (m, kind) => options.log.warn(named(m), kind === undefined ? undefined : named(kind)),
    info: (m) => options.log.info(named(m)),
    debug: (level, m) => options.log.debug(level, m),
  };

  /**
   * Downloads one object; false when it was deleted after the listing, its download was refused, or the store
   * stalled on it (warned and counted, as a local file that vanished or cannot be read: the other objects are
   * still replayed).
   */
  const download = async (object: S3Object, path: string, signal: AbortSignal): Promise<boolean> => {
    const started = performance.now();
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.key }), {
        abortSignal: signal,
      });
      await pipeline(res.Body as Readable, createWriteStream(path), { signal });
      counters.bytes_downloaded += object.size;
      stallsInARow = 0;
      return true;
    } catch (err) {
      const skip = stop.signal.aborted ? undefined : skippedAnswer(err);
      if (skip === 'stalled' && ++stallsInARow >= STALLS_IN_A_ROW) {
        throw new TaplineError(
          ERROR_CODES.PEER,
          `cannot download: ${describeS3Error(err, bucket)}; the store stalled on ${stallsInARow} objects in a row ` +
            'without finishing any: it has stopped answering downloads',
          { where: `s3://${bucket}/${object.key}`, cause: err },
        );
      }
      if (skip) {
        counters[SKIPPED_COUNTER[skip]]++;
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        const why =
          skip === 'gone'
            ? 'deleted after the listing'
            : skip === 'denied'
              ? 'the store refused this object'
              : `the store stalled on this object (${seconds} s waited)`;
        options.log.warn(
          new TaplineError(
            ERROR_CODES.FILE_IO,
            `cannot download: ${describeS3Error(err)}: ${why}; the other objects are replayed`,
            { where: `s3://${bucket}/${object.key}` },
          ).describe(),
          `input-file:s3-${skip}`,
        );
        return false;
      }
      throw new TaplineError(ERROR_CODES.PEER, `cannot download: ${describeS3Error(err, bucket)}`, {
        where: `s3://${bucket}/${object.key}`,
        cause: err,
      });
    }
  };

  const stage = async (): Promise<string[]> => {
    let objects: S3Object[];
    try {
      objects = (await listObjects(client, bucket, prefix, stop.signal)).filter((o) => matches(o.key));
    } catch (err) {
      throw new TaplineError(
        ERROR_CODES.PEER,
        `cannot list s3://${bucket}/${prefix}: ${describeS3Error(err, bucket)}`,
        {
          where: '--input-file',
          cause: err,
        },
      );
    }
    if (objects.length === 0) {
      throw new TaplineError(ERROR_CODES.FILE_IO, `no object matches ${address}`, { where: '--input-file' });
    }
    staging = await mkdtemp(join(options.bufferDir || tmpdir(), 'tapline-s3-'));
    const dir = staging;
    const paths = objects.map((o, i) => join(dir, localName(i, o.key)));
    for (const [i, path] of paths.entries()) objectOf.set(path, `s3://${bucket}/${objects[i]!.key}`);
    stagedPath = new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\d{6}_[A-Za-z0-9._-]*`, 'g');
    const total = objects.reduce((n, o) => n + o.size, 0);
    options.log.info(`${name}: downloading ${objects.length} object(s), ${formatBytes(total)}, to ${dir}`);
    let next = 0;
    const downloaded = paths.map(() => false);
    // The first download that fails the input cuts the others and is the error said. Every worker is waited
    // for before the staging directory is removed: the others went on downloading into it, so its removal
    // failed and its 'ENOTEMPTY: directory not empty, rmdir …' was the error the user saw, not the object's.
    const cut = new AbortController();
    const signal = AbortSignal.any([stop.signal, cut.signal]);
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (next < objects.length && !signal.aborted) {
        const i = next++;
        try {
          if (!(await download(objects[i]!, paths[i]!, signal))) continue;
        } catch (err) {
          failure ??= { error: err };
          cut.abort();
          return;
        }
        downloaded[i] = true;
        counters.objects++;
        options.log.debug(2, `${name}: s3://${bucket}/${objects[i]!.key} → ${paths[i]}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DOWNLOADS, objects.length) }, worker));
    if (failure) throw failure.error;
    return paths.filter((_, i) => downloaded[i]);
  };

  /** As the file input ends a run with files it could not read: everything else was replayed, then exit 1. */
  const goneError = (): TaplineError | undefined => {
    const { objects_gone: gone, objects_denied: denied, objects_stalled: stalled } = counters;
    if (gone + denied + stalled === 0) return undefined;
    const parts = [
      gone > 0
        ? `${gone === 1 ? '1 object was' : `${gone} objects were`} deleted between the listing and the download`
        : '',
      denied > 0 ? `${denied === 1 ? "1 object's" : `${denied} objects'`} download was refused` : '',
      stalled > 0 ? `the store stalled on ${stalled === 1 ? '1 object' : `${stalled} objects`}` : '',
    ];
    return new TaplineError(
      ERROR_CODES.FILE_IO,
      `${parts.filter(Boolean).join(', ')} (see the warnings above); the other objects were replayed`,
    );
  };

  const cleanUp = async () => {
    const dir = staging;
    staging = undefined;
    if (!dir) return;
    try {
      await rm(dir, { recursive: true, force: true });
    } catch (err) {
      // Said, not thrown: thrown from read()'s finally, it would stand in for the error that ended the input.
      options.log.warn(
        new TaplineError(ERROR_CODES.FILE_IO, `cannot remove the staging directory: ${describeIoError(err)}`, {
          where: dir,
        }).describe(),
        'input-file:s3-staging',
      );
    }
  };

  return {
    name,
    async *read(): AsyncGenerator<Batch> {
      try {
        let paths: string[];
        try {
          paths = await stage();
        } catch (err) {
          if (closed || stop.signal.aborted) return; // close() cut the downloads short: not a failure
          throw err;
        }
        if (closed || stop.signal.aborted) return;
        if (paths.length === 0) throw goneError()!; // every object listed was gone: nothing to replay
        const { location: _location, bufferDir: _bufferDir, ...rest } = options;
        inner = fileInput({ ...rest, log, patterns: paths, name, signal: stop.signal });
        try {
          yield* inner.read();
        } catch (err) {
          if (!isTaplineError(err)) throw err;
          const gone = goneError();
          const message = gone ? `${named(err.message)}; and ${gone.message}` : named(err.message);
          throw new TaplineError(err.code, message, {
            ...(err.where === undefined ? {} : { where: named(err.where) }),
            cause: err,
          });
        }
        if (!closed && !stop.signal.aborted) {
          const gone = goneError();
          if (gone) throw gone;
        }
      } finally {
        await cleanUp();
      }
    },
    async close() {
      closed = true;
      stop.abort();
      await inner?.close();
    },
    stats: () => ({ ...inner?.stats?.(), ...counters }),
  };
}

/**
 * An answer about one object that the input skips (as the file input skips a file that vanished or cannot be
 * read): 'gone' for an object not there any more (S3's NoSuchKey, or a bare 404 from a store without S3's XML),
 * 'denied' for a download refused (AccessDenied, or a bare 403: a policy or key that covers only some objects;
 * the listing itself was allowed), 'stalled' for a download during which the store went silent for the idle
 * timeout (before its answer, on each of the SDK's tries, or in the middle of the body). Not NoSuchBucket: a
 * bucket gone is no object's problem, it fails the input.
 */
function skippedAnswer(err: unknown): SkipReason | undefined {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'NoSuchBucket' || e.Code === 'NoSuchBucket') return undefined;
  if (e.name === 'NoSuchKey' || e.Code === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return 'gone';
  if (e.name === 'AccessDenied' || e.Code === 'AccessDenied' || e.$metadata?.httpStatusCode === 403) return 'denied';
  if (e.name === 'TimeoutError') return 'stalled';
  return undefined;
}

type SkipReason = 'gone' | 'denied' | 'stalled';

const SKIPPED_COUNTER = {
  gone: 'objects_gone',
  denied: 'objects_denied',
  stalled: 'objects_stalled',
} as const satisfies Record<SkipReason, string>;

/** `--input-file s3://…`: the file input's create() hands S3 addresses here. */
export async function s3InputFromArgs({ address, limit, flags, ctx }: PluginArgs): Promise<Input> {
  const where = `--input-file ${address}`;
  const location = parseS3Address(address, where, true);
  const client = await createS3Client(s3SettingsFromFlags(flags), where);
  const input = s3Input(client, {
    location,
    bufferDir: flags.string('output-file-buffer'),
    speed: speedFromLimit(limit),
    loop: flags.bool('input-file-loop'),
    readDepth: flags.number('input-file-read-depth'),
    dryRun: flags.bool('input-file-dry-run'),
    maxWaitMs: flags.number('input-file-max-wait'),
    log: ctx.log,
    signal: ctx.signal,
    name: `input-file(${address})`,
  });
  return limit.kind === 'rate' ? limitInput(input, limit, rateDropNotice(ctx.log, address, limit.perSecond)) : input;
}
