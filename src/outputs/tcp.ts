/**
 * `--output-tcp host:port`: forwards requests and original responses to another tapline's (or gor's)
 * `--input-tcp`, framed as `.gor` records (spec §9.1, §2.3), over N persistent connections, TLS with
 * `--output-tcp-secure`. Reconnects with backoff; buffers (bounded) while the peer is away. The links and the
 * worker choice live in src/net/forwarder.ts.
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import type { FlagSet, FlagSpec } from '../core/flags.js';
import { SEPARATOR } from '../core/gor-format.js';
import type { Message } from '../core/message.js';
import type { OutputPluginDef } from '../core/registry.js';
import { dialHost, parseHostPort } from '../net/address.js';
import { dialConduit } from '../net/dial.js';
import { forwarder } from '../net/forwarder.js';

export const FORWARDING_SECTION = 'Forwarding (--input-tcp, --output-tcp, --output-ws)';

/** gor's wire bytes for one message: meta line, LF, payload, separator (no extra LF: docs/compat.md). */
export function encodeGorRecord(msg: Message): Buffer {
  const head = Buffer.from(`${msg.meta.line}\n`, 'latin1');
  return Buffer.concat([head, msg.data, SEPARATOR], head.length + msg.data.length + SEPARATOR.length);
}

/** Flags every forwarding output has, under its prefix (`output-tcp`, `output-ws`). */
export function forwardingFlags(prefix: string, what: string): Record<string, FlagSpec> {
  return {
    [`${prefix}-workers`]: {
      kind: 'int',
      default: '10',
      value: 'N',
      section: FORWARDING_SECTION,
      help: `Persistent ${what} connections; messages are spread over them.`,
    },
    [`${prefix}-sticky`]: {
      kind: 'bool',
      section: FORWARDING_SECTION,
      help: 'Choose the connection by the message id (FNV-1a), so a request and its response travel together.',
    },
    [`${prefix}-skip-verify`]: {
      kind: 'bool',
      section: FORWARDING_SECTION,
      help: 'Do not verify the peer TLS certificate (to trust a private CA instead, set NODE_EXTRA_CA_CERTS).',
    },
    [`${prefix}-stats`]: {
      kind: 'bool',
      section: FORWARDING_SECTION,
      help: `With --stats: print gor's queue statistics (${prefix.replace('-', '_')}:latest,mean,max,count,count/second,gcount; gcount = connected links) every 5s.`,
    },
    [`${prefix}-queue-limit`]: {
      kind: 'int',
      default: '1000',
      value: 'N',
      section: FORWARDING_SECTION,
      help: 'Messages each connection buffers while the peer is away (more are dropped and counted) or slow (the input waits). tapline only.',
      gorNote: 'gor blocks on a 100-message queue',
    },
  };
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
  role: 'output',
  flag: 'output-tcp',
  summary: 'Forward messages to another tapline or gor --input-tcp',
  flags: {
    'output-tcp': {
      kind: 'string',
      multi: true,
      value: 'HOST:PORT',
      section: FORWARDING_SECTION,
      help: 'Forward requests and original responses to another tapline or gor listening with --input-tcp.',
    },
    'output-tcp-secure': {
      kind: 'bool',
      section: FORWARDING_SECTION,
      help: 'Connect with TLS (the peer runs --input-tcp-secure).',
    },
    ...forwardingFlags('output-tcp', 'TCP'),
  },
  create({ address, flags, ctx }) {
    const addr = parseHostPort(address, 'output-tcp');
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
          ...(secure ? { tls: { skipVerify: settings.skipVerify } } : {}),
        }),
      log: ctx.log,
      flushTimeoutMs: 5000,
      ...(settings.queueStats ? { queueStats: { name: 'output_tcp', periodMs: 5000 } } : {}),
    });
  },
};
