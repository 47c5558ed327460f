/** Dialing a TCP or TLS peer with a timeout, as a Conduit (gor: 5 s dial timeout, spec §9.1). */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type Conduit, socketConduit } from './conduit.js';

export interface DialOptions {
  host: string;
  port: number;
  /** TLS client; certificates are verified against Node's CAs (plus NODE_EXTRA_CA_CERTS) unless skipVerify. */
  tls?: { skipVerify: boolean };
  timeoutMs: number;
}

export function dialSocket(options: DialOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket: Socket = options.tls
      ? tlsConnect({
          host: options.host,
          port: options.port,
          rejectUnauthorized: !options.tls.skipVerify,
          ...(isIP(options.host) ? {} : { servername: options.host }),
        })
      : netConnect({ host: options.host, port: options.port });
    const ready = options.tls ? 'secureConnect' : 'connect';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection after ${options.timeoutMs}ms`));
    }, options.timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.off('error', fail);
      // Redialing a local port in the ephemeral range with nobody listening can connect the socket to itself
      // (TCP simultaneous open): everything written would vanish. Treat it as the refusal it is.
      if (socket.localPort === socket.remotePort && socket.localAddress === socket.remoteAddress) {
        socket.destroy();
        reject(new Error('connection refused (the socket connected to itself: nobody listens there)'));
        return;
      }
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      resolve(socket);
    });
  });
}

export async function dialConduit(options: DialOptions): Promise<Conduit> {
  return socketConduit(await dialSocket(options));
}
