/**
 * Helpers for the replay tests: a raw TCP server on 127.0.0.1 that records the exact request bytes it
 * receives (framed by a small Content-Length reader of its own, independent of tapline's splitter) and answers
 * as each test says, and a one-shot pipeline run from an array of messages.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe } from 'node:test';
import { createLogger } from '../../src/core/log.js';
import { type Message, makeMeta, randomId } from '../../src/core/message.js';
import { Pipeline, type RunSummary } from '../../src/core/pipeline.js';
import type { Input, Output } from '../../src/core/plugin.js';
import { httpAddon } from '../../src/outputs/http-native.js';

export interface RawServer {
  server: Server;
  port: number;
  url: string;
  /** Every request received, bytes exactly as sent. */
  requests: Buffer[];
  /** Connections accepted. */
  connections: number;
  close(): Promise<void>;
}

/** What the server does with each complete request: write these bytes, or do something to the socket. */
export type Answer = (request: Buffer, socket: Socket, index: number) => void;

export const okAnswer =
  (body = 'ok'): Answer =>
  (_req, socket) =>
    socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);

export async function rawServer(answer: Answer): Promise<RawServer> {
  const state = { requests: [] as Buffer[], connections: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (let guard = 0; guard < 1000; guard++) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        const total = end + 4 + (cl ? Number(cl[1]) : 0);
        if (buf.length < total) return;
        const request = Buffer.from(buf.subarray(0, total));
        buf = buf.subarray(total);
        const index = state.requests.push(request) - 1;
        answer(request, socket, index);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export function requestMessage(
  data: string | Buffer,
  id = randomId(),
  timestampNs = 1_700_000_000_000_000_000n,
): Message {
  return { meta: makeMeta({ type: '1', id, timestampNs, latencyNs: 0n }), data: Buffer.from(data) };
}

/** Writes `count` GET requests (/r/0, /r/1, …; ids 0, 1, … in hex; 1 ms apart) as a .gor file at `path`. */
export function writeGorFile(path: string, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) {
    text += `1 ${i.toString(16).padStart(24, '0')} ${1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n} 0\n`;
    text += `GET /r/${i} HTTP/1.1\r\nHost: prod\r\n\r\n\n🐵🙈🙉\n`;
  }
  writeFileSync(path, text);
  return path;
}

export function arrayInput(messages: Message[], batch = 100): Input {
  return {
    name: 'test-input',
    async *read() {
      for (let i = 0; i < messages.length; i += batch) yield messages.slice(i, i + batch);
    },
    close: async () => {},
  };
}

/** An output that keeps every message it is given. */
export function collectingOutput(): Output & { messages: Message[] } {
  const messages: Message[] = [];
  return { name: 'collect', messages, write: (m) => void messages.push(m), close: async () => {} };
}

export function runPipeline(inputs: Input[], outputs: Output[], split = false): Promise<RunSummary> {
  const lines: string[] = [];
  return new Pipeline({ inputs, outputs, split, log: createLogger({ write: (l) => lines.push(l) }) }).run();
}

/**
 * Defines the tests once per --output-http client: the JavaScript one and the native sender (skipped, and
 * said, when the tapline_http addon is not built). TAPLINE_HTTP_CLIENT picks the client of every output made.
 */
export function forEachClient(define: (client: 'js' | 'native') => void): void {
  for (const client of ['js', 'native'] as const) {
    const skip = client === 'native' && httpAddon() === null ? 'the tapline_http addon is not built' : false;
    describe(`${client} client`, { skip }, () => {
      let previous: string | undefined;
      before(() => {
        previous = process.env.TAPLINE_HTTP_CLIENT;
        process.env.TAPLINE_HTTP_CLIENT = client;
      });
      after(() => {
        if (previous === undefined) delete process.env.TAPLINE_HTTP_CLIENT;
        else process.env.TAPLINE_HTTP_CLIENT = previous;
      });
      define(client);
    });
  }
}
