/**
 * `--input-tcp :28020`: receives `.gor` records from other taplines' or gor's `--output-tcp` (spec §9.1),
 * over TCP or, with `--input-tcp-secure`, TLS. Any number of peers; each connection is a separate record
 * stream. No timestamp ordering and no pacing (gor).
 *
 *   peer ─socket─▶ GorRecordReader (per connection) ─▶ [Channel, bounded] ─read()─▶ pipeline
 *          ▲ a connection is paused while the channel is full, so a fast peer is slowed by TCP, not buffered
 *
 *   each chunk received ──update(connection, bytes of its record still arriving)──▶ MemoryBudget (one a run)
 *                                      all connections' total > --input-tcp-memory-budget ──▶ the connection
 *                                      with the largest drops that record (dropped_memory_budget, warned) and
 *                                      skips the rest of it to the next separator; the connection stays open
 *
 * Differences from gor (docs/compat.md): the payload is exactly what the peer sent (gor appends a stray LF);
 * a record cut off by a closing connection is dropped and counted (`unterminated_dropped`); malformed records
 * are counted and named in a warning; records still arriving hold at most --input-tcp-memory-budget bytes
 * together (gor holds them all).
 */
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Channel } from '../core/async.js';
import { ERROR_CODES, TaplineError } from '../core/errors.js';
import { GorRecordReader, messageKey, type RecordProblem, startsWithBom, UTF8_BOM } from '../core/gor-format.js';
import type { Logger } from '../core/log.js';
import type { Message } from '../core/message.js';
import type { Batch, Input } from '../core/plugin.js';
import type { InputPluginDef } from '../core/registry.js';
import { formatBytes } from '../core/values.js';
import { formatHostPort, type HostPort, listenProblem, parseHostPort } from '../net/address.js';
import { readPem } from '../net/tls-files.js';
import { type BudgetHolder, MemoryBudget } from './raw/memory-budget.js';
import { tcpInputDecl } from './tcp-flags.js';

export interface TcpInputOptions {
  listen: HostPort;
  tls?: { cert: Buffer; key: Buffer };
  log: Logger;
  name?: string;
  /** Messages buffered between the sockets and the pipeline. */
  capacity?: number;
  /**
   * Bounds the bytes of records still arriving, all connections together (shared by every --input-tcp of a
   * run); default: a budget of its own of DEFAULT_TCP_MEMORY_BUDGET.
   */
  budget?: MemoryBudget;
}

/** 512 MiB: records still arriving beyond it are dropped, the largest first. */
export const DEFAULT_TCP_MEMORY_BUDGET = 512 * 1024 * 1024;

/** One budget for all of a run's `--input-tcp` listeners; warns of each drop it makes. */
export function tcpMemoryBudget(limit: number, log: Logger): MemoryBudget {
  return new MemoryBudget(limit, (what, bytes) =>
    log.warn(
      `input-tcp: the records still arriving held more than --input-tcp-memory-budget (${formatBytes(limit)}) ` +
        `together: ${what}, the largest (${formatBytes(bytes)} so far), was dropped; the rest of it is skipped ` +
        '(dropped_memory_budget)',
      'input-tcp budget',
    ),
  );
}

