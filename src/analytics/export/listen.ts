/** Small node:http helpers shared by the servers the CLI starts (--metrics, --dashboard). */
import type { Server } from 'node:http';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { listenProblem } from '../../net/address.js';

/**
 * The ports tapline's own servers listen on now, and the flag of each. Given the same port twice (`--metrics :9464
 * --dashboard :9464`), the second was told 'the port is in use by another program': the program was tapline.
 */
const ownPorts = new Map<number, string>();

/** Listens, turning EADDRINUSE and friends into a usage error that names the flag and says why. */
export function listenOn(server: Server, listen: { host: string; port: number }, flag: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (cause: NodeJS.ErrnoException) => {
      const own = cause.code === 'EADDRINUSE' ? ownPorts.get(listen.port) : undefined;
      const why = own
        ? `tapline's own --${own} listens there: give each its own port (or :0 for any free one)`
        : listenProblem(cause);
      const at = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
      reject(new TaplineError(ERROR_CODES.USAGE, `cannot listen on ${at}: ${why}`, { where: `--${flag}`, cause }));
    };
    server.once('error', failed);
    server.listen(listen.port, listen.host, () => {
      server.off('error', failed);
      const bound = server.address();
      if (bound && typeof bound === 'object') {
        ownPorts.set(bound.port, flag);
        server.once('close', () => ownPorts.delete(bound.port));
      }
      resolve();
    });
  });
}

export function serverUrl(server: Server): string {
  const a = server.address();
  if (!a || typeof a === 'string') return String(a);
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

/**
 * The dashboard's address to open: 'http://0.0.0.0:PORT/' (--dashboard 0.0.0.0:PORT) is where it listens, not an
 * address to browse (browsers refuse 0.0.0.0 or treat it apart): loopback is given, and that it is exposed.
 */
export function browsable(url: string): string {
  const any = /^http:\/\/(0\.0\.0\.0|\[::\]):(\d+)$/.exec(url);
  if (!any) return `${url}/`;
  const loopback = any[1] === '[::]' ? '[::1]' : '127.0.0.1';
  return `http://${loopback}:${any[2]}/ (listening on every address, ${any[1]}: open to the network, no login)`;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
