/**
 * `host:port` addresses for the forwarding plugins (gor's Go `net` syntax): `:28020` (every interface when
 * listening, this host when dialing), `127.0.0.1:28020`, `[::1]:28020`, `name:28020`. Port 0 listens on an
 * ephemeral port (the chosen one is logged). `listenProblem` words a failed listen for every listening flag.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ERROR_CODES, TaplineError } from '../core/errors.js';

export interface HostPort {
  /** '' = every interface (listen) or this host (dial). */
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port`; a bad one is a usage error naming the flag. */
export function parseHostPort(text: string, flag: string): HostPort {
  const bad = (why: string) =>
    new TaplineError(ERROR_CODES.USAGE, `${JSON.stringify(text)}: ${why} (expected host:port, e.g. :28020)`, {
      where: `--${flag}`,
    });
  const colon = text.lastIndexOf(':');
  if (colon === -1) throw bad('no port');
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) throw bad('unclosed [');
    host = host.slice(1, -1);
  } else if (host.includes(':')) {
    throw bad('IPv6 addresses go in brackets');
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad(`port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  if (port > 65535) throw bad('port above 65535');
  return { host, port };
}

/**
 * An IPv6 link-local address (fe80::/10) without a zone: every dial of it fails (EINVAL, the system cannot
 * tell which link), so the flags that dial refuse it at the start.
 */
export function needsZone(host: string): boolean {
  return !host.includes('%') && isIP(host) === 6 && /^fe[89ab]/i.test(host);
}

/** A dialing flag's address that {@link needsZone}: a usage error saying how to write it. */
export function refuseUnzonedLinkLocal(addr: HostPort, flag: string): void {
  if (!needsZone(addr.host)) return;
  throw new TaplineError(
    ERROR_CODES.USAGE,
    `${formatHostPort(addr.host, addr.port)}: an IPv6 link-local address needs its interface: ${formatHostPort(`${addr.host}%eth0`, addr.port)}`,
    { where: `--${flag}` },
  );
}

/** The host to dial for a parsed address: an empty host means this machine. */
export function dialHost(addr: HostPort): string {
  return addr.host === '' ? '127.0.0.1' : addr.host;
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * `fe80::1%eth0` with its zone as the interface's index (`fe80::1%2`), for resolvers that take only a
 * numeric zone on some addresses (glibc's getaddrinfo refuses `::1%lo` and `fd00::1%eth0`, takes `::1%1`).
 * A host without a zone, or whose zone names no interface here, is returned as it is.
 */
export function numericZone(host: string): string {
  const percent = host.indexOf('%');
  if (percent === -1) return host;
  const zone = host.slice(percent + 1);
  if (/^\d+$/.test(zone) || !/^[A-Za-z0-9_.-]+$/.test(zone) || zone === '.' || zone === '..') return host;
  try {
    const index = readFileSync(`/sys/class/net/${zone}/ifindex`, 'utf8').trim();
    return /^\d+$/.test(index) ? `${host.slice(0, percent)}%${index}` : host;
  } catch {
    return host; // no such interface, or no sysfs: the resolver says what is wrong
  }
}

/**
 * Why a listen failed, in words that point at the fix (the flag's value, or what holds the port). `colonPort`:
 * what `:PORT` listens on for the flag at hand.
 */
export function listenProblem(cause: NodeJS.ErrnoException, colonPort = 'for loopback'): string {
  switch (cause.code) {
    case 'EADDRINUSE':
      return 'the port is in use by another program (choose another port, or :0 for any free one)';
    case 'EADDRNOTAVAIL':
      return `the address is not one of this machine (give one of its addresses, or :PORT ${colonPort})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'no such host name';
    case 'EINVAL': {
      // Given a zone the system does not know, the advice to add one read as if none had been given.
      const zone = /%([^%\]]+)$/.exec(String((cause as { address?: unknown }).address ?? ''))?.[1];
      return zone !== undefined
        ? `the system refuses to listen on this address: it has no interface ${zone} (ip link lists them)`
        : 'the system refuses to listen on this address (an IPv6 link-local address needs its interface: [fe80::1%eth0]:PORT)';
    }
    case 'EACCES':
      return 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)';
    default:
      return cause.message;
  }
}
