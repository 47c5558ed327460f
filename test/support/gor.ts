/** Reads a whole `.gor` file with the project's reader, failing on any record problem. */
import { readFileSync } from 'node:fs';
import { GorRecordReader } from '../../src/core/gor-format.js';
import type { Message } from '../../src/core/message.js';

export function readGorFile(path: string): Message[] {
  const problems: string[] = [];
  const reader = new GorRecordReader((p) => problems.push(`${p.kind} at record ${p.record}: ${p.message}`));
  const records = [...reader.push(readFileSync(path)), ...reader.end()];
  if (problems.length > 0) throw new Error(`${path}: ${problems.join('; ')}`);
  return records.map((r) => ({ meta: r.meta, data: r.data }));
}

/** `.gor` text of `count` GET requests to `${prefix}${i}`, ids 0… as 24 hex digits, 1 µs apart. */
export function getRequestsGor(count: number, prefix: string): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(`1 ${i.toString(16).padStart(24, '0')} ${1_700_000_000_000_000_000n + BigInt(i) * 1_000n} 0\n`);
    parts.push(`GET ${prefix}${i} HTTP/1.1\r\nHost: prod\r\n\r\n\n🐵🙈🙉\n`);
  }
  return parts.join('');
}
