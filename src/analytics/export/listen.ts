/** Small node:http helpers shared by the servers the CLI starts (--metrics, --dashboard). */
import type { Server } from 'node:http';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';

/** Why a listen failed, in words that point at the fix (the flag's value, or what holds the port). */
function listenProblem(cause: NodeJS.ErrnoException): string {
  switch (cause.code) {
    case 'EADDRINUSE':
      return 'the port is in use by another program (choose another port, or :0 for any free one)';
    case 'EADDRNOTAVAIL':
      return 'the address is not one of this machine (give one of its addresses, or :PORT for loopback)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'no such host name';
    case 'EINVAL':
      return 'the system refuses to listen on this address (an IPv6 link-local address needs its interface: [fe80::1%eth0]:PORT)';
    case 'EACCES':
      return 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)';
    default:
      return cause.message;
  }
}

/** Listens, turning EADDRINUSE and friends into a usage error that names the flag and says why. */
export function listenOn(server: Server, listen: { host: string; port: number }, flag: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (cause: NodeJS.ErrnoException) =>
      reject(
        new TaplineError(
          ERROR_CODES.USAGE,
          `cannot listen on ${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}: ${listenProblem(cause)}`,
          { where: `--${flag}`, cause },
        ),
      ),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
}

export function serverUrl(server: Server): string {
  const a = server.address();
  if (!a || typeof a === 'string') return String(a);
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
