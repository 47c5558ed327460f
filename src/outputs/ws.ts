/**
 * `--output-ws ws[s]://[user[:pass]@]host[:port]/path`: forwards requests and original responses over
 * WebSocket, one binary frame per message (`meta LF payload`, spec §9.1), with gor's Basic authorization from
 * the URL's userinfo. Workers, sticky choice, reconnects and buffering are those of --output-tcp
 * (src/net/forwarder.ts).
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';
import type { OutputPluginDef } from '../core/registry.js';
import { forwarder } from '../net/forwarder.js';
import { dialWebSocket, messageFrame, parseWsUrl, type WsTarget } from '../net/ws-dial.js';
import { forwardingSettings } from './tcp.js';
import { wsOutputDecl } from './ws-flags.js';

export const wsOutputPlugin: OutputPluginDef = {
  ...wsOutputDecl,
  create({ address, flags, ctx }) {
    let target: WsTarget;
    try {
      target = parseWsUrl(address);
    } catch (cause) {
      throw new TaplineError(ERROR_CODES.USAGE, `${JSON.stringify(redactUrl(address))}: ${(cause as Error).message}`, {
        where: '--output-ws',
        cause,
      });
    }
    const settings = forwardingSettings(flags, 'output-ws');
    const name = `output-ws(${redactUrl(target.url.href)})`;
    if (target.emptyPort) {
      // Valid (RFC 3986: the port may be empty) and dialed as gor dials it, but most likely an unset variable.
      const secure = target.url.protocol === 'wss:';
      ctx.log.warn(
        `${name}: the URL has ':' and no port after it: messages go to port ${secure ? 443 : 80}, ` +
          `the ${secure ? 'wss' : 'ws'}:// default, as gor sends them (was a variable meant to give the port, as in ` +
          'ws://relay:$PORT?)',
      );
    }
    return forwarder({
      name,
      workers: settings.workers,
      sticky: settings.sticky,
      queueLimit: settings.queueLimit,
      encode: (msg) => messageFrame(msg.meta.line, msg.data),
      dial: () => dialWebSocket(target, { skipVerify: settings.skipVerify, timeoutMs: 5000 }),
      log: ctx.log,
      flushTimeoutMs: 5000,
      ...(settings.queueStats ? { queueStats: { name: 'output_ws', periodMs: 5000 } } : {}),
    });
  },
};
