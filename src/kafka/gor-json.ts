/**
 * gor's Kafka JSON message (spec §9.2), both ways.
 *
 * Writing: fields in gor's order, `Req_Body` and `Req_Headers` omitted when empty, header names canonical
 * and sorted, multiple values joined with ", ", strings escaped exactly as Go's encoding/json does:
 *   {"Req_URL":"/","Req_Type":"1","Req_ID":"…","Req_Ts":"…","Req_Method":"GET","Req_Headers":{"Host":"a"}}
 *
 * Reading: the object is rebuilt into a request the way gor's `KafkaMessage.Dump` does it:
 *   "<Req_Type> <Req_ID> <Req_Ts>\n<Req_Method> <Req_URL> HTTP/1.1\r\n" + "<k>: <v>\r\n"… + "\r\n" + <Req_Body>
 * Field names match case-insensitively (Go's rule); unknown fields are ignored. The format is lossy by
 * design (gor's): header order and case, the HTTP version, status lines and non-UTF-8 bodies do not survive.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { Message } from '../core/message.js';
import { body, method, path } from '../protocol/http1/index.js';
import { goJsonString } from './go-json-string.js';
import { parseMimeHeaders } from './mime-headers.js';

const SEP = Buffer.from(', ');

function field(parts: Buffer[], name: string, value: Buffer, first = false): void {
  parts.push(Buffer.from(`${first ? '{' : ','}"${name}":`, 'latin1'), goJsonString(value));
}

/** The meta line's first three space-separated fields as written (gor's `payloadMeta`). */
function metaFields(line: string): [string, string, string] {
  const f = line.split(' ');
  return [f[0] ?? '', f[1] ?? '', f[2] ?? ''];
}

export function encodeGorJson(msg: Message): Buffer {
  const [type, id, ts] = metaFields(msg.meta.line);
  const parts: Buffer[] = [];
  field(parts, 'Req_URL', path(msg.data), true);
  field(parts, 'Req_Type', Buffer.from(type, 'latin1'));
  field(parts, 'Req_ID', Buffer.from(id, 'latin1'));
  field(parts, 'Req_Ts', Buffer.from(ts, 'latin1'));
  field(parts, 'Req_Method', method(msg.data));
  const reqBody = body(msg.data);
  if (reqBody.length > 0) field(parts, 'Req_Body', reqBody);
  const headers = parseMimeHeaders(msg.data);
  if (headers && headers.size > 0) {
    parts.push(Buffer.from(',"Req_Headers":'));
    const names = [...headers.keys()].sort();
    names.forEach((name, i) => {
      parts.push(Buffer.from(i === 0 ? '{' : ','), goJsonString(Buffer.from(name, 'latin1')), Buffer.from(':'));
      const joined = headers.get(name)!.flatMap((v, j) => (j > 0 ? [SEP, v] : [v]));
      parts.push(goJsonString(Buffer.concat(joined)));
    });
    parts.push(Buffer.from('}'));
  }
  parts.push(Buffer.from('}'));
  return Buffer.concat(parts);
}

interface GorJson {
  url: string;
  type: string;
  id: string;
  ts: string;
  method: string;
  body: string;
  headers: [string, string][];
}

const FIELDS: Record<string, keyof Omit<GorJson, 'headers'>> = {
  req_url: 'url',
  req_type: 'type',
  req_id: 'id',
  req_ts: 'ts',
  req_method: 'method',
  req_body: 'body',
};

/** Reads a gor JSON value. Throws BAD_RECORD when it is not a JSON object with string fields. */
export function parseGorJson(value: Buffer): GorJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new TaplineError(ERROR_CODES.BAD_RECORD, `not JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TaplineError(ERROR_CODES.BAD_RECORD, 'JSON message is not an object');
  }
  const out: GorJson = { url: '', type: '', id: '', ts: '', method: '', body: '', headers: [] };
  for (const [k, v] of Object.entries(parsed)) {
    const lower = k.toLowerCase();
    if (lower === 'req_headers') {
      if (v === null) continue;
      if (typeof v !== 'object' || Array.isArray(v)) {
        throw new TaplineError(ERROR_CODES.BAD_RECORD, 'Req_Headers is not an object');
      }
      for (const [name, hv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof hv !== 'string') throw new TaplineError(ERROR_CODES.BAD_RECORD, `header ${name} is not a string`);
        out.headers.push([name, hv]);
      }
      continue;
    }
    const key = FIELDS[lower];
    if (!key || v === null) continue;
    if (typeof v !== 'string') throw new TaplineError(ERROR_CODES.BAD_RECORD, `${k} is not a string`);
    out[key] = v;
  }
  // Said in the JSON's words: the meta line they would make ('  ') is not what the user wrote.
  // (An empty Req_Ts is passed on, as before and as gor does: a timestamp that is not a number.)
  for (const [field, name] of [
    ['type', 'Req_Type'],
    ['id', 'Req_ID'],
  ] as const) {
    if (out[field] === '') throw new TaplineError(ERROR_CODES.BAD_RECORD, `${name} is missing or empty`);
  }
  refuseSeparators(out);
  return out;
}

const SEPARATOR = /[ \r\n]/;
const separatorName = (text: string) => {
  const c = SEPARATOR.exec(text)![0];
  return c === ' ' ? 'a space' : c === '\r' ? 'a CR' : 'an LF';
};

/**
 * The rebuilt message is split again on spaces and line ends: a Req_ID "ab cd" made the meta line
 * `1 ab cd 3`, read as id "ab" and timestamp "cd" (gor shifts the fields so, silently: the response no longer
 * pairs, pacing loses the time); a Req_URL or Req_Method with a space or line end makes another request line,
 * and a header with a line end other header lines. Such a value is refused (counted as a bad message, named in
 * a warning) rather than passed on changed.
 */
function refuseSeparators(m: GorJson): void {
  for (const [field, name, what] of [
    ['type', 'Req_Type', 'meta'],
    ['id', 'Req_ID', 'meta'],
    ['ts', 'Req_Ts', 'meta'],
    ['method', 'Req_Method', 'request'],
    ['url', 'Req_URL', 'request'],
  ] as const) {
    if (!SEPARATOR.test(m[field])) continue;
    const made =
      what === 'meta' ? `meta line it makes (${JSON.stringify(`${m.type} ${m.id} ${m.ts}`)})` : 'request line it makes';
    throw new TaplineError(
      ERROR_CODES.BAD_RECORD,
      `${name} ${JSON.stringify(m[field])} contains ${separatorName(m[field])}: the ${made} would not read back as it was`,
    );
  }
  for (const [k, v] of m.headers) {
    if (/[\r\n:]/.test(k) || /[\r\n]/.test(v)) {
      throw new TaplineError(
        ERROR_CODES.BAD_RECORD,
        `header ${JSON.stringify(k)}: ${/[\r\n]/.test(k + v) ? 'a line end' : 'a colon in its name'} would make other header lines`,
      );
    }
  }
}

/** gor's `KafkaMessage.Dump`: the meta line and the rebuilt request, as one buffer (headers in JSON order). */
export function dumpGorJson(m: GorJson): Buffer {
  let text = `${m.type} ${m.id} ${m.ts}\n${m.method} ${m.url} HTTP/1.1\r\n`;
  for (const [k, v] of m.headers) text += `${k}: ${v}\r\n`;
  text += `\r\n${m.body}`;
  return Buffer.from(text, 'utf8');
}
