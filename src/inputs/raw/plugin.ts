/**
 * The `--input-raw` plugin: its flags (gor's, plus a few of tapline's own) and how they become a raw input.
 * One capture per `--input-raw` occurrence, as in gor.
 */

import { DEFAULT_SNAPLEN } from '../../capture/engines/af-packet.js';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import type { FlagSet, FlagSpec } from '../../core/flags.js';
import { type InputPluginDef, limitInput } from '../../core/registry.js';
import { parseRawAddress } from './address.js';
import { rawInput } from './raw-input.js';
import {
  type EngineName,
  type LiveCaptureOptions,
  openAfPacketSource,
  openFileSource,
  openLibpcapSource,
  openVxlanSource,
  type PacketSource,
} from './sources.js';

const SECTION = 'Live capture (--input-raw)';

const ENGINES: Record<string, EngineName> = {
  '': 'af_packet',
  af_packet: 'af_packet',
  raw_socket: 'af_packet',
  libpcap: 'libpcap',
  pcap: 'libpcap',
  pcap_file: 'pcap_file',
  vxlan: 'vxlan',
};

export const rawFlags: Record<string, FlagSpec> = {
  'input-raw': {
    kind: 'string',
    multi: true,
    value: 'ADDR',
    section: SECTION,
    help:
      'Capture HTTP traffic: :80 (every interface), host:80, iface:80, [::1]:80, :80,8080 (several ports), ' +
      'or a pcap/pcapng file (dump.pcap, dump.pcap:80). Requests become type 1 messages.',
    gorNote: 'k8s:// addresses are refused; a file ends the input at its end (gor keeps running)',
  },
  'input-raw-track-response': {
    kind: 'bool',
    section: SECTION,
    help: 'Also emit responses (type 2), with the id of the request they answer.',
  },
  'input-raw-engine': {
    kind: 'string',
    default: 'af_packet',
    value: 'NAME',
    section: SECTION,
    help:
      'af_packet (Linux TPACKET_V3 ring; raw_socket is the same), libpcap (loaded at run time), pcap_file, ' +
      'or vxlan (a UDP listener on --input-raw-vxlan-port receiving VXLAN-encapsulated traffic).',
    gorNote: "gor's default is libpcap",
  },
  'input-raw-protocol': {
    kind: 'string',
    default: 'http',
    value: 'NAME',
    section: SECTION,
    help: 'http: cut HTTP/1 messages. binary (or raw): pass TCP payloads through, one message per turn of the conversation.',
  },
  'input-raw-realip-header': {
    kind: 'string',
    value: 'NAME',
    section: SECTION,
    help: 'Set this header to the client IP on every captured request (X-Real-IP, say).',
  },
  'input-raw-expire': {
    kind: 'duration',
    default: '2s',
    value: 'DURATION',
    section: SECTION,
    help: 'A connection with no packet for this long is given up: its unfinished message is reported (0 = 1s).',
  },
  'input-raw-bpf-filter': {
    kind: 'string',
    value: 'EXPR',
    section: SECTION,
    help: 'A tcpdump filter expression replacing the generated one (compiled by libpcap, which must be installed).',
  },
  'input-raw-timestamp-type': {
    kind: 'string',
    value: 'TYPE',
    section: SECTION,
    help: 'Timestamp source: go = the wall clock when the packet is read; libpcap names (host, adapter…) with libpcap.',
  },
  'input-raw-snaplen': {
    kind: 'size',
    default: String(DEFAULT_SNAPLEN),
    value: 'BYTES',
    section: SECTION,
    help: 'Bytes kept of each packet. The default keeps whole packets, even offloaded 64 KiB ones.',
    gorNote: 'tapline only; gor uses the MTU + 200, which cuts offloaded (GRO/TSO) packets short',
  },
  'input-raw-override-snaplen': {
    kind: 'bool',
    section: SECTION,
    help: 'Snaplen 65736 (the default here already).',
  },
  'input-raw-buffer-timeout': {
    kind: 'duration',
    default: '0',
    value: 'DURATION',
    section: SECTION,
    help: 'How long the kernel holds captured packets before handing them over (0 = 10ms).',
    gorNote: "gor's 0 means 2s",
  },
  'input-raw-buffer-size': {
    kind: 'size',
    default: '0',
    value: 'BYTES',
    section: SECTION,
    help: 'Kernel capture buffer (ring) size (0 = 32mb).',
  },
  'input-raw-promisc': {
    kind: 'bool',
    section: SECTION,
    help: 'Promiscuous mode: capture traffic for other hosts too (the host part of the filter is dropped).',
  },
  'input-raw-monitor': {
    kind: 'bool',
    section: SECTION,
    help: 'Wi-Fi monitor mode (libpcap engine; ignored when the interface cannot do it).',
  },
  'input-raw-stats': {
    kind: 'bool',
    section: SECTION,
    help: 'Print the capture fidelity counters every 5s and at exit: packets, kernel drops, gaps, incomplete messages and why.',
    gorNote: 'gor collects them but never prints them',
  },
  'input-raw-allow-incomplete': {
    kind: 'bool',
    section: SECTION,
    help: 'Emit incomplete messages too (marked incomplete=REASON in the meta line); they are always counted.',
  },
  'input-raw-ignore-interface': {
    kind: 'string',
    multi: true,
    value: 'NAME',
    section: SECTION,
    help: 'An interface to leave out when capturing on every interface.',
  },
  'input-raw-vxlan-port': {
    kind: 'int',
    default: '4789',
    value: 'PORT',
    section: SECTION,
    help: 'UDP port of VXLAN: the vxlan engine listens on it; every other engine unwraps VXLAN packets to it (0 = 4789).',
  },
  'input-raw-vxlan-vni': {
    kind: 'int',
    multi: true,
    value: 'VNI',
    section: SECTION,
    help: 'Keep this VXLAN network (positive) or leave it out (negative).',
  },
  'input-raw-vlan': {
    kind: 'bool',
    section: SECTION,
    help: 'Capture only 802.1Q-tagged frames.',
  },
  'input-raw-vlan-vid': {
    kind: 'int',
    multi: true,
    value: 'VID',
    section: SECTION,
    help: 'Capture only frames tagged with this VLAN id (any of the ids given).',
    gorNote: 'several ids mean any of them; gor asks libpcap for nested tags',
  },
  'input-raw-max-size': {
    kind: 'size',
    default: '64mb',
    value: 'BYTES',
    section: SECTION,
    help: 'Largest message kept whole; a larger one is cut there, marked incomplete=max-size and counted.',
    gorNote: 'tapline only; gor cuts at --copy-buffer-size without saying so',
  },
  'input-raw-workers': {
    kind: 'int',
    default: '1',
    value: 'N',
    section: SECTION,
    help:
      'Capture and cut messages on N threads (af_packet engine): the kernel spreads connections over them by ' +
      'flow hash (PACKET_FANOUT), both directions of a connection on one thread. Same messages as one thread.',
    gorNote: 'tapline only',
  },
  'input-raw-probability': {
    kind: 'float',
    default: '1',
    value: 'P',
    section: SECTION,
    help: 'Keep this fraction of requests (0.1 = one in ten), each with its response.',
  },
};

