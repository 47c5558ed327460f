/**
 * Synthetic `.gor` recordings for benchmarks. Requests look like the real browser recording in the corpus
 * (datadog-ecommerce-requests_0.gor: 1,165 bytes per record on average, most of it User-Agent, Accept and
 * Cookie headers), with REST paths and every 4th request a JSON POST. Deterministic, written fast.
 */
import { createWriteStream } from 'node:fs';
import { makeMeta } from '../src/core/message.js';
import { RecordBuffer } from '../src/outputs/record-buffer.js';

const PATHS = ['/', '/api/users/', '/api/orders/', '/assets/application-', '/search?q=', '/api/cart/items/'];
const UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/** Writes `count` requests, 1 ms apart, to `file`. Returns the byte size. */
export async function writeGorFile(file: string, count: number): Promise<number> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const buffer = new RecordBuffer(1 << 20);
  let size = 0;
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const token = (n: number) => {
    let s = '';
    while (s.length < n) s += rnd().toString(36);
    return s.slice(0, n);
  };
  const t0 = 1_700_000_000_000_000_000n;
  for (let i = 0; i < count; i++) {
    const path = `${PATHS[i % PATHS.length]}${rnd() % 100000}`;
    const body =
      i % 4 === 0
        ? JSON.stringify({
            id: i,
            items: Array.from({ length: 1 + (rnd() % 6) }, () => ({ sku: token(12), qty: rnd() % 9 })),
          })
        : '';
    const head =
      `${body ? 'POST' : 'GET'} ${path} HTTP/1.1\r\nHost: shop.example.com\r\nConnection: keep-alive\r\n` +
      `User-Agent: ${UA}\r\nAccept: text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8\r\n` +
      `Referer: https://shop.example.com/\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n` +
      `Cookie: csrftoken=${token(64)}; session=${token(40 + (rnd() % 200))}; _ga=GA1.2.${rnd()}.${rnd()}; ` +
      `_sandbox_session=${token(250 + (rnd() % 300))}\r\n` +
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
