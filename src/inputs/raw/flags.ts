/**
 * The `--input-raw` plugin as the command line sees it: its flags and help. Cheap to import (the CLI reads
 * every plugin's declaration at start-up); plugin.ts, the implementation, is loaded only when the flag is used
 * (src/plugins.ts).
 */
import { DEFAULT_SNAPLEN } from '../../capture/types.js';
import type { FlagSpec } from '../../core/flags.js';
import type { InputPluginDecl } from '../../core/registry.js';

export const SECTION = 'Live capture (--input-raw)';

export const rawFlags: Record<string, FlagSpec> = {
  'input-raw': {
    kind: 'string',
    multi: true,
    value: 'ADDR',
    section: SECTION,
    help:
      'Capture HTTP traffic: :80 (every interface), host:80, iface:80, [::1]:80, :80,8080 (several ports), ' +
      'a pcap/pcapng file (dump.pcap, dump.pcap:80), or one on standard input (tcpdump -w - | tapline ' +
      '--input-raw -:80). Requests become type 1 messages.',
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
    min: '0',
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
    // What both live engines take (af_packet and libpcap check it too, but only when the input opens: exit 1).
    min: '64',
    max: '16mb',
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
    min: '0',
    default: '0',
    value: 'DURATION',
    section: SECTION,
    help: 'How long the kernel holds captured packets before handing them over (0 = 10ms).',
    gorNote: "gor's 0 means 2s",
  },
  'input-raw-buffer-size': {
    kind: 'size',
    min: '0',
    default: '0',
    value: 'BYTES',
    section: SECTION,
    help: 'Kernel capture buffer (ring) size (0 = 32mb; af_packet: whole blocks of 128kb, at least 2).',
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
    min: '0',
    max: '65535',
    default: '4789',
    value: 'PORT',
    section: SECTION,
    help: 'UDP port of VXLAN: the vxlan engine listens on it; every other engine unwraps VXLAN packets to it (0 = 4789).',
  },
  'input-raw-vxlan-vni': {
    kind: 'int',
    min: '-16777215',
    max: '16777215',
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
    min: '0',
    max: '4095',
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
  'input-raw-memory-budget': {
    kind: 'size',
    min: '0',
    default: '0',
    value: 'BYTES',
    section: SECTION,
    help:
      'Bytes all messages still arriving may hold together, every connection and direction (0 = 512mb, or 4 × ' +
      '--input-raw-max-size when larger). Beyond it the largest is emitted cut, marked incomplete=memory-budget, and counted.',
    gorNote: 'tapline only; gor has no bound on the messages it is assembling',
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

export const rawInputDecl: InputPluginDecl = {
  role: 'input',
  flag: 'input-raw',
  summary: 'Capture HTTP traffic live or from pcap/pcapng files',
  flags: rawFlags,
};
