/**
 * A deliberately simple HTTP/1 parser for tests: start line, headers (lower-cased names, last one wins) and
 * the body with chunked framing removed. Independent of the splitter under test.
 */
import { dechunk } from '../../src/protocol/http1/dechunk.js';
export interface ParsedHttp {
  method: string;
  target: string;
  status: number;
  headers: Record<string, string>;
  /** Entity bytes: chunked framing removed, content coding kept. */
  body: Buffer;
}

export function parseHttp(data: Buffer): ParsedHttp {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no header end in ${JSON.stringify(data.subarray(0, 80).toString('latin1'))}`);
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const [a = '', b = ''] = lines[0]!.split(' ');
  const response = a.startsWith('HTTP/');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = data.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const d = dechunk(body);
    if (!d.complete) throw new Error('chunked body without its last chunk');
    body = d.data;
  }
  return { method: response ? '' : a, target: response ? '' : b, status: response ? Number(b) : 0, headers, body };
}
