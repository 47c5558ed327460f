/**
 * The `--input-raw` plugin: its flags (gor's, plus a few of tapline's own) and how they become a raw input.
 * One capture per `--input-raw` occurrence, as in gor.
 */

import {
  afPacketRing,
  checkAfPacketBufferSize,
  checkAfPacketTimeout,
  DEFAULT_BUFFER_SIZE,
  DEFAULT_SNAPLEN,
} from '../../capture/engines/af-packet.js';
import { checkLibpcapRanges, checkTimestampType } from '../../capture/engines/libpcap.js';
import { checkVxlanBufferSize } from '../../capture/engines/vxlan.js';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import type { FlagSet } from '../../core/flags.js';
import type { InputPluginDef } from '../../core/registry.js';
import { formatBytes, formatGoDuration } from '../../core/values.js';
import { checkHeaderName } from '../../modifiers/wire-syntax.js';
import { parseRawAddress, STDIN_CAPTURE } from './address.js';
import { rawInputDecl } from './flags.js';
import { defaultMemoryBudget } from './memory-budget.js';
import { rawInput } from './raw-input.js';
import { capturedReplayTargets, replayTargets } from './replay-loop.js';
import {
  checkAfPacketFilter,
  checkFilterExpression,
  checkVlanCapture,
  type EngineName,
  type LiveCaptureOptions,
  openAfPacketSource,
  openFileSource,
  openLibpcapSource,
  openVxlanSource,
  type PacketSource,
} from './sources.js';

const ENGINES: Record<string, EngineName> = {
  '': 'af_packet',
  af_packet: 'af_packet',
  raw_socket: 'af_packet',
  libpcap: 'libpcap',
  pcap: 'libpcap',
  pcap_file: 'pcap_file',
  vxlan: 'vxlan',
};

/** --input-raw-expire below this is warned about (see the warning). */
const EXPIRE_WARN_BELOW_MS = 100;

