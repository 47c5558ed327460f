/**
 * Test helpers for code that feeds or consumes the assembler: a `TcpSegment` builder with defaults, and
 * a consumer factory that records every call, so tests read as transcripts.
 */

import type { TcpSegment } from '../capture/types.js';
import { TcpFlag } from '../capture/types.js';
import type { ChunkMeta, EndReason, GapMeta, StreamFactory, StreamSide, TcpConnection } from './types.js';

export const CLIENT = { ip: '10.0.0.1', ip4: 0x0a000001, port: 40000 } as const;
export const SERVER = { ip: '10.0.0.2', ip4: 0x0a000002, port: 80 } as const;

export interface SegmentInit {
  from?: 'client' | 'server';
  seq: number;
  ack?: number;
  flags?: number;
  data?: string | Buffer;
  tsNs?: bigint;
  truncated?: boolean;
}

/** A segment between `CLIENT` and `SERVER`; ACK is set unless `flags` says otherwise. */
export function seg(init: SegmentInit): TcpSegment {
  const fromClient = (init.from ?? 'client') === 'client';
  const a = fromClient ? CLIENT : SERVER;
  const b = fromClient ? SERVER : CLIENT;
  const data = init.data ?? '';
  return {
    tsNs: init.tsNs ?? 0n,
    srcIp: a.ip,
    dstIp: b.ip,
    srcIp4: a.ip4,
    dstIp4: b.ip4,
    srcPort: a.port,
    dstPort: b.port,
    seq: init.seq >>> 0,
    ack: (init.ack ?? 0) >>> 0,
    flags: init.flags ?? TcpFlag.ACK,
    window: 65535,
    payload: typeof data === 'string' ? Buffer.from(data, 'latin1') : data,
    truncated: init.truncated ?? false,
  };
}

export type Event =
  | { kind: 'data'; conn: TcpConnection; side: StreamSide; chunk: Buffer; meta: ChunkMeta }
  | { kind: 'gap'; conn: TcpConnection; side: StreamSide; length: number | null; meta: GapMeta }
  | { kind: 'end'; conn: TcpConnection; side: StreamSide; reason: EndReason };

/** Records every consumer call, in order. `text(side)` joins a side's data (gaps as `[gap n]`). */
export class Recorder {
  readonly events: Event[] = [];
  readonly opened: { conn: TcpConnection; side: StreamSide }[] = [];

  readonly onStream: StreamFactory = (conn, side) => {
    this.opened.push({ conn, side });
    return {
      // The assembler reuses its ChunkMeta object: keep a copy.
      data: (chunk, meta) =>
        this.events.push({ kind: 'data', conn, side, chunk: Buffer.from(chunk), meta: { ...meta } }),
      gap: (length, meta) => this.events.push({ kind: 'gap', conn, side, length, meta }),
      end: (reason) => this.events.push({ kind: 'end', conn, side, reason }),
    };
  };

  text(side: StreamSide, connId?: number): string {
    let out = '';
    for (const e of this.events) {
      if (e.side !== side || (connId !== undefined && e.conn.id !== connId)) continue;
      if (e.kind === 'data') out += e.chunk.toString('latin1');
      else if (e.kind === 'gap') out += `[gap ${e.length ?? '?'}]`;
    }
    return out;
  }

  ends(side?: StreamSide): EndReason[] {
    return this.events.flatMap((e) => (e.kind === 'end' && (side === undefined || e.side === side) ? [e.reason] : []));
  }

  gaps(side?: StreamSide): (Event & { kind: 'gap' })[] {
    return this.events.filter(
      (e): e is Event & { kind: 'gap' } => e.kind === 'gap' && (side === undefined || e.side === side),
    );
  }

  data(side?: StreamSide): (Event & { kind: 'data' })[] {
    return this.events.filter(
      (e): e is Event & { kind: 'data' } => e.kind === 'data' && (side === undefined || e.side === side),
    );
  }
}
