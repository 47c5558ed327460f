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