export const rawInputPlugin: InputPluginDef = {
  role: 'input',
  flag: 'input-raw',
  summary: 'Capture HTTP traffic live or from pcap/pcapng files',
  flags: rawFlags,
  create({ address: text, limit, flags: f, ctx }) {
    const engineText = f.string('input-raw-engine');
    const engine = ENGINES[engineText];
    if (engine === undefined) {
      throw usage(
        '--input-raw-engine',
        `unknown engine ${JSON.stringify(engineText)} (af_packet, raw_socket, libpcap, pcap_file, vxlan)`,
      );
    }
    const address = parseRawAddress(text, engine === 'pcap_file');
    const protocolText = f.string('input-raw-protocol');
    if (!['', 'http', 'binary', 'raw'].includes(protocolText)) {
      throw usage('--input-raw-protocol', `unknown protocol ${JSON.stringify(protocolText)} (http, binary)`);
    }
    const probability = f.number('input-raw-probability');
    if (!(probability > 0 && probability <= 1)) {
      throw usage('--input-raw-probability', `must be above 0 and at most 1 (got ${probability})`);
    }
    const maxSize = f.number('input-raw-max-size');
    if (!(maxSize > 0)) throw usage('--input-raw-max-size', 'must be above 0');
    const expireMs = f.number('input-raw-expire') || 1000;
    const live = liveOptions(f);
    const workers = f.number('input-raw-workers');
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
      throw usage('--input-raw-workers', `must be from 1 to ${MAX_WORKERS} (got ${workers})`);
    }
    if (workers > 1 && (address.file || engine !== 'af_packet')) {
      throw usage(
        '--input-raw-workers',
        `several workers need the af_packet engine on a live interface (this input is ${address.file ? 'a file' : engine})`,
      );
    }
    const options = {
      protocol: protocolText === 'binary' || protocolText === 'raw' ? ('binary' as const) : ('http' as const),
      trackResponse: f.bool('input-raw-track-response'),
      allowIncomplete: f.bool('input-raw-allow-incomplete'),
      realIpHeader: f.string('input-raw-realip-header'),
      expireNs: BigInt(Math.round(expireMs * 1e6)),
      maxSize,
      probability,
      wallClock: f.string('input-raw-timestamp-type') === 'go',
      vxlanPort: f.number('input-raw-vxlan-port'),
      vxlanVnis: f.numbers('input-raw-vxlan-vni'),
      vlanOnly: f.bool('input-raw-vlan'),
      vlanIds: f.numbers('input-raw-vlan-vid'),
    };
    const input = rawInput({
      address,
      open: async (): Promise<PacketSource> => {
        if (address.file) return openFileSource(address, ctx.log);
        if (engine === 'vxlan') {
          return openVxlanSource(
            { port: options.vxlanPort, vnis: options.vxlanVnis, bufferSize: live.bufferSize },
            address,
          );
        }
        if (engine === 'libpcap') {
          return openLibpcapSource(address, live, {
            timestampType: f.string('input-raw-timestamp-type'),
            monitor: f.bool('input-raw-monitor'),
          });
        }
        return openAfPacketSource(address, live);
      },
      ...options,
      ...(workers > 1
        ? {
            workers: {
              count: workers,
              start: {
                address,
                live,
                flow: { ...options, ports: address.ports },
                fanoutGroup: randomFanoutGroup(),
                window: WORKER_WINDOW,
              },
            },
          }
        : {}),
      printStats: f.bool('input-raw-stats'),
      statsIntervalMs: 5000,
      log: ctx.log,
      name: `input-raw(${text})`,
    });
    return limitInput(input, limit);
  },
};

