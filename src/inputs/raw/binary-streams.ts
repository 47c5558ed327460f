/**
 * `--input-raw-protocol binary` (alias `raw`): TCP payloads without HTTP parsing. A message is one turn of a
 * conversation: the bytes one side sends until the other side sends something (or the connection ends or
 * expires). That is what gor's ACK grouping yields for request/response protocols, without gor's wait for
 * `--input-raw-expire` before every message.
 *
 *   client bytes ──▶ [turn] ──other side speaks / end──▶ type 1, id = gor(client, server, ACK of first byte)
 *   server bytes ──▶ [turn] ──other side speaks / end──▶ type 2, id = gor(client, server, SEQ of first byte)
 *
 * Turns are bounded by `maxSize`: a longer one is emitted in pieces, each marked `incomplete=max-size`. When
 * `--input-raw-memory-budget` is spent, the largest turn in progress is emitted as it is, marked
 * `incomplete=memory-budget`, and the bytes after it start a new turn (memory-budget.ts).
 */
import { type Message, makeMeta } from '../../core/message.js';
import { requestId, responseId } from '../../tcp/ids.js';
import type { ChunkMeta, EndReason, GapMeta, StreamConsumer, StreamSide, TcpConnection } from '../../tcp/types.js';
import type { BudgetHolder, MemoryBudget } from './memory-budget.js';

export interface BinaryCutOptions {
  trackResponse: boolean;
  maxSize: number;
  clock: ((captureNs: bigint) => bigint) | null;
  emit: (msg: Message) => void;
  budget: MemoryBudget | null;
}

export interface BinaryCutCounters {
  requests: number;
  responses: number;
  /** Turns cut into pieces by --input-raw-max-size. */
  cut_max_size: number;
  /** Turns emitted early, as they were, by --input-raw-memory-budget (the largest in progress each time). */
  cut_memory_budget: number;
  /** Turns that had bytes missing (capture gaps); emitted as they are. */
  with_gaps: number;
}

export function newBinaryCutCounters(): BinaryCutCounters {
  return { requests: 0, responses: 0, cut_max_size: 0, cut_memory_budget: 0, with_gaps: 0 };
}

/** The two directions of one connection: a side that starts speaking ends the other side's turn. */
export class BinaryConnection {
  readonly sides: BinaryDirection[] = [];
  constructor(readonly conn: TcpConnection) {}
}

export class BinaryDirection implements StreamConsumer, BudgetHolder {
  private pieces: Buffer[] = [];
  private length = 0;
  private firstSeq = 0;
  private firstAck = 0;
  private startNs = 0n;
  private lastNs = 0n;
  private hadGap = false;

  constructor(
    private readonly link: BinaryConnection,
    private readonly side: StreamSide,
    private readonly options: BinaryCutOptions,
    private readonly counters: BinaryCutCounters,
  ) {
    link.sides.push(this);
  }

  data(chunk: Buffer, meta: ChunkMeta): void {
    for (const other of this.link.sides) if (other !== this) other.flush(null);
    if (this.length === 0) {
      this.firstSeq = meta.seq;
      this.firstAck = meta.ack;
      this.startNs = meta.tsNs;
    }
    this.lastNs = meta.tsNs;
    let rest = chunk;
    while (this.length + rest.length > this.options.maxSize) {
      const take = this.options.maxSize - this.length;
      this.add(rest.subarray(0, take));
      rest = rest.subarray(take);
      this.counters.cut_max_size++;
      this.flush('max-size');
      this.firstSeq = (meta.seq + (chunk.length - rest.length)) >>> 0;
      this.firstAck = meta.ack;
      this.startNs = meta.tsNs;
    }
    if (rest.length > 0) this.add(rest);
    this.options.budget?.update(this, this.length);
  }

  cutForBudget(): void {
    if (this.length === 0) return;
    this.counters.cut_memory_budget++;
    this.flush('memory-budget');
  }

  describe(): string {
    const c = this.link.conn;
    const client = `${c.clientIp}:${c.clientPort}`;
    const server = `${c.serverIp}:${c.serverPort}`;
    return this.side === 'client' ? `turn from ${client} to ${server}` : `turn from ${server} to ${client}`;
  }

  gap(_length: number | null, meta: GapMeta): void {
    this.lastNs = meta.tsNs;
    if (this.length > 0) this.hadGap = true;
  }

  end(_reason: EndReason): void {
    this.flush(null);
  }

  /** Ends the current turn: emits it as one message (`cut`: why it was cut short). */
  flush(cut: 'max-size' | 'memory-budget' | null): void {
    if (this.length === 0) return;
    const data = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.length);
    const conn = this.link.conn;
    const client = this.side === 'client';
    const id = client
      ? requestId(conn.clientPort, conn.serverPort, conn.clientIp4, this.firstAck)
      : responseId(conn.clientPort, conn.serverPort, conn.clientIp4, this.firstSeq);
    const clock = this.options.clock;
    const extra: string[] = [];
    if (cut) extra.push(`incomplete=${cut}`);
    else if (this.hadGap) extra.push('incomplete=gap');
    if (this.hadGap) this.counters.with_gaps++;
    const meta = makeMeta({
      type: client ? '1' : '2',
      id,
      timestampNs: clock ? clock(this.startNs) : this.startNs,
      latencyNs: this.lastNs - this.startNs,
      extra,
    });
    this.pieces = [];
    this.length = 0;
    this.hadGap = false;
    this.options.budget?.update(this, 0);
    if (!client && !this.options.trackResponse) return;
    if (client) this.counters.requests++;
    else this.counters.responses++;
    this.options.emit({ meta, data });
  }

  private add(piece: Buffer): void {
    // Chunks are views into packet buffers: keep a copy, the packet's memory is reused.
    this.pieces.push(Buffer.from(piece));
    this.length += piece.length;
  }
}