/** Starts listening; resolves once the port is open (a bad address or a taken port is a usage error). */
export async function tcpInput(options: TcpInputOptions): Promise<Input & { readonly port: number }> {
  const name = options.name ?? `input-tcp(${formatHostPort(options.listen.host, options.listen.port)})`;
  const log = options.log;
  const channel = new Channel<Message>(options.capacity ?? 4096);
  const counters = {
    messages: 0,
    bytes: 0,
    connections: 0,
    open_connections: 0,
    bad_records: 0,
    bad_timestamps: 0,
    unterminated_dropped: 0,
    dropped_memory_budget: 0,
    tls_failures: 0,
    /** Connections a TLS sender opened to this listener without TLS (closed, said). */
    tls_refused: 0,
    bom_skipped: 0,
  };
  const budget = options.budget ?? tcpMemoryBudget(DEFAULT_TCP_MEMORY_BUDGET, log);
  const sockets = new Set<Socket>();
  /** How each connection ends at the stop: what it already read is passed on first. */
  const stoppers = new WeakMap<Socket, () => void>();
  let closed = false;

  const onConnection = (socket: Socket) => {
    counters.connections++;
    counters.open_connections++;
    sockets.add(socket);
    const peer = formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    log.debug(1, `${name}: connection from ${peer}`);
    const reader = new GorRecordReader((p: RecordProblem) => {
      if (!p.skipped) return;
      counters.bad_records++;
      log.warn(`${name}: from ${peer}: record ${p.record} (offset ${p.offset}) skipped: ${p.message}`, `${name} bad`);
    });
    const holder: BudgetHolder = {
      describe: () => `record ${reader.records + 1} from ${peer} (${name})`,
      cutForBudget: () => {
        if (reader.dropPending() !== null) counters.dropped_memory_budget++;
        budget.update(holder, 0);
      },
    };
    const take = (chunk: Buffer) => {
      counters.bytes += chunk.length;
      const records = reader.push(chunk);
      // Once a chunk, not a byte: what this connection's record still arriving holds now.
      budget.update(holder, reader.pendingBytes);
      for (const record of records) {
        // The reader is as lenient as gor's: any line of 3+ words is a meta line. A timestamp that is not a
        // number means the peer is not sending gor data (text, a log): passed on as gor does, but said.
        if (Number.isNaN(messageKey(record))) {
          counters.bad_timestamps++;
          log.warn(
            `${name}: from ${peer}: record ${record.record} (offset ${record.offset}): the meta line's timestamp is ` +
              'not a number: is the peer sending .gor records? (passed on as is, as gor does)',
            `${name} timestamp`,
          );
        }
        channel.offer(record);
        counters.messages++;
      }
    };
    // A TLS sender (--output-tcp-secure) to a listener without TLS: its handshake would be read as a record that
    // never ends ('closed the connection in the middle of record 1'). Said for what it is, and the connection closed.
    // A UTF-8 byte order mark (a file saved by an editor, sent with `nc`): skipped and said, as --input-file does;
    // read, it became part of the first record's type ('\uFEFF1'), which no output takes for a request.
    let first = true;
    socket.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        if (startsWithBom(chunk)) {
          counters.bom_skipped++;
          log.warn(
            `${name}: from ${peer}: the stream starts with a UTF-8 byte order mark (EF BB BF), as a file saved by ` +
              'an editor or a Windows tool does: skipped, the first record is read from the byte after it (gor ' +
              "reads it into the record's type, so --output-http does not send that record)",
            `${name} bom`,
          );
          reader.skipStart(UTF8_BOM.length);
          chunk = chunk.subarray(UTF8_BOM.length);
        } else if (!options.tls && chunk.length >= 3 && chunk[0] === 0x16 && chunk[1] === 0x03 && chunk[2]! <= 0x04) {
          counters.tls_refused++;
          log.warn(
            `${name}: from ${peer}: the connection begins with a TLS handshake, but this listener has no TLS ` +
              '(a sender with --output-tcp-secure needs --input-tcp-secure here, with --input-tcp-certificate and ' +
              '--input-tcp-certificate-key); the connection is closed',
            `${name} tls`,
          );
          socket.destroy();
          return;
        }
      }
      take(chunk);
      const room = channel.room();
      if (room) {
        socket.pause();
        void room.then(() => socket.resume());
      }
    });
    socket.on('error', (err) => log.debug(1, `${name}: ${peer}: ${err.message}`));
    socket.on('close', () => {
      sockets.delete(socket);
      counters.open_connections--;
      // A record the peer did not finish (it died mid-write, or the run stopped while it was arriving) would
      // replay truncated: drop and count it. discard(), not end(): end() would join it whole only to drop it.
      budget.update(holder, 0);
      const rest = reader.discard();
      if (rest !== null) {
        counters.unterminated_dropped++;
        const cut = `record ${rest.record} (offset ${rest.offset})`;
        const why = closed
          ? `the run stopped while ${cut} from ${peer} was arriving`
          : `${peer} closed the connection in the middle of ${cut}`;
        log.warn(`${name}: ${why}; it was dropped (unterminated_dropped)`, `${name} cut`);
      }
      log.debug(1, `${name}: ${peer} closed`);
    });
    stoppers.set(socket, () => {
      // The stop: bytes this process already read from the kernel wait in the socket's buffer while it is
      // paused (up to 64 KiB a connection). They are records the peer counts as sent: pass them on, then close.
      socket.removeAllListeners('data');
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        take(chunk);
      }
      socket.destroy();
    });
  };

  let server: Server;
  try {
    server = options.tls
      ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, onConnection)
      : createNetServer(onConnection);
  } catch (cause) {
    // Node parses the PEMs here: a key that does not match the certificate, or is not a key, fails now.
    throw new TaplineError(ERROR_CODES.USAGE, `the certificate or key is not usable: ${(cause as Error).message}`, {
      where: '--input-tcp-certificate',
      cause,
    });
  }
  if (options.tls) {
    // A reset during the handshake leaves the TLS socket without its address: it is noted when the TCP
    // connection comes (the TLS socket's `_parent`, read only when present).
    const peers = new WeakMap<Socket, string>();
    server.on('connection', (raw: Socket) => {
      peers.set(raw, formatHostPort(raw.remoteAddress ?? '?', raw.remotePort ?? 0));
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
      counters.tls_failures++;
      const raw = (socket as unknown as { _parent?: Socket })._parent;
      const peer =
        (raw && peers.get(raw)) ??
        (socket.remoteAddress ? formatHostPort(socket.remoteAddress, socket.remotePort ?? 0) : 'a peer');
      log.warn(`${name}: from ${peer}: TLS handshake failed: ${handshakeFailure(err)}`, `${name} tls`);
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause: NodeJS.ErrnoException) =>
      reject(
        new TaplineError(ERROR_CODES.USAGE, `cannot listen: ${listenProblem(cause, 'for every interface')}`, {
          where: `--input-tcp ${formatHostPort(options.listen.host, options.listen.port)}`,
          cause,
        }),
      ),
    );
    server.listen(options.listen.port, options.listen.host === '' ? undefined : options.listen.host, () => resolve());
  });
  server.on('error', (err) => log.warn(`${name}: ${err.message}`));
  const bound = server.address();
  const port = bound && typeof bound === 'object' ? bound.port : options.listen.port;
  // Always said, as --metrics and --dashboard say theirs: with port 0 this line is the only way to learn the port.
  // Said when the run starts reading, not here: by then the CLI handles SIGINT/SIGTERM, so a script that waits
  // for this line and then stops the run gets a clean stop (flushed outputs, exit 0), not a kill by the signal.
  const listening = `tapline: ${name}: listening on ${formatHostPort(options.listen.host || '0.0.0.0', port)}${options.tls ? ' (TLS)' : ''}`;

  return {
    name,
    port,
    async *read(): AsyncGenerator<Batch> {
      log.write(listening);
      yield* channel.drain();
    },
    async close() {
      if (closed) return;
      closed = true;
      // Each connection's 'close' (which counts a cut record) has run when close() resolves.
      const ends = [...sockets].map((s) => new Promise((resolve) => s.once('close', resolve)));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) (stoppers.get(s) ?? (() => s.destroy()))();
      });
      await Promise.all(ends);
      channel.close();
    },
    stats: () => ({ ...counters }),
  };
}

