/**
 * A TCP peer on 127.0.0.1 that accepts connections and never reads them (a hung aggregator or replay target):
 * what is sent to it fills the socket buffers, then the sender's queue.
 */
import { type AddressInfo, createServer, type Socket } from 'node:net';

export interface DeafPeer {
  readonly port: number;
  /** The accepted connections, paused. */
  readonly sockets: Socket[];
  /** Destroys the connections and stops listening. */
  close(): void;
}

export async function startDeafPeer(): Promise<DeafPeer> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    socket.pause();
    socket.on('error', () => undefined);
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
