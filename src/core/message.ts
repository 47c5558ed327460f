/**
 * The message model shared by every plugin: a meta line plus the raw payload bytes.
 *
 *   meta line:  <type> SP <id> SP <timestamp ns> [SP <latency ns>] [SP <extra>...] LF
 *   payload:    raw HTTP (or binary) bytes, never re-serialised
 *
 * A `Meta` keeps the exact text of the line it was read from, so a record read from a file and written
 * again is byte-identical even when its fields are unusual (leading zeros, 40-hex ids, extra fields).
 * Build new metas with `makeMeta`; change one with `withMeta`.
 */
import { randomBytes } from 'node:crypto';

/** '1' request, '2' original response, '3' replayed response. Other bytes are carried through as-is. */
export type PayloadType = '1' | '2' | '3' | (string & {});

export const REQUEST: PayloadType = '1';
export const RESPONSE: PayloadType = '2';
export const REPLAYED_RESPONSE: PayloadType = '3';

export interface Meta {
  readonly type: PayloadType;
  /** Any non-space token; 24 lowercase hex chars when tapline generates it. */
  readonly id: string;
  /** Unix time in ns. 0n when the line's timestamp is not a number (gor does the same). */
  readonly timestampNs: bigint;
  /** 4th field, ns; undefined when the line has only 3 fields. -1n means "unknown" as gor writes it. */
  readonly latencyNs: bigint | undefined;
  /** Fields after the 4th, kept for round trips. */
  readonly extra: readonly string[];
  /** The exact meta line without its LF. */
  readonly line: string;
  /** True when the timestamp field was not a decimal integer. */
  readonly badTimestamp?: boolean;
}

export interface Message {
  readonly meta: Meta;
  /** Raw payload bytes. */
  readonly data: Buffer;
}

export interface MetaFields {
  type: PayloadType;
  id: string;
  timestampNs: bigint;
  latencyNs?: bigint | undefined;
  extra?: readonly string[];
}

/** Builds a meta in gor's producer format: `%c %s %d %d` (3 fields when latency is undefined). */
export function makeMeta(fields: MetaFields): Meta {
  const extra = fields.extra ?? [];
  let line = `${fields.type} ${fields.id} ${fields.timestampNs}`;
  if (fields.latencyNs !== undefined) line += ` ${fields.latencyNs}`;
  else if (extra.length > 0) throw new RangeError('extra meta fields need a latency field before them');
  for (const e of extra) line += ` ${e}`;
  return {
    type: fields.type,
    id: fields.id,
    timestampNs: fields.timestampNs,
    latencyNs: fields.latencyNs,
    extra,
    line,
  };
}

/** A copy of `meta` with some fields changed (the line is rebuilt). */
export function withMeta(meta: Meta, change: Partial<MetaFields>): Meta {
  return makeMeta({
    type: change.type ?? meta.type,
    id: change.id ?? meta.id,
    timestampNs: change.timestampNs ?? meta.timestampNs,
    latencyNs: 'latencyNs' in change ? change.latencyNs : meta.latencyNs,
    extra: change.extra ?? meta.extra,
  });
}

/** 24 lowercase hex chars from 12 random bytes, as gor's generators do. */
export function randomId(): string {
  return randomBytes(12).toString('hex');
}

/** Wall-clock ns minus the monotonic clock, taken once (and again after a wall-clock step; see nowNs). */
let clockOrigin = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/**
 * Unix time in ns (gor: time.Now().UnixNano()), never going backwards: the monotonic clock from an origin taken on
 * the wall clock. (Date.now() plus hrtime's sub-ms part went back by up to 1 ms whenever the two clocks' ms did not
 * tick together, which gave negative latencies and out-of-order timestamps.) When the wall clock is set more
 * than a second away (NTP step, date change), the origin follows it, as gor's timestamps would.
 */
export function nowNs(): bigint {
  const ns = clockOrigin + process.hrtime.bigint();
  const wallMs = Date.now();
  const driftMs = Number(ns / 1_000_000n) - wallMs;
  if (driftMs > 1000 || driftMs < -1000) {
    clockOrigin = BigInt(wallMs) * 1_000_000n - process.hrtime.bigint();
    return clockOrigin + process.hrtime.bigint();
  }
  return ns;
}

export function isRequest(msg: Message): boolean {
  return msg.meta.type === REQUEST;
}
