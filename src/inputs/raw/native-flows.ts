/**
 * The native fast path of the flow pipeline (native/src/flow_core.cc): one addon call per packet batch
 * decodes, follows and cuts the common case — a connection seen from its SYN, segments in order, HTTP/1
 * messages whole inside one segment — and hands everything else to the TypeScript path, which stays the
 * reference. A connection leaves the fast path for good the first time one of its packets is anything else;
 * its state then moves to the TcpAssembler (`adopt`), at a message boundary in both directions, and that
 * packet and all later ones go through TypeScript exactly as if every earlier one had.
 *
 *   view ──process()──▶ messages[] (packet i, type, id, client, payload span)      native, in order
 *                      fallback[] (packet i)  ──▶ [adopt hand-off of packet i] ──▶ TS push(packet i)
 *   merged by packet index, so messages leave in the order the TypeScript path alone emits them.
 *
 * Without the addon (not built, not Linux) or with TAPLINE_FLOW_ADDON=off everything runs in TypeScript.
 * TAPLINE_FLOW_ADDON may also name the .node file to load.
 */

import { viewOf } from '../../capture/buffer-view.js';
import { ipv4ToString } from '../../capture/decode/address.js';
import type { PacketBatchView, RawPacket } from '../../capture/types.js';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import type { Message } from '../../core/message.js';
import { loadAddon } from '../../core/native-addon.js';
import type { AdoptedFlow } from '../../tcp/types.js';
import { NativeCapturedMessage } from './capture-meta.js';
import type { ExternalHolder, MemoryBudget } from './memory-budget.js';

interface NativeFlowCore {
  process(
    buf: Buffer,
    count: number,
    kind: number,
    index: Uint32Array | null,
    messages: Uint32Array,
    fallback: Uint32Array,
    handoffs: Uint32Array,
    waits: Uint32Array,
    counts: Uint32Array,
    linkType: number,
    start: number,
    startOffset: number,
  ): number;
  expire(nowHigh: number, nowLow: number): number;
  release(tuples: Uint32Array, n: number): void;
  counters(out: Float64Array): void;
  clear(): void;
  /** The last call's bytes of messages that spanned segments (and of pending messages handed over). */
  arena(): Buffer;
  /** Bytes of the largest message whose body is still coming (0: none). */
  largestPending(): number;
  /** Hands over the flow with the largest pending message (one hand-off record); 1 when there was one. */
  handOffLargest(handoffs: Uint32Array, waits: Uint32Array, counts: Uint32Array): number;
}

interface FlowAddon {
  FlowCore: new (o: {
    ports: readonly number[];
    maxSize: number;
    trackResponse: boolean;
    expireNs: number;
    maxFlows: number;
    vxlanPort: number;
    allowIncomplete: boolean;
  }) => NativeFlowCore;
  abiVersion: number;
}

const ABI_VERSION = 2;
let addon: FlowAddon | null | undefined;

/** The addon, or null when it cannot be used (or TAPLINE_FLOW_ADDON=off, read on every call). */
export function flowAddon(): FlowAddon | null {
  const setting = process.env.TAPLINE_FLOW_ADDON;
  if (setting === 'off') return null;
  if (addon !== undefined) return addon;
  addon = null;
  // Without it (not built, not Linux, another version) the TypeScript path captures.
  if (process.platform === 'linux') addon = loadAddon<FlowAddon>('tapline_flow.node', ABI_VERSION, setting).addon;
  return addon;
}

/** What the fast path needs from the flow pipeline. */
export interface NativeFlowHooks {
  emit(msg: Message): void;
  /**
   * Takes over a connection (its requests waiting for responses: id number and ACK each), before its packet
   * runs; `pending`: a message begun in earlier segments, to be given to the TS path as one segment.
   */
  adopt(flow: AdoptedFlow, waiting: readonly { idNumber: number; ack: number }[], pending: PendingBytes | null): void;
  /** Runs one packet through the TypeScript path; returns `latest` or the packet's time if later. */
  runPacket(packet: RawPacket, latest: bigint): bigint;
}

