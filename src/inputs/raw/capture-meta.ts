/**
 * The meta of a captured message, kept as the numbers capture already has and turned into text only when
 * read. Live capture makes two of these per exchange and the messages wait in the input queue until the
 * pipeline takes them, so every object and string made here eagerly was young garbage that survived a
 * scavenge. Building the id (4 hex conversions) and the line (2 BigInt-to-text conversions) lazily means an
 * output that never reads them (`--output-null`, a filter that drops the message) never pays, and one that
 * does makes them just before writing, when they die young.
 *
 * The text is byte-identical to `makeMeta` (core/message.ts): `TYPE ID TIMESTAMP LATENCY[ incomplete=R]`.
 */
import type { Meta, PayloadType } from '../../core/message.js';
import { metaFields } from '../../core/meta.js';
import { connectionIdPrefix, idFromPrefix } from '../../tcp/ids.js';

const NO_EXTRA: readonly string[] = Object.freeze([]);
const EXTRA_BY_REASON = new Map<string, readonly string[]>();

/** `incomplete=REASON`, one frozen array per reason (a handful exist). */
function extraFor(reason: string | null): readonly string[] {
  if (reason === null) return NO_EXTRA;
  let extra = EXTRA_BY_REASON.get(reason);
  if (extra === undefined) {
    extra = Object.freeze([`incomplete=${reason}`]);
    EXTRA_BY_REASON.set(reason, extra);
  }
  return extra;
}

export class CaptureMeta implements Meta {
  private cachedId: string | undefined = undefined;
  private cachedLine: string | undefined = undefined;

  /**
   * `idPrefix`: the connection's first 16 id characters (ports and client address, see tcp/ids.ts), or null
   * to make them from `clientIp4` and `ports` (client port << 16 | server port) when the id is read (the
   * native fast path has no per-connection object to keep a prefix in);
   * `idNumber`: the ACK or SEQ of the id's last 4 bytes. Latency is `endNs - startNs` (capture clock).
   */
  constructor(
    readonly type: PayloadType,
    private readonly idPrefix: string | null,
    private readonly idNumber: number,
    readonly timestampNs: bigint,
    private readonly startNs: bigint,
    private readonly endNs: bigint,
    private readonly incomplete: string | null,
    private readonly clientIp4 = 0,
    private readonly ports = 0,
  ) {}

  get id(): string {
    this.cachedId ??= idFromPrefix(
      this.idPrefix ?? connectionIdPrefix(this.ports >>> 16, this.ports & 0xffff, this.clientIp4),
      this.idNumber,
    );
    return this.cachedId;
  }

  get latencyNs(): bigint {
    return this.endNs > this.startNs ? this.endNs - this.startNs : 0n;
  }

  get extra(): readonly string[] {
    return extraFor(this.incomplete);
  }

  get line(): string {
    if (this.cachedLine === undefined) {
      const line = `${this.type} ${this.id} ${this.timestampNs} ${this.latencyNs}`;
      this.cachedLine = this.incomplete === null ? line : `${line} incomplete=${this.incomplete}`;
    }
    return this.cachedLine;
  }

  toJSON(): object {
    return metaFields(this);
  }
}

/**
 * A message cut by the native fast path (native-flows.ts): the numbers the addon reported, and its meta made
 * only when something reads it. `--output-null` and the pipeline read only `data`, so a message costs one
 * object and one view until an output wants its id or timestamp. Its meta is CaptureMeta's: same text.
 */
export class NativeCapturedMessage {
  private cached: CaptureMeta | undefined = undefined;

  /**
   * `ports`: client port << 16 | server port; the capture times of the message's first and last packets are
   * `high * 2^32 + low` ns.
   */
  constructor(
    readonly data: Buffer,
    private readonly request: boolean,
    private readonly idNumber: number,
    private readonly clientIp4: number,
    private readonly ports: number,
    private readonly startHigh: number,
    private readonly startLow: number,
    private readonly endHigh: number,
    private readonly endLow: number,
  ) {}

  get meta(): CaptureMeta {
    if (this.cached === undefined) {
      const start = (BigInt(this.startHigh) << 32n) | BigInt(this.startLow);
      const end =
        this.endHigh === this.startHigh && this.endLow === this.startLow
          ? start
          : (BigInt(this.endHigh) << 32n) | BigInt(this.endLow);
      const type = this.request ? '1' : '2';
      this.cached = new CaptureMeta(type, null, this.idNumber, start, start, end, null, this.clientIp4, this.ports);
    }
    return this.cached;
  }
}
