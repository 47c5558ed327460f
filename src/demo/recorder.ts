/**
 * A recording tap for the demo: a TCP proxy in front of the origin that forwards bytes both ways untouched and
 * cuts them into HTTP messages with the same HTTP/1 splitter capture uses. Each request (type 1) and its
 * response (type 2) share one id, like gor's captures. It is an Input, so it feeds a normal pipeline.
 *
 *   client ──▶ tap ──▶ origin          client→origin bytes ─▶ RequestSplitter  ─▶ type 1
 *          ◀──     ◀──                 origin→client bytes ─▶ ResponseSplitter ─▶ type 2 (same id)
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { Channel } from '../core/async.js';
import { type Message, makeMeta, nowNs, randomId } from '../core/message.js';
import type { Batch, Input } from '../core/plugin.js';
import { RequestSplitter, ResponseSplitter } from '../protocol/http1/index.js';

export interface RecordingTap extends Input {
  readonly port: number;
}

export async function startRecordingTap(originPort: number): Promise<RecordingTap> {
  const channel = new Channel<Message>(10_000);
  const sockets = new Set<Socket>();
  let recorded = 0;

  const server: Server = createServer((client) => {
    const upstream = connect(originPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const requests = new RequestSplitter({ collect: true });
    const responses = new ResponseSplitter({ collect: true });
    /** Ids and start times of requests waiting for their response, in order. */
    const waiting: { id: string; startNs: bigint }[] = [];
    let requestStart: bigint | undefined;
    let responseStart: bigint | undefined;

    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      requestStart ??= nowNs();
      for (const msg of requests.push(chunk)) {
        if (!msg.bytes) continue;
        const id = randomId();
        const endNs = nowNs();
        const startNs = requestStart ?? endNs;
        requestStart = requests.inMessage ? endNs : undefined;
        waiting.push({ id, startNs });
        responses.expect(msg.method);
        recorded++;
        void channel.push({
          meta: makeMeta({ type: '1', id, timestampNs: startNs, latencyNs: endNs - startNs }),
          data: msg.bytes,
        });
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      responseStart ??= nowNs();
      for (const msg of responses.push(chunk)) {
        if (!msg.bytes || msg.interim) continue;
        const req = waiting.shift();
        const endNs = nowNs();
        const startNs = responseStart ?? endNs;
        responseStart = responses.inMessage ? endNs : undefined;
        if (!req) continue;
        recorded++;
        void channel.push({
          meta: makeMeta({ type: '2', id: req.id, timestampNs: startNs, latencyNs: endNs - startNs }),
          data: msg.bytes,
        });
      }
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', closeBoth).on('error', closeBoth);
    upstream.on('close', closeBoth).on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    name: 'demo-recording-tap',
    port: (server.address() as AddressInfo).port,
    async *read(): AsyncGenerator<Batch> {
      yield* channel.drain();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      channel.close();
    },
    stats: () => ({ messages: recorded }),
  };
}