const MAX_WORKERS = 64;
/** Message batches a worker may have in flight to the main thread before it stops reading its ring. */
const WORKER_WINDOW = 8;

/**
 * Fanout groups are per network namespace, so two captures choosing the same id would share packets:
 * a random id makes that unlikely (the kernel refuses a group whose members disagree on the mode).
 */
function randomFanoutGroup(): number {
  return 1 + Math.floor(Math.random() * 0xfffe);
}

function liveOptions(f: FlagSet): LiveCaptureOptions {
  const bufferSize = f.number('input-raw-buffer-size');
  const timeoutMs = f.number('input-raw-buffer-timeout');
  return {
    trackResponse: f.bool('input-raw-track-response'),
    promiscuous: f.bool('input-raw-promisc'),
    snaplen: f.bool('input-raw-override-snaplen') ? DEFAULT_SNAPLEN : f.number('input-raw-snaplen'),
    bufferSize: bufferSize > 0 ? bufferSize : undefined,
    timeoutMs: timeoutMs > 0 ? Math.round(timeoutMs) : undefined,
    ignoreInterfaces: f.list('input-raw-ignore-interface'),
    vlan: f.bool('input-raw-vlan'),
    vlanIds: f.numbers('input-raw-vlan-vid'),
    bpfFilter: f.string('input-raw-bpf-filter'),
  };
}

function usage(flag: string, why: string): TaplineError {
  return new TaplineError(ERROR_CODES.USAGE, why, { where: flag });
}
