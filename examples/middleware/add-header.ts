/**
 * In-process middleware (--middleware-module): no process, no hex. Adds a header to requests and drops
 * health checks.
 *
 *   tapline --input-file requests.gor --middleware-module ./examples/middleware/add-header.ts --output-http http://staging
 */
import { defineMiddleware } from '../../src/middleware/index.js';

export default defineMiddleware((m) => {
  if (!m.isRequest) return m;
  if (m.path === '/healthz') return null;
  return m.setHeader('X-Replayed-By', 'tapline');
});
