/**
 * Kafka message values as gor writes and reads them (spec §9.2):
 *   raw:  <meta line> LF <payload>   (no separator: one Kafka message is one record)
 *   JSON: gor's Req_* object (src/kafka/gor-json.ts)
 * Keys are ours (gor sends none): the message id, so a request and its responses share a partition.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { Message } from '../core/message.js';
import { copyMetaLine, metaLineLength, parseMetaBytes } from '../core/meta.js';
import { dumpGorJson, encodeGorJson, parseGorJson } from './gor-json.js';

export type KafkaFormat = 'raw' | 'json';

export function encodeValue(msg: Message, format: KafkaFormat): Buffer {
  if (format === 'json') return encodeGorJson(msg);
  const metaLength = metaLineLength(msg.meta);
  const out = Buffer.allocUnsafe(metaLength + 1 + msg.data.length);
  copyMetaLine(msg.meta, out, 0);
  out[metaLength] = 0x0a;
  msg.data.copy(out, metaLength + 1);
  return out;
}

/** Splits `<meta> LF <payload>`. Throws BAD_META/BAD_RECORD with the reason (the caller adds where). */
export function decodeRaw(value: Buffer): Message {
  const nl = value.indexOf(0x0a);
  if (value.length === 0) throw new TaplineError(ERROR_CODES.BAD_RECORD, 'empty message value');
  if (nl === -1) throw new TaplineError(ERROR_CODES.BAD_RECORD, 'no meta line (the value has no LF)');
  return { meta: parseMetaBytes(value, 0, nl), data: value.subarray(nl + 1) };
}

export function decodeValue(value: Buffer, format: KafkaFormat): Message {
  return decodeRaw(format === 'json' ? dumpGorJson(parseGorJson(value)) : value);
}