/**
 * A failed handshake as a person can act on it. OpenSSL's own text names its source file and line
 * ("…:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/…"); its reason is kept, and the two
 * common causes are said outright.
 */
function handshakeFailure(err: NodeJS.ErrnoException & { reason?: string }): string {
  if (err.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || err.code === 'ERR_SSL_HTTP_REQUEST') {
    return 'the peer does not speak TLS (is it sending with --output-tcp but without --output-tcp-secure?)';
  }
  if (err.code === 'ECONNRESET' || err.message === 'socket hang up') {
    return (
      'the peer closed the connection during the handshake (does it trust this certificate? ' +
      'it may need NODE_EXTRA_CA_CERTS or --output-tcp-skip-verify)'
    );
  }
  return err.reason ?? err.message.split('\n')[0]!;
}

/** The budget of a run (its plugin context): every --input-tcp of it shares one. */
const runBudgets = new WeakMap<object, MemoryBudget>();

export const tcpInputPlugin: InputPluginDef = {
  ...tcpInputDecl,
  create({ address, flags, ctx }) {
    const listen = parseHostPort(address, 'input-tcp');
    const secure = flags.bool('input-tcp-secure');
    if (!secure) {
      for (const flag of ['input-tcp-certificate', 'input-tcp-certificate-key']) {
        if (flags.string(flag) !== '') {
          throw new TaplineError(ERROR_CODES.USAGE, 'has no effect without --input-tcp-secure', { where: `--${flag}` });
        }
      }
    }
    const tls = secure
      ? {
          cert: readPem(flags.string('input-tcp-certificate'), 'input-tcp-certificate'),
          key: readPem(flags.string('input-tcp-certificate-key'), 'input-tcp-certificate-key'),
        }
      : undefined;
    let budget = runBudgets.get(ctx);
    if (budget === undefined) {
      budget = tcpMemoryBudget(flags.number('input-tcp-memory-budget'), ctx.log);
      runBudgets.set(ctx, budget);
    }
    return tcpInput({ listen, log: ctx.log, budget, ...(tls ? { tls } : {}) });
  },
};
