/**
 * What the main thread and a capture worker (`--input-raw-workers`) say to each other, and how a batch of
 * messages crosses the thread boundary: the meta lines as strings, every payload copied once into one
 * ArrayBuffer that is transferred (not cloned), and the payloads' end offsets.
 *
 *   main ──WorkerStart (workerData)──▶ worker          worker ──ready {filterText}──────────▶ main
 *   main ──credit (one per batch taken)──▶ worker      worker ──batch {lines, ends, bytes}──▶ main
 *   main ──stop──▶ worker                              worker ──stats / end {counters}──────▶ main
 *                                                      worker ──failed {code, message}──────▶ main
 */
import type { Message } from '../../core/message.js';
import { parseMeta } from '../../core/meta.js';
import type { RawAddress } from './address.js';
import type { FlowOptions } from './flow-pipeline.js';
import type { LiveCaptureOptions } from './sources.js';

/** A worker's configuration (structured-cloned into it). */
export interface WorkerStart {
  readonly index: number;
  readonly address: RawAddress;
  readonly live: LiveCaptureOptions;
  readonly flow: Omit<FlowOptions, 'random'>;
  /** PACKET_FANOUT group shared by the workers of one input. */
  readonly fanoutGroup: number;
  /** Batches a worker may have in flight before it stops reading its ring and waits for credit. */
  readonly window: number;
}

export type ToWorker = { readonly kind: 'credit' } | { readonly kind: 'stop' };

export interface Counters {
  readonly flows: Record<string, number>;
  readonly engine: Record<string, number>;
}

export type FromWorker =
  | { readonly kind: 'ready'; readonly filterText: string }
  | {
      readonly kind: 'batch';
      readonly lines: string[];
      readonly ends: Uint32Array;
      readonly bytes: ArrayBuffer;
      readonly counters: Counters;
    }
  | { readonly kind: 'stats'; readonly counters: Counters }
  | { readonly kind: 'end'; readonly counters: Counters }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string; readonly where?: string };

/** Packs messages for postMessage; the second value is the transfer list. */
export function packBatch(
  msgs: readonly Message[],
  counters: Counters,
): [FromWorker & { kind: 'batch' }, ArrayBuffer[]] {
  let total = 0;
  for (let i = 0; i < msgs.length; i++) total += msgs[i]!.data.length;
  const bytes = new Uint8Array(total);
  const ends = new Uint32Array(msgs.length);
  const lines: string[] = new Array(msgs.length);
  let off = 0;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    bytes.set(m.data, off);
    off += m.data.length;
    ends[i] = off;
    lines[i] = m.meta.line;
  }
  return [{ kind: 'batch', lines, ends, bytes: bytes.buffer, counters }, [bytes.buffer, ends.buffer]];
}

/** The messages of a batch; payloads are views of the transferred buffer, metas the worker's exact lines. */
export function unpackBatch(batch: FromWorker & { kind: 'batch' }, out: (msg: Message) => void): void {
  const all = Buffer.from(batch.bytes);
  let start = 0;
  for (let i = 0; i < batch.lines.length; i++) {
    const end = batch.ends[i]!;
    out({ meta: parseMeta(batch.lines[i]!), data: all.subarray(start, end) });
    start = end;
  }
}

/** Adds counters of several workers key by key (every counter here is a sum: packets, drops, gaps…). */
export function sumCounters(all: Iterable<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of all) {
    for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}
