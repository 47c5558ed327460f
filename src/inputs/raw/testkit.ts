/**
 * Test helpers for the raw input: an HTTP/1 conversation turned into the TCP segments and Ethernet packets a
 * capture would see, and a capture run over them through `rawInput` (the same path as a pcap file).
 */

import { ethernet, ipv4, raw, tcp } from '../../capture/decode/testkit.js';
import { IndexedBatchView } from '../../capture/engines/pcap-file-index.js';
import type { PacketBatch, PacketBatchView, RawPacket } from '../../capture/types.js';
import { TcpFlag } from '../../capture/types.js';
import { memoryLogger } from '../../core/log.js';
import type { Message } from '../../core/message.js';
import { parseRawAddress } from './address.js';
import { RAW_INPUT_DEFAULTS, type RawInputOptions, rawInput } from './raw-input.js';
import type { PacketSource } from './sources.js';

export interface Exchange {
  method: string;
  path: string;
  requestBody: Buffer;
  status: number;
  responseBody: Buffer;
  chunked: boolean;
  /** Extra request header lines (`Name: value`). */
  headers?: string[];
}

const { SYN, ACK, FIN, PSH } = TcpFlag;
export const CLIENT = { ip: '10.1.1.1', port: 41000 };
export const SERVER = { ip: '10.1.1.2', port: 8080 };

