/** Small node:http helpers shared by the servers the CLI starts (--metrics, --dashboard). */
import type { Server } from 'node:http';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import { listenProblem } from '../../net/address.js';

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
