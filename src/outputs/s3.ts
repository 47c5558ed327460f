/**
 * `--output-file s3://bucket/path-%Y-%m-%d.gz`: `.gor` chunks uploaded to S3 (gor PRO's S3 output, spec §6.6).
 *
 *   write(msg) ─▶ key template (§6.1) ─▶ chunk full or key changed? ─▶ FileSink: <buffer dir>/gor_output_s3_<rand>_buf_<name>
 *                                                  │ yes: close the chunk
 *                                                  ▼
 *                        uploads (at most MAX_UPLOADS at once; write() waits beyond) ─▶ lib-storage Upload
 *                        (one PUT below PART_SIZE, multipart above) ─▶ local chunk deleted
 *
 * Chunks follow gor's rules: a new one after --output-file-queue-limit records or --output-file-size-limit bytes
 * (compressed bytes for .gz), or when the templated key changes; its key is the templated key with `_<n>`, n one
 * above the highest already in the bucket (listed once per templated key, then counted here). A chunk that cannot
 * be uploaded (after the SDK's retries) stays in the buffer directory, named in a warning, and the run exits 1.
 */

import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BoundedMap } from '../core/bounded-set.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { encodedSize } from '../core/gor-format.js';
import type { Logger } from '../core/log.js';
import type { Message } from '../core/message.js';
import type { Output } from '../core/plugin.js';
import type { PluginArgs } from '../core/registry.js';
import { formatBytes } from '../core/values.js';
import {
  createS3Client,
  describeS3Error,
  listObjects,
  parseS3Address,
  type S3Location,
  StoreReplyError,
  s3SettingsFromFlags,
} from '../storage/s3.js';
import { ChunkGate, maxSizeReached } from './chunk-gate.js';
import { chunkName, compileTemplate, fileExt, randomLetters } from './file-naming.js';
import { FileSink } from './file-sink.js';

const MiB = 1024 * 1024;
/** Upload part size (S3's minimum is 5 MiB): a chunk above it goes as a multipart upload. */
export const PART_SIZE = 8 * MiB;
/** Chunks uploading at once before write() waits. */
const MAX_UPLOADS = 2;

export interface S3OutputOptions {
  /** Bucket and key template. */
  location: S3Location;
  /** Staging directory (default: the system temporary directory). */
  bufferDir?: string;
  /** Chunk size threshold in bytes; default and values < 1: 32 MiB. */
  sizeLimit?: number;
  /** Records per chunk; default 256; 0 disables. */
  queueLimit?: number;
  /** Total bytes this output writes; default and values < 1: 1 TiB. */
  maxSizeLimit?: number;
  /** Default 1000; 0 → 100 (gor). */
  flushIntervalMs?: number;
  /** Multipart part size (tests use S3's minimum). */
  partSize?: number;
  instanceId?: string;
  now?: () => Date;
  log: Logger;
  name?: string;
}

interface Chunk {
  readonly key: string;
  readonly templated: string;
  readonly local: string;
  readonly sink: FileSink;
  records: number;
}