/** The part of a message the fast path had followed when its connection was handed over. */
export interface PendingBytes {
  fromClient: boolean;
  seq: number;
  ack: number;
  tsNs: bigint;
  bytes: Buffer;
}

export interface NativeFlowOptions {
  ports: readonly number[];
  maxSize: number;
  trackResponse: boolean;
  expireNs: bigint;
  /** UDP port the TS decoder unwraps as VXLAN. */
  vxlanPort: number;
  /** Incomplete messages are emitted: the fast path then leaves every message that spans segments to TS. */
  allowIncomplete: boolean;
  /** Told what the fast path holds in messages in progress after each batch; may ask for the largest. */
  budget: MemoryBudget | null;
}

const MESSAGE_WORDS = 12;
const FALLBACK_WORDS = 2;
const HANDOFF_WORDS = 24;
/**
 * Room for this many waiting requests a packet in `waits` (at least 1,024, flow_core.cc's kMaxWaiting, for the
 * smallest batch); a batch whose hand-overs need more is processed in several calls with larger outputs.
 */
const WAITS_PER_PACKET = 16;
/** Native flows at most (beyond, new connections take the TypeScript path). Below the assembler's 200,000. */
const MAX_FLOWS = 100_000;
const KIND = { records: 0, indexed: 1 } as const;
const KIND_INDEXED_US = 2;
const EMPTY = Buffer.alloc(0);

/** The counters of what the fast path handled, added to the TypeScript path's. */
export interface NativeFlowCounters {
  segments: number;
  connections: number;
  requests: number;
  responses: number;
  /** For messages pending when their connection expired or the input ended (see HttpCutCounters). */
  incomplete_expired: number;
  incomplete_eof: number;
  incomplete_dropped: number;
  unmatched_responses: number;
  unanswered_requests: number;
  requests_unanswered_at_close: number;
}

export class NativeFlows implements ExternalHolder {
  private readonly core: NativeFlowCore;
  private readonly budget: MemoryBudget | null;
  /** Outputs of `handOffLargest` (its own: it may be asked for in the middle of a batch's merge). */
  private readonly released1 = {
    handoffs: new Uint32Array(HANDOFF_WORDS),
    waits: new Uint32Array(2 * 1024),
    counts: new Uint32Array(9),
  };
  private messages = new Uint32Array(0);
  private fallback = new Uint32Array(0);
  private handoffs = new Uint32Array(0);
  private waits = new Uint32Array(0);
  private readonly counts = new Uint32Array(9);
  private readonly numbers = new Float64Array(13);
  /** The current call's arena (see NativeFlowCore.arena), or an empty buffer. */
  private arena: Buffer = Buffer.alloc(0);
  /** Tuples the TypeScript path let go of, for the core to forget its marks (4 numbers each). */
  private released = new Uint32Array(64);
  private nReleased = 0;

  constructor(
    a: FlowAddon,
    options: NativeFlowOptions,
    private readonly hooks: NativeFlowHooks,
  ) {
    this.core = new a.FlowCore({
      ports: options.ports,
      maxSize: options.maxSize,
      trackResponse: options.trackResponse,
      expireNs: Number(options.expireNs),
      maxFlows: MAX_FLOWS,
      vxlanPort: options.vxlanPort,
      allowIncomplete: options.allowIncomplete,
    });
    this.budget = options.budget;
    this.budget?.attach(this);
  }

  /**
   * The memory budget is spent and the largest message in progress is one the fast path follows: its flow goes
   * to the TypeScript path now (which then holds the message, and cuts it).
   */
  releaseLargest(): boolean {
    const r = this.released1;
    if (this.core.handOffLargest(r.handoffs, r.waits, r.counts) !== 1) return false;
    const arena = r.counts[8]! > 0 ? this.core.arena() : EMPTY;
    this.adoptFrom(r.handoffs, 0, r.waits, arena);
    this.tellBudget();
    return true;
  }