export const rawInputPlugin: InputPluginDef = {
  ...rawInputDecl,
  create({ address: text, flags: f, ctx }) {
    const engineText = f.string('input-raw-engine');
    const engine = ENGINES[engineText];
    if (engine === undefined) {
      throw usage(
        '--input-raw-engine',
        `unknown engine ${JSON.stringify(engineText)} (af_packet, raw_socket, libpcap, pcap_file, vxlan)`,
      );
    }
    const address = parseRawAddress(text, engine === 'pcap_file');
    if (address.host === STDIN_CAPTURE) checkStdinCapture(text, f);
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
    const memoryBudget = f.number('input-raw-memory-budget') || defaultMemoryBudget(maxSize);
    const expireMs = f.number('input-raw-expire') || 1000;
    const live = liveOptions(f);
    // A bad expression is a usage error (exit 2), said before the run rather than when the input opens.
    if (live.bpfFilter !== '') checkFilterExpression(address, engine, live.bpfFilter);
    checkVlanCapture(address, engine, live);
    checkTimestampType(f.string('input-raw-timestamp-type'));
    if (expireMs < EXPIRE_WARN_BELOW_MS) {
      // Accepted as gor accepts it, but a connection that pauses longer than this between two packets (most do:
      // a server thinking, a client's next request) is given up and its message in progress cut: said once.
      ctx.log.warn(
        `input-raw(${text}): --input-raw-expire ${formatGoDuration(expireMs)} is very short: a connection with no ` +
          'packet for that long is given up and its message in progress cut (incomplete_expired in ' +
          '--input-raw-stats); the default is 2s',
      );
    }
    if (address.emptyPort) {
      // gor reads the empty port as every port without a word; a user who forgot it gets every port's traffic.
      const one = text.slice(0, -1);
      ctx.log.warn(
        `input-raw(${text}): no port after the colon: capturing every port, as gor does ` +
          `(write ${one}:80 for one port, ${one}:0 to say every port)`,
      );
    }
    for (const line of ignoredOptions(f, address.file ? 'pcap_file' : engine))
      ctx.log.warn(`input-raw(${text}): ${line}`);
    const loops = engine === 'vxlan' ? [] : capturedReplayTargets(address, replayTargets(f));
    for (const target of loops) {
      ctx.log.warn(
        `input-raw(${text}): ${target} replays to an address this capture sees: each replayed request is ` +
          'captured and replayed again, without end (replay to another port or host)',
      );
    }
    if (!address.file && engine === 'libpcap') checkLibpcapRanges(live);
    if (!address.file && engine === 'vxlan') checkVxlanBufferSize(live.bufferSize);
    let dropAdvice: string | undefined;
    if (!address.file && engine === 'af_packet') {
      checkAfPacketTimeout(live.timeoutMs);
      checkAfPacketBufferSize(live.bufferSize);
      checkAfPacketFilter(address, live);
      const ring = afPacketRing(live.snaplen, live.bufferSize);
      if (live.bufferSize !== undefined && ring.bytes > live.bufferSize) {
        // gor passes the size to libpcap, which rounds it as it likes without a word.
        ctx.log.warn(
          `input-raw(${text}): --input-raw-buffer-size ${formatBytes(live.bufferSize)} is less than the smallest ` +
            `ring the af_packet engine makes (2 blocks of ${formatBytes(ring.blockSize)} for a ${live.snaplen}-byte ` +
            `snaplen): the ring is ${formatBytes(ring.bytes)}`,
        );
      }
      dropAdvice =
        `A larger ring loses fewer (--input-raw-buffer-size, ${formatBytes(ring.bytes)}` +
        `${f.number('input-raw-workers') > 1 ? ' a worker' : ''} now), and so do a narrower capture ` +
        '(--input-raw-bpf-filter, fewer ports), --input-raw-workers N and faster outputs';
    }
    if (!address.file && engine === 'vxlan') {
      dropAdvice =
        'A larger receive buffer loses fewer (--input-raw-buffer-size; the kernel caps it at net.core.rmem_max), ' +
        'and so do faster outputs';
    }
    if (!address.file && engine === 'libpcap') {
      if (live.bufferSize !== undefined && live.bufferSize < 2 * live.snaplen) {
        // libpcap takes any size and makes the smallest ring it can of it, without saying what it made.
        ctx.log.warn(
          `input-raw(${text}): --input-raw-buffer-size ${formatBytes(live.bufferSize)} holds less than two ` +
            `packets of the ${live.snaplen}-byte snaplen: libpcap makes the smallest ring it can of it, which ` +
            `drops packets even under light load (leave the flag out for tapline's default, ${formatBytes(DEFAULT_BUFFER_SIZE)})`,
        );
      }
      const now = `${formatBytes(live.bufferSize ?? DEFAULT_BUFFER_SIZE)} now`;
      dropAdvice =
        `A larger buffer loses fewer (--input-raw-buffer-size, ${now}), and so do a narrower ` +
        '--input-raw-bpf-filter and faster outputs' +
        (address.host === 'lo' ? '; on lo libpcap counts each packet twice, dropped or received' : '');
    }
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
    const realIpHeader = f.string('input-raw-realip-header');
    // gor writes the name into every request as given: 'X-Real IP', 'X:Y' or one with a line break ('X\r\nEvil')
    // gave lines no parser reads as a header (or injected one), and the target answered 400.
    if (realIpHeader !== '') {
      checkHeaderName(
        'input-raw-realip-header',
        realIpHeader,
        realIpHeader,
        'gor writes it into every request as given, a line the target cannot read as a header',
      );
    }
    const options = {
      protocol: protocolText === 'binary' || protocolText === 'raw' ? ('binary' as const) : ('http' as const),
      trackResponse: f.bool('input-raw-track-response'),
      allowIncomplete: f.bool('input-raw-allow-incomplete'),
      realIpHeader,
      expireNs: BigInt(Math.round(expireMs * 1e6)),
      maxSize,
      memoryBudget,
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
        if (address.file) return openFileSource(address, ctx.log, live.bpfFilter);
        if (engine === 'vxlan') {
          return openVxlanSource(
            {
              port: options.vxlanPort,
              vnis: options.vxlanVnis,
              bufferSize: live.bufferSize,
              bpfFilter: live.bpfFilter,
            },
            address,
          );
        }
        if (engine === 'libpcap') {
          return openLibpcapSource(
            address,
            live,
            { timestampType: f.string('input-raw-timestamp-type'), monitor: f.bool('input-raw-monitor') },
            ctx.log,
          );
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
                // Each worker follows its own connections: the budget is shared out evenly.
                flow: {
                  ...options,
                  memoryBudget: Math.max(1, Math.floor(memoryBudget / workers)),
                  ports: address.ports,
                },
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
      ...(dropAdvice !== undefined ? { dropAdvice } : {}),
    });
    // `|N` / `|N%` is applied by the CLI around every plugin that does not own its limit (main.ts): applying it
    // here too sampled twice (`|50%` kept a quarter of the requests, the summary showed the second gate only).
    return input;
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

/**
 * Options that do nothing with this engine, said rather than left silent: `--input-raw-monitor` and a libpcap
 * time stamp type belong to the libpcap engine (gor's default, so gor command lines carry them; gor ignores
 * them elsewhere without a word), and `--input-raw-override-snaplen` overrides `--input-raw-snaplen`.
 */
function ignoredOptions(f: FlagSet, engine: EngineName): string[] {
  const out: string[] = [];
  const stamp = f.string('input-raw-timestamp-type');
  const by =
    engine === 'pcap_file'
      ? 'a capture file keeps the times it was recorded with'
      : engine === 'vxlan'
        ? 'the vxlan engine stamps packets with the time they arrive'
        : 'the af_packet engine stamps packets with the kernel clock';
  if (stamp !== '' && stamp !== 'go' && engine !== 'libpcap') {
    const hint = engine === 'pcap_file' ? '' : ' (the libpcap engine can choose the source)';
    out.push(`--input-raw-timestamp-type ${stamp} is ignored: ${by}${hint}`);
  }
  const live = engine === 'af_packet' || engine === 'libpcap';
  if (live && f.bool('input-raw-override-snaplen') && f.has('input-raw-snaplen')) {
    out.push(
      `--input-raw-snaplen ${f.number('input-raw-snaplen')} is ignored: --input-raw-override-snaplen sets the snaplen to ${DEFAULT_SNAPLEN}`,
    );
  }
  if (f.bool('input-raw-monitor') && engine !== 'libpcap') {
    out.push(
      `--input-raw-monitor is ignored: only the libpcap engine sets Wi-Fi monitor mode (this input is ${engine})`,
    );
  }
  return out;
}

/**
 * `--input-raw -` reads a capture from standard input. On a terminal it would wait for pcap bytes typed on the
 * keyboard; named in two --input-raw, two readers would each get part of the bytes. Both are usage errors.
 */
function checkStdinCapture(text: string, f: FlagSet): void {
  if (process.stdin.isTTY) {
    throw usage(
      '--input-raw',
      `${text}: "-" reads a capture from standard input, which is the terminal here: pipe one in ` +
        `(tcpdump -i eth0 -U -w - 'tcp port 80' | tapline --input-raw -:80 …), or name a file (dump.pcap:80) or ` +
        'an interface (eth0:80, :80 for every interface)',
    );
  }
  const readers = [
    ...f.list('input-raw').filter((v) => /^-(?::|\||$)/.test(v)),
    ...f
      .list('input-file')
      .filter((v) => /^(?:\/dev\/stdin|\/dev\/fd\/0|\/proc\/self\/fd\/0)(?:\||$)/.test(v))
      .map((v) => `--input-file ${v}`),
  ];
  if (readers.length > 1) {
    throw usage(
      '--input-raw',
      `${readers.join(' and ')} both read standard input: two readers would each get part of its bytes; ` +
        (readers.some((r) => r.startsWith('--input-file'))
          ? 'save one of them to a file first and name that'
          : 'name it once (several ports: -:80,8080)'),
    );
  }
}

function usage(flag: string, why: string): TaplineError {
  return new TaplineError(ERROR_CODES.USAGE, why, { where: flag });
}
