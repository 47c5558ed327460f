/**
 * `--output-tcp host:port`: forwards requests and original responses to another tapline's (or gor's)
 * `--input-tcp`, framed as `.gor` records (spec §9.1, §2.3), over N persistent connections, TLS with
 * `--output-tcp-secure`. Reconnects with backoff; buffers (bounded) while the peer is away. The links and the
 * worker choice live in src/net/forwarder.ts.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet } from '../core/flags.js';
import { SEPARATOR } from '../core/gor-format.js';
import type { Message } from '../core/message.js';
import type { OutputPluginDef } from '../core/registry.js';
import { dialHost, parseHostPort, refuseUnzonedLinkLocal } from '../net/address.js';
import { dialConduit } from '../net/dial.js';
import { forwarder } from '../net/forwarder.js';
import { tcpOutputDecl } from './tcp-flags.js';

/** gor's wire bytes for one message: meta line, LF, payload, separator (no extra LF: docs/compat.md). */
export function encodeGorRecord(msg: Message): Buffer {
  const head = Buffer.from(`${msg.meta.line}\n`, 'latin1');
  return Buffer.concat([head, msg.data, SEPARATOR], head.length + msg.data.length + SEPARATOR.length);
}

export interface ForwardingSettings {
  workers: number;
  sticky: boolean;
  skipVerify: boolean;
  queueLimit: number;
  queueStats: boolean;
}

export function forwardingSettings(flags: FlagSet, prefix: string): ForwardingSettings {
  const positive = (flag: string) => {
    const n = flags.number(flag);
    if (!(n >= 1)) throw new TaplineError(ERROR_CODES.USAGE, `must be ≥ 1, got ${n}`, { where: `--${flag}` });
    return n;
  };
  return {
    workers: positive(`${prefix}-workers`),
    sticky: flags.bool(`${prefix}-sticky`),
    skipVerify: flags.bool(`${prefix}-skip-verify`),
    queueLimit: positive(`${prefix}-queue-limit`),
    queueStats: flags.bool(`${prefix}-stats`) && flags.bool('stats'),
  };
}

export const tcpOutputPlugin: OutputPluginDef = {
  ...tcpOutputDecl,
  create({ address, flags, ctx }) {
    const addr = parseHostPort(address, 'output-tcp');
    refuseUnzonedLinkLocal(addr, 'output-tcp');
    if (addr.port === 0) {
      throw new TaplineError(ERROR_CODES.USAGE, `${address}: cannot connect to port 0`, { where: '--output-tcp' });
    }
    const settings = forwardingSettings(flags, 'output-tcp');
    const host = dialHost(addr);
    const secure = flags.bool('output-tcp-secure');
    return forwarder({
      name: `output-tcp(${address})`,
      workers: settings.workers,
      sticky: settings.sticky,
      queueLimit: settings.queueLimit,
      encode: encodeGorRecord,
      dial: () =>
        dialConduit({
          host,
          port: addr.port,
          timeoutMs: 5000,
          ...(secure ? { tls: { skipVerify: settings.skipVerify, skipVerifyFlag: 'output-tcp-skip-verify' } } : {}),
        }),
      log: ctx.log,
      flushTimeoutMs: 5000,
      ...(settings.queueStats ? { queueStats: { name: 'output_tcp', periodMs: 5000 } } : {}),
    });
  },
};