  /** What the fast path holds in messages in progress, for the budget. */
  private tellBudget(): void {
    const budget = this.budget;
    if (budget === null) return;
    const n = this.numbers;
    this.core.counters(n);
    const total = n[11]!;
    budget.setExternal(total, () => (total > 0 ? this.core.largestPending() : 0));
  }

  /** A connection the TypeScript path removed: a new SYN on its tuple may start on the fast path again. */
  released4(clientIp4: number, clientPort: number, serverIp4: number, serverPort: number): void {
    if (this.nReleased * 4 + 4 > this.released.length) {
      const grown = new Uint32Array(this.released.length * 2);
      grown.set(this.released);
      this.released = grown;
    }
    const r = this.released;
    const w = this.nReleased++ * 4;
    r[w] = clientIp4;
    r[w + 1] = clientPort;
    r[w + 2] = serverIp4;
    r[w + 3] = serverPort;
  }

  /** One batch; returns the latest packet time seen (or `latest`). */
  push(view: PacketBatchView, latest: bigint): bigint {
    const { core, counts } = this;
    const count = view.count;
    if (this.nReleased > 0) {
      core.release(this.released, this.nReleased);
      this.nReleased = 0;
    }
    this.reserve(count, false);
    const kind =
      view.kind === 'records'
        ? KIND.records
        : (view as { fracToNs?: number }).fracToNs === 1000
          ? KIND_INDEXED_US
          : KIND.indexed;
    let start = 0;
    let startOffset = 0;
    // One call normally; more when the outputs were too small (many connections handed over at once).
    for (let calls = 0; start < count; calls++) {
      if (calls > 64) throw new TaplineError(ERROR_CODES.INTERNAL, 'the flow addon makes no progress on a batch');
      const done = core.process(
        view.buffer,
        count,
        kind,
        view.index,
        this.messages,
        this.fallback,
        this.handoffs,
        this.waits,
        counts,
        view.linkType,
        start,
        startOffset,
      );
      if (counts[6] !== 0) {
        view.packets(); // throws the engine's own error for a malformed batch
        throw new TaplineError(ERROR_CODES.INTERNAL, 'the flow addon refused a batch the engine accepts');
      }
      this.arena = counts[8]! > 0 ? core.arena() : EMPTY;
      const nativeLatest = (BigInt(counts[4]!) << 32n) | BigInt(counts[5]!);
      if (nativeLatest > latest) latest = nativeLatest;
      latest = this.merge(view, latest);
      if (done < count) this.reserve(count, true);
      start = done;
      startOffset = counts[7]!;
    }
    this.tellBudget();
    return latest;
  }

  /** The outputs of one call, in packet order: messages, hand-overs, then each packet the TS path runs. */
  private merge(view: PacketBatchView, latest: bigint): bigint {
    const counts = this.counts;
    const nMsg = counts[0]!;
    const nFb = counts[1]!;
    const nHo = counts[2]!;
    const msgs = this.messages;
    const fb = this.fallback;
    const ho = this.handoffs;
    let m = 0;
    let h = 0;
    for (let f = 0; f < nFb; f++) {
      const at = fb[f * FALLBACK_WORDS]!;
      while (m < nMsg && msgs[m * MESSAGE_WORDS]! < at) this.emit(view.buffer, m++);
      while (h < nHo && ho[h * HANDOFF_WORDS]! <= at) this.adopt(h++);
      latest = this.hooks.runPacket(view.packet(at, fb[f * FALLBACK_WORDS + 1]!), latest);
    }
    while (m < nMsg) this.emit(view.buffer, m++);
    // Hand-overs of a packet the next call runs (the outputs filled up in the middle of it).
    while (h < nHo) this.adopt(h++);
    return latest;
  }

  expire(nowNs: bigint): void {
    if (nowNs < 0n) return;
    this.core.expire(Number(nowNs >> 32n), Number(nowNs & 0xffffffffn));
    this.tellBudget();
  }

  /** End of input: a message in progress is counted, and so are requests still waiting for their responses. */
  finish(): void {
    this.core.clear();
    this.tellBudget();
  }

