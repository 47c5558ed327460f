/** Simulated users for the demo: a few keep-alive clients browsing the shop with human-like pauses. */
import { Agent, request } from 'node:http';

interface Page {
  method: string;
  path: string;
  body?: string;
}

const PAGES: ((n: number) => Page)[] = [
  () => ({ method: 'GET', path: '/' }),
  () => ({ method: 'GET', path: '/api/products' }),
  (n: number) => ({ method: 'GET', path: `/api/products/${1 + (n % 45)}` }),
  (n: number) => ({ method: 'GET', path: `/api/users/${100 + (n % 17)}/orders` }),
  (n: number) => ({ method: 'GET', path: `/static/app.${(n % 3).toString(16)}f3a.js` }),
  (n: number) => ({ method: 'POST', path: '/api/orders', body: JSON.stringify({ product: n % 40, qty: 1 + (n % 3) }) }),
];

/**
 * Sends `total` requests from `users` concurrent keep-alive clients, pausing 5–25 ms between requests. Once
 * `stop` is aborted no user starts another request; those in flight are answered (the demo's own site, on
 * 127.0.0.1) so that the recording ends on whole exchanges.
 */
export async function browse(port: number, total: number, users = 4, stop?: AbortSignal): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: users });
  let next = 0;
  let done = 0;
  const user = async () => {
    while (next < total && !stop?.aborted) {
      const n = next++;
      const page = PAGES[(n * 7) % PAGES.length]!(n);
      await send(agent, port, page.method, page.path, page.body);
      done++;
      await new Promise((r) => setTimeout(r, 5 + ((n * 13) % 21)));
    }
  };
  await Promise.all(Array.from({ length: users }, user));
  agent.destroy();
  return done;
}

function send(agent: Agent, port: number, method: string, path: string, body?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, agent, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
