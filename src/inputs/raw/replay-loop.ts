/**
 * A live capture that sees what the same run replays: `--input-raw lo:8080 --output-http http://127.0.0.1:8080`
 * captures each replayed request and replays it again, without end (one curl became 458 requests in 2 s and
 * kept growing). gor does the same without a word; tapline says it once when the input is created.
 */
import { networkInterfaces } from 'node:os';
import type { FlagSet } from '../../core/flags.js';
import type { RawAddress } from './address.js';

export interface ReplayTargets {
  /** `--output-http` values (URLs, or host:port), with any `|limit` suffix. */
  readonly http: readonly string[];
  /** `--output-binary` values (host:port). */
  readonly binary: readonly string[];
}

/** The run's replay targets, from its flags. */
export function replayTargets(f: FlagSet): ReplayTargets {
  return { http: f.list('output-http'), binary: f.list('output-binary') };
}

/** host and port a target value sends to, or null when it is not one (the output reports that itself). */
function hostPort(value: string, flag: string): { host: string; port: number; text: string } | null {
  const v = value.split('|')[0]!.trim();
  let url: URL;
  try {
    url = new URL(v.includes('://') ? v : `http://${v}`);
  } catch {
    return null;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { host: host === 'localhost' ? '127.0.0.1' : host, port, text: `${flag} ${v}` };
}

const ownAddresses = (list: { address: string }[] | undefined) =>
  (list ?? []).map((e) => e.address.split('%')[0]!.toLowerCase());

/**
 * The addresses whose traffic from this machine the capture of `host` sees. Traffic to an address of this
 * machine goes over lo, and the capture filters on its interface's own addresses (spec 8.2): every address of
 * this machine for every interface, lo's for lo (or a prefix of it), the address itself for 127.0.0.1 or
 * ::1; none for another interface (its own addresses are reached over lo, which it does not see).
 */
function seenAddresses(host: string, interfaces: NodeJS.Dict<{ address: string }[]>): string[] {
  if (['', 'any', '0.0.0.0', '::'].includes(host)) return Object.values(interfaces).flatMap(ownAddresses);
  if (host.startsWith('127.') || host === '::1') return [host];
  const lo = host.endsWith('*') ? 'lo'.startsWith(host.slice(0, -1)) : host === 'lo';
  return lo ? ownAddresses(interfaces.lo) : [];
}

/**
 * The replay targets of this run that the live capture `address` sees (their port is one it captures and
 * their host an address it filters on, reached over lo), as the flag and value the user wrote.
 */
export function capturedReplayTargets(
  address: RawAddress,
  targets: ReplayTargets,
  interfaces: NodeJS.Dict<{ address: string }[]> = networkInterfaces(),
): string[] {
  if (address.file) return [];
  const seen = new Set(seenAddresses(address.host.toLowerCase().replace(/%.*$/, ''), interfaces));
  if (address.localhost && ownAddresses(interfaces.lo).includes('::1')) seen.add('::1');
  const all = [
    ...targets.http.map((v) => hostPort(v, '--output-http')),
    ...targets.binary.map((v) => hostPort(v, '--output-binary')),
  ];
  return all.flatMap((t) => {
    if (t === null || !seen.has(t.host)) return [];
    return address.ports.length === 0 || address.ports.includes(t.port) ? [t.text] : [];
  });
}