  counters(): NativeFlowCounters {
    const n = this.numbers;
    this.core.counters(n);
    return {
      segments: n[0]!,
      connections: n[1]!,
      requests: n[2]!,
      responses: n[3]!,
      incomplete_expired: n[6]!,
      incomplete_eof: n[7]!,
      incomplete_dropped: n[8]!,
      unmatched_responses: n[9]!,
      unanswered_requests: n[10]!,
      requests_unanswered_at_close: n[12]!,
    };
  }

  /** Outputs for `count` packets (`grow`: a call stopped early, make them twice as large). */
  private reserve(count: number, grow: boolean): void {
    const need = grow ? (this.fallback.length / FALLBACK_WORDS) * 2 : Math.max(count, 64);
    if (this.fallback.length < need * FALLBACK_WORDS) {
      this.fallback = new Uint32Array(need * FALLBACK_WORDS);
      this.handoffs = new Uint32Array(need * HANDOFF_WORDS);
      this.waits = new Uint32Array(need * WAITS_PER_PACKET * 2);
      // Room for two messages a packet on average; a packet that would not fit is handed to TypeScript.
      this.messages = new Uint32Array((need * 2 + 64) * MESSAGE_WORDS);
    }
  }

  private emit(buf: Buffer, m: number): void {
    const w = m * MESSAGE_WORDS;
    const x = this.messages;
    const data = viewOf(x[w + 11] === 1 ? this.arena : buf, x[w + 5]!, x[w + 6]!);
    const request = x[w + 1] === 1;
    const id = x[w + 2]!;
    const ip = x[w + 3]!;
    const ports = x[w + 4]!;
    // Four arguments, not a spread of an array: a spread call was 1% of a live capture's CPU.
    const msg = new NativeCapturedMessage(data, request, id, ip, ports, x[w + 7]!, x[w + 8]!, x[w + 9]!, x[w + 10]!);
    this.hooks.emit(msg);
  }

  private adopt(h: number): void {
    this.adoptFrom(this.handoffs, h * HANDOFF_WORDS, this.waits, this.arena);
  }

  /** The hand-off record at `x[w]` (its waits in `waitList`, its pending bytes in `arena`) to the TS path. */
  private adoptFrom(x: Uint32Array, w: number, waitList: Uint32Array, arena: Buffer): void {
    const clientIp4 = x[w + 1]!;
    const serverIp4 = x[w + 2]!;
    const ports = x[w + 3]!;
    const bits = x[w + 4]!;
    const flow: AdoptedFlow = {
      clientIp: ipv4ToString(clientIp4),
      clientIp4,
      clientPort: ports >>> 16,
      serverIp: ipv4ToString(serverIp4),
      serverIp4,
      serverPort: ports & 0xffff,
      roleSource: 'syn',
      openedNs: (BigInt(x[w + 9]!) << 32n) | BigInt(x[w + 10]!),
      lastSeenNs: (BigInt(x[w + 11]!) << 32n) | BigInt(x[w + 12]!),
      client: { started: (bits & 1) !== 0, synSeen: (bits & 2) !== 0, isn: x[w + 5]!, nextSeq: x[w + 6]! },
      server: { started: (bits & 4) !== 0, synSeen: (bits & 8) !== 0, isn: x[w + 7]!, nextSeq: x[w + 8]! },
    };
    const waiting: { idNumber: number; ack: number }[] = [];
    const from = x[w + 13]!;
    const n = x[w + 14]!;
    for (let i = from; i < from + n; i++) waiting.push({ idNumber: waitList[i * 2]!, ack: waitList[i * 2 + 1]! });
    const pendingFrom = bits & 16 ? true : bits & 32 ? false : null;
    const pending =
      pendingFrom === null
        ? null
        : {
            fromClient: pendingFrom,
            seq: pendingFrom ? flow.client.nextSeq : flow.server.nextSeq,
            ack: x[w + 16]!,
            tsNs: (BigInt(x[w + 17]!) << 32n) | BigInt(x[w + 18]!),
            bytes: viewOf(arena, x[w + 19]!, x[w + 20]!),
          };
    this.hooks.adopt(flow, waiting, pending);
  }
}
