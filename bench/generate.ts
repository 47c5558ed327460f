/** Synthetic `.gor` recordings for benchmarks: realistic request mixes, deterministic, written fast. */
import { createWriteStream } from 'node:fs';
import { makeMeta } from '../src/core/message.js';
import { RecordBuffer } from '../src/outputs/record-buffer.js';

const PATHS = ['/', '/api/users/', '/api/orders/', '/static/app.', '/search?q=', '/api/cart/items/'];

/** Writes `count` requests (every 4th with a JSON body), 1 ms apart, to `file`. Returns the byte size. */
export async function writeGorFile(file: string, count: number): Promise<number> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const buffer = new RecordBuffer(1 << 20);
  let size = 0;
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const t0 = 1_700_000_000_000_000_000n;
  for (let i = 0; i < count; i++) {
    const path = `${PATHS[i % PATHS.length]}${rnd() % 100000}`;
    const body = i % 4 === 0 ? `{"id":${i},"name":"item-${rnd()}","tags":["a","b","c"],"qty":${rnd() % 9}}` : '';
    const head =
      `${body ? 'POST' : 'GET'} ${path} HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: bench/1.0\r\n` +
      `Accept: application/json\r\nCookie: session=${(rnd() * 7919).toString(16)}\r\n` +
      (body ? `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` : '') +
      '\r\n';
    size += buffer.append({
      meta: makeMeta({
        type: '1',
        id: (i + 1).toString(16).padStart(24, '0'),
        timestampNs: t0 + BigInt(i) * 1_000_000n,
        latencyNs: 0n,
      }),
      data: Buffer.from(head + body),
    });
    if (buffer.size >= 1 << 20) {
      for (const part of buffer.take()) {
        if (!out.write(part)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    }
  }
  for (const part of buffer.take()) out.write(part);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return size;
}
