/**
 * The classic token rewrite, with tapline's helper library. A login (`POST /token`) returned token A when
 * the traffic was captured; replayed against staging, the same login returns token B. Later requests carry
 * A (`?token=A` or `Authorization: Bearer A`) and staging only knows B, so this middleware learns A → B from
 * the original response (type 2) and the replayed one (type 3) of each login, whichever comes first, and
 * rewrites later requests. A request whose token cannot be mapped yet waits (up to 5 s) while a login is in
 * flight, since the replayed login response may come back after it. Everything else passes through unchanged.
 *
 *   tapline --input-raw :8080 --input-raw-track-response \
 *     --middleware "node --import tsx examples/middleware/token-rewrite.ts" \
 *     --output-http http://staging:8080 --output-http-track-response
 *
 * From your own project, import from 'tapline/middleware' instead of the relative path.
 */
import { type HttpMessage, MiddlewareRunner } from '../../src/middleware/index.js';

const loginPath = process.env.TOKEN_PATH ?? '/token';
/** How long a request may wait for a login in flight before it is sent on unchanged. */
const HOLD_MS = 5000;
/** original token → replayed token */
const tokens = new Map<string, string>();
/** Logins whose original and replayed responses have not both arrived yet. */
const loginsInFlight = new Set<string>();
/** Requests carrying a token we cannot map yet, while a login is in flight (gor gives no ordering guarantee). */
let held: HttpMessage[] = [];
let holdTimer: NodeJS.Timeout | undefined;
const mw = new MiddlewareRunner();

function tokenOf(req: HttpMessage): string | undefined {
  return req.param('token') ?? /^Bearer (.+)$/.exec(req.header('Authorization') ?? '')?.[1];
}

function rewrite(req: HttpMessage): HttpMessage {
  const param = req.param('token');
  if (param !== undefined && tokens.has(param)) req.setParam('token', tokens.get(param)!);
  const bearer = /^Bearer (.+)$/.exec(req.header('Authorization') ?? '')?.[1];
  if (bearer !== undefined && tokens.has(bearer)) req.setHeader('Authorization', `Bearer ${tokens.get(bearer)}`);
  return req;
}

function release(): void {
  clearTimeout(holdTimer);
  holdTimer = undefined;
  const waiting = held;
  held = [];
  for (const req of waiting) mw.write(rewrite(req));
}

mw.on('request', (req) => {
  if (req.path.startsWith(loginPath)) {
    loginsInFlight.add(req.id);
    mw.correlate(req.id, (original, replayed) => {
      tokens.set(original.text.trim(), replayed.text.trim());
      process.stderr.write(`token-rewrite: ${original.text.trim()} -> ${replayed.text.trim()}\n`);
      loginsInFlight.delete(req.id);
      if (loginsInFlight.size === 0) release();
    });
    return req;
  }
  const token = tokenOf(req);
  if (token !== undefined && !tokens.has(token) && loginsInFlight.size > 0) {
    held.push(req);
    holdTimer ??= setTimeout(() => {
      loginsInFlight.clear();
      release();
    }, HOLD_MS);
    return null;
  }
  return rewrite(req);
});

await mw.run();
release();
