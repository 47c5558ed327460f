/**
 * Peers on loopback that stop reading and reset a connection, and what their own kernel received (Linux
 * TCP_INFO tcpi_bytes_received, through the tapline_net addon on the peer's socket): the yardstick for the
 * not_acknowledged counts of --output-tcp, --output-ws and --output-binary. Callers skip where the addon is
 * not built (`netAddon()` is null). And a run of tapline read back through its --stats line.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { netAddon } from '../../src/net/tcp-ack.js';
import { startPeer } from '../forwarding/peers.js';

/** Bytes the socket's kernel has received from the other side. */
export function bytesReceived(socket: Socket): number {
  const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
  const info = netAddon()!.tcpAcked(fd);
  assert.ok(typeof info !== 'number', `tcpAcked: ${info}`);
  return info[1];
}

/** Waits (bounded: 10 s) until the socket's kernel has received nothing new for 300 ms; returns what it got. */
export async function receivedWhenQuiet(socket: Socket): Promise<number> {
  let last = -1;
  let quiet = 0;
  for (let i = 0; i < 200 && quiet < 6; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = bytesReceived(socket);
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
  return last;
}

/** Listens on 127.0.0.1, an ephemeral port; resolves with the port. */
export function listenLocal(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

/**
 * A peer whose first connection reads `readFirst` bytes, then stops reading and resets once its kernel is
 * quiet (`receivedFirst`: what that kernel had received); later connections are read to their end and their
 * bytes counted (`laterBytes`).
 */
export function resettingPeer(readFirst: number) {
  const state = { connections: 0, receivedFirst: -1, laterBytes: 0 };
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    if (++state.connections > 1) {
      socket.on('data', (d: Buffer) => (state.laterBytes += d.length));
      socket.on('end', () => socket.end());
      return;
    }
    let read = 0;
    const stopAndReset = async () => {
      socket.pause();
      state.receivedFirst = await receivedWhenQuiet(socket);
      socket.resetAndDestroy();
    };
    if (readFirst === 0) void stopAndReset();
    else
      socket.on('data', (d: Buffer) => {
        read += d.length;
        if (read >= readFirst && !socket.isPaused()) void stopAndReset();
      });
  });
  return { server, state };
}

/** A peer that reads `total` bytes (`state.got`), then closes (FIN) or resets. */
export function readAllPeer(total: number, ending: 'close' | 'reset') {
  const state = { got: 0 };
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      state.got += d.length;
      if (state.got < total) return;
      if (ending === 'close') socket.end();
      // A reset at once may go out before this TCP's delayed ACK of the last segments (Linux holds it up to
      // 200 ms): the sender's kernel then never learns they arrived, and tapline rightly counts them as not
      // acknowledged (33 of 2,000 in one clean-clone run). "Reads everything" means acknowledged everything too.
      else setTimeout(() => socket.resetAndDestroy(), 250);
    });
  });
  return { server, state };
}

export interface OutputOutcome {
  code: number | null;
  stderr: string;
  /** The one output's --stats counters. */
  stats: Record<string, number>;
}

/** Runs tapline (`args` must hold --stats and one output) to its end; its exit code and that output's stats. */
export async function runOneOutput(args: string[], env: Record<string, string> = {}): Promise<OutputOutcome> {
  const p = startPeer(args, env);
  const { code } = await p.exited;
  const json = p
    .stderr()
    .split('\n')
    .find((l) => l.startsWith('{'));
  assert.ok(json, p.stderr());
  const outputs = JSON.parse(json).outputs as Record<string, Record<string, number>>;
  return { code, stderr: p.stderr(), stats: Object.values(outputs)[0]! };
}
