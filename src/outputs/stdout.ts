/**
 * `--output-stdout`: every message as a `.gor` record on stdout (the same bytes as a file, spec §2.3).
 * Records are gathered and written once per event-loop turn; when stdout is slower than the input (a pipe
 * into `less`), writes wait for 'drain', which slows the whole pipeline instead of buffering without bound.
 * A reader that left (`| head`) is only seen when a write fails; the error is kept and thrown at the next write.
 * When stdout is the run's only output, main.ts stops the run at that error instead of waiting for a next
 * message (an input may bring one a second).
 */
import type { Writable } from 'node:stream';
import { describeIoError, ERROR_CODES, TaplineError } from '../core/errors.js';
import type { Output } from '../core/plugin.js';
import type { OutputPluginDef } from '../core/registry.js';
import { RecordBuffer } from './record-buffer.js';

export function streamOutput(name: string, stream: Writable): Output {
  const buffer = new RecordBuffer();
  let messages = 0;
  let bytes = 0;
  let scheduled = false;
  let waiting: Promise<void> | undefined;
  let broken: Error | undefined;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    // EPIPE: the reader went away (`| head`), as it may; any other error is a failure of the output. No `where`:
    // the pipeline names the output in front of the text ('output-stdout: output-stdout: …' otherwise).
    broken ??=
      err.code === 'EPIPE'
        ? new TaplineError(ERROR_CODES.OUTPUT_CLOSED, 'the reader closed the pipe', { cause: err })
        : new TaplineError(ERROR_CODES.FILE_IO, `cannot write to stdout: ${describeIoError(err)}`, { cause: err });
  });

  const flush = (): Promise<void> | undefined => {
    scheduled = false;
    let ok = true;
    for (const part of buffer.take()) ok = stream.write(part) && ok;
    if (!ok && !waiting) {
      waiting = new Promise<void>((resolve) => {
        const done = () => {
          stream.off('drain', done);
          stream.off('close', done);
          waiting = undefined;
          resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
      });
    }
    return waiting;
  };

  return {
    name,
    write(msg) {
      if (broken) throw broken;
      messages++;
      bytes += buffer.append(msg);
      if (waiting) return waiting;
      if (buffer.size >= 1 << 20) return flush();
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    async close() {
      await flush();
      if (broken) throw broken;
    },
    // Bytes taken and not yet handed to the system: a reader that stopped reading (a full pipe) holds them, and
    // a second Ctrl-C or a closed pipe leaves them unwritten. 'bytes' alone read as if they were all out.
    stats: () => ({ messages, bytes, unwritten_bytes: buffer.size + stream.writableLength }),
  };
}

export const stdoutOutputPlugin: OutputPluginDef = {
  role: 'output',
  flag: 'output-stdout',
  summary: 'Write every message to stdout as .gor records',
  flags: {
    'output-stdout': {
      kind: 'bool',
      section: 'Test inputs and outputs',
      help: 'Write every message to stdout in the .gor record format (meta line, payload, separator).',
    },
  },
  create: () => streamOutput('output-stdout', process.stdout),
};
