/**
 * `--input-raw` addresses (spec §8.1): `:80`, `:80,8080`, `host:80`, `iface:80`, `[::1]:80`, `eth*:80`,
 * `dump.pcap`, `dump.pcap:80`, `-` and `-:80` (a capture on standard input, as `tcpdump -r -` reads one:
 * `tcpdump -w - | tapline --input-raw -:80`). The host part names what to capture on; the ports are the
 * server ports (requests go to them, responses come from them). No port, or port 0, means every port.
 *
 * Differences from gor (docs/compat.md): `k8s://` addresses are refused with a clear error (no cluster API
 * here); a port outside 1-65535 is refused instead of being cut to 16 bits.
 */
import { isIP } from 'node:net';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';

export interface RawAddress {
  /** The address as given. */
  readonly text: string;
  /** `''` for every interface, an IP address, an interface name, or a name prefix ending in `*`. */
  readonly host: string;
  /** Server ports; empty = every port. */
  readonly ports: readonly number[];
  /**
   * The host names a capture file (it ends in `pcap`, `pcapng` or `cap`, or the engine is pcap_file), or is
   * `-`: one read from standard input (`STDIN_CAPTURE`).
   */
  readonly file: boolean;
  /**
   * A colon with nothing after it (`127.0.0.1:`, `:`, `[::1]:`): every port, as gor reads it, but more likely a
   * port forgotten than meant, so the input says so once.
   */
  readonly emptyPort?: boolean;
  /**
   * The host was written `localhost`: `host` is 127.0.0.1, as gor reads it, and a live capture filters on ::1
   * too when the interface has it (a client may reach localhost over either; Node 17 and later try ::1 first).
   */
  readonly localhost?: boolean;
}

/** A capture file's name: `…pcap`, `…pcapng`, `….cap`, or one of them gzip-compressed (`dump.pcap.gz`). */
const FILE_SUFFIX = /(pcap|pcapng|\.cap)(\.gz)?$/i;

/** The host of a capture read from standard input (`-`, `-:80`). */
export const STDIN_CAPTURE = '-';

/** Parses one `--input-raw` value. `pcapFile` forces the host to be read as a file path. */
export function parseRawAddress(text: string, pcapFile = false): RawAddress {
  const where = '--input-raw';
  if (text.startsWith('k8s://')) {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `${JSON.stringify(text)}: k8s:// addresses are not supported (capture on the node's interface instead, e.g. any:80)`,
      { where },
    );
  }
  if (text.trim() === '' && !pcapFile) {
    throw usage(
      text,
      'names nothing to capture: write :80 (port 80, every interface), lo:80 (one interface) or a capture file',
    );
  }
  if (/^\d+(,\d+)*$/.test(text) && !pcapFile) {
    // gor refuses it too ("missing port in address"); read as a host it became an IP address "80".
    throw usage(text, `a port is written after a colon: :${text} (every interface) or lo:${text} (one interface)`);
  }
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) throw usage(text, 'an IPv6 address needs a closing bracket, as in [::1]:80');
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw usage(text, 'expected :PORT after the bracketed address');
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = text.lastIndexOf(':');
    const looksLikeFile = pcapFile || FILE_SUFFIX.test(colon === -1 ? text : text.slice(0, colon));
    if (colon === -1) {
      host = text;
      portText = undefined;
    } else if (!looksLikeFile && text.indexOf(':') !== colon && isIP(text) === 6) {
      throw usage(text, 'an IPv6 address with a port needs brackets, as in [::1]:80');
    } else {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
      if (!looksLikeFile && host.includes(':')) {
        // `lo:80:81` read as host "lo:80" (said later as 'not an IP address'); gor: "too many colons".
        throw usage(
          text,
          'more than one colon: several ports are written lo:80,81, an IPv6 address in brackets ([::1]:80)',
        );
      }
    }
  }
  const localhost = host === 'localhost';
  if (localhost) host = '127.0.0.1';
  if (host === '0.0.0.0' || host === '::') host = '';
  const ports = portText === undefined ? [] : parsePorts(text, portText);
  const file = pcapFile || host === STDIN_CAPTURE || (host !== '' && FILE_SUFFIX.test(host) && isIP(host) === 0);
  if (file && host === '') throw usage(text, 'no capture file named');
  const emptyPort = portText === '';
  return {
    text,
    host,
    ports: ports.includes(0) ? [] : ports,
    file,
    ...(emptyPort ? { emptyPort } : {}),
    ...(localhost && !file ? { localhost } : {}),
  };
}

function parsePorts(text: string, portText: string): number[] {
  if (portText === '') return [];
  return portText.split(',').map((p) => {
    if (/^-\d+$/.test(p)) throw usage(text, `port ${p} is negative: a port is 0 to 65535 (0: every port)`);
    if (!/^\d+$/.test(p)) throw usage(text, `port ${JSON.stringify(p)} is not a number`);
    const n = Number(p);
    if (n > 65535) throw usage(text, `port ${n} is above 65535`);
    return n;
  });
}

function usage(text: string, why: string): TaplineError {
  return new TaplineError(ERROR_CODES.USAGE, `${JSON.stringify(text)}: ${why}`, { where: '--input-raw' });
}