export function s3Output(client: S3Client, options: S3OutputOptions): Output {
  const { bucket } = options.location;
  const template = compileTemplate(options.location.key, options.instanceId);
  const sizeLimit = options.sizeLimit !== undefined && options.sizeLimit >= 1 ? options.sizeLimit : 32 * MiB;
  const queueLimit = options.queueLimit ?? 256;
  const maxSize = options.maxSizeLimit !== undefined && options.maxSizeLimit >= 1 ? options.maxSizeLimit : 2 ** 40;
  const flushMs =
    options.flushIntervalMs === undefined ? 1000 : options.flushIntervalMs > 0 ? options.flushIntervalMs : 100;
  const partSize = options.partSize ?? PART_SIZE;
  const bufferDir = options.bufferDir || tmpdir();
  const name = options.name ?? `output-file(s3://${bucket}/${options.location.key})`;
  const log = options.log;
  const tag = randomLetters(8);

  /** Keys per templated key: listed from the bucket once, then every key this output chose. */
  // Bounded: a template with %r or %NS makes a new templated key per message; a forgotten one is listed again.
  const knownKeys = new BoundedMap<string, string[]>(1024);
  const uploads = new Set<Promise<void>>();
  // The local files of the chunks uploading: named in the stats, so that a run left before they end (a second
  // SIGINT) says where their records are (the files stay until S3 has them; the summary said 'uploading 1').
  const uploadingFrom = new Set<string>();
  const notUploaded: string[] = [];
  let current: Chunk | undefined;
  const gate = new ChunkGate();
  let closed = false;
  let total = 0;
  const stats = {
    messages: 0,
    bytes: 0,
    chunks: 0,
    uploaded: 0,
    uploaded_bytes: 0,
    multipart_uploads: 0,
    upload_failed: 0,
    uploading: 0,
    refused: 0,
  };

  const timer = setInterval(() => {
    if (!gate.busy && current) current.sink.flush();
  }, flushMs);
  timer.unref();

  /** gor's chunk name over the keys of the bucket: `_<highest + 1>`, or `_0` for a new templated key. */
  const nextKey = async (templated: string): Promise<string> => {
    const ext = fileExt(templated);
    const stem = templated.slice(0, templated.length - ext.length);
    let keys = knownKeys.get(templated);
    if (!keys) {
      try {
        const listed = await listObjects(client, bucket, stem);
        // Go's Glob `S*E` within one path element: no `/` after the stem.
        keys = listed.map((o) => o.key).filter((k) => k.endsWith(ext) && !k.slice(stem.length).includes('/'));
      } catch (err) {
        // No `where`: the pipeline names the output, and the message names the listing.
        throw new TaplineError(
          ERROR_CODES.PEER,
          `cannot list s3://${bucket}/${stem}*: ${describeS3Error(err, bucket)}`,
          {
            cause: err,
          },
        );
      }
      knownKeys.set(templated, keys);
    }
    const key = chunkName(templated, true, () => keys!);
    keys.push(key);
    return key;
  };

  const upload = async (chunk: Chunk): Promise<void> => {
    const where = `s3://${bucket}/${chunk.key}`;
    let size = 0;
    try {
      size = chunk.sink.diskBytes;
      const job = new Upload({
        client,
        params: { Bucket: bucket, Key: chunk.key, Body: createReadStream(chunk.local) },
        partSize,
        queueSize: 2,
        leavePartsOnError: false,
      });
      const result = await job.done();
      // Every S3 store answers a stored object with its ETag. A 200 without one came from something else (a
      // proxy's or a console's catch-all page): the chunk is kept, not deleted as if S3 had it.
      if (!result.ETag) {
        throw new StoreReplyError(
          `the store answered HTTP ${result.$metadata.httpStatusCode} without an ETag, as no S3 store does: is the endpoint an S3 API?`,
        );
      }
      stats.uploaded++;
      stats.uploaded_bytes += size;
      if (size > partSize) stats.multipart_uploads++;
      log.info(`${name}: uploaded ${where} (${formatBytes(size)}, ${chunk.records} records)`);
      await rm(chunk.local, { force: true });
    } catch (err) {
      stats.upload_failed++;
      notUploaded.push(chunk.local);
      log.warn(
        `${name}: ${where} not uploaded: ${describeS3Error(err, bucket)}; its ${chunk.records} records are kept in ${chunk.local}`,
        `${name} upload`,
      );
    }
  };

  /** Closes the current chunk and starts its upload; waits while MAX_UPLOADS are already running. */
  const finishChunk = async (): Promise<void> => {
    const chunk = current;
    current = undefined;
    if (!chunk) return;
    await chunk.sink.close();
    while (uploads.size >= MAX_UPLOADS) await Promise.race(uploads);
    stats.uploading++;
    uploadingFrom.add(chunk.local);
    const job = upload(chunk).finally(() => {
      stats.uploading--;
      uploadingFrom.delete(chunk.local);
      uploads.delete(job);
    });
    uploads.add(job);
  };

  const startChunk = async (templated: string): Promise<void> => {
    await finishChunk();
    const key = await nextKey(templated);
    // The key's last element, cut to a length every file system takes (the extension kept: .gz means gzip).
    const last = basename(key);
    const local = join(
      bufferDir,
      `gor_output_s3_${tag}_${stats.chunks}_buf_${last.length > 120 ? last.slice(-120) : last}`,
    );
    const sink = await FileSink.open(local, key.endsWith('.gz'));
    current = { key, templated, local, sink, records: 0 };
    stats.chunks++;
  };

  const appendTo = (chunk: Chunk, msg: Message): Promise<void> | undefined => {
    const n = chunk.sink.append(msg);
    chunk.records++;
    total += n;
    stats.messages++;
    stats.bytes += n;
    if (chunk.sink.full) return chunk.sink.push();
    return undefined;
  };

  const output: Output = {
    name,
    write(msg: Message): Promise<void> | undefined {
      if (closed) throw new TaplineError(ERROR_CODES.INTERNAL, 'write after close', { where: name });
      const wait = gate.before(current?.sink.failure);
      if (wait) return wait.then(() => output.write(msg));
      const size = encodedSize(msg);
      if (total + size > maxSize) {
        stats.refused++;
        throw maxSizeReached(maxSize, total);
      }
      const templated = template.render(msg, options.now?.());
      const chunk = current;
      const full =
        chunk === undefined ||
        chunk.templated !== templated ||
        (queueLimit > 0 && chunk.records >= queueLimit) ||
        chunk.sink.diskBytes >= sizeLimit;
      if (!full) return appendTo(chunk, msg);
      return gate.open(startChunk(templated), () => appendTo(current!, msg), name);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await gate.busy;
      await finishChunk();
      while (uploads.size > 0) await Promise.all([...uploads]);
      if (notUploaded.length > 0) {
        throw new TaplineError(
          ERROR_CODES.PEER,
          `${notUploaded.length} chunk(s) not uploaded; kept in ${notUploaded.join(', ')}`,
        );
      }
    },
    stats: () => ({
      ...stats,
      chunk: current ? `s3://${bucket}/${current.key}` : '',
      uploading_from: [...uploadingFrom].join(', '),
    }),
  };
  return output;
}

/** `--output-file s3://…`: the file output's create() hands S3 addresses here. */
export async function s3OutputFromArgs({ address, flags, ctx }: PluginArgs): Promise<Output> {
  const where = `--output-file ${address}`;
  const location = parseS3Address(address, where);
  // As `--output-file dir/` for a local file: the chunks would be objects named `dir/_0`, `dir/_1`.
  if (location.key.endsWith('/')) {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `"${address}" names a "directory" (the key ends in /), not an object: add a name, e.g. ${address}requests.gor`,
      { where: '--output-file' },
    );
  }
  if (flags.bool('output-file-append')) {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      'S3 objects cannot be appended to: s3:// addresses are always written in numbered chunks',
      { where: '--output-file-append' },
    );
  }
  const client = await createS3Client(s3SettingsFromFlags(flags), where);
  return s3Output(client, {
    location,
    bufferDir: flags.string('output-file-buffer'),
    sizeLimit: flags.number('output-file-size-limit'),
    queueLimit: flags.number('output-file-queue-limit'),
    maxSizeLimit: flags.number('output-file-max-size-limit'),
    flushIntervalMs: flags.number('output-file-flush-interval'),
    log: ctx.log,
    name: `output-file(${address})`,
  });
}