export function requestBytes(x: Exchange): Buffer {
  const body = x.method === 'GET' ? Buffer.alloc(0) : x.requestBody;
  const extra = (x.headers ?? []).map((h) => `${h}\r\n`).join('');
  const head = `${x.method} /${x.path} HTTP/1.1\r\nHost: shop\r\n${extra}Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

export function responseBytes(x: Exchange): Buffer {
  if (!x.chunked) {
    const head = `HTTP/1.1 ${x.status} X\r\nContent-Length: ${x.responseBody.length}\r\n\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), x.responseBody]);
  }
  const parts: Buffer[] = [Buffer.from(`HTTP/1.1 ${x.status} X\r\nTransfer-Encoding: chunked\r\n\r\n`, 'latin1')];
  for (let i = 0; i < x.responseBody.length; i += 700) {
    const piece = x.responseBody.subarray(i, i + 700);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`, 'latin1'), piece, Buffer.from('\r\n', 'latin1'));
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}

export interface Segment {
  fromClient: boolean;
  seq: number;
  ack: number;
  flags: number;
  payload: Buffer;
}

/** The conversation as TCP would send it: handshake, each request then its response cut at `cuts`, FINs. */
export function segments(exchanges: Exchange[], cuts: number[], isn: [number, number]): Segment[] {
  const out: Segment[] = [];
  let c = isn[0];
  let s = isn[1];
  out.push({ fromClient: true, seq: c, ack: 0, flags: SYN, payload: Buffer.alloc(0) });
  out.push({ fromClient: false, seq: s, ack: (c + 1) >>> 0, flags: SYN | ACK, payload: Buffer.alloc(0) });
  c = (c + 1) >>> 0;
  s = (s + 1) >>> 0;
  let k = 0;
  const send = (fromClient: boolean, bytes: Buffer) => {
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(cuts[k++ % cuts.length]!, bytes.length - at);
      const payload = bytes.subarray(at, at + n);
      if (fromClient) {
        out.push({ fromClient, seq: c, ack: s, flags: ACK | PSH, payload });
        c = (c + n) >>> 0;
      } else {
        out.push({ fromClient, seq: s, ack: c, flags: ACK | PSH, payload });
        s = (s + n) >>> 0;
      }
      at += n;
    }
  };
  for (const x of exchanges) {
    send(true, requestBytes(x));
    send(false, responseBytes(x));
  }
  out.push({ fromClient: true, seq: c, ack: s, flags: FIN | ACK, payload: Buffer.alloc(0) });
  out.push({ fromClient: false, seq: s, ack: (c + 1) >>> 0, flags: FIN | ACK, payload: Buffer.alloc(0) });
  return out;
}

/** A handshake, then each turn as one segment, sent in this order (no FINs): for conversations out of turn. */
export function turns(list: readonly (readonly [fromClient: boolean, payload: Buffer])[]): Segment[] {
  const out: Segment[] = [
    { fromClient: true, seq: 1000, ack: 0, flags: SYN, payload: Buffer.alloc(0) },
    { fromClient: false, seq: 5000, ack: 1001, flags: SYN | ACK, payload: Buffer.alloc(0) },
  ];
  const next = { client: 1001, server: 5001 };
  for (const [fromClient, payload] of list) {
    const [seq, ack] = fromClient ? [next.client, next.server] : [next.server, next.client];
    out.push({ fromClient, seq, ack, flags: ACK | PSH, payload });
    if (fromClient) next.client += payload.length;
    else next.server += payload.length;
  }
  return out;
}

export function toPacket(sg: Segment, tsNs: bigint): RawPacket {
  const [src, dst] = sg.fromClient ? [CLIENT, SERVER] : [SERVER, CLIENT];
  const t = tcp({
    srcPort: src.port,
    dstPort: dst.port,
    seq: sg.seq,
    ack: sg.ack,
    flags: sg.flags,
    payload: sg.payload,
  });
  return raw(ethernet(ipv4(t, { src: src.ip, dst: dst.ip })), 1, tsNs);
}

/**
 * Reorders segments within a small window and repeats some: what a busy network does. Segments only move
 * within their direction's run: a capture point on the path never sees a peer acknowledge bytes before the
 * bytes themselves (the assembler treats that as a capture loss, and counts it).
 */
export function disorder(list: Segment[], swaps: number[], dups: number[]): Segment[] {
  const out = [...list];
  const inner = Math.max(1, out.length - 4); // the handshake stays first, the FINs last
  for (const i of swaps) {
    const a = 2 + (i % inner);
    let b = a;
    for (let k = a + 1; k <= Math.min(out.length - 3, a + 1 + (i % 3)); k++) {
      if (out[k]!.fromClient !== out[a]!.fromClient) break;
      b = k;
    }
    [out[a], out[b]] = [out[b]!, out[a]!];
  }
  for (const i of dups) {
    const at = 2 + (i % inner);
    out.splice(at + 1, 0, out[at]!);
  }
  return out;
}

/**
 * Packets as batch views (what af_packet and classic pcap files give the native flow core): each batch's
 * packets copied into one buffer with an index, `size` packets a batch (fewer where the link type changes).
 */
export function asViews(packets: readonly RawPacket[], size: number): PacketBatchView[] {
  const views: PacketBatchView[] = [];
  for (let i = 0; i < packets.length; ) {
    const linkType = packets[i]!.linkType;
    let j = i;
    while (j < packets.length && j - i < size && packets[j]!.linkType === linkType) j++;
    const batch = packets.slice(i, j);
    const buffer = Buffer.concat(batch.map((p) => p.data));
    const index = new Uint32Array(batch.length * 5);
    let at = 0;
    batch.forEach((p, k) => {
      index.set(
        [at, p.data.length, p.origLen, Number(p.tsNs / 1_000_000_000n), Number(p.tsNs % 1_000_000_000n)],
        k * 5,
      );
      at += p.data.length;
    });
    views.push(new IndexedBatchView(buffer, index, batch.length, linkType, 1));
    i = j;
  }
  return views;
}

/** `views`: deliver the packets as batch views (the native fast path, when the addon is there). */
export async function capture(
  packets: RawPacket[],
  overrides: Partial<RawInputOptions> = {},
  views = false,
): Promise<{ msgs: Message[]; stats: Record<string, number | string> }> {
  const source: PacketSource = {
    live: false,
    filterText: '',
    packets: (async function* (): AsyncGenerator<PacketBatch> {
      if (views) yield* asViews(packets, 7);
      else for (let i = 0; i < packets.length; i += 7) yield packets.slice(i, i + 7);
    })(),
    stats: () => ({}),
    close: () => {},
  };
  const input = rawInput({
    ...RAW_INPUT_DEFAULTS,
    address: parseRawAddress(`test.pcap:${SERVER.port}`),
    open: async () => source,
    log: memoryLogger(),
    name: 'input-raw(test)',
    ...overrides,
  });
  const msgs: Message[] = [];
  for await (const batch of input.read()) msgs.push(...batch);
  return { msgs, stats: input.stats!() };
}

/** The packets of a whole conversation, in order, 1 µs apart. */
export function conversation(exchanges: Exchange[], cut = 1400): RawPacket[] {
  return timed(segments(exchanges, [cut], [1000, 5000]));
}

/** Packets for segments, 1 µs apart. */
export function timed(list: readonly Segment[]): RawPacket[] {
  const start = 1_700_000_000_000_000_000n;
  return list.map((sg, i) => toPacket(sg, start + BigInt(i + 1) * 1000n));
}
