/**
 * The demo's web site: a small shop API served by node:http on 127.0.0.1. The same code plays "production"
 * (the origin being recorded) and "staging" (the replay target), and counts what it receives.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoSite {
  readonly url: string;
  readonly port: number;
  readonly received: { requests: number; byStatus: Map<number, number>; firstAt: number; lastAt: number };
  close(): Promise<void>;
}

const PRODUCTS = Array.from({ length: 40 }, (_, i) => ({
  id: i + 1,
  name: `product ${i + 1}`,
  price: 5 + ((i * 37) % 95),
}));

export async function startDemoSite(name: string): Promise<DemoSite> {
  const received = { requests: 0, byStatus: new Map<number, number>(), firstAt: 0, lastAt: 0 };
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const { status, type, payload } = route(req.method ?? 'GET', req.url ?? '/', body);
    const now = performance.now();
    if (received.requests === 0) received.firstAt = now;
    received.lastAt = now;
    received.requests++;
    received.byStatus.set(status, (received.byStatus.get(status) ?? 0) + 1);
    res.writeHead(status, { 'content-type': type, 'x-served-by': name });
    res.end(payload);
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts).toString()));
  });
}

function route(method: string, url: string, body: string): { status: number; type: string; payload: string } {
  const json = (status: number, value: unknown) => ({
    status,
    type: 'application/json',
    payload: JSON.stringify(value),
  });
  const path = url.split('?')[0]!;
  if (path === '/')
    return { status: 200, type: 'text/html', payload: `<h1>demo shop</h1>${'<p>welcome</p>'.repeat(20)}` };
  if (path === '/api/products') return json(200, PRODUCTS);
  const product = /^\/api\/products\/(\d+)$/.exec(path);
  if (product) {
    const p = PRODUCTS[Number(product[1]) - 1];
    return p ? json(200, p) : json(404, { error: 'no such product' });
  }
  const orders = /^\/api\/users\/(\d+)\/orders$/.exec(path);
  if (orders) {
    return json(
      200,
      Array.from({ length: Number(orders[1]) % 5 }, (_, i) => ({ order: i, total: 10 * i })),
    );
  }
  if (path === '/api/orders' && method === 'POST') return json(201, { created: true, received: body.length });
  if (path.startsWith('/static/')) return { status: 200, type: 'application/javascript', payload: 'x'.repeat(4096) };
  return json(404, { error: 'not found' });
}
