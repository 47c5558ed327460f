/** Dialing a TCP or TLS peer with a timeout, as a Conduit (gor: 5 s dial timeout, spec §9.1). */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type Conduit, socketConduit } from './conduit.js';

export interface DialOptions {
  host: string;
  port: number;
  /**
   * TLS client; certificates are verified against Node's CAs (plus NODE_EXTRA_CA_CERTS) unless skipVerify.
   * `skipVerifyFlag` (`--output-tcp-skip-verify`) is named when a certificate is refused.
   */
  tls?: { skipVerify: boolean; skipVerifyFlag?: string };
  timeoutMs: number;
}

/** Node's codes for a certificate the CA list or the host name check refuses. */
const CERTIFICATE_REFUSED =
  /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID)$/;

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
    // With TLS, 'connect' is the TCP connection: a timeout after it is a peer that does not answer TLS.
    let tcpUp = false;
    if (options.tls) socket.once('connect', () => (tcpUp = true));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          tcpUp
            ? `no TLS handshake within ${options.timeoutMs}ms: the peer took the connection but did not answer TLS (is it listening without TLS, e.g. --input-tcp without --input-tcp-secure?)`
            : `no connection after ${options.timeoutMs}ms`,
        ),
      );
    }, options.timeoutMs);
    const fail = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const flag = options.tls?.skipVerifyFlag;
      if (flag && err.code && CERTIFICATE_REFUSED.test(err.code)) {
        reject(
          new Error(`${err.message} (${err.code}); --${flag} accepts it, or trust its CA with NODE_EXTRA_CA_CERTS`),
        );
        return;
      }
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
