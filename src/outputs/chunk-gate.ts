/**
 * The write discipline of the chunked file outputs (local `--output-file` and its `s3://` form): writes go
 * straight to the open chunk, except while a chunk is being switched (closed, opened): then they wait behind
 * the switch, in order. The first failure sticks: every later write throws it.
 *
 *   write ─▶ failed? throw ─▶ switching? wait, then write again ─▶ sink failed? stick, throw ─▶ append
 *                                                 └─ new chunk needed: gate.open(switch, append)
 */
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { formatBytes } from '../core/values.js';

export class ChunkGate {
  /** Set while a chunk is being switched; writes queue behind it. */
  busy: Promise<void> | undefined;
  /** The first failure of the output; later writes throw it. */
  failed: TaplineError | undefined;

  /**
   * What a write must do before touching the chunk: throws the output's failure (or the sink's, which then
   * sticks), or returns the switch to wait for; undefined when the write can go on now.
   */
  before(sinkFailure: TaplineError | undefined): Promise<void> | undefined {
    if (this.failed) throw this.failed;
    if (this.busy) return this.busy;
    if (sinkFailure) {
      this.failed = sinkFailure;
      throw sinkFailure;
    }
    return undefined;
  }

  /** Runs `switching`, then `append`; writes arriving meanwhile wait. A failure (named by `where`) sticks. */
  open(switching: Promise<void>, append: () => Promise<void> | undefined, where: string): Promise<void> {
    const opening = switching.then(
      () => {
        this.busy = undefined;
        return append();
      },
      (err: unknown) => {
        this.busy = undefined;
        this.failed = err instanceof TaplineError ? err : new TaplineError(ERROR_CODES.FILE_IO, String(err), { where });
        throw this.failed;
      },
    );
    this.busy = opening.then(
      () => {},
      () => {},
    );
    return opening;
  }
}

/**
 * gor's `--output-file-max-size-limit`: the write that would pass it stops this output. No `where`: the pipeline
 * names the output in front of the message already.
 */
export function maxSizeReached(maxSize: number, total: number): TaplineError {
  return new TaplineError(
    ERROR_CODES.LIMIT_REACHED,
    `reached --output-file-max-size-limit ${formatBytes(maxSize)} after ${total} bytes; this output stops`,
  );
}
